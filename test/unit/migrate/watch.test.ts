/**
 * The migration watch under read failures and cancellation, on a manual
 * clock: reads that fail for minutes, a timeout reached during an outage,
 * Logs that cannot be read, StopTask throttled after a cancellation, and a
 * watch that breaks. Judged by the calls made (StopTask or not, when) and
 * the result.
 */
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
} from '@aws-sdk/client-ecs';
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { memoryLog } from '../../../lib/log.js';
import { MigrationError, runMigration, type MigrationOptions } from '../../../lib/migrate/run.js';
import { manualClock } from '../../../lib/time.js';

const ecsMock = mockClient(ECSClient);
const logsMock = mockClient(CloudWatchLogsClient);
const clients = {
  ecs: new ECSClient({ region: 'us-east-1', maxAttempts: 1 }),
  logs: async (region: string) => new CloudWatchLogsClient({ region, maxAttempts: 1 }),
};
const TD_ARN = 'arn:aws:ecs:us-east-1:123456789012:task-definition/alva-migrations:4';
const TASK_ARN = 'arn:aws:ecs:us-east-1:123456789012:task/alva-staging-cluster/0123456789abcdef';

const running: Task = {
  taskArn: TASK_ARN,
  lastStatus: 'RUNNING',
  containers: [{ name: 'migrations', lastStatus: 'RUNNING' }],
};
const stoppedWith = (exitCode: number, stopCode = 'EssentialContainerExited'): Task => ({
  taskArn: TASK_ARN,
  lastStatus: 'STOPPED',
  stopCode: stopCode as Task['stopCode'],
  stoppedReason: 'Essential container in task exited',
  containers: [{ name: 'migrations', lastStatus: 'STOPPED', exitCode }],
});

function awsError(name: string, status: number, message = 'Rate exceeded'): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
}
const throttled = () => awsError('ThrottlingException', 400);
const unavailable = () => awsError('ServiceUnavailableException', 503, 'Service unavailable');

/** A manual clock that records every sleep, so the pauses between reads can be judged. */
function recordingClock() {
  const clock = manualClock();
  const sleeps: { at: number; ms: number }[] = [];
  return {
    clock: {
      now: clock.now,
      sleep: async (ms: number, signal?: AbortSignal) => {
        sleeps.push({ at: clock.now(), ms });
        await clock.sleep(ms, signal);
      },
    },
    sleeps,
    start: clock.now(),
  };
}

function options(clock: MigrationOptions['clock'], extra: Partial<MigrationOptions> = {}): MigrationOptions {
  return {
    cluster: 'alva-staging-cluster',
    taskDefinition: 'alva-migrations',
    network: { subnets: ['subnet-1'], securityGroups: [] },
    timeoutSeconds: 600,
    startedBy: 'migrate-1-1',
    region: 'us-east-1',
    timing: {
      pollMinMs: 1000,
      pollMaxMs: 6000,
      heartbeatMs: 30_000,
      outageBackoffMaxMs: 30_000,
      drain: { intervalMs: 1, quietPolls: 2 },
    },
    clock,
    ...extra,
  };
}

function stopCalls() {
  return ecsMock.commandCalls(StopTaskCommand).map((c) => c.args[0].input);
}

beforeEach(() => {
  ecsMock.reset();
  logsMock.reset();
  ecsMock
    .on(DescribeClustersCommand)
    .resolves({ clusters: [{ clusterName: 'alva-staging-cluster', status: 'ACTIVE' }] });
  ecsMock.on(DescribeTaskDefinitionCommand).resolves({
    taskDefinition: {
      taskDefinitionArn: TD_ARN,
      family: 'alva-migrations',
      networkMode: 'awsvpc',
      containerDefinitions: [
        {
          name: 'migrations',
          image: 'api:1',
          essential: true,
          logConfiguration: {
            logDriver: 'awslogs',
            options: { 'awslogs-group': '/ecs/m', 'awslogs-stream-prefix': 'migrations' },
          },
        },
      ],
    },
  });
  ecsMock.on(DescribeServicesCommand).resolves({ services: [] });
  ecsMock.on(RegisterTaskDefinitionCommand).rejects(new Error('nothing to register'));
  ecsMock.on(RunTaskCommand).resolves({ tasks: [{ taskArn: TASK_ARN, lastStatus: 'PROVISIONING' }] });
  ecsMock.on(StopTaskCommand).resolves({});
  logsMock.on(GetLogEventsCommand).resolves({ events: [], nextForwardToken: 'f/0' });
});

