/**
 * Why a rollout failed, in the words ECS used: the service's newest events,
 * the stopped tasks' stop codes, reasons and exit codes, and the last log
 * lines of the container that failed.
 */
import { DescribeTasksCommand, ListTasksCommand, type Service, type Task } from '@aws-sdk/client-ecs';
import { errorMessage } from '../errors.js';
import type { EcsClients } from './clients.js';
import { describeServices } from './services.js';
import { describeTaskDefinition } from './taskdef.js';

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
}

function taskId(arn: string | undefined): string {
  return (arn ?? '').slice((arn ?? '').lastIndexOf('/') + 1);
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
  const { ecs } = clients;
  const { cluster, service } = options;
  const lines: string[] = [];
  let described: Service | undefined;
  try {
    described = (await describeServices(ecs, cluster, [service])).services.get(service);
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

  let stopped: Task[] = [];
  try {
    const list = await ecs.send(
      new ListTasksCommand({
        cluster,
        serviceName: described?.serviceName ?? service,
        desiredStatus: 'STOPPED',
      }),
    );
    if (list.taskArns?.length) {
      const reply = await ecs.send(new DescribeTasksCommand({ cluster, tasks: list.taskArns.slice(0, 100) }));
      stopped = (reply.tasks ?? [])
        .filter((t) => t.taskDefinitionArn === options.taskDefinition)
        .sort((a, b) => (b.stoppedAt?.getTime() ?? 0) - (a.stoppedAt?.getTime() ?? 0))
        .slice(0, options.maxStoppedTasks ?? 3);
    }
    if (stopped.length) {
      lines.push('Stopped tasks of the new revision:');
      for (const t of stopped) lines.push(`  ${describeStoppedTask(t)}`);
    }
  } catch (err) {
    lines.push(`(could not read the stopped tasks: ${errorMessage(err)})`);
  }

  // With no stopped task (e.g. new tasks running but never healthy), a running one's logs say why.
  let failed: Task | undefined = stopped[0];
  let running = false;
  if (!failed) {
    try {
      const list = await ecs.send(
        new ListTasksCommand({
          cluster,
          serviceName: described?.serviceName ?? service,
          desiredStatus: 'RUNNING',
        }),
      );
      if (list.taskArns?.length) {
        const reply = await ecs.send(
          new DescribeTasksCommand({ cluster, tasks: list.taskArns.slice(0, 100) }),
        );
        failed = reply.tasks?.find((t) => t.taskDefinitionArn === options.taskDefinition);
        running = Boolean(failed);
      }
    } catch (err) {
      lines.push(`(could not read the running tasks: ${errorMessage(err)})`);
    }
  }
  if (failed) {
    try {
      const { taskDefinition } = await describeTaskDefinition(ecs, options.taskDefinition);
      // The container that failed: a non-zero exit first, else the first essential one.
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
        lines.push(
          `(container ${name} does not use the awslogs driver with a stream prefix: no logs to show)`,
        );
      }
    } catch (err) {
      lines.push(`(could not read the container's logs: ${errorMessage(err)})`);
    }
  }
  return lines;
}
