/**
 * The pipeline's rollback job through the release gate, through the bundles: the
 * gated staging world synthesized from infra/ (api and auth blue/green behind the
 * POST_TEST_TRAFFIC_SHIFT hook the assembly ships, web and admin rolling), IAM
 * enforced. After a release whose gate had opened, the rollback job runs
 *
 *   release-gate pending → deploy-services rollback-to (wait-for test-traffic)
 *   → release-gate open → deploy-services rollback-to again
 *
 * (.github/workflows/ecs-deploy.yml, job rollback). The second run must adopt the
 * traffic shifts of the rollback revisions the gate held and follow them to
 * SUCCESSFUL; reporting them "unchanged" would end the job while ECS is still
 * shifting or baking. Judged from the simulator: DescribeServices,
 * DescribeServiceDeployments and the call log.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { gatedStagingScenario } from '../../runner/gated-world.js';
import type { Sim } from '../../sim/index.js';
import {
  deploymentsOf,
  expectSucceeded,
  gatedPipeline,
  images,
  SERVICES,
  startGatedSim,
} from './gated-release.js';

const SHIFTING = ['alva-api', 'alva-auth'];

let sim: Sim;
let ecs: ECSClient;
const { releaseGate, deployServices, running, latestDeployment } = gatedPipeline(
  { sim: () => sim, ecs: () => ecs },
  '7101',
);

beforeAll(async () => {
  ({ sim, ecs } = await startGatedSim(await gatedStagingScenario()));
}, 180_000);

afterAll(async () => {
  ecs?.destroy();
  await sim?.close();
});

/** A release through the gate, as the deploy job runs it: every service ends on its new revision. */
async function gatedRelease(release: string, tag: string): Promise<void> {
  expectSucceeded(await releaseGate(release, 'pending'));
  const held = await deployServices({ images: images(tag), 'wait-for': 'test-traffic' });
  expectSucceeded(held);
  expectSucceeded(await releaseGate(release, 'open', { deployments: held.outputs.deployments! }));
  expectSucceeded(await deployServices({ images: images(tag) }));
}

describe('the rollback job through the release gate (bundles, gated staging world from infra/)', () => {
  it('rollback-to again after the gate opened adopts the held traffic shifts and ends only when they are SUCCESSFUL on the previous revisions', async () => {
    const before = await running();
    await gatedRelease('e2e-rollback-1', 'rollback-me');
    const released = await running();
    for (const service of SERVICES) expect(released[service]).not.toBe(before[service]);
    const rollbackTo = JSON.stringify(before);

    expectSucceeded(await releaseGate('e2e-rollback-1-back', 'pending'));
    const first = await deployServices({ 'rollback-to': rollbackTo, 'wait-for': 'test-traffic' });
    expectSucceeded(first);
    for (const service of SHIFTING)
      expect(await latestDeployment(service)).toMatchObject({
        status: 'IN_PROGRESS',
        lifecycleStage: 'POST_TEST_TRAFFIC_SHIFT',
      });
    expectSucceeded(
      await releaseGate('e2e-rollback-1-back', 'open', { deployments: first.outputs.deployments! }),
    );

    const since = sim.calls().at(-1)?.seq ?? 0;
    const second = await deployServices({ 'rollback-to': rollbackTo });
    expectSucceeded(second);
    // Where ECS says each traffic shift stands the moment the step ended: done, not still shifting or baking.
    for (const service of SHIFTING)
      expect({ service, ...(await latestDeployment(service)) }).toMatchObject({
        service,
        status: 'SUCCESSFUL',
      });
    expect(sim.calls(since).filter((c) => c.operation === 'UpdateService')).toEqual([]);
    const followed = deploymentsOf(second);
    for (const service of SHIFTING) {
      expect(followed[service]).toMatchObject({
        status: 'deployed',
        strategy: 'BLUE_GREEN',
        taskDefinition: before[service],
      });
      expect(second.log).toContain(`${service}: adopted deployment`);
    }
    expect(await running()).toEqual(before);
  }, 600_000);
});
