/**
 * The lean profile (`cdk synth -c profile=lean`) loads into the simulator and
 * serves: its services run on the FARGATE_SPOT capacity provider (no launch
 * type) in the public subnets with public IPs, their task definitions and the
 * migration task declare ARM64, and the ALB reaches every service. The
 * simulator records the architecture and the strategy as ECS reports them; it
 * does not model Spot interruptions or check an image's architecture.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListTasksCommand,
  DescribeTasksCommand,
  RunTaskCommand,
} from '@aws-sdk/client-ecs';
import {
  DescribeLoadBalancersCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  INFRA_DIR,
  readOverlay,
  scenarioFromApp,
  STAGING_OVERLAY,
  type AssemblyLoad,
} from '../../sim/assembly/index.js';
import type { Sim } from '../../sim/index.js';
import { clientConfig, CLUSTER, SERVICES, startTestSim } from './helpers.js';

const overlay = readOverlay(STAGING_OVERLAY);
let lean: AssemblyLoad;
let sim: Sim;
let ecs: ECSClient;
let elb: ElasticLoadBalancingV2Client;

beforeAll(async () => {
  lean = scenarioFromApp({ appDir: INFRA_DIR, overlay, context: { profile: 'lean' } });
  sim = await startTestSim({ scenario: lean.scenario, speed: 40, port: 0 });
  ecs = new ECSClient(clientConfig(sim));
  elb = new ElasticLoadBalancingV2Client(clientConfig(sim));
}, 180_000);

afterAll(async () => {
  ecs?.destroy();
  elb?.destroy();
  await sim?.close();
});

describe('the lean profile in the simulator', () => {
  it('DescribeServices: FARGATE_SPOT strategy, no launch type, public subnets with a public IP, running', async () => {
    const { services = [], failures } = await ecs.send(
      new DescribeServicesCommand({ cluster: CLUSTER, services: SERVICES }),
    );
    expect(failures).toEqual([]);
    expect(services).toHaveLength(4);
    const publicSubnets = lean.scenario
      .network!.subnets.filter((s) => s.mapPublicIpOnLaunch)
      .map((s) => s.id);
    expect(publicSubnets).toHaveLength(2);
    for (const service of services) {
      expect(service.capacityProviderStrategy).toEqual([
        expect.objectContaining({ capacityProvider: 'FARGATE_SPOT', weight: 1 }),
      ]);
      expect(service.launchType).toBeUndefined();
      expect(service.networkConfiguration!.awsvpcConfiguration).toMatchObject({
        assignPublicIp: 'ENABLED',
        subnets: publicSubnets,
      });
      expect(service.runningCount).toBe(service.desiredCount);
    }
  });

  it('DescribeTaskDefinition: every service and the migration task run on ARM64', async () => {
    for (const family of [...SERVICES, 'alva-migrations']) {
      const { taskDefinition } = await ecs.send(
        new DescribeTaskDefinitionCommand({ taskDefinition: family }),
      );
      expect({ family, runtimePlatform: taskDefinition!.runtimePlatform }).toEqual({
        family,
        runtimePlatform: { cpuArchitecture: 'ARM64', operatingSystemFamily: 'LINUX' },
      });
    }
  });

  it('the running tasks are in public subnets', async () => {
    const publicSubnets = new Set(
      lean.scenario.network!.subnets.filter((s) => s.mapPublicIpOnLaunch).map((s) => s.id),
    );
    const { taskArns = [] } = await ecs.send(new ListTasksCommand({ cluster: CLUSTER }));
    expect(taskArns.length).toBeGreaterThanOrEqual(4);
    const { tasks = [] } = await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: taskArns }));
    for (const task of tasks) {
      const subnet = task.attachments?.[0]?.details?.find((d) => d.name === 'subnetId')?.value;
      expect(publicSubnets.has(subnet ?? 'none')).toBe(true);
    }
  });

  it('RunTask of the migrations with the api service network runs on on-demand FARGATE with a public IP', async () => {
    const { services = [] } = await ecs.send(
      new DescribeServicesCommand({ cluster: CLUSTER, services: ['alva-api'] }),
    );
    const network = services[0]!.networkConfiguration!;
    // No launch type, no strategy: the cluster's default strategy applies, as for the migrate action.
    const { tasks = [], failures } = await ecs.send(
      new RunTaskCommand({
        cluster: CLUSTER,
        taskDefinition: 'alva-migrations',
        networkConfiguration: network,
      }),
    );
    expect(failures).toEqual([]);
    expect(tasks[0]).toMatchObject({ capacityProviderName: 'FARGATE', launchType: 'FARGATE' });
    expect(network.awsvpcConfiguration!.assignPublicIp).toBe('ENABLED');
  });

  it('serves: the ALB reaches each of the four services', async () => {
    const { LoadBalancers = [] } = await elb.send(new DescribeLoadBalancersCommand({}));
    const base = `http://${LoadBalancers[0]!.DNSName}`;
    for (const path of ['/', '/api/health', '/auth/health', '/admin/health']) {
      const response = await fetch(`${base}${path}`);
      expect({ path, status: response.status }).toEqual({ path, status: 200 });
    }
  });
});
