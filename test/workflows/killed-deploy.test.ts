/**
 * deploy-staging.yml (and the reusable ecs-deploy.yml) run by the local runner
 * against the simulator, with the deploy step SIGKILLed mid-rollout, as an
 * out-of-memory kill or a lost runner would end it: no outputs, no summary,
 * no cleanup of its own. The pipeline's rollback job must still return every
 * service to the revision it ran before the release. Judged from
 * DescribeServices in the simulator, not from what any job says.
 */
import { describe, expect, it } from '@jest/globals';
import type { Service } from '@aws-sdk/client-ecs';
import {
  ECR,
  SECRET,
  SERVICES,
  describeStaging,
  jobResults,
  runStagingWorkflow,
  useStagingWorld,
} from './staging-world.js';

const world = useStagingWorld();
const describeAll = () => describeStaging(world);

const primary = (s: Service) => s.deployments!.find((d) => d.status === 'PRIMARY')!;

describe('deploy-staging.yml with the deploy step killed', () => {
  it('a deploy step killed (SIGKILL) mid-rollout: the rollback job returns every service to its previous revision', async () => {
    const before = Object.fromEntries((await describeAll()).map((s) => [s.serviceName!, s.taskDefinition!]));
    const images = JSON.stringify(
      Object.fromEntries(['web', 'api', 'auth', 'admin'].map((c) => [c, `${ECR}/alva-${c}:killed1`])),
    );
    const { run, log } = await runStagingWorkflow(world, 'deploy-staging.yml', {
      inputs: { images },
      // Killed once the rollout is under way: every service's UpdateService sent, tasks starting.
      killStep: { job: 'deploy', step: 'deploy', when: /Wait until/, signal: 'SIGKILL' },
    });

    // The kill really happened mid-rollout: the release had started a deployment on every service.
    const updates = world.sim.calls().filter((c) => c.operation === 'UpdateService' && c.status === 200);
    const releasedTo = new Map<string, string>();
    for (const call of updates) {
      const service = String(call.params.service);
      if (!releasedTo.has(service)) releasedTo.set(service, String(call.params.taskDefinition));
    }
    expect([...releasedTo.keys()].sort()).toEqual([...SERVICES].sort());
    expect(log).toContain('SIGKILL sent to the step');

    expect(jobResults(run)).toMatchObject({
      migrate: 'success',
      deploy: 'failure',
      verify: 'skipped',
      rollback: 'success',
    });
    expect(run.conclusion).toBe('failure');

    // From the simulator: every service back on (and running) its previous revision, nothing left in flight.
    // (The rollback waits for healthy, not for the old tasks to drain: give the drain its few seconds.)
    let after = await describeAll();
    for (let i = 0; i < 100 && after.some((s) => s.deployments!.length > 1); i++) {
      await new Promise((r) => setTimeout(r, 200));
      after = await describeAll();
    }
    for (const service of after) {
      expect({ service: service.serviceName, taskDefinition: primary(service).taskDefinition }).toEqual({
        service: service.serviceName,
        taskDefinition: before[service.serviceName!],
      });
      expect(service.taskDefinition).toBe(before[service.serviceName!]);
      expect(primary(service).rolloutState).toBe('COMPLETED');
      expect(service.deployments).toHaveLength(1);
    }
    expect(log).not.toContain(SECRET);
  }, 180_000);
});
