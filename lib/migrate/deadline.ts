/**
 * Calls that must end by a deadline (StopTask on cancellation, the final
 * DescribeTasks): sent through a client without SDK retries and retried here,
 * briefly and with jitter, until the deadline. Each attempt is aborted at the
 * deadline, so nothing is still retrying when the runner kills the step.
 */
import { awsErrorText } from '../errors.js';
import type { Clock } from '../time.js';

export type Attempted<T> = { ok: true; value: T } | { ok: false; error: string };

const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 1000;

export async function callUntil<T>(
  call: (signal: AbortSignal) => Promise<T>,
  until: number,
  clock: Clock,
): Promise<Attempted<T>> {
  let lastError: string | undefined;
  for (let attempt = 0; clock.now() < until; attempt++) {
    try {
      return {
        ok: true,
        value: await call(AbortSignal.timeout(Math.max(1, Math.ceil(until - clock.now())))),
      };
    } catch (err) {
      // Cut at the deadline: the error that kept it from succeeding is the one before.
      if (isAbort(err)) break;
      lastError = awsErrorText(err);
      if (!worthRetrying(err)) return { ok: false, error: lastError };
    }
    const pause = Math.round(Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** attempt) * (0.5 + Math.random() / 2));
    if (clock.now() + pause >= until) break;
    await clock.sleep(pause);
  }
  return { ok: false, error: `${lastError ?? 'no answer'} (retried until the deadline)` };
}

function isAbort(err: unknown): boolean {
  const name = (err as { name?: string }).name;
  return name === 'AbortError' || name === 'TimeoutError';
}

/** Throttling, a server error or no answer may pass; a client error (no permission, bad cluster) will not. */
function worthRetrying(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  if (/Throttl|TooManyRequests|RequestLimitExceeded/.test(e.name ?? '')) return true;
  const status = e.$metadata?.httpStatusCode;
  return status === undefined || status >= 500;
}
