/**
 * Fault matrix, verify: dist/verify/index.js against the simulator and its
 * ALB data plane under throttling, 5xx bursts and dropped connections on every
 * call it reads with, a target group that never becomes healthy, and
 * cancellation. Verify only reads: the simulator's call log must show no
 * mutating call in any scenario.
 */
import { describe, test } from '@jest/globals';
import {
  DescribeServiceDeploymentsCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListServiceDeploymentsCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
  type RegisterTaskDefinitionRequest,
} from '@aws-sdk/client-ecs';
import { startSim, type Sim } from '../../sim/index.js';
import { CLUSTER as BG_CLUSTER, blueGreenWorld } from '../e2e/verify-blue-green.js';
import { freePort } from '../sim/helpers.js';
import type { FaultSpec, Scenario } from '../../sim/scenario.js';
import { runAction, type ActionRun, type RunOptions } from '../e2e/run-action.js';
import {
  CLUSTER,
  REGISTRY,
  SERVICES,
  Verdict,
  exitDescribe,
  errorText,
  mutatingCalls,
  otherOperator,
  secretsIn,
  simEnv,
  startStaging,
  until,
} from './harness.js';

const ACTION = 'verify';
const CHECKS = [
  'GET / 200',
  'GET /api/health 200 "service":"alva-api"',
  'GET /auth/health 200',
  'GET /admin/health 200',
].join('\n');

/**
 * No circuit breaker, and a long health-check grace period: ECS keeps a task
 * that fails its ELB health checks instead of replacing it, so its target
 * stays unhealthy with its reason code for verify to see.
 */
function keepFailingTargets(s: Scenario): void {
  for (const svc of s.services ?? []) {
    svc.deploymentConfiguration = {
      ...svc.deploymentConfiguration,
      deploymentCircuitBreaker: { enable: false, rollback: false },
    };
    svc.healthCheckGracePeriodSeconds = 3600;
  }
}

/** Puts one service on a new revision with the image tag, as a deploy would, circuit breaker off. */
async function rollOut(sim: Sim, service: string, tag: string): Promise<string> {
  const ecs = otherOperator(sim);
  try {
    const container = service.replace(/^alva-/, '');
    const { taskDefinition: td } = await ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: service }),
    );
    const request = {
      family: td!.family,
      containerDefinitions: td!.containerDefinitions!.map((c) =>
        c.name === container ? { ...c, image: `${REGISTRY}/${service}:${tag}` } : c,
      ),
      networkMode: td!.networkMode,
      requiresCompatibilities: td!.requiresCompatibilities,
      cpu: td!.cpu,
      memory: td!.memory,
      executionRoleArn: td!.executionRoleArn,
      taskRoleArn: td!.taskRoleArn,
    } as RegisterTaskDefinitionRequest;
    const registered = await ecs.send(new RegisterTaskDefinitionCommand(request));
    const arn = registered.taskDefinition!.taskDefinitionArn!;
    await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service, taskDefinition: arn }));
    return arn;
  } finally {
    ecs.destroy();
  }
}

async function verify(options: {
  faults?: FaultSpec[];
  change?: (s: Scenario) => void;
  prepare?: (sim: Sim) => Promise<void>;
  inputs?: Record<string, string>;
  run?: Partial<RunOptions>;
}): Promise<{ sim: Sim; run: ActionRun; since: number }> {
  const sim = await startStaging((s) => {
    options.change?.(s);
  });
  try {
    await options.prepare?.(sim);
    // Faults are added now, so that they hit the action, not the preparation.
    if (options.faults?.length) sim.addFaults(options.faults);
    const since = sim.calls().at(-1)?.seq ?? 0;
    const run = await runAction(ACTION, {
      inputs: {
        cluster: CLUSTER,
        services: SERVICES.join('\n'),
        checks: CHECKS,
        'consecutive-successes': '2',
        'timeout-seconds': '30',
        ...options.inputs,
      },
      env: simEnv(sim),
      timeoutMs: 90_000,
      ...options.run,
    });
    return { sim, run, since };
  } catch (err) {
    await sim.close();
    throw err;
  }
}

/** Ground truth: each target's state (and reason) in a target group. */
function targetStates(sim: Sim, targetGroup: string): string[] {
  const state = sim.state() as {
    targetGroups: { name: string; targets: { state: string; reason?: string }[] }[];
  };
  const group = state.targetGroups.find((g) => g.name === targetGroup);
  return (group?.targets ?? []).map((t) => `${t.state}${t.reason ? ` (${t.reason})` : ''}`);
}

function readOnly(v: Verdict, sim: Sim, since: number, run: ActionRun): void {
  const mutating = mutatingCalls(sim, since);
  v.check(
    mutating.length === 0,
    mutating.length ? `mutating calls: ${mutating.join(', ')}` : 'no mutating call',
  );
  v.check(secretsIn(run.log).length === 0, 'no secret in the log');
}

