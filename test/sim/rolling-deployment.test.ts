/**
 * A full rolling deployment of the four staging services through the real
 * SDK: new tasks go PROVISIONING → PENDING → RUNNING, register, turn healthy,
 * then the old tasks drain and stop, and only then is the deployment COMPLETED.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ListServiceDeploymentsCommand,
  DescribeServiceDeploymentsCommand,
  DescribeServiceRevisionsCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
  type RegisterTaskDefinitionCommandInput,
} from '@aws-sdk/client-ecs';
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { readFileSync } from 'node:fs';
import type { SimEvent } from '../../sim/index.js';
import type { Scenario } from '../../sim/scenario.js';
import {
  CLUSTER,
  SERVICES,
  STAGING,
  startWithClients,
  stopClients,
  waitFor,
  type Clients,
} from './helpers.js';

/**
 * The staging scenario with the ELB defaults' slower pace (health checks every
 * 20 s, 3 to turn healthy, 60 s deregistration delay), so that polling through
 * the API sees every target state even on a busy machine.
 */
function slowerHealthChecks(): Scenario {
  const scenario = JSON.parse(readFileSync(STAGING, 'utf8')) as Scenario;
  for (const tg of scenario.targetGroups!) {
    tg.healthCheck = { ...tg.healthCheck, intervalSeconds: 20, healthyThresholdCount: 3 };
    tg.deregistrationDelaySeconds = 60;
  }
  return scenario;
}

let c: Clients;
beforeAll(async () => {
  c = await startWithClients(slowerHealthChecks());
});
afterAll(() => stopClients(c));

/** Registers a copy of the service's task definition with a new image tag, as a deploy tool does. */
async function newRevision(family: string, tag: string): Promise<string> {
  const { taskDefinition, tags } = await c.ecs.send(
    new DescribeTaskDefinitionCommand({ taskDefinition: family, include: ['TAGS'] }),
  );
  const {
    taskDefinitionArn: _arn,
    revision: _rev,
    status: _status,
    requiresAttributes: _req,
    compatibilities: _compat,
    registeredAt: _at,
    registeredBy: _by,
    ...input
  } = taskDefinition!;
  input.containerDefinitions = input.containerDefinitions!.map((cd) => ({
    ...cd,
    image: cd.image!.replace(/:[^:]+$/, `:${tag}`),
  }));
  const out = await c.ecs.send(
    new RegisterTaskDefinitionCommand({ ...(input as RegisterTaskDefinitionCommandInput), tags }),
  );
  return out.taskDefinition!.taskDefinitionArn!;
}

