/**
 * Client-side pacing of calls an AWS account's token buckets limit: a release
 * of many services sends one RegisterTaskDefinition and one UpdateService per
 * service, far past those actions' small buckets. Sent all at once, most are
 * refused and retried after the SDK's back-off (real time, jittered: the last
 * one lands seconds after its token came, and every refused try is a call the
 * account's other deploys see as load). Paced here to the documented rate, on
 * the caller's clock (lib/time.ts, so it scales with every other wait of the
 * action), each call goes when a token should be there.
 *
 * The pacer cannot see what else in the account spends the same tokens: it
 * starts with a full bucket, as a quiet account has, and when AWS throttles a
 * call anyway (another deploy, another tool) the caller says so
 * (`throttled()`): the local bucket is emptied, so the next calls wait for the
 * refill instead of probing.
 */
import type { Clock } from '../time.js';

export interface TokenRate {
  /** The bucket's maximum capacity: the burst, in calls. */
  capacity: number;
  /** Tokens added per second: the sustained rate. */
  refillPerSecond: number;
}

/**
 * The default buckets of the ECS actions a release sends per service
 * (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html,
 * "Task definition modify actions" and "Service modify actions"; sim/throttle.ts holds the same).
 */
export const ECS_START_RATES = {
  RegisterTaskDefinition: { capacity: 20, refillPerSecond: 1 },
  UpdateService: { capacity: 50, refillPerSecond: 5 },
} as const satisfies Record<string, TokenRate>;

export type EcsStartAction = keyof typeof ECS_START_RATES;

/**
 * How far past a token's due time a waiting call goes, in tokens: AWS's bucket
 * started refilling when the first call of a burst reached it, a little after
 * this pacer counted it, so a call sent on the dot would arrive just short.
 */
const TOKEN_MARGIN = 0.1;

/**
 * A token bucket on the caller's clock. `take` resolves when a token is there
 * (taking it), first come first served: waiters queue, so each sleeps only for
 * its own token and the clock (a test's manual clock too) advances in order.
 */
export class TokenPacer {
  private tokens: number;
  private updatedAt: number;
  private queue: Promise<void> = Promise.resolve();
  /**
   * The cancellation of the last caller that gave one: a retry the SDK makes of
   * that caller's call (pacedRetries) waits for its token under it, so a
   * cancelled release is not held in the queue (its retries then go unpaced).
   */
  lastSignal?: AbortSignal;

  constructor(
    readonly rate: TokenRate,
    private readonly clock: Clock,
  ) {
    this.tokens = rate.capacity;
    this.updatedAt = clock.now();
  }

  /** Waits for a token and takes it; rejects (CancelledError) if `signal` aborts while waiting. */
  take(signal?: AbortSignal): Promise<void> {
    if (signal) this.lastSignal = signal;
    const turn = this.queue.then(() => this.takeNow(signal));
    // A cancelled waiter does not hold up the ones behind it.
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** AWS throttled a call of this bucket: others spend its tokens too; wait for the refill. */
  throttled(): void {
    this.refill();
    this.tokens = Math.min(this.tokens, 0);
  }

  /** Tokens there now (fractional while refilling). */
  get available(): number {
    this.refill();
    return this.tokens;
  }

  private async takeNow(signal?: AbortSignal): Promise<void> {
    this.refill();
    while (this.tokens < 1) {
      const waitMs = Math.ceil(((1 + TOKEN_MARGIN - this.tokens) / this.rate.refillPerSecond) * 1000);
      await this.clock.sleep(waitMs, signal);
      this.refill();
    }
    this.tokens -= 1;
  }

  private refill(): void {
    const now = this.clock.now();
    const elapsed = Math.max(0, now - this.updatedAt);
    this.tokens = Math.min(this.rate.capacity, this.tokens + (elapsed / 1000) * this.rate.refillPerSecond);
    this.updatedAt = now;
  }
}

/** One pacer per client (one account and Region) and action, shared by every release the process runs with it. */
const pacers = new WeakMap<object, Map<string, TokenPacer>>();

/** What of an SDK client pacing needs: its middleware stack (absent on a test double). */
export interface PacedClient {
  middlewareStack?: { add(middleware: never, options: never): void };
}

type Next = (args: { request?: { headers?: Record<string, string> } }) => Promise<unknown>;

/**
 * Paces the SDK's own retries of a paced action too (the caller paces the first
 * attempt): each attempt after a refused one waits for its token, and a refused
 * attempt empties the local bucket. Without it, calls refused together are all
 * tried again by the SDK within its short back-off, most of them refused again
 * (two releases of 25 at once: 217 refused attempts for one of them).
 */
function pacedRetries(client: PacedClient, byAction: Map<string, TokenPacer>): void {
  const middleware =
    (next: Next, context: { commandName?: string }): Next =>
    async (args) => {
      const pacer = byAction.get((context.commandName ?? '').replace(/Command$/, ''));
      if (!pacer) return next(args);
      // The SDK's retry middleware numbers each attempt in this header ("attempt=2; max=8").
      const attempt = Number(
        /attempt=(\d+)/.exec(args.request?.headers?.['amz-sdk-request'] ?? '')?.[1] ?? 1,
      );
      if (attempt > 1) {
        // A cancellation ends the wait, never the call: the rollback a cancelled release sends within
        // GitHub's grace goes through this client too, and must reach AWS (at the SDK's own pace).
        const signal = pacer.lastSignal;
        if (!signal?.aborted) {
          try {
            await pacer.take(signal);
          } catch {
            // cancelled while waiting: send it now
          }
        }
      }
      try {
        return await next(args);
      } catch (err) {
        if (/Throttl/.test((err as { name?: string } | undefined)?.name ?? '')) pacer.throttled();
        throw err;
      }
    };
  // Inside the retry loop (deserialize runs once per attempt), around the reply's parsing.
  client.middlewareStack?.add(
    middleware as never,
    { step: 'deserialize', priority: 'high', name: 'pacedRetries' } as never,
  );
}

/** The pacer of `action` for calls sent with `client`, on `clock`. */
export function ecsStartPacer(client: PacedClient, action: EcsStartAction, clock: Clock): TokenPacer {
  let byAction = pacers.get(client);
  if (!byAction) {
    pacers.set(client, (byAction = new Map()));
    pacedRetries(client, byAction);
  }
  let pacer = byAction.get(action);
  if (!pacer) byAction.set(action, (pacer = new TokenPacer(ECS_START_RATES[action], clock)));
  return pacer;
}