const survivable: { name: string; faults: FaultSpec[] }[] = [
  {
    name: 'throttling burst on DescribeTargetHealth',
    faults: [{ service: 'elbv2', operation: 'DescribeTargetHealth', kind: 'throttle', count: 6 }],
  },
  {
    name: 'HTTP 500 burst on DescribeTargetHealth',
    faults: [{ service: 'elbv2', operation: 'DescribeTargetHealth', kind: 'http500', after: 2, count: 3 }],
  },
  {
    name: 'connection dropped mid-poll (DescribeTargetHealth reset)',
    faults: [{ service: 'elbv2', operation: 'DescribeTargetHealth', kind: 'reset', after: 3, count: 2 }],
  },
  {
    name: 'throttling on DescribeServices, HTTP 500 on DescribeTasks',
    faults: [
      { service: 'ecs', operation: 'DescribeServices', kind: 'throttle', count: 3 },
      { service: 'ecs', operation: 'DescribeTasks', kind: 'http500', count: 2 },
    ],
  },
  {
    name: 'throttling on ListTasks, a dropped connection on DescribeTasks',
    faults: [
      { service: 'ecs', operation: 'ListTasks', kind: 'throttle', count: 4 },
      { service: 'ecs', operation: 'DescribeTasks', kind: 'reset', after: 1, count: 1 },
    ],
  },
  {
    name: 'throttling and HTTP 500 on the ALB lookups (DescribeTargetGroups, DescribeLoadBalancers, DescribeListeners)',
    faults: [
      { service: 'elbv2', operation: 'DescribeTargetGroups', kind: 'throttle', count: 2 },
      { service: 'elbv2', operation: 'DescribeLoadBalancers', kind: 'http500', count: 2 },
      { service: 'elbv2', operation: 'DescribeListeners', kind: 'throttle', count: 2 },
    ],
  },
];

describe('fault matrix: verify', () => {
  test.concurrent.each(survivable)('$name: verifies, read-only', async ({ name, faults }) => {
    const { sim, run, since } = await verify({ faults });
    try {
      const v = new Verdict(
        ACTION,
        name,
        'exit 0: four target groups healthy, checks pass; no mutating call',
      );
      v.check(run.exitCode === 0, `${exitDescribe(run)}${run.exitCode ? `: ${errorText(run)}` : ''}`);
      const hit = sim.calls(since).filter((c) => c.fault).length;
      v.check(hit > 0, `${hit} faulted calls`);
      const report = run.outputs.report
        ? (JSON.parse(run.outputs.report) as { services?: unknown[] })
        : undefined;
      v.check(
        Array.isArray(report?.services) && report.services.length === 4,
        `report lists ${report?.services?.length ?? 'no'} services`,
      );
      readOnly(v, sim, since, run);
      v.finish(run);
    } finally {
      await sim.close();
    }
  });

  test.concurrent(
    'a target group that never becomes healthy: fails within its timeout naming it and the reason code',
    async () => {
      const { sim, run, since } = await verify({
        prepare: async (s) => {
          await rollOut(s, 'alva-api', 'unhealthy-v2');
          // The new task is registered and failing its checks before verify starts.
          await until(() => JSON.stringify(s.state()).includes('Target.ResponseCodeMismatch'), 30_000);
        },
        change: keepFailingTargets,
        inputs: { 'timeout-seconds': '5' },
      });
      try {
        const v = new Verdict(
          ACTION,
          'alva-staging-api never healthy (new revision answers 503)',
          'exit 1 within timeout-seconds naming alva-staging-api and Target.ResponseCodeMismatch; no mutating call',
        );
        v.check(run.exitCode === 1, exitDescribe(run));
        const text = errorText(run, 2000);
        v.check(
          text.includes('alva-staging-api') && run.log.includes('Target.ResponseCodeMismatch'),
          `message: ${errorText(run, 100)}`,
        );
        v.check(
          run.signal === null,
          `ended by itself after ${(run.durationMs / 1000).toFixed(1)} s (timeout-seconds 5)`,
        );
        const truth = targetStates(sim, 'alva-staging-api');
        v.check(
          truth.includes('unhealthy (Target.ResponseCodeMismatch)'),
          `simulator: alva-staging-api targets ${truth.join(', ')}`,
        );
        readOnly(v, sim, since, run);
        v.finish(run);
      } finally {
        await sim.close();
      }
    },
  );

  test.concurrent('health checks that time out: fails naming Target.Timeout', async () => {
    const { sim, run, since } = await verify({
      prepare: async (s) => {
        await rollOut(s, 'alva-auth', 'timeout-v2');
        await until(() => JSON.stringify(s.state()).includes('Target.Timeout'), 30_000);
      },
      change: keepFailingTargets,
      inputs: { 'timeout-seconds': '8' },
    });
    try {
      const v = new Verdict(
        ACTION,
        'alva-staging-auth health checks time out',
        'exit 1 naming alva-staging-auth and Target.Timeout; no mutating call',
      );
      v.check(run.exitCode === 1, exitDescribe(run));
      v.check(
        errorText(run, 2000).includes('alva-staging-auth') && run.log.includes('Target.Timeout'),
        `message: ${errorText(run, 100)}`,
      );
      readOnly(v, sim, since, run);
      v.finish(run);
    } finally {
      await sim.close();
    }
  });

  test.concurrent('SIGINT while waiting for targets: exits non-zero at once, read-only', async () => {
    const { sim, run, since } = await verify({
      prepare: async (s) => {
        await rollOut(s, 'alva-web', 'unhealthy-v3');
      },
      change: keepFailingTargets,
      inputs: { 'timeout-seconds': '600' },
      run: { signal: { name: 'SIGINT', when: /alva-web → alva-staging-web/ } },
    });
    try {
      const v = new Verdict(
        ACTION,
        'cancelled (SIGINT) while waiting for targets',
        'exits non-zero by itself, long before its 600 s timeout; no mutating call',
      );
      v.check(run.exitCode !== 0 && run.exitCode !== null, exitDescribe(run));
      // Its own timeout is 600 s and runAction kills it after 90 s: ending by itself means it obeyed SIGINT.
      v.check(run.signal === null, `ended by itself after ${(run.durationMs / 1000).toFixed(1)} s`);
      readOnly(v, sim, since, run);
      v.finish(run);
    } finally {
      await sim.close();
    }
  });
});

