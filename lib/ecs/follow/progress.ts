/**
 * Reporting the progress of followed rollouts: one log line per state change
 * and outcome, a heartbeat while nothing changes. Decides nothing.
 */
import { errorMessage } from '../../errors.js';
import type { Log } from '../../log.js';
import { Heartbeat, formatDuration, type Clock } from '../../time.js';
import type { WaitFor } from '../rollout.js';
import { shortTaskDefinition } from '../taskdef.js';

/** Something the loop saw or decided that the log tells. */
export type ProgressEvent =
  | { kind: 'state'; service: string; state: string }
  | { kind: 'succeeded'; service: string; taskDefinition: string }
  | { kind: 'failed'; service: string; reason: string }
  | { kind: 'gone'; service: string; reason: string }
  | { kind: 'timed-out'; service: string; timeoutMs: number; state: string | undefined }
  /** A poll could not read AWS; the next one is in retryInMs (backing off until the deadline). */
  | { kind: 'poll-failed'; consecutive: number; error: unknown; retryInMs: number }
  /** AWS throttled a read: the loop slows down (by `slowdown`) instead of failing. */
  | { kind: 'throttled'; slowdown: number; nextInMs: number; error: unknown };

export interface ProgressOptions {
  log: Log;
  /** Label of the phase in log lines ("deploy", "rollback"). */
  label: string;
  waitFor: WaitFor;
  clock: Clock;
  /** Heartbeat period while nothing changes. */
  heartbeatMs: number;
  /** The rollouts still waited for, with their last state, for the heartbeat line. */
  waitingFor: () => { service: string; state?: string }[];
}

export class FollowProgress {
  private readonly startedAt: number;
  private readonly heartbeat: Heartbeat;

  constructor(private readonly options: ProgressOptions) {
    const { clock, log, label } = options;
    this.startedAt = clock.now();
    this.heartbeat = new Heartbeat(
      options.heartbeatMs,
      () => {
        log.info(
          `… ${label}: still waiting after ${formatDuration(clock.now() - this.startedAt)}: ${options
            .waitingFor()
            .map((w) => `${w.service} (${w.state ?? 'starting'})`)
            .join('; ')}`,
        );
      },
      clock,
    );
  }

  report(events: readonly ProgressEvent[]): void {
    for (const event of events) this.line(event);
  }

  /** Between two polls: a heartbeat when nothing changed for a while. */
  waiting(changed: boolean): void {
    if (changed) this.heartbeat.changed();
    else this.heartbeat.tick();
  }

  private line(event: ProgressEvent): void {
    const { log, label, waitFor, clock } = this.options;
    switch (event.kind) {
      case 'state':
        return log.info(`${event.service}: ${event.state}`);
      case 'succeeded':
        return log.info(
          `✓ ${event.service}: ${shortTaskDefinition(event.taskDefinition)} ${waitFor === 'steady' ? 'steady (deployment COMPLETED)' : 'running and healthy'} after ${formatDuration(clock.now() - this.startedAt)}`,
        );
      case 'failed':
        return log.error(`✗ ${event.service}: ${event.reason}`, { title: event.service });
      case 'gone':
        return log.error(`${event.service}: the service no longer exists (${event.reason})`, {
          title: event.service,
        });
      case 'timed-out':
        return log.error(
          `✗ ${event.service}: timed out after ${formatDuration(event.timeoutMs)}: ${event.state}`,
          { title: event.service },
        );
      case 'poll-failed':
        return log.warning(
          `${label}: cannot read AWS (${event.consecutive} failed poll(s) in a row; next try in ${(event.retryInMs / 1000).toFixed(1)}s, until the deadline): ${errorMessage(event.error)}`,
        );
      case 'throttled':
        return log.info(
          `${label}: AWS throttled a read (${errorMessage(event.error)}); polling ${event.slowdown}× slower, next poll in ${(event.nextInMs / 1000).toFixed(1)}s`,
        );
    }
  }
}
