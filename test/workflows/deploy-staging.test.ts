/**
 * The real deploy-staging.yml (and the reusable ecs-deploy.yml it calls), run
 * by the local runner against the simulator: the wiring between jobs is what
 * is under test, judged from the simulator's state.
 */
import { describe, expect, it } from '@jest/globals';
import { resolve } from 'node:path';
import { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import { loadEnvironments, repositoryRoot } from '../../runner/repo.js';
import { runWorkflow } from '../../runner/run.js';
import {
  CLUSTER,
  ECR,
  SECRET,
  SERVICES,
  jobResults,
  releaseToStaging,
  stagingImages,
  useFreshStagingWorld,
  type WorkflowRun,
} from './staging-world.js';

const world = useFreshStagingWorld();

const images = stagingImages;

function release(imagesJson: string): Promise<WorkflowRun> {
  return releaseToStaging(world, imagesJson);
}

async function primaryImages(): Promise<Record<string, string>> {
  const { services = [] } = await world.ecs.send(
    new DescribeServicesCommand({ cluster: CLUSTER, services: SERVICES }),
  );
  const out: Record<string, string> = {};
  for (const s of services) {
    expect(s.deployments?.filter((d) => d.status === 'PRIMARY')).toHaveLength(1);
    out[s.serviceName!] = s.deployments!.find((d) => d.status === 'PRIMARY')!.taskDefinition!;
  }
  return out;
}

describe('deploy-staging.yml through the local runner', () => {
  it('a good release ends with all four services on the new revision and verify green', async () => {
    const before = await primaryImages();
    const { run, log } = await release(images('good1'));
    expect(jobResults(run)).toEqual({
      check: 'success',
      build: 'skipped',
      'infra-diff': 'skipped',
      infra: 'skipped',
      migrate: 'success',
      deploy: 'success',
      verify: 'success',
      rollback: 'skipped',
    });
    expect(run.conclusion).toBe('success');
    const after = await primaryImages();
    for (const service of SERVICES) expect(after[service]).not.toBe(before[service]);
    // The deployments output travelled from the deploy job to the workflow's outputs.
    const deployments = JSON.parse(run.jobs[0]!.outputs.deployments!) as Record<
      string,
      { taskDefinition: string }
    >;
    for (const service of SERVICES) expect(deployments[service]!.taskDefinition).toBe(after[service]);
    expect(log).not.toContain(SECRET);
  });

  it('a release whose api image crash-loops ends all on the previous revision, rollback green, run failed', async () => {
    const before = await primaryImages();
    const { run, log } = await release(images('good2', { api: `${ECR}/alva-api:broken-good2` }));
    expect(jobResults(run)).toMatchObject({
      migrate: 'success',
      deploy: 'failure',
      verify: 'skipped',
      rollback: 'success',
    });
    expect(run.conclusion).toBe('failure');
    expect(await primaryImages()).toEqual(before);
    expect(log).toMatch(/alva-api.*circuit breaker/);
    expect(log).not.toContain(SECRET);
  });

  it('a failing migration stops the release before any service changes', async () => {
    const before = await primaryImages();
    const mark = world.sim.calls().length;
    const { run, log } = await release(images('good3', { api: `${ECR}/alva-api:migrate-fail-good3` }));
    expect(jobResults(run)).toMatchObject({
      migrate: 'failure',
      deploy: 'skipped',
      verify: 'skipped',
      rollback: 'skipped',
    });
    expect(run.conclusion).toBe('failure');
    const mutating = world.sim
      .calls(mark)
      .filter((c) => c.service === 'ecs' && ['UpdateService', 'CreateService'].includes(c.operation));
    expect(mutating).toEqual([]);
    expect(await primaryImages()).toEqual(before);
    expect(log).toMatch(/exit(ed)? (with )?code 1/);
  });

  it('stops at an environment that needs approval unless it is given', async () => {
    const run = await runWorkflow(resolve(repositoryRoot, '.github/workflows/deploy-staging.yml'), {
      repoRoot: repositoryRoot,
      event: 'workflow_dispatch',
      inputs: { images: images('gate') },
      env: { AWS_ENDPOINT_URL: world.sim.url, AWS_ACCESS_KEY_ID: 'AKIATEST', AWS_SECRET_ACCESS_KEY: SECRET },
      environments: loadEnvironments(repositoryRoot),
      approve: false,
      log: () => undefined,
    });
    expect(jobResults(run)).toMatchObject({ migrate: 'failure', deploy: 'skipped' });
    expect(
      world.sim.calls().filter((c) => c.operation === 'RunTask' || c.operation === 'UpdateService'),
    ).toEqual([]);
  });
});
