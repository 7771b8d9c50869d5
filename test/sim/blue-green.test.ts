/**
 * ECS-native blue/green, linear and canary deployments with the real SDK:
 * the lifecycle stages in order, the listener rules' weights at each stage
 * (ELBv2 DescribeRules), the ALB data plane's responses split by weight
 * (its own request log), Lambda lifecycle hooks run from their code
 * (SUCCEEDED / FAILED / IN_PROGRESS with callBackDelay), bake time on the
 * simulated clock, and rollback as a traffic shift back to blue.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  ContinueServiceDeploymentCommand,
  CreateServiceCommand,
  DescribeServiceDeploymentsCommand,
  DescribeServiceRevisionsCommand,
  DescribeServicesCommand,
  ListServiceDeploymentsCommand,
  StopServiceDeploymentCommand,
  UpdateServiceCommand,
  type ServiceDeployment,
} from '@aws-sdk/client-ecs';
import { DescribeRulesCommand, DescribeTargetGroupsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AlbRequestRecord } from '../../sim/elb-engine.js';
import type { Scenario, ServiceSpec } from '../../sim/scenario.js';
import type { SimEvent } from '../../sim/world.js';
import {
  blueGreenLoadBalancer,
  ECS_INFRASTRUCTURE_ROLE,
  imageCheckHook,
  smallWorld,
  startWithClients,
  stopClients,
  waitFor,
  type Clients,
} from './helpers.js';

const CLUSTER = 'bg';
const HOOK_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:gate-hook';

/**
 * The hook the tests ship: it logs every event it gets and answers what its gate
 * file says (go: SUCCEEDED, stop: FAILED, anything else: IN_PROGRESS, asked again
 * after callBackDelay seconds). CommonJS inline code, as CloudFormation's Code.ZipFile.
 */
const GATE_HOOK = `
const fs = require('node:fs');
exports.handler = async (event) => {
  fs.appendFileSync(process.env.HOOK_LOG, JSON.stringify(event) + '\\n');
  const gate = fs.existsSync(process.env.GATE_FILE) ? fs.readFileSync(process.env.GATE_FILE, 'utf8').trim() : 'wait';
  if (gate === 'go') return { hookStatus: 'SUCCEEDED' };
  if (gate === 'stop') return { hookStatus: 'FAILED' };
  return { hookStatus: 'IN_PROGRESS', callBackDelay: Number(process.env.CALLBACK_DELAY || 5) };
};
`;

/** IN_PROGRESS twice (counting in hookDetails it gets back), then SUCCEEDED. */
const COUNTING_HOOK = `
export const handler = async (event) => {
  const seen = (event.hookDetails && event.hookDetails.seen) || 0;
  if (seen < 2) return { hookStatus: 'IN_PROGRESS', callBackDelay: 30, hookDetails: { seen: seen + 1 } };
  return { hookStatus: 'SUCCEEDED' };
};
`;

/**
 * A hook that asks the simulator, through the AWS SDK as Lambda's runtime provides
 * it, which images the green revision runs, and fails a crashing one before it scales up.
 */
const SDK_HOOK = imageCheckHook(
  "return { hookStatus: images.some((image) => image.endsWith(':crash')) ? 'FAILED' : 'SUCCEEDED' };",
);

interface World {
  c: Clients;
  dir: string;
  gate(value: 'go' | 'stop' | 'wait'): void;
  hookEvents(): Record<string, unknown>[];
}

let world: World | undefined;

afterEach(async () => {
  await stopClients(world?.c);
  world = undefined;
});

function scenario(
  dir: string,
  deploymentConfiguration: ServiceSpec['deploymentConfiguration'],
  hookCode = GATE_HOOK,
): Scenario {
  return {
    ...smallWorld('blue-green', 7, CLUSTER),
    taskDefinitions: [1, 2, 3].map((n) => ({
      family: 'web',
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      cpu: '256',
      memory: '512',
      containerDefinitions: [
        {
          name: 'web',
          image: n === 3 ? 'web:crash' : `web:v${n}`,
          essential: true,
          portMappings: [{ containerPort: 3000 }],
        },
      ],
    })),
    images: { 'web:crash': { start: 'crash', exitCode: 1 } },
    targetGroups: [
      {
        name: 'web-blue',
        port: 3000,
        healthCheck: { intervalSeconds: 2, healthyThresholdCount: 2 },
        deregistrationDelaySeconds: 2,
      },
      {
        name: 'web-green',
        port: 3000,
        healthCheck: { intervalSeconds: 2, healthyThresholdCount: 2 },
        deregistrationDelaySeconds: 2,
      },
    ],
    loadBalancers: [
      {
        name: 'alb',
        httpPort: 0,
        listeners: [
          { port: 80, defaultTargetGroup: 'web-blue' },
          { port: 8080, defaultTargetGroup: 'web-blue' },
        ],
      },
    ],
    services: [
      {
        cluster: CLUSTER,
        name: 'web',
        taskDefinition: 'web:1',
        desiredCount: 2,
        loadBalancers: [blueGreenLoadBalancer('web', 'alb')],
        networkConfiguration: { awsvpcConfiguration: { subnets: ['subnet-1'] } },
        deploymentConfiguration,
      },
    ],
    lambdaFunctions: [
      {
        name: 'gate-hook',
        arn: HOOK_ARN,
        runtime: 'nodejs22.x',
        handler: 'index.handler',
        code: { zipFile: hookCode },
        environment: { HOOK_LOG: join(dir, 'hook.log'), GATE_FILE: join(dir, 'gate') },
        timeoutSeconds: 20,
      },
    ],
  };
}

