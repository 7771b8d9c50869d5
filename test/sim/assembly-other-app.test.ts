/**
 * The loader is generic: a second CDK app written for this test
 * (test/sim/fixtures/other-app: one VPC, one Fargate service of two tasks
 * behind an ALB on port 8081 with a path rule and a fixed-response default,
 * another account and region, a cluster without an explicit name) is
 * synthesized, loaded and served, and the real SDK and HTTP through the ALB
 * see that app, not staging.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import {
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  DescribeListenersCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { loadAssembly, synthesize, type AssemblyLoad } from '../../sim/assembly/index.js';
import { repositoryRoot } from '../../sim/assembly/synth.js';
import { startSim, type Sim } from '../../sim/index.js';

const APP = join(repositoryRoot, 'test/sim/fixtures/other-app');
const REGION = 'eu-west-1';

let assembly: string;
let load: AssemblyLoad;
let sim: Sim;
let ecs: ECSClient;
let elb: ElasticLoadBalancingV2Client;

beforeAll(async () => {
  assembly = synthesize({ appDir: APP });
  // The app's IAM roles are loaded; this test reads with plain keys, so it asks for permissive IAM explicitly.
  const overlay = { seed: 7, iam: { mode: 'permissive' as const } };
  load = loadAssembly({ assembly, overlay });
  sim = await startSim({ assembly, overlay, speed: 40, port: 0 });
  const config = {
    endpoint: sim.url,
    region: REGION,
    credentials: { accessKeyId: 'AKIDOTHERAPP', secretAccessKey: 'other' },
  };
  ecs = new ECSClient(config);
  elb = new ElasticLoadBalancingV2Client(config);
}, 120_000);

let cli: ChildProcess | undefined;
let overlayFile: string | undefined;
afterAll(async () => {
  if (cli?.pid && cli.exitCode === null) cli.kill('SIGTERM');
  if (overlayFile) rmSync(overlayFile, { force: true });
  ecs?.destroy();
  elb?.destroy();
  await sim?.close();
});

describe('another CDK app, loaded from its assembly', () => {
  it('takes account and region from the stacks, and names the cluster from stack and logical id', () => {
    expect(load.scenario.region).toBe(REGION);
    expect(load.scenario.accountId).toBe('210987654321');
    expect(load.scenario.clusters.map((c) => c.name)).toEqual([
      expect.stringMatching(/^OrdersService-Cluster[0-9A-F]{8}-[A-Z0-9]{13}$/),
    ]);
    // Its VPC plumbing resolves but is not simulated: listed, not dropped.
    expect(load.unmodelled.map((u) => u.type)).toEqual(
      expect.arrayContaining(['AWS::EC2::InternetGateway', 'AWS::EC2::Route', 'AWS::CDK::Metadata']),
    );
    expect(load.unmodelled.map((u) => u.type)).not.toContain('AWS::ECS::Service');
  });

  it('DescribeServices: the service runs its two tasks on its own task definition, in its public subnets', async () => {
    const cluster = load.scenario.clusters[0]!.name;
    const { services = [], failures } = await ecs.send(
      new DescribeServicesCommand({ cluster, services: ['orders-api'] }),
    );
    expect(failures).toEqual([]);
    const [service] = services;
    expect(service).toMatchObject({
      serviceName: 'orders-api',
      serviceArn: `arn:aws:ecs:${REGION}:210987654321:service/${cluster}/orders-api`,
      taskDefinition: `arn:aws:ecs:${REGION}:210987654321:task-definition/orders-api:1`,
      desiredCount: 2,
      runningCount: 2,
      deploymentConfiguration: {
        minimumHealthyPercent: 50,
        deploymentCircuitBreaker: { enable: true, rollback: false },
      },
    });
    const publicSubnets = load.scenario
      .network!.subnets.filter((s) => s.mapPublicIpOnLaunch)
      .map((s) => s.id);
    expect(service!.networkConfiguration!.awsvpcConfiguration!.subnets).toEqual(publicSubnets);
    expect(service!.loadBalancers).toEqual([
      expect.objectContaining({ containerName: 'orders', containerPort: 8080 }),
    ]);
  });

  it('ELBv2: the target group has the app health check and deregistration delay; the listener its rule and default', async () => {
    const { TargetGroups = [] } = await elb.send(new DescribeTargetGroupsCommand({}));
    expect(TargetGroups).toHaveLength(1);
    const [tg] = TargetGroups;
    expect(tg).toMatchObject({
      Port: 8080,
      HealthCheckPath: '/healthz',
      HealthCheckIntervalSeconds: 10,
      HealthyThresholdCount: 3,
      Matcher: { HttpCode: '200' },
    });
    expect(tg!.TargetGroupArn).toBe(load.scenario.targetGroups![0]!.arn);
    const { Attributes = [] } = await elb.send(
      new DescribeTargetGroupAttributesCommand({ TargetGroupArn: tg!.TargetGroupArn }),
    );
    expect(Attributes).toContainEqual({ Key: 'deregistration_delay.timeout_seconds', Value: '20' });
    const { TargetHealthDescriptions = [] } = await elb.send(
      new DescribeTargetHealthCommand({ TargetGroupArn: tg!.TargetGroupArn }),
    );
    expect(TargetHealthDescriptions.map((t) => t.TargetHealth?.State)).toEqual(['healthy', 'healthy']);

    const { LoadBalancers = [] } = await elb.send(new DescribeLoadBalancersCommand({}));
    const { Listeners = [] } = await elb.send(
      new DescribeListenersCommand({ LoadBalancerArn: LoadBalancers[0]!.LoadBalancerArn }),
    );
    expect(Listeners.map((l) => l.Port)).toEqual([8081]);
    const { Rules = [] } = await elb.send(
      new DescribeRulesCommand({ ListenerArn: Listeners[0]!.ListenerArn }),
    );
    expect(Rules.find((r) => r.Priority === '5')?.Conditions?.[0]?.Values).toEqual(['/orders*']);
  });

  it('HTTP through the ALB: /orders reaches a task of orders-api; anything else gets the fixed 418', async () => {
    const { LoadBalancers = [] } = await elb.send(new DescribeLoadBalancersCommand({}));
    const base = `http://${LoadBalancers[0]!.DNSName}`;
    const routed = await fetch(`${base}/orders/42`);
    expect(routed.status).toBe(200);
    expect(await routed.text()).toContain('orders-api');
    const other = await fetch(`${base}/elsewhere`);
    expect(other.status).toBe(418);
    expect(await other.text()).toBe('no route');
  });

  it('npm run sim -- --assembly DIR --overlay FILE serves it and prints what it does not model', async () => {
    overlayFile = join(assembly, '..', `other-app-overlay-${process.pid}.json`);
    writeFileSync(overlayFile, JSON.stringify({ seed: 7, iam: { mode: 'permissive' } }));
    cli = spawn(
      process.execPath,
      [
        join(repositoryRoot, 'node_modules/tsx/dist/cli.mjs'),
        'sim/cli.ts',
        '--assembly',
        assembly,
        '--overlay',
        overlayFile,
        '--port',
        '0',
      ],
      { cwd: repositoryRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } },
    );
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no unmodelled list printed:\n${output}`)), 30_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('OrdersService/CDKMetadata')) {
          clearTimeout(timer);
          resolve();
        }
      };
      cli!.stdout!.on('data', onData);
      cli!.stderr!.on('data', onData);
      cli!.once('exit', (code) => reject(new Error(`exited ${code}:\n${output}`)));
    });
    expect(output).toMatch(/AWS simulator listening on http:\/\/127\.0\.0\.1:\d+ \(assembly /);
    expect(output).toContain(`not modelled (${load.unmodelled.length}):`);
    expect(output).toMatch(/OrdersNetwork\/VpcIGW\w+ AWS::EC2::InternetGateway: type not modelled/);
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)![1]!;
    const client = new ECSClient({
      endpoint: url,
      region: REGION,
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    const { services = [] } = await client.send(
      new DescribeServicesCommand({ cluster: load.scenario.clusters[0]!.name, services: ['orders-api'] }),
    );
    client.destroy();
    expect(services.map((s) => s.runningCount)).toEqual([2]);
  });
});
