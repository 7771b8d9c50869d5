/**
 * The follow loop's poll budget, judged from the simulator's call log: a
 * release of 25 services (sim/scale.ts, staging's shapes) through
 * deploy-services' library, as the action runs it (plan, start, follow
 * wait-for healthy, standing).
 *
 * A poll is what the follow loop reads between two of its sleeps: the clock
 * given to the deploy records the call log's position at every sleep, and the
 * log group "Wait until …" brackets the follow phase. In each poll:
 * - DescribeServices: ceil(n / 10) calls of at most 10 services, n the services
 *   still pending (the services they name);
 * - every other read (ListTasks, DescribeTasks, DescribeTargetHealth, the
 *   ServiceDeployment API) at most 7 calls, DescribeTasks at most 100 tasks,
 *   DescribeTargetHealth one target group;
 * and a service is read in detail again only when the simulator changed
 * something of it (a task, a target, an event, a deployment: its event log)
 * since its last detail read, or that read is older than the fallback period.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { loadScenario, startSim, type Sim, type SimCall, type SimEvent } from '../../sim/index.js';
import { scaleScenario, scaleServiceName } from '../../sim/scale.js';
import type { EcsClients } from '../../lib/ecs/clients.js';
import { executeDeploy, planImageDeploy } from '../../lib/ecs/deploy.js';
import { systemClock, type Clock } from '../../lib/time.js';
import { memoryLog, type Log } from '../../lib/log.js';

const SERVICES = 25;
const SPEED = 20;
const CLUSTER = 'alva-staging-cluster';
const REGISTRY = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
/** The action's default poll bounds (1 s .. 2 s), scaled to the simulator's speed. */
const MIN_INTERVAL_MS = 1000 / SPEED;
const MAX_INTERVAL_MS = 2000 / SPEED;
/** Target health is read again after this long even when nothing changed (5 × the longest interval). */
const FALLBACK_MS = 5 * MAX_INTERVAL_MS;
const DETAIL_BUDGET = 7;
const THROTTLED = /Throttl/;

const names = Array.from({ length: SERVICES }, (_, i) => scaleServiceName(i + 1, SERVICES));

interface Poll {
  calls: SimCall[];
  /** The services its DescribeServices calls named. */
  services: string[];
}

let sim: Sim;
let clients: EcsClients;
let polls: Poll[] = [];
let followCalls: SimCall[] = [];
let ok = false;
/** Target group ARN → its service. */
const serviceOfGroup = new Map<string, string>();

beforeAll(async () => {
  const scenario = scaleScenario(loadScenario('sim/scenarios/staging.json'), SERVICES);
  // Authorization is not what this test is about (staging's roles name alva-* resources, not svc-*):
  // unknown credentials pass, as the simulator's permissive IAM mode lets them.
  if (scenario.iam) scenario.iam.mode = 'permissive';
  sim = await startSim({ scenario, speed: SPEED, port: 0 });
  const config = {
    endpoint: sim.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDSIMULATOR', secretAccessKey: 'simulator' },
  };
  clients = {
    ecs: new ECSClient(config),
    elbv2: () => Promise.resolve(new ElasticLoadBalancingV2Client(config)),
    logs: () => Promise.resolve(new CloudWatchLogsClient(config)),
  };
  for (let i = 0; i < names.length; i += 10) {
    const { services } = await clients.ecs.send(
      new DescribeServicesCommand({ cluster: CLUSTER, services: names.slice(i, i + 10) }),
    );
    for (const s of services ?? [])
      for (const lb of s.loadBalancers ?? []) serviceOfGroup.set(lb.targetGroupArn!, s.serviceName!);
  }

  const seq = () => sim.calls().at(-1)?.seq ?? 0;
  const sleeps: number[] = [];
  let follow: { from: number; to: number } | undefined;
  let following = false;
  // The follow loop sleeps once between two polls: each sleep marks where the next poll begins.
  const clock: Clock = {
    now: () => systemClock.now(),
    sleep: (ms, signal) => {
      if (following) sleeps.push(seq());
      return systemClock.sleep(ms, signal);
    },
  };
  const base = memoryLog();
  const log: Log = {
    ...base,
    group: async (name, fn) => {
      if (!name.startsWith('Wait until')) return base.group(name, fn);
      const from = seq();
      following = true;
      try {
        return await base.group(name, fn);
      } finally {
        following = false;
        follow = { from, to: seq() };
      }
    },
  };
  const images = Object.fromEntries(names.map((s) => [s, `${REGISTRY}/${s}:v2`]));
  const plan = await planImageDeploy(clients, CLUSTER, names, images);
  const report = await executeDeploy(clients, plan, {
    waitFor: 'healthy',
    timeoutMs: (1800 * 1000) / SPEED,
    rollbackOnFailure: true,
    forceNewDeployment: false,
    log,
    clock,
    minIntervalMs: MIN_INTERVAL_MS,
    maxIntervalMs: MAX_INTERVAL_MS,
    heartbeatMs: 30_000 / SPEED,
  });
  ok = report.ok;
  if (!ok) console.error(base.lines.slice(-40).join('\n'));
  followCalls = sim.calls(follow!.from).filter((c) => c.seq <= follow!.to);
  const bounds = [follow!.from, ...sleeps, follow!.to];
  polls = bounds.slice(1).map((to, i) => {
    const calls = followCalls.filter((c) => c.seq > bounds[i]! && c.seq <= to);
    const services = calls
      .filter((c) => c.operation === 'DescribeServices')
      .flatMap((c) => c.params.services as string[]);
    return { calls, services };
  });
}, 120_000);

