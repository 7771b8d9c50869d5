/**
 * A release is never lost, on a manual clock: reads that fail until the
 * deadline, a cancellation while ECS throttles, the output written before any
 * change, the release's tags, and undoing a release from those tags.
 */
import { describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
  type Tag,
} from '@aws-sdk/client-ecs';
import type { DeployedService } from '../../../lib/contracts/deployments.js';
import { cappedRetryStrategy, MAX_RETRY_DELAY_MS } from '../../../lib/aws/config.js';
import type { EcsClients } from '../../../lib/ecs/clients.js';
import { executeDeploy, planReleaseRollback, type DeployPlan } from '../../../lib/ecs/deploy.js';
import { memoryLog } from '../../../lib/log.js';
import { manualClock } from '../../../lib/time.js';

const arn = (family: string, revision: number) =>
  `arn:aws:ecs:us-east-1:123456789012:task-definition/${family}:${revision}`;

const clients = (): EcsClients => ({
  ecs: new ECSClient({ region: 'us-east-1' }),
  elbv2: () => Promise.reject(new Error('not used')),
  logs: () => Promise.reject(new Error('not used')),
});

const awsError = (name: string, httpStatusCode: number) =>
  Object.assign(new Error(`${name}: try later`), { name, $metadata: { httpStatusCode } });

/** UpdateService's reply: the new PRIMARY deployment on the revision asked for. */
const updated = (input: { service: string; taskDefinition: string }) => ({
  service: {
    serviceName: input.service,
    deployments: [
      {
        id: `ecs-svc/${input.taskDefinition.slice(-1)}`,
        status: 'PRIMARY',
        taskDefinition: input.taskDefinition,
      },
    ],
  },
});

/** rollback-to mode: web 3 → 4, api 5 → 6. */
const plan: DeployPlan = {
  cluster: 'alva',
  services: [
    { service: 'alva-web', current: arn('alva-web', 3), target: arn('alva-web', 4) },
    { service: 'alva-api', current: arn('alva-api', 5), target: arn('alva-api', 6) },
  ],
};

const options = { waitFor: 'steady' as const, rollbackOnFailure: true, forceNewDeployment: false };

