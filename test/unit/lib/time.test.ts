import { describe, expect, it } from '@jest/globals';
import { AdaptiveInterval, formatDuration, sleep } from '../../../lib/time.js';
import { CancelledError } from '../../../lib/errors.js';

describe('AdaptiveInterval', () => {
  it('backs off while nothing changes and snaps back on a change', () => {
    const interval = new AdaptiveInterval(1000, 5000, 2);
    expect([interval.next(false), interval.next(false), interval.next(false), interval.next(false)]).toEqual([
      2000, 4000, 5000, 5000,
    ]);
    expect(interval.next(true)).toBe(1000);
  });
});

describe('sleep', () => {
  it('rejects with CancelledError when aborted', async () => {
    const controller = new AbortController();
    const pending = sleep(10_000, controller.signal);
    controller.abort('received SIGINT');
    await expect(pending).rejects.toBeInstanceOf(CancelledError);
  });
});

describe('formatDuration', () => {
  it('formats seconds and minutes', () => {
    expect(formatDuration(4_400)).toBe('4s');
    expect(formatDuration(125_000)).toBe('2m05s');
  });
});
