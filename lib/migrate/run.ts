/**
 * Runs a one-off ECS task (a database migration) to its end, as a recipe of
 * named steps: prepare the revision (register the migration task definition
 * with the new image when it changed) -> start the task (RunTask) -> watch it
 * (its containers' logs live, its status; stop it on timeout or cancellation,
 * and only then) -> read where it stands -> judge how it stopped.
 */
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient, type Task } from '@aws-sdk/client-ecs';
import { clientConfig } from '../aws/config.js';
import { OperationError, errorMessage } from '../errors.js';
import type { Log } from '../log.js';
import type { DrainOptions, LogStreamFollower } from '../logstream.js';
import { systemClock, type Clock } from '../time.js';
import { judgeMigration, type Judgement } from './judge.js';
import type { CapacityProviderStrategyItem, LaunchType } from './parse.js';
import { prepareRevision } from './prepare.js';
import { readStanding, type TaskStanding } from './standing.js';
import { startTask, type StartedTask } from './start.js';
import { TaskNotFound, followTaskLogs, watchTask } from './watch.js';

export type NetworkSource =
  | { fromService: string }
  | { subnets: string[]; securityGroups: string[]; assignPublicIp?: 'ENABLED' | 'DISABLED' };

export interface MigrationOptions {
  cluster: string;
  /** Family, family:revision or ARN of the migration task definition. */
  taskDefinition: string;
  /** Image name -> URI, as build-push writes it; containers whose name matches take the image. */
  images?: Record<string, string>;
  /** Container -> image name in `images`, for containers named differently from their image. */
  containerImages?: Record<string, string>;
  /** One image for `container` (or the only container). */
  image?: string;
  /** The container that gets `image` and `command`; its exit code is the result's exitCode. */
  container?: string;
  command?: string[];
  network?: NetworkSource;
  launchType?: LaunchType;
  capacityProviderStrategy?: CapacityProviderStrategyItem[];
  timeoutSeconds: number;
  startedBy: string;
  region: string;
  timing?: Partial<MigrationTiming>;
  /** What the watch waits by (default the system clock; unit tests pass a fake one). */
  clock?: Clock;
}

export interface MigrationTiming {
  /** DescribeTasks/log poll interval bounds. */
  pollMinMs: number;
  pollMaxMs: number;
  /** A status line this often while nothing changes. */
  heartbeatMs: number;
  /** How long to wait for a stopped task to reach STOPPED after StopTask on timeout. */
  stopWaitMs: number;
  /**
   * On cancellation: StopTask (retried) and the wait for STOPPED end this long
   * after the signal; the runner sends SIGTERM 7.5 s after SIGINT, SIGKILL 2.5 s later.
   */
  cancelStopWaitMs: number;
  /** Longest pause between DescribeTasks reads while they fail (backing off from pollMinMs). */
  outageBackoffMaxMs: number;
  /** How long the final DescribeTasks (where the task stands at the end) may take. */
  finalReadMs: number;
  drain: DrainOptions;
}

const DEFAULT_TIMING: MigrationTiming = {
  pollMinMs: 1000,
  pollMaxMs: 6000,
  heartbeatMs: 30_000,
  stopWaitMs: 120_000,
  cancelStopWaitMs: 4500,
  outageBackoffMaxMs: 30_000,
  finalReadMs: 1000,
  drain: { quietPolls: 2, intervalMs: 1000, maxMs: 15_000 },
};

export interface MigrationClients {
  ecs: ECSClient;
  /**
   * ECS without SDK retries, for the calls bound by a deadline (StopTask, the
   * wait after a cancellation, the final read), which migrate retries itself
   * so that nothing is still retrying when the runner kills the step.
   * Default: one made like `ecs`, with a single attempt per call.
   */
  ecsOnce?: ECSClient;
  /**
   * A CloudWatch Logs client for a region (a container's awslogs-region may
   * differ from the task's). Asked for only once a task runs, so that runs
   * failing earlier never load the Logs SDK.
   */
  logs: (region: string) => Promise<CloudWatchLogsClient>;
}