describe('rolling deployment of the staging services', () => {
  it('starts steady: four services, one COMPLETED deployment each, healthy targets, the ALB rules', async () => {
    const { services, failures } = await c.ecs.send(
      new DescribeServicesCommand({ cluster: CLUSTER, services: SERVICES }),
    );
    expect(failures).toEqual([]);
    for (const s of services!) {
      expect(s.status).toBe('ACTIVE');
      expect(s.runningCount).toBe(1);
      expect(s.deployments).toHaveLength(1);
      expect(s.deployments![0].rolloutState).toBe('COMPLETED');
      expect(s.events![0].message).toBe(`(service ${s.serviceName}) has reached a steady state.`);
    }
    const { LoadBalancers } = await c.elb.send(
      new DescribeLoadBalancersCommand({ Names: ['alva-staging-alb'] }),
    );
    const lb = LoadBalancers![0];
    expect(lb.DNSName).toMatch(/^127\.0\.0\.1:\d+$/);
    const { Listeners } = await c.elb.send(
      new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn }),
    );
    expect(Listeners).toHaveLength(1);
    expect(Listeners![0].Port).toBe(80);
    const { Rules } = await c.elb.send(new DescribeRulesCommand({ ListenerArn: Listeners![0].ListenerArn }));
    expect(Rules!.map((r) => [r.Priority, r.Conditions?.[0]?.Values?.[0]])).toEqual([
      ['10', '/api/*'],
      ['20', '/auth/*'],
      ['30', '/admin/*'],
      ['default', undefined],
    ]);
    const { TargetGroups } = await c.elb.send(
      new DescribeTargetGroupsCommand({ LoadBalancerArn: lb.LoadBalancerArn }),
    );
    expect(TargetGroups!.map((tg) => tg.TargetGroupName).sort()).toEqual([
      'alva-staging-admin',
      'alva-staging-api',
      'alva-staging-auth',
      'alva-staging-web',
    ]);
    const attrs = await c.elb.send(
      new DescribeTargetGroupAttributesCommand({ TargetGroupArn: TargetGroups![0].TargetGroupArn }),
    );
    expect(attrs.Attributes).toContainEqual({ Key: 'deregistration_delay.timeout_seconds', Value: '60' });
    for (const tg of TargetGroups!) {
      const health = await c.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: tg.TargetGroupArn }));
      expect(health.TargetHealthDescriptions!.map((d) => d.TargetHealth!.State)).toEqual(['healthy']);
      expect(health.TargetHealthDescriptions![0].Target!.Id).toMatch(/^127\.0\.\d+\.\d+$/);
    }
  });

  it('rolls all four out, new tasks healthy before old ones drain, and COMPLETED only after the drain', async () => {
    const since = c.sim.events().at(-1)?.seq ?? 0;
    const { TargetGroups } = await c.elb.send(new DescribeTargetGroupsCommand({}));
    const tgArn = new Map(
      TargetGroups!.map((tg) => [tg.TargetGroupName!.replace('alva-staging-', 'alva-'), tg.TargetGroupArn!]),
    );
    const newArns = new Map<string, string>();
    for (const service of SERVICES) {
      const arn = await newRevision(service, 'b7e4d21');
      newArns.set(service, arn);
      const { service: updated } = await c.ecs.send(
        new UpdateServiceCommand({ cluster: CLUSTER, service, taskDefinition: arn }),
      );
      expect(updated!.deployments![0]).toMatchObject({
        status: 'PRIMARY',
        rolloutState: 'IN_PROGRESS',
        taskDefinition: arn,
      });
      expect(updated!.deployments![1]).toMatchObject({ status: 'ACTIVE', rolloutState: 'COMPLETED' });
    }

    // Observed through the API while it runs: target states per target.
    const seen = new Map<string, string[]>();
    await waitFor(async () => {
      for (const [service, arn] of tgArn) {
        const { TargetHealthDescriptions } = await c.elb.send(
          new DescribeTargetHealthCommand({ TargetGroupArn: arn }),
        );
        for (const d of TargetHealthDescriptions!) {
          const key = `${service} ${d.Target!.Id}`;
          const states = seen.get(key) ?? [];
          const state = `${d.TargetHealth!.State}${d.TargetHealth!.Reason ? `:${d.TargetHealth!.Reason}` : ''}`;
          if (states.at(-1) !== state) states.push(state);
          seen.set(key, states);
        }
      }
      const { services } = await c.ecs.send(
        new DescribeServicesCommand({ cluster: CLUSTER, services: SERVICES }),
      );
      const done = services!.every(
        (s) => s.deployments!.length === 1 && s.deployments![0].rolloutState === 'COMPLETED',
      );
      return done ? services : undefined;
    }, 'all four deployments COMPLETED');

    const { services } = await c.ecs.send(
      new DescribeServicesCommand({ cluster: CLUSTER, services: SERVICES }),
    );
    for (const s of services!) {
      expect(s.taskDefinition).toBe(newArns.get(s.serviceName!));
      expect(s.deployments![0]).toMatchObject({
        status: 'PRIMARY',
        runningCount: 1,
        pendingCount: 0,
        failedTasks: 0,
      });
      expect(s.events![0].message).toBe(`(service ${s.serviceName}) has reached a steady state.`);
      const messages = s.events!.map((e) => e.message ?? '');
      expect(messages).toContain(`(service ${s.serviceName}) has begun draining connections on 1 tasks.`);
      expect(
        messages.some((m) => m.startsWith(`(service ${s.serviceName}) has started 1 tasks: (task `)),
      ).toBe(true);
      expect(messages).toContain(
        `(service ${s.serviceName}) registered 1 targets in (target-group ${tgArn.get(s.serviceName!)})`,
      );
    }

    // Target health as the API showed it: a new target initial -> healthy, an old one healthy -> draining.
    for (const service of SERVICES) {
      const histories = [...seen.entries()].filter(([k]) => k.startsWith(`${service} `)).map(([, v]) => v);
      expect(histories).toContainEqual(
        expect.arrayContaining(['healthy', 'draining:Target.DeregistrationInProgress']),
      );
      const fresh = histories.find((h) => h[0].startsWith('initial'));
      expect(fresh).toBeDefined();
      expect(fresh!.at(-1)).toBe('healthy');
    }

    // Ground truth from the control API over HTTP, in order.
    const events = (await (await fetch(`${c.sim.url}/_sim/events?since=${since}`)).json()) as SimEvent[];
    expect(events.every((e) => e.seq > since)).toBe(true);
    for (const service of SERVICES) {
      const mine = events.filter(
        (e) => e.detail.service === service || e.detail.targetGroup === `alva-staging-${service.slice(5)}`,
      );
      const newTask = mine.find((e) => e.kind === 'task.provisioning')!.detail.taskArn;
      const oldTask = mine.find((e) => e.kind === 'task.deactivating')!.detail.taskArn;
      expect(newTask).not.toBe(oldTask);
      const order = (kind: string, pred: (e: SimEvent) => boolean = () => true) => {
        const i = mine.findIndex((e) => e.kind === kind && pred(e));
        expect(i).toBeGreaterThanOrEqual(0);
        return i;
      };
      const isNew = (e: SimEvent) => e.detail.taskArn === newTask;
      const isOld = (e: SimEvent) => e.detail.taskArn === oldTask;
      const steps = [
        order('deployment.started'),
        order('task.provisioning', isNew),
        order('task.pending', isNew),
        order('task.running', isNew),
        order('target.health', (e) => isNew(e) && e.detail.reason === 'Elb.RegistrationInProgress'),
        order('target.health', (e) => isNew(e) && e.detail.reason === 'Elb.InitialHealthChecking'),
        order('target.health', (e) => isNew(e) && e.detail.state === 'healthy'),
        order('task.deactivating', isOld),
        order('target.health', (e) => isOld(e) && e.detail.state === 'draining'),
        order('target.deregistered', isOld),
        order('task.stopping', isOld),
        order('task.stopped', isOld),
        order('deployment.completed'),
      ];
      expect(steps).toEqual([...steps].sort((a, b) => a - b));
      // The old task stayed out of service for at least the deregistration delay (60 s simulated).
      const drainStart = Date.parse(mine[steps[8]].simTime);
      const drained = Date.parse(mine[steps[9]].simTime);
      expect(drained - drainStart).toBeGreaterThanOrEqual(59_000);
    }

    // The old task is STOPPED with the scheduler's stop code; the new one runs on a loopback ENI.
    const stopped = await c.ecs.send(
      new ListTasksCommand({ cluster: CLUSTER, serviceName: 'alva-api', desiredStatus: 'STOPPED' }),
    );
    const { tasks } = await c.ecs.send(
      new DescribeTasksCommand({ cluster: CLUSTER, tasks: stopped.taskArns! }),
    );
    expect(tasks![0]).toMatchObject({
      lastStatus: 'STOPPED',
      desiredStatus: 'STOPPED',
      stopCode: 'ServiceSchedulerInitiated',
    });
    expect(tasks![0].stoppedReason).toMatch(/^Scaling activity initiated by \(deployment ecs-svc\/\d+\)$/);
    const running = await c.ecs.send(new ListTasksCommand({ cluster: CLUSTER, serviceName: 'alva-api' }));
    const { tasks: live } = await c.ecs.send(
      new DescribeTasksCommand({ cluster: CLUSTER, tasks: running.taskArns! }),
    );
    expect(live).toHaveLength(1);
    expect(live![0].taskDefinitionArn).toBe(newArns.get('alva-api'));
    const eni = live![0].attachments![0].details!.find((d) => d.name === 'privateIPv4Address')!.value!;
    expect(eni).toMatch(/^127\./);
    expect(live![0].containers![0]).toMatchObject({ name: 'api', lastStatus: 'RUNNING' });
    expect(live![0].startedAt).toBeInstanceOf(Date);

    // The ServiceDeployment API tells the same story.
    const { serviceDeployments } = await c.ecs.send(
      new ListServiceDeploymentsCommand({ cluster: CLUSTER, service: 'alva-api' }),
    );
    expect(serviceDeployments![0].status).toBe('SUCCESSFUL');
    const described = await c.ecs.send(
      new DescribeServiceDeploymentsCommand({
        serviceDeploymentArns: [serviceDeployments![0].serviceDeploymentArn!],
      }),
    );
    const sd = described.serviceDeployments![0];
    expect(sd.sourceServiceRevisions).toHaveLength(1);
    expect(sd.targetServiceRevision).toMatchObject({ requestedTaskCount: 1, runningTaskCount: 1 });
    expect(sd.finishedAt).toBeInstanceOf(Date);
    const { serviceRevisions } = await c.ecs.send(
      new DescribeServiceRevisionsCommand({
        serviceRevisionArns: [sd.targetServiceRevision!.arn!, sd.sourceServiceRevisions![0].arn!],
      }),
    );
    expect(serviceRevisions!.map((r) => r.taskDefinition)).toEqual([
      newArns.get('alva-api'),
      'arn:aws:ecs:us-east-1:123456789012:task-definition/alva-api:1',
    ]);
    expect(serviceRevisions![0].containerImages).toEqual([
      { containerName: 'api', image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/alva-api:b7e4d21' },
    ]);
  });
});

