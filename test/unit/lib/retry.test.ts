import { describe, expect, it } from '@jest/globals';
import { callUntil, isRetryableAwsError, outageBackoffMs, withDeadline } from '../../../lib/aws/retry.js';
import { manualClock } from '../../../lib/time.js';

const awsError = (name: string, status?: number) =>
  Object.assign(new Error(`${name} message`), { name, $metadata: { httpStatusCode: status } });

describe('outageBackoffMs', () => {
  it('the follow loop backs off from 1 s, doubling, capped at 15 s, jittered down to half', () => {
    expect([1, 2, 3, 4, 5, 9].map((n) => outageBackoffMs(n, undefined, () => 1))).toEqual([
      1_000, 2_000, 4_000, 8_000, 15_000, 15_000,
    ]);
    expect(outageBackoffMs(5, undefined, () => 0)).toBe(7_500);
  });

  it('takes the caller its own first pause and cap', () => {
    const limits = { minMs: 2_000, maxMs: 30_000 };
    expect([1, 2, 4, 5, 20].map((n) => outageBackoffMs(n, limits, () => 1))).toEqual([
      2_000, 4_000, 16_000, 30_000, 30_000,
    ]);
  });
});

describe('isRetryableAwsError', () => {
  it('retries throttling, server errors and no answer; not client errors or our own abort', () => {
    expect(isRetryableAwsError(awsError('ThrottlingException', 400))).toBe(true);
    expect(isRetryableAwsError(awsError('TooManyRequestsException', 400))).toBe(true);
    expect(isRetryableAwsError(awsError('SlowDown', 429))).toBe(true);
    expect(isRetryableAwsError(awsError('ServiceUnavailableException', 503))).toBe(true);
    expect(isRetryableAwsError(new Error('socket hang up'))).toBe(true);
    expect(isRetryableAwsError(awsError('AccessDeniedException', 400))).toBe(false);
    expect(isRetryableAwsError(awsError('ClusterNotFoundException', 400))).toBe(false);
    expect(isRetryableAwsError(awsError('TimeoutError'))).toBe(false);
    expect(isRetryableAwsError(awsError('AbortError'))).toBe(false);
  });
});

describe('callUntil', () => {
  it('retries while AWS throttles, backing off briefly by default, until it answers', async () => {
    const clock = manualClock();
    const start = clock.now();
    let calls = 0;
    const sent = await callUntil(
      () => {
        calls += 1;
        if (calls <= 4) return Promise.reject(awsError('ThrottlingException', 400));
        return Promise.resolve('accepted');
      },
      start + 60_000,
      clock,
      { random: () => 1 },
    );
    expect(sent).toEqual({ ok: true, value: 'accepted' });
    expect(calls).toBe(5);
    expect(clock.now() - start).toBe(200 + 400 + 800 + 1_000);
  });

  it('does not retry a client error', async () => {
    const clock = manualClock();
    let calls = 0;
    const denied = awsError('AccessDeniedException', 400);
    const sent = await callUntil(
      () => {
        calls += 1;
        return Promise.reject(denied);
      },
      clock.now() + 60_000,
      clock,
    );
    expect(sent).toEqual({
      ok: false,
      error: 'AccessDeniedException: AccessDeniedException message',
      lastError: denied,
    });
    expect(calls).toBe(1);
  });

  it('gives up before a pause would reach the deadline, naming the last error', async () => {
    const clock = manualClock();
    const start = clock.now();
    const sent = await callUntil(
      () => Promise.reject(awsError('ThrottlingException', 400)),
      start + 10_000,
      clock,
      { backoff: { minMs: 1_000, maxMs: 15_000 }, random: () => 1 },
    );
    expect(sent).toMatchObject({
      ok: false,
      error: 'ThrottlingException: ThrottlingException message (retried until the deadline)',
    });
    // 1 + 2 + 4 s slept; the next 8 s would reach past the deadline.
    expect(clock.now() - start).toBe(7_000);
  });

  it('aborts a try at the deadline: "no answer" when nothing else was seen', async () => {
    const clock = manualClock();
    const sent = await callUntil(
      (signal) =>
        new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
        ),
      clock.now() + 20,
      clock,
    );
    expect(sent).toMatchObject({ ok: false, error: 'no answer (retried until the deadline)' });
    expect((sent as { lastError: { name: string } }).lastError.name).toBe('TimeoutError');
  });
});

describe('withDeadline', () => {
  it("aborts with the caller's signal, before the time is up", () => {
    const cancel = new AbortController();
    const signal = withDeadline(cancel.signal, 60_000);
    expect(signal.aborted).toBe(false);
    cancel.abort('received SIGINT');
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe('received SIGINT');
  });
});
