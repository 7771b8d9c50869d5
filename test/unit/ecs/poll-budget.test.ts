import { describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { DescribeServicesCommand, ECSClient, type Service } from '@aws-sdk/client-ecs';
import { memoryLog } from '../../../lib/log.js';
import type { EcsClients } from '../../../lib/ecs/clients.js';
import { followRollouts } from '../../../lib/ecs/rollout.js';
import {
  chooseDetailReads,
  isThrottling,
  pollCallBudget,
  serviceFingerprint,
  totalCalls,
  type DetailRequest,
} from '../../../lib/ecs/follow/poll-budget.js';
import { PollPace } from '../../../lib/ecs/follow/pace.js';
import { manualClock, type Clock } from '../../../lib/time.js';

const tg = (n: number) => `arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/tg-${n}/0`;

function request(
  key: string,
  part: Partial<DetailRequest<string>> & Pick<DetailRequest<string>, 'priority'>,
): DetailRequest<string> {
  return { key, waitingSince: 0, ...part };
}

describe('chooseDetailReads (the poll budget)', () => {
  it('batches as the APIs allow: one DescribeTasks for many services, one DescribeTargetHealth per group', () => {
    const requests = [1, 2, 3].map((n) =>
      request(`svc-${n}`, { priority: 'changed', tasks: { expectedTasks: 2 }, targetGroups: [tg(n)] }),
    );
    const { chosen, cost } = chooseDetailReads(requests);
    expect(chosen).toHaveLength(3);
    expect(cost).toMatchObject({ listTasks: 3, describeTasks: 1, describeTargetHealth: 3 });
    expect(totalCalls(cost)).toBe(7);
  });

  it('defers what does not fit, failures first, then changes, then fallback reads, longest-waiting first', () => {
    const requests = [
      request('fallback-old', { priority: 'fallback', targetGroups: [tg(1)], waitingSince: 0 }),
      request('changed-new', { priority: 'changed', targetGroups: [tg(2)], waitingSince: 50 }),
      request('changed-old', { priority: 'changed', targetGroups: [tg(3)], waitingSince: 10 }),
      request('failure', { priority: 'failure', serviceDeployment: { lookup: true } }),
    ];
    const { chosen, deferred } = chooseDetailReads(requests, 4);
    // ListServiceDeployments + DescribeServiceRevisions + DescribeServiceDeployments = 3, then one group.
    expect(chosen.map((r) => r.key)).toEqual(['failure', 'changed-old']);
    expect(deferred.map((r) => r.key)).toEqual(['changed-new', 'fallback-old']);
  });

  it('always takes one request, so a service too costly for the budget is still read', () => {
    const big = request('big', { priority: 'changed', targetGroups: [tg(1), tg(2), tg(3)] });
    expect(chooseDetailReads([big], 2).chosen).toEqual([big]);
  });

  it('the budget of a poll: ceil(n/10) DescribeServices and 7 other calls (12 for 50 services)', () => {
    expect(pollCallBudget(4)).toBe(8);
    expect(pollCallBudget(25)).toBe(10);
    expect(pollCallBudget(50)).toBe(12);
  });
});

describe('serviceFingerprint', () => {
  const service: Service = {
    status: 'ACTIVE',
    runningCount: 1,
    events: [{ id: 'e1' }],
    deployments: [
      { id: 'd1', status: 'PRIMARY', runningCount: 1, pendingCount: 0, rolloutState: 'IN_PROGRESS' },
    ],
  };
  it('changes with a deployment count, a rollout state or a new event, not otherwise', () => {
    const same = serviceFingerprint(structuredClone(service));
    expect(serviceFingerprint(service)).toBe(same);
    expect(serviceFingerprint({ ...service, events: [{ id: 'e2' }, { id: 'e1' }] })).not.toBe(same);
    const completed = structuredClone(service);
    completed.deployments![0]!.rolloutState = 'COMPLETED';
    expect(serviceFingerprint(completed)).not.toBe(same);
    const pending = structuredClone(service);
    pending.deployments![0]!.pendingCount = 1;
    expect(serviceFingerprint(pending)).not.toBe(same);
  });
});

describe('PollPace', () => {
  it('doubles the interval on each throttled poll (up to 16×) and halves the slowdown on each clean one', () => {
    const pace = new PollPace(1000, 2000);
    const quiet = { changed: false, targetsInQuestion: true, services: 4 };
    expect(pace.next({ ...quiet, throttled: false })).toBe(1000);
    expect(pace.next({ ...quiet, throttled: true })).toBe(2000);
    expect(pace.next({ ...quiet, throttled: true })).toBe(4000);
    for (let i = 0; i < 5; i++) pace.next({ ...quiet, throttled: true });
    expect(pace.throttleSlowdown).toBe(16);
    expect(pace.next({ ...quiet, throttled: false })).toBe(8000);
  });

  it('backs off to the longest interval while nothing happens, and polls past 50 services less often', () => {
    const pace = new PollPace(1000, 2000);
    const idle = { changed: false, targetsInQuestion: false, throttled: false, services: 4 };
    expect([pace.next(idle), pace.next(idle), pace.next(idle)]).toEqual([1500, 2000, 2000]);
    expect(pace.next({ ...idle, changed: true })).toBe(1000);
    expect(new PollPace(1000, 2000).next({ ...idle, changed: true, services: 100 })).toBe(2000);
  });
});

describe('followRollouts when ECS throttles', () => {
  it('slows down instead of failing, and says so, when DescribeServices is throttled past the SDK retries', async () => {
    const td = 'arn:aws:ecs:us-east-1:1:task-definition/alva-web:4';
    const completed: Service = {
      serviceName: 'alva-web',
      status: 'ACTIVE',
      deployments: [
        {
          id: 'ecs-svc/new',
          status: 'PRIMARY',
          taskDefinition: td,
          rolloutState: 'COMPLETED',
          runningCount: 1,
          desiredCount: 1,
        },
      ],
    };
    const throttled = Object.assign(new Error('Rate exceeded'), {
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 400 },
    });
    expect(isThrottling(throttled)).toBe(true);
    const ecs = mockClient(ECSClient);
    ecs
      .on(DescribeServicesCommand)
      .rejectsOnce(throttled)
      .rejectsOnce(throttled)
      .rejectsOnce(throttled)
      .resolves({ services: [completed] });
    const clients: EcsClients = {
      ecs: new ECSClient({ region: 'us-east-1', maxAttempts: 1 }),
      elbv2: () => Promise.reject(new Error('not used')),
      logs: () => Promise.reject(new Error('not used')),
    };
    const log = memoryLog();
    const base = manualClock();
    const waits: number[] = [];
    const clock: Clock = { now: base.now, sleep: (ms, signal) => (waits.push(ms), base.sleep(ms, signal)) };
    const [result] = await followRollouts(
      clients,
      [{ service: 'alva-web', taskDefinition: td, deploymentId: 'ecs-svc/new' }],
      { cluster: 'alva', waitFor: 'steady', timeoutMs: 60_000, log, clock },
    );
    expect(result).toMatchObject({ ok: true });
    // The quiet interval (1.5 s, then 2 s) times a slowdown doubling on each throttled poll.
    expect(waits).toEqual([3000, 8000, 16000]);
    expect(log.lines.filter((l) => /throttled a read/.test(l))).toHaveLength(3);
    expect(log.lines.some((l) => /cannot read AWS/.test(l))).toBe(false);
    ecs.restore();
  });
});