describe('the migration watch', () => {
  it('rides out three minutes of failing DescribeTasks: never stops the task, backs off (capped, with jitter) and judges it when reads come back', async () => {
    const { clock, sleeps, start } = recordingClock();
    const outage = { from: start + 5000, until: start + 185_000 };
    let failedReads = 0;
    ecsMock.on(DescribeTasksCommand).callsFake(async () => {
      const now = clock.now();
      if (now >= outage.from && now < outage.until) {
        failedReads += 1;
        throw failedReads % 2 ? unavailable() : throttled();
      }
      return { tasks: [now < outage.from ? running : stoppedWith(0)] };
    });
    const log = memoryLog();
    const result = await runMigration(clients, options(clock), log);

    expect(stopCalls()).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.exitCode).toBe(0);
    expect(result.standing.readAt).toBeGreaterThanOrEqual(outage.until);

    // Between failed reads: growing pauses, never above the cap, not all the same (jitter).
    const during = sleeps.filter((s) => s.at >= outage.from && s.at < outage.until).map((s) => s.ms);
    expect(failedReads).toBeGreaterThanOrEqual(6);
    expect(Math.max(...during)).toBeLessThanOrEqual(30_000);
    expect(Math.max(...during)).toBeGreaterThanOrEqual(15_000);
    expect(new Set(during).size).toBeGreaterThan(1);
    expect(during[0]).toBeLessThanOrEqual(2000);

    const warnings = log.lines.filter((l) => l.startsWith('warning: Cannot read task'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('stops it only at the timeout');
    // The outage lasts 3 minutes; the first failed read and the first good one
    // fall within a (jittered) pause of its edges, so the span reported is near 3m.
    const recovered = log.lines.find((l) => l.startsWith('Task 0123456789abcdef readable again after '));
    const [, minutes, seconds, failures] =
      /after (\d+)m(\d\d)s \((\d+) failed reads\)/.exec(recovered ?? '') ?? [];
    const reportedMs = (Number(minutes) * 60 + Number(seconds)) * 1000;
    expect(reportedMs).toBeGreaterThanOrEqual(outage.until - outage.from - 30_000);
    expect(reportedMs).toBeLessThanOrEqual(outage.until - outage.from + 30_000);
    expect(Number(failures)).toBe(failedReads);
  });

  it('stops the task at its timeout when the outage outlasts it, saying where it stands could not be read', async () => {
    const { clock, start } = recordingClock();
    let reads = 0;
    ecsMock.on(DescribeTasksCommand).callsFake(async () => {
      if (++reads === 1) return { tasks: [running] };
      throw unavailable();
    });
    let stoppedAt = 0;
    ecsMock.on(StopTaskCommand).callsFake(async () => {
      stoppedAt = clock.now();
      return {};
    });
    const result = await runMigration(clients, options(clock, { timeoutSeconds: 120 }), memoryLog());

    expect(stopCalls()).toEqual([
      { cluster: 'alva-staging-cluster', task: TASK_ARN, reason: 'Stopped by migrate: timed out after 120s' },
    ]);
    expect(stoppedAt).toBeGreaterThanOrEqual(start + 120_000);
    expect(result.ok).toBe(false);
    expect(result.stoppedBy).toBe('timeout');
    expect(result.standing.readAt).toBeUndefined();
    expect(result.standing.error).toContain('ServiceUnavailableException');
    expect(result.details).toContain(
      'task 0123456789abcdef: could not be read from AWS at the end (DescribeTasks: ServiceUnavailableException: Service unavailable (retried until the deadline)); last seen RUNNING',
    );
  });

  it('never stops the task when its logs cannot be read: streaming degrades and says so', async () => {
    const { clock } = recordingClock();
    logsMock.on(GetLogEventsCommand).rejects(awsError('AccessDeniedException', 400, 'not allowed'));
    let reads = 0;
    ecsMock
      .on(DescribeTasksCommand)
      .callsFake(async () => ({ tasks: [++reads < 4 ? running : stoppedWith(0)] }));
    const log = memoryLog();
    const result = await runMigration(clients, options(clock), log);

    expect(stopCalls()).toEqual([]);
    expect(result.ok).toBe(true);
    expect(log.lines.filter((l) => l.includes('log streaming degraded'))).toEqual([
      'warning: cannot read log stream /ecs/m/migrations/migrations/0123456789abcdef: not allowed (log streaming degraded; the task is still followed and judged)',
    ]);
  });

  it('on cancellation retries a throttled StopTask within the grace, then says the stop could not be confirmed', async () => {
    const { clock } = recordingClock();
    const controller = new AbortController();
    let cancelledAt = 0;
    let reads = 0;
    ecsMock.on(DescribeTasksCommand).callsFake(async () => {
      if (++reads === 2) {
        controller.abort('received SIGINT');
        cancelledAt = clock.now();
      }
      if (reads > 2) throw throttled();
      return { tasks: [running] };
    });
    ecsMock.on(StopTaskCommand).rejects(throttled());
    const result = await runMigration(clients, options(clock), memoryLog(), controller.signal);

    expect(stopCalls().length).toBeGreaterThan(2);
    expect(stopCalls()[0]!.reason).toBe('Stopped by migrate: workflow cancelled (SIGINT)');
    expect(result.ok).toBe(false);
    expect(result.stoppedBy).toBe('cancellation');
    expect(result.message).toBe(
      'Migration failed: workflow cancelled (SIGINT); the stop could not be confirmed (StopTask 0123456789abcdef: ThrottlingException: Rate exceeded (retried until the deadline)): the task may still be running',
    );
    // StopTask retries, the final read and the log drain all ended inside the runner's 7.5 s.
    expect(clock.now() - cancelledAt).toBeLessThan(7500);
    expect(result.taskArns).toEqual([TASK_ARN]);
  });

  it('a watch that breaks does not stop the task, and still reports where it stands, read from AWS', async () => {
    const { clock } = recordingClock();
    logsMock.on(GetLogEventsCommand).resolves({
      events: [{ timestamp: 1, message: 'applying 001' }],
      nextForwardToken: 'f/1',
    });
    ecsMock.on(DescribeTasksCommand).resolves({ tasks: [running] });
    const printLogLines = () => {
      throw new TypeError('printer broke');
    };
    const err = await runMigration(clients, options(clock), memoryLog(), undefined, { printLogLines }).catch(
      (e: unknown) => e,
    );

    expect(err).toBeInstanceOf(MigrationError);
    const { result } = err as MigrationError;
    expect((err as Error).message).toBe('printer broke');
    expect(stopCalls()).toEqual([]);
    expect(result.taskArns).toEqual([TASK_ARN]);
    expect(result.standing.readAt).toBeDefined();
    expect(result.details.at(-1)).toMatch(
      /^task 0123456789abcdef: RUNNING, read from AWS at \d\d:\d\d:\d\d UTC$/,
    );
  });
});
