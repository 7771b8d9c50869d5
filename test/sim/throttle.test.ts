/**
 * Rate limits (sim/throttle.ts): AWS's documented token buckets, per account,
 * on by default, answering as ECS (ThrottlingException) and ELBv2 (Throttling)
 * do; the SDK retries them; the call log and GET /_sim/throttling show them.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  DescribeServicesCommand,
  ECSClient,
  ListServicesCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import {
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { loadScenario } from '../../sim/index.js';
import type { Scenario } from '../../sim/scenario.js';
import {
  AWS_BUCKETS,
  ThrottleGate,
  ThrottledError,
  TokenBucket,
  type ThrottlingSpec,
} from '../../sim/throttle.js';
import {
  CLUSTER,
  SERVICES,
  STAGING,
  clientConfig,
  startWithClients,
  stopClients,
  type Clients,
} from './helpers.js';

const call = (service: string, operation: string) => ({ service, operation, params: {}, headers: {} });

/** A gate on a clock the test moves (simulated ms). */
function gateAt(spec?: ThrottlingSpec) {
  const clock = { now: 1_000_000 };
  return { clock, gate: new ThrottleGate(spec, () => clock.now) };
}

/** How many of `n` calls in a row the gate lets through, and the first refusal. */
function burst(gate: ThrottleGate, service: string, operation: string, n: number) {
  let passed = 0;
  let refusal: unknown;
  for (let i = 0; i < n; i++) {
    try {
      gate.check(call(service, operation));
      passed += 1;
    } catch (err) {
      refusal ??= err;
    }
  }
  return { passed, refusal };
}

describe('TokenBucket', () => {
  it('holds its capacity at most and refills at its rate', () => {
    const bucket = new TokenBucket({ capacity: 50, refillPerSecond: 20 }, 0);
    for (let i = 0; i < 50; i++) bucket.take();
    expect(bucket.level(0)).toBe(0);
    expect(bucket.level(1000)).toBe(20);
    // The ECS page's example: an empty Cluster read bucket is full again after 2.5 s, and no fuller later.
    expect(bucket.level(2500)).toBe(50);
    expect(bucket.level(60_000)).toBe(50);
  });

  it('refuses a rate it cannot hold', () => {
    expect(() => new TokenBucket({ capacity: 0, refillPerSecond: 1 }, 0)).toThrow(/capacity/);
  });
});

