/**
 * deploy-services and the release gate, on a mocked ECS and a manual clock:
 * - wait-for test-traffic: a blue/green service held at POST_TEST_TRAFFIC_SHIFT is
 *   deployed (its target service revision recorded), without a bake;
 * - the same images again once the gate opened: the held (or shifting) deployment is
 *   adopted and followed to SUCCESSFUL; no RegisterTaskDefinition, no UpdateService,
 *   never "unchanged".
 */
import { describe, expect, it } from '@jest/globals';
import {
  DescribeServicesCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
  type Service,
  type Task,
} from '@aws-sdk/client-ecs';
import { executeDeploy, planImageDeploy } from '../../../lib/ecs/deploy.js';
import { judgeBake } from '../../../lib/ecs/follow/bake.js';
import { memoryLog } from '../../../lib/log.js';
import { manualClock } from '../../../lib/time.js';
import { blueGreenService } from './blue-green-service.js';

/** alva-web, BLUE_GREEN: green (alva-web:4, repo/web:2) PRIMARY and in progress beside blue (alva-web:3), or done. */
const alvaWeb = blueGreenService({
  name: 'green',
  revision: 4,
  serviceRevision: 9001,
  beside: { name: 'blue', revision: 3 },
  images: { 4: 'repo/web:2' },
});
const { arn, REVISION, service, at, world } = alvaWeb;
const blue = alvaWeb.beside;

describe('the same images again after the release gate opened', () => {
  it('adopts the deployment the gate held and follows it to SUCCESSFUL: no new deployment, never unchanged', async () => {
    const { ecs, clients, mutating } = world(
      [service(), service(), service(), service(true)],
      [
        at('IN_PROGRESS', 'POST_TEST_TRAFFIC_SHIFT', 0),
        at('IN_PROGRESS', 'PRODUCTION_TRAFFIC_SHIFT', 100),
        at('IN_PROGRESS', 'BAKE_TIME', 100),
        at('IN_PROGRESS', 'CLEAN_UP', 100),
        at('SUCCESSFUL', 'CLEAN_UP', 100),
      ],
    );
    const plan = await planImageDeploy(clients, 'alva', ['alva-web'], { web: 'repo/web:2' });
    expect(plan.services[0]!.adopt).toMatchObject({ deploymentId: 'ecs-svc/green', previous: arn(3) });
    const clock = manualClock();
    const log = memoryLog();
    const outcome = await executeDeploy(clients, plan, {
      waitFor: 'healthy',
      timeoutMs: 600_000,
      rollbackOnFailure: true,
      forceNewDeployment: false,
      log,
      clock,
    });
    expect(mutating()).toBe(0);
    expect(outcome.ok).toBe(true);
    expect(outcome.services[0]).toMatchObject({
      status: 'deployed',
      strategy: 'BLUE_GREEN',
      lifecycleStage: 'CLEAN_UP',
      previousTaskDefinition: arn(3),
      taskDefinition: arn(4),
      serviceRevisionArn: REVISION,
    });
    expect(log.lines.join('\n')).toMatch(/alva-web \(BLUE_GREEN\): SUCCESSFUL at CLEAN_UP/);
    ecs.restore();
  });
});

describe('wait-for test-traffic', () => {
  it('a deployment held at POST_TEST_TRAFFIC_SHIFT is deployed, recording its service revision; no bake, production never awaited', async () => {
    const { ecs, clients, mutating, reads } = world(
      [service(true)],
      [at('IN_PROGRESS', 'TEST_TRAFFIC_SHIFT', 0), at('IN_PROGRESS', 'POST_TEST_TRAFFIC_SHIFT', 0)],
    );
    // A first release: alva-web runs alva-web:3 (repo/web:1) before it.
    ecs.on(DescribeServicesCommand).resolves({
      services: [{ ...service(true), taskDefinition: arn(3), deployments: [{ ...blue, status: 'PRIMARY' }] }],
    });
    ecs.on(RegisterTaskDefinitionCommand).resolves({ taskDefinition: { taskDefinitionArn: arn(4) } });
    ecs.on(UpdateServiceCommand).resolves({ service: service() });
    const plan = await planImageDeploy(clients, 'alva', ['alva-web'], { web: 'repo/web:2' });
    const clock = manualClock();
    const begun = clock.now();
    const outcome = await executeDeploy(clients, plan, {
      waitFor: 'test-traffic',
      timeoutMs: 600_000,
      rollbackOnFailure: true,
      forceNewDeployment: false,
      bakeMs: 120_000,
      log: memoryLog(),
      clock,
    });
    expect(outcome.ok).toBe(true);
    expect(mutating()).toBe(2);
    expect(outcome.services[0]).toMatchObject({
      status: 'deployed',
      lifecycleStage: 'POST_TEST_TRAFFIC_SHIFT',
      productionTrafficWeight: 0,
      serviceRevisionArn: REVISION,
    });
    expect(reads()).toBe(2);
    // Held at the gate: bake-seconds does not wait here (the run that adopts it after the gate opens bakes it).
    expect(clock.now() - begun).toBeLessThan(120_000);
    ecs.restore();
  });
});

describe('judgeBake of a blue/green service after its traffic shift', () => {
  const BLUE_TG = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/alva-web/1';
  const GREEN_TG = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/alva-web-alt/2';
  const target = { service: 'alva-web', taskDefinition: arn(4), deploymentId: 'ecs-svc/green' };
  const baked: Service = {
    ...service(true),
    loadBalancers: [
      {
        targetGroupArn: BLUE_TG,
        containerName: 'web',
        containerPort: 3000,
        advancedConfiguration: { alternateTargetGroupArn: GREEN_TG },
      },
    ],
  };
  const tasks: Task[] = [
    {
      taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/alva/green-1',
      taskDefinitionArn: arn(4),
      lastStatus: 'RUNNING',
      desiredStatus: 'RUNNING',
      attachments: [
        { type: 'ElasticNetworkInterface', details: [{ name: 'privateIPv4Address', value: '10.0.1.7' }] },
      ],
      containers: [{ name: 'web' }],
    },
  ];
  const healthy = [{ Target: { Id: '10.0.1.7', Port: 3000 }, TargetHealth: { State: 'healthy' as const } }];

  it('green serves from the alternate target group: healthy there is healthy, the emptied blue group is no failure', () => {
    const verdict = judgeBake(
      target,
      { failedTasks: 0 },
      {
        service: baked,
        tasks,
        targetHealth: new Map([
          [BLUE_TG, []],
          [GREEN_TG, healthy],
        ]),
      },
    );
    expect(verdict).toMatchObject({ ok: true });
  });

  it('green unhealthy in the group it serves from fails the bake, naming that group', () => {
    const verdict = judgeBake(
      target,
      { failedTasks: 0 },
      {
        service: baked,
        tasks,
        targetHealth: new Map([
          [BLUE_TG, []],
          [GREEN_TG, [{ ...healthy[0]!, TargetHealth: { State: 'unhealthy' as const } }]],
        ]),
      },
    );
    expect(verdict).toMatchObject({
      ok: false,
      reason: expect.stringContaining(`not healthy in ${GREEN_TG}`),
    });
  });
});
