import { beforeEach, describe, expect, it } from '@jest/globals';
import {
  DescribeClustersCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  type Task,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { InputError, OperationError } from '../../../lib/errors.js';
import { memoryLog } from '../../../lib/log.js';
import { runMigration, type MigrationOptions } from '../../../lib/migrate/run.js';
import { manualClock } from '../../../lib/time.js';

const ecsMock = mockClient(ECSClient);
const logsMock = mockClient(CloudWatchLogsClient);
const clients = {
  ecs: new ECSClient({ region: 'us-east-1', maxAttempts: 1 }),
  logs: async (region: string) => new CloudWatchLogsClient({ region, maxAttempts: 1 }),
};
const TD_ARN = 'arn:aws:ecs:us-east-1:123456789012:task-definition/alva-migrations:4';
const NEW_TD_ARN = 'arn:aws:ecs:us-east-1:123456789012:task-definition/alva-migrations:5';
const TASK_ARN = 'arn:aws:ecs:us-east-1:123456789012:task/alva-staging-cluster/0123456789abcdef';

const awslogs = (prefix: string) => ({
  logDriver: 'awslogs' as const,
  options: {
    'awslogs-group': '/ecs/alva-migrations',
    'awslogs-stream-prefix': prefix,
    'awslogs-region': 'us-east-1',
  },
});

const taskDefinition: TaskDefinition = {
  taskDefinitionArn: TD_ARN,
  family: 'alva-migrations',
  revision: 4,
  status: 'ACTIVE',
  networkMode: 'awsvpc',
  requiresCompatibilities: ['FARGATE'],
  cpu: '256',
  memory: '512',
  containerDefinitions: [
    { name: 'migrations', image: 'api:old', essential: true, logConfiguration: awslogs('migrations') },
    { name: 'xray', image: 'xray:3', essential: false },
  ],
};

const base: MigrationOptions = {
  cluster: 'alva-staging-cluster',
  taskDefinition: 'alva-migrations',
  images: { api: 'api@sha256:new', web: 'web@sha256:new' },
  containerImages: { migrations: 'api' },
  command: ['pnpm', 'db:migrate'],
  network: { fromService: 'alva-api' },
  timeoutSeconds: 60,
  startedBy: 'migrate-1-1',
  region: 'us-east-1',
  timing: { pollMinMs: 5, pollMaxMs: 10, drain: { intervalMs: 1, quietPolls: 2 } },
  // Polls, the timeout and the log drain wait on a fake clock: no real waiting.
  clock: manualClock(),
};

function task(lastStatus: string, containers: Task['containers'], extra: Partial<Task> = {}): Task {
  return { taskArn: TASK_ARN, lastStatus, containers, ...extra };
}
const stoppedOk = task(
  'STOPPED',
  [
    { name: 'migrations', exitCode: 0, lastStatus: 'STOPPED' },
    { name: 'xray', exitCode: 0, lastStatus: 'STOPPED' },
  ],
  { stopCode: 'EssentialContainerExited', stoppedReason: 'Essential container in task exited' },
);

/** DescribeTasks answers these in turn, repeating the last. */
function describeTasksSequence(...tasks: Task[]) {
  let i = 0;
  ecsMock
    .on(DescribeTasksCommand)
    .callsFake(async () => ({ tasks: [tasks[Math.min(i++, tasks.length - 1)]!], failures: [] }));
}

/** A log stream that grows by one line per read. */
function growingLogs(lines: string[]) {
  let available = 0;
  logsMock.on(GetLogEventsCommand).callsFake(async (input: { nextToken?: string }) => {
    available = Math.min(lines.length, available + 1);
    const from = input.nextToken ? Number(input.nextToken.split('/')[1]) : 0;
    const events = lines.slice(from, available).map((message, k) => ({ timestamp: from + k, message }));
    return { events, nextForwardToken: `f/${from + events.length}` };
  });
}

function mutatingCalls(): string[] {
  return ecsMock
    .calls()
    .map((c) => (c.args[0] as { constructor: { name: string } }).constructor.name)
    .filter((n) => /Register|RunTask|StopTask/.test(n));
}

beforeEach(() => {
  ecsMock.reset();
  logsMock.reset();
  ecsMock
    .on(DescribeClustersCommand)
    .resolves({ clusters: [{ clusterName: 'alva-staging-cluster', status: 'ACTIVE' }] });
  ecsMock
    .on(DescribeTaskDefinitionCommand)
    .resolves({ taskDefinition, tags: [{ key: 'team', value: 'db' }] });
  ecsMock.on(RegisterTaskDefinitionCommand).resolves({ taskDefinition: { taskDefinitionArn: NEW_TD_ARN } });
  ecsMock.on(DescribeServicesCommand).resolves({
    services: [
      {
        serviceName: 'alva-api',
        status: 'ACTIVE',
        networkConfiguration: {
          awsvpcConfiguration: {
            subnets: ['subnet-1', 'subnet-2'],
            securityGroups: ['sg-1'],
            assignPublicIp: 'DISABLED',
          },
        },
      },
    ],
  });
  ecsMock
    .on(RunTaskCommand)
    .resolves({ tasks: [task('PROVISIONING', [{ name: 'migrations' }, { name: 'xray' }])], failures: [] });
  ecsMock.on(StopTaskCommand).resolves({});
  growingLogs([]);
});

describe('runMigration', () => {
  it('registers the new image, runs the task with the service network, streams logs and succeeds', async () => {
    growingLogs(['Running 3 migrations', '001_users ok', '002_orders ok', 'done']);
    describeTasksSequence(
      task('PENDING', [{ name: 'migrations' }, { name: 'xray' }]),
      task('RUNNING', [
        { name: 'migrations', lastStatus: 'RUNNING' },
        { name: 'xray', lastStatus: 'RUNNING' },
      ]),
      stoppedOk,
    );
    const log = memoryLog();
    const result = await runMigration(clients, base, log);

    expect(result.ok).toBe(true);
    expect(result.exitCode).toBe(0);
    expect(result.registered).toBe(true);
    expect(result.taskDefinitionArn).toBe(NEW_TD_ARN);
    expect(result.taskArns).toEqual([TASK_ARN]);
    expect(result.consoleUrl).toBe(
      'https://us-east-1.console.aws.amazon.com/ecs/v2/clusters/alva-staging-cluster/tasks/0123456789abcdef/configuration?region=us-east-1',
    );

    const register = ecsMock.commandCalls(RegisterTaskDefinitionCommand)[0]!.args[0].input;
    expect(register.containerDefinitions!.map((c) => c.image)).toEqual(['api@sha256:new', 'xray:3']);
    expect(register.tags).toEqual([{ key: 'team', value: 'db' }]);
    const runTask = ecsMock.commandCalls(RunTaskCommand)[0]!.args[0].input;
    expect(runTask).toMatchObject({
      cluster: 'alva-staging-cluster',
      taskDefinition: NEW_TD_ARN,
      count: 1,
      startedBy: 'migrate-1-1',
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: ['subnet-1', 'subnet-2'],
          securityGroups: ['sg-1'],
          assignPublicIp: 'DISABLED',
        },
      },
      overrides: { containerOverrides: [{ name: 'migrations', command: ['pnpm', 'db:migrate'] }] },
    });
    // Neither launch type nor strategy: the cluster's default capacity provider strategy applies.
    expect(runTask.launchType).toBeUndefined();
    expect(runTask.capacityProviderStrategy).toBeUndefined();

    const written = ['Running 3 migrations', '001_users ok', '002_orders ok', 'done'];
    expect(log.lines.filter((l) => written.includes(l))).toEqual(written);
    expect(logsMock.commandCalls(GetLogEventsCommand)[0]!.args[0].input).toMatchObject({
      logGroupName: '/ecs/alva-migrations',
      logStreamName: 'migrations/migrations/0123456789abcdef',
      startFromHead: true,
    });
    expect(ecsMock.commandCalls(StopTaskCommand)).toHaveLength(0);
  });

  it('runs the existing revision when the image is unchanged', async () => {
    describeTasksSequence(stoppedOk);
    const result = await runMigration(clients, { ...base, images: { api: 'api:old' } }, memoryLog());
    expect(result.ok).toBe(true);
    expect(result.registered).toBe(false);
    expect(ecsMock.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
    expect(ecsMock.commandCalls(RunTaskCommand)[0]!.args[0].input.taskDefinition).toBe(TD_ARN);
  });

  it('gives a single image to the only essential container when container is not named', async () => {
    describeTasksSequence(stoppedOk);
    const { images: _images, containerImages: _map, ...single } = base;
    await runMigration(clients, { ...single, image: 'api:2' }, memoryLog());
    const register = ecsMock.commandCalls(RegisterTaskDefinitionCommand)[0]!.args[0].input;
    expect(register.containerDefinitions!.map((c) => c.image)).toEqual(['api:2', 'xray:3']);
  });

  it('judges a task that stopped before the first poll', async () => {
    describeTasksSequence(
      task(
        'STOPPED',
        [
          { name: 'migrations', exitCode: 1, reason: 'migration 003 failed' },
          { name: 'xray', exitCode: 0 },
        ],
        {
          stopCode: 'EssentialContainerExited',
          stoppedReason: 'Essential container in task exited',
        },
      ),
    );
    growingLogs(['applying 003', 'ERROR: relation "users" already exists']);
    const result = await runMigration(clients, base, memoryLog());
    expect(result.ok).toBe(false);
    expect(result.exitCode).toBe(1);
    expect(result.message).toContain('container migrations exited with code 1: migration 003 failed');
    expect(result.lastLogLines).toEqual(['applying 003', 'ERROR: relation "users" already exists']);
    expect(ecsMock.commandCalls(DescribeTasksCommand)).toHaveLength(1);
  });

  it('only warns when the non-essential sidecar fails', async () => {
    describeTasksSequence(
      task(
        'STOPPED',
        [
          { name: 'migrations', exitCode: 0 },
          { name: 'xray', exitCode: 2, reason: 'no daemon' },
        ],
        {
          stopCode: 'EssentialContainerExited',
        },
      ),
    );
    const result = await runMigration(clients, base, memoryLog());
    expect(result.ok).toBe(true);
    expect(result.judgement.warnings).toEqual(['non-essential container xray exited with code 2: no daemon']);
  });

  it('fails with the reason of a RunTask failures[] entry', async () => {
    ecsMock.on(RunTaskCommand).resolves({
      tasks: [],
      failures: [
        {
          arn: 'arn:aws:ecs:us-east-1:123456789012:cluster/alva-staging-cluster',
          reason: 'RESOURCE:MEMORY',
          detail: 'no capacity',
        },
      ],
    });
    const err = await runMigration(clients, base, memoryLog()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OperationError);
    expect((err as Error).message).toContain(
      'RESOURCE:MEMORY: no capacity (arn:aws:ecs:us-east-1:123456789012:cluster/alva-staging-cluster)',
    );
    expect(ecsMock.commandCalls(DescribeTasksCommand)).toHaveLength(0);
  });

  it('names the AWS error when RunTask itself is refused', async () => {
    ecsMock
      .on(RunTaskCommand)
      .rejects(Object.assign(new Error('subnets can not be empty.'), { name: 'InvalidParameterException' }));
    const err = await runMigration(clients, base, memoryLog()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OperationError);
    expect((err as Error).message).toBe(
      'RunTask failed: InvalidParameterException: subnets can not be empty.',
    );
  });

  it('reads a log group of another region through a client for that region', async () => {
    const eu = new CloudWatchLogsClient({ region: 'eu-west-1', maxAttempts: 1 });
    const regions: string[] = [];
    const euTd: TaskDefinition = structuredClone(taskDefinition);
    euTd.containerDefinitions![0]!.logConfiguration!.options!['awslogs-region'] = 'eu-west-1';
    ecsMock.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: euTd });
    describeTasksSequence(stoppedOk);
    growingLogs(['from eu-west-1']);
    const log = memoryLog();
    await runMigration(
      {
        ...clients,
        logs: async (region) => {
          regions.push(region);
          return region === 'eu-west-1' ? eu : clients.logs(region);
        },
      },
      base,
      log,
    );
    expect(regions).toContain('eu-west-1');
    expect(log.lines).toContain('from eu-west-1');
  });

  it('stops the task with a reason on timeout and fails', async () => {
    let stopped = false;
    ecsMock.on(StopTaskCommand).callsFake(async () => ((stopped = true), {}));
    ecsMock.on(DescribeTasksCommand).callsFake(async () => ({
      tasks: [
        stopped
          ? task(
              'STOPPED',
              [
                { name: 'migrations', exitCode: 143 },
                { name: 'xray', exitCode: 0 },
              ],
              {
                stopCode: 'UserInitiated',
                stoppedReason: 'Stopped by migrate: timed out after 1s',
              },
            )
          : task('RUNNING', [{ name: 'migrations', lastStatus: 'RUNNING' }]),
      ],
    }));
    const result = await runMigration(clients, { ...base, timeoutSeconds: 1 }, memoryLog());
    expect(result.ok).toBe(false);
    expect(result.stoppedBy).toBe('timeout');
    expect(result.message).toBe('Migration failed: timed out after 1s; the task was stopped');
    expect(result.exitCode).toBe(143);
    expect(ecsMock.commandCalls(StopTaskCommand)[0]!.args[0].input).toEqual({
      cluster: 'alva-staging-cluster',
      task: TASK_ARN,
      reason: 'Stopped by migrate: timed out after 1s',
    });
  });

  it('stops the task with a reason on cancellation and fails', async () => {
    const controller = new AbortController();
    let polls = 0;
    let stopped = false;
    ecsMock.on(StopTaskCommand).callsFake(async () => ((stopped = true), {}));
    ecsMock.on(DescribeTasksCommand).callsFake(async () => {
      if (++polls === 2) controller.abort('received SIGINT');
      return {
        tasks: [
          stopped ? { ...stoppedOk, stopCode: 'UserInitiated' } : task('RUNNING', [{ name: 'migrations' }]),
        ],
      };
    });
    const result = await runMigration(clients, base, memoryLog(), controller.signal);
    expect(result.ok).toBe(false);
    expect(result.stoppedBy).toBe('cancellation');
    expect(ecsMock.commandCalls(StopTaskCommand)[0]!.args[0].input.reason).toBe(
      'Stopped by migrate: workflow cancelled (SIGINT)',
    );
  });

  it('says it is still waiting while nothing changes, by the injected clock', async () => {
    let stopped = false;
    ecsMock.on(StopTaskCommand).callsFake(async () => ((stopped = true), {}));
    ecsMock.on(DescribeTasksCommand).callsFake(async () => ({
      tasks: [stopped ? stoppedOk : task('RUNNING', [{ name: 'migrations', lastStatus: 'RUNNING' }])],
    }));
    const log = memoryLog();
    const timing = { ...base.timing, pollMaxMs: 1000, heartbeatMs: 30_000 };
    await runMigration(clients, { ...base, timing, timeoutSeconds: 95 }, log);
    expect(log.lines.filter((l) => l.startsWith('... still'))).toEqual([
      '... still RUNNING [migrations RUNNING] (no change for 30s)',
      '... still RUNNING [migrations RUNNING] (no change for 30s)',
      '... still RUNNING [migrations RUNNING] (no change for 30s)',
    ]);
  });

  it('stops the task and fails when DescribeTasks never finds it', async () => {
    ecsMock
      .on(DescribeTasksCommand)
      .resolves({ tasks: [], failures: [{ arn: TASK_ARN, reason: 'MISSING' }] });
    const err = await runMigration(clients, base, memoryLog()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OperationError);
    expect((err as Error).message).toBe(`DescribeTasks cannot find the task: ${TASK_ARN}: MISSING`);
    expect(ecsMock.commandCalls(DescribeTasksCommand)).toHaveLength(10);
    expect(ecsMock.commandCalls(StopTaskCommand)[0]!.args[0].input.reason).toBe(
      'Stopped by migrate: cannot follow the task',
    );
  });

  it('rejects bad input before any call that changes anything', async () => {
    const cases: [Partial<MigrationOptions>, string, string][] = [
      [{ container: 'nope' }, 'container', 'no container "nope"'],
      [{ images: { worker: 'w:1' }, containerImages: {} }, 'images', 'none of its names (worker)'],
      [{ containerImages: { seed: 'api' } }, 'container-images', 'no container "seed"'],
      [{ network: undefined }, 'network-from-service', 'awsvpc'],
    ];
    for (const [override, input, problem] of cases) {
      const err = await runMigration(clients, { ...base, ...override }, memoryLog()).catch((e: unknown) => e);
      expect([input, err]).toEqual([input, expect.any(InputError)]);
      expect((err as InputError).input).toBe(input);
      expect((err as Error).message).toContain(problem);
    }
    ecsMock.on(DescribeServicesCommand).resolves({ services: [], failures: [{ reason: 'MISSING' }] });
    const missing = await runMigration(clients, base, memoryLog()).catch((e: unknown) => e);
    expect((missing as InputError).input).toBe('network-from-service');
    expect((missing as Error).message).toContain('MISSING');

    ecsMock
      .on(DescribeTaskDefinitionCommand)
      .rejects(Object.assign(new Error('Unable to describe task definition.'), { name: 'ClientException' }));
    const explicit = { ...base, network: { subnets: ['subnet-9'], securityGroups: [] } };
    const unknown = await runMigration(clients, explicit, memoryLog()).catch((e: unknown) => e);
    expect((unknown as InputError).input).toBe('task-definition');
    expect(mutatingCalls()).toEqual([]);

    // Explicit subnets read nothing of the cluster: a missing one is refused before a revision is registered.
    ecsMock.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition });
    ecsMock.on(DescribeClustersCommand).resolves({ clusters: [], failures: [{ reason: 'MISSING' }] });
    const noCluster = await runMigration(clients, explicit, memoryLog()).catch((e: unknown) => e);
    expect((noCluster as InputError).input).toBe('cluster');
    expect((noCluster as Error).message).toContain('MISSING');
    expect(mutatingCalls()).toEqual([]);
  });
});