async function start(
  deploymentConfiguration: ServiceSpec['deploymentConfiguration'],
  hookCode?: string,
  tweak?: (s: Scenario) => void,
): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'sim-bg-'));
  const world0 = scenario(dir, deploymentConfiguration, hookCode);
  tweak?.(world0);
  const c = await startWithClients(world0, 50);
  world = {
    c,
    dir,
    gate: (value) => writeFileSync(join(dir, 'gate'), value),
    hookEvents: () => {
      try {
        return readFileSync(join(dir, 'hook.log'), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as Record<string, unknown>);
      } catch {
        return [];
      }
    },
  };
  return world;
}

const hook = (stages: string[]) => [
  { hookTargetArn: HOOK_ARN, roleArn: ECS_INFRASTRUCTURE_ROLE, lifecycleStages: stages },
];

async function deploy(c: Clients, revision = 'web:2'): Promise<string> {
  await c.ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: 'web', taskDefinition: revision }));
  const { serviceDeployments = [] } = await c.ecs.send(
    new ListServiceDeploymentsCommand({ cluster: CLUSTER, service: 'web' }),
  );
  return serviceDeployments[0]!.serviceDeploymentArn!;
}

async function describe1(c: Clients, arn: string): Promise<ServiceDeployment> {
  const { serviceDeployments = [] } = await c.ecs.send(
    new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] }),
  );
  return serviceDeployments[0]!;
}

function waitStatus(c: Clients, arn: string, statuses: string[], what = statuses.join('/')) {
  return waitFor(
    async () => {
      const sd = await describe1(c, arn);
      return statuses.includes(sd.status ?? '') ? sd : undefined;
    },
    `service deployment ${what}`,
    60_000,
  );
}

function waitStage(c: Clients, arn: string, stage: string) {
  return waitFor(
    async () => {
      const sd = await describe1(c, arn);
      return sd.lifecycleStage === stage ? sd : undefined;
    },
    `lifecycle stage ${stage}`,
    60_000,
  );
}

/** Target group name → weight, of a listener's default rule as DescribeRules gives it. */
async function weights(c: Clients, port: number): Promise<Record<string, number>> {
  const lb = [...c.sim.world.elb.loadBalancers.values()][0]!;
  const listener = lb.listeners.find((l) => l.port === port)!;
  const { Rules = [] } = await c.elb.send(new DescribeRulesCommand({ ListenerArn: listener.arn }));
  const rule = Rules.find((r) => r.IsDefault)!;
  const groups = rule.Actions![0]!.ForwardConfig!.TargetGroups!;
  const { TargetGroups = [] } = await c.elb.send(
    new DescribeTargetGroupsCommand({ TargetGroupArns: groups.map((g) => g.TargetGroupArn!) }),
  );
  const nameOf = (arn: string) => TargetGroups.find((t) => t.TargetGroupArn === arn)!.TargetGroupName!;
  return Object.fromEntries(groups.map((g) => [nameOf(g.TargetGroupArn!), g.Weight!]));
}

/** Sends `n` requests to a listener through the data plane; the log entries they made. */
async function traffic(c: Clients, port: number, n: number): Promise<AlbRequestRecord[]> {
  const res = await fetch(`${c.sim.url}/_sim/alb-requests`);
  const { listeners, requests } = (await res.json()) as {
    listeners: { port: number; address: string }[];
    requests: AlbRequestRecord[];
  };
  const since = requests.at(-1)?.seq ?? 0;
  const address = listeners.find((l) => l.port === port)!.address;
  for (let i = 0; i < n; i++) {
    const answer = await fetch(`http://${address}/`);
    await answer.text();
  }
  return c.sim.world.elb.requests(since).filter((r) => r.listenerPort === port);
}

