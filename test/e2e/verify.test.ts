/**
 * The committed verify bundle, run as the runner runs it, against the
 * simulator and its ALB data plane: a staging deploy that verifies, a new
 * revision failing its health checks, an update that never happened, HTTP
 * checks whose status or body is wrong, a throttling burst, and bad input.
 * Deploys go through the SDK directly (DescribeTaskDefinition,
 * RegisterTaskDefinition, UpdateService), as deploy-services would make them.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
  type RegisterTaskDefinitionRequest,
} from '@aws-sdk/client-ecs';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Scenario, type Sim } from '../../sim/index.js';
import type { VerifyReport } from '../../lib/contracts/verify-report.js';
import { runAction } from './run-action.js';
import { operatorCredentials, startTestSim } from '../sim/helpers.js';

const root = resolve(import.meta.dirname, '..', '..');
const cluster = 'alva-staging-cluster';
const services = ['alva-web', 'alva-api', 'alva-auth', 'alva-admin'];
const container: Record<string, string> = {
  'alva-web': 'web',
  'alva-api': 'api',
  'alva-auth': 'auth',
  'alva-admin': 'admin',
};
const checks = [
  'GET / 200 "service":"alva-web"',
  'GET /api/health 200 "service":"alva-api"',
  'GET /auth/health 200 "service":"alva-auth"',
  'GET /admin/health 200 "service":"alva-admin"',
].join('\n');

// Staging, plus an image that is healthy for the ALB but answers requests with an error page.
const scenario = JSON.parse(readFileSync(resolve(root, 'sim/scenarios/staging.json'), 'utf8')) as Scenario;
scenario.images = {
  '*:wrongpage-*': { http: { status: 500, body: 'Internal Server Error: template "home" not found' } },
  ...scenario.images,
};

let sim: Sim;
let ecs: ECSClient;

type Deployments = Record<
  string,
  { service: string; previousTaskDefinition: string; taskDefinition: string }
>;

/** Registers a revision of each service's task definition with the image tag, and updates the service unless told not to. */
async function deploy(
  tags: Record<string, string>,
  options: { update?: boolean; disableCircuitBreaker?: boolean; gracePeriodSeconds?: number } = {},
): Promise<Deployments> {
  const { services: described = [] } = await ecs.send(
    new DescribeServicesCommand({ cluster, services: Object.keys(tags) }),
  );
  const out: Deployments = {};
  for (const [service, tag] of Object.entries(tags)) {
    const previous = described.find((s) => s.serviceName === service)!.taskDefinition!;
    const { taskDefinition: td } = await ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: previous }),
    );
    const request: RegisterTaskDefinitionRequest = {
      family: td!.family!,
      containerDefinitions: td!.containerDefinitions!.map((c) =>
        c.name === container[service] ? { ...c, image: c.image!.replace(/:[^:]+$/, `:${tag}`) } : c,
      ),
      networkMode: td!.networkMode,
      requiresCompatibilities: td!.requiresCompatibilities,
      cpu: td!.cpu,
      memory: td!.memory,
      executionRoleArn: td!.executionRoleArn,
      taskRoleArn: td!.taskRoleArn,
    };
    const registered = await ecs.send(new RegisterTaskDefinitionCommand(request));
    const arn = registered.taskDefinition!.taskDefinitionArn!;
    if (options.update !== false) {
      await ecs.send(
        new UpdateServiceCommand({
          cluster,
          service,
          taskDefinition: arn,
          ...(options.disableCircuitBreaker
            ? { deploymentConfiguration: { deploymentCircuitBreaker: { enable: false, rollback: false } } }
            : {}),
          ...(options.gracePeriodSeconds !== undefined
            ? { healthCheckGracePeriodSeconds: options.gracePeriodSeconds }
            : {}),
        }),
      );
    }
    out[service] = { service, previousTaskDefinition: previous, taskDefinition: arn };
  }
  return out;
}

function verify(inputs: Record<string, string>, env: Record<string, string> = {}) {
  return runAction('verify', {
    inputs: { cluster, services: services.join('\n'), ...inputs },
    env: { AWS_ENDPOINT_URL: sim.url, ...env },
    timeoutMs: 120_000,
  });
}

const reportOf = (run: { outputs: Record<string, string> }) =>
  JSON.parse(run.outputs.report!) as VerifyReport;

