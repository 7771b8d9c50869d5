/**
 * infra/ with one service switched to blue/green (context deployments=api=blue-green),
 * synthesized and loaded as the world: the loader maps the service's strategy, its
 * advancedConfiguration and lifecycle hook, the weighted production and test rules,
 * the hook's Lambda function (its asset directory in the assembly) and the gate's SSM
 * parameter; the simulator then runs the release gate that ships (infra/lambda/release-gate)
 * as ECS would: a closed gate rolls green back before any production traffic moves, a
 * pending one holds it, an open one naming its revision lets production shift.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  ECSClient,
  ListServiceDeploymentsCommand,
  UpdateServiceCommand,
  type ServiceDeployment,
} from '@aws-sdk/client-ecs';
import {
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import {
  INFRA_DIR,
  readOverlay,
  scenarioFromApp,
  STAGING_OVERLAY,
  type AssemblyLoad,
} from '../../sim/assembly/index.js';
import { startSim, type Sim } from '../../sim/index.js';

const CLUSTER = 'alva-staging-cluster';
const GATE = '/alva-staging/release-gate';
const overlay = readOverlay(STAGING_OVERLAY);
let world: AssemblyLoad;

beforeAll(() => {
  world = scenarioFromApp({ appDir: INFRA_DIR, overlay, context: { deployments: 'api=blue-green' } });
}, 180_000);

const serviceSpec = (name: string) => world.scenario.services!.find((s) => s.name === name)!;

describe('the loader maps a blue/green service of infra/', () => {
  it('keeps the other services rolling and gives api its strategy, hook and advancedConfiguration', () => {
    expect(serviceSpec('alva-web').deploymentConfiguration?.strategy).toBeUndefined();
    const api = serviceSpec('alva-api');
    const fn = world.scenario.lambdaFunctions!.find((f) => f.name === 'alva-staging-release-gate')!;
    expect(api.deploymentConfiguration).toMatchObject({
      strategy: 'BLUE_GREEN',
      bakeTimeInMinutes: 5,
      deploymentCircuitBreaker: { enable: true, rollback: true },
      lifecycleHooks: [{ hookTargetArn: fn.arn, lifecycleStages: ['POST_TEST_TRAFFIC_SHIFT'] }],
    });
    const hookRole = api.deploymentConfiguration!.lifecycleHooks![0]!.roleArn!;
    expect(world.scenario.iam!.roles.map((r) => r.arn)).toContain(hookRole);
    const advanced = api.loadBalancers![0]!.advancedConfiguration!;
    expect(advanced.alternateTargetGroup).toBe('alva-staging-api-alt');
    const listeners = world.scenario.loadBalancers![0]!.listeners;
    const rule = (port: number) =>
      listeners.find((l) => l.port === port)!.rules!.find((r) => r.priority === 10)!;
    expect(advanced.productionListenerRule).toBe(rule(80).arn);
    expect(advanced.testListenerRule).toBe(rule(9000).arn);
    for (const port of [80, 9000]) {
      expect(rule(port).weightedTargetGroups).toEqual([
        { targetGroup: 'alva-staging-api', weight: 100 },
        { targetGroup: 'alva-staging-api-alt', weight: 0 },
      ]);
    }
    expect(listeners.find((l) => l.port === 9000)!.defaultFixedResponse?.statusCode).toBe(404);
  });

  it("loads the hook from the assembly's asset directory, with its role and environment, and the gate parameter", () => {
    const fn = world.scenario.lambdaFunctions!.find((f) => f.name === 'alva-staging-release-gate')!;
    expect(fn).toMatchObject({
      runtime: 'nodejs24.x',
      handler: 'index.handler',
      environment: { GATE_PARAMETER: GATE, CALLBACK_DELAY_SECONDS: '15' },
      timeoutSeconds: 10,
    });
    expect(existsSync(join(fn.code.path!, 'index.mjs'))).toBe(true);
    expect(fn.code.path).toMatch(/asset\.[0-9a-f]+$/);
    expect(world.scenario.iam!.roles.map((r) => r.arn)).toContain(fn.role);
    const gate = world.scenario.ssmParameters!.find((p) => p.name === GATE)!;
    expect(JSON.parse(gate.value)).toMatchObject({ state: 'closed' });
  });
});

describe('the release gate from the assembly, run by the simulator', () => {
  let sim: Sim;
  let ecs: ECSClient;
  let ssm: SSMClient;
  let elb: ElasticLoadBalancingV2Client;

  beforeAll(async () => {
    // Permissive: the pipeline's calls are the deploy role's session (authorized by its policy);
    // the test's own reads of the rules are no session's (deploy-services' role is not this test's subject).
    sim = await startSim({
      scenario: { ...world.scenario, iam: { ...world.scenario.iam!, mode: 'permissive' } },
      speed: 60,
      port: 0,
    });
    const deploy = sim.session('alva-staging-github-deploy');
    const config = { endpoint: sim.url, region: 'us-east-1', credentials: deploy };
    ecs = new ECSClient(config);
    ssm = new SSMClient(config);
    elb = new ElasticLoadBalancingV2Client({
      endpoint: sim.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
    });
  }, 60_000);

  afterAll(async () => {
    ecs?.destroy();
    ssm?.destroy();
    elb?.destroy();
    await sim?.close();
  });

  const latestDeployment = async (): Promise<ServiceDeployment | undefined> => {
    const listed = await ecs.send(
      new ListServiceDeploymentsCommand({ cluster: CLUSTER, service: 'alva-api' }),
    );
    const arn = listed.serviceDeployments?.[0]?.serviceDeploymentArn;
    if (!arn) return undefined;
    const described = await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] }));
    return described.serviceDeployments?.[0];
  };
  const until = async <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => {
    for (let i = 0; i < 600; i++) {
      const found = await probe();
      if (found !== undefined) return found;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}`);
  };
  const hookLogs = (since: number) =>
    sim
      .events(since)
      .filter((e) => e.kind === 'lambda.log')
      .map((e) => String(e.detail['output']));
  const stagesOf = (since: number, serviceDeploymentArn: string) =>
    sim
      .events(since)
      .filter(
        (e) =>
          e.kind === 'deployment.lifecycle-stage' &&
          e.detail['serviceDeploymentArn'] === serviceDeploymentArn,
      )
      .map((e) => String(e.detail['stage']));

  it('reports the strategy through DescribeServices and forwards production to blue only', async () => {
    const described = await ecs.send(
      new DescribeServicesCommand({ cluster: CLUSTER, services: ['alva-api', 'alva-web'] }),
    );
    const [api, web] = described.services!;
    expect(api!.deploymentConfiguration?.strategy).toBe('BLUE_GREEN');
    expect(api!.loadBalancers![0]!.advancedConfiguration?.alternateTargetGroupArn).toMatch(
      /targetgroup\/alva-staging-api-alt\//,
    );
    expect(web!.deploymentConfiguration?.strategy ?? 'ROLLING').toBe('ROLLING');
    const rules = await elb.send(
      new DescribeRulesCommand({
        RuleArns: [api!.loadBalancers![0]!.advancedConfiguration!.productionListenerRule!],
      }),
    );
    const groups = rules.Rules![0]!.Actions![0]!.ForwardConfig!.TargetGroups!;
    expect(groups.map((g) => [g.TargetGroupArn!.split('/')[1], g.Weight])).toEqual([
      ['alva-staging-api', 100],
      ['alva-staging-api-alt', 0],
    ]);
  });

  it('rolls green back at the closed gate before production traffic moves', async () => {
    const since = sim.events().at(-1)?.seq ?? 0;
    await ecs.send(
      new UpdateServiceCommand({ cluster: CLUSTER, service: 'alva-api', forceNewDeployment: true }),
    );
    const done = await until('the rollback', async () => {
      const d = await latestDeployment();
      return d?.status === 'ROLLBACK_SUCCESSFUL' ? d : undefined;
    });
    expect(hookLogs(since).join('\n')).toContain(
      'release none closed the gate: no release has opened the gate',
    );
    const stages = stagesOf(since, done.serviceDeploymentArn!);
    expect(stages).toContain('POST_TEST_TRAFFIC_SHIFT');
    expect(stages).not.toContain('PRODUCTION_TRAFFIC_SHIFT');
    // The hook read the gate as its own role's session.
    const reads = sim.calls().filter((c) => c.operation === 'GetParameter');
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.every((c) => c.status === 200)).toBe(true);
    expect(JSON.stringify(reads[0]!.gate)).toContain('ReleaseGateFunctionRole');
  }, 90_000);

  it('holds green while the release is pending and shifts production once the gate opens for its revision', async () => {
    await ssm.send(
      new PutParameterCommand({
        Name: GATE,
        Type: 'String',
        Overwrite: true,
        Value: JSON.stringify({ release: 'run-2', state: 'pending' }),
      }),
    );
    const since = sim.events().at(-1)?.seq ?? 0;
    await ecs.send(
      new UpdateServiceCommand({ cluster: CLUSTER, service: 'alva-api', forceNewDeployment: true }),
    );
    const held = await until('the hook holding green', async () => {
      const d = await latestDeployment();
      const asked = sim.events(since).filter((e) => e.kind === 'lambda.invoke').length;
      return d?.lifecycleStage === 'POST_TEST_TRAFFIC_SHIFT' && asked >= 2 ? d : undefined;
    });
    expect(stagesOf(since, held.serviceDeploymentArn!)).not.toContain('PRODUCTION_TRAFFIC_SHIFT');
    expect(hookLogs(since).join('\n')).toContain('release run-2 is verifying its test traffic');

    await ssm.send(
      new PutParameterCommand({
        Name: GATE,
        Type: 'String',
        Overwrite: true,
        Value: JSON.stringify({
          release: 'run-2',
          state: 'open',
          revisions: [held.targetServiceRevision!.arn],
        }),
      }),
    );
    await until('the deployment to succeed', async () => {
      const d = await latestDeployment();
      return d?.status === 'SUCCESSFUL' ? d : undefined;
    });
    expect(stagesOf(since, held.serviceDeploymentArn!)).toEqual(
      expect.arrayContaining(['PRODUCTION_TRAFFIC_SHIFT', 'BAKE_TIME', 'CLEAN_UP']),
    );
    expect(hookLogs(since).join('\n')).toContain('release run-2 opened the gate for this revision');
  }, 120_000);

  it('lets the deploy role write the gate and no other parameter', async () => {
    await expect(
      ssm.send(new PutParameterCommand({ Name: '/alva-staging/other', Type: 'String', Value: 'x' })),
    ).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });
});
