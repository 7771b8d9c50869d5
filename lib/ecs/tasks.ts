/**
 * ECS reads, in one home: a service's tasks (paginated, cancellable), its PRIMARY
 * deployment, and the identity of a task (short id, ENI address).
 */
import {
  DescribeTasksCommand,
  ListTasksCommand,
  type DesiredStatus,
  type ECSClient,
  type Deployment,
  type Task,
} from '@aws-sdk/client-ecs';
import { chunks } from './services.js';

/** ListTasks returns at most 100 ARNs a page; DescribeTasks takes at most 100 tasks. */
export const LIST_TASKS_PAGE = 100;
export const DESCRIBE_TASKS_CHUNK = 100;

export interface ListServiceTasksOptions {
  cluster: string;
  /** The service whose tasks to list (name or ARN). */
  serviceName?: string;
  /** Tasks started with this `startedBy` (RunTask); either this or serviceName. */
  startedBy?: string;
  /** ECS's default is RUNNING; STOPPED lists tasks stopped within the last hour or so. */
  desiredStatus?: DesiredStatus;
  signal?: AbortSignal;
}

/** Every task ARN ListTasks returns, all pages. */
export async function listTaskArns(ecs: ECSClient, options: ListServiceTasksOptions): Promise<string[]> {
  const { cluster, serviceName, startedBy, desiredStatus, signal } = options;
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ecs.send(
      new ListTasksCommand({
        cluster,
        ...(serviceName ? { serviceName } : {}),
        ...(startedBy ? { startedBy } : {}),
        ...(desiredStatus ? { desiredStatus } : {}),
        maxResults: LIST_TASKS_PAGE,
        nextToken,
      }),
      { abortSignal: signal },
    );
    arns.push(...(page.taskArns ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return arns;
}

/** DescribeTasks for any number of ARNs, 100 a call, in parallel; order follows the ARNs given. */
export async function describeTasks(
  ecs: ECSClient,
  cluster: string,
  taskArns: readonly string[],
  signal?: AbortSignal,
): Promise<Task[]> {
  const replies = await Promise.all(
    chunks(taskArns, DESCRIBE_TASKS_CHUNK).map((chunk) =>
      ecs.send(new DescribeTasksCommand({ cluster, tasks: chunk }), { abortSignal: signal }),
    ),
  );
  return replies.flatMap((r) => r.tasks ?? []);
}

/** ListTasks (every page) + DescribeTasks: the full tasks of a service or a startedBy. */
export async function listServiceTasks(ecs: ECSClient, options: ListServiceTasksOptions): Promise<Task[]> {
  const arns = await listTaskArns(ecs, options);
  return arns.length ? describeTasks(ecs, options.cluster, arns, options.signal) : [];
}

/** The deployment ECS is rolling out to (or has finished): the one with status PRIMARY. */
export function primaryDeployment(deployments: readonly Deployment[] | undefined): Deployment | undefined {
  return deployments?.find((d) => d.status === 'PRIMARY');
}

/** The short task id, as the console shows it (the last segment of the ARN). */
export function taskId(taskArn: string | undefined): string {
  const arn = taskArn ?? '';
  return arn.slice(arn.lastIndexOf('/') + 1);
}

/** The private IPv4 address of a task's ENI (awsvpc): its target Id in an `ip` target group. */
export function taskEniAddress(task: Task): string | undefined {
  for (const attachment of task.attachments ?? []) {
    if (attachment.type !== 'ElasticNetworkInterface') continue;
    const ip = attachment.details?.find((d) => d.name === 'privateIPv4Address')?.value;
    if (ip) return ip;
  }
  return task.containers?.flatMap((c) => c.networkInterfaces ?? []).find((n) => n.privateIpv4Address)
    ?.privateIpv4Address;
}