beforeAll(async () => {
  sim = await startTestSim({ scenario, speed: 20, port: 0 });
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

describe('verify (bundle against the simulator)', () => {
  it('passes after a staging deploy: four target groups healthy on the new revisions, checks through the ALB', async () => {
    const deployments = await deploy(Object.fromEntries(services.map((s) => [s, 'v2'])));
    const run = await verify({
      deployments: JSON.stringify(deployments),
      checks,
      'consecutive-successes': '3',
      'timeout-seconds': '60',
    });
    expect(run.log).not.toMatch(/::error::/);
    expect(run.exitCode).toBe(0);
    const report = reportOf(run);
    expect(report.status).toBe('passed');
    expect(report.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const tgs = report.services.flatMap((s) => s.targetGroups);
    expect(tgs.map((tg) => tg.targetGroupName).sort()).toEqual([
      'alva-staging-admin',
      'alva-staging-api',
      'alva-staging-auth',
      'alva-staging-web',
    ]);
    for (const tg of tgs) {
      expect(tg).toMatchObject({ ok: true, healthy: 1, desired: 1 });
      const serving = tg.targets.filter((t) => t.verdict === 'serving');
      expect(serving).toHaveLength(1);
      expect(serving[0]!.revisionRole).toBe('new');
    }
    for (const s of report.services) expect(s.newTaskDefinition).toBe(deployments[s.service]!.taskDefinition);
    for (const c of report.checks) {
      expect(c).toMatchObject({ ok: true, passes: 3, required: 3, status: 200 });
      expect(c.latencyMs).toEqual(expect.any(Number));
    }
    expect(run.summary).toContain('alva-staging-api');
    expect(run.summary).toContain('Release verified');
    // The step ends by itself once its work is done: no process.exit(), and no idle
    // keep-alive socket of its SDK clients holds the process open (main destroys them).
    expect(run.signal).toBeNull();
    expect(run.durationMs - report.durationMs).toBeLessThan(5_000);
    // Progress lines name the new revision as it comes up.
    expect(run.log).toMatch(/alva-api → alva-staging-api \(alva-api:\d+\): 1\/1 healthy on the new revision/);
  });

  it("reads deploy-services' own deployments output and verifies right after it", async () => {
    const registry = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
    const deployed = await runAction('deploy-services', {
      inputs: {
        cluster,
        services: services.join('\n'),
        images: JSON.stringify(
          Object.fromEntries(Object.values(container).map((c) => [c, `${registry}/alva-${c}:v7`])),
        ),
      },
      env: { AWS_ENDPOINT_URL: sim.url },
      timeoutMs: 120_000,
    });
    expect(deployed.exitCode).toBe(0);
    const run = await verify({ deployments: deployed.outputs.deployments!, checks, 'timeout-seconds': '60' });
    expect(run.exitCode).toBe(0);
    const report = reportOf(run);
    const expected = JSON.parse(deployed.outputs.deployments!) as Deployments;
    for (const s of report.services) {
      expect(s.newTaskDefinition).toBe(expected[s.service]!.taskDefinition);
      expect(s.previousTaskDefinition).toBe(expected[s.service]!.previousTaskDefinition);
    }
    expect(report.services.flatMap((s) => s.targetGroups).every((tg) => tg.ok && tg.healthy === 1)).toBe(
      true,
    );
  });

  it('fails within its timeout when the new revision fails health checks, naming the target group and reason code', async () => {
    // A long grace period keeps ECS from replacing the failing task during the run, as on a slow-starting service.
    const deployments = await deploy(
      { 'alva-api': 'unhealthy-1' },
      { disableCircuitBreaker: true, gracePeriodSeconds: 3600 },
    );
    const run = await verify({
      services: 'alva-api',
      deployments: JSON.stringify(deployments),
      'timeout-seconds': '8',
    });
    expect(run.exitCode).toBe(1);
    expect(run.durationMs).toBeLessThan(60_000);
    const report = reportOf(run);
    expect(report.status).toBe('failed');
    expect(run.log).toMatch(/::error::Verification failed/);
    expect(run.log).toContain('alva-api / target group alva-staging-api');
    expect(run.log).toContain('Target.ResponseCodeMismatch');
    expect(run.log).toContain('Health checks failed with these codes: [503]');
    const tg = report.services[0]!.targetGroups[0]!;
    expect(tg.ok).toBe(false);
    expect(tg.failuresSeen?.[0]).toMatchObject({ state: 'unhealthy', reason: 'Target.ResponseCodeMismatch' });
    // The old revision kept serving (minimumHealthyPercent 100) and is named as such.
    expect(run.log).toMatch(
      /an old revision still serving; task \w+ \(alva-api:\d+, old revision, RUNNING\)/,
    );
  });

  it('names the cause from ECS service events when the failing tasks were already replaced', async () => {
    // Staging's 10 s grace period: ECS stops each failing task soon after its target turns unhealthy.
    const deployments = await deploy({ 'alva-api': 'unhealthy-1' }, { disableCircuitBreaker: true });
    const run = await verify({
      services: 'alva-api',
      deployments: JSON.stringify(deployments),
      'timeout-seconds': '8',
    });
    expect(run.exitCode).toBe(1);
    expect(run.log).toMatch(
      /alva-api: ECS event [^:]+:[^:]+:[^ ]+ \(service alva-api\) \(port 3001\) is unhealthy in \(target-group arn:aws:elasticloadbalancing:[^)]*targetgroup\/alva-staging-api\/[^)]*\) due to \(reason Health checks failed with these codes: \[503\]\)/,
    );
    expect(reportOf(run).services[0]!.events?.length).toBeGreaterThan(0);
  });

  it('fails at once when the service still runs the old revision that deployments says was replaced', async () => {
    const deployments = await deploy({ 'alva-web': 'v3' }, { update: false });
    const run = await verify({
      services: 'alva-web',
      deployments: JSON.stringify(deployments),
      'timeout-seconds': '120',
    });
    expect(run.exitCode).toBe(1);
    expect(run.durationMs).toBeLessThan(30_000);
    const report = reportOf(run);
    expect(report.problems[0]).toMatch(
      /^alva-web: the service's PRIMARY deployment runs alva-web:\d+, not alva-web:\d+ that `deployments` names as new: the update never happened/,
    );
    expect(run.log).toMatch(/target [\d.]+:3000 is healthy; an old revision still serving/);
  });

  it('fails an HTTP check whose status or body does not match, with the status and a body excerpt', async () => {
    const deployments = await deploy({ 'alva-web': 'wrongpage-1', 'alva-api': 'v2' });
    const run = await verify({
      services: 'alva-web\nalva-api',
      deployments: JSON.stringify(deployments),
      checks: 'GET / 200\nGET /api/health 200 "revision":999',
      'timeout-seconds': '15',
    });
    expect(run.exitCode).toBe(1);
    const report = reportOf(run);
    // The targets themselves are fine: only the checks fail.
    expect(report.services.every((s) => s.ok)).toBe(true);
    const [web, api] = report.checks;
    expect(web).toMatchObject({ ok: false, status: 500 });
    expect(web!.bodyExcerpt).toContain('Internal Server Error: template "home" not found');
    expect(api).toMatchObject({ ok: false, status: 200 });
    expect(api!.bodyExcerpt).toContain('"service":"alva-api"');
    expect(run.log).toContain('GET / 200 (http://127.0.0.1:');
    expect(run.log).toContain(
      'got 500, expected 200; body: Internal Server Error: template "home" not found',
    );
    expect(run.log).toContain('body does not contain `"revision":999`; body: {"service":"alva-api"');
  });

  it('survives a throttling burst on every API it reads', async () => {
    const deployments = await deploy(Object.fromEntries(services.map((s) => [s, 'v2'])));
    sim.addFaults([
      { service: 'ecs', operation: 'DescribeServices', kind: 'throttle', count: 3 },
      { service: 'ecs', operation: 'DescribeTasks', kind: 'throttle', after: 2, count: 3 },
      { service: 'elbv2', operation: 'DescribeTargetHealth', kind: 'throttle', count: 6 },
      { service: 'elbv2', operation: 'DescribeLoadBalancers', kind: 'throttle', count: 2 },
    ]);
    const since = sim.calls().at(-1)?.seq ?? 0;
    const run = await verify({ deployments: JSON.stringify(deployments), checks, 'timeout-seconds': '90' });
    expect(run.exitCode).toBe(0);
    expect(
      sim.calls(since).filter((c) => c.fault === 'throttle' && c.operation === 'DescribeTargetHealth').length,
    ).toBe(6);
  });

  it('stops at once on SIGINT and fails, saying it was cancelled', async () => {
    const deployments = await deploy({ 'alva-auth': 'unhealthy-2' }, { disableCircuitBreaker: true });
    const run = await runAction('verify', {
      inputs: {
        cluster,
        services: 'alva-auth',
        deployments: JSON.stringify(deployments),
        'timeout-seconds': '600',
      },
      env: { AWS_ENDPOINT_URL: sim.url },
      signal: { name: 'SIGINT', when: /alva-auth → alva-staging-auth/ },
      timeoutMs: 60_000,
    });
    expect(run.exitCode).toBe(1);
    expect(run.log).toContain('::error::Verification cancelled: received SIGINT');
    expect(run.durationMs).toBeLessThan(30_000);
  });

  it.each([
    [{ services: '' }, 'Input "services": is required but empty'],
    [{ checks: 'GET /api/health' }, 'Input "checks": line 1 "GET /api/health"'],
    [{ deployments: '{not json' }, 'Input "deployments": is not valid JSON'],
    [{ 'timeout-seconds': '-5' }, 'Input "timeout-seconds": "-5" is not a whole number'],
    [{ 'base-url': 'staging.example.com' }, 'Input "base-url": "staging.example.com" is not an http(s) URL'],
  ])('rejects bad input %j before any AWS call', async (inputs, message) => {
    const since = sim.calls().at(-1)?.seq ?? 0;
    const run = await verify(inputs);
    expect(run.exitCode).toBe(1);
    expect(run.log).toContain(message);
    expect(sim.calls(since)).toEqual([]);
  });
});
