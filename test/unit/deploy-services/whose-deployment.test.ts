/**
 * Whose deployment it is: the ServiceDeployment of ours found exactly (never
 * by a time window), ours judged by its id, a deployment of the requested
 * images under way adopted, one of other images refused or waited for, and
 * the bake judge. Mocked SDK, manual clock.
 */
import { describe, expect, it } from '@jest/globals';
import {
  DescribeServiceRevisionsCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ListServiceDeploymentsCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
  type Deployment,
  type Service,
  type Task,
} from '@aws-sdk/client-ecs';
import { OperationError } from '../../../lib/errors.js';
import { memoryLog } from '../../../lib/log.js';
import { executeDeploy, planImageDeploy } from '../../../lib/ecs/deploy.js';
import { judgeBake } from '../../../lib/ecs/follow/bake.js';
import { judgeRollout } from '../../../lib/ecs/follow/judge.js';
import {
  findServiceDeployment,
  type ServiceDeploymentLookup,
} from '../../../lib/ecs/follow/service-deployments.js';
import { describeAlvaWebTaskDefinitions, describeInSequence, mockedEcs, t0 } from './blue-green-service.js';
import { manualClock } from '../../../lib/time.js';

const arn = (family: string, revision: number) =>
  `arn:aws:ecs:us-east-1:123456789012:task-definition/${family}:${revision}`;
const sdArn = (id: string) => `arn:aws:ecs:us-east-1:123456789012:service-deployment/alva/alva-web/${id}`;

describe('findServiceDeployment', () => {
  const lookup = (): ServiceDeploymentLookup => ({
    service: 'alva-web',
    deploymentCreatedAt: t0,
    available: true,
    lookups: 0,
  });

  it('takes the service deployment created at the very instant of ours, not one started 300 ms before it', async () => {
    const { ecs, clients } = mockedEcs();
    ecs.on(ListServiceDeploymentsCommand).resolves({
      serviceDeployments: [
        { serviceDeploymentArn: sdArn('ours'), createdAt: t0 },
        { serviceDeploymentArn: sdArn('theirs'), createdAt: new Date(t0.getTime() - 300) },
      ],
    });
    const l = lookup();
    await findServiceDeployment(clients.ecs, 'alva', l);
    expect(l.arn).toBe(sdArn('ours'));
    ecs.restore();
  });

  it('never takes another one for ours: not listed yet, then deployments[] decides', async () => {
    const { ecs, clients } = mockedEcs();
    ecs.on(ListServiceDeploymentsCommand).resolves({
      serviceDeployments: [
        { serviceDeploymentArn: sdArn('theirs'), createdAt: new Date(t0.getTime() - 300) },
      ],
    });
    const l = lookup();
    for (let i = 0; i < 3; i++) await findServiceDeployment(clients.ecs, 'alva', l);
    expect(l.arn).toBeUndefined();
    expect(l.available).toBe(false);
    ecs.restore();
  });

  it('one created at the same instant whose service revision runs another task definition is not ours', async () => {
    const { ecs, clients } = mockedEcs();
    ecs.on(ListServiceDeploymentsCommand).resolves({
      serviceDeployments: [
        { serviceDeploymentArn: sdArn('theirs'), createdAt: t0, targetServiceRevisionArn: 'rev/theirs' },
      ],
    });
    ecs.on(DescribeServiceRevisionsCommand).resolves({
      serviceRevisions: [{ serviceRevisionArn: 'rev/theirs', taskDefinition: arn('alva-web', 3) }],
    });
    const l = { ...lookup(), taskDefinition: arn('alva-web', 4) };
    await findServiceDeployment(clients.ecs, 'alva', l);
    expect(l.arn).toBeUndefined();
    expect(l.available).toBe(false);
    ecs.on(DescribeServiceRevisionsCommand).resolves({
      serviceRevisions: [{ serviceRevisionArn: 'rev/theirs', taskDefinition: arn('alva-web', 4) }],
    });
    const ours = { ...lookup(), taskDefinition: arn('alva-web', 4) };
    await findServiceDeployment(clients.ecs, 'alva', ours);
    expect(ours.arn).toBe(sdArn('theirs'));
    ecs.restore();
  });

  it('two created at the same instant: ambiguous, deployments[] decides', async () => {
    const { ecs, clients } = mockedEcs();
    ecs.on(ListServiceDeploymentsCommand).resolves({
      serviceDeployments: [
        { serviceDeploymentArn: sdArn('a'), createdAt: t0 },
        { serviceDeploymentArn: sdArn('b'), createdAt: t0 },
      ],
    });
    const l = lookup();
    await findServiceDeployment(clients.ecs, 'alva', l);
    expect(l.arn).toBeUndefined();
    expect(l.available).toBe(false);
    ecs.restore();
  });
});

