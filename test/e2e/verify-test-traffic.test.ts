/**
 * verify `traffic: test`, the bundle against the simulator: a blue/green
 * service held at POST_TEST_TRAFFIC_SHIFT by a PAUSE hook (production still
 * on blue) is verified on its GREEN revision through the TEST listener. A good
 * green passes; a green that answers 500 fails naming the check; the ALB data
 * plane's own request log shows every request verify made reached green
 * through the test listener and none reached the production listener. A
 * rolling service asked for test traffic is an input error naming it.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  ContinueServiceDeploymentCommand,
  DescribeServiceDeploymentsCommand,
  ECSClient,
  ListServiceDeploymentsCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { startSim, type Sim } from '../../sim/index.js';
import type { AlbRequestRecord } from '../../sim/elb-engine.js';
import type { VerifyReport } from '../../lib/contracts/verify-report.js';
import { freePort } from '../sim/helpers.js';
import { CLUSTER, blueGreenWorld, keys } from './verify-blue-green.js';
import { runAction } from './run-action.js';

let sim: Sim;
let ecs: ECSClient;
let testPort: number;

beforeAll(async () => {
  testPort = await freePort();
  sim = await startSim({ scenario: blueGreenWorld(testPort), speed: 20, port: 0 });
  ecs = new ECSClient({ region: 'us-east-1', endpoint: sim.url, credentials: keys });
});
afterAll(async () => {
  ecs?.destroy();
  await sim?.close();
});
beforeEach(async () => {
  await sim.reset();
});

/** UpdateService to `revision` (a blue/green deployment starts); its service deployment ARN. */
async function deploy(revision: string): Promise<string> {
  await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: 'web', taskDefinition: revision }));
  const { serviceDeployments = [] } = await ecs.send(
    new ListServiceDeploymentsCommand({ cluster: CLUSTER, service: 'web' }),
  );
  return serviceDeployments[0]!.serviceDeploymentArn!;
}

async function stageOf(
  arn: string,
): Promise<{ status?: string; lifecycleStage?: string; lifecycleHookDetails?: { hookId?: string }[] }> {
  const { serviceDeployments = [] } = await ecs.send(
    new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] }),
  );
  return serviceDeployments[0]!;
}

function verify(inputs: Record<string, string>) {
  return runAction('verify', {
    inputs: { cluster: CLUSTER, services: 'web', traffic: 'test', 'consecutive-successes': '3', ...inputs },
    env: { AWS_ENDPOINT_URL: sim.url },
    timeoutMs: 120_000,
  });
}

const reportOf = (run: { outputs: Record<string, string> }) =>
  JSON.parse(run.outputs.report!) as VerifyReport;

/** The ALB data plane's request log after `since`, and the production listener's ARN. */
async function albLog(
  since: number,
): Promise<{ requests: AlbRequestRecord[]; production: string; test: string }> {
  const response = await fetch(`${sim.url}/_sim/alb-requests?since=${since}`);
  const { listeners, requests } = (await response.json()) as {
    listeners: { listenerArn: string; port: number }[];
    requests: AlbRequestRecord[];
  };
  const production = listeners.find((l) => l.port === 80)!.listenerArn;
  const test = listeners.find((l) => l.port === testPort)!.listenerArn;
  return { requests, production, test };
}

const lastSeq = async () => (await albLog(0)).requests.at(-1)?.seq ?? 0;

