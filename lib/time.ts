import { CancelledError } from './errors.js';

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
  private last = Date.now();
  constructor(
    readonly everyMs: number,
    private readonly emit: (quietForMs: number) => void,
  ) {}
  changed(): void {
    this.last = Date.now();
  }
  tick(): void {
    const quiet = Date.now() - this.last;
    if (quiet >= this.everyMs) {
      this.emit(quiet);
      this.last = Date.now();
    }
  }
}
