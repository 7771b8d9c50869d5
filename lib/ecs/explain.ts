/**
 * Why a rollout failed, or why tasks stopped, in the words ECS used: the
 * service events relevant to the failure (./service-events.ts), the stopped
 * tasks' stop codes, reasons and exit codes, the health check they failed
 * (./health-check-cause.ts) and the last log lines of the container that
 * failed. deploy-services (explainFailure) and verify (explainStoppedTasks)
 * explain a stopped task the same way.
 */
import type { ECSClient, Service, ServiceEvent, Task } from '@aws-sdk/client-ecs';
import { errorMessage } from '../errors.js';
import type { EcsClients } from './clients.js';
import { explainHealthChecks, type SeenTargetFailure } from './health-check-cause.js';
import { relevantEvents } from './service-events.js';
import { describeServices } from './services.js';
import { describeTaskDefinition } from './taskdef.js';
import { listServiceTasks, taskId } from './tasks.js';

export interface ExplainOptions {
  cluster: string;
  service: string;
  /** The task definition whose tasks failed. */
  taskDefinition: string;
  /** Only events at or after this moment (AWS clock), e.g. the deployment's createdAt. */
  since?: Date;
  maxEvents?: number;
  maxStoppedTasks?: number;
  logLines?: number;
  /** Health-check failures the polls saw, before the targets went away. */
  seen?: readonly SeenTargetFailure[];
  /** Cancels the reads still running (each then says it could not read). */
  signal?: AbortSignal;
}

/** ECS's stop codes for a task that failed (not one stopped by scaling, a user or a newer deployment). */
const FAILED_STOP_CODES = new Set(['EssentialContainerExited', 'TaskFailedToStart']);

/** Whether the task stopped because it failed: its essential container exited, it could not start, or it failed health checks. */
export function stoppedByFailure(task: Task): boolean {
  return FAILED_STOP_CODES.has(task.stopCode ?? '') || /health checks?/i.test(task.stoppedReason ?? '');
}

/** One line per stopped task: stop code, reason, each container's exit code. */
export function describeStoppedTask(task: Task): string {
  const containers = (task.containers ?? [])
    .map((c) => {
      const exit =
        c.exitCode !== undefined
          ? `exit code ${c.exitCode}${c.exitCode === 143 && task.stopCode !== 'EssentialContainerExited' ? ' (SIGTERM: ECS stopped it)' : ''}`
          : c.lastStatus === 'RUNNING'
            ? 'still running, being stopped'
            : (c.lastStatus ?? 'no exit code');
      return `container ${c.name}: ${exit}${c.reason ? ` (${c.reason})` : ''}`;
    })
    .join('; ');
  const how = !task.lastStatus || task.lastStatus === 'STOPPED' ? 'stopped' : `stopping (${task.lastStatus})`;
  return `task ${taskId(task.taskArn)} ${how}: ${task.stopCode ?? 'no stop code'}: ${task.stoppedReason ?? 'no reason given'}${containers ? `; ${containers}` : ''}`;
}

/** The explanation of a failed rollout, as lines for the log and the job summary. Never throws: a lookup that fails says so. */
export async function explainFailure(clients: EcsClients, options: ExplainOptions): Promise<string[]> {
  const read = await readService(clients.ecs, options);
  const serviceName = read.described?.serviceName ?? options.service;
  const stopped = await stoppedTasksOfRevision(clients.ecs, serviceName, options);
  // With no stopped task (e.g. new tasks running but never healthy), a running one's logs say why.
  const running = stopped.tasks[0]
    ? undefined
    : await runningTaskOfRevision(clients.ecs, serviceName, options);
  const failed = stopped.tasks[0] ?? running?.task;
  const health = await explainHealthChecks(clients, {
    tasks: stopped.tasks,
    events: read.events,
    ...(options.seen ? { seen: options.seen } : {}),
    ...signalOf(options),
  });
  const logs = failed
    ? await containerLogTail(clients, failed, Boolean(running?.task), {
        ...options,
        taskDefinition: failed.taskDefinitionArn ?? options.taskDefinition,
      })
    : [];
  const events = eventLines(read, stopped.tasks, options.maxEvents);
  return [...events, ...stopped.lines, ...health, ...(running?.lines ?? []), ...logs];
}

export interface StoppedTasksOptions {
  cluster: string;
  service: string;
  /** The stopped (or stopping) tasks to explain, the one whose logs to show first. */
  tasks: readonly Task[];
  /** Only events at or after this moment (AWS clock), e.g. the deployment's createdAt. */
  since?: Date;
  logLines?: number;
  signal?: AbortSignal;
}

/**
 * Why these tasks stopped (verify's late crash): each task's stop code,
 * reason and exit codes, the health check it failed, and the last log lines
 * of the first one's failed container. Never throws.
 */
export async function explainStoppedTasks(
  clients: EcsClients,
  options: StoppedTasksOptions,
): Promise<string[]> {
  const first = options.tasks[0];
  if (!first) return [];
  const read = await readService(clients.ecs, options);
  const health = await explainHealthChecks(clients, {
    tasks: options.tasks,
    events: read.events,
    ...signalOf(options),
  });
  const logs = await containerLogTail(clients, first, false, {
    ...options,
    taskDefinition: first.taskDefinitionArn ?? '',
  });
  const unread = read.error ? [read.error] : [];
  return [...options.tasks.map(describeStoppedTask), ...health, ...unread, ...logs];
}

