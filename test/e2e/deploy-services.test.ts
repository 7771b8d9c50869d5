/**
 * The committed bundle, run as the runner runs it, against the simulator:
 * deploy the four staging services, a crash-looping image with the circuit
 * breaker and the suite-wide rollback, a throttling burst, bad inputs that
 * must change nothing, and rollback-to: previous.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Scenario, type Sim } from '../../sim/index.js';
import type { DeployedService } from '../../lib/contracts/deployments.js';
import { runAction } from './run-action.js';
import { OPERATOR_ROLE, operatorCredentials, startTestSim } from '../sim/helpers.js';

const root = resolve(import.meta.dirname, '..', '..');
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

/** The sequence number of the newest recorded call: calls(since) are the ones after it. */
function lastSeq(): number {
  return sim.calls().at(-1)?.seq ?? 0;
}

/** deploy-services as the deploy job runs it: with the deploy role's session (or `role`'s). */
function deploy(inputs: Record<string, string>, env: Record<string, string> = {}, role?: string) {
  return runAction('deploy-services', {
    inputs: { cluster, services: services.join('\n'), ...inputs },
    env: { AWS_ENDPOINT_URL: sim.url, ...env },
    timeoutMs: 180_000,
    ...(role ? { role } : {}),
  });
}

beforeAll(async () => {
  sim = await startTestSim({ scenario: resolve(root, 'sim/scenarios/staging.json'), speed: 20, port: 0 });
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
  await sim.reset();
});

