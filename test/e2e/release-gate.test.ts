/**
 * The release gate across four blue/green services, through the bundles: the
 * staging world synthesized from infra/ with every service blue/green
 * (context deployments=*=blue-green), the POST_TEST_TRAFFIC_SHIFT hook the
 * assembly ships (infra/lambda/release-gate) run by the simulator, IAM
 * enforced, each action as its pipeline role (release-gate and deploy-services
 * the deploy role, verify the read role). The chain:
 *
 *   release-gate pending → deploy-services wait-for test-traffic → verify traffic: test
 *   → release-gate open (or closed) → deploy-services again (adopts, follows to SUCCESSFUL)
 *
 * while users keep sending production requests. Judged from the simulator:
 * DescribeServices / DescribeServiceDeployments, the call log, and the ALB data
 * plane's own request log (GET /_sim/alb-requests).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { ECSClient, ServiceDeployment } from '@aws-sdk/client-ecs';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { DeployedService } from '../../lib/contracts/deployments.js';
import { gatedStagingScenario, RELEASE_GATE_PARAMETER } from '../../runner/gated-world.js';
import type { Sim } from '../../sim/index.js';
import { clientConfig } from '../sim/helpers.js';
import {
  CLUSTER,
  deploymentsOf,
  ECR,
  expectSucceeded,
  gatedPipeline,
  images,
  SERVICES,
  startGatedSim,
} from './gated-release.js';
import { runAction, type ActionRun } from './run-action.js';
import type { AlbRequestRecord } from '../../sim/elb-engine.js';

const PATHS: Record<string, string> = {
  'alva-web': '/',
  'alva-api': '/api/health',
  'alva-auth': '/auth/health',
  'alva-admin': '/admin/health',
};
const CHECKS = SERVICES.map((s) => `GET ${PATHS[s]} 200`).join('\n');

let sim: Sim;
let ecs: ECSClient;
let ssm: SSMClient;
let testPort: number;

beforeAll(async () => {
  const scenario = await gatedStagingScenario({ deployments: '*=blue-green' });
  testPort = scenario.loadBalancers![0]!.listeners.find((l) => l.port !== 80)!.port;
  ({ sim, ecs } = await startGatedSim({
    ...scenario,
    // Starts, passes the target group's health checks, answers every other request 500:
    // only a check of its traffic finds it.
    images: {
      '*:verify-fails-*': { http: { status: 500, body: 'Internal Server Error' } },
      ...scenario.images,
    },
  }));
  ssm = new SSMClient(clientConfig(sim));
}, 180_000);

afterAll(async () => {
  ecs?.destroy();
  ssm?.destroy();
  await sim?.close();
});

beforeEach(async () => {
  await sim.reset();
});

const { env, releaseGate, running, latestDeployment, ...pipeline } = gatedPipeline(
  { sim: () => sim, ecs: () => ecs },
  '7001',
);
const deployServices = (images: string, inputs: Record<string, string> = {}) =>
  pipeline.deployServices({ images, ...inputs });

function verifyTestTraffic(deployments: string, timeoutSeconds: string): Promise<ActionRun> {
  return runAction('verify', {
    inputs: {
      cluster: CLUSTER,
      services: SERVICES.join('\n'),
      deployments,
      traffic: 'test',
      checks: CHECKS,
      'consecutive-successes': '2',
      'timeout-seconds': timeoutSeconds,
    },
    env: env(),
    timeoutMs: 180_000,
  });
}

async function albLog(
  since = 0,
): Promise<{ listeners: { port: number; address?: string }[]; requests: AlbRequestRecord[] }> {
  return (await (await fetch(`${sim.url}/_sim/alb-requests?since=${since}`)).json()) as {
    listeners: { port: number; address?: string }[];
    requests: AlbRequestRecord[];
  };
}

/** Users sending production requests to every service until stopped; returns the ALB's record of them. */
async function productionUsers(): Promise<{ stop: () => Promise<AlbRequestRecord[]> }> {
  const log = await albLog();
  const since = log.requests.at(-1)?.seq ?? 0;
  const production = log.listeners.find((l) => l.port === 80)!.address!;
  let running = true;
  const users = (async () => {
    while (running) {
      for (const service of SERVICES) await (await fetch(`http://${production}${PATHS[service]}`)).text();
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await users;
      return (await albLog(since)).requests;
    },
  };
}

async function allEnd(status: string): Promise<ServiceDeployment[]> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const latest = await Promise.all(SERVICES.map(latestDeployment));
    if (latest.every((d) => d?.status === status)) return latest as ServiceDeployment[];
    if (Date.now() > deadline)
      throw new Error(
        `not all ${status}: ${latest.map((d) => `${d?.status} at ${d?.lifecycleStage}`).join(', ')}`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function gateValue(): Promise<{ release?: string; state?: string; revisions?: string[] }> {
  const { Parameter } = await ssm.send(new GetParameterCommand({ Name: RELEASE_GATE_PARAMETER }));
  return JSON.parse(Parameter!.Value!) as { release?: string; state?: string; revisions?: string[] };
}

describe('the release gate across four blue/green services (bundles, staging world from infra/)', () => {
  it('one bad green fails verify on test traffic: the gate closes, ECS shifts all four back, no production request ever reached a green revision', async () => {
    const before = await running();
    const users = await productionUsers();
    let production: AlbRequestRecord[] = [];
    let deployments: Record<string, DeployedService>;
    try {
      expectSucceeded(await releaseGate('e2e-bad-1', 'pending'));
      const deploy = await deployServices(
        images('gate-bad', { auth: `${ECR}/alva-auth:verify-fails-gate-bad` }),
        {
          'wait-for': 'test-traffic',
        },
      );
      expectSucceeded(deploy);
      deployments = deploymentsOf(deploy);
      for (const service of SERVICES) {
        expect(deployments[service]).toMatchObject({
          status: 'deployed',
          strategy: 'BLUE_GREEN',
          lifecycleStage: 'POST_TEST_TRAFFIC_SHIFT',
          serviceRevisionArn: expect.stringMatching(/^arn:aws:ecs:/),
        });
        // Held at the gate: ECS itself says so.
        expect(await latestDeployment(service)).toMatchObject({
          status: 'IN_PROGRESS',
          lifecycleStage: 'POST_TEST_TRAFFIC_SHIFT',
        });
      }

      const verify = await verifyTestTraffic(deploy.outputs.deployments!, '20');
      expect(verify.exitCode).toBe(1);
      expect(verify.refused).toEqual([]);
      // The failing check, through the test listener: auth's path answered 500.
      // The failing check names the service whose green answered it (its test listener rule routes the path).
      expect(verify.log).toMatch(
        /HTTP GET \/auth\/health 200 \(http:\/\/127\.0\.0\.1:\d+\/auth\/health, served by alva-auth's green alva-auth:\d+\): .*500/,
      );

      const closed = await releaseGate('e2e-bad-1', 'closed', { reason: 'verify failed on test traffic' });
      expectSucceeded(closed);
      expect(JSON.parse(closed.outputs.gate!)).toMatchObject({ release: 'e2e-bad-1', state: 'closed' });
      // The hook answers FAILED: ECS rolls each deployment back by shifting traffic back.
      const rolledBack = await allEnd('ROLLBACK_SUCCESSFUL');
      for (const d of rolledBack) {
        expect(d.lifecycleStage).toBe('POST_TEST_TRAFFIC_SHIFT');
        expect(JSON.stringify(d)).toMatch(
          /alva-staging-release-gate returned FAILED at POST_TEST_TRAFFIC_SHIFT/,
        );
      }
    } finally {
      production = (await users.stop()).filter((r) => r.listenerPort === 80);
    }

    // All four end on blue.
    expect(await running()).toEqual(before);
    // The ALB's own log: production answered throughout, every service, and only ever from blue.
    const greens = new Set(SERVICES.map((s) => deployments[s]!.taskDefinition));
    for (const service of SERVICES)
      expect({ service, requests: production.filter((r) => r.path === PATHS[service]).length > 0 }).toEqual({
        service,
        requests: true,
      });
    expect(production.filter((r) => greens.has(r.taskDefinitionArn ?? ''))).toEqual([]);
    expect(new Set(production.map((r) => r.taskDefinitionArn))).toEqual(new Set(Object.values(before)));
    // Green was reached on test traffic only: auth's answered 500 there.
    const test = (await albLog()).requests.filter((r) => r.listenerPort === testPort);
    expect(test.some((r) => r.path === '/auth/health' && r.status === 500)).toBe(true);
  }, 600_000);

  it('a good release: the gate opens for the four verified revisions, deploy-services again adopts them (no UpdateService) and all four end SUCCESSFUL on green', async () => {
    const before = await running();
    expectSucceeded(await releaseGate('e2e-good-1', 'pending'));
    const first = await deployServices(images('gate-good'), { 'wait-for': 'test-traffic' });
    expectSucceeded(first);
    const held = deploymentsOf(first);
    for (const service of SERVICES)
      expect(await latestDeployment(service)).toMatchObject({
        status: 'IN_PROGRESS',
        lifecycleStage: 'POST_TEST_TRAFFIC_SHIFT',
      });

    expectSucceeded(await verifyTestTraffic(first.outputs.deployments!, '90'));
    const open = await releaseGate('e2e-good-1', 'open', { deployments: first.outputs.deployments! });
    expectSucceeded(open);
    const revisions = SERVICES.map((s) => held[s]!.serviceRevisionArn!);
    expect(JSON.parse(open.outputs.gate!)).toEqual({ release: 'e2e-good-1', state: 'open', revisions });

    const since = sim.calls().at(-1)?.seq ?? 0;
    // The pipeline's second run bakes: green, now serving production from the alternate target group.
    const second = await deployServices(images('gate-good'), { 'bake-seconds': '20' });
    expectSucceeded(second);
    const calls = sim.calls(since);
    expect(
      calls.filter((c) => c.operation === 'UpdateService' || c.operation === 'RegisterTaskDefinition'),
    ).toEqual([]);
    const followed = deploymentsOf(second);
    for (const service of SERVICES) {
      expect(followed[service]).toMatchObject({
        status: 'deployed',
        strategy: 'BLUE_GREEN',
        taskDefinition: held[service]!.taskDefinition,
        previousTaskDefinition: before[service],
        serviceRevisionArn: held[service]!.serviceRevisionArn,
      });
      expect(followed[service]!.taskDefinition).not.toBe(before[service]);
    }
    expect(second.log).toMatch(/alva-auth: adopted deployment/);
    for (const service of SERVICES) expect(second.log).toContain(`✓ ${service}: stayed healthy for 20s`);
    // After ECS's bake time and clean-up: SUCCESSFUL, production on green.
    await allEnd('SUCCESSFUL');
    expect(await running()).toEqual(Object.fromEntries(SERVICES.map((s) => [s, held[s]!.taskDefinition])));
    expect(await gateValue()).toMatchObject({ release: 'e2e-good-1', state: 'open' });
  }, 600_000);
});