const count = (requests: AlbRequestRecord[], targetGroup: string) =>
  requests.filter((r) => r.targetGroup === targetGroup).length;

const stageEvents = (events: SimEvent[]) => events.filter((e) => e.kind === 'deployment.lifecycle-stage');
const stagesOf = (events: SimEvent[]) => stageEvents(events).map((e) => e.detail.stage);

const FULL_RUN = [
  'PRE_SCALE_UP',
  'SCALE_UP',
  'POST_SCALE_UP',
  'TEST_TRAFFIC_SHIFT',
  'POST_TEST_TRAFFIC_SHIFT',
  'PRE_PRODUCTION_TRAFFIC_SHIFT',
  'PRODUCTION_TRAFFIC_SHIFT',
  'POST_PRODUCTION_TRAFFIC_SHIFT',
  'BAKE_TIME',
  'CLEAN_UP',
];

describe('blue/green deployments: refused configurations', () => {
  it('refuses BLUE_GREEN without an advancedConfiguration, and linearConfiguration with BLUE_GREEN', async () => {
    const { c } = await start({ strategy: 'ROLLING' });
    const base = {
      cluster: CLUSTER,
      taskDefinition: 'web:1',
      desiredCount: 1,
      networkConfiguration: { awsvpcConfiguration: { subnets: ['subnet-1'] } },
    };
    const tg = c.sim.world.elb.targetGroupByName('web-blue')!.arn;
    await expect(
      c.ecs.send(
        new CreateServiceCommand({
          ...base,
          serviceName: 'plain',
          loadBalancers: [{ targetGroupArn: tg, containerName: 'web', containerPort: 3000 }],
          deploymentConfiguration: { strategy: 'BLUE_GREEN', bakeTimeInMinutes: 1 },
        }),
      ),
    ).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: expect.stringMatching(/advancedConfiguration/),
    });
    await expect(
      c.ecs.send(
        new UpdateServiceCommand({
          cluster: CLUSTER,
          service: 'web',
          deploymentConfiguration: { strategy: 'BLUE_GREEN', linearConfiguration: { stepPercent: 10 } },
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterException', message: expect.stringMatching(/LINEAR/) });
    await expect(
      c.ecs.send(
        new UpdateServiceCommand({
          cluster: CLUSTER,
          service: 'web',
          loadBalancers: [
            {
              targetGroupArn: tg,
              containerName: 'web',
              containerPort: 3000,
              advancedConfiguration: {
                alternateTargetGroupArn: tg,
                productionListenerRule: 'arn:nope',
                roleArn: ECS_INFRASTRUCTURE_ROLE,
              },
            },
          ],
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
  });
});

describe('blue/green deployments', () => {
  it('a hook answering FAILED at POST_TEST_TRAFFIC_SHIFT rolls back: production never reached green, weights back on blue', async () => {
    const w = await start({
      strategy: 'BLUE_GREEN',
      bakeTimeInMinutes: 1,
      lifecycleHooks: hook(['POST_TEST_TRAFFIC_SHIFT']),
    });
    const { c } = w;
    w.gate('wait');
    const arn = await deploy(c);
    await waitStage(c, arn, 'POST_TEST_TRAFFIC_SHIFT');
    // Held by the hook: production all blue, test all green.
    expect(await weights(c, 80)).toEqual({ 'web-blue': 100, 'web-green': 0 });
    expect(await weights(c, 8080)).toEqual({ 'web-blue': 0, 'web-green': 100 });
    const held = await traffic(c, 80, 30);
    const tested = await traffic(c, 8080, 10);
    expect(count(held, 'web-green')).toBe(0);
    expect(count(tested, 'web-green')).toBe(10);
    expect(new Set(tested.map((r) => r.taskDefinitionArn?.split(':').pop()))).toEqual(new Set(['2']));

    w.gate('stop');
    const sd = await waitStatus(c, arn, ['ROLLBACK_SUCCESSFUL']);
    expect(sd.rollback?.reason).toMatch(/returned FAILED at POST_TEST_TRAFFIC_SHIFT/);
    expect(await weights(c, 80)).toEqual({ 'web-blue': 100, 'web-green': 0 });
    expect(await weights(c, 8080)).toEqual({ 'web-blue': 100, 'web-green': 0 });
    const after = await traffic(c, 80, 20);
    expect(count(after, 'web-blue')).toBe(20);
    // No production request of the whole run reached green.
    const production = c.sim.world.elb.requests().filter((r) => r.listenerPort === 80);
    expect(production.length).toBeGreaterThanOrEqual(50);
    expect(production.filter((r) => r.targetGroup === 'web-green')).toEqual([]);
    const stages = stagesOf(c.sim.events());
    expect(stages).toEqual(FULL_RUN.slice(0, 5));
    const { services = [] } = await c.ecs.send(
      new DescribeServicesCommand({ cluster: CLUSTER, services: ['web'] }),
    );
    expect(services[0]!.taskDefinition).toMatch(/web:1$/);
    expect(services[0]!.deployments!.map((d) => d.taskDefinition)).toEqual([expect.stringMatching(/web:1$/)]);
    // The hook got ECS's payload.
    const event = w.hookEvents().at(-1)!;
    expect(event).toMatchObject({
      lifecycleStage: 'POST_TEST_TRAFFIC_SHIFT',
      resourceArn: arn,
      executionDetails: {
        serviceArn: services[0]!.serviceArn,
        targetServiceRevisionArn: sd.targetServiceRevision!.arn,
        testTrafficWeights: {},
        productionTrafficWeights: {},
      },
    });
  });

  it('green tasks failing trip the circuit breaker: rolled back before any traffic moved', async () => {
    const w = await start({
      strategy: 'BLUE_GREEN',
      bakeTimeInMinutes: 1,
      deploymentCircuitBreaker: { enable: true, rollback: true },
    });
    const { c } = w;
    const arn = await deploy(c, 'web:3');
    const sd = await waitStatus(c, arn, ['ROLLBACK_SUCCESSFUL']);
    expect(sd.rollback?.reason).toBe('Circuit Breaker triggered the rollback.');
    expect(stagesOf(c.sim.events())).toEqual(['PRE_SCALE_UP', 'SCALE_UP']);
    expect(await weights(c, 80)).toEqual({ 'web-blue': 100, 'web-green': 0 });
  });

  it('StopServiceDeployment ROLLBACK during bake time shifts production back to blue within seconds', async () => {
    const w = await start({ strategy: 'BLUE_GREEN', bakeTimeInMinutes: 30 });
    const { c } = w;
    const arn = await deploy(c);
    await waitStage(c, arn, 'BAKE_TIME');
    expect(await weights(c, 80)).toEqual({ 'web-blue': 0, 'web-green': 100 });
    const onGreen = await traffic(c, 80, 10);
    expect(count(onGreen, 'web-green')).toBe(10);
    await c.ecs.send(new StopServiceDeploymentCommand({ serviceDeploymentArn: arn, stopType: 'ROLLBACK' }));
    expect((await describe1(c, arn)).status).toMatch(/^ROLLBACK_(REQUESTED|IN_PROGRESS)$/);
    const restored = await waitFor(
      () => c.sim.events().find((e) => e.kind === 'deployment.traffic-restored'),
      'traffic restored',
    );
    // Measured from the call's own simulated time: one scheduler tick (1 s), not a redeploy.
    const call = c.sim.calls().find((x) => x.operation === 'StopServiceDeployment')!;
    expect(Date.parse(restored.simTime) - Date.parse(call.time)).toBeLessThanOrEqual(2_000);
    expect(await weights(c, 80)).toEqual({ 'web-blue': 100, 'web-green': 0 });
    expect(count(await traffic(c, 80, 10), 'web-blue')).toBe(10);
    const sd = await waitStatus(c, arn, ['ROLLBACK_SUCCESSFUL']);
    expect(sd.rollback?.reason).toBe('A user requested the rollback.');
  });

  it('runs every stage in order, holds on IN_PROGRESS, respects bake time, and ends on green with the groups swapped', async () => {
    const w = await start({
      strategy: 'BLUE_GREEN',
      bakeTimeInMinutes: 2,
      lifecycleHooks: hook(['POST_SCALE_UP', 'POST_TEST_TRAFFIC_SHIFT', 'PRODUCTION_TRAFFIC_SHIFT']),
    });
    const { c } = w;
    w.gate('go');
    const arn = await deploy(c);
    await waitStage(c, arn, 'BAKE_TIME');
    // Hold the next deployment at POST_TEST_TRAFFIC_SHIFT later; first finish this one.
    const done = await waitStatus(c, arn, ['SUCCESSFUL']);
    expect(done.lifecycleStage).toBe('CLEAN_UP');
    const events = c.sim.events();
    expect(stagesOf(events)).toEqual(FULL_RUN);
    const at = (stage: string) =>
      Date.parse(stageEvents(events).find((e) => e.detail.stage === stage)!.simTime);
    expect(at('CLEAN_UP') - at('BAKE_TIME')).toBeGreaterThanOrEqual(2 * 60_000);
    expect(await weights(c, 80)).toEqual({ 'web-blue': 0, 'web-green': 100 });
    expect(count(await traffic(c, 80, 10), 'web-green')).toBe(10);
    // The hook saw the production weights while they moved.
    const shift = w.hookEvents().find((e) => e.lifecycleStage === 'PRODUCTION_TRAFFIC_SHIFT')!;
    const details = shift.executionDetails as { productionTrafficWeights: Record<string, number> };
    expect(Object.values(details.productionTrafficWeights).sort()).toEqual([0, 100]);

    // The next deployment's green is the other group (web-blue); it is held while the gate says wait.
    w.gate('wait');
    const since = c.sim.events().at(-1)!.seq;
    const next = await deploy(c, 'web:1');
    await waitStage(c, next, 'POST_SCALE_UP');
    // Asked again every callBackDelay (5 s) while the gate says wait, and held there.
    await waitFor(
      () => (w.hookEvents().filter((e) => e.resourceArn === next).length >= 3 ? true : undefined),
      'three invocations of the held hook',
    );
    const held = await describe1(c, next);
    expect(held.lifecycleStage).toBe('POST_SCALE_UP');
    expect(held.lifecycleHookDetails).toEqual([
      expect.objectContaining({ targetArn: HOOK_ARN, status: 'IN_PROGRESS', targetType: 'AWS_LAMBDA' }),
    ]);
    const invokedAt = c.sim
      .events(since)
      .filter((e) => e.kind === 'deployment.hook.invoked')
      .map((e) => Date.parse(e.simTime));
    for (let i = 1; i < invokedAt.length; i++)
      expect(invokedAt[i]! - invokedAt[i - 1]!).toBeGreaterThanOrEqual(5_000);
    w.gate('go');
    await waitStatus(c, next, ['SUCCESSFUL']);
    expect(await weights(c, 80)).toEqual({ 'web-blue': 100, 'web-green': 0 });
    // The second green's revision names the group its tasks registered in: web-blue, the first's alternate.
    const { serviceRevisions = [] } = await c.ecs.send(
      new DescribeServiceRevisionsCommand({
        serviceRevisionArns: [(await describe1(c, next)).targetServiceRevision!.arn!],
      }),
    );
    const blueArn = c.sim.world.elb.targetGroupByName('web-blue')!.arn;
    const greenArn = c.sim.world.elb.targetGroupByName('web-green')!.arn;
    expect(serviceRevisions[0]!.loadBalancers![0]).toMatchObject({
      targetGroupArn: blueArn,
      advancedConfiguration: { alternateTargetGroupArn: greenArn },
    });
    const last = await traffic(c, 80, 10);
    expect(count(last, 'web-blue')).toBe(10);
    expect(new Set(last.map((r) => r.taskDefinitionArn?.split(':').pop()))).toEqual(new Set(['1']));
  });

  it('IN_PROGRESS answers are asked again after callBackDelay, with the hookDetails they returned', async () => {
    const w = await start(
      { strategy: 'BLUE_GREEN', bakeTimeInMinutes: 0, lifecycleHooks: hook(['PRE_SCALE_UP']) },
      COUNTING_HOOK,
    );
    const { c } = w;
    const arn = await deploy(c);
    await waitStatus(c, arn, ['SUCCESSFUL']);
    const events = c.sim.events();
    const invoked = events.filter((e) => e.kind === 'deployment.hook.invoked');
    expect(invoked.map((e) => e.detail.invocation)).toEqual([1, 2, 3]);
    const t = invoked.map((e) => Date.parse(e.simTime));
    expect(t[1]! - t[0]!).toBeGreaterThanOrEqual(30_000);
    expect(t[2]! - t[1]!).toBeGreaterThanOrEqual(30_000);
    expect(
      events.filter((e) => e.kind === 'deployment.hook.answered').map((e) => e.detail.hookStatus),
    ).toEqual(['IN_PROGRESS', 'IN_PROGRESS', 'SUCCEEDED']);
  });
});

describe('listener rules that are not a listener default', () => {
  it('shifts a path rule that already forwards to both groups with weights, and leaves the default action alone', async () => {
    const w = await start({ strategy: 'BLUE_GREEN', bakeTimeInMinutes: 0 }, undefined, (s) => {
      s.loadBalancers![0]!.listeners = [
        {
          port: 80,
          defaultFixedResponse: { statusCode: 404, body: 'no route' },
          rules: [
            {
              priority: 10,
              pathPatterns: ['/web/*'],
              targetGroup: 'web-blue',
              weightedTargetGroups: [
                { targetGroup: 'web-blue', weight: 100 },
                { targetGroup: 'web-green', weight: 0 },
              ],
            },
          ],
        },
      ];
      const lb = s.services![0]!.loadBalancers![0]!;
      lb.advancedConfiguration = {
        alternateTargetGroup: 'web-green',
        productionListenerRule: { loadBalancer: 'alb', port: 80, priority: 10 },
        roleArn: ECS_INFRASTRUCTURE_ROLE,
      };
    });
    const { c } = w;
    const listener = [...c.sim.world.elb.loadBalancers.values()][0]!.listeners[0]!;
    const ruleWeights = async () => {
      const { Rules = [] } = await c.elb.send(new DescribeRulesCommand({ ListenerArn: listener.arn }));
      const rule = Rules.find((r) => r.Priority === '10')!;
      expect(Rules.find((r) => r.IsDefault)!.Actions![0]!.Type).toBe('fixed-response');
      return rule.Actions![0]!.ForwardConfig!.TargetGroups!.map((g) => g.Weight);
    };
    expect(await ruleWeights()).toEqual([100, 0]);
    const arn = await deploy(c);
    await waitStatus(c, arn, ['SUCCESSFUL']);
    expect(await ruleWeights()).toEqual([0, 100]);
    const res = await fetch(`http://${[...c.sim.world.elb.loadBalancers.values()][0]!.dnsName}/web/x`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { revision: number };
    expect(body.revision).toBe(2);
    expect(c.sim.world.elb.requests().at(-1)).toMatchObject({ targetGroup: 'web-green', path: '/web/x' });
  });
});

describe('PAUSE hooks and ContinueServiceDeployment', () => {
  it('holds at the stage AWAITING_ACTION until CONTINUE; ROLLBACK shifts traffic back; an unknown or settled hook is refused', async () => {
    const w = await start({
      strategy: 'BLUE_GREEN',
      bakeTimeInMinutes: 0,
      lifecycleHooks: [{ targetType: 'PAUSE', lifecycleStages: ['POST_TEST_TRAFFIC_SHIFT'] }],
    });
    const { c } = w;
    const first = await deploy(c);
    const paused = await waitStage(c, first, 'POST_TEST_TRAFFIC_SHIFT');
    const [detail] = paused.lifecycleHookDetails!;
    expect(detail).toMatchObject({
      targetType: 'PAUSE',
      status: 'AWAITING_ACTION',
      timeoutAction: 'ROLLBACK',
    });
    expect(detail!.hookId).toMatch(/^ecs-pause-/);
    await expect(
      c.ecs.send(
        new ContinueServiceDeploymentCommand({ serviceDeploymentArn: first, hookId: 'ecs-pause-nope' }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
    expect((await describe1(c, first)).lifecycleStage).toBe('POST_TEST_TRAFFIC_SHIFT');
    await c.ecs.send(
      new ContinueServiceDeploymentCommand({ serviceDeploymentArn: first, hookId: detail!.hookId }),
    );
    await waitStatus(c, first, ['SUCCESSFUL']);
    await expect(
      c.ecs.send(
        new ContinueServiceDeploymentCommand({ serviceDeploymentArn: first, hookId: detail!.hookId }),
      ),
    ).rejects.toMatchObject({ name: 'ConflictException' });

    const second = await deploy(c, 'web:1');
    const held = await waitStage(c, second, 'POST_TEST_TRAFFIC_SHIFT');
    expect(await weights(c, 8080)).toEqual({ 'web-blue': 100, 'web-green': 0 });
    await c.ecs.send(
      new ContinueServiceDeploymentCommand({
        serviceDeploymentArn: second,
        hookId: held.lifecycleHookDetails![0]!.hookId,
        action: 'ROLLBACK',
      }),
    );
    const rolledBack = await waitStatus(c, second, ['ROLLBACK_SUCCESSFUL']);
    expect(rolledBack.rollback?.reason).toBe('A user requested the rollback.');
    expect(await weights(c, 80)).toEqual({ 'web-blue': 0, 'web-green': 100 });
    expect(await weights(c, 8080)).toEqual({ 'web-blue': 0, 'web-green': 100 });
    expect(count(await traffic(c, 80, 10), 'web-green')).toBe(10);
  });
});

describe('weights in DescribeRules at each stage', () => {
  it('paused at every stage that takes a PAUSE hook, and through bake time, the rules say where traffic goes', async () => {
    const w = await start({
      strategy: 'BLUE_GREEN',
      bakeTimeInMinutes: 5,
      lifecycleHooks: [
        {
          targetType: 'PAUSE',
          lifecycleStages: [
            'PRE_SCALE_UP',
            'POST_SCALE_UP',
            'POST_TEST_TRAFFIC_SHIFT',
            'PRE_PRODUCTION_TRAFFIC_SHIFT',
            'POST_PRODUCTION_TRAFFIC_SHIFT',
          ],
        },
      ],
    });
    const { c } = w;
    const arn = await deploy(c);
    // [stage, production weights, test weights] as blue/green percentages.
    const expected: [string, number[], number[]][] = [
      ['PRE_SCALE_UP', [100, 0], [100, 0]],
      ['POST_SCALE_UP', [100, 0], [100, 0]],
      ['POST_TEST_TRAFFIC_SHIFT', [100, 0], [0, 100]],
      ['PRE_PRODUCTION_TRAFFIC_SHIFT', [100, 0], [0, 100]],
      ['POST_PRODUCTION_TRAFFIC_SHIFT', [0, 100], [0, 100]],
    ];
    const pair = (x: Record<string, number>) => [x['web-blue'], x['web-green']];
    for (const [stage, production, test] of expected) {
      const sd = await waitFor(
        async () => {
          const now = await describe1(c, arn);
          const hook = now.lifecycleHookDetails?.at(-1);
          return now.lifecycleStage === stage && hook?.status === 'AWAITING_ACTION' ? now : undefined;
        },
        `paused at ${stage}`,
        60_000,
      );
      expect([stage, pair(await weights(c, 80)), pair(await weights(c, 8080))]).toEqual([
        stage,
        production,
        test,
      ]);
      const green = production[1]!;
      expect(count(await traffic(c, 80, 20), 'web-green')).toBe(green === 0 ? 0 : 20);
      expect(count(await traffic(c, 8080, 5), 'web-green')).toBe(test[1] === 0 ? 0 : 5);
      await c.ecs.send(
        new ContinueServiceDeploymentCommand({
          serviceDeploymentArn: arn,
          hookId: sd.lifecycleHookDetails!.at(-1)!.hookId,
        }),
      );
    }
    await waitStage(c, arn, 'BAKE_TIME');
    expect([pair(await weights(c, 80)), pair(await weights(c, 8080))]).toEqual([
      [0, 100],
      [0, 100],
    ]);
    // Blue still runs through bake time (a rollback can go back to it at once).
    const blueTargets = [...c.sim.world.elb.targetGroupByName('web-blue')!.targets.values()];
    expect(blueTargets.filter((t) => t.state === 'healthy')).toHaveLength(2);
    await waitStatus(c, arn, ['SUCCESSFUL']);
    expect(c.sim.world.elb.targetGroupByName('web-blue')!.targets.size).toBe(0);
  });
});

describe('lifecycle hooks run their own code against the simulator', () => {
  it('an ES module hook calls ECS through the SDK: it fails a crashing revision at PRE_SCALE_UP and passes a good one', async () => {
    const w = await start(
      { strategy: 'BLUE_GREEN', bakeTimeInMinutes: 0, lifecycleHooks: hook(['PRE_SCALE_UP']) },
      SDK_HOOK,
    );
    const { c } = w;
    const bad = await deploy(c, 'web:3');
    const rolledBack = await waitStatus(c, bad, ['ROLLBACK_SUCCESSFUL']);
    expect(rolledBack.rollback?.reason).toMatch(/returned FAILED at PRE_SCALE_UP/);
    // Nothing of the bad revision ever started.
    expect(
      [...c.sim.world.ecs.clusters.get(CLUSTER)!.tasks.values()].filter((t) => t.taskDef.revision === 3),
    ).toEqual([]);
    const good = await deploy(c, 'web:2');
    await waitStatus(c, good, ['SUCCESSFUL']);
    const hookCalls = c.sim
      .calls()
      .filter((x) => x.operation === 'DescribeServiceRevisions' || x.operation === 'DescribeTaskDefinition');
    expect(hookCalls.map((x) => x.operation)).toEqual([
      'DescribeServiceRevisions',
      'DescribeTaskDefinition',
      'DescribeServiceRevisions',
      'DescribeTaskDefinition',
    ]);
  });
});

describe('a hook calls AWS as its execution role', () => {
  it('with IAM modelled, a call its role may not make is denied and the hook fails, rolling back', async () => {
    const roleArn = 'arn:aws:iam::123456789012:role/hook-role';
    const w = await start(
      { strategy: 'BLUE_GREEN', bakeTimeInMinutes: 0, lifecycleHooks: hook(['PRE_SCALE_UP']) },
      SDK_HOOK,
      (s) => {
        s.lambdaFunctions![0]!.role = roleArn;
        s.iam = {
          // The tests' own clients carry no session: permissive serves them; the hook's session is authorized.
          mode: 'permissive',
          roles: [
            {
              name: 'hook-role',
              arn: roleArn,
              trust: {
                Version: '2012-10-17',
                Statement: [
                  {
                    Effect: 'Allow',
                    Principal: { Service: 'lambda.amazonaws.com' },
                    Action: 'sts:AssumeRole',
                  },
                ],
              },
              policies: [
                {
                  name: 'read-revisions',
                  document: {
                    Version: '2012-10-17',
                    Statement: [{ Effect: 'Allow', Action: 'ecs:DescribeServiceRevisions', Resource: '*' }],
                  },
                },
              ],
            },
          ],
        };
      },
    );
    const { c } = w;
    const arn = await deploy(c);
    const sd = await waitStatus(c, arn, ['ROLLBACK_SUCCESSFUL']);
    expect(sd.rollback?.reason).toMatch(/PRE_SCALE_UP: AccessDeniedException: .*ecs:DescribeTaskDefinition/);
    const byHook = c.sim.calls().filter((x) => JSON.stringify(x.gate ?? {}).includes('hook-role'));
    expect(byHook.map((x) => [x.operation, x.status])).toEqual([
      ['DescribeServiceRevisions', 200],
      ['DescribeTaskDefinition', 400],
    ]);
  });
});

describe('canary and linear deployments', () => {
  it('canary: canaryPercent of production on green for canaryBakeTime, split by weight in the data plane, then the rest', async () => {
    const w = await start({
      strategy: 'CANARY',
      bakeTimeInMinutes: 0,
      canaryConfiguration: { canaryPercent: 20, canaryBakeTimeInMinutes: 3 },
      lifecycleHooks: hook(['PRODUCTION_TRAFFIC_SHIFT']),
    });
    const { c } = w;
    w.gate('wait');
    const arn = await deploy(c);
    await waitStage(c, arn, 'PRODUCTION_TRAFFIC_SHIFT');
    expect(await weights(c, 80)).toEqual({ 'web-blue': 80, 'web-green': 20 });
    const split = await traffic(c, 80, 400);
    const green = count(split, 'web-green');
    expect(green + count(split, 'web-blue')).toBe(400);
    expect(green).toBeGreaterThan(400 * 0.14);
    expect(green).toBeLessThan(400 * 0.26);
    const sd = await describe1(c, arn);
    expect(sd.targetServiceRevision).toMatchObject({
      requestedProductionTrafficWeight: 20,
      requestedTestTrafficWeight: 100,
    });
    expect(sd.sourceServiceRevisions![0]).toMatchObject({ requestedProductionTrafficWeight: 80 });
    w.gate('go');
    await waitStatus(c, arn, ['SUCCESSFUL']);
    const events = c.sim.events();
    const production = events
      .filter(
        (e) =>
          e.kind === 'elb.rule.modified' &&
          e.detail.isDefault &&
          String(e.detail.ruleArn) ===
            c.sim.world.elb.loadBalancers.values().next().value!.listeners[0]!.defaultRuleArn,
      )
      .map((e) => (e.detail.weights as { weight: number }[])[1]!.weight);
    expect(production).toEqual([0, 20, 100]);
    const steps = stageEvents(events).filter((e) => e.detail.stage === 'PRODUCTION_TRAFFIC_SHIFT');
    expect(steps.map((e) => e.detail.productionWeight)).toEqual([0, 20]);
    expect(Date.parse(steps[1]!.simTime) - Date.parse(steps[0]!.simTime)).toBeGreaterThanOrEqual(3 * 60_000);
  });

  it('linear: stepPercent at a time, stepBakeTime between steps, none after 100', async () => {
    const w = await start({
      strategy: 'LINEAR',
      bakeTimeInMinutes: 0,
      linearConfiguration: { stepPercent: 25, stepBakeTimeInMinutes: 1 },
    });
    const { c } = w;
    const arn = await deploy(c);
    await waitStatus(c, arn, ['SUCCESSFUL']);
    const events = c.sim.events();
    const prodRule = [...c.sim.world.elb.loadBalancers.values()][0]!.listeners[0]!.defaultRuleArn;
    const production = events
      .filter((e) => e.kind === 'elb.rule.modified' && e.detail.ruleArn === prodRule)
      .map((e) => (e.detail.weights as { weight: number }[])[1]!.weight);
    expect(production).toEqual([0, 25, 50, 75, 100]);
    const modified = events.filter((e) => e.kind === 'elb.rule.modified' && e.detail.ruleArn === prodRule);
    for (let i = 2; i < modified.length; i++)
      expect(Date.parse(modified[i]!.simTime) - Date.parse(modified[i - 1]!.simTime)).toBeGreaterThanOrEqual(
        60_000,
      );
    expect(stagesOf(events).filter((s) => s === 'PRODUCTION_TRAFFIC_SHIFT')).toHaveLength(4);
    expect(await weights(c, 80)).toEqual({ 'web-blue': 0, 'web-green': 100 });
  });
});
