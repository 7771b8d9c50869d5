/**
 * rollback-to again after the release gate opened for the rollback (the pipeline's
 * rollback job: gate pending → rollback-to with wait-for test-traffic → gate open →
 * rollback-to again): the service already runs the rollback revision, but its
 * traffic-shift deployment is still under way. It is adopted and followed to
 * SUCCESSFUL exactly as in images mode (deploy/in-progress.ts); "unchanged" only
 * once that deployment completed. Mocked ECS, manual clock.
 */
import { describe, expect, it } from '@jest/globals';
import type { Service } from '@aws-sdk/client-ecs';
import { executeDeploy, planRollbackTo } from '../../../lib/ecs/deploy.js';
import { memoryLog } from '../../../lib/log.js';
import { manualClock } from '../../../lib/time.js';
import { blueGreenService, t0 } from './blue-green-service.js';

/**
 * alva-web, BLUE_GREEN, after the first rollback-to run: alva-web:3 PRIMARY, in progress
 * (held or shifting) beside the release being rolled back (alva-web:5), or done.
 */
const alvaWeb = blueGreenService({
  name: 'back',
  revision: 3,
  serviceRevision: 9003,
  beside: { name: 'release', revision: 5 },
});
const { arn, REVISION, service, at, world } = alvaWeb;
const release = alvaWeb.beside;

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
