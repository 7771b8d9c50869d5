/**
 * The reusable workflow's traps (issue 19), each run through the local runner
 * (deploy-staging.yml calling ecs-deploy.yml) against the simulator and judged
 * from its state and call log: a migration without its image, images JSON on
 * many lines or with quotes, `$` and backticks, the actions run from the
 * workflow's own commit, and an automatic rollback that needs no reviewer.
 */
import { describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DescribeTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { loadEnvironments, repositoryRoot } from '../../runner/repo.js';
import { runWorkflow } from '../../runner/run.js';
import {
  ECR,
  REPOSITORY,
  ROLE_VARS,
  jobResults,
  primaryTaskDefinitions,
  releaseToStaging,
  stagingImages,
  useFreshStagingWorld,
  type WorkflowRun,
} from './staging-world.js';

const world = useFreshStagingWorld();

const SHA = 'c0ffee0000000000000000000000000000000000';

function release(imagesJson: string): Promise<WorkflowRun> {
  return releaseToStaging(world, imagesJson);
}

/** Each staging service's PRIMARY task definition. */
const primaries = () => primaryTaskDefinitions(world);

async function containerImage(taskDefinition: string, container: string): Promise<string | undefined> {
  const { taskDefinition: td } = await world.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition }));
  return td?.containerDefinitions?.find((c) => c.name === container)?.image;
}

const ecsCalls = (since: number, operations: string[]) =>
  world.sim.calls(since).filter((c) => c.service === 'ecs' && operations.includes(c.operation));