describe('fault matrix: verify traffic: test', () => {
  test.concurrent(
    'throttling, HTTP 500 and a dropped connection on every read of the green revision and the test listener: verifies green, read-only, production untouched',
    async () => {
      const testPort = await freePort();
      const sim = await startSim({ scenario: blueGreenWorld(testPort), speed: SPEED_BG, port: 0 });
      const ecs = new ECSClient({
        region: 'us-east-1',
        endpoint: sim.url,
        credentials: { accessKeyId: 'AKIDSIMULATOR', secretAccessKey: 'simulator' },
      });
      try {
        await ecs.send(
          new UpdateServiceCommand({ cluster: BG_CLUSTER, service: 'web', taskDefinition: 'web:2' }),
        );
        const { serviceDeployments = [] } = await ecs.send(
          new ListServiceDeploymentsCommand({ cluster: BG_CLUSTER, service: 'web' }),
        );
        const arn = serviceDeployments[0]!.serviceDeploymentArn!;
        sim.addFaults([
          { service: 'ecs', operation: 'ListServiceDeployments', kind: 'throttle', count: 2 },
          { service: 'ecs', operation: 'DescribeServiceRevisions', kind: 'reset', count: 1 },
          { service: 'ecs', operation: 'DescribeServiceDeployments', kind: 'http500', after: 1, count: 3 },
          { service: 'elbv2', operation: 'DescribeRules', kind: 'throttle', after: 2, count: 3 },
          { service: 'elbv2', operation: 'DescribeListeners', kind: 'http500', count: 2 },
        ]);
        const since = sim.calls().at(-1)?.seq ?? 0;
        const albSince = sim.world.elb.requests().at(-1)?.seq ?? 0;
        const run = await runAction(ACTION, {
          inputs: {
            cluster: BG_CLUSTER,
            services: 'web',
            traffic: 'test',
            checks: 'GET / 200',
            'consecutive-successes': '2',
            'timeout-seconds': '60',
          },
          env: simEnv(sim),
          timeoutMs: 90_000,
        });
        const v = new Verdict(
          ACTION,
          'traffic: test under faults on ListServiceDeployments, DescribeServiceRevisions, DescribeServiceDeployments, DescribeRules, DescribeListeners',
          'exit 0: green healthy and checked through the test listener; no request on the production listener; no mutating call; the deployment still held',
        );
        v.check(run.exitCode === 0, `${exitDescribe(run)}${run.exitCode ? `: ${errorText(run)}` : ''}`);
        const hit = sim.calls(since).filter((c) => c.fault).length;
        v.check(hit > 0, `${hit} faulted calls`);
        const requests = sim.world.elb.requests(albSince).filter((r) => r.path === '/');
        const production = requests.filter((r) => r.listenerPort === 80);
        v.check(
          requests.length > 0 &&
            production.length === 0 &&
            requests.every((r) => r.targetGroup === 'web-green'),
          `${requests.length} check requests, ${production.length} on the production listener, target groups ${[...new Set(requests.map((r) => r.targetGroup))].join(', ')}`,
        );
        const { serviceDeployments: now = [] } = await ecs.send(
          new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] }),
        );
        v.check(
          now[0]?.status === 'IN_PROGRESS' && now[0]?.lifecycleStage === 'POST_TEST_TRAFFIC_SHIFT',
          `deployment ${now[0]?.status} at ${now[0]?.lifecycleStage}`,
        );
        readOnly(v, sim, since, run);
        v.finish(run);
      } finally {
        ecs.destroy();
        await sim.close();
      }
    },
  );
});

/** The blue/green world's speed: as the e2e test runs it. */
const SPEED_BG = 20;
