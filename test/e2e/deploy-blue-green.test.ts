/**
 * deploy-services' library on a release that mixes strategies: of four services,
 * api and auth are BLUE_GREEN (a POST_TEST_TRAFFIC_SHIFT hook that runs in the
 * simulator and fails a revision whose image is tagged :bad), web and admin roll.
 * Judged from the simulator's call log, its state and the ALB's own request log:
 * - a good release: api and auth end SUCCESSFUL (after bake time), web and admin healthy;
 * - a bad green (api): the deploy fails naming api and the hook, every service is back
 *   on its previous revision, api and auth by a traffic shift (no UpdateService back
 *   for them), web and admin by UpdateService, and no production request reached green.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  ListServiceDeploymentsCommand,
  type ServiceDeployment,
} from '@aws-sdk/client-ecs';
import type { EcsClients } from '../../lib/ecs/clients.js';
import { executeDeploy, planImageDeploy, type DeployOutcome } from '../../lib/ecs/deploy.js';
import { memoryLog } from '../../lib/log.js';
import type { AlbRequestRecord } from '../../sim/elb-engine.js';
import type { Scenario, ServiceSpec } from '../../sim/scenario.js';
import {
  blueGreenLoadBalancer,
  ECS_INFRASTRUCTURE_ROLE,
  imageCheckHook,
  smallWorld,
  startWithClients,
  stopClients,
  type Clients,
} from '../sim/helpers.js';

const CLUSTER = 'mixed';
const HOOK_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:image-check';
const SPEED = 60;
const BLUE_GREEN = ['api', 'auth'];
const ROLLING = ['web', 'admin'];
const SERVICES = ['web', 'api', 'auth', 'admin'];

/** Fails the green revision when one of its images is tagged :bad, holds it when :held (read through ECS). */
const IMAGE_CHECK_HOOK = imageCheckHook(
  "if (images.some((image) => image.endsWith(':held'))) return { hookStatus: 'IN_PROGRESS', callBackDelay: 10 };",
  "return { hookStatus: images.some((image) => image.endsWith(':bad')) ? 'FAILED' : 'SUCCEEDED' };",
);

function scenario(): Scenario {
  const blueGreen = (name: string): ServiceSpec => ({
    cluster: CLUSTER,
    name,
    taskDefinition: `${name}:1`,
    desiredCount: 2,
    loadBalancers: [blueGreenLoadBalancer(name, `${name}-alb`)],
    networkConfiguration: { awsvpcConfiguration: { subnets: ['subnet-1'] } },
    deploymentConfiguration: {
      strategy: 'BLUE_GREEN',
      // Simulated minutes: long enough that auth is still baking when api's hook fails.
      bakeTimeInMinutes: 3,
      deploymentCircuitBreaker: { enable: true, rollback: true },
      lifecycleHooks: [
        {
          hookTargetArn: HOOK_ARN,
          roleArn: ECS_INFRASTRUCTURE_ROLE,
          lifecycleStages: ['POST_TEST_TRAFFIC_SHIFT'],
        },
      ],
    },
  });
  const rolling = (name: string): ServiceSpec => ({
    cluster: CLUSTER,
    name,
    taskDefinition: `${name}:1`,
    desiredCount: 2,
    networkConfiguration: { awsvpcConfiguration: { subnets: ['subnet-1'] } },
  });
  const group = (name: string) => ({
    name,
    port: 3000,
    healthCheck: { intervalSeconds: 2, healthyThresholdCount: 2 },
    deregistrationDelaySeconds: 2,
  });
  return {
    ...smallWorld('mixed-strategies', 11, CLUSTER),
    // api:unhealthy answers 500: its tasks fail the target group's health checks.
    images: { 'api:unhealthy': { health: 'unhealthy', healthStatus: 500, http: { status: 500 } } },
    taskDefinitions: SERVICES.map((name) => ({
      family: name,
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      cpu: '256',
      memory: '512',
      containerDefinitions: [
        { name, image: `${name}:v1`, essential: true, portMappings: [{ containerPort: 3000 }] },
      ],
    })),
    targetGroups: BLUE_GREEN.flatMap((name) => [group(`${name}-blue`), group(`${name}-green`)]),
    loadBalancers: BLUE_GREEN.map((name) => ({
      name: `${name}-alb`,
      httpPort: 0,
      listeners: [
        { port: 80, defaultTargetGroup: `${name}-blue` },
        { port: 8080, defaultTargetGroup: `${name}-blue` },
      ],
    })),
    services: SERVICES.map((name) => (BLUE_GREEN.includes(name) ? blueGreen(name) : rolling(name))),
    lambdaFunctions: [
      {
        name: 'image-check',
        arn: HOOK_ARN,
        runtime: 'nodejs22.x',
        handler: 'index.handler',
        code: { zipFile: IMAGE_CHECK_HOOK },
        timeoutSeconds: 20,
      },
    ],
  };
}

