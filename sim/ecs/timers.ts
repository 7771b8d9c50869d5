/**
 * Time as the ECS control plane sees it: the simulated clock, how long each
 * task phase takes (the scenario's `timing`, with seeded jitter), and timers.
 * A timer that belongs to a task is cancelled when the task is told to stop,
 * so a stopped task never moves on to its next phase.
 */
import type { SimClock, SimRandom } from '../clock.js';
import type { Timing } from '../scenario.js';
import type { TaskRecord } from './records.js';

export const DEFAULT_TIMING: Timing = {
  provisionMs: 8000,
  pullMs: 10000,
  stopMs: 5000,
  jitter: 0.2,
  schedulerTickMs: 1000,
  registrationMs: 3000,
};

export class Timers {
  constructor(
    private readonly clock: SimClock,
    private readonly random: SimRandom,
    readonly timing: Timing,
  ) {}

  /** Simulated time, epoch milliseconds. */
  now(): number {
    return this.clock.now();
  }

  /** How long a phase of about `ms` takes this time (the scenario's jitter applied). */
  phase(ms: number): number {
    return this.random.jitter(ms, this.timing.jitter);
  }

  /** Runs `fn` after `ms` simulated milliseconds unless the task is stopped first. */
  forTask(task: TaskRecord, ms: number, fn: () => void): void {
    task.timers.push(this.clock.after(ms, fn));
  }

  /** Cancels every pending timer of the task. */
  cancelTimers(task: TaskRecord): void {
    for (const cancel of task.timers.splice(0)) cancel();
  }

  /** Runs `fn` after `ms` simulated milliseconds, whatever happens meanwhile. */
  after(ms: number, fn: () => void): void {
    this.clock.after(ms, fn);
  }

  /** Runs `fn` every `ms` simulated milliseconds, for the life of the loaded scenario. */
  every(ms: number, fn: () => void): void {
    this.clock.every(ms, fn);
  }
}
