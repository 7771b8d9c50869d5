/**
 * The reusable workflow's rollback job when the deploy job left no
 * `deployments` output: it must still run, say that it uses ECS's own record
 * (the revisions this run registered, tagged with the run id), and undo
 * only what this run changed. Here the deploy step fails on its input before
 * any change, so the record holds nothing of this run: the job runs, says
 * which source it used, changes nothing, and verify confirms the services.
 * (Undoing a release from that record is tested on the action itself in
 * test/e2e/deploy-services-outage.test.ts.)
 */
import { describe, expect, it } from '@jest/globals';
import {
  ECR,
  SERVICES,
  describeStaging,
  jobResults,
  runStagingWorkflow,
  useStagingWorld,
} from './staging-world.js';

const world = useStagingWorld();

async function taskDefinitions(): Promise<Record<string, string>> {
  return Object.fromEntries((await describeStaging(world)).map((s) => [s.serviceName!, s.taskDefinition!]));
}

describe('ecs-deploy.yml rollback job without the deployments output', () => {
  it('runs from ECS record, says so, and changes nothing this run did not change', async () => {
    const before = await taskDefinitions();
    // A container no service has: deploy-services refuses it before any change, writing no output.
    const images = JSON.stringify({
      ...Object.fromEntries(['web', 'api', 'auth', 'admin'].map((c) => [c, `${ECR}/alva-${c}:noout1`])),
      worker: `${ECR}/alva-worker:noout1`,
    });
    const since = world.sim.calls().at(-1)?.seq ?? 0;
    const { run, log } = await runStagingWorkflow(world, 'deploy-staging.yml', { inputs: { images } });
    expect(jobResults(run)).toMatchObject({ deploy: 'failure', verify: 'skipped', rollback: 'success' });
    expect(log).toMatch(/Input "images": no task definition .* "worker"/);
    expect(log).toMatch(/The deploy step left no deployments output .* rolling back from ECS's own record/);
    for (const service of SERVICES) {
      expect(log).toMatch(
        new RegExp(`${service}: runs ${service}:\\d+, which release \\d+ did not register; nothing to undo`),
      );
    }
    expect(
      world.sim
        .calls(since)
        .filter((c) => c.mutating && c.operation !== 'RunTask' && c.operation !== 'RegisterTaskDefinition'),
    ).toEqual([]);
    expect(await taskDefinitions()).toEqual(before);
  });
});
