/**
 * rollback-to again after the release gate opened for the rollback (the pipeline's
 * rollback job: gate pending → rollback-to with wait-for test-traffic → gate open →
 * rollback-to again): the service already runs the rollback revision, but its
 * traffic-shift deployment is still under way. It is adopted and followed to
 * SUCCESSFUL exactly as in images mode (deploy/in-progress.ts); "unchanged" only
 * once that deployment completed. Mocked ECS, manual clock.
 */
import { describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import {
  DescribeServiceDeploymentsCommand,
  DescribeServiceRevisionsCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListServiceDeploymentsCommand,
  ListTaskDefinitionsCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
  type Deployment,
  type Service,
  type ServiceDeployment,
} from '@aws-sdk/client-ecs';
import type { EcsClients } from '../../../lib/ecs/clients.js';
import { executeDeploy, planRollbackTo } from '../../../lib/ecs/deploy.js';
import { memoryLog } from '../../../lib/log.js';
import { manualClock } from '../../../lib/time.js';

const arn = (revision: number) => `arn:aws:ecs:us-east-1:123456789012:task-definition/alva-web:${revision}`;
const SD = 'arn:aws:ecs:us-east-1:123456789012:service-deployment/alva/alva-web/back';
const REVISION = 'arn:aws:ecs:us-east-1:123456789012:service-revision/alva/alva-web/9003';
const t0 = new Date('2026-01-01T00:00:10.250Z');

/** The release being rolled back: alva-web:5, still beside the rollback's deployment until it is done. */
const release: Deployment = {
  id: 'ecs-svc/release',
  status: 'ACTIVE',
  taskDefinition: arn(5),
  rolloutState: 'COMPLETED',
  runningCount: 1,
  desiredCount: 1,
};

/** alva-web, BLUE_GREEN, after the first rollback-to run: alva-web:3 PRIMARY, in progress (held or shifting), or done. */
function service(done = false): Service {
  return {
    serviceName: 'alva-web',
    status: 'ACTIVE',
    taskDefinition: arn(3),
    desiredCount: 1,
    deploymentConfiguration: { strategy: 'BLUE_GREEN' },
    deployments: [
      {
        id: 'ecs-svc/back',
        status: 'PRIMARY',
        taskDefinition: arn(3),
        desiredCount: 1,
        runningCount: 1,
        rolloutState: done ? 'COMPLETED' : 'IN_PROGRESS',
        createdAt: t0,
      },
      ...(done ? [] : [release]),
    ],
  };
}

const at = (status: string, stage: string, production: number): ServiceDeployment => ({
  serviceDeploymentArn: SD,
  status: status as ServiceDeployment['status'],
  lifecycleStage: stage as ServiceDeployment['lifecycleStage'],
  targetServiceRevision: {
    arn: REVISION,
    requestedProductionTrafficWeight: production,
    requestedTestTrafficWeight: 100,
  },
});

function world(services: Service[], reads: ServiceDeployment[]) {
  const ecs = mockClient(ECSClient);
  let described = 0;
  let read = 0;
  ecs
    .on(DescribeServicesCommand)
    .callsFake(() => ({ services: [services[Math.min(described++, services.length - 1)]] }));
  ecs.on(DescribeTaskDefinitionCommand).callsFake((input: { taskDefinition: string }) => ({
    taskDefinition: {
      taskDefinitionArn: input.taskDefinition.startsWith('arn:')
        ? input.taskDefinition
        : arn(Number(input.taskDefinition.split(':').at(-1))),
      family: 'alva-web',
      status: 'ACTIVE',
      containerDefinitions: [{ name: 'web', image: 'repo/web:1' }],
    },
    tags: [],
  }));
  ecs.on(ListTaskDefinitionsCommand).resolves({ taskDefinitionArns: [arn(3), arn(5)] });
  ecs.on(ListServiceDeploymentsCommand).resolves({
    serviceDeployments: [{ serviceDeploymentArn: SD, createdAt: t0, targetServiceRevisionArn: REVISION }],
  });
  ecs
    .on(DescribeServiceRevisionsCommand)
    .resolves({ serviceRevisions: [{ serviceRevisionArn: REVISION, taskDefinition: arn(3) }] });
  ecs
    .on(DescribeServiceDeploymentsCommand)
    .callsFake(() => ({ serviceDeployments: [reads[Math.min(read++, reads.length - 1)]] }));
  const clients: EcsClients = {
    ecs: new ECSClient({ region: 'us-east-1' }),
    elbv2: () => Promise.reject(new Error('not used')),
    logs: () => Promise.reject(new Error('not used')),
  };
  const mutating = () =>
    ecs.commandCalls(RegisterTaskDefinitionCommand).length + ecs.commandCalls(UpdateServiceCommand).length;
  return { ecs, clients, mutating, reads: () => read };
}

const options = (clock = manualClock(), log = memoryLog()) => ({
  waitFor: 'healthy' as const,
  timeoutMs: 600_000,
  rollbackOnFailure: true,
  forceNewDeployment: false,
  log,
  clock,
});

describe('rollback-to again after the gate opened for the rollback', () => {
  it('adopts the held deployment of the rollback revision and follows it to SUCCESSFUL: no new deployment, never unchanged', async () => {
    const { ecs, clients, mutating, reads } = world(
      [service(), service(), service(), service(true)],
      [
        at('IN_PROGRESS', 'POST_TEST_TRAFFIC_SHIFT', 0),
        at('IN_PROGRESS', 'PRODUCTION_TRAFFIC_SHIFT', 100),
        at('IN_PROGRESS', 'BAKE_TIME', 100),
        at('SUCCESSFUL', 'CLEAN_UP', 100),
      ],
    );
    const plan = await planRollbackTo(clients, 'alva', ['alva-web'], { 'alva-web': 3 });
    expect(plan.services[0]!.adopt).toMatchObject({ deploymentId: 'ecs-svc/back', taskDefinition: arn(3) });
    const log = memoryLog();
    const outcome = await executeDeploy(clients, plan, options(manualClock(), log));
    expect(mutating()).toBe(0);
    // Followed through ECS's own record of the deployment until it said SUCCESSFUL.
    expect(reads()).toBeGreaterThanOrEqual(4);
    expect(outcome.ok).toBe(true);
    expect(outcome.services[0]).toMatchObject({
      status: 'deployed',
      strategy: 'BLUE_GREEN',
      taskDefinition: arn(3),
      previousTaskDefinition: arn(5),
      serviceRevisionArn: REVISION,
    });
    expect(log.lines.join('\n')).toMatch(/alva-web: adopted deployment ecs-svc\/back/);
    ecs.restore();
  });

  it('a deployment of the rollback revision that completed is unchanged: nothing followed, nothing started', async () => {
    const { ecs, clients, mutating } = world([service(true)], [at('SUCCESSFUL', 'CLEAN_UP', 100)]);
    const plan = await planRollbackTo(clients, 'alva', ['alva-web'], { 'alva-web': 3 });
    expect(plan.services[0]!.adopt).toBeUndefined();
    const outcome = await executeDeploy(clients, plan, options());
    expect(mutating()).toBe(0);
    expect(outcome.services[0]).toMatchObject({ status: 'unchanged', taskDefinition: arn(3) });
    ecs.restore();
  });

  it('a service whose other revision is in progress is still rolled back with UpdateService (a rollback is never refused)', async () => {
    const moving: Service = {
      ...service(),
      taskDefinition: arn(5),
      deployments: [
        { ...release, status: 'PRIMARY', rolloutState: 'IN_PROGRESS', createdAt: t0 },
        { ...service().deployments![0]!, id: 'ecs-svc/old', status: 'ACTIVE', rolloutState: 'COMPLETED' },
      ],
    };
    const { ecs, clients } = world([moving], [at('SUCCESSFUL', 'CLEAN_UP', 100)]);
    const plan = await planRollbackTo(clients, 'alva', ['alva-web'], { 'alva-web': 3 });
    expect(plan.services[0]).toMatchObject({ target: arn(3), current: arn(5) });
    expect(plan.services[0]!.adopt).toBeUndefined();
    ecs.restore();
  });
});
