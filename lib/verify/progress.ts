/**
 * What verify says while it waits: a line per target group (or service) when
 * its state changes, a line per HTTP check result worth reading, and a
 * heartbeat naming what it still waits for while nothing changes. Deciding is
 * not done here (./verify.ts).
 */
import type { VerifiedService, VerifyReport } from '../contracts/verify-report.js';
import type { Log } from '../log.js';
import { Heartbeat, formatDuration, type Clock } from '../time.js';
import { shortTaskDefinition } from '../ecs/taskdef.js';
import type { CheckProgress, HttpAttempt } from './http.js';
import { describeTargetGroup } from './targets.js';

/** One HTTP check attempt, with what its progress was before it. */
export interface CheckResult {
  progress: CheckProgress;
  attempt: HttpAttempt;
  /** Passes in a row before this attempt. */
  passesBefore: number;
  /** It failed exactly as the previous attempts did, without a pass in between. */
  sameFailureAgain: boolean;
}

export class VerifyProgress {
  private lastLines = new Map<string, string>();
  private readonly heartbeat: Heartbeat;

  constructor(
    private readonly log: Log,
    clock: Clock,
    started: number,
    report: VerifyReport,
    heartbeatMs: number,
  ) {
    this.heartbeat = new Heartbeat(
      heartbeatMs,
      (quiet) =>
        log.info(
          `… still waiting after ${formatDuration(clock.now() - started)} (no change for ${formatDuration(quiet)}): ${pendingSummary(report)}`,
        ),
      clock,
    );
  }

  /** Logs the lines that changed since the last observation; true when any did. */
  observed(services: VerifiedService[]): boolean {
    const lines = progressLines(services);
    let changed = false;
    for (const [key, line] of lines) {
      if (this.lastLines.get(key) !== line) {
        this.log.info(`${key}: ${line}`);
        changed = true;
      }
    }
    this.lastLines = lines;
    return changed;
  }

  /** Logs each pass, and each failure unless it repeats the last one; true when it logged. */
  checked(results: CheckResult[]): boolean {
    let changed = false;
    for (const { progress, attempt, passesBefore, sameFailureAgain } of results) {
      if (attempt.ok) {
        this.log.info(
          `${progress.check}: ${attempt.status} in ${attempt.latencyMs} ms (${progress.passes}/${progress.required})`,
        );
        changed = true;
      } else if (!sameFailureAgain) {
        // The same failure over and over is one line; the heartbeat says it is still waiting.
        this.log.info(
          `${progress.check}: ${attempt.problem} (${attempt.latencyMs} ms)${passesBefore > 0 ? ', passes reset' : ''}`,
        );
        changed = true;
      }
    }
    return changed;
  }

  passesReset(progress: CheckProgress): void {
    this.log.info(`${progress.check}: passes reset, the targets no longer pass`);
  }

  /** Before a wait: a heartbeat when nothing has changed for a while. */
  waiting(changed: boolean): void {
    if (changed) this.heartbeat.changed();
    else this.heartbeat.tick();
  }
}

function progressLines(services: VerifiedService[]): Map<string, string> {
  const lines = new Map<string, string>();
  for (const s of services) {
    const revision = shortTaskDefinition(s.newTaskDefinition);
    if (s.targetGroups.length === 0) {
      lines.set(
        `${s.service} (${revision})`,
        `${s.runningTasks.new}/${s.desiredCount} tasks running on the new revision, ${s.runningTasks.old} on others (no target group)`,
      );
    }
    for (const tg of s.targetGroups) {
      lines.set(`${s.service} → ${tg.targetGroupName} (${revision})`, describeTargetGroup(tg));
    }
  }
  return lines;
}

function pendingSummary(report: VerifyReport): string {
  const pending = report.services.flatMap((s) =>
    s.targetGroups.length === 0
      ? s.ok
        ? []
        : [`${s.service} ${s.runningTasks.new}/${s.desiredCount} tasks`]
      : s.targetGroups
          .filter((tg) => !tg.ok)
          .map((tg) => `${tg.targetGroupName} ${tg.healthy}/${tg.desired}`),
  );
  const checks = report.checks.filter((c) => !c.ok).map((c) => `${c.check} ${c.passes}/${c.required}`);
  return [...pending, ...checks].join(', ') || 'nothing';
}
