/**
 * Step 4 of a migration: judge how it ended. Judging stopped one-off tasks:
 * success only when every task ended on its own (stop code
 * EssentialContainerExited) and every essential container of every task
 * exited 0, and so did the migration container (the `container` input or the
 * chosen main one) whatever its `essential` flag: its exit code is the
 * migration's result. Another non-essential container (a sidecar) that failed
 * is only a warning: ECS itself does not stop the task for it.
 */
import type { Task } from '@aws-sdk/client-ecs';
import { taskId } from '../ecs/tasks.js';
import type { LogStreamFollower } from '../logstream.js';
import { formatDuration, type Clock } from '../time.js';
import type { PreparedRevision } from './prepare.js';
import type { MigrationResult } from './run.js';
import { describeStanding, type TaskStanding } from './standing.js';
import type { StartedTask } from './start.js';
import type { WatchOutcome } from './watch.js';

export interface ContainerOutcome {
  /** Task id (the last part of the task ARN). */
  task: string;
  name: string;
  /** The task definition's flag. */
  essential: boolean;
  /** The migration container: judged as if essential. */
  migration: boolean;
  exitCode?: number;
  reason?: string;
  lastStatus?: string;
}

export interface Judgement {
  ok: boolean;
  /** Why the run failed, one line each; empty when ok. */
  failures: string[];
  /** Problems that do not fail the run (non-essential containers). */
  warnings: string[];
  containers: ContainerOutcome[];
}

/**
 * `essential` maps container name -> essential flag from the task definition
 * (the DescribeTasks reply does not carry it); a container missing from it
 * counts as essential, as ECS's default is. `migration` names the container
 * whose exit code is the migration's: it must exit 0 even when non-essential.
 */
export function judgeTasks(tasks: Task[], essential: Record<string, boolean>, migration?: string): Judgement {
  const failures: string[] = [];
  const warnings: string[] = [];
  const containers: ContainerOutcome[] = [];
  if (tasks.length === 0) failures.push('no task to judge');
  for (const task of tasks) {
    const id = taskId(task.taskArn ?? '?');
    if (task.lastStatus !== 'STOPPED') {
      failures.push(`task ${id} has not stopped (last status ${task.lastStatus ?? 'unknown'})`);
    } else if (task.stopCode && task.stopCode !== 'EssentialContainerExited') {
      // Stopped from outside (StopTask, Spot interruption) or never started:
      // even an exit code 0 does not prove the migration ran to its end.
      failures.push(`task ${id} stopped with ${task.stopCode}: ${task.stoppedReason ?? 'no reason given'}`);
    }
    for (const container of task.containers ?? []) {
      const name = container.name ?? '?';
      const outcome: ContainerOutcome = {
        task: id,
        name,
        essential: essential[name] ?? true,
        migration: name === migration,
        ...(container.exitCode !== undefined ? { exitCode: container.exitCode } : {}),
        ...(container.reason ? { reason: container.reason } : {}),
        ...(container.lastStatus ? { lastStatus: container.lastStatus } : {}),
      };
      containers.push(outcome);
      if (outcome.exitCode === 0) continue;
      const what =
        outcome.exitCode === undefined
          ? `container ${name} has no exit code (it did not run to its end)`
          : `container ${name} exited with code ${outcome.exitCode}`;
      // A pull failure puts the same text in the task's and the container's reason: say it once.
      const reason = outcome.reason && outcome.reason !== task.stoppedReason ? `: ${outcome.reason}` : '';
      const line = `${what}${reason}${tasks.length > 1 ? ` (task ${id})` : ''}`;
      if (outcome.essential || outcome.migration) failures.push(line);
      else warnings.push(`non-essential ${line}`);
    }
    if ((task.containers ?? []).length === 0 && task.lastStatus === 'STOPPED') {
      failures.push(`task ${id} reports no containers`);
    }
  }
  return { ok: failures.length === 0, failures, warnings, containers };
}

/** The result of the whole run: the tasks' judgement, what migrate did, and what explains a failure. */
export function judgeMigration(
  revision: PreparedRevision,
  task: StartedTask,
  outcome: WatchOutcome,
  standing: TaskStanding,
  follower: LogStreamFollower | undefined,
  clock: Clock,
): MigrationResult {
  const { mainContainer } = revision;
  const { tasks, stoppedBy, stopProblem } = outcome;
  const essential = Object.fromEntries(revision.containers.map((c) => [c.name ?? '', c.essential ?? true]));
  const judgement = judgeTasks(tasks, essential, mainContainer);
  const main = judgement.containers.find((c) => c.name === mainContainer);
  const lastLogLines = follower?.lastLines(undefined, 20) ?? [];
  const ok = judgement.ok && !stoppedBy;
  let message: string;
  if (ok)
    message = `Migration succeeded: ${mainContainer} exited 0 after ${formatDuration(clock.now() - task.started)}`;
  else if (stopProblem) message = `Migration failed: ${stopProblem}`;
  else message = `Migration failed: ${judgement.failures.join('; ')}`;
  return {
    ok,
    taskDefinitionArn: revision.taskDefinitionArn,
    registered: revision.registered,
    taskArns: task.taskArns,
    ...(main?.exitCode !== undefined ? { exitCode: main.exitCode } : {}),
    mainContainer,
    judgement,
    ...(stoppedBy ? { stoppedBy } : {}),
    standing,
    message,
    details: [...failureDetails(judgement, follower), ...describeStanding(standing, task.taskArns)],
    lastLogLines,
    durationMs: clock.now() - task.started,
    consoleUrl: task.consoleUrl,
  };
}

/** Container exit codes and reasons, and the log streams that never appeared (each task's stop: its standing). */
function failureDetails(judgement: Judgement, follower: LogStreamFollower | undefined): string[] {
  const details = judgement.containers.map(
    (c) =>
      `${c.name}${c.essential ? '' : ' (non-essential)'}${c.migration ? ' (migration)' : ''}: exit code ${c.exitCode ?? 'none'}${c.reason ? ` (${c.reason})` : ''}`,
  );
  // A container that ran but left no stream points at a wrong awslogs configuration.
  const ran = new Set(judgement.containers.filter((c) => c.exitCode !== undefined).map((c) => c.name));
  for (const stream of (follower?.missing() ?? []).filter((m) => ran.has(m.label.split('/').pop()!))) {
    details.push(`no log stream ${stream.logStreamName} in log group ${stream.logGroupName}`);
  }
  return details;
}