let c: Clients | undefined;
afterEach(async () => {
  await stopClients(c);
  c = undefined;
});

interface Release {
  outcome: DeployOutcome;
  lines: string[];
  /** Production-listener requests answered while the release ran. */
  production: AlbRequestRecord[];
}

/** Runs a release of `images` through deploy-services' library while production traffic flows to both ALBs. */
async function release(
  world: Clients,
  images: Record<string, string>,
  signal?: AbortSignal,
): Promise<Release> {
  const clients: EcsClients = {
    ecs: world.ecs,
    elbv2: () => Promise.resolve(world.elb),
    logs: () => Promise.resolve(world.logs),
  };
  const { listeners } = (await (await fetch(`${world.sim.url}/_sim/alb-requests`)).json()) as {
    listeners: { port: number; address: string }[];
  };
  const productionAddresses = listeners.filter((l) => l.port === 80).map((l) => l.address);
  expect(productionAddresses).toHaveLength(2);
  let running = true;
  const traffic = (async () => {
    while (running) {
      for (const address of productionAddresses) await (await fetch(`http://${address}/`)).text();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const log = memoryLog();
  try {
    const plan = await planImageDeploy(clients, CLUSTER, SERVICES, images);
    const outcome = await executeDeploy(clients, plan, {
      waitFor: 'healthy',
      timeoutMs: (1800 * 1000) / SPEED,
      rollbackOnFailure: true,
      forceNewDeployment: false,
      log,
      minIntervalMs: 1000 / SPEED,
      maxIntervalMs: 2000 / SPEED,
      heartbeatMs: 30_000 / SPEED,
      ...(signal ? { signal } : {}),
    });
    return {
      outcome,
      lines: log.lines,
      production: world.sim.world.elb.requests(0).filter((r) => r.listenerPort === 80),
    };
  } finally {
    running = false;
    await traffic;
  }
}

const images = (tags: Record<string, string> = {}) =>
  Object.fromEntries(SERVICES.map((s) => [s, `${s}:${tags[s] ?? 'v2'}`]));

async function running(world: Clients): Promise<Record<string, string>> {
  const { services = [] } = await world.ecs.send(
    new DescribeServicesCommand({ cluster: CLUSTER, services: SERVICES }),
  );
  return Object.fromEntries(services.map((s) => [s.serviceName!, s.taskDefinition!.split('/').pop()!]));
}

/** The service's latest service deployment, as DescribeServiceDeployments gives it. */
async function lastServiceDeployment(
  world: Clients,
  service: string,
): Promise<ServiceDeployment | undefined> {
  const { serviceDeployments = [] } = await world.ecs.send(
    new ListServiceDeploymentsCommand({ cluster: CLUSTER, service }),
  );
  const arn = serviceDeployments[0]?.serviceDeploymentArn;
  if (!arn) return undefined;
  const described = await world.ecs.send(
    new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] }),
  );
  return described.serviceDeployments?.[0];
}

async function lastServiceDeploymentStatus(world: Clients, service: string): Promise<string | undefined> {
  return (await lastServiceDeployment(world, service))?.status;
}

async function lastStage(world: Clients, service: string): Promise<string | undefined> {
  const d = await lastServiceDeployment(world, service);
  return d?.status === 'IN_PROGRESS' ? d.lifecycleStage : undefined;
}

