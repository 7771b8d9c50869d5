/**
 * Where the migration task stands at the end, read from AWS: every exit path
 * (success, failure, timeout, cancellation, an outage, an unexpected error)
 * reports it, or says that it could not be read.
 */
import type { ECSClient, Task } from '@aws-sdk/client-ecs';
import { callUntil } from '../aws/retry.js';
import { describeTasks, taskId } from '../ecs/tasks.js';
import type { Clock } from '../time.js';
import type { MigrationTiming } from './run.js';
import type { StartedTask } from './start.js';

export interface TaskStanding {
  /** The tasks as read at the end, else as last seen (RunTask's reply when never read). */
  tasks: Task[];
  /** When `tasks` were read from AWS (clock time); unset when the final read failed. */
  readAt?: number;
  /** Why the final read failed. */
  error?: string;
  /** ECS answered that it does not know the task. */
  missing?: boolean;
}

/**
 * The watch's last answer when the tasks had STOPPED (a final state);
 * otherwise one more DescribeTasks, retried within timing.finalReadMs so that
 * it fits in the runner's grace after a cancellation (`ecs`: a client without
 * SDK retries).
 */
export async function readStanding(
  ecs: ECSClient,
  cluster: string,
  task: StartedTask,
  last: { tasks: Task[]; readAt?: number },
  timing: Pick<MigrationTiming, 'finalReadMs'>,
  clock: Clock,
): Promise<TaskStanding> {
  const stopped = last.tasks.length > 0 && last.tasks.every((t) => t.lastStatus === 'STOPPED');
  if (stopped && last.readAt !== undefined) return { tasks: last.tasks, readAt: last.readAt };
  const read = await callUntil(
    (signal) => describeTasks(ecs, cluster, task.taskArns, signal),
    clock.now() + timing.finalReadMs,
    clock,
  );
  if (!read.ok) return { tasks: last.tasks, error: `DescribeTasks: ${read.error}` };
  if (read.value.length === 0) return { tasks: last.tasks, readAt: clock.now(), missing: true };
  return { tasks: read.value, readAt: clock.now() };
}

/** One line per task: "task abc: STOPPED (EssentialContainerExited: …), read from AWS at 12:00:05 UTC". */
export function describeStanding(standing: TaskStanding, taskArns: string[]): string[] {
  if (standing.missing) {
    return taskArns.map((arn) => `task ${taskId(arn)}: unknown to ECS (DescribeTasks answers MISSING)`);
  }
  const unread = `could not be read from AWS at the end (${standing.error ?? 'no answer'})`;
  if (standing.readAt === undefined && standing.tasks.every((t) => !t.lastStatus)) {
    return taskArns.map((arn) => `task ${taskId(arn)}: ${unread}; not seen since RunTask`);
  }
  return standing.tasks.map((t) => {
    const stop = t.lastStatus === 'STOPPED' ? ` (${t.stopCode ?? '-'}: ${t.stoppedReason ?? '-'})` : '';
    const status = `${t.lastStatus ?? 'PROVISIONING'}${stop}`;
    return standing.readAt === undefined
      ? `task ${taskId(t.taskArn)}: ${unread}; last seen ${status}`
      : `task ${taskId(t.taskArn)}: ${status}, read from AWS at ${new Date(standing.readAt).toISOString().slice(11, 19)} UTC`;
  });
}