describe('ecs-deploy.yml without traps', () => {
  it('a release without the migration image fails before anything runs, naming migration-image-from', async () => {
    const before = await primaries();
    const since = world.sim.calls().length;
    // deploy-staging migrates with the api image; this release gives none.
    const images = JSON.stringify({ web: `${ECR}/alva-web:noapi`, admin: `${ECR}/alva-admin:noapi` });
    const { run, log } = await release(images);
    expect(jobResults(run)).toEqual({
      check: 'failure',
      build: 'skipped',
      'infra-diff': 'skipped',
      infra: 'skipped',
      migrate: 'skipped',
      deploy: 'skipped',
      verify: 'skipped',
      rollback: 'skipped',
    });
    expect(run.conclusion).toBe('failure');
    expect(log).toContain(
      'Input "migration-image-from": names "api", which is not in images ("web", "admin")',
    );
    // Nothing ran: no role assumed, no task, no revision, no service update.
    expect(world.sim.calls(since).filter((c) => c.operation === 'AssumeRoleWithWebIdentity')).toEqual([]);
    expect(
      ecsCalls(since, ['RunTask', 'RegisterTaskDefinition', 'UpdateService']).map((c) => c.operation),
    ).toEqual([]);
    expect(await primaries()).toEqual(before);
  });

  it('releases an images JSON written on many lines, every line of it', async () => {
    const pretty = JSON.stringify(JSON.parse(stagingImages('multi1')), null, 2);
    expect(pretty.split('\n').length).toBeGreaterThan(4);
    const { run, log } = await release(pretty);
    expect({ results: jobResults(run), log }).toEqual(
      expect.objectContaining({
        results: expect.objectContaining({
          check: 'success',
          migrate: 'success',
          deploy: 'success',
          verify: 'success',
        }),
      }),
    );
    const after = await primaries();
    for (const name of ['web', 'api', 'auth', 'admin'])
      expect(await containerImage(after[`alva-${name}`]!, name)).toBe(`${ECR}/alva-${name}:multi1`);
    // The workflow's images output is the JSON as given.
    expect(JSON.parse(run.jobs[0]!.outputs.images!)).toEqual(JSON.parse(pretty));
  });

  it('carries quotes, $( ), backticks and newlines in images from job to job as text, never as shell', async () => {
    const marker = join(tmpdir(), `ecs-deploy-injected-${process.pid}-${Date.now()}`);
    // A name no container has: deploy-services refuses it, quoting it, before any change.
    const name = `web'"$(touch ${marker})\`touch ${marker}\`\n'`;
    const images = JSON.stringify(
      { ...JSON.parse(stagingImages('quotes1')), [name]: `${ECR}/alva-web:quotes1` },
      null,
      1,
    );
    const before = await primaries();
    const since = world.sim.calls().length;
    const { run, log } = await release(images);
    expect(jobResults(run)).toMatchObject({ check: 'success', deploy: 'failure', verify: 'skipped' });
    // The name reached deploy-services whole (its refusal quotes it as JSON does).
    expect(log).toContain(`has a container named "${name.split('\n')[0]}`);
    expect(existsSync(marker)).toBe(false);
    expect(ecsCalls(since, ['UpdateService']).map((c) => c.operation)).toEqual([]);
    expect(await primaries()).toEqual(before);
  });

  it('runs the actions from the commit of the workflow the caller pinned (the OIDC token names it)', async () => {
    const { run, log } = await release(stagingImages('pin1'));
    expect(run.conclusion).toBe('success');
    // A local call: this repository at the run's commit, as job_workflow_ref/job_workflow_sha say.
    expect(log).toContain(
      `The actions run from ${REPOSITORY}@${SHA}, the commit of ${REPOSITORY}/.github/workflows/ecs-deploy.yml@refs/heads/staging.`,
    );
    const check = run.jobs[0]!.called!.jobs.find((j) => j.id === 'check')!;
    // infra-changed: empty, as on every run that is not a push with a CDK app.
    expect(check.outputs).toEqual({ 'suite-repository': REPOSITORY, 'suite-sha': SHA, 'infra-changed': '' });
  });

  it('a caller that grants no id-token: write fails at the check job, naming the permission, before any AWS call', async () => {
    const since = world.sim.calls().length;
    const lines: string[] = [];
    const run = await runWorkflow(resolve(repositoryRoot, 'test/workflows/fixtures/no-id-token.yml'), {
      repoRoot: repositoryRoot,
      repository: REPOSITORY,
      event: 'workflow_dispatch',
      inputs: { images: JSON.stringify({ web: `${ECR}/alva-web:noid` }) },
      env: { AWS_ENDPOINT_URL: world.sim.url, AWS_REGION: 'us-east-1' },
      vars: { ...ROLE_VARS },
      environments: loadEnvironments(repositoryRoot),
      approve: true,
      sha: SHA,
      log: (line) => lines.push(line),
    });
    expect(jobResults(run)).toMatchObject({ check: 'failure', deploy: 'skipped' });
    expect(lines.join('\n')).toContain(
      'this job has no OIDC token. Fix: grant the calling job `permissions: id-token: write`',
    );
    expect(world.sim.calls(since)).toEqual([]);
  });

  it('rolls a failed release back without waiting for a reviewer (its own environment, none required)', async () => {
    const environments = loadEnvironments(repositoryRoot);
    expect(environments.staging?.reviewers?.length).toBeGreaterThan(0);
    const before = await primaries();
    const since = world.sim.calls().length;
    const lines: string[] = [];
    const run = await runWorkflow(resolve(repositoryRoot, '.github/workflows/deploy-staging.yml'), {
      repoRoot: repositoryRoot,
      repository: REPOSITORY,
      event: 'workflow_dispatch',
      inputs: { images: stagingImages('rb1', { api: `${ECR}/alva-api:broken-rb1` }) },
      env: { AWS_ENDPOINT_URL: world.sim.url, AWS_REGION: 'us-east-1' },
      vars: { ...ROLE_VARS },
      environments,
      // The reviewers approve the migration and the release; nobody is there for anything after.
      approve: ['migrate', 'deploy'],
      sha: SHA,
      log: (line) => lines.push(line),
    });
    const log = lines.join('\n');
    expect({ results: jobResults(run), log }).toEqual(
      expect.objectContaining({
        results: expect.objectContaining({ deploy: 'failure', rollback: 'success' }),
      }),
    );
    expect(log).not.toContain('requires approval');
    const rollback = run.jobs[0]!.called!.jobs.find((j) => j.id === 'rollback')!;
    expect(rollback.environment).toBe('staging-rollback');
    // It assumed the deploy role with the rollback environment's subject, and the services serve as before.
    const assumed = world.sim
      .calls(since)
      .filter((c) => c.operation === 'AssumeRoleWithWebIdentity' && c.status === 200)
      .map((c) => c.params.RoleArn);
    expect(assumed).toContain(ROLE_VARS.AWS_DEPLOY_ROLE_ARN);
    expect(rollback.credentials?.map((c) => c.subject)).toEqual([
      `repo:${REPOSITORY}:environment:staging-rollback`,
    ]);
    expect(await primaries()).toEqual(before);
  });
});