describe('judgeRollout: ours is the deployment UpdateService returned', () => {
  const td = arn('alva-web', 4);
  const target = { service: 'alva-web', taskDefinition: td, deploymentId: 'ecs-svc/ours' };

  it('a force-new-deployment of the same revision after ours replaced ours, even though the revision matches', () => {
    const verdict = judgeRollout(
      target,
      {
        deployments: [
          { id: 'ecs-svc/forced', status: 'PRIMARY', taskDefinition: td, rolloutState: 'IN_PROGRESS' },
          { id: 'ecs-svc/ours', status: 'ACTIVE', taskDefinition: td, rolloutState: 'IN_PROGRESS' },
        ],
      },
      undefined,
      'steady',
    );
    expect(verdict.outcome).toMatchObject({ ok: false, kind: 'replaced' });
  });

  it('wait-for steady: ours IN_PROGRESS is not steady because an older deployment had COMPLETED', () => {
    const verdict = judgeRollout(
      target,
      {
        deployments: [
          {
            id: 'ecs-svc/ours',
            status: 'PRIMARY',
            taskDefinition: td,
            rolloutState: 'IN_PROGRESS',
            desiredCount: 1,
          },
          {
            id: 'ecs-svc/old',
            status: 'ACTIVE',
            taskDefinition: arn('alva-web', 3),
            rolloutState: 'COMPLETED',
          },
        ],
      },
      undefined,
      'steady',
    );
    expect(verdict.outcome).toBeUndefined();
  });
});

/** A service whose PRIMARY runs alva-web:4 (image repo/web:2) over alva-web:3 (repo/web:1). */
function serviceWith(primary: Partial<Deployment>, others: Deployment[] = []): Service {
  return {
    serviceName: 'alva-web',
    status: 'ACTIVE',
    taskDefinition: primary.taskDefinition ?? arn('alva-web', 4),
    desiredCount: 1,
    deployments: [
      {
        id: 'ecs-svc/earlier',
        status: 'PRIMARY',
        taskDefinition: arn('alva-web', 4),
        desiredCount: 1,
        runningCount: 0,
        failedTasks: 2,
        rolloutState: 'IN_PROGRESS',
        createdAt: t0,
        ...primary,
      },
      ...others,
    ],
  };
}

const draining: Deployment = {
  id: 'ecs-svc/before',
  status: 'ACTIVE',
  taskDefinition: arn('alva-web', 3),
  rolloutState: 'COMPLETED',
  runningCount: 1,
  desiredCount: 1,
};

function planSetup(sequence: Service[]) {
  const { ecs, clients, mutating } = mockedEcs();
  describeInSequence(ecs, sequence);
  describeAlvaWebTaskDefinitions(ecs, { 4: 'repo/web:2' });
  ecs.on(ListServiceDeploymentsCommand).resolves({ serviceDeployments: [] });
  return { ecs, clients, mutating };
}

