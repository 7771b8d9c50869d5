/**
 * The traffic-shift follower and rollback (lib/ecs/strategies/traffic-shift.ts) on a
 * scripted ECS: the service deployment's status and stage as a list of reads, the
 * calls it receives recorded. A manual clock: no real waiting.
 */
import { describe, expect, it } from '@jest/globals';
import type { ECSClient, ServiceDeployment } from '@aws-sdk/client-ecs';
import type { DeployRun, StartedService } from '../../../lib/ecs/deploy/run.js';
import {
  followTrafficShifts,
  judgeShift,
  readStrategies,
  rollBackTrafficShifts,
  trafficShiftOf,
} from '../../../lib/ecs/strategies/traffic-shift.js';
import { memoryLog } from '../../../lib/log.js';
import { manualClock } from '../../../lib/time.js';

const CREATED = new Date(Date.UTC(2026, 0, 1, 0, 0, 0, 123));
const ARN = 'arn:aws:ecs:us-east-1:123456789012:service-deployment/c/api/abc';
const TD = 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:2';

const REVISION = 'arn:aws:ecs:us-east-1:123456789012:service-revision/c/api/9001';
const at = (status: string, stage: string, production?: number, test?: number): ServiceDeployment => ({
  serviceDeploymentArn: ARN,
  status: status as ServiceDeployment['status'],
  lifecycleStage: stage as ServiceDeployment['lifecycleStage'],
  ...(production === undefined
    ? {}
    : {
        targetServiceRevision: {
          arn: REVISION,
          requestedProductionTrafficWeight: production,
          requestedTestTrafficWeight: test ?? 0,
        },
      }),
});

/** An ECS answering each DescribeServiceDeployments with the next read (the last one repeats). */
function scriptedEcs(
  reads: ServiceDeployment[],
  opts: { strategy?: string; stop?: (status: string) => Error | undefined } = {},
) {
  const calls: { name: string; input: Record<string, unknown> }[] = [];
  let i = 0;
  const ecs = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      const name = command.constructor.name.replace(/Command$/, '');
      calls.push({ name, input: command.input });
      switch (name) {
        case 'DescribeServices':
          return {
            services: [
              { serviceName: 'api', deploymentConfiguration: { strategy: opts.strategy ?? 'BLUE_GREEN' } },
            ],
          };
        case 'ListServiceDeployments':
          return { serviceDeployments: [{ serviceDeploymentArn: ARN, createdAt: CREATED }] };
        case 'DescribeServiceRevisions':
          return { serviceRevisions: [{ taskDefinition: TD }] };
        case 'DescribeServiceDeployments':
          return { serviceDeployments: [reads[Math.min(i++, reads.length - 1)]] };
        case 'StopServiceDeployment': {
          const error = opts.stop?.(reads[Math.min(i, reads.length - 1)]!.status!);
          if (error) throw error;
          return { serviceDeploymentArn: ARN };
        }
        default:
          throw new Error(`unexpected ${name}`);
      }
    },
  } as unknown as ECSClient;
  return { ecs, calls };
}

function setUp(ecs: ECSClient, timeoutMs = 60_000, waitFor: 'healthy' | 'test-traffic' = 'healthy') {
  const log = memoryLog();
  const clock = manualClock();
  const run: DeployRun = {
    clients: {
      ecs,
      elbv2: () => Promise.reject(new Error('no')),
      logs: () => Promise.reject(new Error('no')),
    },
    cluster: 'c',
    log,
    clock,
    cancelledAt: () => undefined,
    cancelGraceMs: 5_000,
    follow: {
      cluster: 'c',
      waitFor,
      timeoutMs,
      log,
      clock,
      minIntervalMs: 1000,
      maxIntervalMs: 2000,
    },
  };
  const started: StartedService = {
    report: {
      service: 'api',
      cluster: 'c',
      previousTaskDefinition: 'arn:aws:ecs:us-east-1:123456789012:task-definition/api:1',
      taskDefinition: TD,
      registered: true,
      images: [],
      status: 'in-progress',
      finalTaskDefinition: TD,
    },
    target: { service: 'api', taskDefinition: TD, deploymentCreatedAt: CREATED },
    touched: true,
    startedAtMs: clock.now(),
  };
  return { run, started, log };
}