export interface MigrationResult {
  ok: boolean;
  taskDefinitionArn: string;
  /** Whether a new revision was registered for the new image. */
  registered: boolean;
  taskArns: string[];
  /** The exit code of the migration container (`container`, else the first essential one). */
  exitCode?: number;
  mainContainer: string;
  judgement: Judgement;
  /** Set when migrate stopped the task itself. */
  stoppedBy?: 'timeout' | 'cancellation';
  /** Where the task stands at the end, as read from AWS (or why it could not be read). */
  standing: TaskStanding;
  /** One line saying what happened; the reason of the failure when not ok. */
  message: string;
  /** Failure details: container exit codes and reasons, and the last log lines. */
  details: string[];
  lastLogLines: string[];
  durationMs: number;
  consoleUrl?: string;
}

/**
 * Prints the task's log lines (one poll's worth at a time). The action wraps
 * them so that a line such as "::error::" is not taken as a workflow command.
 * Default: log.info per line.
 */
export type LogLinePrinter = (lines: string[]) => void;

/** What the caller hears as soon as it is known, so that a kill cannot lose it (outputs). */
export interface MigrationHooks {
  printLogLines?: LogLinePrinter;
  /** The revision that runs, before RunTask. */
  onRevision?: (taskDefinitionArn: string) => void;
  /** The task, as soon as RunTask returned it. */
  onTaskStarted?: (task: StartedTask) => void;
}

/**
 * A migration that could not be judged (the watch broke): the error, with the
 * result as far as it is known and where the task stands, read from AWS.
 */
export class MigrationError extends OperationError {
  constructor(
    message: string,
    details: string[],
    readonly result: MigrationResult,
  ) {
    super(message, details);
  }
}

/**
 * prepare revision -> start task -> watch (logs and status; the watch stops the
 * task only at the timeout or on cancellation; reads that fail are retried)
 * -> read where the task stands -> judge.
 */
export async function runMigration(
  clients: MigrationClients,
  options: MigrationOptions,
  log: Log,
  signal?: AbortSignal,
  hooks: MigrationHooks = {},
): Promise<MigrationResult> {
  const timing = { ...DEFAULT_TIMING, ...options.timing };
  const clock = options.clock ?? systemClock;
  const printLogLines = hooks.printLogLines ?? ((lines) => lines.forEach((line) => log.info(line)));
  const { ecs } = clients;
  const ecsOnce = clients.ecsOnce ?? new ECSClient(clientConfig({ region: options.region, maxAttempts: 1 }));
  const revision = await prepareRevision(ecs, options, log, signal);
  hooks.onRevision?.(revision.taskDefinitionArn);
  const task = await startTask(ecs, options, revision, log, clock);
  hooks.onTaskStarted?.(task);
  const read = (tasks: Task[], readAt?: number) =>
    readStanding(ecsOnce, options.cluster, task, { tasks, ...(readAt ? { readAt } : {}) }, timing, clock);
  let follower: LogStreamFollower | undefined;
  try {
    follower = await followTaskLogs(clients, options.region, revision.containers, task, {
      log,
      printLogLines,
      clock,
    });
    const watch = { ecs, ecsOnce, cluster: options.cluster, task, follower, log, timing, clock };
    const outcome = await watchTask(watch, options.timeoutSeconds, signal);
    const standing = await read(outcome.tasks, outcome.readAt);
    return judgeMigration(revision, task, { ...outcome, tasks: standing.tasks }, standing, follower, clock);
  } catch (err) {
    // ECS answering MISSING poll after poll is itself the last read.
    const standing =
      err instanceof TaskNotFound
        ? { tasks: [], readAt: clock.now(), missing: true }
        : await read(task.tasks);
    const result = judgeMigration(revision, task, { tasks: standing.tasks }, standing, follower, clock);
    const message = errorMessage(err);
    throw new MigrationError(message, result.details, { ...result, ok: false, message });
  }
}