describe('planImageDeploy with a deployment under way', () => {
  it('adopts an unsettled deployment of the requested images, to roll back to the revision before it', async () => {
    const { ecs, clients, mutating } = planSetup([serviceWith({}, [draining])]);
    const plan = await planImageDeploy(clients, 'alva', ['alva-web'], { web: 'repo/web:2' });
    expect(plan.services[0]!.adopt).toMatchObject({
      deploymentId: 'ecs-svc/earlier',
      taskDefinition: arn('alva-web', 4),
      previous: arn('alva-web', 3),
    });
    expect(mutating()).toBe(0);
    ecs.restore();
  });

  it('adopts the FAILED deployment of the requested images that the circuit breaker is rolling back', async () => {
    const rollingBack = serviceWith(
      {
        id: 'ecs-svc/rollback',
        taskDefinition: arn('alva-web', 3),
        rolloutStateReason: 'ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/before.',
        failedTasks: 0,
      },
      [
        {
          id: 'ecs-svc/earlier',
          status: 'ACTIVE',
          taskDefinition: arn('alva-web', 4),
          rolloutState: 'FAILED',
          failedTasks: 3,
        },
      ],
    );
    const { ecs, clients, mutating } = planSetup([rollingBack]);
    const plan = await planImageDeploy(clients, 'alva', ['alva-web'], { web: 'repo/web:2' });
    expect(plan.services[0]!.adopt).toMatchObject({
      deploymentId: 'ecs-svc/earlier',
      taskDefinition: arn('alva-web', 4),
      previous: arn('alva-web', 3),
    });
    expect(mutating()).toBe(0);
    ecs.restore();
  });

  it('a COMPLETED deployment of the requested images with every task running is unchanged, not adopted', async () => {
    const { ecs, clients } = planSetup([
      serviceWith({ rolloutState: 'COMPLETED', runningCount: 1, failedTasks: 0 }),
    ]);
    const plan = await planImageDeploy(clients, 'alva', ['alva-web'], { web: 'repo/web:2' });
    expect(plan.services[0]!.adopt).toBeUndefined();
    expect(plan.services[0]!.clone!.changes).toEqual([]);
    ecs.restore();
  });

  it('refuses a deployment of other images in progress, naming it, before any change', async () => {
    const { ecs, clients, mutating } = planSetup([serviceWith({}, [draining])]);
    const error = await planImageDeploy(clients, 'alva', ['alva-web'], { web: 'repo/web:9' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OperationError);
    expect((error as Error).message).toMatch(
      /alva-web: deployment ecs-svc\/earlier of alva-web:4 \(IN_PROGRESS.*is in progress with other images \(web: it runs repo\/web:2, this release wants repo\/web:9\)/,
    );
    expect((error as Error).message).toMatch(/if-in-progress: wait/);
    expect(mutating()).toBe(0);
    ecs.restore();
  });

  it('a deployment of other images whose revision another run of deploy-services registered: the refusal names that release', async () => {
    const { ecs, clients, mutating } = planSetup([serviceWith({}, [draining])]);
    ecs.on(DescribeTaskDefinitionCommand).callsFake((input: { taskDefinition: string }) => ({
      taskDefinition: {
        taskDefinitionArn: input.taskDefinition,
        family: 'alva-web',
        containerDefinitions: [
          { name: 'web', image: input.taskDefinition.endsWith(':4') ? 'repo/web:2' : 'repo/web:1' },
        ],
      },
      tags: input.taskDefinition.endsWith(':4') ? [{ key: 'ecs-ship:release', value: '4242' }] : [],
    }));
    const error = await planImageDeploy(clients, 'alva', ['alva-web'], { web: 'repo/web:9' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OperationError);
    expect((error as Error).message).toMatch(
      /alva-web: deployment ecs-svc\/earlier of alva-web:4 .* its revision alva-web:4 was registered by release 4242 \(tag ecs-ship:release/,
    );
    expect(mutating()).toBe(0);
    ecs.restore();
  });

  it('a deployment of other images whose revision carries no release tag: ECS does not record who started it', async () => {
    const { ecs, clients } = planSetup([serviceWith({}, [draining])]);
    const error = await planImageDeploy(clients, 'alva', ['alva-web'], { web: 'repo/web:9' }).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toMatch(/ECS does not record who started it/);
    expect((error as Error).message).not.toMatch(/registered by release/);
    ecs.restore();
  });

  it('with if-in-progress: wait, waits on the clock until the other deployment is done', async () => {
    const done = serviceWith({ rolloutState: 'COMPLETED', runningCount: 1, failedTasks: 0 });
    const { ecs, clients } = planSetup([serviceWith({}, [draining]), serviceWith({}, [draining]), done]);
    const clock = manualClock();
    const begun = clock.now();
    const log = memoryLog();
    const plan = await planImageDeploy(
      clients,
      'alva',
      ['alva-web'],
      { web: 'repo/web:9' },
      {
        ifInProgress: 'wait',
        timeoutMs: 60_000,
        clock,
        log,
        pollMs: 10_000,
      },
    );
    expect(clock.now() - begun).toBe(20_000);
    expect(plan.services[0]!.clone!.changes).toHaveLength(1);
    expect(log.lines.filter((l) => /waiting for alva-web: deployment ecs-svc\/earlier/.test(l))).toHaveLength(
      1,
    );
    ecs.restore();
  });

  it('with if-in-progress: wait, gives up at timeout-seconds without changing anything', async () => {
    const { ecs, clients, mutating } = planSetup([serviceWith({}, [draining])]);
    const clock = manualClock();
    await expect(
      planImageDeploy(
        clients,
        'alva',
        ['alva-web'],
        { web: 'repo/web:9' },
        {
          ifInProgress: 'wait',
          timeoutMs: 30_000,
          clock,
        },
      ),
    ).rejects.toThrow(/Still in progress after waiting 30s/);
    expect(mutating()).toBe(0);
    ecs.restore();
  });
});

describe('executeDeploy with an adopted deployment', () => {
  it('follows it without registering or updating, and records the revision before it as previous', async () => {
    const running = serviceWith({ rolloutState: 'COMPLETED', runningCount: 1, failedTasks: 0 });
    const { ecs, clients, mutating } = planSetup([serviceWith({}, [draining]), running]);
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
    expect(mutating()).toBe(0);
    expect(report.ok).toBe(true);
    expect(report.services[0]).toMatchObject({
      status: 'deployed',
      registered: false,
      previousTaskDefinition: arn('alva-web', 3),
      taskDefinition: arn('alva-web', 4),
    });
    expect(log.lines.join('\n')).toMatch(/alva-web: adopted deployment ecs-svc\/earlier/);
    ecs.restore();
  });
});

describe('judgeBake', () => {
  const td = arn('alva-web', 4);
  const target = { service: 'alva-web', taskDefinition: td, deploymentId: 'ecs-svc/ours' };
  const service = (failedTasks: number): Service => ({
    serviceName: 'alva-web',
    desiredCount: 2,
    deployments: [
      { id: 'ecs-svc/ours', status: 'PRIMARY', taskDefinition: td, rolloutState: 'COMPLETED', failedTasks },
    ],
  });
  const task = (id: string): Task => ({
    taskArn: `task/${id}`,
    taskDefinitionArn: td,
    lastStatus: 'RUNNING',
    desiredStatus: 'RUNNING',
  });

  it('holds while every new task runs and none failed since the bake began', () => {
    const verdict = judgeBake(
      target,
      { failedTasks: 1 },
      {
        service: service(1),
        tasks: [task('a'), task('b')],
        targetHealth: new Map(),
      },
    );
    expect(verdict.ok).toBe(true);
  });

  it('fails when a task of the new revision stopped', () => {
    const verdict = judgeBake(
      target,
      { failedTasks: 0 },
      {
        service: service(0),
        tasks: [task('a')],
        targetHealth: new Map(),
      },
    );
    expect(verdict).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/a task of the new revision stopped \(1\/2/),
    });
  });

  it('fails when failedTasks rose', () => {
    const verdict = judgeBake(
      target,
      { failedTasks: 0 },
      {
        service: service(1),
        tasks: [task('a'), task('b')],
        targetHealth: new Map(),
      },
    );
    expect(verdict).toMatchObject({ ok: false, reason: '1 task(s) of the new revision failed' });
  });
});

describe('executeDeploy with bake-seconds, on a manual clock', () => {
  /** alva-web deployed to :4 and steady; its one task of :4 runs for `crashAfterMs`, then is gone. */
  function bakeSetup(crashAfterMs: number) {
    const { ecs, clients } = mockedEcs();
    const clock = manualClock();
    const begun = clock.now();
    let running = arn('alva-web', 3);
    ecs.on(DescribeServicesCommand).callsFake(() => ({
      services: [
        {
          serviceName: 'alva-web',
          status: 'ACTIVE',
          taskDefinition: running,
          desiredCount: 1,
          deployments: [
            {
              id: `ecs-svc/${running}`,
              status: 'PRIMARY',
              taskDefinition: running,
              rolloutState: 'COMPLETED',
              runningCount: 1,
              desiredCount: 1,
              failedTasks: 0,
            },
          ],
        },
      ],
    }));
    ecs.on(DescribeTaskDefinitionCommand).callsFake((input: { taskDefinition: string }) => ({
      taskDefinition: {
        taskDefinitionArn: input.taskDefinition,
        family: 'alva-web',
        containerDefinitions: [{ name: 'web', image: 'repo/web:1' }],
      },
      tags: [],
    }));
    ecs
      .on(RegisterTaskDefinitionCommand)
      .resolves({ taskDefinition: { taskDefinitionArn: arn('alva-web', 4) } });
    ecs.on(UpdateServiceCommand).callsFake((input: { taskDefinition: string }) => {
      running = input.taskDefinition;
      return { service: { deployments: [{ id: `ecs-svc/${running}`, status: 'PRIMARY' }] } };
    });
    ecs.on(ListServiceDeploymentsCommand).resolves({ serviceDeployments: [] });
    ecs.on(ListTasksCommand).callsFake((input: { desiredStatus?: string }) => ({
      taskArns: input.desiredStatus === 'RUNNING' && clock.now() - begun < crashAfterMs ? ['task/new-1'] : [],
    }));
    ecs.on(DescribeTasksCommand).callsFake(() => ({
      tasks: [
        {
          taskArn: 'task/new-1',
          taskDefinitionArn: running,
          lastStatus: 'RUNNING',
          desiredStatus: 'RUNNING',
        },
      ],
    }));
    return { ecs, clients, clock };
  }

  it('a task of the new revision that stops within the bake fails the release, which is rolled back', async () => {
    const { ecs, clients, clock } = bakeSetup(20_000);
    const plan = await planImageDeploy(clients, 'alva', ['alva-web'], { web: 'repo/web:2' });
    const log = memoryLog();
    const report = await executeDeploy(clients, plan, {
      waitFor: 'steady',
      timeoutMs: 60_000,
      rollbackOnFailure: true,
      forceNewDeployment: false,
      bakeMs: 60_000,
      log,
      clock,
    });
    expect(report).toMatchObject({ ok: false, rolledBack: true });
    expect(report.services[0]).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(
        /^failed during the bake, \d+s after it was healthy: a task of the new revision stopped \(0\/1 new tasks RUNNING\)/,
      ),
      rollback: { taskDefinition: arn('alva-web', 3), status: 'succeeded' },
    });
    expect(ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input.taskDefinition)).toEqual([
      arn('alva-web', 4),
      arn('alva-web', 3),
    ]);
    ecs.restore();
  });

  it('a revision that stays up for the whole bake is deployed, after the bake and not before', async () => {
    const { ecs, clients, clock } = bakeSetup(Number.POSITIVE_INFINITY);
    const begun = clock.now();
    const plan = await planImageDeploy(clients, 'alva', ['alva-web'], { web: 'repo/web:2' });
    const log = memoryLog();
    const report = await executeDeploy(clients, plan, {
      waitFor: 'steady',
      timeoutMs: 60_000,
      rollbackOnFailure: true,
      forceNewDeployment: false,
      bakeMs: 30_000,
      log,
      clock,
    });
    expect(report.ok).toBe(true);
    expect(report.services[0]!.status).toBe('deployed');
    expect(clock.now() - begun).toBeGreaterThanOrEqual(30_000);
    expect(log.lines.join('\n')).toMatch(/alva-web: stayed healthy for 30s/);
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(1);
    ecs.restore();
  });
});