describe('judgeShift', () => {
  it('fails a rolled-back deployment with its reason and the failed hook, and passes only SUCCESSFUL', () => {
    const rolledBack: ServiceDeployment = {
      ...at('ROLLBACK_SUCCESSFUL', 'POST_TEST_TRAFFIC_SHIFT'),
      statusReason: 'Lifecycle hook returned FAILED',
      lifecycleHookDetails: [
        { hookId: 'h1', targetArn: 'arn:aws:lambda:us-east-1:1:function:gate', status: 'FAILED' },
      ],
    };
    expect(judgeShift('BLUE_GREEN', rolledBack)).toEqual({
      ok: false,
      reason:
        'BLUE_GREEN deployment ROLLBACK_SUCCESSFUL at POST_TEST_TRAFFIC_SHIFT; Lifecycle hook returned FAILED; hook arn:aws:lambda:us-east-1:1:function:gate FAILED',
    });
    expect(judgeShift('CANARY', at('FAILED', 'SCALE_UP'))?.ok).toBe(false);
    // Held by a hook, or baking: in progress, not a verdict.
    expect(judgeShift('BLUE_GREEN', at('IN_PROGRESS', 'POST_TEST_TRAFFIC_SHIFT'))).toBeUndefined();
    expect(judgeShift('BLUE_GREEN', at('IN_PROGRESS', 'BAKE_TIME'))).toBeUndefined();
    expect(judgeShift('LINEAR', at('SUCCESSFUL', 'CLEAN_UP'))).toEqual({ ok: true });
  });
});

describe('judgeShift with wait-for test-traffic', () => {
  it('fails a rollback and waits before green has all test traffic; not ok before POST_TEST_TRAFFIC_SHIFT', () => {
    expect(
      judgeShift('BLUE_GREEN', at('ROLLBACK_SUCCESSFUL', 'POST_TEST_TRAFFIC_SHIFT'), 'test-traffic')?.ok,
    ).toBe(false);
    expect(judgeShift('BLUE_GREEN', at('IN_PROGRESS', 'SCALE_UP', 0, 0), 'test-traffic')).toBeUndefined();
    expect(
      judgeShift('BLUE_GREEN', at('IN_PROGRESS', 'TEST_TRAFFIC_SHIFT', 0, 100), 'test-traffic'),
    ).toBeUndefined();
    expect(
      judgeShift('BLUE_GREEN', at('IN_PROGRESS', 'POST_TEST_TRAFFIC_SHIFT', 0, 50), 'test-traffic'),
    ).toBeUndefined();
  });
  it('ok when held at the gate with green on the test listener, or further', () => {
    for (const stage of ['POST_TEST_TRAFFIC_SHIFT', 'PRODUCTION_TRAFFIC_SHIFT', 'BAKE_TIME', 'CLEAN_UP'])
      expect(judgeShift('LINEAR', at('IN_PROGRESS', stage, 0, 100), 'test-traffic')).toEqual({ ok: true });
    expect(judgeShift('CANARY', at('SUCCESSFUL', 'CLEAN_UP', 100, 100), 'test-traffic')).toEqual({
      ok: true,
    });
  });
});

