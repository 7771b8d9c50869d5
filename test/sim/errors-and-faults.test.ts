/**
 * AWS error shapes (the SDK raises its own exception classes) and injected
 * faults: throttling, HTTP 500s and dropped connections that the SDK's
 * retries get through, and the call log that records all of it.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  ClientException,
  ClusterNotFoundException,
  DeleteServiceCommand,
  DescribeClustersCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  InvalidParameterException,
  RegisterTaskDefinitionCommand,
  ServiceNotActiveException,
  ServiceNotFoundException,
  ECSServiceException,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import {
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ElasticLoadBalancingV2ServiceException,
  LoadBalancerNotFoundException,
  TargetGroupNotFoundException,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  CloudWatchLogsClient,
  GetLogEventsCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-cloudwatch-logs';
import type { SimCall } from '../../sim/index.js';
import { CLUSTER, SERVICES, clientConfig, startWithClients, stopClients, type Clients } from './helpers.js';

let c: Clients;
beforeAll(async () => {
  c = await startWithClients();
});
afterAll(() => stopClients(c));
beforeEach(() => c.sim.reset());

describe('AWS error shapes', () => {
  it('ClusterNotFoundException', async () => {
    const err = await c.ecs
      .send(new DescribeServicesCommand({ cluster: 'nope', services: ['alva-api'] }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterNotFoundException);
    expect((err as Error).message).toBe('Cluster not found.');
  });

  it("a cluster ARN of another account is not found; another region's ARN is an invalid parameter", async () => {
    const otherAccount = `arn:aws:ecs:us-east-1:999999999999:cluster/${CLUSTER}`;
    const err = await c.ecs
      .send(new DescribeServicesCommand({ cluster: otherAccount, services: ['alva-api'] }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterNotFoundException);
    const otherRegion = `arn:aws:ecs:eu-west-1:123456789012:cluster/${CLUSTER}`;
    const regionErr = await c.ecs
      .send(new UpdateServiceCommand({ cluster: otherRegion, service: 'alva-api', desiredCount: 1 }))
      .catch((e: unknown) => e);
    expect(regionErr).toBeInstanceOf(InvalidParameterException);
    expect((regionErr as Error).message).toBe('Invalid Region in ARN');
    expect(c.sim.events().filter((e) => e.kind === 'deployment.started')).toHaveLength(4); // the scenario's own
    const local = `arn:aws:ecs:us-east-1:123456789012:cluster/${CLUSTER}`;
    const { services } = await c.ecs.send(
      new DescribeServicesCommand({ cluster: local, services: ['alva-api'] }),
    );
    expect(services![0].serviceName).toBe('alva-api');
    const { clusters, failures } = await c.ecs.send(
      new DescribeClustersCommand({ clusters: [otherAccount, local] }),
    );
    expect(clusters!.map((cl) => cl.clusterArn)).toEqual([local]);
    expect(failures).toEqual([{ arn: otherAccount, reason: 'MISSING' }]);
  });

  it('ServiceNotFoundException', async () => {
    const err = await c.ecs
      .send(new UpdateServiceCommand({ cluster: CLUSTER, service: 'nope', desiredCount: 1 }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceNotFoundException);
  });

  it('ServiceNotActiveException after the service was deleted', async () => {
    await c.ecs.send(new DeleteServiceCommand({ cluster: CLUSTER, service: 'alva-admin', force: true }));
    const err = await c.ecs
      .send(new UpdateServiceCommand({ cluster: CLUSTER, service: 'alva-admin', desiredCount: 1 }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceNotActiveException);
    const { services } = await c.ecs.send(
      new DescribeServicesCommand({ cluster: CLUSTER, services: ['alva-admin'] }),
    );
    // DRAINING until its tasks have stopped (seconds of simulated time), then INACTIVE: never ACTIVE again.
    expect(['DRAINING', 'INACTIVE']).toContain(services![0].status);
  });

  it('InvalidParameterException for more than 10 services', async () => {
    const names = Array.from({ length: 11 }, (_, i) => `svc-${i}`);
    const err = await c.ecs
      .send(new DescribeServicesCommand({ cluster: CLUSTER, services: names }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidParameterException);
  });

  it('ClientException for an unknown task definition', async () => {
    const err = await c.ecs
      .send(new DescribeTaskDefinitionCommand({ taskDefinition: 'nope:3' }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientException);
    expect((err as Error).message).toBe('Unable to describe task definition.');
  });

  it('DescribeServices reports unknown services in failures[] with reason MISSING', async () => {
    const { services, failures } = await c.ecs.send(
      new DescribeServicesCommand({ cluster: CLUSTER, services: [...SERVICES, 'ghost'] }),
    );
    expect(services).toHaveLength(4);
    expect(failures).toEqual([
      { arn: `arn:aws:ecs:us-east-1:123456789012:service/${CLUSTER}/ghost`, reason: 'MISSING' },
    ]);
  });

  it('TargetGroupNotFoundException and LoadBalancerNotFoundException', async () => {
    const tgErr = await c.elb
      .send(
        new DescribeTargetHealthCommand({
          TargetGroupArn:
            'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/nope/0123456789abcdef',
        }),
      )
      .catch((e: unknown) => e);
    expect(tgErr).toBeInstanceOf(TargetGroupNotFoundException);
    const byName = await c.elb
      .send(new DescribeTargetGroupsCommand({ Names: ['nope'] }))
      .catch((e: unknown) => e);
    expect(byName).toBeInstanceOf(TargetGroupNotFoundException);
    const lbErr = await c.elb
      .send(new DescribeLoadBalancersCommand({ Names: ['nope'] }))
      .catch((e: unknown) => e);
    expect(lbErr).toBeInstanceOf(LoadBalancerNotFoundException);
  });

  it('CloudWatch Logs ResourceNotFoundException', async () => {
    const err = await c.logs
      .send(new GetLogEventsCommand({ logGroupName: '/nope', logStreamName: 'x' }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResourceNotFoundException);
  });
});

describe('faults', () => {
  /** An earlier test loads a scenario with faults, which reset() reloads: start these from none. */
  const loadWithoutFaults = () =>
    c.sim.load({ ...(JSON.parse(JSON.stringify(c.sim.world.scenario)) as object), faults: [] } as never);
  const callsOf = (operation: string) =>
    c.sim.calls().filter((call: SimCall) => call.operation === operation);

  it('ThrottlingException when retries are exhausted', async () => {
    c.sim.addFaults({ service: 'ecs', operation: 'DescribeServices', kind: 'throttle', count: 5 });
    const once = new ECSClient(clientConfig(c.sim, 1));
    const err = await once
      .send(new DescribeServicesCommand({ cluster: CLUSTER, services: ['alva-api'] }))
      .catch((e: unknown) => e);
    once.destroy();
    // ECS models no ThrottlingException class: the SDK raises its service exception under that name.
    expect(err).toBeInstanceOf(ECSServiceException);
    expect((err as ECSServiceException).name).toBe('ThrottlingException');
    expect((err as ECSServiceException).$metadata.httpStatusCode).toBe(400);
  });

  it("a throttled period that the SDK's retries get through (ECS, from the scenario)", async () => {
    await c.sim.load({
      ...(JSON.parse(JSON.stringify(c.sim.world.scenario)) as object),
      faults: [{ service: 'ecs', operation: 'DescribeServices', kind: 'throttle', after: 1, count: 2 }],
    } as never);
    await c.ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: ['alva-api'] }));
    const { services } = await c.ecs.send(
      new DescribeServicesCommand({ cluster: CLUSTER, services: ['alva-api'] }),
    );
    expect(services![0].serviceName).toBe('alva-api');
    expect(callsOf('DescribeServices').map((call) => [call.status, call.errorCode ?? null])).toEqual([
      [200, null],
      [400, 'ThrottlingException'],
      [400, 'ThrottlingException'],
      [200, null],
    ]);
  });

  it('ELBv2 throttling ("Throttling"), HTTP 500 and a dropped connection, all retried by the SDK', async () => {
    const res = await fetch(`${c.sim.url}/_sim/faults`, {
      method: 'POST',
      body: JSON.stringify([
        { service: 'elbv2', operation: 'DescribeTargetGroups', kind: 'throttle', count: 1 },
        { service: 'elbv2', operation: 'DescribeTargetGroups', kind: 'http500', after: 1, count: 1 },
        { service: 'elbv2', operation: 'DescribeTargetGroups', kind: 'reset', after: 2, count: 1 },
      ]),
    });
    expect(res.status).toBe(200);
    const elb = new ElasticLoadBalancingV2Client(clientConfig(c.sim, 5));
    const { TargetGroups } = await elb.send(new DescribeTargetGroupsCommand({}));
    elb.destroy();
    expect(TargetGroups).toHaveLength(4);
    expect(callsOf('DescribeTargetGroups').map((call) => [call.status, call.fault ?? null])).toEqual([
      [400, 'throttle'],
      [500, 'http500'],
      [0, 'reset'],
      [200, null],
    ]);
  });

  it('an ELBv2 throttle surfaces as the Throttling service exception when retries run out', async () => {
    c.sim.addFaults({ service: 'elbv2', operation: '*', kind: 'throttle', count: 3 });
    const elb = new ElasticLoadBalancingV2Client(clientConfig(c.sim, 1));
    const err = await elb.send(new DescribeTargetGroupsCommand({})).catch((e: unknown) => e);
    elb.destroy();
    expect(err).toBeInstanceOf(ElasticLoadBalancingV2ServiceException);
    expect((err as Error).name).toBe('Throttling');
  });

  it('a timed fault fails every matching call for forMs of simulated time from its first hit, then none', async () => {
    await loadWithoutFaults();
    c.sim.addFaults({ service: 'ecs', operation: 'DescribeServices', kind: 'http500', forMs: 20_000 });
    const once = new ECSClient(clientConfig(c.sim, 1));
    const describe = () =>
      once
        .send(new DescribeServicesCommand({ cluster: CLUSTER, services: ['alva-api'] }))
        .then(() => 'ok')
        .catch((e: ECSServiceException) => e.name);
    const first = await describe();
    const seen = [first];
    // Poll (slowly, as an action would) until the window has passed in simulated time.
    const startedAt = Date.parse(callsOf('DescribeServices')[0].time);
    while (Date.parse(c.sim.calls().at(-1)!.time) - startedAt < 25_000) {
      await new Promise((resolve) => setTimeout(resolve, c.sim.toReal(2_000)));
      seen.push(await describe());
    }
    once.destroy();
    const calls = callsOf('DescribeServices');
    for (const call of calls) {
      const inWindow = Date.parse(call.time) - startedAt < 20_000;
      expect([call.status, call.fault ?? null]).toEqual(inWindow ? [500, 'http500'] : [200, null]);
    }
    expect(first).toBe('InternalFailure');
    expect(seen.at(-1)).toBe('ok');
    // More than the first hit failed (how many depends on the machine's load: the poll sleeps in real time).
    expect(calls.filter((call) => call.status === 500).length).toBeGreaterThanOrEqual(2);
  });

  it('a fault window fromMs..untilMs counts from when the fault was added', async () => {
    await loadWithoutFaults();
    // The simulated clock runs on while the test reads it: bracket the moment the fault was added.
    const before = Date.parse(c.sim.state().now as string);
    c.sim.addFaults({
      service: 'ecs',
      operation: 'DescribeTasks',
      kind: 'throttle',
      fromMs: 4_000,
      untilMs: 8_000,
    });
    const addedAt = Date.parse(c.sim.state().now as string);
    const slack = addedAt - before + 250;
    const once = new ECSClient(clientConfig(c.sim, 1));
    // Calls about 1, 3, 5, 7, 9 and 11 s after the fault: between the window's edges, not on them.
    await new Promise((resolve) => setTimeout(resolve, c.sim.toReal(1_000)));
    for (let i = 0; i < 6; i++) {
      await once.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: ['nope'] })).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, c.sim.toReal(2_000)));
    }
    once.destroy();
    const calls = callsOf('DescribeTasks');
    expect(calls).toHaveLength(6);
    for (const call of calls) {
      const since = Date.parse(call.time) - addedAt;
      // A call within the bracket's slack of a window edge could fall on either side of it: not judged.
      if (Math.abs(since - 4_000) < slack || Math.abs(since - 8_000) < slack) continue;
      expect(call.fault ?? null).toBe(since >= 4_000 && since < 8_000 ? 'throttle' : null);
    }
    expect(calls.some((call) => call.fault === 'throttle')).toBe(true);
    expect(calls.some((call) => call.fault === undefined)).toBe(true);
  });

  it('the call log over HTTP records every call with its parameters and whether it mutates', async () => {
    await c.ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: ['alva-web'] }));
    await c.ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: 'alva-web', desiredCount: 1 }));
    const logs = new CloudWatchLogsClient(clientConfig(c.sim));
    await logs
      .send(new GetLogEventsCommand({ logGroupName: '/ecs/alva-staging/web', logStreamName: 'x' }))
      .catch(() => undefined);
    logs.destroy();
    const calls = (await (await fetch(`${c.sim.url}/_sim/calls`)).json()) as SimCall[];
    expect(calls.map((call) => [call.service, call.operation, call.mutating])).toEqual([
      ['ecs', 'DescribeServices', false],
      ['ecs', 'UpdateService', true],
      ['logs', 'GetLogEvents', false],
    ]);
    expect(calls[1].params).toEqual({ cluster: CLUSTER, service: 'alva-web', desiredCount: 1 });
    expect(Date.parse(calls[0].time)).not.toBeNaN();
    const since = (await (await fetch(`${c.sim.url}/_sim/calls?since=${calls[1].seq}`)).json()) as SimCall[];
    expect(since.map((call) => call.operation)).toEqual(['GetLogEvents']);
  });
});

