/**
 * One-off tasks (RunTask) and their awslogs streams read back with
 * GetLogEvents (forward/backward tokens, the same token at the end of the
 * stream), FilterLogEvents and DescribeLogStreams.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  ConflictException,
  DescribeTasksCommand,
  InvalidParameterException,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  type Task,
} from '@aws-sdk/client-ecs';
import {
  DescribeLogStreamsCommand,
  FilterLogEventsCommand,
  GetLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { loadScenario } from '../../sim/index.js';
import { CLUSTER, STAGING, startWithClients, stopClients, waitFor, type Clients } from './helpers.js';

/**
 * The staging world, with a default capacity provider strategy (FARGATE) on its
 * cluster: this file is about RunTask placing on the cluster default, which
 * infra/'s cluster may or may not set.
 */
const world = loadScenario(STAGING);
world.clusters[0]!.defaultCapacityProviderStrategy = [{ capacityProvider: 'FARGATE', weight: 1, base: 0 }];
const serviceNetwork = world.services![0]!.networkConfiguration!.awsvpcConfiguration;
const NO_CAPACITY_SUBNET = world.clusters[0]!.capacityUnavailableSubnets![0]!;

let c: Clients;
beforeAll(async () => {
  c = await startWithClients(world);
});
afterAll(() => stopClients(c));
beforeEach(() => c.sim.reset());

const network = {
  awsvpcConfiguration: {
    subnets: [serviceNetwork.subnets[0]!],
    securityGroups: serviceNetwork.securityGroups!,
    assignPublicIp: 'DISABLED' as const,
  },
};
const GROUP = '/ecs/alva-staging/migrations';
const MIGRATION_LINES = [
  '> alva@1.0.0 db:migrate',
  'Applying migration 20250101_add_users...',
  'Applying migration 20250115_add_orders...',
  'Applying migration 20250201_add_invoices...',
  'Migrations complete: 3 applied',
];

async function migrationRevision(tag: string): Promise<string> {
  const out = await c.ecs.send(
    new RegisterTaskDefinitionCommand({
      family: 'alva-migrations',
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      cpu: '256',
      memory: '512',
      executionRoleArn: world.taskDefinitions.find((td) => td.family === 'alva-migrations')!
        .executionRoleArn as string,
      containerDefinitions: [
        {
          name: 'migrations',
          image: `123456789012.dkr.ecr.us-east-1.amazonaws.com/alva-api:${tag}`,
          essential: true,
          command: ['pnpm', 'db:migrate'],
          logConfiguration: {
            logDriver: 'awslogs',
            options: {
              'awslogs-group': GROUP,
              'awslogs-region': 'us-east-1',
              'awslogs-stream-prefix': 'migrations',
            },
          },
        },
      ],
    }),
  );
  return out.taskDefinition!.taskDefinitionArn!;
}

async function untilStopped(taskArn: string): Promise<Task> {
  return waitFor(async () => {
    const { tasks } = await c.ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [taskArn] }));
    return tasks![0].lastStatus === 'STOPPED' ? tasks![0] : undefined;
  }, 'the task to stop');
}

