/**
 * Runs a one-off ECS task (a database migration) to its end: registers the
 * migration task definition with the new image when it changed, starts it
 * with RunTask, follows its containers' logs live while it runs, judges how
 * it stopped, and never leaves it running on timeout or cancellation.
 */
import {
  DescribeServicesCommand,
  DescribeTasksCommand,
  RunTaskCommand,
  StopTaskCommand,
  type AwsVpcConfiguration,
  type ContainerDefinition,
  type ECSClient,
  type RunTaskCommandInput,
  type Task,
} from '@aws-sdk/client-ecs';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { consoleUrl } from '../aws/config.js';
import { awslogsStreamFor } from '../cwlogs.js';
import {
  describeTaskDefinition,
  registerClone,
  registerableInput,
  shortTaskDefinition,
  withImages,
} from '../ecs/taskdef.js';
import { CancelledError, InputError, OperationError, errorMessage } from '../errors.js';
import type { Log } from '../log.js';
import type { DrainOptions, LogStreamFollower } from '../logstream.js';
import { AdaptiveInterval, Heartbeat, formatDuration, sleep } from '../time.js';
import type { CapacityProviderStrategyItem, LaunchType } from './parse.js';
import { judgeTasks, taskId, type Judgement } from './judge.js';

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

const STOP_REASON_PREFIX = 'Stopped by migrate';

/**
 * Prints the task's log lines (one poll's worth at a time). The action wraps
 * them so that a line such as "::error::" is not taken as a workflow command.
 * Default: log.info per line.
 */
export type LogLinePrinter = (lines: string[]) => void;

