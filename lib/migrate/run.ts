/**
 * Runs a one-off ECS task (a database migration) to its end, as a recipe of
 * named steps: prepare the revision (register the migration task definition
 * with the new image when it changed) -> start the task (RunTask) -> watch it
 * (its containers' logs live, its status; stop it on timeout or cancellation,
 * never leaving it running) -> judge how it stopped.
 */
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { Log } from '../log.js';
import type { DrainOptions } from '../logstream.js';
import { systemClock, type Clock } from '../time.js';
import { judgeMigration, type Judgement } from './judge.js';
import type { CapacityProviderStrategyItem, LaunchType } from './parse.js';
import { prepareRevision } from './prepare.js';
import { startTask } from './start.js';
import { followTaskLogs, watchTask } from './watch.js';

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
  /** The same on cancellation: the runner kills the step about 10 s after SIGINT. */
  cancelStopWaitMs: number;
  drain: DrainOptions;
}

const DEFAULT_TIMING: MigrationTiming = {
  pollMinMs: 1000,
  pollMaxMs: 6000,
  heartbeatMs: 30_000,
  stopWaitMs: 120_000,
  cancelStopWaitMs: 5000,
  drain: { quietPolls: 2, intervalMs: 1000, maxMs: 15_000 },
};

export interface MigrationClients {
  ecs: ECSClient;
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

/**
 * prepare revision -> start task -> watch (logs and status; the watch stops the
 * task when migrate gives up on it: timeout, cancellation, a watch that breaks)
 * -> judge.
 */
export async function runMigration(
  clients: MigrationClients,
  options: MigrationOptions,
  log: Log,
  signal?: AbortSignal,
  printLogLines: LogLinePrinter = (lines) => lines.forEach((line) => log.info(line)),
): Promise<MigrationResult> {
  const timing = { ...DEFAULT_TIMING, ...options.timing };
  const clock = options.clock ?? systemClock;
  const { ecs } = clients;
  const revision = await prepareRevision(ecs, options, log, signal);
  const task = await startTask(ecs, options, revision, log, clock);
  const follower = await followTaskLogs(clients, options.region, revision.containers, task, {
    log,
    printLogLines,
    clock,
  });
  const watch = { ecs, cluster: options.cluster, task, follower, log, timing, clock };
  const outcome = await watchTask(watch, options.timeoutSeconds, signal);
  return judgeMigration(revision, task, outcome, follower, clock);
}