describe('control API', () => {
  it('a scenario that does not load is refused and the running one stays', async () => {
    const res = await fetch(`${c.sim.url}/_sim/scenario`, {
      method: 'POST',
      body: JSON.stringify({
        clusters: [],
        taskDefinitions: [],
        services: [{ cluster: 'missing', name: 'x', taskDefinition: 'y', desiredCount: 1 }],
      }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('Cluster not found.');
    const { services } = await c.ecs.send(
      new DescribeServicesCommand({ cluster: CLUSTER, services: ['alva-api'] }),
    );
    expect(services![0].status).toBe('ACTIVE');
  });

  it('GET /_sim/state is a JSON snapshot of the account', async () => {
    const state = (await (await fetch(`${c.sim.url}/_sim/state`)).json()) as {
      clusters: { name: string; services: { name: string }[] }[];
      targetGroups: { name: string; targets: { state: string }[] }[];
    };
    expect(state.clusters[0].services.map((s) => s.name)).toEqual(SERVICES);
    expect(state.targetGroups.flatMap((tg) => tg.targets.map((t) => t.state))).toEqual([
      'healthy',
      'healthy',
      'healthy',
      'healthy',
    ]);
  });
});

describe('request validation', () => {
  it('UpdateService to a task definition without the load-balanced container is an InvalidParameterException', async () => {
    const { taskDefinition } = await c.ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'alva-api',
        networkMode: 'awsvpc',
        requiresCompatibilities: ['FARGATE'],
        cpu: '512',
        memory: '1024',
        containerDefinitions: [
          { name: 'renamed', image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/alva-api:x' },
        ],
      }),
    );
    const err = await c.ecs
      .send(
        new UpdateServiceCommand({
          cluster: CLUSTER,
          service: 'alva-api',
          taskDefinition: taskDefinition!.taskDefinitionArn,
        }),
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidParameterException);
    expect((err as Error).message).toBe('The container api does not exist in the task definition.');
  });

  it('a Fargate task definition with awslogs and no execution role is a ClientException', async () => {
    const err = await c.ecs
      .send(
        new RegisterTaskDefinitionCommand({
          family: 'alva-api',
          networkMode: 'awsvpc',
          requiresCompatibilities: ['FARGATE'],
          cpu: '512',
          memory: '1024',
          containerDefinitions: [
            {
              name: 'api',
              image: 'x',
              logConfiguration: {
                logDriver: 'awslogs',
                options: { 'awslogs-group': 'g', 'awslogs-region': 'us-east-1' },
              },
            },
          ],
        }),
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientException);
  });
});