export async function runMigration(
  clients: MigrationClients,
  options: MigrationOptions,
  log: Log,
  signal?: AbortSignal,
  printLogLines: LogLinePrinter = (lines) => lines.forEach((line) => log.info(line)),
): Promise<MigrationResult> {
  const timing = { ...DEFAULT_TIMING, ...options.timing };
  const { ecs } = clients;

  // Everything up to RunTask reads only, except registering an image change.
  const network = await resolveNetwork(ecs, options);
  const described = await describeTaskDefinition(ecs, options.taskDefinition).catch((err: unknown) => {
    throw new InputError(
      'task-definition',
      `cannot read task definition "${options.taskDefinition}": ${errorMessage(err)}`,
      'give the family, family:revision or ARN of a registered task definition',
    );
  });
  const source = described.taskDefinition;
  const containers = source.containerDefinitions ?? [];
  const mainContainer = chooseMainContainer(options, containers, source.taskDefinitionArn);
  const containerImageMap = imagesByContainer(options, containers, source.taskDefinitionArn);
  if (source.networkMode === 'awsvpc' && !network) {
    throw new InputError(
      'network-from-service',
      `task definition ${shortTaskDefinition(source.taskDefinitionArn)} uses the awsvpc network mode, which needs subnets`,
      'set network-from-service to a service whose network the task may use, or give subnets and security-groups',
    );
  }
  const runRequest: RunTaskCommandInput = {
    cluster: options.cluster,
    taskDefinition: '',
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
  if (signal?.aborted) throw new CancelledError('cancelled before the task was started');

  let taskDefinitionArn = source.taskDefinitionArn;
  let registered = false;
  const planned = withImages(registerableInput(described), containerImageMap);
  if (planned.changes.length > 0) {
    taskDefinitionArn = await registerClone(ecs, { source: described, ...planned }).catch((err: unknown) => {
      throw new OperationError(`RegisterTaskDefinition failed: ${awsErrorText(err)}`);
    });
    registered = true;
    for (const c of planned.changes) log.info(`${c.container}: ${c.from ?? '(none)'} -> ${c.to}`);
    log.info(`Registered ${shortTaskDefinition(taskDefinitionArn)} with the new image`);
  } else {
    log.info(`Running ${shortTaskDefinition(taskDefinitionArn)} (its images are already the ones given)`);
  }
  const essential = Object.fromEntries(containers.map((c) => [c.name ?? '', c.essential ?? true]));

  const started = Date.now();
  const runReply = await ecs
    .send(new RunTaskCommand({ ...runRequest, taskDefinition: taskDefinitionArn }))
    .catch((err: unknown) => {
      throw new OperationError(`RunTask failed: ${awsErrorText(err)}`);
    });
  let tasks: Task[] = runReply.tasks ?? [];
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

  const severalStreams = containers.filter((c) => awslogsStreamFor(c, firstId)).length > 1;
  // Loaded only now: a run that fails before RunTask does not pay for the Logs SDK.
  const { LogStreamFollower } = await import('../logstream.js');
  const follower = new LogStreamFollower(await clients.logs(options.region), {
    onLines: (lines) =>
      printLogLines(lines.map((line) => (severalStreams ? `[${line.label}] ${line.message}` : line.message))),
    onWarning: (m) => log.warning(m),
  });
  for (const arn of taskArns) {
    for (const container of containers) {
      const stream = awslogsStreamFor(container, arn);
      if (!stream) continue;
      const label = taskArns.length > 1 ? `${taskId(arn).slice(0, 8)}/${container.name}` : container.name!;
      const client = await clients.logs(stream.region ?? options.region);
      follower.addVia(client, {
        logGroupName: stream.logGroupName,
        logStreamName: stream.logStreamName,
        label,
      });
    }
  }
  const unlogged = containers.filter((c) => !awslogsStreamFor(c, firstId)).map((c) => c.name);
  if (unlogged.length > 0) {
    log.info(`Not streamed (no awslogs driver with a stream prefix): ${unlogged.join(', ')}`);
  }

  let stoppedBy: MigrationResult['stoppedBy'];
  let stopProblem: string | undefined;
  await log.group(`Task ${firstId}: logs and status`, async () => {
    const deadline = started + options.timeoutSeconds * 1000;
    try {
      tasks = await waitForStop(
        ecs,
        options.cluster,
        taskArns,
        tasks,
        follower,
        log,
        timing,
        deadline,
        signal,
      );
    } catch (err) {
      if (!(err instanceof CancelledError || signal?.aborted || err instanceof TimedOut)) {
        // Whatever broke the watch, the task must not keep running unobserved.
        await stopTasks(ecs, options.cluster, taskArns, `${STOP_REASON_PREFIX}: cannot follow the task`, log);
        throw err;
      }
      const why =
        err instanceof TimedOut
          ? `timed out after ${options.timeoutSeconds}s`
          : `workflow cancelled (${/SIG[A-Z]+/.exec(String(signal?.reason))?.[0] ?? 'aborted'})`;
      stoppedBy = err instanceof TimedOut ? 'timeout' : 'cancellation';
      const reason = `${STOP_REASON_PREFIX}: ${why}`;
      log.warning(`${why}: stopping task ${firstId}`);
      await stopTasks(ecs, options.cluster, taskArns, reason, log);
      const waitMs = stoppedBy === 'timeout' ? timing.stopWaitMs : timing.cancelStopWaitMs;
      try {
        tasks = await waitForStop(
          ecs,
          options.cluster,
          taskArns,
          tasks,
          follower,
          log,
          timing,
          Date.now() + waitMs,
        );
      } catch (stopErr) {
        if (!(stopErr instanceof TimedOut)) throw stopErr;
        stopProblem = `the task had not reached STOPPED ${formatDuration(waitMs)} after StopTask`;
      }
      stopProblem = stopProblem ? `${why}; ${stopProblem}` : `${why}; the task was stopped`;
    }
    // The last lines reach CloudWatch after the container exits.
    await follower
      .drain(stoppedBy === 'cancellation' ? { ...timing.drain, maxMs: 1500 } : timing.drain)
      .catch((err: unknown) => log.warning(`reading the last log lines: ${errorMessage(err)}`));
  });

  const judgement = judgeTasks(tasks, essential);
  const main = judgement.containers.find((c) => c.name === mainContainer);
  const lastLogLines = follower.lastLines(undefined, 20);
  const ok = judgement.ok && !stoppedBy;
  const details = [
    ...judgement.containers.map(
      (c) =>
        `${c.name}${c.essential ? '' : ' (non-essential)'}: exit code ${c.exitCode ?? 'none'}${c.reason ? ` (${c.reason})` : ''}`,
    ),
    ...tasks.map(
      (t) =>
        `task ${taskId(t.taskArn ?? '?')}: ${t.lastStatus ?? '?'}, ${t.stopCode ?? '-'}: ${t.stoppedReason ?? '-'}`,
    ),
  ];
  // A container that ran but left no stream points at a wrong awslogs configuration.
  const ran = new Set(judgement.containers.filter((c) => c.exitCode !== undefined).map((c) => c.name));
  for (const stream of follower.missing().filter((m) => ran.has(m.label.split('/').pop()!))) {
    details.push(`no log stream ${stream.logStreamName} in log group ${stream.logGroupName}`);
  }
  let message: string;
  if (ok)
    message = `Migration succeeded: ${mainContainer} exited 0 after ${formatDuration(Date.now() - started)}`;
  else if (stopProblem) message = `Migration failed: ${stopProblem}`;
  else message = `Migration failed: ${judgement.failures.join('; ')}`;
  return {
    ok,
    taskDefinitionArn,
    registered,
    taskArns,
    ...(main?.exitCode !== undefined ? { exitCode: main.exitCode } : {}),
    mainContainer,
    judgement,
    ...(stoppedBy ? { stoppedBy } : {}),
    message,
    details,
    lastLogLines,
    durationMs: Date.now() - started,
    consoleUrl: link,
  };
}

class TimedOut extends Error {}

/** "InvalidParameterException: <message>": the error code tells what kind of problem it is. */
function awsErrorText(err: unknown): string {
  const name = (err as { name?: string }).name;
  return name && name !== 'Error' ? `${name}: ${errorMessage(err)}` : errorMessage(err);
}

/** Polls DescribeTasks and the logs until every task is STOPPED; TimedOut at the deadline. */
async function waitForStop(
  ecs: ECSClient,
  cluster: string,
  taskArns: string[],
  initial: Task[],
  follower: LogStreamFollower,
  log: Log,
  timing: MigrationTiming,
  deadline: number,
  signal?: AbortSignal,
): Promise<Task[]> {
  const interval = new AdaptiveInterval(timing.pollMinMs, timing.pollMaxMs);
  let tasks = initial;
  let status = describeStatus(tasks);
  const heartbeat = new Heartbeat(timing.heartbeatMs, (quietMs) =>
    log.info(`... still ${status} (no change for ${formatDuration(quietMs)})`),
  );
  let missingPolls = 0;
  for (;;) {
    const logsRead = follower.fetch(signal);
    const reply = await ecs
      .send(new DescribeTasksCommand({ cluster, tasks: taskArns }), { abortSignal: signal })
      .catch(async (err: unknown) => {
        // Lines already read must still be shown exactly once.
        follower.deliver(await logsRead);
        throw err;
      });
    const fetched = await logsRead;
    if (reply.failures?.length && !reply.tasks?.length) {
      // Right after RunTask, DescribeTasks may not see the task yet (eventual consistency).
      if (++missingPolls >= 10) {
        throw new OperationError(
          `DescribeTasks cannot find the task: ${reply.failures.map((f) => `${f.arn}: ${f.reason}`).join('; ')}`,
        );
      }
    } else {
      missingPolls = 0;
      tasks = reply.tasks ?? tasks;
    }
    const now = describeStatus(tasks);
    const changed = now !== status;
    if (changed) {
      status = now;
      log.info(`Task ${status}`);
    }
    const newLines = follower.deliver(fetched);
    if (changed || newLines > 0) {
      heartbeat.changed();
    } else {
      heartbeat.tick();
    }
    if (tasks.length > 0 && tasks.every((t) => t.lastStatus === 'STOPPED')) return tasks;
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new TimedOut();
    await sleep(Math.min(interval.next(changed || newLines > 0), remaining), signal);
  }
}

function describeStatus(tasks: Task[]): string {
  return tasks
    .map((t) => {
      const containers = (t.containers ?? [])
        .map(
          (c) => `${c.name} ${c.lastStatus ?? '?'}${c.exitCode !== undefined ? ` (exit ${c.exitCode})` : ''}`,
        )
        .join(', ');
      return `${t.lastStatus ?? 'PROVISIONING'}${containers ? ` [${containers}]` : ''}`;
    })
    .join('; ');
}

/** StopTask for each task; an error is logged, not thrown: the caller still has to report the failure. */
async function stopTasks(ecs: ECSClient, cluster: string, taskArns: string[], reason: string, log: Log) {
  await Promise.all(
    taskArns.map((task) =>
      ecs
        .send(new StopTaskCommand({ cluster, task, reason: reason.slice(0, 255) }))
        .then(() => log.info(`StopTask ${taskId(task)}: ${reason}`))
        .catch((err: unknown) => log.error(`StopTask ${taskId(task)} failed: ${errorMessage(err)}`)),
    ),
  );
}

async function resolveNetwork(
  ecs: ECSClient,
  options: MigrationOptions,
): Promise<AwsVpcConfiguration | undefined> {
  const network = options.network;
  if (!network) return undefined;
  if (!('fromService' in network)) {
    return {
      subnets: network.subnets,
      ...(network.securityGroups.length ? { securityGroups: network.securityGroups } : {}),
      ...(network.assignPublicIp ? { assignPublicIp: network.assignPublicIp } : {}),
    };
  }
  const reply = await ecs.send(
    new DescribeServicesCommand({ cluster: options.cluster, services: [network.fromService] }),
  );
  const service = reply.services?.find((s) => s.status !== 'INACTIVE');
  if (!service) {
    const why = reply.failures?.[0]?.reason ?? reply.services?.[0]?.status ?? 'MISSING';
    throw new InputError(
      'network-from-service',
      `service "${network.fromService}" is not in cluster ${options.cluster} (${why})`,
      'name a running service of the cluster, or give subnets and security-groups',
    );
  }
  const vpc = service.networkConfiguration?.awsvpcConfiguration;
  if (!vpc?.subnets?.length) {
    throw new InputError(
      'network-from-service',
      `service "${network.fromService}" has no awsvpc network configuration to copy`,
      'give subnets and security-groups instead',
    );
  }
  return {
    subnets: vpc.subnets,
    ...(vpc.securityGroups?.length ? { securityGroups: vpc.securityGroups } : {}),
    ...(vpc.assignPublicIp ? { assignPublicIp: vpc.assignPublicIp } : {}),
  };
}

function containerList(containers: ContainerDefinition[]): string {
  return containers.map((c) => c.name).join(', ');
}

/** The container that runs the command and whose exit code is reported. */
function chooseMainContainer(
  options: MigrationOptions,
  containers: ContainerDefinition[],
  arn: string,
): string {
  const td = shortTaskDefinition(arn);
  if (options.container) {
    if (!containers.some((c) => c.name === options.container)) {
      throw new InputError(
        'container',
        `task definition ${td} has no container "${options.container}"`,
        `use one of: ${containerList(containers)}`,
      );
    }
    return options.container;
  }
  if (containers.length === 1) return containers[0]!.name!;
  const essentials = containers.filter((c) => c.essential ?? true);
  if ((options.image || options.command) && essentials.length !== 1) {
    throw new InputError(
      'container',
      `task definition ${td} has several containers (${containerList(containers)}); which one gets ${options.image ? 'the image' : 'the command'} is ambiguous`,
      'name it with container',
    );
  }
  return (essentials[0] ?? containers[0])!.name!;
}

/** Container name -> new image, from `image` or from `images` (+ `container-images`). */
function imagesByContainer(
  options: MigrationOptions,
  containers: ContainerDefinition[],
  arn: string,
): Record<string, string> {
  const td = shortTaskDefinition(arn);
  if (options.image) {
    const target = chooseMainContainer(options, containers, arn);
    return { [target]: options.image };
  }
  if (!options.images) return {};
  const names = new Set(containers.map((c) => c.name));
  for (const container of Object.keys(options.containerImages ?? {})) {
    if (!names.has(container)) {
      throw new InputError(
        'container-images',
        `task definition ${td} has no container "${container}"`,
        `use one of: ${containerList(containers)}`,
      );
    }
  }
  const map: Record<string, string> = {};
  for (const container of containers) {
    const imageName = options.containerImages?.[container.name!] ?? container.name!;
    const uri = options.images[imageName];
    if (uri) map[container.name!] = uri;
  }
  if (Object.keys(map).length === 0) {
    throw new InputError(
      'images',
      `none of its names (${Object.keys(options.images).join(', ')}) is a container of task definition ${td} (containers: ${containerList(containers)})`,
      `map the container to an image with container-images, e.g. ${containers[0]?.name}=${Object.keys(options.images)[0]}`,
    );
  }
  return map;
}
