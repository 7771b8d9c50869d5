/**
 * Every failure names its cause: the committed deploy-services and verify
 * bundles against the simulator, judged from what the simulator did (which
 * task it stopped, why, with which exit code) and what the action said.
 * - a 502 on the health-check path: the target group, the path and the 502,
 *   whatever the poll timing (a fast simulator, so polls rarely see it);
 * - a late crash (staging's `*:latecrash-*`: healthy, then the container
 *   exits 30 s later): verify fails naming the stopped task's reason, exit
 *   code and last log lines, never `undefined`;
 * - verify cancelled: the `report` output is written, saying where each
 *   service stands.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Scenario, type Sim, type SimEvent } from '../../sim/index.js';
import type { VerifyReport } from '../../lib/contracts/verify-report.js';
import { runAction } from './run-action.js';
import { operatorCredentials, startTestSim } from '../sim/helpers.js';

const root = resolve(import.meta.dirname, '..', '..');
const cluster = 'alva-staging-cluster';
const registry = '123456789012.dkr.ecr.us-east-1.amazonaws.com';

const scenario = JSON.parse(readFileSync(resolve(root, 'sim/scenarios/staging.json'), 'utf8')) as Scenario;
scenario.images = {
  // The health path answers 502 (e.g. the app's upstream is down); the task itself keeps running.
  '*:badgateway-*': {
    health: 'unhealthy',
    healthStatus: 502,
    http: { status: 502, body: 'Bad Gateway' },
    logLines: ['Server listening on 0.0.0.0', 'upstream connect error: connection refused'],
  },
  ...scenario.images,
};

let sim: Sim;
let ecs: ECSClient;

async function startSimAt(speed: number): Promise<void> {
  sim = await startTestSim({ scenario, speed, port: 0 });
  ecs = new ECSClient({
    region: 'us-east-1',
    endpoint: sim.url,
    credentials: operatorCredentials(sim),
  });
}

async function stopSim(): Promise<void> {
  ecs?.destroy();
  await sim?.close();
}

/** The tasks the simulator asked to stop, with the reason it gave. */
function stopRequests(since = 0): SimEvent[] {
  return sim.events(since).filter((e) => e.kind === 'task.stop-requested');
}

/** Registers a revision of alva-api with the image tag and updates the service, as deploy-services would. */
async function deployApi(tag: string): Promise<Record<string, unknown>> {
  const service = 'alva-api';
  const { services = [] } = await ecs.send(new DescribeServicesCommand({ cluster, services: [service] }));
  const previous = services[0]!.taskDefinition!;
  const { taskDefinition: td } = await ecs.send(
    new DescribeTaskDefinitionCommand({ taskDefinition: previous }),
  );
  const registered = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: td!.family!,
      containerDefinitions: td!.containerDefinitions!.map((c) => ({
        ...c,
        image: c.image!.replace(/:[^:]+$/, `:${tag}`),
      })),
      networkMode: td!.networkMode,
      requiresCompatibilities: td!.requiresCompatibilities,
      cpu: td!.cpu,
      memory: td!.memory,
      executionRoleArn: td!.executionRoleArn,
      taskRoleArn: td!.taskRoleArn,
    }),
  );
  const arn = registered.taskDefinition!.taskDefinitionArn!;
  await ecs.send(
    new UpdateServiceCommand({
      cluster,
      service,
      taskDefinition: arn,
      deploymentConfiguration: { deploymentCircuitBreaker: { enable: false, rollback: false } },
    }),
  );
  return { [service]: { service, previousTaskDefinition: previous, taskDefinition: arn } };
}

describe('deploy-services explains a failed health check (bundle, fast simulator)', () => {
  // At 100× a health check runs every 50 ms of real time: the follow loop's polls rarely see the target unhealthy.
  beforeAll(() => startSimAt(100));
  afterAll(stopSim);

  it('a 502 on the health path names the target group, the path and the 502', async () => {
    const run = await runAction('deploy-services', {
      inputs: {
        cluster,
        services: 'alva-api',
        images: JSON.stringify({ api: `${registry}/alva-api:badgateway-1` }),
        'timeout-seconds': '600',
      },
      env: { AWS_ENDPOINT_URL: sim.url },
      timeoutMs: 180_000,
    });
    expect(run.exitCode).toBe(1);
    // The simulator stopped the new tasks for failing their ELB health checks.
    const stopped = stopRequests().filter((e) =>
      String(e.detail.stoppedReason).includes('failed ELB health checks'),
    );
    expect(stopped.length).toBeGreaterThan(0);
    // One line of the explanation names the target group, what its health check asks for, and what it got.
    const why = run.log.slice(run.log.indexOf('Why it failed'));
    const healthCheck = why.split('\n').find((line) => line.includes('target group alva-staging-api'));
    expect(healthCheck).toContain('GET /api/health');
    expect(healthCheck).toMatch(/got: .*\b502\b/);
    expect(run.log).not.toContain('undefined');
  }, 240_000);
});

