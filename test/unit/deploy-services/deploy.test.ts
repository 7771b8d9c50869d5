import { describe, expect, it } from '@jest/globals';
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ListServiceDeploymentsCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
  type Service,
} from '@aws-sdk/client-ecs';
import { InputError } from '../../../lib/errors.js';
import { memoryLog } from '../../../lib/log.js';
import { executeDeploy, planImageDeploy, planRollbackTo } from '../../../lib/ecs/deploy.js';
import { judgeRollout } from '../../../lib/ecs/follow/judge.js';
import { mockedEcs } from './blue-green-service.js';
import { manualClock } from '../../../lib/time.js';
import type { Deployment } from '@aws-sdk/client-ecs';

const arn = (family: string, revision: number) =>
  `arn:aws:ecs:us-east-1:123456789012:task-definition/${family}:${revision}`;

function setup() {
  const { ecs, clients, mutating } = mockedEcs();
  const services: Record<string, Service> = {
    'alva-web': { serviceName: 'alva-web', status: 'ACTIVE', taskDefinition: arn('alva-web', 3) },
    'alva-api': { serviceName: 'alva-api', status: 'ACTIVE', taskDefinition: arn('alva-api', 5) },
  };
  ecs.on(DescribeServicesCommand).callsFake((input: { services: string[] }) => ({
    services: input.services.filter((s) => services[s]).map((s) => services[s]),
    failures: input.services
      .filter((s) => !services[s])
      .map((s) => ({ arn: `arn:aws:ecs:us-east-1:123456789012:service/alva/${s}`, reason: 'MISSING' })),
  }));
  ecs.on(DescribeTaskDefinitionCommand).callsFake((input: { taskDefinition: string }) => {
    const family = input.taskDefinition.includes('web') ? 'web' : 'api';
    return {
      taskDefinition: {
        taskDefinitionArn: input.taskDefinition,
        family: `alva-${family}`,
        containerDefinitions: [{ name: family, image: `repo/${family}:1` }],
      },
      tags: [],
    };
  });
  return { ecs, clients, mutating };
}