describe('ThrottleGate with the documented rates', () => {
  it('ECS UpdateService: 50 at once, then ThrottlingException; 5 more each second', () => {
    const { clock, gate } = gateAt();
    const first = burst(gate, 'ecs', 'UpdateService', 60);
    expect(first.passed).toBe(50);
    expect(first.refusal).toBeInstanceOf(ThrottledError);
    expect(first.refusal).toMatchObject({
      code: 'ThrottlingException',
      message: 'Rate exceeded',
      status: 400,
      gate: { throttled: 'ecs:service-modify' },
    });
    // CreateService shares the Service modify bucket; DescribeServices has its own.
    expect(burst(gate, 'ecs', 'CreateService', 1).passed).toBe(0);
    expect(burst(gate, 'ecs', 'DescribeServices', 100).passed).toBe(100);
    clock.now += 1000;
    expect(burst(gate, 'ecs', 'UpdateService', 10).passed).toBe(5);
  });

  it('ELBv2: every action shares the account-level bucket (40, 10 a second) and answers Throttling', () => {
    const { clock, gate } = gateAt();
    expect(burst(gate, 'elbv2', 'DescribeTargetHealth', 30).passed).toBe(30);
    const more = burst(gate, 'elbv2', 'DescribeTargetGroups', 30);
    expect(more.passed).toBe(10);
    expect(more.refusal).toMatchObject({ code: 'Throttling', message: 'Rate exceeded', status: 400 });
    clock.now += 500;
    expect(burst(gate, 'elbv2', 'DescribeListeners', 10).passed).toBe(5);
    const summary = gate.summary();
    expect(summary.throttled).toBe(25);
    expect(summary.throttledByOperation).toEqual({
      'elbv2:DescribeTargetGroups': 20,
      'elbv2:DescribeListeners': 5,
    });
    expect(summary.buckets.find((b) => b.id === 'elbv2:account')).toMatchObject({
      capacity: 40,
      refillPerSecond: 10,
      allowed: 45,
      throttled: 25,
      tokens: 0,
    });
  });

  it('leaves alone what no source throttles (StopServiceDeployment, the other ECR actions)', () => {
    const { gate } = gateAt();
    expect(burst(gate, 'ecs', 'StopServiceDeployment', 500).passed).toBe(500);
    expect(burst(gate, 'ecr', 'DescribeImages', 500).passed).toBe(500);
    expect(burst(gate, 'cloudformation', 'GetTemplate', 500).passed).toBe(500);
  });

  it('every documented bucket has a source and a usable rate', () => {
    for (const b of AWS_BUCKETS) {
      expect(b.source).toMatch(/^https:\/\/docs\.aws\.amazon\.com\//);
      expect(b.capacity).toBeGreaterThanOrEqual(1);
      expect(b.refillPerSecond).toBeGreaterThan(0);
    }
    const operations = AWS_BUCKETS.flatMap((b) => b.operations.map((o) => `${b.service}:${o}`));
    expect(new Set(operations).size).toBe(operations.length);
  });
});

describe('ThrottleGate configured by the scenario', () => {
  it('enabled: false throttles nothing', () => {
    const { gate } = gateAt({ enabled: false });
    expect(burst(gate, 'ecs', 'UpdateService', 500).passed).toBe(500);
  });

  it('an action override gives it a bucket of its own; a bucket override changes the category; false lifts it', () => {
    const { gate } = gateAt({
      overrides: {
        'ecs:DescribeServices': { capacity: 3, refillPerSecond: 1 },
        'ecs:service-modify': { capacity: 2, refillPerSecond: 1 },
        'elbv2:account': false,
      },
    });
    expect(burst(gate, 'ecs', 'DescribeServices', 10).passed).toBe(3);
    expect(burst(gate, 'ecs', 'ListServices', 10).passed).toBe(10);
    expect(burst(gate, 'ecs', 'UpdateService', 10).passed).toBe(2);
    // Without the account bucket, Describe* still has the non-mutating one (40).
    expect(burst(gate, 'elbv2', 'DescribeTargetHealth', 100).passed).toBe(40);
  });

  it('refuses an override that names neither a bucket nor an action, or a rate with no capacity', () => {
    expect(() => gateAt({ overrides: { 'ecs:service-reads': false } })).toThrow(/throttling override/);
    expect(() => gateAt({ overrides: { 'ecs:UpdateService': { capacity: 0, refillPerSecond: 1 } } })).toThrow(
      /capacity/,
    );
  });
});

describe('throttling in the simulator, through the SDK', () => {
  let c: Clients | undefined;
  afterEach(async () => {
    await stopClients(c);
    c = undefined;
  });

  function staging(throttling?: ThrottlingSpec): Scenario {
    return { ...loadScenario(STAGING), ...(throttling && { throttling }) };
  }

  it('is on by default: a burst of DescribeTargetHealth past 40 is throttled, as the ELB page says', async () => {
    c = await startWithClients(STAGING, 1);
    const elb = new ElasticLoadBalancingV2Client(clientConfig(c.sim, 1));
    const { TargetGroups } = await elb.send(new DescribeTargetGroupsCommand({}));
    const results = await Promise.allSettled(
      Array.from({ length: 60 }, () =>
        elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: TargetGroups![0]!.TargetGroupArn })),
      ),
    );
    elb.destroy();
    const refused = results.filter((r) => r.status === 'rejected').map((r) => r.reason as Error);
    expect(refused.length).toBeGreaterThan(0);
    // One token went to DescribeTargetGroups; at speed 1 the burst refills ~10 a second.
    expect(60 - refused.length).toBeGreaterThanOrEqual(39);
    expect(refused[0]).toMatchObject({ name: 'Throttling', message: 'Rate exceeded' });
    expect((refused[0] as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode).toBe(400);
    const throttled = c.sim.calls().filter((x) => x.errorCode === 'Throttling');
    expect(throttled).toHaveLength(refused.length);
    for (const x of throttled) expect(x).toMatchObject({ status: 400, gate: { throttled: 'elbv2:account' } });
    expect(throttled.every((x) => x.fault === undefined)).toBe(true);
    const summary = (await (await fetch(`${c.sim.url}/_sim/throttling`)).json()) as {
      throttled: number;
      throttledByOperation: Record<string, number>;
    };
    expect(summary.throttled).toBe(refused.length);
    expect(summary.throttledByOperation).toEqual({ 'elbv2:DescribeTargetHealth': refused.length });
  });

  it('ECS answers ThrottlingException and the SDK retries it until a token is there', async () => {
    // At speed 1 a token is a real quarter second away: no call of a burst is spaced out enough to find one.
    c = await startWithClients(
      staging({
        overrides: {
          'ecs:DescribeServices': { capacity: 2, refillPerSecond: 0.01 },
          'ecs:ListServices': { capacity: 1, refillPerSecond: 4 },
        },
      }),
      1,
    );
    const once = new ECSClient(clientConfig(c.sim, 1));
    await once.send(new DescribeServicesCommand({ cluster: CLUSTER, services: SERVICES }));
    const [first, second] = await Promise.allSettled([
      once.send(new DescribeServicesCommand({ cluster: CLUSTER, services: SERVICES })),
      once.send(new DescribeServicesCommand({ cluster: CLUSTER, services: SERVICES })),
    ]);
    once.destroy();
    const refused = [first, second].filter((r) => r.status === 'rejected');
    expect(refused).toHaveLength(1);
    expect((refused[0] as PromiseRejectedResult).reason).toMatchObject({
      name: 'ThrottlingException',
      message: 'Rate exceeded',
    });
    expect(c.sim.calls().at(-1)).toMatchObject({
      operation: 'DescribeServices',
      status: 400,
      errorCode: 'ThrottlingException',
      gate: { throttled: 'ecs:DescribeServices' },
    });

    // With the SDK's own retries, each of several callers at once gets its answer.
    const since = c.sim.calls().at(-1)!.seq;
    const retrying = new ECSClient(clientConfig(c.sim, 10));
    const answers = await Promise.all(
      Array.from({ length: 3 }, () => retrying.send(new ListServicesCommand({ cluster: CLUSTER }))),
    );
    retrying.destroy();
    expect(answers.map((a) => a.serviceArns!.length)).toEqual([4, 4, 4]);
    const log = c.sim.calls(since);
    expect(log.filter((x) => x.status === 200)).toHaveLength(3);
    expect(log.filter((x) => x.errorCode === 'ThrottlingException').length).toBeGreaterThanOrEqual(2);
  });

  it('throttling: { enabled: false } serves every call of a burst', async () => {
    c = await startWithClients(staging({ enabled: false }), 1);
    const ecs = new ECSClient(clientConfig(c.sim, 1));
    const results = await Promise.allSettled(
      Array.from({ length: 60 }, () =>
        ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: 'alva-web', desiredCount: 1 })),
      ),
    );
    ecs.destroy();
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
  });
});
