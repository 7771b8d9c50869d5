import { describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import {
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  ECSClient,
  ListServiceDeploymentsCommand,
  type Service,
} from '@aws-sdk/client-ecs';
import { memoryLog } from '../../../lib/log.js';
import type { EcsClients } from '../../../lib/ecs/clients.js';
import { followRollouts } from '../../../lib/ecs/rollout.js';
import { CancelledError } from '../../../lib/errors.js';
import { manualClock, type Clock } from '../../../lib/time.js';

const td = 'arn:aws:ecs:us-east-1:123456789012:task-definition/alva-web:4';
const inProgress: Service = {
  serviceName: 'alva-web',
  status: 'ACTIVE',
  taskDefinition: td,
  deployments: [
    {
      id: 'ecs-svc/new',
      status: 'PRIMARY',
      taskDefinition: td,
      rolloutState: 'IN_PROGRESS',
      runningCount: 0,
      desiredCount: 1,
      pendingCount: 1,
    },
  ],
};

function clientsWith(service: Service) {
  const ecs = mockClient(ECSClient);
  ecs.on(DescribeServicesCommand).resolves({ services: [service] });
  ecs.on(ListServiceDeploymentsCommand).resolves({ serviceDeployments: [] });
  const clients: EcsClients = {
    ecs: new ECSClient({ region: 'us-east-1' }),
    elbv2: () => Promise.reject(new Error('not used')),
    logs: () => Promise.reject(new Error('not used')),
  };
  return { ecs, clients };
}

const target = { service: 'alva-web', taskDefinition: td, deploymentId: 'ecs-svc/new' };

/** A manual clock whose sleep aborts `controller` once `atMs` of its time has passed. */
function clockAbortingAt(atMs: number, controller: AbortController, reason: string): Clock {
  const clock = manualClock();
  const abortAt = clock.now() + atMs;
  return {
    now: () => clock.now(),
    sleep: async (ms, signal) => {
      if (clock.now() + ms < abortAt) return clock.sleep(ms, signal);
      clock.advance(abortAt - clock.now());
      controller.abort(reason);
      throw new CancelledError(reason);
    },
  };
}

describe('followRollouts', () => {
  it('ends a rollout that does not finish in time as timed out, with its last state, and beats a heartbeat meanwhile', async () => {
    const { ecs, clients } = clientsWith(inProgress);
    const log = memoryLog();
    const [result] = await followRollouts(clients, [target], {
      cluster: 'alva',
      waitFor: 'healthy',
      timeoutMs: 150,
      log,
      minIntervalMs: 5,
      maxIntervalMs: 10,
      heartbeatMs: 20,
      clock: manualClock(),
    });
    expect(result).toMatchObject({ ok: false, failure: { kind: 'timeout' } });
    expect(result!.failure!.reason).toMatch(/last state: IN_PROGRESS, 0\/1 running, 1 pending/);
    // One line for the state (it never changed), then heartbeats.
    expect(log.lines.filter((l) => l.startsWith('alva-web: IN_PROGRESS'))).toHaveLength(1);
    expect(log.lines.some((l) => /still waiting after .*alva-web \(IN_PROGRESS/.test(l))).toBe(true);
    ecs.restore();
  });

  it('stops at once when cancelled and marks what was pending as cancelled', async () => {
    const { ecs, clients } = clientsWith(inProgress);
    const controller = new AbortController();
    const [result] = await followRollouts(clients, [target], {
      cluster: 'alva',
      waitFor: 'steady',
      timeoutMs: 60_000,
      log: memoryLog(),
      signal: controller.signal,
      minIntervalMs: 1000,
      maxIntervalMs: 1000,
      clock: clockAbortingAt(30, controller, 'received SIGINT'),
    });
    expect(result).toMatchObject({ ok: false, failure: { kind: 'cancelled' } });
    ecs.restore();
  });

  it('fails a service that was deleted meanwhile', async () => {
    const { ecs, clients } = clientsWith({ ...inProgress, status: 'INACTIVE' });
    const [result] = await followRollouts(clients, [target], {
      cluster: 'alva',
      waitFor: 'steady',
      timeoutMs: 1000,
      log: memoryLog(),
      clock: manualClock(),
    });
    expect(result).toMatchObject({ ok: false, failure: { kind: 'service-gone' } });
    ecs.restore();
  });

  it('follows deployments[] when the ServiceDeployment API is denied', async () => {
    const completed: Service = {
      ...inProgress,
      deployments: [
        { ...inProgress.deployments![0]!, rolloutState: 'COMPLETED', runningCount: 1, pendingCount: 0 },
      ],
    };
    const { ecs, clients } = clientsWith(completed);
    ecs.on(ListServiceDeploymentsCommand).resolves({
      serviceDeployments: [
        { serviceDeploymentArn: 'arn:aws:ecs:us-east-1:1:service-deployment/alva/alva-web/x' },
      ],
    });
    ecs.on(DescribeServiceDeploymentsCommand).rejects(new Error('AccessDeniedException: not authorized'));
    const [result] = await followRollouts(clients, [target], {
      cluster: 'alva',
      waitFor: 'steady',
      timeoutMs: 5000,
      log: memoryLog(),
      minIntervalMs: 5,
      maxIntervalMs: 10,
      clock: manualClock(),
    });
    expect(result).toMatchObject({ ok: true });
    ecs.restore();
  });
});
