/**
 * Why a rollout failed, in the words ECS used: the service's newest events,
 * the stopped tasks' stop codes, reasons and exit codes, and the last log
 * lines of the container that failed.
 */
import type { ECSClient, Service, Task } from '@aws-sdk/client-ecs';
import { errorMessage } from '../errors.js';
import type { EcsClients } from './clients.js';
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
  /** Cancels the reads still running (each then says it could not read). */
  signal?: AbortSignal;
}

/** One line per stopped task: stop code, reason, each container's exit code. */
export function describeStoppedTask(task: Task): string {
  const containers = (task.containers ?? [])
    .map((c) => {
      const exit = c.exitCode !== undefined ? `exit code ${c.exitCode}` : (c.lastStatus ?? 'no exit code');
      return `container ${c.name}: ${exit}${c.reason ? ` (${c.reason})` : ''}`;
    })
    .join('; ');
  return `task ${taskId(task.taskArn)} stopped: ${task.stopCode ?? 'no stop code'}: ${task.stoppedReason ?? 'no reason given'}${containers ? `; ${containers}` : ''}`;
}

/** The explanation, as lines for the log and the job summary. Never throws: a lookup that fails says so. */
export async function explainFailure(clients: EcsClients, options: ExplainOptions): Promise<string[]> {
  const events = await serviceEvents(clients.ecs, options);
  const serviceName = events.described?.serviceName ?? options.service;
  const stopped = await stoppedTasksOfRevision(clients.ecs, serviceName, options);
  // With no stopped task (e.g. new tasks running but never healthy), a running one's logs say why.
  const running = stopped.tasks[0]
    ? undefined
    : await runningTaskOfRevision(clients.ecs, serviceName, options);
  const failed = stopped.tasks[0] ?? running?.task;
  const logs = failed ? await containerLogTail(clients, failed, Boolean(running?.task), options) : [];
  return [...events.lines, ...stopped.lines, ...(running?.lines ?? []), ...logs];
}

/** The service's newest events since the deployment began. */
async function serviceEvents(
  ecs: ECSClient,
  options: ExplainOptions,
): Promise<{ described: Service | undefined; lines: string[] }> {
  const { cluster, service, signal } = options;
  let described: Service | undefined;
  const lines: string[] = [];
  try {
    described = (await describeServices(ecs, cluster, [service], signal)).services.get(service);
    const since = options.since?.getTime() ?? 0;
    const events = (described?.events ?? [])
      .filter((e) => (e.createdAt?.getTime() ?? 0) >= since - 1000)
      .slice(0, options.maxEvents ?? 6);
    if (events.length) {
      lines.push('Newest service events:');
      for (const e of events) lines.push(`  ${e.createdAt?.toISOString() ?? ''} ${e.message ?? ''}`);
    }
  } catch (err) {
    lines.push(`(could not read the service events: ${errorMessage(err)})`);
  }
  return { described, lines };
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
  options: ExplainOptions,
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

function signalOf(options: ExplainOptions): { signal?: AbortSignal } {
  return options.signal ? { signal: options.signal } : {};
}