afterAll(async () => {
  clients?.ecs.destroy();
  await sim?.close();
});

/** Every call the simulator answered (a throttled attempt the SDK retried is not one). */
function answered(calls: readonly SimCall[]): SimCall[] {
  return calls.filter((c) => !THROTTLED.test(c.errorCode ?? ''));
}

/** The service a detail read is about, if it names one. */
function serviceOf(call: SimCall): string | undefined {
  const p = call.params;
  if (call.operation === 'ListTasks') return p.serviceName as string;
  if (call.operation === 'ListServiceDeployments') return p.service as string;
  if (call.operation === 'DescribeTargetHealth') return serviceOfGroup.get(p.TargetGroupArn as string);
  return undefined;
}

/** Whether a simulator event is about `service`: its tasks, its targets, its events, its deployments. */
function concerns(event: SimEvent, service: string, taskArns: Map<string, string>): boolean {
  const d = event.detail;
  if (d.service === service) return true;
  if (typeof d.targetGroupArn === 'string' && serviceOfGroup.get(d.targetGroupArn) === service) return true;
  return typeof d.taskArn === 'string' && taskArns.get(d.taskArn) === service;
}

describe('deploy-services follows 25 services within the poll budget', () => {
  it('releases all 25, with no call failed but throttled ones', () => {
    expect(ok).toBe(true);
    expect(polls.length).toBeGreaterThan(3);
    expect(followCalls.filter((c) => c.status >= 400 && !THROTTLED.test(c.errorCode ?? ''))).toEqual([]);
  });

  it('each poll: ceil(n/10) DescribeServices of ≤ 10 services and at most 7 other calls', () => {
    const over: string[] = [];
    for (const [i, poll] of polls.entries()) {
      const calls = answered(poll.calls);
      const n = new Set(poll.services).size;
      const describe = calls.filter((c) => c.operation === 'DescribeServices');
      const detail = calls.filter((c) => c.operation !== 'DescribeServices');
      if (describe.length !== Math.ceil(n / 10))
        over.push(`poll ${i}: ${describe.length} DescribeServices for ${n}`);
      if (describe.some((c) => (c.params.services as string[]).length > 10))
        over.push(`poll ${i}: > 10 services a call`);
      if (detail.length > DETAIL_BUDGET)
        over.push(`poll ${i}: ${detail.length} detail calls: ${detail.map((c) => c.operation).join(', ')}`);
      for (const c of detail.filter((c) => c.operation === 'DescribeTasks'))
        if ((c.params.tasks as string[]).length > 100) over.push(`poll ${i}: DescribeTasks of > 100 tasks`);
      expect(calls.length).toBeLessThanOrEqual(Math.ceil(n / 10) + DETAIL_BUDGET);
    }
    expect(over).toEqual([]);
  });

  it('a service is read in detail again only after the simulator changed it, or after the fallback period', () => {
    const events = sim.events();
    const taskArns = new Map<string, string>();
    for (const e of events)
      if (typeof e.detail.taskArn === 'string' && typeof e.detail.service === 'string')
        taskArns.set(e.detail.taskArn, e.detail.service);
    /** Per service: the DescribeServices that began its last detail-read poll, and its last detail call. */
    const last = new Map<string, { describedMs: number; readMs: number }>();
    const unjustified: string[] = [];
    let reads = 0;
    for (const [i, poll] of polls.entries()) {
      const calls = answered(poll.calls);
      const describedMs = Math.max(
        ...calls.filter((c) => c.operation === 'DescribeServices').map((c) => c.realMs),
      );
      const byService = new Map<string, SimCall[]>();
      for (const c of calls) {
        const service = serviceOf(c);
        if (service) byService.set(service, [...(byService.get(service) ?? []), c]);
      }
      for (const [service, detail] of byService) {
        reads += 1;
        const firstMs = Math.min(...detail.map((c) => c.realMs));
        const previous = last.get(service);
        last.set(service, { describedMs, readMs: Math.max(...detail.map((c) => c.realMs)) });
        if (!previous) continue;
        const changed = events.some(
          (e) =>
            e.realMs >= previous.describedMs && e.realMs <= describedMs && concerns(e, service, taskArns),
        );
        const stale = firstMs - previous.readMs >= FALLBACK_MS;
        if (!changed && !stale)
          unjustified.push(`poll ${i}: ${service} (${detail.map((c) => c.operation).join(', ')})`);
      }
    }
    expect(reads).toBeGreaterThanOrEqual(SERVICES);
    expect(unjustified).toEqual([]);
  });

  it('a release that never fails reads no ServiceDeployment, and lists each service’s tasks once or twice', () => {
    const calls = answered(followCalls);
    expect(calls.filter((c) => /ServiceDeployment|ServiceRevision/.test(c.operation))).toEqual([]);
    const listed = new Map<string, number>();
    for (const c of calls.filter((c) => c.operation === 'ListTasks'))
      listed.set(c.params.serviceName as string, (listed.get(c.params.serviceName as string) ?? 0) + 1);
    expect([...listed.keys()].sort()).toEqual([...names].sort());
    expect(Math.max(...listed.values())).toBeLessThanOrEqual(2);
  });
});
