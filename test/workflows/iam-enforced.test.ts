/**
 * The staging release through the local runner against the world synthesized
 * from infra/, IAM enforced for every caller: each job assumes its role with
 * the OIDC token the runner mints for it, the simulator's STS weighs the
 * role's trust, and every later call is authorized against the role's
 * policies. Judged from the simulator's call log.
 *
 * - infra/ as committed: a release makes no call any role is refused.
 * - infra/ with one statement the deploy role needs removed (a copy of the
 *   app edited at the source, synthesized by the loader's cached synth): the
 *   deploy job fails at that call with AWS's AccessDeniedException naming the
 *   action, and the step's error says it in AWS's words.
 * - the release run from a branch the trust does not name: the job whose
 *   subject is that branch fails at its credentials step with AWS's error and
 *   makes no further call.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ECSClient } from '@aws-sdk/client-ecs';
import { INFRA_DIR, STAGING_OVERLAY, scenarioFromApp } from '../../sim/assembly/index.js';
import { repositoryRoot } from '../../sim/assembly/synth.js';
import type { SimCall } from '../../sim/index.js';
import type { Scenario } from '../../sim/scenario.js';
import { clientConfig, startTestSim } from '../sim/helpers.js';
import {
  REPOSITORY,
  describeStaging,
  jobResults,
  runStagingWorkflow,
  stagingImages,
  type StagingWorld,
} from './staging-world.js';
import { expectRunSucceeded } from './run-outcome.js';

const SPEED = 30;
const CI_IDENTITY = 'lib/stacks/ci-identity-stack.ts';
/** The deploy role's statement allowing iam:PassRole of the services' task and execution roles. */
const PASS_SERVICE_ROLES = "passRoles('PassServiceRoles', props.servicePassedRoles),";

function refused(calls: SimCall[]): SimCall[] {
  return calls.filter((c) => c.status >= 400 && /AccessDenied/.test(c.errorCode ?? ''));
}

async function startWorld(scenario: Scenario): Promise<StagingWorld> {
  const sim = await startTestSim({ scenario, speed: SPEED, port: 0 });
  return { sim, ecs: new ECSClient(clientConfig(sim)) };
}

async function closeWorld(world: StagingWorld | undefined): Promise<void> {
  world?.ecs.destroy();
  await world?.sim.close();
}

describe('the world synthesized from infra/ as committed, IAM enforced', () => {
  let world: StagingWorld;
  beforeAll(async () => {
    world = await startWorld(scenarioFromApp({ appDir: INFRA_DIR, overlay: STAGING_OVERLAY }).scenario);
  }, 120_000);
  afterAll(() => closeWorld(world));

  it('a release from staging: every job assumes its own role and no call is refused', async () => {
    const { run, log } = await runStagingWorkflow(world, 'deploy-staging.yml', {
      inputs: { images: stagingImages('iam1') },
    });
    expectRunSucceeded(run, log);
    const calls = world.sim.calls();
    expect(refused(calls)).toEqual([]);
    // Every AWS call the jobs made was a session's, authorized (none served unauthenticated).
    const jobCalls = calls.filter((c) => c.service !== 'sts');
    expect(jobCalls.length).toBeGreaterThan(0);
    const principals = new Set(jobCalls.map((c) => String((c.gate as { principal?: string }).principal)));
    expect([...principals].sort()).toEqual(
      [
        // the test's own reads are none here: only the pipeline's roles called AWS
        'alva-staging-github-deploy',
        'alva-staging-github-migrate',
        'alva-staging-github-read',
      ].map((role) => `arn:aws:sts::123456789012:assumed-role/${role}/GitHubActions`),
    );
    expect((await describeStaging(world)).map((s) => s.taskDefinition?.split('/').pop())).toEqual([
      'alva-web:2',
      'alva-api:2',
      'alva-auth:2',
      'alva-admin:2',
    ]);
  }, 240_000);

  it('the release from another branch: the verify job fails at its credentials step, its subject not admitted', async () => {
    const since = world.sim.calls().at(-1)?.seq ?? 0;
    const { run, log } = await runStagingWorkflow(world, 'deploy-staging.yml', {
      inputs: { images: stagingImages('iam2') },
      ref: 'refs/heads/feature-x',
    });
    expect(run.conclusion).toBe('failure');
    const verify = run.jobs.flatMap((j) => j.called?.jobs ?? [j]).find((j) => j.id === 'verify')!;
    expect(verify.result).toBe('failure');
    const failed = verify.steps.filter((s) => s.conclusion === 'failure').map((s) => s.name);
    expect(failed).toEqual([expect.stringMatching(/configure-aws-credentials/)]);
    expect(verify.credentials).toEqual([
      expect.objectContaining({
        role: 'arn:aws:iam::123456789012:role/alva-staging-github-read',
        subject: `repo:${REPOSITORY}:ref:refs/heads/feature-x`,
        refused: expect.stringMatching(/Not authorized to perform sts:AssumeRoleWithWebIdentity/),
      }),
    ]);
    expect(log).toMatch(/Not authorized to perform sts:AssumeRoleWithWebIdentity/);
    // STS refused it (403 AccessDenied) and the read role made no call after.
    const calls = world.sim.calls(since);
    expect(
      calls
        .filter((c) => c.operation === 'AssumeRoleWithWebIdentity' && c.status !== 200)
        .map((c) => [c.status, c.errorCode]),
    ).toEqual([[403, 'AccessDenied']]);
    expect(
      calls.filter((c) =>
        String((c.gate as { principal?: string } | undefined)?.principal).includes('github-read'),
      ),
    ).toEqual([]);
  }, 240_000);
});