describe('followTrafficShifts', () => {
  it('wait-for test-traffic: succeeds once held at POST_TEST_TRAFFIC_SHIFT, recording the target service revision', async () => {
    const { ecs, calls } = scriptedEcs([
      at('PENDING', 'RECONCILE_SERVICE'),
      at('IN_PROGRESS', 'SCALE_UP', 0, 0),
      at('IN_PROGRESS', 'TEST_TRAFFIC_SHIFT', 0, 100),
      at('IN_PROGRESS', 'POST_TEST_TRAFFIC_SHIFT', 0, 100),
      at('IN_PROGRESS', 'PRODUCTION_TRAFFIC_SHIFT', 100, 100),
    ]);
    const { run, started, log } = setUp(ecs, 60_000, 'test-traffic');
    await readStrategies(run, [started]);
    const [result] = await followTrafficShifts(run, [started], true);
    expect(result).toMatchObject({ service: 'api', ok: true });
    expect(started.report).toMatchObject({
      lifecycleStage: 'POST_TEST_TRAFFIC_SHIFT',
      productionTrafficWeight: 0,
      serviceRevisionArn: REVISION,
    });
    // Four reads: it stopped at the gate, never saw production move.
    expect(calls.filter((c) => c.name === 'DescribeServiceDeployments')).toHaveLength(4);
    expect(log.lines.join('\n')).toMatch(
      /✓ api \(BLUE_GREEN\): green api:2 on the test listener, production still on blue until the release gate opens/,
    );
  });

  it('wait-for test-traffic: a hook FAILED before the gate fails the service as always', async () => {
    const { ecs } = scriptedEcs([
      at('IN_PROGRESS', 'TEST_TRAFFIC_SHIFT', 0, 100),
      at('ROLLBACK_IN_PROGRESS', 'POST_TEST_TRAFFIC_SHIFT', 0, 0),
    ]);
    const { run, started } = setUp(ecs, 60_000, 'test-traffic');
    await readStrategies(run, [started]);
    const [result] = await followTrafficShifts(run, [started], true);
    expect(result).toMatchObject({ ok: false, failure: { kind: 'deployment-failed' } });
  });

  it('logs each stage and weight change once and succeeds only at SUCCESSFUL, after bake and clean-up', async () => {
    const { ecs } = scriptedEcs([
      at('PENDING', 'RECONCILE_SERVICE'),
      at('IN_PROGRESS', 'SCALE_UP', 0, 0),
      at('IN_PROGRESS', 'TEST_TRAFFIC_SHIFT', 0, 100),
      at('IN_PROGRESS', 'TEST_TRAFFIC_SHIFT', 0, 100),
      at('IN_PROGRESS', 'PRODUCTION_TRAFFIC_SHIFT', 100, 100),
      at('IN_PROGRESS', 'BAKE_TIME', 100, 100),
      at('IN_PROGRESS', 'CLEAN_UP', 100, 100),
      at('SUCCESSFUL', 'CLEAN_UP', 100, 100),
    ]);
    const { run, started, log } = setUp(ecs);
    await readStrategies(run, [started]);
    expect(trafficShiftOf(started)?.strategy).toBe('BLUE_GREEN');
    const [result] = await followTrafficShifts(run, [started], true);
    expect(result).toMatchObject({ service: 'api', ok: true });
    // The deployments output carries the strategy and the last stage and production weight seen.
    expect(started.report).toMatchObject({
      strategy: 'BLUE_GREEN',
      lifecycleStage: 'CLEAN_UP',
      productionTrafficWeight: 100,
    });
    expect(log.lines.filter((l) => l.startsWith('api (BLUE_GREEN)'))).toEqual([
      'api (BLUE_GREEN): PENDING at RECONCILE_SERVICE',
      'api (BLUE_GREEN): IN_PROGRESS at SCALE_UP, production 0% / test 0% on green',
      'api (BLUE_GREEN): IN_PROGRESS at TEST_TRAFFIC_SHIFT, production 0% / test 100% on green',
      'api (BLUE_GREEN): IN_PROGRESS at PRODUCTION_TRAFFIC_SHIFT, production 100% / test 100% on green',
      'api (BLUE_GREEN): IN_PROGRESS at BAKE_TIME, production 100% / test 100% on green',
      'api (BLUE_GREEN): IN_PROGRESS at CLEAN_UP, production 100% / test 100% on green',
      'api (BLUE_GREEN): SUCCESSFUL at CLEAN_UP, production 100% / test 100% on green',
    ]);
  });

  it('a deployment held by a hook stays in progress until the timeout, then fails as timed out', async () => {
    const { ecs } = scriptedEcs([at('IN_PROGRESS', 'POST_TEST_TRAFFIC_SHIFT', 0, 100)]);
    const { run, started } = setUp(ecs, 30_000);
    await readStrategies(run, [started]);
    const [result] = await followTrafficShifts(run, [started], true);
    expect(result).toMatchObject({ ok: false, failure: { kind: 'timeout' } });
    expect(result!.failure!.reason).toMatch(/IN_PROGRESS at POST_TEST_TRAFFIC_SHIFT/);
  });

  it('a rolling service is not recorded as a traffic shift', async () => {
    const { ecs } = scriptedEcs([], { strategy: 'ROLLING' });
    const { run, started } = setUp(ecs);
    await readStrategies(run, [started]);
    expect(trafficShiftOf(started)).toBeUndefined();
    expect(started.report.strategy).toBe('ROLLING');
    expect(started.report.lifecycleStage).toBeUndefined();
  });
});