describe('verify explains a late crash and writes its report on every path (bundle)', () => {
  beforeAll(() => startSimAt(20));
  afterAll(stopSim);
  beforeEach(() => sim.reset());

  it('a revision healthy then crashing fails verify, naming the stop reason, exit code and last log lines', async () => {
    const since = sim.events().at(-1)?.seq ?? 0;
    const deployments = await deployApi('latecrash-1');
    const run = await runAction('verify', {
      inputs: {
        cluster,
        services: 'alva-api',
        deployments: JSON.stringify(deployments),
        checks: 'GET /api/health 200',
        'consecutive-successes': '8',
        'timeout-seconds': '300',
      },
      env: { AWS_ENDPOINT_URL: sim.url },
      timeoutMs: 120_000,
    });
    expect(run.exitCode).toBe(1);
    // The simulator's account: a task of the new revision was healthy, then its essential container exited.
    const events = sim.events(since);
    const newRevision = String((deployments['alva-api'] as { taskDefinition: string }).taskDefinition);
    const exited = events.filter(
      (e) =>
        e.kind === 'container.exited' && e.detail.taskDefinition === newRevision && e.detail.exitCode === 1,
    );
    expect(exited.length).toBeGreaterThan(0);
    const crashedArn = String(exited[0]!.detail.taskArn);
    const healthyFirst = events.find(
      (e) => e.kind === 'target.health' && e.detail.state === 'healthy' && e.detail.taskArn === crashedArn,
    );
    expect(healthyFirst!.seq).toBeLessThan(exited[0]!.seq);
    const stop = events.find((e) => e.kind === 'task.stop-requested' && e.detail.taskArn === crashedArn)!;
    const crashedTask = crashedArn.split('/').at(-1)!;
    expect(run.log).toContain(crashedTask);
    expect(run.log).toContain(`${String(stop.detail.stopCode)}: ${String(stop.detail.stoppedReason)}`);
    expect(run.log).toContain('container api: exit code 1');
    expect(run.log).toContain('Unhandled promise rejection: Error: connect ETIMEDOUT 10.0.3.17:6379 (redis)');
    expect(run.log).not.toContain('undefined');
    const report = JSON.parse(run.outputs.report!) as VerifyReport;
    expect(report.status).toBe('failed');
    expect(report.problems.join('\n')).toContain(crashedTask);
  }, 180_000);

  it('verify cancelled while waiting still writes its report and a summary of where each service stands', async () => {
    const deployments = await deployApi('badgateway-2');
    const run = await runAction('verify', {
      inputs: {
        cluster,
        services: 'alva-api',
        deployments: JSON.stringify(deployments),
        'timeout-seconds': '600',
      },
      env: { AWS_ENDPOINT_URL: sim.url },
      signal: { name: 'SIGINT', when: /alva-api → alva-staging-api/ },
      timeoutMs: 60_000,
    });
    expect(run.exitCode).toBe(1);
    expect(run.log).toContain('Verification cancelled: received SIGINT');
    const report = JSON.parse(run.outputs.report!) as VerifyReport;
    expect(report.status).toBe('failed');
    expect(report.problems.join('\n')).toMatch(/cancelled/);
    // Where the service stands, as ECS says it: the revision its PRIMARY deployment runs.
    const { services = [] } = await ecs.send(
      new DescribeServicesCommand({ cluster, services: ['alva-api'] }),
    );
    const primary = services[0]!.deployments!.find((d) => d.status === 'PRIMARY')!;
    expect(report.services.map((s) => [s.service, s.primaryTaskDefinition])).toEqual([
      ['alva-api', primary.taskDefinition],
    ]);
    expect(run.summary).toContain('alva-api');
    expect(run.summary).toContain('alva-staging-api');
  }, 120_000);

  it('verify during an outage longer than the SDK retries fails at its deadline and still writes its report', async () => {
    const deployments = await deployApi('v3');
    const since = sim.calls().at(-1)?.seq ?? 0;
    sim.addFaults([{ service: 'ecs', operation: 'DescribeServices', kind: 'http500', count: 100_000 }]);
    const run = await runAction('verify', {
      inputs: {
        cluster,
        services: 'alva-api',
        deployments: JSON.stringify(deployments),
        'timeout-seconds': '8',
      },
      env: { AWS_ENDPOINT_URL: sim.url, AWS_MAX_ATTEMPTS: '2' },
      timeoutMs: 90_000,
    });
    expect(run.exitCode).toBe(1);
    // It kept reading through the outage (more calls than one read's retries), and changed nothing.
    const calls = sim.calls(since);
    expect(
      calls.filter((c) => c.operation === 'DescribeServices' && c.fault === 'http500').length,
    ).toBeGreaterThan(2);
    expect(calls.filter((c) => c.mutating)).toEqual([]);
    const report = JSON.parse(run.outputs.report!) as VerifyReport;
    expect(report.status).toBe('failed');
    expect(report.problems[0]).toMatch(/^not verified within 8s: AWS could not be read for the last \d+s/);
    expect(run.summary).toContain('AWS could not be read');
  }, 120_000);
});
