/**
 * deploy-services' bundle against the simulator, in the situations of a
 * release that is not alone: run again after a kill or a failure (adopt the
 * deployment under way, never "unchanged"), another deployment in progress
 * (refuse before any change, or wait), another deployment started in the same
 * second as ours (follow ours, exactly), and a revision that crashes after it
 * was healthy (bake). Judged from the simulator's state and call log.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { resolve } from 'node:path';
import { loadScenario, type Scenario, type Sim } from '../../sim/index.js';
import type { DeployedService } from '../../lib/contracts/deployments.js';
import { runAction } from './run-action.js';
import { operatorCredentials, startTestSim } from '../sim/helpers.js';

const root = resolve(import.meta.dirname, '..', '..');
const staging = resolve(root, 'sim/scenarios/staging.json');
const cluster = 'alva-staging-cluster';
const services = ['alva-web', 'alva-api', 'alva-auth', 'alva-admin'];
const registry = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const images = (tag: string, overrides: Record<string, string> = {}) =>
  JSON.stringify({
    web: `${registry}/alva-web:${tag}`,
    api: `${registry}/alva-api:${tag}`,
    auth: `${registry}/alva-auth:${tag}`,
    admin: `${registry}/alva-admin:${tag}`,
    ...overrides,
  });

/** The action's `deployments` output, typed by its one contract. */
type Deployments = Record<string, DeployedService>;

let sim: Sim;
let ecs: ECSClient;

async function taskDefinitions(): Promise<Record<string, string>> {
  const reply = await ecs.send(new DescribeServicesCommand({ cluster, services }));
  return Object.fromEntries((reply.services ?? []).map((s) => [s.serviceName!, s.taskDefinition!]));
}

async function primaryOf(service: string) {
  const reply = await ecs.send(new DescribeServicesCommand({ cluster, services: [service] }));
  return reply.services![0]!.deployments!.find((d) => d.status === 'PRIMARY')!;
}

function lastSeq(): number {
  return sim.calls().at(-1)?.seq ?? 0;
}

function deploy(inputs: Record<string, string>, options: Parameters<typeof runAction>[1] = {}) {
  return runAction('deploy-services', {
    timeoutMs: 180_000,
    ...options,
    inputs: { cluster, services: services.join('\n'), ...inputs },
    env: { ...options.env, AWS_ENDPOINT_URL: sim.url },
  });
}

/** Staging without the circuit breaker: a failing deployment stays IN_PROGRESS until someone acts. */
function withoutCircuitBreaker(): Scenario {
  const scenario = loadScenario(staging);
  for (const service of scenario.services ?? []) {
    service.deploymentConfiguration = {
      ...service.deploymentConfiguration,
      deploymentCircuitBreaker: { enable: false, rollback: false },
    };
  }
  return scenario;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  sim = await startTestSim({ scenario: staging, speed: 20, port: 0 });
  ecs = new ECSClient({
    region: 'us-east-1',
    endpoint: sim.url,
    credentials: operatorCredentials(sim),
  });
});
afterAll(async () => {
  ecs?.destroy();
  await sim?.close();
});
beforeEach(async () => {
  await sim.load(staging);
});

