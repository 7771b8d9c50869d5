/**
 * Failing deployments: the circuit breaker (threshold max(3, ceil(0.5 × desired)))
 * with rollback to the last COMPLETED deployment, without rollback, without
 * the breaker (a crash loop), images that cannot be pulled or fail health
 * checks, and a manual rollback through StopServiceDeployment.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ListServiceDeploymentsCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  StopServiceDeploymentCommand,
  UpdateServiceCommand,
  type RegisterTaskDefinitionCommandInput,
  type Service,
} from '@aws-sdk/client-ecs';
import {
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { CLUSTER, startWithClients, stopClients, waitFor, type Clients } from './helpers.js';

let c: Clients;
beforeAll(async () => {
  c = await startWithClients();
});
afterAll(() => stopClients(c));
beforeEach(() => c.sim.reset());

async function deployImage(
  service: string,
  tag: string,
  extra: Partial<ConstructorParameters<typeof UpdateServiceCommand>[0]> = {},
) {
  const { taskDefinition } = await c.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: service }));
  const {
    family,
    containerDefinitions,
    networkMode,
    requiresCompatibilities,
    cpu,
    memory,
    executionRoleArn,
    taskRoleArn,
  } = taskDefinition!;
  const input: RegisterTaskDefinitionCommandInput = {
    family,
    networkMode,
    requiresCompatibilities,
    cpu,
    memory,
    executionRoleArn,
    taskRoleArn,
    containerDefinitions: containerDefinitions!.map((cd) => ({
      ...cd,
      image: cd.image!.replace(/:[^:]+$/, `:${tag}`),
    })),
  };
  const arn = (await c.ecs.send(new RegisterTaskDefinitionCommand(input))).taskDefinition!.taskDefinitionArn!;
  await c.ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service, taskDefinition: arn, ...extra }));
  return { arn, previous: taskDefinition!.taskDefinitionArn! };
}

async function describe1(service: string): Promise<Service> {
  const { services } = await c.ecs.send(
    new DescribeServicesCommand({ cluster: CLUSTER, services: [service] }),
  );
  return services![0];
}

async function stoppedTasks(service: string) {
  const { taskArns } = await c.ecs.send(
    new ListTasksCommand({ cluster: CLUSTER, serviceName: service, desiredStatus: 'STOPPED' }),
  );
  if (!taskArns!.length) return [];
  return (await c.ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: taskArns! }))).tasks!;
}

describe('deployment circuit breaker', () => {
  it('fails a crashing revision after 3 failed tasks and rolls back to the last completed deployment', async () => {
    const { arn, previous } = await deployImage('alva-api', 'broken-1');
    const failedId = (await describe1('alva-api')).deployments![0].id!;

    const rolledBack = await waitFor(async () => {
      const s = await describe1('alva-api');
      const done =
        s.deployments!.length === 1 &&
        s.deployments![0].rolloutState === 'COMPLETED' &&
        s.deployments![0].id !== failedId;
      return done ? s : undefined;
    }, 'the rollback to complete');
    expect(rolledBack.taskDefinition).toBe(previous);
    expect(rolledBack.deployments![0].taskDefinition).toBe(previous);
    const messages = rolledBack.events!.map((e) => e.message);
    expect(messages).toContain(
      `(service alva-api) (deployment ${failedId}) deployment failed: tasks failed to start.`,
    );
    expect(messages[0]).toBe('(service alva-api) has reached a steady state.');

    // While it rolled back, the failed deployment was ACTIVE/FAILED beside a new PRIMARY on the old revision.
    const states = c.sim
      .events()
      .filter(
        (e) =>
          e.detail.service === 'alva-api' &&
          (e.kind === 'deployment.failed' || e.kind === 'deployment.started'),
      )
      .slice(1); // the first is the scenario's own, at load
    expect(states.map((e) => e.kind)).toEqual([
      'deployment.started',
      'deployment.failed',
      'deployment.started',
    ]);
    expect(states[2].detail).toMatchObject({
      taskDefinition: previous,
      rollback: expect.stringMatching(/^ecs-svc\//),
    });
    // A FAILED deployment starts no new task: exactly the threshold of broken tasks ever started.
    const broken = c.sim
      .events()
      .filter((e) => e.kind === 'task.provisioning' && e.detail.taskDefinition === arn);
    expect(broken).toHaveLength(3);

    const stopped = (await stoppedTasks('alva-api')).filter((t) => t.taskDefinitionArn === arn);
    expect(stopped).toHaveLength(3);
    for (const task of stopped) {
      expect(task).toMatchObject({
        stopCode: 'EssentialContainerExited',
        stoppedReason: 'Essential container in task exited',
      });
      expect(task.containers![0]).toMatchObject({ name: 'api', exitCode: 1, lastStatus: 'STOPPED' });
    }

    const { serviceDeployments } = await c.ecs.send(
      new ListServiceDeploymentsCommand({ cluster: CLUSTER, service: 'alva-api' }),
    );
    expect(serviceDeployments![0].status).toBe('ROLLBACK_SUCCESSFUL');
    const { serviceDeployments: [sd] = [] } = await c.ecs.send(
      new DescribeServiceDeploymentsCommand({
        serviceDeploymentArns: [serviceDeployments![0].serviceDeploymentArn!],
      }),
    );
    expect(sd.deploymentCircuitBreaker).toEqual({ status: 'TRIGGERED', failureCount: 3, threshold: 3 });
    expect(sd.rollback!.serviceRevisionArn).toBe(sd.sourceServiceRevisions![0].arn);
    expect(sd.rollback!.startedAt).toBeInstanceOf(Date);
  });

  it('shows the FAILED rollout while the rollback runs', async () => {
    await deployImage('alva-web', 'broken-2');
    const during = await waitFor(async () => {
      const s = await describe1('alva-web');
      return s.deployments!.some((d) => d.rolloutState === 'FAILED') ? s : undefined;
    }, 'a FAILED deployment');
    const failed = during.deployments!.find((d) => d.rolloutState === 'FAILED')!;
    expect(failed).toMatchObject({
      status: 'ACTIVE',
      failedTasks: 3,
      rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.',
    });
    expect(during.deployments![0]).toMatchObject({ status: 'PRIMARY', rolloutState: 'IN_PROGRESS' });
    expect(during.deployments![0].rolloutStateReason).toMatch(
      /^ECS deployment circuit breaker: rolling back to deploymentId ecs-svc\/\d+\.$/,
    );
  });

  it('without rollback: the deployment FAILS, starts no more tasks, and the old task keeps serving', async () => {
    await deployImage('alva-auth', 'broken-3', {
      deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: false } },
    });
    const failed = await waitFor(async () => {
      const s = await describe1('alva-auth');
      return s.deployments![0].rolloutState === 'FAILED' ? s : undefined;
    }, 'FAILED');
    expect(failed.deployments).toHaveLength(2);
    expect(failed.deployments![1]).toMatchObject({ status: 'ACTIVE', runningCount: 1 });
    const started = () =>
      c.sim.events().filter((e) => e.kind === 'task.provisioning' && e.detail.service === 'alva-auth').length;
    const before = started();
    await new Promise((resolve) => setTimeout(resolve, c.sim.toReal(60_000)));
    expect(started()).toBe(before);
    expect((await describe1('alva-auth')).runningCount).toBe(1);
  });

  it('without the breaker a crash-looping revision is replaced again and again', async () => {
    await deployImage('alva-admin', 'broken-4', {
      deploymentConfiguration: { deploymentCircuitBreaker: { enable: false, rollback: false } },
    });
    const s = await waitFor(async () => {
      const svc = await describe1('alva-admin');
      return svc.deployments![0].failedTasks! >= 5 ? svc : undefined;
    }, '5 failed tasks');
    expect(s.deployments![0].rolloutState).toBe('IN_PROGRESS');
    expect(s.deployments![1]).toMatchObject({ status: 'ACTIVE', runningCount: 1 });
  });

  it('a thresholdConfiguration of COUNT 1 fails the deployment on its first failed task', async () => {
    const { arn } = await deployImage('alva-api', 'broken-8', {
      deploymentConfiguration: {
        deploymentCircuitBreaker: {
          enable: true,
          rollback: true,
          thresholdConfiguration: { type: 'COUNT', value: 1 },
        },
      },
    });
    await waitFor(async () => {
      const s = await describe1('alva-api');
      return s.deployments!.length === 1 && s.deployments![0].taskDefinition !== arn ? s : undefined;
    }, 'the rollback to complete');
    const started = c.sim
      .events()
      .filter((e) => e.kind === 'task.provisioning' && e.detail.taskDefinition === arn);
    expect(started).toHaveLength(1);
  });

  it('a task that served before crashing resets failedTasks: the breaker no longer watches the deployment', async () => {
    const { arn } = await deployImage('alva-web', 'crashloop-9');
    const completed = await waitFor(async () => {
      const s = await describe1('alva-web');
      return s.deployments!.length === 1 && s.deployments![0].rolloutState === 'COMPLETED' ? s : undefined;
    }, 'the deployment to complete');
    expect(completed.taskDefinition).toBe(arn);
    // It keeps crashing and being replaced; failures are no longer counted.
    await waitFor(() => {
      const stops = c.sim
        .events()
        .filter((e) => e.kind === 'container.exited' && e.detail.service === 'alva-web');
      return stops.length >= 2 ? stops : undefined;
    }, 'two crashes');
    const s = await describe1('alva-web');
    expect(s.deployments![0]).toMatchObject({ rolloutState: 'COMPLETED', failedTasks: 0 });
  });

  it('a late crash: the task turns healthy, the deployment completes, then the container exits 30 s after healthy with its log lines', async () => {
    const { arn } = await deployImage('alva-auth', 'latecrash-1');
    const completed = await waitFor(async () => {
      const s = await describe1('alva-auth');
      return s.deployments!.length === 1 && s.deployments![0].rolloutState === 'COMPLETED' ? s : undefined;
    }, 'the deployment to complete');
    expect(completed.taskDefinition).toBe(arn);
    const exited = await waitFor(
      () => c.sim.events().find((e) => e.kind === 'container.exited' && e.detail.service === 'alva-auth'),
      'the late crash',
    );
    expect(exited.detail).toMatchObject({ exitCode: 1, taskDefinition: arn });
    // It crashed 30 s (simulated) after its target turned healthy, not before.
    const at = (iso: string) => Date.parse(iso);
    const healthyAt = c.sim
      .events()
      .filter(
        (e) =>
          e.kind === 'target.health' &&
          e.detail.state === 'healthy' &&
          e.detail.taskArn === exited.detail.taskArn,
      )
      .map((e) => at(e.simTime))[0];
    expect(at(exited.simTime) - healthyAt).toBeGreaterThanOrEqual(29_000);
    const [task] = await waitFor(async () => {
      const tasks = (await stoppedTasks('alva-auth')).filter((t) => t.taskDefinitionArn === arn);
      return tasks.length ? tasks : undefined;
    }, 'the stopped task');
    expect(task).toMatchObject({
      stopCode: 'EssentialContainerExited',
      stoppedReason: 'Essential container in task exited',
    });
    expect(task.containers![0]).toMatchObject({ name: 'auth', exitCode: 1, lastStatus: 'STOPPED' });
    const taskId = task.taskArn!.split('/').pop();
    // The lines reach CloudWatch Logs as the container writes them; under load the read can come first.
    const messages = await waitFor(async () => {
      const { events } = await c.logs.send(
        new FilterLogEventsCommand({
          logGroupName: '/ecs/alva-staging/auth',
          logStreamNames: [`auth/auth/${taskId}`],
        }),
      );
      const lines = events!.map((e) => e.message);
      return lines.includes('Process exiting with code 1') ? lines : undefined;
    }, 'the crash log lines').catch(() => undefined);
    expect(messages).toContain('Process exiting with code 1');
  });

  it('an image that cannot be pulled stops with TaskFailedToStart and CannotPullContainerError', async () => {
    await deployImage('alva-api', 'nopull-5');
    const [task] = await waitFor(async () => {
      const tasks = await stoppedTasks('alva-api');
      return tasks.length ? tasks : undefined;
    }, 'a stopped task');
    expect(task.stopCode).toBe('TaskFailedToStart');
    expect(task.stoppedReason).toMatch(/^CannotPullContainerError: /);
    expect(task.containers![0].reason).toMatch(/^CannotPullContainerError: .*alva-api:nopull-5/);
    expect(task.startedAt).toBeUndefined();
  });

  it('a revision failing health checks goes unhealthy with its reason and is stopped by ECS', async () => {
    const { TargetGroups } = await c.elb.send(
      new DescribeTargetGroupsCommand({ Names: ['alva-staging-api'] }),
    );
    const tgArn = TargetGroups![0].TargetGroupArn!;
    await deployImage('alva-api', 'unhealthy-6');
    const unhealthy = await waitFor(async () => {
      const { TargetHealthDescriptions } = await c.elb.send(
        new DescribeTargetHealthCommand({ TargetGroupArn: tgArn }),
      );
      return TargetHealthDescriptions!.find((d) => d.TargetHealth!.State === 'unhealthy');
    }, 'an unhealthy target');
    expect(unhealthy.TargetHealth).toEqual({
      State: 'unhealthy',
      Reason: 'Target.ResponseCodeMismatch',
      Description: 'Health checks failed with these codes: [503]',
    });
    const [task] = await waitFor(async () => {
      const tasks = await stoppedTasks('alva-api');
      return tasks.length ? tasks : undefined;
    }, 'the unhealthy task to stop');
    expect(task.stopCode).toBe('ServiceSchedulerInitiated');
    expect(task.stoppedReason).toBe(`Task failed ELB health checks in (target-group ${tgArn})`);
    const events = (await describe1('alva-api')).events!.map((e) => e.message);
    expect(events).toContain(
      `(service alva-api) (port 3001) is unhealthy in (target-group ${tgArn}) due to (reason Health checks failed with these codes: [503]).`,
    );
  });

  it('StopServiceDeployment ROLLBACK returns a stuck deployment to the previous revision', async () => {
    const { previous } = await deployImage('alva-web', 'unhealthy-7', {
      deploymentConfiguration: { deploymentCircuitBreaker: { enable: false, rollback: false } },
    });
    const { serviceDeployments } = await c.ecs.send(
      new ListServiceDeploymentsCommand({ cluster: CLUSTER, service: 'alva-web' }),
    );
    expect(serviceDeployments![0].status).toBe('IN_PROGRESS');
    const arn = serviceDeployments![0].serviceDeploymentArn!;
    await c.ecs.send(new StopServiceDeploymentCommand({ serviceDeploymentArn: arn, stopType: 'ROLLBACK' }));
    const done = await waitFor(async () => {
      const { serviceDeployments: [sd] = [] } = await c.ecs.send(
        new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] }),
      );
      return sd.status === 'ROLLBACK_SUCCESSFUL' ? sd : undefined;
    }, 'ROLLBACK_SUCCESSFUL');
    expect(done.rollback!.reason).toBeTruthy();
    const s = await describe1('alva-web');
    expect(s.taskDefinition).toBe(previous);
    expect(s.deployments).toHaveLength(1);
  });
});
