/**
 * How long the follow loop waits between polls. Pure: the loop tells it what
 * the last poll saw and it answers with the next wait.
 * - After a change, or while new targets are in question (their health is what
 *   the verdict waits for), the shortest interval: the end is seen within it.
 * - While nothing happens, it backs off by half up to the longest interval.
 * - The shortest interval grows past 50 services with the DescribeServices calls a poll needs
 *   (poll-budget.ts minimumIntervalMs), so many services do not raise the rate.
 * - A throttled answer doubles every interval (up to 16×); each poll AWS answers
 *   in full halves the slowdown again. Throttling slows the loop, never ends it.
 */
import { minimumIntervalMs } from './poll-budget.js';

const MAX_SLOWDOWN = 16;

export interface PollOutcome {
  /** Something a service showed changed (a state line, an outcome). */
  changed: boolean;
  /** Some service waits for new targets to turn healthy. */
  targetsInQuestion: boolean;
  /** Some call of the poll was throttled past the SDK's retries. */
  throttled: boolean;
  /** Services still pending. */
  services: number;
}

export class PollPace {
  private current: number;
  private slowdown = 1;

  constructor(
    readonly minMs: number,
    readonly maxMs: number,
  ) {
    this.current = minMs;
  }

  /** The slowdown throttling imposes now (1: none). */
  get throttleSlowdown(): number {
    return this.slowdown;
  }

  next(poll: PollOutcome): number {
    const floor = minimumIntervalMs(this.minMs, poll.services);
    const ceiling = Math.max(floor, this.maxMs);
    this.current =
      poll.changed || poll.targetsInQuestion
        ? floor
        : Math.min(ceiling, Math.round(Math.max(this.current, floor) * 1.5));
    this.slowdown = poll.throttled
      ? Math.min(MAX_SLOWDOWN, this.slowdown * 2)
      : Math.max(1, this.slowdown / 2);
    return Math.round(this.current * this.slowdown);
  }
}
