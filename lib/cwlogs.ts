/**
 * CloudWatch Logs of a container that uses the awslogs driver: where its
 * stream is, and its last lines.
 */
import {
  GetLogEventsCommand,
  type CloudWatchLogsClient,
  type GetLogEventsCommandOutput,
} from '@aws-sdk/client-cloudwatch-logs';
import type { ContainerDefinition } from '@aws-sdk/client-ecs';
import { taskId } from './ecs/tasks.js';

export interface AwslogsStream {
  logGroupName: string;
  logStreamName: string;
  /** awslogs-region when the container sets one. */
  region?: string;
}

/**
 * The stream a task's container writes to, per the awslogs driver's rule
 * `prefix/container-name/task-id`. Undefined when the container does not use
 * awslogs or sets no stream prefix (then the stream name is not derivable).
 * `task` is a task ARN or its id.
 */
export function awslogsStreamFor(
  container: Pick<ContainerDefinition, 'name' | 'logConfiguration'>,
  task: string,
): AwslogsStream | undefined {
  const config = container.logConfiguration;
  if (config?.logDriver !== 'awslogs' || !container.name) return undefined;
  const group = config.options?.['awslogs-group'];
  const prefix = config.options?.['awslogs-stream-prefix'];
  if (!group || !prefix) return undefined;
  const region = config.options?.['awslogs-region'];
  return {
    logGroupName: group,
    logStreamName: `${prefix}/${container.name}/${taskId(task)}`,
    ...(region ? { region } : {}),
  };
}

/** The last `count` lines of a stream, oldest first; [] when the stream does not exist yet. */
export async function lastLogLines(
  logs: CloudWatchLogsClient,
  stream: AwslogsStream,
  count = 20,
): Promise<string[]> {
  let reply: GetLogEventsCommandOutput;
  try {
    reply = await logs.send(
      new GetLogEventsCommand({
        logGroupName: stream.logGroupName,
        logStreamName: stream.logStreamName,
        startFromHead: false,
        limit: count,
      }),
    );
  } catch (err) {
    if ((err as { name?: string }).name === 'ResourceNotFoundException') return [];
    throw err;
  }
  return (reply.events ?? []).map((e) => (e.message ?? '').replace(/\n$/, '')).slice(-count);
}