describe('rollBackTrafficShifts', () => {
  it('asks StopServiceDeployment ROLLBACK and waits for ROLLBACK_SUCCESSFUL, timing the shift back', async () => {
    const { ecs, calls } = scriptedEcs([
      at('IN_PROGRESS', 'BAKE_TIME', 100, 100),
      at('ROLLBACK_REQUESTED', 'BAKE_TIME', 100, 100),
      at('ROLLBACK_IN_PROGRESS', 'BAKE_TIME', 0, 0),
      at('ROLLBACK_SUCCESSFUL', 'BAKE_TIME', 0, 0),
    ]);
    const { run, started, log } = setUp(ecs);
    await readStrategies(run, [started]);
    trafficShiftOf(started)!.serviceDeploymentArn = ARN;
    trafficShiftOf(started)!.status = 'IN_PROGRESS';
    const outcome = await rollBackTrafficShifts(run, [started], run.clock.now() + 60_000, false);
    expect(outcome).toEqual({ ok: true, redeploy: [] });
    expect(calls.filter((c) => c.name === 'StopServiceDeployment').map((c) => c.input)).toEqual([
      { serviceDeploymentArn: ARN, stopType: 'ROLLBACK' },
    ]);
    expect(calls.some((c) => c.name === 'UpdateService')).toBe(false);
    expect(started.report.rollback?.status).toBe('succeeded');
    // Production was back on blue (weight 0) at the third read, before ROLLBACK_SUCCESSFUL: both measured.
    const rollback = started.report.rollback!;
    expect(rollback.trafficShiftBackMs).toBeDefined();
    expect(rollback.trafficShiftBackMs!).toBeLessThan(rollback.durationMs!);
    expect(started.report).toMatchObject({ productionTrafficWeight: 0 });
    expect(log.lines.join('\n')).toMatch(
      /api \(BLUE_GREEN\): ROLLBACK_SUCCESSFUL; production traffic back on api:1 within/,
    );
  });

  it('a deployment already SUCCESSFUL (blue gone) is handed back for a new deployment of the previous revision', async () => {
    const conflict = Object.assign(
      new Error('The service deployment is SUCCESSFUL and can no longer be stopped.'),
      {
        name: 'ConflictException',
      },
    );
    const { ecs } = scriptedEcs([at('SUCCESSFUL', 'CLEAN_UP', 100, 100)], { stop: () => conflict });
    const { run, started } = setUp(ecs);
    await readStrategies(run, [started]);
    trafficShiftOf(started)!.serviceDeploymentArn = ARN;
    const outcome = await rollBackTrafficShifts(run, [started], run.clock.now() + 60_000, false);
    expect(outcome.redeploy).toEqual([started]);
  });
});
