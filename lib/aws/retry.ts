/**
 * Riding out AWS trouble beyond the SDK's own few retries (see config.ts):
 * which errors are worth another try, how long to back off, and calls that
 * must end by a deadline (StopTask on cancellation, the final DescribeTasks,
 * a rollback's UpdateService). Each attempt is aborted at the deadline, so
 * nothing is still retrying when the runner kills the step.
 */
import { awsErrorText } from '../errors.js';
import type { Clock } from '../time.js';

/** Back-off limits: the first pause (before jitter) and the cap. */
export interface BackoffLimits {
  minMs: number;
  maxMs: number;
}

/** While ECS cannot be read (the follow loop, verify, a rollback): from 1 s, doubling, capped at 15 s. */
export const ECS_OUTAGE_BACKOFF: BackoffLimits = { minMs: 1_000, maxMs: 15_000 };

/**
 * The wait before the next try after `failures` failed ones in a row:
 * doubling from minMs, capped at maxMs, with jitter (half to all of it) so
 * that many runs do not retry in step.
 */
export function outageBackoffMs(
  failures: number,
  limits: BackoffLimits = ECS_OUTAGE_BACKOFF,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(limits.maxMs, limits.minMs * 2 ** (Math.max(1, failures) - 1));
  return Math.round(ceiling * (0.5 + random() / 2));
}

/** `signal` (a cancellation), also aborted once `ms` have passed (real time; the timer does not keep the process alive). */
export function withDeadline(signal: AbortSignal | undefined, ms: number): AbortSignal {
  const timeout = AbortSignal.timeout(Math.max(1, Math.ceil(ms)));
  return signal ? AbortSignal.any([signal, timeout]) : timeout;
}

/** Throttling, a server error or no answer may pass; a client error (no permission, bad cluster) or our own abort will not. */
export function isRetryableAwsError(err: unknown): boolean {
  if (isAbort(err)) return false;
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  if (/Throttl|TooManyRequests|RequestLimitExceeded/.test(e.name ?? '')) return true;
  const status = e.$metadata?.httpStatusCode;
  return status === undefined || status >= 500 || status === 429;
}

/**
 * A call's outcome. On failure, `error` says why for a log line ("no answer"
 * when every try was cut at the deadline) and `lastError` is what the last
 * try threw (the abort itself if nothing else was seen).
 */
export type Attempted<T> = { ok: true; value: T } | { ok: false; error: string; lastError: unknown };

export interface CallUntilOptions {
  /** Default: from 200 ms up to 1 s, a brief retry for a call that must end soon. */
  backoff?: BackoffLimits;
  random?: () => number;
}

const BRIEF_BACKOFF: BackoffLimits = { minMs: 200, maxMs: 1_000 };

/**
 * Calls until it answers, a try fails with an error not worth retrying, or
 * `until` (clock time) comes: each try is aborted at `until`, and no pause
 * reaches past it. Give `call` a client without SDK retries, so that the
 * retrying (and its deadline) is here. Never throws for the call's errors.
 */
export async function callUntil<T>(
  call: (signal: AbortSignal) => Promise<T>,
  until: number,
  clock: Clock,
  options: CallUntilOptions = {},
): Promise<Attempted<T>> {
  let lastError: unknown;
  let aborted: unknown;
  for (let failures = 1; clock.now() < until; failures++) {
    try {
      return { ok: true, value: await call(withDeadline(undefined, until - clock.now())) };
    } catch (err) {
      // Cut at the deadline: the error that kept it from succeeding is the one before.
      if (isAbort(err)) {
        aborted = err;
        break;
      }
      lastError = err;
      if (!isRetryableAwsError(err)) return { ok: false, error: awsErrorText(err), lastError: err };
    }
    const pause = outageBackoffMs(failures, options.backoff ?? BRIEF_BACKOFF, options.random);
    if (clock.now() + pause >= until) break;
    await clock.sleep(pause);
  }
  return {
    ok: false,
    error: `${lastError === undefined ? 'no answer' : awsErrorText(lastError)} (retried until the deadline)`,
    lastError: lastError ?? aborted,
  };
}

function isAbort(err: unknown): boolean {
  const name = (err as { name?: string } | undefined)?.name;
  return name === 'AbortError' || name === 'TimeoutError';
}
