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
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListServiceDeploymentsCommand,
  RegisterTaskDefinitionCommand,
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

/**
 * The gate across services: infra/ with all four services blue/green. A release
 * updates all four; each green is checked through the test listener while the
 * gate holds every deployment at POST_TEST_TRAFFIC_SHIFT; one failing check
 * closes the gate and all four roll back (the ALB's own request log shows no
 * production request reached a green target group); a release whose checks all
 * pass opens the gate once, for all four revisions, and all four shift.
 */
describe('one release gate across four blue/green services', () => {
  const SERVICES = [
    { name: 'alva-web', path: '/' },
    { name: 'alva-api', path: '/api/health' },
    { name: 'alva-auth', path: '/auth/health' },
    { name: 'alva-admin', path: '/admin/health' },
  ];
  let sim: Sim;
  let ecs: ECSClient;
  let ssm: SSMClient;

  beforeAll(async () => {
    const all = scenarioFromApp({ appDir: INFRA_DIR, overlay, context: { deployments: '*=blue-green' } });
    sim = await startSim({
      scenario: {
        ...all.scenario,
        // A green that starts and passes its health checks but answers 500: only a check of its traffic finds it.
        images: { '*:verify-fails-*': { http: { status: 500, body: 'broken' } }, ...all.scenario.images },
        // Permissive: the pipeline's calls are the deploy role's session; the test's own requests are no session's.
        iam: { ...all.scenario.iam!, mode: 'permissive' },
      },
      speed: 60,
      port: 0,
    });
    const config = {
      endpoint: sim.url,
      region: 'us-east-1',
      credentials: sim.session('alva-staging-github-deploy'),
    };
    ecs = new ECSClient(config);
    ssm = new SSMClient(config);
  }, 180_000);

  afterAll(async () => {
    ecs?.destroy();
    ssm?.destroy();
    await sim?.close();
  });

  const albLog = async (since = 0) =>
    (await (await fetch(`${sim.url}/_sim/alb-requests?since=${since}`)).json()) as {
      listeners: { port: number; address?: string }[];
      requests: {
        seq: number;
        listenerPort: number;
        targetGroup?: string;
        service?: string;
        status: number;
      }[];
    };
  const address = async (port: number) => (await albLog()).listeners.find((l) => l.port === port)!.address!;
  const setGate = (gate: object) =>
    ssm.send(
      new PutParameterCommand({ Name: GATE, Type: 'String', Overwrite: true, Value: JSON.stringify(gate) }),
    );
  const deploymentOf = async (service: string): Promise<ServiceDeployment | undefined> => {
    const listed = await ecs.send(new ListServiceDeploymentsCommand({ cluster: CLUSTER, service }));
    const arn = listed.serviceDeployments?.[0]?.serviceDeploymentArn;
    if (!arn) return undefined;
    return (await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] })))
      .serviceDeployments?.[0];
  };
  const allOf = async (
    what: string,
    test: (d: ServiceDeployment) => boolean,
  ): Promise<ServiceDeployment[]> => {
    for (let i = 0; i < 900; i++) {
      const deployments = await Promise.all(SERVICES.map((s) => deploymentOf(s.name)));
      if (deployments.every((d) => d && test(d))) return deployments as ServiceDeployment[];
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}`);
  };
  /** Registers a revision of each service's task definition with `tag` (auth: `authTag`) and updates the services. */
  const release = async (tag: string, authTag = tag) => {
    for (const service of SERVICES) {
      const current = (
        await ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: [service.name] }))
      ).services![0]!.taskDefinition!;
      const described = await ecs.send(
        new DescribeTaskDefinitionCommand({ taskDefinition: current, include: ['TAGS'] }),
      );
      const td = described.taskDefinition!;
      const image = service.name === 'alva-auth' ? authTag : tag;
      const registered = await ecs.send(
        new RegisterTaskDefinitionCommand({
          family: td.family,
          taskRoleArn: td.taskRoleArn,
          executionRoleArn: td.executionRoleArn,
          networkMode: td.networkMode,
          requiresCompatibilities: td.requiresCompatibilities,
          cpu: td.cpu,
          memory: td.memory,
          runtimePlatform: td.runtimePlatform,
          containerDefinitions: td.containerDefinitions!.map((c) => ({
            ...c,
            image: c.image!.replace(/:[^:/]+$/, `:${image}`),
          })),
          tags: described.tags,
        }),
      );
      await ecs.send(
        new UpdateServiceCommand({
          cluster: CLUSTER,
          service: service.name,
          taskDefinition: registered.taskDefinition!.taskDefinitionArn,
        }),
      );
    }
  };
  /** The pipeline's verify on test traffic: each service's path through the test listener. */
  const verifyOnTestTraffic = async () => {
    const test = await address(9000);
    const failures: string[] = [];
    for (const service of SERVICES) {
      const res = await fetch(`http://${test}${service.path}`);
      await res.text();
      if (res.status !== 200) failures.push(`${service.name} ${service.path} answered ${res.status}`);
    }
    return failures;
  };
  const productionTraffic = async () => {
    const production = await address(80);
    for (const service of SERVICES)
      for (let i = 0; i < 5; i++) await (await fetch(`http://${production}${service.path}`)).text();
  };

  it('a failing check closes the gate: all four roll back and no production request reached a green group', async () => {
    const since = (await albLog()).requests.at(-1)?.seq ?? 0;
    await setGate({ release: 'run-bad', state: 'pending' });
    await release('release-bad', 'verify-fails-bad');
    await allOf('all four held at the gate', (d) => d.lifecycleStage === 'POST_TEST_TRAFFIC_SHIFT');
    await productionTraffic();
    const failures = await verifyOnTestTraffic();
    expect(failures).toEqual(['alva-auth /auth/health answered 500']);
    await setGate({ release: 'run-bad', state: 'closed', reason: failures.join('; ') });
    await allOf('all four rolled back', (d) => d.status === 'ROLLBACK_SUCCESSFUL');
    await productionTraffic();

    const requests = (await albLog(since)).requests;
    const production = requests.filter((r) => r.listenerPort === 80);
    const test = requests.filter((r) => r.listenerPort === 9000);
    expect(production.length).toBe(40);
    expect(production.filter((r) => r.targetGroup?.endsWith('-alt'))).toEqual([]);
    expect(test.map((r) => r.targetGroup).sort()).toEqual(
      ['admin', 'api', 'auth', 'web'].map((s) => `alva-staging-${s}-alt`),
    );
  }, 150_000);

  it('all checks passing open the gate once for all four revisions, and all four shift production', async () => {
    await setGate({ release: 'run-good', state: 'pending' });
    await release('release-good');
    const held = await allOf(
      'all four held at the gate',
      (d) => d.lifecycleStage === 'POST_TEST_TRAFFIC_SHIFT',
    );
    expect(await verifyOnTestTraffic()).toEqual([]);
    await setGate({
      release: 'run-good',
      state: 'open',
      revisions: held.map((d) => d.targetServiceRevision!.arn),
    });
    await allOf('all four deployments to succeed', (d) => d.status === 'SUCCESSFUL');
    const since = (await albLog()).requests.at(-1)?.seq ?? 0;
    await productionTraffic();
    const production = (await albLog(since)).requests.filter((r) => r.listenerPort === 80);
    expect(new Set(production.map((r) => r.targetGroup))).toEqual(
      new Set(['admin', 'api', 'auth', 'web'].map((s) => `alva-staging-${s}-alt`)),
    );
    expect(production.every((r) => r.status === 200)).toBe(true);
  }, 150_000);
});
