/**
 * The real deploy-staging.yml (and the reusable ecs-deploy.yml it calls), run
 * by the local runner against the simulator: the wiring between jobs is what
 * is under test, judged from the simulator's state.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { resolve } from 'node:path';
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { startSim, type Sim } from '../../sim/index.js';
import { loadEnvironments, repositoryRoot } from '../../runner/repo.js';
import { runWorkflow, type JobRecord, type WorkflowRecord } from '../../runner/run.js';

const SERVICES = ['alva-web', 'alva-api', 'alva-auth', 'alva-admin'];
const ECR = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const SECRET = 'workflow-test-secret-access-key';

let sim: Sim;
let ecs: ECSClient;

beforeAll(async () => {
  sim = await startSim({
    scenario: resolve(repositoryRoot, 'sim/scenarios/staging.json'),
    speed: 30,
    port: 0,
  });
  ecs = new ECSClient({
    endpoint: sim.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIATEST', secretAccessKey: SECRET },
  });
});
afterAll(async () => {
  ecs.destroy();
  await sim.close();
});
beforeEach(async () => {
  await sim.reset();
});

function images(tag: string, overrides: Record<string, string> = {}): string {
  return JSON.stringify(
    Object.fromEntries(
      ['web', 'api', 'auth', 'admin'].map((c) => [c, overrides[c] ?? `${ECR}/alva-${c}:${tag}`]),
    ),
  );
}

async function release(imagesJson: string): Promise<{ run: WorkflowRecord; log: string }> {
  const lines: string[] = [];
  const run = await runWorkflow(resolve(repositoryRoot, '.github/workflows/deploy-staging.yml'), {
    repoRoot: repositoryRoot,
    event: 'workflow_dispatch',
    inputs: { images: imagesJson },
    env: {
      AWS_ENDPOINT_URL: sim.url,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIATEST',
      AWS_SECRET_ACCESS_KEY: SECRET,
    },
    vars: { AWS_DEPLOY_ROLE_ARN: 'arn:aws:iam::123456789012:role/alva-staging-deploy' },
    environments: loadEnvironments(repositoryRoot),
    approve: true,
    sha: 'c0ffee0000000000000000000000000000000000',
    log: (line) => lines.push(line),
  });
  return { run, log: lines.join('\n') };
}

function jobs(run: WorkflowRecord): Record<string, JobRecord['result']> {
  const flat = (r: WorkflowRecord): JobRecord[] => r.jobs.flatMap((j) => (j.called ? flat(j.called) : [j]));
  return Object.fromEntries(flat(run).map((j) => [j.id, j.result]));
}

async function primaryImages(): Promise<Record<string, string>> {
  const { services = [] } = await ecs.send(
    new DescribeServicesCommand({ cluster: 'alva-staging-cluster', services: SERVICES }),
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
    expect(jobs(run)).toEqual({
      build: 'skipped',
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
    expect(jobs(run)).toMatchObject({
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
    const mark = sim.calls().length;
    const { run, log } = await release(images('good3', { api: `${ECR}/alva-api:migrate-fail-good3` }));
    expect(jobs(run)).toMatchObject({
      migrate: 'failure',
      deploy: 'skipped',
      verify: 'skipped',
      rollback: 'skipped',
    });
    expect(run.conclusion).toBe('failure');
    const mutating = sim
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
      env: { AWS_ENDPOINT_URL: sim.url, AWS_ACCESS_KEY_ID: 'AKIATEST', AWS_SECRET_ACCESS_KEY: SECRET },
      environments: loadEnvironments(repositoryRoot),
      approve: false,
      log: () => undefined,
    });
    expect(jobs(run)).toMatchObject({ migrate: 'failure', deploy: 'skipped' });
    expect(sim.calls().filter((c) => c.operation === 'RunTask' || c.operation === 'UpdateService')).toEqual(
      [],
    );
  });
});
