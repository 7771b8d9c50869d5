/**
 * Step 2 of a migration: start the task with RunTask (and stop it, here and
 * in the later steps, when migrate must not leave it running).
 */
import {
  RunTaskCommand,
  StopTaskCommand,
  type ECSClient,
  type RunTaskCommandInput,
  type Task,
} from '@aws-sdk/client-ecs';
import { consoleUrl } from '../aws/config.js';
import { callUntil } from '../aws/retry.js';
import { taskId } from '../ecs/tasks.js';
import { OperationError, awsErrorText } from '../errors.js';
import type { Log } from '../log.js';
import type { Clock } from '../time.js';
import type { PreparedRevision } from './prepare.js';
import type { MigrationOptions } from './run.js';

/** How long StopTask is retried outside cancellation (a timeout, a RunTask that half failed). */
export const STOP_RETRY_WINDOW_MS = 30_000;

/** Every StopTask reason migrate gives starts with this. */
export const STOP_REASON_PREFIX = 'Stopped by migrate';

export interface StartedTask {
  /** The tasks as RunTask returned them (normally one). */
  tasks: Task[];
  taskArns: string[];
  /** The id of the first task: the one named in the log and the console link. */
  firstId: string;
  /** clock.now() just before RunTask. */
  started: number;
  consoleUrl: string;
}

export async function startTask(
  ecs: ECSClient,
  options: MigrationOptions,
  revision: PreparedRevision,
  log: Log,
  clock: Clock,
): Promise<StartedTask> {
  const started = clock.now();
  const runReply = await ecs
    .send(new RunTaskCommand(runTaskRequest(options, revision)))
    .catch((err: unknown) => {
      throw new OperationError(`RunTask failed: ${awsErrorText(err)}`);
    });
  const tasks = runReply.tasks ?? [];
  const taskArns = tasks.map((t) => t.taskArn ?? '').filter(Boolean);
  const failures = runReply.failures ?? [];
  if (failures.length > 0 || taskArns.length === 0) {
    if (taskArns.length > 0) {
      await stopTasks(
        ecs,
        options.cluster,
        taskArns,
        `${STOP_REASON_PREFIX}: RunTask reported failures`,
        log,
        {
          withinMs: STOP_RETRY_WINDOW_MS,
          clock,
        },
      );
    }
    const lines = failures.map(
      (f) => `${f.reason ?? 'unknown reason'}${f.detail ? `: ${f.detail}` : ''}${f.arn ? ` (${f.arn})` : ''}`,
    );
    throw new OperationError(
      `RunTask did not start the migration task: ${lines.join('; ') || 'no task and no failure in the reply'}`,
      lines,
    );
  }
  const clusterName = options.cluster.slice(options.cluster.lastIndexOf('/') + 1);
  const firstId = taskId(taskArns[0]!);
  const link = consoleUrl(
    options.region,
    `ecs/v2/clusters/${clusterName}/tasks/${firstId}/configuration?region=${options.region}`,
  );
  log.info(`Started task ${firstId} on ${clusterName}: ${link}`);
  return { tasks, taskArns, firstId, started, consoleUrl: link };
}

function runTaskRequest(options: MigrationOptions, revision: PreparedRevision): RunTaskCommandInput {
  const { network, mainContainer } = revision;
  return {
    cluster: options.cluster,
    taskDefinition: revision.taskDefinitionArn,
    count: 1,
    startedBy: options.startedBy,
    propagateTags: 'TASK_DEFINITION',
    ...(options.launchType ? { launchType: options.launchType } : {}),
    ...(options.capacityProviderStrategy
      ? { capacityProviderStrategy: options.capacityProviderStrategy }
      : {}),
    ...(network ? { networkConfiguration: { awsvpcConfiguration: network } } : {}),
    ...(options.command
      ? { overrides: { containerOverrides: [{ name: mainContainer, command: options.command }] } }
      : {}),
  };
}

/** What StopTask achieved for each task: accepted (ECS is stopping it) or not, with the last error. */
export interface StopOutcome {
  accepted: string[];
  refused: { taskArn: string; error: string }[];
}

export interface StopOptions {
  /** Give up retrying this long after the first attempt (cancellation: well inside the runner's grace). */
  withinMs: number;
  clock: Clock;
}

/**
 * StopTask for each task at once, retried (throttling, 5xx, a dropped
 * connection) until `withinMs` has passed (see callUntil; give `ecs` a client
 * without SDK retries). Never throws: the caller still has to report.
 */
export async function stopTasks(
  ecs: ECSClient,
  cluster: string,
  taskArns: string[],
  reason: string,
  log: Log,
  options: StopOptions,
): Promise<StopOutcome> {
  const until = options.clock.now() + options.withinMs;
  const results = await Promise.all(
    taskArns.map(async (task) => {
      const input = { cluster, task, reason: reason.slice(0, 255) };
      const sent = await callUntil(
        (abortSignal) => ecs.send(new StopTaskCommand(input), { abortSignal }),
        until,
        options.clock,
      );
      const error = sent.ok ? undefined : sent.error;
      if (error === undefined) log.info(`StopTask ${taskId(task)}: ${reason}`);
      else log.error(`StopTask ${taskId(task)} could not be confirmed: ${error}`);
      return { taskArn: task, error };
    }),
  );
  return {
    accepted: results.filter((r) => r.error === undefined).map((r) => r.taskArn),
    refused: results.flatMap((r) => (r.error === undefined ? [] : [{ taskArn: r.taskArn, error: r.error }])),
  };
}