describe('deploy-services: reruns, other deployments, late crashes (bundle against the simulator)', () => {
  it('rerun after a failed run with rollback-on-failure false adopts the deployment, follows it, fails and rolls it back', async () => {
    await sim.load(withoutCircuitBreaker());
    const before = await taskDefinitions();
    const release = images('r1', { web: `${registry}/alva-web:timeout-r1` });
    const first = await deploy({ images: release, 'timeout-seconds': '6', 'rollback-on-failure': 'false' });
    expect(first.exitCode).toBe(1);
    const left = await primaryOf('alva-web');
    expect(left.taskDefinition).not.toBe(before['alva-web']);
    expect(left.rolloutState).toBe('IN_PROGRESS');

    const since = lastSeq();
    const rerun = await deploy({ images: release, 'timeout-seconds': '6' });
    expect(rerun.exitCode).toBe(1);
    expect(rerun.log).not.toMatch(/alva-web: nothing to deploy/);
    expect(rerun.log).toMatch(/alva-web: adopted deployment/);
    const out = JSON.parse(rerun.outputs.deployments!) as Deployments;
    // Followed to its failure (the deadline), not "unchanged" and not "deployed".
    expect(['timed-out', 'failed']).toContain(out['alva-web']!.status);
    expect(out['alva-web']).toMatchObject({
      previousTaskDefinition: before['alva-web'],
      taskDefinition: left.taskDefinition,
      registered: false,
    });
    // No second deployment of the same revision; the one UpdateService for alva-web is the rollback.
    const updates = sim
      .calls(since)
      .filter((c) => c.operation === 'UpdateService' && c.status === 200 && c.params.service === 'alva-web');
    expect(updates.map((c) => [c.params.service, c.params.taskDefinition])).toEqual([
      ['alva-web', before['alva-web']],
    ]);
    expect(sim.calls(since).filter((c) => c.operation === 'RegisterTaskDefinition')).toEqual([]);
    expect((await taskDefinitions())['alva-web']).toBe(before['alva-web']);
  }, 150_000);

  it('rerun after a kill adopts the good deployment still in progress and succeeds without a second UpdateService', async () => {
    // Slow pulls: the deployments the killed run started are still in progress when it is run again.
    const slow = loadScenario(staging);
    slow.timing = { ...slow.timing, pullMs: 200_000 };
    await sim.load(slow);
    const release = images('k1');
    const killed = await deploy(
      { images: release },
      { signal: { name: 'SIGKILL', when: /Wait until .* run healthy/ } },
    );
    expect(killed.signal).toBe('SIGKILL');
    const started = await taskDefinitions();
    expect((await primaryOf('alva-web')).rolloutState).toBe('IN_PROGRESS');

    const since = lastSeq();
    const rerun = await deploy({ images: release });
    expect(rerun.exitCode).toBe(0);
    for (const service of services) expect(rerun.log).toMatch(new RegExp(`${service}: adopted deployment`));
    const out = JSON.parse(rerun.outputs.deployments!) as Deployments;
    for (const service of services) {
      expect(out[service]!.status).toBe('deployed');
      expect(out[service]!.taskDefinition).toBe(started[service]);
    }
    expect(sim.calls(since).filter((c) => c.mutating)).toEqual([]);
    expect(await taskDefinitions()).toEqual(started);
  }, 150_000);

  it('a deployment of other images in progress, which this release did not start, is refused before any change', async () => {
    const update = await ecs.send(
      new UpdateServiceCommand({ cluster, service: 'alva-web', forceNewDeployment: true }),
    );
    const theirs = update.service!.deployments!.find((d) => d.status === 'PRIMARY')!;
    const before = await taskDefinitions();
    const since = lastSeq();
    const run = await deploy({ images: images('c1') });
    expect(run.exitCode).toBe(1);
    expect(run.log).toContain(theirs.id!);
    expect(run.log).toMatch(/alva-web: deployment .* is in progress with other images/);
    expect(run.log).toMatch(/if-in-progress: wait/);
    expect(sim.calls(since).filter((c) => c.mutating)).toEqual([]);
    expect(await taskDefinitions()).toEqual(before);
  }, 150_000);

  it('a deployment of other images that another run of deploy-services left in progress is refused naming that run', async () => {
    await sim.load(withoutCircuitBreaker());
    const left = await deploy(
      {
        images: images('o1', { web: `${registry}/alva-web:timeout-o1` }),
        'timeout-seconds': '6',
        'rollback-on-failure': 'false',
      },
      { env: { GITHUB_RUN_ID: '5150' } },
    );
    expect(left.exitCode).toBe(1);
    expect((await primaryOf('alva-web')).rolloutState).toBe('IN_PROGRESS');
    const before = await taskDefinitions();
    const since = lastSeq();
    const run = await deploy({ images: images('o2') }, { env: { GITHUB_RUN_ID: '5151' } });
    expect(run.exitCode).toBe(1);
    expect(run.log).toMatch(
      /alva-web: deployment .* is in progress with other images .* was registered by release 5150/,
    );
    expect(sim.calls(since).filter((c) => c.mutating)).toEqual([]);
    expect(await taskDefinitions()).toEqual(before);
  }, 150_000);

  it('with if-in-progress: wait, waits for the other deployment to end, then deploys', async () => {
    await ecs.send(new UpdateServiceCommand({ cluster, service: 'alva-web', forceNewDeployment: true }));
    const since = lastSeq();
    const run = await deploy({ images: images('w1'), 'if-in-progress': 'wait' });
    expect(run.exitCode).toBe(0);
    expect(run.log).toMatch(/waiting for alva-web: deployment/);
    const completed = sim
      .events()
      .filter((e) => e.kind === 'deployment.completed' && e.detail.service === 'alva-web');
    const firstUpdate = sim.calls(since).find((c) => c.operation === 'UpdateService' && c.mutating)!;
    // The other deployment completed before this release changed anything.
    expect(completed.some((e) => e.realMs <= firstUpdate.realMs)).toBe(true);
    const out = JSON.parse(run.outputs.deployments!) as Deployments;
    expect(out['alva-web']!.status).toBe('deployed');
  }, 150_000);

  it('another deployment started in the same second as ours is not taken for ours (wait-for steady)', async () => {
    // Real time (speed 1) with quick timings, so that "within one simulated second" is within one real second.
    // The action's RegisterTaskDefinition fails twice (HTTP 500): its UpdateService comes two retries later,
    // and a force-new-deployment of alva-web is sent as soon as the first failure is seen.
    const quick = loadScenario(staging);
    quick.timing = {
      ...quick.timing,
      provisionMs: 300,
      pullMs: 300,
      stopMs: 200,
      schedulerTickMs: 200,
      registrationMs: 200,
    };
    for (const group of quick.targetGroups ?? []) {
      group.healthCheck = { ...group.healthCheck, intervalSeconds: 1, healthyThresholdCount: 1 };
      group.deregistrationDelaySeconds = 1;
    }
    for (const service of quick.services ?? []) service.healthCheckGracePeriodSeconds = 0;
    const realTime = await startTestSim({ scenario: quick, speed: 1, port: 0 });
    const client = new ECSClient({
      region: 'us-east-1',
      endpoint: realTime.url,
      credentials: operatorCredentials(realTime),
    });
    try {
      const before = (await client.send(new DescribeServicesCommand({ cluster, services: ['alva-web'] })))
        .services![0]!.taskDefinition!;
      const eventsSince = realTime.events().at(-1)?.seq ?? 0;
      realTime.addFaults({ service: 'ecs', operation: 'RegisterTaskDefinition', kind: 'http500', count: 2 });
      const running = runAction('deploy-services', {
        timeoutMs: 120_000,
        inputs: {
          cluster,
          services: 'alva-web',
          images: JSON.stringify({ web: `${registry}/alva-web:s1` }),
          'wait-for': 'steady',
        },
        env: { AWS_ENDPOINT_URL: realTime.url },
      });
      const giveUp = Date.now() + 60_000;
      while (!realTime.calls().some((c) => c.operation === 'RegisterTaskDefinition') && Date.now() < giveUp)
        await sleep(1);
      await client.send(new UpdateServiceCommand({ cluster, service: 'alva-web', forceNewDeployment: true }));
      const run = await running;

      const started = realTime
        .events(eventsSince)
        .filter((e) => e.kind === 'deployment.started' && e.detail.service === 'alva-web');
      expect(started).toHaveLength(2);
      const theirs = started.find((e) => e.detail.taskDefinition === before)!;
      const ours = started.find((e) => e.detail.taskDefinition !== before)!;
      // The race happened: theirs started first, less than a simulated second before ours.
      const gap = Date.parse(ours.simTime) - Date.parse(theirs.simTime);
      expect(gap).toBeGreaterThanOrEqual(0);
      expect(gap).toBeLessThan(1000);
      expect(run.exitCode).toBe(0);
      expect(run.log).not.toMatch(/replaced/);
      // Steady means ours COMPLETED, as ECS says, not the other one.
      const completed = realTime.events().filter((e) => e.kind === 'deployment.completed');
      expect(completed.map((e) => e.detail.deploymentId)).toContain(ours.detail.deploymentId);
      const primary = (
        await client.send(new DescribeServicesCommand({ cluster, services: ['alva-web'] }))
      ).services![0]!.deployments!.find((d) => d.status === 'PRIMARY')!;
      expect(primary.id).toBe(ours.detail.deploymentId);
      expect(primary.rolloutState).toBe('COMPLETED');
    } finally {
      client.destroy();
      await realTime.close();
    }
  }, 150_000);

  it('bake catches a crash 30 s after healthy: the release fails with the stop reason and exit code, and every service rolls back', async () => {
    const before = await taskDefinitions();
    const run = await deploy({
      images: images('b1', { api: `${registry}/alva-api:latecrash-b1` }),
      'bake-seconds': '8',
    });
    expect(run.exitCode).toBe(1);
    const out = JSON.parse(run.outputs.deployments!) as Deployments;
    expect(out['alva-api']!.status).toBe('failed');
    expect(out['alva-api']!.reason).toMatch(/during the bake/);
    expect(run.log).toMatch(/container api: exit code 1/);
    expect(run.log).toContain('Unhandled promise rejection');
    // A task of the new revision really stopped after it was healthy, and the rollback put all four back.
    const stopped = sim
      .events()
      .filter(
        (e) => e.kind === 'container.exited' && e.detail.service === 'alva-api' && e.detail.exitCode === 1,
      );
    expect(stopped.length).toBeGreaterThan(0);
    expect(await taskDefinitions()).toEqual(before);
    for (const service of services) expect(out[service]!.rollback?.status).toBe('succeeded');
  }, 150_000);
});