describe('deploy-services (bundle against the simulator)', () => {
  it('deploys the four staging services at once and names the new revisions', async () => {
    const before = await taskDefinitions();
    const since = lastSeq();
    const run = await deploy({ images: images('v2') });
    expect(run.exitCode).toBe(0);
    const out = JSON.parse(run.outputs.deployments!) as Deployments;
    const after = await taskDefinitions();
    for (const service of services) {
      expect(out[service]!.status).toBe('deployed');
      expect(out[service]!.registered).toBe(true);
      expect(out[service]!.previousTaskDefinition).toBe(before[service]);
      expect(out[service]!.taskDefinition).not.toBe(before[service]);
      expect(after[service]).toBe(out[service]!.taskDefinition);
      expect(run.log).toContain(`console.aws.amazon.com/ecs/v2/clusters/${cluster}/services/${service}`);
    }
    expect(run.summary).toContain('alva-web');
    // One RegisterTaskDefinition and one UpdateService per service, no more.
    const mutating = sim.calls(since).filter((c) => c.mutating);
    expect(mutating.filter((c) => c.operation === 'RegisterTaskDefinition')).toHaveLength(4);
    expect(mutating.filter((c) => c.operation === 'UpdateService')).toHaveLength(4);
  });

  it('a crash-looping image trips the circuit breaker; all four end on their previous revisions, exit 1, and the log says why', async () => {
    const before = await taskDefinitions();
    const run = await deploy({ images: images('v3', { api: `${registry}/alva-api:broken-1` }) });
    expect(run.exitCode).toBe(1);
    expect(await taskDefinitions()).toEqual(before);
    const out = JSON.parse(run.outputs.deployments!) as Deployments;
    for (const service of services) {
      expect(out[service]!.finalTaskDefinition).toBe(before[service]);
      expect(out[service]!.rollback).toMatchObject({ status: 'succeeded', taskDefinition: before[service] });
    }
    expect(out['alva-api']!.status).toBe('failed');
    // The service, the stop reason, the exit code and the container's last log lines.
    expect(run.log).toMatch(/alva-api: .*circuit breaker/);
    expect(run.log).toContain('Essential container in task exited');
    expect(run.log).toMatch(/container api: exit code 1/);
    expect(run.log).toContain("Error: Cannot find module '/app/dist/server.js'");
    expect(run.summary).toContain('<details>');
  });

  it('survives a throttling burst', async () => {
    sim.addFaults([
      { service: 'ecs', operation: 'DescribeServices', kind: 'throttle', after: 1, count: 4 },
      { service: 'ecs', operation: 'UpdateService', kind: 'throttle', count: 3 },
      { service: 'elbv2', operation: 'DescribeTargetHealth', kind: 'throttle', count: 3 },
    ]);
    const since = lastSeq();
    const run = await deploy({ images: images('v4') });
    expect(run.exitCode).toBe(0);
    expect(sim.calls(since).filter((c) => c.fault === 'throttle').length).toBeGreaterThanOrEqual(10);
    const out = JSON.parse(run.outputs.deployments!) as Deployments;
    for (const service of services) expect(out[service]!.status).toBe('deployed');
  });

  // The deploy role may describe only the four services: for another name AWS answers AccessDenied before
  // ECS could say it is missing (the next test). ECS's "not found" is what a role allowed to describe
  // every service of the cluster sees: the operator's here.
  const roleOfCase: Record<string, string> = { 'an unknown service': OPERATOR_ROLE };
  const badInputs: [string, Record<string, string>, RegExp][] = [
    ['an unknown service', { services: 'alva-web\nalva-nope' }, /Input "services": "alva-nope" .*not found/],
    ['malformed images JSON', { images: '{"web": ' }, /Input "images": is not valid JSON/],
    [
      'a container no service has',
      { images: '{"worker": "repo/worker:1"}' },
      /Input "images": no task definition .* "worker"/,
    ],
    ['a negative timeout', { images: images('v5'), 'timeout-seconds': '-1' }, /Input "timeout-seconds"/],
    ['a non-numeric timeout', { images: images('v5'), 'timeout-seconds': 'soon' }, /Input "timeout-seconds"/],
    ['an unknown wait-for', { images: images('v5'), 'wait-for': 'stable' }, /Input "wait-for": "stable"/],
    ['bad rollback-to JSON', { 'rollback-to': '{"alva-web": ' }, /Input "rollback-to": is not valid JSON/],
    [
      'an unknown service in rollback-to',
      { 'rollback-to': '{"alva-nope": 1}' },
      /Input "rollback-to": names service "alva-nope"/,
    ],
    [
      'a rollback-to revision that does not exist',
      { 'rollback-to': '{"alva-web": 99}' },
      /Input "rollback-to": task definition "alva-web:99"/,
    ],
    ['an empty services list', { services: ' ', images: images('v5') }, /Input "services": is empty/],
  ];
  it.each(badInputs)(
    'rejects %s with exit 1, naming the input, and changes nothing',
    async (label, inputs, message) => {
      const since = lastSeq();
      const run = await deploy(
        {
          images: images('v5'),
          ...inputs,
          ...('rollback-to' in inputs ? { images: '' } : {}),
        },
        {},
        roleOfCase[label],
      );
      expect(run.exitCode).toBe(1);
      expect(run.log).toMatch(message);
      expect(run.log).toMatch(/Fix: /);
      expect(sim.calls(since).filter((c) => c.mutating)).toEqual([]);
    },
  );

  it("as the deploy role, a service the role is not for fails with AWS's AccessDenied naming the action, and changes nothing", async () => {
    const since = lastSeq();
    const run = await deploy({ images: images('v5'), services: 'alva-web\nalva-nope' });
    expect(run.exitCode).toBe(1);
    expect(run.log).toMatch(
      /alva-staging-github-deploy\/e2e-deploy-services is not authorized to perform: ecs:DescribeServices on resource: arn:aws:ecs:us-east-1:123456789012:service\/alva-staging-cluster\/alva-nope/,
    );
    const refused = sim.calls(since).filter((c) => c.errorCode === 'AccessDeniedException');
    expect(refused.map((c) => [c.operation, c.gate?.decision])).toContainEqual([
      'DescribeServices',
      'ImplicitlyDenied',
    ]);
    expect(sim.calls(since).filter((c) => c.mutating)).toEqual([]);
  });

  it('rollback-to: previous returns all four to their previous revisions', async () => {
    const original = await taskDefinitions();
    expect((await deploy({ images: images('v6') })).exitCode).toBe(0);
    const deployed = await taskDefinitions();
    for (const service of services) expect(deployed[service]).not.toBe(original[service]);
    const run = await deploy({ 'rollback-to': 'previous' });
    expect(run.exitCode).toBe(0);
    expect(await taskDefinitions()).toEqual(original);
    const out = JSON.parse(run.outputs.deployments!) as Deployments;
    for (const service of services) {
      expect(out[service]).toMatchObject({
        status: 'deployed',
        registered: false,
        previousTaskDefinition: deployed[service],
        taskDefinition: original[service],
      });
    }
  });

  it('a second deploy of the same images registers nothing and says so', async () => {
    // Steady: every deployment COMPLETED. One still draining would be adopted and followed, not "unchanged".
    expect((await deploy({ images: images('v7'), 'wait-for': 'steady' })).exitCode).toBe(0);
    const since = lastSeq();
    const run = await deploy({ images: images('v7') });
    expect(run.exitCode).toBe(0);
    expect(run.log).toMatch(/alva-web: nothing to deploy/);
    expect(sim.calls(since).filter((c) => c.mutating)).toEqual([]);
  });

  it('on cancellation stops waiting, says where each service stands, starts the rollback and exits non-zero', async () => {
    const before = await taskDefinitions();
    const run = await runAction('deploy-services', {
      inputs: { cluster, services: services.join('\n'), images: images('v8') },
      env: { AWS_ENDPOINT_URL: sim.url },
      timeoutMs: 120_000,
      signal: { name: 'SIGINT', when: /IN_PROGRESS, 0\/1 running/ },
    });
    expect(run.exitCode).toBe(1);
    expect(run.log).toContain('Received SIGINT');
    expect(run.log).toMatch(/Cancelled\. Where each service stands:/);
    for (const service of services) expect(run.log).toMatch(new RegExp(`${service}: cancelled`));
    expect(run.log).toMatch(/rolling back/);
    // The rollbacks were started: every service's PRIMARY is its previous revision again.
    expect(await taskDefinitions()).toEqual(before);
    const out = JSON.parse(run.outputs.deployments!) as Deployments;
    for (const service of services) expect(out[service]!.rollback?.status).toBe('started');
  });

  it('wait-for steady waits for COMPLETED and reports it', async () => {
    const run = await deploy({ images: images('v9'), 'wait-for': 'steady' });
    expect(run.exitCode).toBe(0);
    expect(run.log).toMatch(/alva-web:\d+ steady \(deployment COMPLETED\)/);
  });

  it('force-new-deployment rolls out the unchanged revision again without registering one', async () => {
    expect((await deploy({ images: images('v10') })).exitCode).toBe(0);
    const deployed = await taskDefinitions();
    const since = lastSeq();
    const run = await deploy({ images: images('v10'), 'force-new-deployment': 'true' });
    expect(run.exitCode).toBe(0);
    const mutating = sim.calls(since).filter((c) => c.mutating);
    expect(mutating.map((c) => c.operation)).toEqual(services.map(() => 'UpdateService'));
    for (const call of mutating) expect(call.params).toMatchObject({ forceNewDeployment: true });
    expect(await taskDefinitions()).toEqual(deployed);
  });

  it('fails when someone else replaces the deployment, and rolls every service back', async () => {
    const before = await taskDefinitions();
    const since = lastSeq();
    const running = deploy({ images: images('v11') });
    // As soon as the action has updated all four, someone else deploys alva-web's old revision.
    while (sim.calls(since).filter((c) => c.operation === 'UpdateService').length < services.length) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await ecs.send(
      new UpdateServiceCommand({
        cluster,
        service: 'alva-web',
        taskDefinition: before['alva-web'],
        forceNewDeployment: true,
      }),
    );
    const run = await running;
    expect(run.exitCode).toBe(1);
    expect(run.log).toMatch(/alva-web: another deployment replaced this one/);
    expect(await taskDefinitions()).toEqual(before);
  });

  it('without the ServiceDeployment API, follows deployments[]: the circuit breaker is still a failure and all four roll back', async () => {
    const staging = resolve(root, 'sim/scenarios/staging.json');
    const scenario = JSON.parse(readFileSync(staging, 'utf8')) as Scenario;
    for (const service of scenario.services ?? []) service.serviceDeployments = false;
    await sim.load(scenario);
    try {
      const before = await taskDefinitions();
      const since = lastSeq();
      const run = await deploy({ images: images('v12', { auth: `${registry}/alva-auth:broken-2` }) });
      expect(run.exitCode).toBe(1);
      expect(run.log).toMatch(/alva-auth: the circuit breaker failed the deployment and rolled back/);
      expect(run.log).toMatch(/container auth: exit code 1/);
      expect(await taskDefinitions()).toEqual(before);
      expect(sim.calls(since).filter((c) => c.operation === 'DescribeServiceDeployments')).toEqual([]);
    } finally {
      await sim.load(staging);
    }
  });

  it("a rollout that never turns healthy times out, shows the container's logs, and all four roll back", async () => {
    const staging = resolve(root, 'sim/scenarios/staging.json');
    const scenario = JSON.parse(readFileSync(staging, 'utf8')) as Scenario;
    for (const service of scenario.services ?? []) {
      service.deploymentConfiguration = {
        ...service.deploymentConfiguration,
        deploymentCircuitBreaker: { enable: false, rollback: false },
      };
    }
    await sim.load(scenario);
    try {
      const before = await taskDefinitions();
      const run = await deploy({
        images: images('v13', { web: `${registry}/alva-web:timeout-1` }),
        'timeout-seconds': '6',
      });
      expect(run.exitCode).toBe(1);
      expect(run.log).toMatch(/alva-web: timed out after 6s/);
      expect(run.log).toContain('warming cache...');
      expect(await taskDefinitions()).toEqual(before);
      const out = JSON.parse(run.outputs.deployments!) as Deployments;
      expect(out['alva-web']!.status).toBe('timed-out');
    } finally {
      await sim.load(staging);
    }
  });

  it('a monorepo push: of four services given their digests, only the one whose digest changed is registered and updated', async () => {
    const digest = (c: string) => `sha256:${c.repeat(64)}`;
    const pinned = (webDigest: string) =>
      JSON.stringify({
        web: `${registry}/alva-web@${webDigest}`,
        api: `${registry}/alva-api@${digest('b')}`,
        auth: `${registry}/alva-auth@${digest('c')}`,
        admin: `${registry}/alva-admin@${digest('d')}`,
      });
    // Steady: every deployment settled, so the next run compares against COMPLETED deployments.
    expect((await deploy({ images: pinned(digest('a')), 'wait-for': 'steady' })).exitCode).toBe(0);
    const since = lastSeq();
    const run = await deploy({ images: pinned(digest('e')) });
    expect(run.exitCode).toBe(0);
    const out = JSON.parse(run.outputs.deployments!) as Deployments;
    expect(out['alva-web']).toMatchObject({ status: 'deployed', registered: true });
    for (const service of ['alva-api', 'alva-auth', 'alva-admin'])
      expect(out[service]).toMatchObject({ status: 'unchanged', registered: false, images: [] });
    const mutating = sim.calls(since).filter((c) => c.mutating);
    expect(
      mutating.map(
        (c) =>
          `${c.operation} ${(c.params as { family?: string; service?: string }).family ?? (c.params as { service?: string }).service}`,
      ),
    ).toEqual(['RegisterTaskDefinition alva-web', 'UpdateService alva-web']);
  });

  it('image alone, for one service: its only container gets it (one new revision, one UpdateService)', async () => {
    const image = `${registry}/alva-api@sha256:${'f'.repeat(64)}`;
    const since = lastSeq();
    const run = await deploy({ services: 'alva-api', image });
    expect(run.exitCode).toBe(0);
    const out = JSON.parse(run.outputs.deployments!) as Deployments;
    expect(Object.keys(out)).toEqual(['alva-api']);
    expect(out['alva-api']).toMatchObject({ status: 'deployed', images: [{ container: 'api', to: image }] });
    const mutating = sim.calls(since).filter((c) => c.mutating);
    expect(mutating.map((c) => c.operation)).toEqual(['RegisterTaskDefinition', 'UpdateService']);
    const registered = mutating[0]!.params as { containerDefinitions: { name: string; image: string }[] };
    expect(registered.containerDefinitions.map((d) => [d.name, d.image])).toEqual([['api', image]]);
  });
});