describe('deployment configuration', () => {
  it.each([
    [50, 100, 3],
    [100, 150, 4],
  ])(
    'minimumHealthyPercent %i / maximumPercent %i with %i tasks: bounds hold throughout',
    async (min, max, desired) => {
      const scenario = JSON.parse(readFileSync(STAGING, 'utf8')) as Scenario;
      Object.assign(scenario.services![1], {
        desiredCount: desired,
        deploymentConfiguration: { minimumHealthyPercent: min, maximumPercent: max },
      });
      const own = await startWithClients(scenario);
      try {
        const since = own.sim.events().at(-1)!.seq;
        const state = own.sim.state() as { clusters: { tasks: { arn: string; service?: string }[] }[] };
        const initial = state.clusters[0].tasks.filter((t) => t.service === 'alva-api').map((t) => t.arn);
        await own.ecs.send(
          new UpdateServiceCommand({ cluster: CLUSTER, service: 'alva-api', forceNewDeployment: true }),
        );
        await waitFor(async () => {
          const { services } = await own.ecs.send(
            new DescribeServicesCommand({ cluster: CLUSTER, services: ['alva-api'] }),
          );
          const s = services![0];
          return s.deployments!.length === 1 && s.deployments![0].rolloutState === 'COMPLETED'
            ? s
            : undefined;
        }, 'the deployment to complete');
        // Replay the ground truth: tasks counted while their desired status is RUNNING, healthy per target.
        const live = new Set<string>(initial);
        const healthy = new Set<string>(initial);
        let most = 0;
        let fewestHealthy = desired;
        for (const e of own.sim
          .events(since)
          .filter((x) => x.detail.service === 'alva-api' || x.detail.targetGroup === 'alva-staging-api')) {
          const task = String(e.detail.taskArn);
          if (e.kind === 'task.provisioning') live.add(task);
          if (e.kind === 'task.stop-requested') {
            live.delete(task);
            healthy.delete(task);
          }
          if (e.kind === 'target.health') {
            if (e.detail.state === 'healthy') healthy.add(task);
            else healthy.delete(task);
          }
          most = Math.max(most, live.size);
          fewestHealthy = Math.min(fewestHealthy, healthy.size);
        }
        expect(most).toBe(Math.floor((desired * max) / 100));
        expect(fewestHealthy).toBe(Math.ceil((desired * min) / 100));
        expect(healthy.size).toBe(desired);
      } finally {
        await stopClients(own);
      }
    },
  );
});