describe('verify traffic: test (bundle against the simulator)', () => {
  it('a rolling service asked for test traffic is an input error naming it and the fix; nothing is checked', async () => {
    const since = await lastSeq();
    const run = await verify({ services: 'web\nworker', checks: 'GET / 200', 'timeout-seconds': '30' });
    expect(run.exitCode).toBe(1);
    expect(run.log).toContain(
      'Input "traffic": is "test", but service "worker" deploys with the ROLLING strategy: it has no green revision and no test listener',
    );
    expect(run.log).toContain('set `traffic: production` (the default) for rolling services');
    expect((await albLog(since)).requests).toEqual([]);
  });

  it('fails naming the check when green answers 500; every request went to green through the test listener, none to production', async () => {
    const arn = await deploy('web:3');
    const since = await lastSeq();
    const run = await verify({ checks: 'GET / 200', 'timeout-seconds': '25' });
    expect(run.exitCode).toBe(1);
    const report = reportOf(run);
    expect(report.status).toBe('failed');
    expect(report.traffic).toBe('test');
    // The targets passed: green is healthy for the ALB; the check is what fails.
    expect(report.services[0]!.ok).toBe(true);
    expect(report.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^HTTP GET \/ 200 \(http:\/\/127\.0\.0\.1:\d+\/, served by web's green web:3\): .*500/,
        ),
      ]),
    );
    expect(run.log).toMatch(/HTTP GET \/ 200 .*500/);
    const { requests, production, test } = await albLog(since);
    const verifyRequests = requests.filter((r) => r.path === '/');
    expect(verifyRequests.length).toBeGreaterThan(0);
    expect(verifyRequests.filter((r) => r.listenerArn === production)).toEqual([]);
    for (const r of verifyRequests) {
      expect(r).toMatchObject({ listenerArn: test, targetGroup: 'web-green', status: 500 });
      expect(r.taskDefinitionArn).toMatch(/:task-definition\/web:3$/);
    }
    // verify changed nothing: the deployment still waits at the gate.
    expect(await stageOf(arn)).toMatchObject({
      status: 'IN_PROGRESS',
      lifecycleStage: 'POST_TEST_TRAFFIC_SHIFT',
    });
  });

  it('passes on a good green held at POST_TEST_TRAFFIC_SHIFT, and says which revision and listener it checked', async () => {
    const arn = await deploy('web:2');
    const since = await lastSeq();
    // Started before test traffic moves: verify waits for the test listener rule to send all of it to green.
    const run = await verify({ checks: 'GET / 200 "revision":2', 'timeout-seconds': '60' });
    expect(run.log).not.toMatch(/::error::/);
    expect(run.exitCode).toBe(0);
    const report = reportOf(run);
    expect(report).toMatchObject({
      status: 'passed',
      traffic: 'test',
      baseUrl: `http://127.0.0.1:${testPort}`,
    });
    const { requests, production, test } = await albLog(since);
    expect(report.testListener).toEqual({ listenerArn: test, port: testPort });
    const [web] = report.services;
    expect(web!.testTraffic).toMatchObject({
      serviceDeploymentArn: arn,
      taskDefinition: expect.stringMatching(/:task-definition\/web:2$/),
      deploymentStatus: 'IN_PROGRESS',
      lifecycleStage: 'POST_TEST_TRAFFIC_SHIFT',
      testListenerArn: test,
      testWeightPercent: 100,
    });
    // Green's target group is judged: two healthy targets, both green tasks.
    expect(web!.targetGroups).toHaveLength(1);
    expect(web!.targetGroups[0]).toMatchObject({
      targetGroupName: 'web-green',
      healthy: 2,
      desired: 2,
      ok: true,
    });
    expect(web!.targetGroups[0]!.targets.every((t) => t.revisionRole === 'new')).toBe(true);
    expect(report.checks[0]).toMatchObject({ ok: true, passes: 3, status: 200 });
    const verifyRequests = requests.filter((r) => r.path === '/');
    expect(verifyRequests.length).toBeGreaterThanOrEqual(3);
    expect(verifyRequests.filter((r) => r.listenerArn === production)).toEqual([]);
    for (const r of verifyRequests) expect(r).toMatchObject({ listenerArn: test, targetGroup: 'web-green' });
    expect(run.summary).toContain('Test traffic');
    expect(run.summary).toContain('POST_TEST_TRAFFIC_SHIFT');
    // verify changed nothing: the deployment still waits at the gate, production on blue.
    expect(await stageOf(arn)).toMatchObject({
      status: 'IN_PROGRESS',
      lifecycleStage: 'POST_TEST_TRAFFIC_SHIFT',
    });
  });

  it('after the release, production traffic is verified on the target group the production rule sends it to (green, the alternate), not the emptied blue one', async () => {
    const arn = await deploy('web:2');
    for (;;) {
      const held = await stageOf(arn);
      if (held.lifecycleStage === 'POST_TEST_TRAFFIC_SHIFT' && held.lifecycleHookDetails?.[0]?.hookId) {
        await ecs.send(
          new ContinueServiceDeploymentCommand({
            serviceDeploymentArn: arn,
            hookId: held.lifecycleHookDetails[0].hookId,
            action: 'CONTINUE',
          }),
        );
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    while ((await stageOf(arn)).status !== 'SUCCESSFUL')
      await new Promise((resolve) => setTimeout(resolve, 200));
    const since = await lastSeq();
    const run = await verify({
      traffic: 'production',
      checks: 'GET / 200 "revision":2',
      'timeout-seconds': '20',
      'base-url': '',
    });
    expect(run.log).not.toMatch(/::error::/);
    expect(run.exitCode).toBe(0);
    const [web] = reportOf(run).services;
    expect(web!.targetGroups.map((tg) => [tg.targetGroupName, tg.healthy, tg.ok])).toEqual([
      ['web-green', 2, true],
    ]);
    const { requests, production } = await albLog(since);
    const checked = requests.filter((r) => r.path === '/');
    expect(checked.length).toBeGreaterThanOrEqual(3);
    for (const r of checked) expect(r).toMatchObject({ listenerArn: production, targetGroup: 'web-green' });
  });

  it('the gate closes while verify checks (the pause hook answered ROLLBACK): verify fails at once naming the rollback', async () => {
    const arn = await deploy('web:3');
    const since = await lastSeq();
    const running = verify({ checks: 'GET / 200', 'timeout-seconds': '90' });
    // Once verify's checks reach green through the test listener, the release's gate closes.
    for (;;) {
      const { requests, test } = await albLog(since);
      if (requests.some((r) => r.listenerArn === test)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const held = await stageOf(arn);
    await ecs.send(
      new ContinueServiceDeploymentCommand({
        serviceDeploymentArn: arn,
        hookId: held.lifecycleHookDetails![0]!.hookId!,
        action: 'ROLLBACK',
      }),
    );
    const run = await running;
    expect(run.exitCode).toBe(1);
    const report = reportOf(run);
    expect(report.problems[0]).toMatch(
      /^web: the deployment of green web:3 \(.+\) is ROLLBACK_\w+ \(A user requested the rollback\.\): it was stopped or rolled back before verify passed on test traffic$/,
    );
    // A terminal verdict, not the timeout: verify stopped long before its 90 s.
    expect(report.problems.join('\n')).not.toContain('not verified within');
  });
});