interface ServiceRead {
  described: Service | undefined;
  /** The service's events since the deployment began, newest first. */
  events: ServiceEvent[];
  /** Why they could not be read. */
  error?: string;
}

/** The service, and its events since the deployment began. */
async function readService(
  ecs: ECSClient,
  options: { cluster: string; service: string; since?: Date; signal?: AbortSignal },
): Promise<ServiceRead> {
  const { cluster, service, signal } = options;
  try {
    const described = (await describeServices(ecs, cluster, [service], signal)).services.get(service);
    const since = (options.since?.getTime() ?? 0) - 1000;
    const events = (described?.events ?? []).filter((e) => (e.createdAt?.getTime() ?? 0) >= since);
    return { described, events };
  } catch (err) {
    return {
      described: undefined,
      events: [],
      error: `(could not read the service events: ${errorMessage(err)})`,
    };
  }
}

/** The events most relevant to the failed tasks and the service's target groups. */
function eventLines(read: ServiceRead, failed: readonly Task[], maxEvents: number | undefined): string[] {
  if (read.error) return [read.error];
  const events = relevantEvents(read.events, {
    taskIds: failed.map((t) => taskId(t.taskArn)),
    targetGroupArns: (read.described?.loadBalancers ?? []).flatMap((lb) => lb.targetGroupArn ?? []),
    max: maxEvents ?? 6,
  });
  if (!events.length) return [];
  return [
    'Service events about this failure:',
    ...events.map((e) => `  ${e.createdAt?.toISOString() ?? ''} ${e.message ?? ''}`),
  ];
}

/** The newest stopped tasks of the failed revision, with their stop codes and exit codes. */
async function stoppedTasksOfRevision(
  ecs: ECSClient,
  serviceName: string,
  options: ExplainOptions,
): Promise<{ tasks: Task[]; lines: string[] }> {
  try {
    const tasks = (
      await listServiceTasks(ecs, {
        cluster: options.cluster,
        serviceName,
        desiredStatus: 'STOPPED',
        ...signalOf(options),
      })
    )
      .filter((t) => t.taskDefinitionArn === options.taskDefinition)
      .sort((a, b) => (b.stoppedAt?.getTime() ?? 0) - (a.stoppedAt?.getTime() ?? 0))
      .slice(0, options.maxStoppedTasks ?? 3);
    if (!tasks.length) return { tasks, lines: [] };
    return {
      tasks,
      lines: ['Stopped tasks of the new revision:', ...tasks.map((t) => `  ${describeStoppedTask(t)}`)],
    };
  } catch (err) {
    return { tasks: [], lines: [`(could not read the stopped tasks: ${errorMessage(err)})`] };
  }
}

/** A running task of the failed revision, when none stopped. */
async function runningTaskOfRevision(
  ecs: ECSClient,
  serviceName: string,
  options: ExplainOptions,
): Promise<{ task?: Task; lines: string[] }> {
  try {
    const tasks = await listServiceTasks(ecs, {
      cluster: options.cluster,
      serviceName,
      desiredStatus: 'RUNNING',
      ...signalOf(options),
    });
    const task = tasks.find((t) => t.taskDefinitionArn === options.taskDefinition);
    return { ...(task ? { task } : {}), lines: [] };
  } catch (err) {
    return { lines: [`(could not read the running tasks: ${errorMessage(err)})`] };
  }
}

/** The last log lines of the container that failed (a non-zero exit first, else the first essential one). */
async function containerLogTail(
  clients: EcsClients,
  failed: Task,
  running: boolean,
  options: { taskDefinition: string; logLines?: number },
): Promise<string[]> {
  const lines: string[] = [];
  try {
    const { taskDefinition } = await describeTaskDefinition(clients.ecs, options.taskDefinition);
    const exited = failed.containers?.find((c) => c.exitCode !== undefined && c.exitCode !== 0);
    const name =
      exited?.name ??
      taskDefinition.containerDefinitions?.find((c) => c.essential !== false)?.name ??
      taskDefinition.containerDefinitions?.[0]?.name;
    const container = taskDefinition.containerDefinitions?.find((c) => c.name === name);
    // Loaded on failure only: CloudWatch Logs is not needed by a run that succeeds.
    const { awslogsStreamFor, lastLogLines } = await import('../cwlogs.js');
    const stream = container ? awslogsStreamFor(container, failed.taskArn ?? '') : undefined;
    if (stream) {
      const logs = await clients.logs(stream.region);
      const tail = await lastLogLines(logs, stream, options.logLines ?? 20);
      lines.push(
        tail.length
          ? `Last log lines of container ${name}${running ? ` in running task ${taskId(failed.taskArn)}` : ''} (${stream.logGroupName} ${stream.logStreamName}):`
          : `Container ${name} wrote no log lines (${stream.logGroupName} ${stream.logStreamName}).`,
      );
      for (const l of tail) lines.push(`  | ${l}`);
    } else if (container) {
      lines.push(`(container ${name} does not use the awslogs driver with a stream prefix: no logs to show)`);
    }
  } catch (err) {
    lines.push(`(could not read the container's logs: ${errorMessage(err)})`);
  }
  return lines;
}

function signalOf(options: { signal?: AbortSignal }): { signal?: AbortSignal } {
  return options.signal ? { signal: options.signal } : {};
}