describe('executeDeploy when AWS cannot be read', () => {
  it('keeps polling until the deadline, then fails as unobservable and rolls back with UpdateService alone', async () => {
    const ecs = mockClient(ECSClient);
    ecs.on(DescribeServicesCommand).rejects(awsError('ServiceUnavailableException', 503));
    ecs.on(UpdateServiceCommand).callsFake(updated);
    const log = memoryLog();
    const report = await executeDeploy(clients(), plan, {
      ...options,
      timeoutMs: 120_000,
      log,
      clock: manualClock(),
    });

    expect(report.ok).toBe(false);
    for (const s of report.services) {
      expect(s.status).toBe('failed');
      expect(s.reason).toMatch(/^AWS could not be read until the deadline \(2m00s/);
      expect(s.rollback).toMatchObject({ status: 'failed', taskDefinition: s.previousTaskDefinition });
    }
    // Many more polls than the three failures that used to end the wait.
    expect(ecs.commandCalls(DescribeServicesCommand).length).toBeGreaterThan(10);
    // The deploy's two calls, then one rollback call per service, to the revision it ran before.
    const updates = ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input);
    expect(updates.slice(2)).toEqual([
      { cluster: 'alva', service: 'alva-web', taskDefinition: arn('alva-web', 3) },
      { cluster: 'alva', service: 'alva-api', taskDefinition: arn('alva-api', 5) },
    ]);
    expect(report.standing).toEqual({ read: false, error: expect.stringMatching(/ServiceUnavailable/) });
    expect(log.lines.join('\n')).toMatch(/cannot read AWS \(\d+ failed poll\(s\) in a row; next try in/);
    ecs.restore();
  });

  it('rides out an outage that ends before the deadline', async () => {
    const ecs = mockClient(ECSClient);
    let reads = 0;
    ecs.on(DescribeServicesCommand).callsFake((input: { services: string[] }) => {
      reads += 1;
      if (reads <= 12) throw awsError('ThrottlingException', 400);
      return {
        services: input.services.map((name) => {
          const target = plan.services.find((p) => p.service === name)!.target!;
          const deployment = {
            id: `ecs-svc/${target.slice(-1)}`,
            status: 'PRIMARY',
            taskDefinition: target,
            rolloutState: 'COMPLETED',
            desiredCount: 1,
            runningCount: 1,
          };
          return { serviceName: name, status: 'ACTIVE', taskDefinition: target, deployments: [deployment] };
        }),
      };
    });
    ecs.on(UpdateServiceCommand).callsFake(updated);
    const report = await executeDeploy(clients(), plan, {
      ...options,
      timeoutMs: 600_000,
      log: memoryLog(),
      clock: manualClock(),
    });
    expect(report.services.map((s) => s.status)).toEqual(['deployed', 'deployed']);
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(2);
    ecs.restore();
  });
});

describe('executeDeploy when cancelled while ECS throttles', () => {
  it('sends every rollback call at once, retries the throttled one within the grace, and does not wait for them', async () => {
    const ecs = mockClient(ECSClient);
    const cancel = new AbortController();
    ecs.on(DescribeServicesCommand).callsFake(() => {
      cancel.abort('received SIGINT');
      throw awsError('ThrottlingException', 400);
    });
    let updates = 0;
    ecs.on(UpdateServiceCommand).callsFake((input: { service: string; taskDefinition: string }) => {
      updates += 1;
      if (updates === 3) throw awsError('ThrottlingException', 400);
      return updated(input);
    });
    const report = await executeDeploy(clients(), plan, {
      ...options,
      timeoutMs: 600_000,
      log: memoryLog(),
      clock: manualClock(),
      signal: cancel.signal,
    });
    expect(report.cancelled).toBe(true);
    const rollbacks = ecs
      .commandCalls(UpdateServiceCommand)
      .slice(2)
      .map((c) => c.args[0].input.taskDefinition);
    // Both sent at once; web's first call was throttled and sent again.
    expect(rollbacks).toEqual([arn('alva-web', 3), arn('alva-api', 5), arn('alva-web', 3)]);
    for (const s of report.services) {
      expect(s.status).toBe('cancelled');
      expect(s.rollback).toMatchObject({
        status: 'started',
        reason: 'rollback requested, not confirmed: the run was cancelled',
      });
    }
    ecs.restore();
  });

  it('a rollback call still throttled when the grace ends is reported not sent', async () => {
    const ecs = mockClient(ECSClient);
    const cancel = new AbortController();
    cancel.abort('received SIGINT');
    let updates = 0;
    ecs.on(UpdateServiceCommand).callsFake((input: { service: string; taskDefinition: string }) => {
      updates += 1;
      if (updates > 2) throw awsError('ThrottlingException', 400);
      return updated(input);
    });
    ecs.on(DescribeServicesCommand).rejects(awsError('ThrottlingException', 400));
    const report = await executeDeploy(clients(), plan, {
      ...options,
      timeoutMs: 600_000,
      log: memoryLog(),
      clock: manualClock(),
      signal: cancel.signal,
    });
    for (const s of report.services) {
      expect(s.rollback?.status).toBe('failed');
      expect(s.rollback?.reason).toMatch(
        /^rollback not sent within the cancellation grace: ThrottlingException/,
      );
    }
    ecs.restore();
  });
});

describe('the output before any change, and the release tags', () => {
  it('reports every service in progress from its current revision before registering, and tags what it registers', async () => {
    const ecs = mockClient(ECSClient);
    ecs
      .on(RegisterTaskDefinitionCommand)
      .resolves({ taskDefinition: { taskDefinitionArn: arn('alva-web', 4) } });
    ecs.on(UpdateServiceCommand).callsFake(updated);
    const snapshots: DeployedService[][] = [];
    const cancel = new AbortController();
    cancel.abort('received SIGINT');
    const imagesPlan: DeployPlan = {
      cluster: 'alva',
      services: [
        {
          service: 'alva-web',
          current: arn('alva-web', 3),
          clone: {
            source: { taskDefinition: { taskDefinitionArn: arn('alva-web', 3) }, tags: [] },
            input: {
              family: 'alva-web',
              containerDefinitions: [{ name: 'web', image: 'repo/web:2' }],
              tags: [
                { key: 'team', value: 'web' },
                { key: 'ecs-ship:release', value: 'an-older-run' },
              ],
            },
            changes: [{ container: 'web', from: 'repo/web:1', to: 'repo/web:2' }],
          },
        },
      ],
    };
    await executeDeploy(clients(), imagesPlan, {
      ...options,
      rollbackOnFailure: false,
      timeoutMs: 60_000,
      log: memoryLog(),
      clock: manualClock(),
      signal: cancel.signal,
      release: '4242',
      onProgress: (services) => snapshots.push(structuredClone(services)),
    });
    expect(snapshots[0]).toEqual([
      expect.objectContaining({
        service: 'alva-web',
        status: 'in-progress',
        previousTaskDefinition: arn('alva-web', 3),
        taskDefinition: arn('alva-web', 3),
      }),
    ]);
    expect(snapshots[1]![0]).toMatchObject({ status: 'in-progress', taskDefinition: arn('alva-web', 4) });
    const tags = ecs.commandCalls(RegisterTaskDefinitionCommand)[0]!.args[0].input.tags;
    expect(tags).toEqual([
      { key: 'team', value: 'web' },
      { key: 'ecs-ship:release', value: '4242' },
      { key: 'ecs-ship:previous', value: arn('alva-web', 3) },
    ]);
    ecs.restore();
  });
});

describe('planReleaseRollback', () => {
  it('goes back along ecs-ship:previous over every revision of the release, and leaves the services it did not change', async () => {
    const ecs = mockClient(ECSClient);
    ecs.on(DescribeServicesCommand).resolves({
      services: [
        { serviceName: 'alva-web', status: 'ACTIVE', taskDefinition: arn('alva-web', 7) },
        { serviceName: 'alva-api', status: 'ACTIVE', taskDefinition: arn('alva-api', 3) },
      ],
    });
    const tagsOf: Record<string, Tag[]> = {
      [arn('alva-web', 7)]: [
        { key: 'ecs-ship:release', value: '99' },
        { key: 'ecs-ship:previous', value: arn('alva-web', 6) },
      ],
      // A rerun of the same run registered 7 over 6: both are undone.
      [arn('alva-web', 6)]: [
        { key: 'ecs-ship:release', value: '99' },
        { key: 'ecs-ship:previous', value: arn('alva-web', 5) },
      ],
      [arn('alva-web', 5)]: [{ key: 'ecs-ship:release', value: '98' }],
      [arn('alva-api', 3)]: [],
    };
    ecs.on(DescribeTaskDefinitionCommand).callsFake((input: { taskDefinition: string }) => ({
      taskDefinition: { taskDefinitionArn: input.taskDefinition },
      tags: tagsOf[input.taskDefinition],
    }));
    const log = memoryLog();
    const result = await planReleaseRollback(clients(), 'alva', ['alva-web', 'alva-api'], '99', log);
    expect(result.services).toEqual([
      { service: 'alva-web', current: arn('alva-web', 7), target: arn('alva-web', 5) },
      { service: 'alva-api', current: arn('alva-api', 3), target: arn('alva-api', 3) },
    ]);
    expect(log.lines).toContain(
      'alva-web: runs alva-web:7, registered by release 99; going back to alva-web:5',
    );
    ecs.restore();
  });
});

describe('retry settings', () => {
  it('the SDK never waits more than MAX_RETRY_DELAY_MS between attempts, gives up after maxAttempts, and never retries a client error', async () => {
    const strategy = cappedRetryStrategy(8, () => 0.999);
    let token = await strategy.acquireInitialRetryToken('');
    const delays: number[] = [];
    for (let i = 0; i < 7; i += 1) {
      token = await strategy.refreshRetryTokenForRetry(token, { errorType: 'THROTTLING' });
      delays.push(token.getRetryDelay());
    }
    expect(Math.max(...delays)).toBeLessThanOrEqual(MAX_RETRY_DELAY_MS);
    expect(delays[0]).toBeLessThan(delays[2]!);
    await expect(
      strategy.refreshRetryTokenForRetry(token, { errorType: 'THROTTLING' }),
    ).rejects.toBeUndefined();
    const fresh = await strategy.acquireInitialRetryToken('');
    await expect(
      strategy.refreshRetryTokenForRetry(fresh, { errorType: 'CLIENT_ERROR' }),
    ).rejects.toBeUndefined();
  });
});
