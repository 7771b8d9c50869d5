/**
 * Simulated time. The clock runs `speed` times faster than real time: every
 * timestamp the simulator reports and every timer it schedules (task phases,
 * health-check intervals, deregistration delays) is in simulated
 * milliseconds. Jitter comes from a seeded generator, so a seed replays a run.
 */
export class SimClock {
  private readonly startReal = Date.now();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    readonly speed: number,
    /** Simulated epoch milliseconds at start; defaults to the real time at start. */
    private readonly startSim = Date.now(),
  ) {
    if (!(speed > 0)) throw new Error(`speed must be > 0, got ${speed}`);
  }

  /** Simulated epoch milliseconds. */
  now(): number {
    return this.startSim + (Date.now() - this.startReal) * this.speed;
  }

  /** Real milliseconds for a simulated duration. */
  toReal(simMs: number): number {
    return simMs / this.speed;
  }

  /** Runs `fn` after `simMs` simulated milliseconds; returns a cancel function. */
  after(simMs: number, fn: () => void): () => void {
    if (this.stopped) return () => undefined;
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        if (!this.stopped) fn();
      },
      Math.max(0, simMs / this.speed),
    );
    this.timers.add(timer);
    return () => {
      clearTimeout(timer);
      this.timers.delete(timer);
    };
  }

  /** Runs `fn` every `simMs` simulated milliseconds until cancelled. */
  every(simMs: number, fn: () => void): () => void {
    let cancel = () => undefined as void;
    const tick = () => {
      fn();
      cancel = this.after(simMs, tick);
    };
    cancel = this.after(simMs, tick);
    return () => cancel();
  }

  /** Cancels every pending timer; the clock schedules nothing afterwards. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}

/** mulberry32: a small, fast, seeded PRNG (uniform in [0, 1)). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Seeded randomness for the simulator: jittered durations and resource ids. */
export class SimRandom {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  /** `ms` ± `fraction` of it. */
  jitter(ms: number, fraction: number): number {
    return Math.max(0, Math.round(ms * (1 + (this.next() * 2 - 1) * fraction)));
  }
  hex(length: number): string {
    let out = '';
    while (out.length < length) out += Math.floor(this.next() * 16).toString(16);
    return out;
  }
  digits(length: number): string {
    let out = String(1 + Math.floor(this.next() * 9));
    while (out.length < length) out += Math.floor(this.next() * 10).toString();
    return out;
  }
  uuid(): string {
    const h = this.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}