describe('infra/ with the deploy role missing one statement the actions need', () => {
  const variantDir = join(repositoryRoot, '.tmp', `infra-iam-variant-${process.pid}`);
  let world: StagingWorld | undefined;

  beforeAll(async () => {
    cpSync(INFRA_DIR, variantDir, {
      recursive: true,
      filter: (src) => !src.includes('cdk.out') && !src.includes('node_modules'),
    });
    const stack = join(variantDir, CI_IDENTITY);
    const source = readFileSync(stack, 'utf8');
    if (!source.includes(PASS_SERVICE_ROLES))
      throw new Error(`${CI_IDENTITY} no longer has ${PASS_SERVICE_ROLES}: update this test's edit`);
    writeFileSync(stack, source.replace(PASS_SERVICE_ROLES, ''));
    world = await startWorld(scenarioFromApp({ appDir: variantDir, overlay: STAGING_OVERLAY }).scenario);
  }, 180_000);
  afterAll(async () => {
    await closeWorld(world);
    rmSync(variantDir, { recursive: true, force: true });
  });

  it("without iam:PassRole for the services' roles, the deploy job fails at RegisterTaskDefinition with AccessDeniedException naming the action", async () => {
    const before = (await describeStaging(world!)).map((s) => s.taskDefinition);
    const { run, log } = await runStagingWorkflow(world!, 'deploy-staging.yml', {
      inputs: { images: stagingImages('iam3') },
    });
    expect(run.conclusion).toBe('failure');
    expect(jobResults(run)).toMatchObject({ migrate: 'success', deploy: 'failure', verify: 'skipped' });

    const denied = refused(world!.sim.calls());
    expect(denied.length).toBeGreaterThan(0);
    for (const call of denied) {
      expect(call).toMatchObject({
        service: 'ecs',
        operation: 'RegisterTaskDefinition',
        status: 400,
        errorCode: 'AccessDeniedException',
        gate: expect.objectContaining({
          principal: 'arn:aws:sts::123456789012:assumed-role/alva-staging-github-deploy/GitHubActions',
          decision: 'ImplicitlyDenied',
        }),
      });
      expect(JSON.stringify(call.gate)).toContain('iam:PassRole');
    }
    // Nothing was updated: the services still run what they ran.
    expect(world!.sim.calls().filter((c) => c.operation === 'UpdateService' && c.status === 200)).toEqual([]);
    expect((await describeStaging(world!)).map((s) => s.taskDefinition)).toEqual(before);
    // The step's error carries AWS's words: who, which action, which resource.
    expect(log).toMatch(
      /alva-staging-github-deploy\/GitHubActions is not authorized to perform: iam:PassRole on resource: arn:aws:iam::123456789012:role\/AlvaStagingEcs-/,
    );
  }, 240_000);
});