describe('planImageDeploy', () => {
  it('rejects an unknown service, naming it, before any change', async () => {
    const { ecs, clients, mutating } = setup();
    const error = await planImageDeploy(clients, 'alva', ['alva-web', 'alva-nope'], {
      web: 'repo/web:2',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(
      /Input "services": "alva-nope" \(MISSING\) not found in cluster "alva"/,
    );
    expect(mutating()).toBe(0);
    ecs.restore();
  });

  it('rejects a container no service has, listing the containers there are', async () => {
    const { ecs, clients, mutating } = setup();
    await expect(
      planImageDeploy(clients, 'alva', ['alva-web', 'alva-api'], { wbe: 'repo/web:2' }),
    ).rejects.toThrow(
      /Input "images": no task definition of alva-web, alva-api has a container named "wbe" \(containers: web, api\)/,
    );
    expect(mutating()).toBe(0);
    ecs.restore();
  });

  it('gives the same container image to every service that has it', async () => {
    const { ecs, clients } = setup();
    const plan = await planImageDeploy(clients, 'alva', ['alva-web', 'alva-api'], { web: 'repo/web:2' });
    expect(plan.services.map((s) => s.clone?.changes.length)).toEqual([1, 0]);
    ecs.restore();
  });
});

describe('executeDeploy', () => {
  it('registers nothing and updates nothing when the images are already there, and says so', async () => {
    const { ecs, clients, mutating } = setup();
    const plan = await planImageDeploy(clients, 'alva', ['alva-web'], { web: 'repo/web:1' });
    const log = memoryLog();
    const report = await executeDeploy(clients, plan, {
      waitFor: 'healthy',
      timeoutMs: 1000,
      rollbackOnFailure: true,
      forceNewDeployment: false,
      log,
    });
    expect(mutating()).toBe(0);
    expect(report.ok).toBe(true);
    expect(report.services[0]).toMatchObject({
      status: 'unchanged',
      registered: false,
      previousTaskDefinition: arn('alva-web', 3),
      taskDefinition: arn('alva-web', 3),
    });
    expect(log.lines.join('\n')).toMatch(/alva-web: nothing to deploy.*no new revision registered/);
    ecs.restore();
  });
});

describe('planRollbackTo', () => {
  it('rejects a revision that cannot be read, naming rollback-to', async () => {
    const { ecs, clients, mutating } = setup();
    ecs.on(DescribeTaskDefinitionCommand).rejects(new Error('Unable to describe task definition.'));
    await expect(planRollbackTo(clients, 'alva', ['alva-web'], { 'alva-web': 99 })).rejects.toThrow(
      /Input "rollback-to": task definition "alva-web:99" for service "alva-web" cannot be read/,
    );
    expect(mutating()).toBe(0);
    ecs.restore();
  });
});

describe('judgeRollout', () => {
  const target = { service: 'alva-web', taskDefinition: arn('alva-web', 4), deploymentId: 'ecs-svc/new' };
  const service = (deployments: Service['deployments']): Service => ({
    serviceName: 'alva-web',
    deployments,
  });

  it('fails when the circuit breaker rolled back, even though the service is steady again', () => {
    const verdict = judgeRollout(
      target,
      service([
        {
          id: 'ecs-svc/rb',
          status: 'PRIMARY',
          taskDefinition: arn('alva-web', 3),
          rolloutState: 'COMPLETED',
          runningCount: 2,
          desiredCount: 2,
        },
        {
          id: 'ecs-svc/new',
          status: 'ACTIVE',
          taskDefinition: arn('alva-web', 4),
          rolloutState: 'FAILED',
          rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.',
        },
      ]),
      undefined,
      'steady',
    );
    expect(verdict.outcome).toMatchObject({ ok: false, kind: 'circuit-breaker-rollback' });
    expect((verdict.outcome as { reason: string }).reason).toMatch(/circuit breaker: tasks failed to start/);
  });

  it('reports a ServiceDeployment rollback precisely', () => {
    const verdict = judgeRollout(
      target,
      service([
        {
          id: 'ecs-svc/new',
          status: 'PRIMARY',
          taskDefinition: arn('alva-web', 4),
          rolloutState: 'IN_PROGRESS',
        },
      ]),
      { status: 'ROLLBACK_IN_PROGRESS', statusReason: 'circuit breaker tripped' },
      'healthy',
    );
    expect(verdict.outcome).toMatchObject({ ok: false, kind: 'circuit-breaker-rollback' });
  });

  it('names the circuit breaker even when DescribeServices still shows the rollout in progress', () => {
    // The two calls of one poll straddle the moment the breaker trips.
    const verdict = judgeRollout(
      target,
      service([
        {
          id: 'ecs-svc/new',
          status: 'PRIMARY',
          taskDefinition: arn('alva-web', 4),
          rolloutState: 'IN_PROGRESS',
          rolloutStateReason: 'ECS deployment ecs-svc/new in progress.',
        },
      ]),
      {
        status: 'ROLLBACK_IN_PROGRESS',
        deploymentCircuitBreaker: { status: 'TRIGGERED', failureCount: 3, threshold: 3 },
        rollback: { reason: 'Circuit Breaker triggered the rollback.' },
      },
      'healthy',
    );
    const reason = (verdict.outcome as { reason: string }).reason;
    expect(reason).toMatch(/deployment circuit breaker tripped; Circuit Breaker triggered the rollback/);
    expect(reason).not.toMatch(/in progress/);
  });

  it('fails when someone else replaced the deployment', () => {
    const verdict = judgeRollout(
      target,
      service([
        {
          id: 'ecs-svc/other',
          status: 'PRIMARY',
          taskDefinition: arn('alva-web', 5),
          rolloutState: 'IN_PROGRESS',
        },
      ]),
      undefined,
      'healthy',
    );
    expect(verdict.outcome).toMatchObject({ ok: false, kind: 'replaced' });
  });

  it('a stopped service deployment (superseded) is a replacement, even while deployments[] still shows ours', () => {
    const verdict = judgeRollout(
      target,
      service([
        {
          id: 'ecs-svc/new',
          status: 'PRIMARY',
          taskDefinition: arn('alva-web', 4),
          rolloutState: 'IN_PROGRESS',
        },
      ]),
      {
        status: 'STOPPED',
        statusReason: 'Service deployment stopped because a new deployment ecs-svc/9 started.',
      },
      'healthy',
    );
    expect(verdict.outcome).toMatchObject({ ok: false, kind: 'replaced' });
  });

  it('steady: succeeds only on COMPLETED of our revision', () => {
    const running: Deployment = {
      id: 'ecs-svc/new',
      status: 'PRIMARY',
      taskDefinition: arn('alva-web', 4),
      runningCount: 2,
      desiredCount: 2,
    };
    expect(
      judgeRollout(target, service([{ ...running, rolloutState: 'IN_PROGRESS' }]), undefined, 'steady')
        .outcome,
    ).toBeUndefined();
    expect(
      judgeRollout(target, service([{ ...running, rolloutState: 'COMPLETED' }]), undefined, 'steady').outcome,
    ).toEqual({ ok: true });
  });

  it('healthy: asks for the task check once the desired count runs, not before', () => {
    const primary: Deployment = {
      id: 'ecs-svc/new',
      status: 'PRIMARY',
      taskDefinition: arn('alva-web', 4),
      rolloutState: 'IN_PROGRESS',
      desiredCount: 2,
    };
    expect(
      judgeRollout(target, service([{ ...primary, runningCount: 1 }]), undefined, 'healthy').checkTasks,
    ).toBeUndefined();
    expect(
      judgeRollout(target, service([{ ...primary, runningCount: 2 }]), undefined, 'healthy').checkTasks,
    ).toBeDefined();
  });
});

describe('executeDeploy, the whole recipe on a manual clock', () => {
  it('a failed rollout is explained, then the service is rolled back and waited for', async () => {
    const { ecs, clients } = setup();
    let running = arn('alva-web', 3);
    let failed = false;
    ecs.on(DescribeServicesCommand).callsFake(() => ({
      services: [
        {
          serviceName: 'alva-web',
          status: 'ACTIVE',
          taskDefinition: running,
          deployments: [
            {
              id: `ecs-svc/${running}`,
              status: 'PRIMARY',
              taskDefinition: running,
              rolloutState: failed ? 'FAILED' : 'COMPLETED',
              ...(failed ? { rolloutStateReason: 'tasks failed to start' } : {}),
              runningCount: 1,
              desiredCount: 1,
            },
          ],
        },
      ],
    }));
    ecs
      .on(RegisterTaskDefinitionCommand)
      .resolves({ taskDefinition: { taskDefinitionArn: arn('alva-web', 4) } });
    ecs.on(UpdateServiceCommand).callsFake((input: { taskDefinition: string }) => {
      running = input.taskDefinition;
      failed = running === arn('alva-web', 4);
      return { service: { deployments: [{ id: `ecs-svc/${running}`, status: 'PRIMARY' }] } };
    });
    ecs.on(ListServiceDeploymentsCommand).resolves({ serviceDeployments: [] });
    ecs.on(ListTasksCommand).resolves({ taskArns: [] });
    const plan = await planImageDeploy(clients, 'alva', ['alva-web'], { web: 'repo/web:2' });
    const log = memoryLog();
    const report = await executeDeploy(clients, plan, {
      waitFor: 'steady',
      timeoutMs: 60_000,
      rollbackOnFailure: true,
      forceNewDeployment: false,
      log,
      clock: manualClock(),
    });
    expect(ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input.taskDefinition)).toEqual([
      arn('alva-web', 4),
      arn('alva-web', 3),
    ]);
    expect(report).toMatchObject({ ok: false, cancelled: false, rolledBack: true });
    expect(report.services[0]).toMatchObject({
      status: 'failed',
      reason: 'the deployment FAILED: tasks failed to start',
      registered: true,
      taskDefinition: arn('alva-web', 4),
      rollback: { taskDefinition: arn('alva-web', 3), status: 'succeeded' },
      finalTaskDefinition: arn('alva-web', 3),
    });
    const groups = log.lines.filter((l) => l.startsWith('group: '));
    expect(groups).toEqual([
      'group: Start the rollouts',
      'group: Wait until alva-web are steady',
      'group: Why it failed',
      'group: Roll back alva-web to alva-web:3',
    ]);
    ecs.restore();
  });
});