describe('RunTask', () => {
  it('runs the migration on the cluster default capacity provider and streams its lines exactly once, in order', async () => {
    const { tasks, failures } = await c.ecs.send(
      new RunTaskCommand({
        cluster: CLUSTER,
        taskDefinition: 'alva-migrations',
        networkConfiguration: network,
        startedBy: 'ci-migrate',
      }),
    );
    expect(failures).toEqual([]);
    const task = tasks![0];
    expect(task).toMatchObject({
      lastStatus: 'PROVISIONING',
      desiredStatus: 'RUNNING',
      capacityProviderName: 'FARGATE',
      startedBy: 'ci-migrate',
      group: 'family:alva-migrations',
    });
    const taskId = task.taskArn!.split('/').pop()!;
    const stream = `migrations/migrations/${taskId}`;

    // Follow the stream the way a log tailer does: forward token until the task stops and nothing new arrives.
    const lines: string[] = [];
    let token: string | undefined;
    let stopped: Task | undefined;
    await waitFor(async () => {
      const { tasks: [now] = [] } = await c.ecs.send(
        new DescribeTasksCommand({ cluster: CLUSTER, tasks: [task.taskArn!] }),
      );
      const page = await c.logs
        .send(
          new GetLogEventsCommand({
            logGroupName: GROUP,
            logStreamName: stream,
            startFromHead: true,
            nextToken: token,
          }),
        )
        .catch((e: Error) => (e.name === 'ResourceNotFoundException' ? undefined : Promise.reject(e)));
      if (page) {
        lines.push(...page.events!.map((e) => e.message!));
        if (page.events!.length === 0) expect(page.nextForwardToken).toBe(token ?? page.nextForwardToken);
        token = page.nextForwardToken;
      }
      if (now.lastStatus === 'STOPPED' && page?.events?.length === 0) stopped = now;
      return stopped;
    }, 'the migration to finish');
    expect(lines).toEqual(MIGRATION_LINES);
    expect(stopped).toMatchObject({
      stopCode: 'EssentialContainerExited',
      stoppedReason: 'Essential container in task exited',
    });
    expect(stopped!.containers![0]).toMatchObject({ name: 'migrations', exitCode: 0, lastStatus: 'STOPPED' });

    // At the end of the stream the same forward token comes back.
    const end = await c.logs.send(
      new GetLogEventsCommand({
        logGroupName: GROUP,
        logStreamName: stream,
        startFromHead: true,
        nextToken: token,
      }),
    );
    expect(end.events).toEqual([]);
    expect(end.nextForwardToken).toBe(token);

    // Paging: two at a time forward, then backward from the end.
    const first = await c.logs.send(
      new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: stream, startFromHead: true, limit: 2 }),
    );
    expect(first.events!.map((e) => e.message)).toEqual(MIGRATION_LINES.slice(0, 2));
    const second = await c.logs.send(
      new GetLogEventsCommand({
        logGroupName: GROUP,
        logStreamName: stream,
        limit: 2,
        nextToken: first.nextForwardToken,
      }),
    );
    expect(second.events!.map((e) => e.message)).toEqual(MIGRATION_LINES.slice(2, 4));
    const latest = await c.logs.send(
      new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: stream, limit: 2 }),
    );
    expect(latest.events!.map((e) => e.message)).toEqual(MIGRATION_LINES.slice(3));
    const before = await c.logs.send(
      new GetLogEventsCommand({
        logGroupName: GROUP,
        logStreamName: stream,
        limit: 2,
        nextToken: latest.nextBackwardToken,
      }),
    );
    expect(before.events!.map((e) => e.message)).toEqual(MIGRATION_LINES.slice(1, 3));
    const timestamps = first.events!.map((e) => e.timestamp!);
    expect(timestamps[1]).toBeGreaterThan(timestamps[0]);

    const filtered = await c.logs.send(
      new FilterLogEventsCommand({
        logGroupName: GROUP,
        filterPattern: 'Applying',
        logStreamNamePrefix: 'migrations/',
      }),
    );
    expect(filtered.events!.map((e) => e.message)).toEqual(MIGRATION_LINES.slice(1, 4));
    expect(filtered.events![0].logStreamName).toBe(stream);
    const { logStreams } = await c.logs.send(new DescribeLogStreamsCommand({ logGroupName: GROUP }));
    expect(logStreams!.map((s) => s.logStreamName)).toEqual([stream]);
  });

  it('a RunTask whose reply is lost is retried by the SDK with the same clientToken: one task, the first reply', async () => {
    c.sim.addFaults({ service: 'ecs', operation: 'RunTask', kind: 'lost' });
    const { tasks, failures } = await c.ecs.send(
      new RunTaskCommand({
        cluster: CLUSTER,
        taskDefinition: 'alva-migrations',
        networkConfiguration: network,
      }),
    );
    expect(failures).toEqual([]);
    const runs = c.sim.calls().filter((call) => call.operation === 'RunTask');
    expect(runs.map((call) => [call.status, call.fault ?? null])).toEqual([
      [0, 'lost'],
      [200, null],
    ]);
    // The SDK filled in one token and sent it both times.
    const token = runs[0]!.params.clientToken;
    expect(token).toEqual(expect.any(String));
    expect(runs[1]!.params.clientToken).toBe(token);
    // The lost call started the task; the retry returned it and started nothing.
    const { taskArns } = await c.ecs.send(
      new ListTasksCommand({ cluster: CLUSTER, family: 'alva-migrations' }),
    );
    expect(taskArns).toEqual([tasks![0]!.taskArn]);
  });

  it('the same clientToken with other parameters is a ConflictException naming the task it started', async () => {
    const clientToken = 'migrate-1234';
    const first = await c.ecs.send(
      new RunTaskCommand({
        cluster: CLUSTER,
        taskDefinition: 'alva-migrations',
        networkConfiguration: network,
        clientToken,
      }),
    );
    const again = await c.ecs.send(
      new RunTaskCommand({
        cluster: CLUSTER,
        taskDefinition: 'alva-migrations',
        networkConfiguration: network,
        clientToken,
      }),
    );
    expect(again.tasks!.map((t) => t.taskArn)).toEqual(first.tasks!.map((t) => t.taskArn));
    const err = await c.ecs
      .send(
        new RunTaskCommand({
          cluster: CLUSTER,
          taskDefinition: 'alva-migrations',
          networkConfiguration: network,
          clientToken,
          startedBy: 'someone-else',
        }),
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictException);
    expect((err as ConflictException).resourceIds).toEqual([first.tasks![0]!.taskArn]);
    const { taskArns } = await c.ecs.send(
      new ListTasksCommand({ cluster: CLUSTER, family: 'alva-migrations' }),
    );
    expect(taskArns).toHaveLength(1);
  });

  it('a failing migration exits 1 with its last lines in the stream', async () => {
    const arn = await migrationRevision('migrate-fail-9');
    const { tasks } = await c.ecs.send(
      new RunTaskCommand({ cluster: CLUSTER, taskDefinition: arn, networkConfiguration: network }),
    );
    const stopped = await untilStopped(tasks![0].taskArn!);
    expect(stopped.containers![0].exitCode).toBe(1);
    expect(stopped.stopCode).toBe('EssentialContainerExited');
    const { events } = await c.logs.send(
      new GetLogEventsCommand({
        logGroupName: GROUP,
        logStreamName: `migrations/migrations/${stopped.taskArn!.split('/').pop()}`,
      }),
    );
    expect(events!.at(-1)!.message).toBe('Migration failed: 20250115_add_orders');
  });

  it('StopTask stops a running one-off task with the reason given', async () => {
    const arn = await migrationRevision('migrate-slow-1');
    const { tasks } = await c.ecs.send(
      new RunTaskCommand({ cluster: CLUSTER, taskDefinition: arn, networkConfiguration: network }),
    );
    await waitFor(async () => {
      const { tasks: [t] = [] } = await c.ecs.send(
        new DescribeTasksCommand({ cluster: CLUSTER, tasks: [tasks![0].taskArn!] }),
      );
      return t.lastStatus === 'RUNNING' ? t : undefined;
    }, 'RUNNING');
    await c.ecs.send(
      new StopTaskCommand({ cluster: CLUSTER, task: tasks![0].taskArn!, reason: 'Timed out after 300 s' }),
    );
    const stopped = await untilStopped(tasks![0].taskArn!);
    expect(stopped).toMatchObject({ stopCode: 'UserInitiated', stoppedReason: 'Timed out after 300 s' });
    expect(stopped.containers![0].exitCode).toBe(143);
  });

  it('placement failures: EC2 without container instances, and Fargate without capacity in the subnet', async () => {
    const ec2 = await c.ecs.send(
      new RunTaskCommand({
        cluster: CLUSTER,
        taskDefinition: 'alva-migrations',
        launchType: 'EC2',
        networkConfiguration: network,
      }),
    );
    expect(ec2.tasks).toEqual([]);
    expect(ec2.failures).toEqual([{ reason: 'No Container Instances were found in your cluster.' }]);
    const noCapacity = await c.ecs.send(
      new RunTaskCommand({
        cluster: CLUSTER,
        taskDefinition: 'alva-migrations',
        launchType: 'FARGATE',
        networkConfiguration: { awsvpcConfiguration: { subnets: [NO_CAPACITY_SUBNET] } },
      }),
    );
    expect(noCapacity.tasks).toEqual([]);
    expect(noCapacity.failures![0].reason).toMatch(/^Capacity is unavailable at this time/);
  });

  it('a capacity provider the cluster does not have, and a missing network configuration, are InvalidParameterException', async () => {
    const strategy = await c.ecs
      .send(
        new RunTaskCommand({
          cluster: CLUSTER,
          taskDefinition: 'alva-migrations',
          capacityProviderStrategy: [{ capacityProvider: 'my-asg-provider', weight: 1 }],
          networkConfiguration: network,
        }),
      )
      .catch((e: unknown) => e);
    expect(strategy).toBeInstanceOf(InvalidParameterException);
    const noNetwork = await c.ecs
      .send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition: 'alva-migrations' }))
      .catch((e: unknown) => e);
    expect(noNetwork).toBeInstanceOf(InvalidParameterException);
    expect((noNetwork as Error).message).toBe(
      "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
    );
  });

  it('an image that cannot be pulled stops with TaskFailedToStart', async () => {
    const arn = await migrationRevision('nopull-2');
    const { tasks } = await c.ecs.send(
      new RunTaskCommand({ cluster: CLUSTER, taskDefinition: arn, networkConfiguration: network }),
    );
    const stopped = await untilStopped(tasks![0].taskArn!);
    expect(stopped.stopCode).toBe('TaskFailedToStart');
    expect(stopped.stoppedReason).toMatch(/^CannotPullContainerError/);
  });
});