async function waitUntil(probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('deploy-services on a release mixing blue/green and rolling services', () => {
  it('a bad green (api, its hook FAILED): the deploy fails naming api, blue/green services go back by traffic shift, rolling ones by UpdateService, no production request reached green', async () => {
    c = await startWithClients(scenario(), SPEED);
    const from = c.sim.calls().at(-1)?.seq ?? 0;
    const r = await release(c, images({ api: 'bad' }));

    expect(r.outcome.ok).toBe(false);
    const api = r.outcome.services.find((s) => s.service === 'api')!;
    expect(api.status).toBe('failed');
    expect(api.reason).toMatch(/BLUE_GREEN deployment ROLLBACK_\w+ at POST_TEST_TRAFFIC_SHIFT/);
    expect(api.reason).toMatch(/FAILED/);
    expect(r.lines.join('\n')).toMatch(/api.*BLUE_GREEN deployment ROLLBACK/);
    // Every service back on revision 1.
    expect(await running(c)).toEqual({ web: 'web:1', api: 'api:1', auth: 'auth:1', admin: 'admin:1' });
    for (const s of r.outcome.services) expect(s.rollback?.status).toBe('succeeded');

    const calls = c.sim.calls(from);
    const updates = calls.filter((x) => x.operation === 'UpdateService').map((x) => x.params);
    // One UpdateService each to start; only the rolling services get a second one (their rollback).
    for (const name of BLUE_GREEN) expect(updates.filter((p) => p.service === name)).toHaveLength(1);
    for (const name of ROLLING)
      expect(updates.filter((p) => p.service === name).map((p) => p.taskDefinition)).toEqual([
        expect.stringMatching(new RegExp(`${name}:2$`)),
        expect.stringMatching(new RegExp(`${name}:1$`)),
      ]);
    // auth was still in progress when api failed: its traffic was shifted back on request.
    const stops = calls.filter((x) => x.operation === 'StopServiceDeployment');
    expect(stops.map((x) => x.params.stopType)).toContain('ROLLBACK');
    expect(await lastServiceDeploymentStatus(c, 'auth')).toBe('ROLLBACK_SUCCESSFUL');
    expect(await lastServiceDeploymentStatus(c, 'api')).toBe('ROLLBACK_SUCCESSFUL');
    expect(r.lines.join('\n')).toMatch(/auth \(BLUE_GREEN\): ROLLBACK_SUCCESSFUL; production traffic back/);

    // The ALB's own log: production answered throughout, never from the bad green (api:2). auth's green
    // passed its own hook and may have served production until the shift back (no gate across services
    // here): after the rollback, its production is on auth:1 again.
    const apiProduction = r.production.filter((q) => q.loadBalancer === 'api-alb');
    expect(apiProduction.length).toBeGreaterThan(10);
    expect(apiProduction.filter((q) => q.taskDefinitionArn?.endsWith('/api:2'))).toEqual([]);
    const authAddress = (
      (await (await fetch(`${c.sim.url}/_sim/alb-requests`)).json()) as {
        listeners: { loadBalancer: string; port: number; address: string }[];
      }
    ).listeners.find((l) => l.port === 80 && l.loadBalancer.includes('auth'))!.address;
    const since = c.sim.world.elb.requests(0).at(-1)!.seq;
    for (let i = 0; i < 10; i++) await (await fetch(`http://${authAddress}/`)).text();
    const authNow = c.sim.world.elb.requests(since).filter((q) => q.listenerPort === 80);
    expect(authNow.map((q) => q.taskDefinitionArn?.split('/').pop())).toEqual(Array(10).fill('auth:1'));
  }, 120_000);

  it('a good release: api and auth end SUCCESSFUL after their bake time, web and admin healthy, stages logged', async () => {
    c = await startWithClients(scenario(), SPEED);
    const r = await release(c, images());

    expect(r.outcome.ok).toBe(true);
    expect(r.outcome.services.map((s) => s.status)).toEqual(['deployed', 'deployed', 'deployed', 'deployed']);
    expect(await running(c)).toEqual({ web: 'web:2', api: 'api:2', auth: 'auth:2', admin: 'admin:2' });
    for (const name of BLUE_GREEN) expect(await lastServiceDeploymentStatus(c, name)).toBe('SUCCESSFUL');
    const text = r.lines.join('\n');
    for (const stage of ['POST_TEST_TRAFFIC_SHIFT', 'BAKE_TIME', 'CLEAN_UP'])
      expect(text).toMatch(new RegExp(`api \\(BLUE_GREEN\\): IN_PROGRESS at ${stage}`));
    expect(text).toMatch(/auth \(BLUE_GREEN\): SUCCESSFUL/);
    expect(c.sim.calls().filter((x) => x.operation === 'StopServiceDeployment')).toEqual([]);
  }, 120_000);
  it('a bad green failing its health checks (api answers 500): ECS rolls api back itself, the step fails naming api and the circuit breaker, the others go back', async () => {
    c = await startWithClients(scenario(), SPEED);
    const from = c.sim.calls().at(-1)?.seq ?? 0;
    const r = await release(c, images({ api: 'unhealthy' }));

    expect(r.outcome.ok).toBe(false);
    const api = r.outcome.services.find((s) => s.service === 'api')!;
    expect(api.status).toBe('failed');
    expect(api.reason).toMatch(/BLUE_GREEN deployment ROLLBACK_\w+ at SCALE_UP.*Circuit Breaker/);
    expect(await running(c)).toEqual({ web: 'web:1', api: 'api:1', auth: 'auth:1', admin: 'admin:1' });
    const updates = c.sim
      .calls(from)
      .filter((x) => x.operation === 'UpdateService')
      .map((x) => x.params.service);
    expect(updates.filter((name) => name === 'api' || name === 'auth')).toEqual(['api', 'auth']);
    expect(await lastServiceDeploymentStatus(c, 'api')).toBe('ROLLBACK_SUCCESSFUL');
    expect(await lastServiceDeploymentStatus(c, 'auth')).toBe('ROLLBACK_SUCCESSFUL');
    const apiProduction = r.production.filter((q) => q.loadBalancer === 'api-alb');
    expect(apiProduction.filter((q) => q.taskDefinitionArn?.endsWith('/api:2'))).toEqual([]);
  }, 120_000);

  it('cancelled while a hook holds api and auth: StopServiceDeployment ROLLBACK for both (no UpdateService back), UpdateService back for the rolling ones', async () => {
    c = await startWithClients(scenario(), SPEED);
    const from = c.sim.calls().at(-1)?.seq ?? 0;
    const cancel = new AbortController();
    const world = c;
    // Cancel once both blue/green deployments are held at POST_TEST_TRAFFIC_SHIFT.
    const held = (async () => {
      for (;;) {
        const stages = await Promise.all(BLUE_GREEN.map((name) => lastStage(world, name)));
        if (stages.every((stage) => stage === 'POST_TEST_TRAFFIC_SHIFT')) return cancel.abort('cancelled');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const r = await release(c, images({ api: 'held', auth: 'held' }), cancel.signal);
    await held;

    expect(r.outcome.ok).toBe(false);
    expect(r.outcome.cancelled).toBe(true);
    const calls = c.sim.calls(from);
    const stops = calls.filter((x) => x.operation === 'StopServiceDeployment');
    expect(stops.map((x) => x.params.stopType)).toEqual(['ROLLBACK', 'ROLLBACK']);
    const updates = calls.filter((x) => x.operation === 'UpdateService').map((x) => x.params.service);
    expect(updates.filter((name) => name === 'api' || name === 'auth').sort()).toEqual(['api', 'auth']);
    for (const name of ROLLING) expect(updates.filter((u) => u === name)).toHaveLength(2);
    // Not awaited by the cancelled step; ECS finishes the shift back on its own.
    for (const name of BLUE_GREEN)
      await waitUntil(async () => (await lastServiceDeploymentStatus(world, name)) === 'ROLLBACK_SUCCESSFUL');
    expect(r.production.filter((q) => /\/(api|auth):2$/.test(q.taskDefinitionArn ?? ''))).toEqual([]);
  }, 120_000);
});
