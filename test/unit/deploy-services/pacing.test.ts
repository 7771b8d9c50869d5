/**
 * Pacing of the start's mutating calls (lib/aws/pacing.ts): a release of many
 * services stays within RegisterTaskDefinition's and UpdateService's buckets,
 * on the action's clock, instead of being refused and retried.
 */
import { describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { ECSClient, RegisterTaskDefinitionCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { cappedRetryStrategy } from '../../../lib/aws/config.js';
import { ECS_START_RATES, TokenPacer, ecsStartPacer } from '../../../lib/aws/pacing.js';
import type { EcsClients } from '../../../lib/ecs/clients.js';
import type { DeployPlan } from '../../../lib/ecs/deploy.js';
import type { DeployRun } from '../../../lib/ecs/deploy/run.js';
import { startRollouts } from '../../../lib/ecs/deploy/start.js';
import { memoryLog } from '../../../lib/log.js';
import { manualClock, type Clock } from '../../../lib/time.js';

const arn = (family: string, revision: number) =>
  `arn:aws:ecs:us-east-1:123456789012:task-definition/${family}:${revision}`;

function throttlingError(): Error {
  return Object.assign(new Error('Rate exceeded'), {
    name: 'ThrottlingException',
    $metadata: { httpStatusCode: 400 },
  });
}

/** An account's bucket as ECS keeps it (sim/throttle.ts), on the test's clock. */
function accountBucket(capacity: number, refillPerSecond: number, clock: Clock) {
  let tokens = capacity;
  let at = clock.now();
  return () => {
    tokens = Math.min(capacity, tokens + ((clock.now() - at) / 1000) * refillPerSecond);
    at = clock.now();
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };
}

describe('TokenPacer', () => {
  it('lets the burst through at once, then one call per refill (the first a tenth of a token late), in order', async () => {
    const clock = manualClock();
    const begun = clock.now();
    const pacer = new TokenPacer({ capacity: 3, refillPerSecond: 2 }, clock);
    const at: number[] = [];
    await Promise.all(Array.from({ length: 6 }, () => pacer.take().then(() => at.push(clock.now() - begun))));
    expect(at).toEqual([0, 0, 0, 550, 1050, 1550]);
  });

  it('after a throttled answer waits for the refill before the next call', async () => {
    const clock = manualClock();
    const pacer = new TokenPacer({ capacity: 20, refillPerSecond: 1 }, clock);
    await pacer.take();
    pacer.throttled();
    const before = clock.now();
    await pacer.take();
    expect(clock.now() - before).toBe(1100);
  });

  it('a waiter cancelled while queued does not hold up the next one', async () => {
    const clock = manualClock();
    const pacer = new TokenPacer({ capacity: 1, refillPerSecond: 1 }, clock);
    await pacer.take();
    const cancel = new AbortController();
    cancel.abort('stop');
    await expect(pacer.take(cancel.signal)).rejects.toThrow(/stop/);
    await expect(pacer.take()).resolves.toBeUndefined();
  });
});

describe('startRollouts under ECS rate limits', () => {
  const SERVICES = 45;

  function world() {
    const clock = manualClock();
    const ecs = mockClient(ECSClient);
    const registerToken = accountBucket(
      ECS_START_RATES.RegisterTaskDefinition.capacity,
      ECS_START_RATES.RegisterTaskDefinition.refillPerSecond,
      clock,
    );
    const updateToken = accountBucket(
      ECS_START_RATES.UpdateService.capacity,
      ECS_START_RATES.UpdateService.refillPerSecond,
      clock,
    );
    const refused = { RegisterTaskDefinition: 0, UpdateService: 0 };
    const updatedAt = new Map<string, number>();
    ecs.on(RegisterTaskDefinitionCommand).callsFake((input: { family: string }) => {
      if (!registerToken()) {
        refused.RegisterTaskDefinition++;
        throw throttlingError();
      }
      return { taskDefinition: { taskDefinitionArn: arn(input.family, 2) } };
    });
    ecs.on(UpdateServiceCommand).callsFake((input: { service: string }) => {
      if (!updateToken()) {
        refused.UpdateService++;
        throw throttlingError();
      }
      updatedAt.set(input.service, clock.now());
      return { service: { serviceName: input.service, deployments: [] } };
    });
    const clients: EcsClients = {
      ecs: new ECSClient({ region: 'us-east-1' }),
      elbv2: () => Promise.reject(new Error('not used')),
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
      follow: { cluster: 'alva', waitFor: 'healthy', timeoutMs: 600_000, log, clock },
    };
    const names = Array.from({ length: SERVICES }, (_, i) => `svc-${String(i + 1).padStart(3, '0')}`);
    const plan: DeployPlan = {
      cluster: 'alva',
      services: names.map((service) => ({
        service,
        current: arn(service, 1),
        clone: {
          source: { taskDefinitionArn: arn(service, 1), family: service } as never,
          input: { family: service, containerDefinitions: [{ name: 'app', image: `repo/${service}:2` }] },
          changes: [{ container: 'app', from: `repo/${service}:1`, to: `repo/${service}:2` }],
        },
      })),
    };
    return { ecs, clock, run, plan, refused, updatedAt };
  }

  it(`registers and updates ${SERVICES} services without a refused call, at ECS's rate`, async () => {
    const { ecs, clock, run, plan, refused, updatedAt } = world();
    const begun = clock.now();
    const started = await startRollouts(run, plan, { forceNewDeployment: false });
    ecs.restore();

    expect(started.every((s) => s.touched && s.target?.taskDefinition === arn(s.report.service, 2))).toBe(
      true,
    );
    expect(refused).toEqual({ RegisterTaskDefinition: 0, UpdateService: 0 });
    // The bucket's 20 at once, then one a second (and the margin): the last of 45 is updated 25.1 s in.
    const last = Math.max(...updatedAt.values()) - begun;
    expect(last).toBe((SERVICES - 20) * 1000 + 100);
    // Each service is updated as soon as its own revision is registered, not after all of them.
    expect(updatedAt.get('svc-001')! - begun).toBe(0);
  });
});

describe("the SDK's own retries of a paced call", () => {
  it('wait for a token after a refused attempt, instead of being refused again within the back-off', async () => {
    const clock = manualClock();
    // The account's bucket, already spent by another deploy: one token a second from now on.
    const account = accountBucket(1, 1, clock);
    account();
    const attempts: { at: number; refused: boolean }[] = [];
    const requestHandler = {
      handle: async () => {
        const refused = !account();
        attempts.push({ at: clock.now(), refused });
        const body = refused
          ? { __type: 'ThrottlingException', message: 'Rate exceeded' }
          : { taskDefinition: { taskDefinitionArn: arn('svc', 2) } };
        const { Readable } = await import('node:stream');
        return {
          response: {
            statusCode: refused ? 400 : 200,
            headers: { 'content-type': 'application/x-amz-json-1.1' },
            body: Readable.from([Buffer.from(JSON.stringify(body))]),
          },
        };
      },
    };
    const ecs = new ECSClient({
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:9',
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
      requestHandler: requestHandler as never,
      // No back-off of its own: only the pacer can space the attempts.
      retryStrategy: cappedRetryStrategy(8, () => 0),
    });
    const pacer = ecsStartPacer(ecs, 'RegisterTaskDefinition', clock);
    const registered = await Promise.all(
      Array.from({ length: 3 }, async () => {
        await pacer.take();
        const reply = await ecs.send(
          new RegisterTaskDefinitionCommand({ family: 'svc', containerDefinitions: [{ name: 'app' }] }),
        );
        return reply.taskDefinition?.taskDefinitionArn;
      }),
    );
    expect(registered).toEqual([arn('svc', 2), arn('svc', 2), arn('svc', 2)]);
    // The burst the pacer assumed was refused once each; every retry then waited for its token.
    expect(attempts.filter((a) => a.refused).length).toBeLessThanOrEqual(3);
    expect(attempts.filter((a) => !a.refused)).toHaveLength(3);
  });

  it('a retry waiting for its token stops waiting when the release is cancelled (the SDK retries on at its own pace)', async () => {
    // A clock on which no token ever comes: only the cancellation ends a wait.
    const stuck: Clock = {
      now: () => 0,
      sleep: (_ms, signal) =>
        new Promise((_resolve, reject) => {
          const cancel = () => reject(new Error('cancelled'));
          if (signal?.aborted) cancel();
          signal?.addEventListener('abort', cancel, { once: true });
        }),
    };
    const { Readable } = await import('node:stream');
    const ecs = new ECSClient({
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:9',
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
      requestHandler: {
        handle: () =>
          Promise.resolve({
            response: {
              statusCode: 400,
              headers: { 'content-type': 'application/x-amz-json-1.1' },
              body: Readable.from([
                Buffer.from(JSON.stringify({ __type: 'ThrottlingException', message: 'Rate exceeded' })),
              ]),
            },
          }),
      } as never,
      retryStrategy: cappedRetryStrategy(8, () => 0),
    });
    const pacer = ecsStartPacer(ecs, 'UpdateService', stuck);
    const release = new AbortController();
    await pacer.take(release.signal);
    const sent = ecs.send(new UpdateServiceCommand({ cluster: 'alva', service: 'svc' }));
    release.abort('cancelled');
    await expect(sent).rejects.toThrow();
  });
  it('a rollback sent after the release was cancelled is retried and reaches AWS, not failed by the cancellation', async () => {
    const { Readable } = await import('node:stream');
    let attempts = 0;
    const reply = (statusCode: number, body: unknown) =>
      Promise.resolve({
        response: {
          statusCode,
          headers: { 'content-type': 'application/x-amz-json-1.1' },
          body: Readable.from([Buffer.from(JSON.stringify(body))]),
        },
      });
    const ecs = new ECSClient({
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:9',
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
      requestHandler: {
        // Throttled once (as AWS may answer a rollback sent in a burst), then accepted.
        handle: () =>
          ++attempts === 1
            ? reply(400, { __type: 'ThrottlingException', message: 'Rate exceeded' })
            : reply(200, { service: { serviceName: 'svc' } }),
      } as never,
      retryStrategy: cappedRetryStrategy(8, () => 0),
    });
    const pacer = ecsStartPacer(ecs, 'UpdateService', manualClock(0));
    const release = new AbortController();
    await pacer.take(release.signal);
    pacer.throttled();
    release.abort('cancelled');
    const rollback = await ecs.send(new UpdateServiceCommand({ cluster: 'alva', service: 'svc' }));
    expect(rollback.service?.serviceName).toBe('svc');
    expect(attempts).toBe(2);
  });
});
