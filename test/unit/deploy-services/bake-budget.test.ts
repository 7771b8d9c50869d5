/**
 * The bake phase within the poll budget (lib/ecs/deploy/bake.ts): every poll
 * reads every baking service with DescribeServices, batched; tasks and target
 * health only for a service DescribeServices shows changed, or whose last read
 * is older than the fallback period; at most 7 such calls a poll. Mocked SDK,
 * manual clock: a poll is what is called between two sleeps.
 */
import { describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import {
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  type Service,
  type Task,
} from '@aws-sdk/client-ecs';
import {
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { EcsClients } from '../../../lib/ecs/clients.js';
import { bakeDeployRollouts } from '../../../lib/ecs/deploy/bake.js';
import type { DeployRun, StartedService } from '../../../lib/ecs/deploy/run.js';
import { memoryLog } from '../../../lib/log.js';
import { manualClock, type Clock } from '../../../lib/time.js';

const SERVICES = 12;
const BAKE_MS = 60_000;
/** The action's longest poll interval: the bake's interval; target health is read again after 5 of them. */
const INTERVAL_MS = 2_000;
const FALLBACK_MS = 5 * INTERVAL_MS;
const DETAIL_BUDGET = 7;

const names = Array.from({ length: SERVICES }, (_, i) => `svc-${String(i + 1).padStart(2, '0')}`);
const revision = (service: string) => `arn:aws:ecs:us-east-1:123456789012:task-definition/${service}:2`;
const group = (service: string) =>
  `arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/${service}/0123456789abcdef`;
const ip = (service: string) => `10.0.0.${names.indexOf(service) + 1}`;

interface Call {
  operation: string;
  /** The services (or target group) it named. */
  about: string[];
  at: number;
}

/**
 * Twelve services steady on their new revision, one task each behind a target group of
 * their own. `stopAt` (clock ms since the start): that service's task stops then, and
 * DescribeServices shows it (runningCount 0, a new event), as ECS does.
 */
function world(stop?: { service: string; atMs: number }) {
  const inner = manualClock();
  const begun = inner.now();
  const calls: Call[] = [];
  const polls: number[] = [];
  const clock: Clock = {
    now: () => inner.now(),
    sleep: (ms, signal) => {
      polls.push(calls.length);
      return inner.sleep(ms, signal);
    },
  };
  const stopped = (service: string) =>
    stop !== undefined && service === stop.service && clock.now() - begun >= stop.atMs;
  const ecs = mockClient(ECSClient);
  const elb = mockClient(ElasticLoadBalancingV2Client);
  ecs.on(DescribeServicesCommand).callsFake((input: { services: string[] }) => {
    calls.push({ operation: 'DescribeServices', about: input.services, at: clock.now() });
    return {
      services: input.services.map((name): Service => {
        const running = stopped(name) ? 0 : 1;
        return {
          serviceName: name,
          status: 'ACTIVE',
          taskDefinition: revision(name),
          desiredCount: 1,
          runningCount: running,
          pendingCount: 0,
          loadBalancers: [{ targetGroupArn: group(name), containerName: 'app', containerPort: 8080 }],
          events: [{ id: stopped(name) ? 'task-stopped' : 'steady' }],
          deployments: [
            {
              id: `ecs-svc/${name}`,
              status: 'PRIMARY',
              taskDefinition: revision(name),
              rolloutState: 'COMPLETED',
              desiredCount: 1,
              runningCount: running,
              pendingCount: 0,
              failedTasks: 0,
            },
          ],
        };
      }),
    };
  });
  ecs.on(ListTasksCommand).callsFake((input: { serviceName: string }) => {
    calls.push({ operation: 'ListTasks', about: [input.serviceName], at: clock.now() });
    return { taskArns: stopped(input.serviceName) ? [] : [`task/${input.serviceName}`] };
  });
  ecs.on(DescribeTasksCommand).callsFake((input: { tasks: string[] }) => {
    const services = input.tasks.map((t) => t.slice('task/'.length));
    calls.push({ operation: 'DescribeTasks', about: services, at: clock.now() });
    return {
      tasks: services.map((s): Task => ({
        taskArn: `task/${s}`,
        taskDefinitionArn: revision(s),
        lastStatus: 'RUNNING',
        desiredStatus: 'RUNNING',
        containers: [{ name: 'app' }],
        attachments: [
          {
            type: 'ElasticNetworkInterface',
            details: [{ name: 'privateIPv4Address', value: ip(s) }],
          },
        ],
      })),
    };
  });
  elb.on(DescribeTargetHealthCommand).callsFake((input: { TargetGroupArn: string }) => {
    const service = names.find((s) => group(s) === input.TargetGroupArn)!;
    calls.push({ operation: 'DescribeTargetHealth', about: [service], at: clock.now() });
    return {
      TargetHealthDescriptions: stopped(service)
        ? []
        : [{ Target: { Id: ip(service), Port: 8080 }, TargetHealth: { State: 'healthy' } }],
    };
  });
  const elbClient = new ElasticLoadBalancingV2Client({ region: 'us-east-1' });
  const clients: EcsClients = {
    ecs: new ECSClient({ region: 'us-east-1' }),
    elbv2: () => Promise.resolve(elbClient),
    logs: () => Promise.reject(new Error('not used')),
  };
  const log = memoryLog();
  const run: DeployRun = {
    clients,
    cluster: 'alva',
    log,
    clock,
    cancelledAt: () => undefined,
    cancelGraceMs: 5_000,
    follow: {
      cluster: 'alva',
      waitFor: 'healthy',
      timeoutMs: 600_000,
      log,
      clock,
      minIntervalMs: 1_000,
      maxIntervalMs: INTERVAL_MS,
    },
  };
  const started: StartedService[] = names.map((service) => ({
    report: {
      service,
      cluster: 'alva',
      previousTaskDefinition: revision(service).replace(/:2$/, ':1'),
      taskDefinition: revision(service),
      registered: true,
      images: [],
      status: 'deployed',
      finalTaskDefinition: revision(service),
    },
    target: { service, taskDefinition: revision(service), deploymentId: `ecs-svc/${service}` },
    touched: true,
    startedAtMs: begun,
  }));
  const restore = () => {
    ecs.restore();
    elb.restore();
  };
  /** The calls of each poll: from one sleep to the next. */
  const pollCalls = () => {
    const bounds = [0, ...polls, calls.length];
    return bounds.slice(1).map((end, i) => calls.slice(bounds[i], end));
  };
  return { run, started, calls, pollCalls, begun, log, restore };
}

describe('bake-seconds within the poll budget', () => {
  it(`${SERVICES} steady services: DescribeServices every poll, tasks and targets only by the fallback period, at most ${DETAIL_BUDGET} a poll`, async () => {
    const { run, started, calls, pollCalls, restore } = world();
    await bakeDeployRollouts(run, started, BAKE_MS);
    restore();

    expect(started.map((s) => s.report.reason ?? s.report.status)).toEqual(names.map(() => 'deployed'));
    const polls = pollCalls().filter((p) => p.length > 0);
    expect(polls.length).toBeGreaterThanOrEqual(BAKE_MS / INTERVAL_MS);
    for (const poll of polls) {
      const describe = poll.filter((c) => c.operation === 'DescribeServices');
      expect(describe).toHaveLength(Math.ceil(SERVICES / 10));
      expect(describe.flatMap((c) => c.about).sort()).toEqual([...names].sort());
      expect(poll.length - describe.length).toBeLessThanOrEqual(DETAIL_BUDGET);
    }
    // Nothing changed: each service's tasks are listed again only once the fallback period passed.
    for (const service of names) {
      const listed = calls
        .filter((c) => c.operation === 'ListTasks' && c.about[0] === service)
        .map((c) => c.at);
      expect(listed.length).toBeGreaterThanOrEqual(1);
      for (let i = 1; i < listed.length; i++)
        expect(listed[i]! - listed[i - 1]!).toBeGreaterThanOrEqual(FALLBACK_MS);
    }
  });

  it('a task that stops is read at the next poll, the service fails the bake, the others stay deployed', async () => {
    const stopAtMs = 21_000;
    const { run, started, calls, begun, restore } = world({ service: 'svc-07', atMs: stopAtMs });
    await bakeDeployRollouts(run, started, BAKE_MS);
    restore();

    const failed = started.filter((s) => s.report.status === 'failed');
    expect(failed.map((s) => s.report.service)).toEqual(['svc-07']);
    expect(failed[0]!.report.reason).toMatch(
      /^failed during the bake, \d+s after it was healthy: a task of the new revision stopped \(0\/1 new tasks RUNNING\)/,
    );
    // Its tasks were listed at the first poll that saw the change, not at its fallback read.
    const firstSeen = calls.find(
      (c) => c.operation === 'DescribeServices' && c.about.includes('svc-07') && c.at - begun >= stopAtMs,
    )!;
    const listedAfter = calls.find(
      (c) => c.operation === 'ListTasks' && c.about[0] === 'svc-07' && c.at >= firstSeen.at,
    )!;
    expect(listedAfter.at).toBe(firstSeen.at);
    expect(started.filter((s) => s.report.status === 'deployed')).toHaveLength(SERVICES - 1);
  });
});
