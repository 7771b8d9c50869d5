import { CancelledError } from './errors.js';

/**
 * Time as the poll loops see it. Injected so that unit tests of a loop run on a
 * fake clock (jest's fake timers or manualClock below) instead of real milliseconds.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after ms, or rejects with CancelledError as soon as signal aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleep(ms, signal),
};

/**
 * A clock that moves only when slept on: each sleep advances it by ms at once.
 * For unit tests of poll loops (deterministic, no real waiting).
 */
export function manualClock(start = Date.UTC(2026, 0, 1)): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    advance: (ms) => {
      now += ms;
    },
    sleep: async (ms, signal) => {
      if (signal?.aborted) throw new CancelledError(String(signal.reason ?? 'cancelled'));
      now += ms;
      // Let other promise chains (the loop under test) run between sleeps.
      await Promise.resolve();
    },
  };
}

/** Resolves after ms, or rejects with CancelledError as soon as signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CancelledError(String(signal.reason ?? 'cancelled')));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new CancelledError(String(signal?.reason ?? 'cancelled')));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(s % 60).padStart(2, '0')}s`;
}

/**
 * Poll interval that speeds up after a change and backs off while nothing
 * happens: the first change after a quiet period is seen quickly, and a long
 * wait does not hammer the API.
 */
export class AdaptiveInterval {
  private current: number;
  constructor(
    readonly minMs: number,
    readonly maxMs: number,
    readonly factor = 1.5,
  ) {
    this.current = minMs;
  }
  next(changed: boolean): number {
    this.current = changed ? this.minMs : Math.min(this.maxMs, Math.round(this.current * this.factor));
    return this.current;
  }
}

/** Emits a heartbeat line when nothing has changed for everyMs. */
export class Heartbeat {
  private last: number;
  constructor(
    readonly everyMs: number,
    private readonly emit: (quietForMs: number) => void,
    private readonly clock: Pick<Clock, 'now'> = systemClock,
  ) {
    this.last = clock.now();
  }
  changed(): void {
    this.last = this.clock.now();
  }
  tick(): void {
    const quiet = this.clock.now() - this.last;
    if (quiet >= this.everyMs) {
      this.emit(quiet);
      this.last = this.clock.now();
    }
  }
}
