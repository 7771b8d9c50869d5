/**
 * A repository outside this one adopts the suite (test/fixtures/consumer):
 * its workflows name the suite as `acme/ecs-ship/...@v1`, and the runner maps
 * acme/ecs-ship to a clone of this repository with a `v1` tag made in that
 * clone (never in this repository). The shop's own AWS account is
 * test/fixtures/consumer/world.json, served by the simulator without an IAM
 * model (every call served, any role assumed), so what is judged here is the
 * runner's resolution and the release, from the simulator's state and call log.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  type Service,
} from '@aws-sdk/client-ecs';
import { startSim, type Sim } from '../../sim/index.js';
import { decodeJwtPayload } from '../../runner/oidc.js';
import { repositoryRoot } from '../../runner/repo.js';
import type { RunnerOptions, WorkflowRecord } from '../../runner/run.js';
import { consumerRepository, git, suiteClone } from './consumer-repos.js';
import { flatJobs as flat, runShopWorkflow, testKeysEcsClient } from './consumer-runs.js';

const FIXTURE = resolve(repositoryRoot, 'test/fixtures/consumer');
const ECR = '210987654321.dkr.ecr.us-east-1.amazonaws.com';
const DEPLOY_ROLE = 'arn:aws:iam::210987654321:role/shop-staging-github-deploy';

let tmp: string;
let shop: string;
let shopSha: string;
/** A clone of this repository with v1 tagged at its HEAD: what `acme/ecs-ship@v1` resolves to. */
let suite: string;
let suiteV1: string;
/** A clone with no v1 tag. */
let untagged: string;
let sim: Sim;
let ecs: ECSClient;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'consumer-'));
  ({ path: shop, sha: shopSha } = consumerRepository(
    join(FIXTURE, 'repo'),
    join(tmp, 'shop'),
    'shop: two services and their release workflows',
  ));
  ({ path: suite, v1: suiteV1 } = suiteClone(tmp));
  untagged = join(tmp, 'ecs-ship-untagged');
  git(tmp, 'clone', '--quiet', '--no-tags', repositoryRoot, untagged);
  sim = await startSim({ scenario: join(FIXTURE, 'world.json'), speed: 30, port: 0 });
  ecs = testKeysEcsClient(sim);
}, 120_000);

afterAll(async () => {
  ecs?.destroy();
  await sim?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function runShop(
  workflow: string,
  inputs: Record<string, string>,
  extra: Partial<RunnerOptions> = {},
): Promise<{ run: WorkflowRecord; log: string }> {
  return runShopWorkflow(
    { shop, sha: shopSha, suite, sim, deployRole: DEPLOY_ROLE },
    workflow,
    inputs,
    extra,
  );
}

async function service(name: string): Promise<Service> {
  const { services = [] } = await ecs.send(
    new DescribeServicesCommand({ cluster: 'shop-staging', services: [name] }),
  );
  return services[0]!;
}

async function imageOf(taskDefinition: string): Promise<string | undefined> {
  const { taskDefinition: td } = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition }));
  return td?.containerDefinitions?.[0]?.image;
}

describe('a consumer repository runs the suite through the runner', () => {
  it('refuses a remote uses: with no checkout mapped, naming the option that maps it, before any AWS call', async () => {
    const since = sim.calls().length;
    const { run, log } = await runShop('deploy-web.yml', { image: `${ECR}/shop-web:1.1.0` }, { uses: {} });
    expect(run.conclusion).toBe('failure');
    expect(log).toMatch(
      /no local checkout of acme\/ecs-ship is mapped; map one with .*--use acme\/ecs-ship=PATH/,
    );
    expect(sim.calls(since).filter((c) => c.service === 'ecs')).toEqual([]);
  });

  it('refuses a ref the mapped checkout does not have, naming it', async () => {
    const since = sim.calls().length;
    const { run, log } = await runShop(
      'deploy-web.yml',
      { image: `${ECR}/shop-web:1.1.0` },
      { uses: { 'acme/ecs-ship': untagged } },
    );
    expect(run.conclusion).toBe('failure');
    expect(log).toContain(`acme/ecs-ship has no tag, branch or commit "v1" in its checkout ${untagged}`);
    expect(sim.calls(since).filter((c) => c.service === 'ecs')).toEqual([]);
  });

  it('refuses a reusable workflow of an unmapped repository', async () => {
    await expect(runShop('release.yml', { images: '' }, { uses: {} })).rejects.toThrow(
      /job "release" \(uses: acme\/ecs-ship\/\.github\/workflows\/ecs-deploy\.yml@v1\): no local checkout of acme\/ecs-ship is mapped; map one with .*--use acme\/ecs-ship=PATH/,
    );
  });

  it('releases one service from an existing image with the actions used directly (acme/ecs-ship/actions/*@v1), and verifies it', async () => {
    const since = sim.calls().length;
    const before = await service('shop-worker');
    const webBefore = await service('shop-web');
    const image = `${ECR}/shop-web:1.1.0`;
    const { run, log } = await runShop('deploy-web.yml', { image });
    expect({ conclusion: run.conclusion, log }).toEqual(expect.objectContaining({ conclusion: 'success' }));

    // The actions ran from v1's commit in the mapped clone.
    expect(log).toContain(
      `acme/ecs-ship/actions/deploy-services@v1 → acme/ecs-ship@v1 (${suiteV1.slice(0, 12)}, from ${suite})`,
    );
    expect(log).toContain(`acme/ecs-ship/actions/verify@v1 → acme/ecs-ship@v1 (${suiteV1.slice(0, 12)}`);

    // ECS: shop-web runs a new revision with the image; shop-worker was not touched.
    const web = await service('shop-web');
    expect(web.taskDefinition).not.toBe(webBefore.taskDefinition);
    expect(web.taskDefinition).toMatch(/task-definition\/shop-web:\d+$/);
    expect(await imageOf(web.taskDefinition!)).toBe(image);
    expect(web.deployments).toHaveLength(1);
    expect(web.runningCount).toBe(2);
    expect((await service('shop-worker')).taskDefinition).toBe(before.taskDefinition);

    const calls = sim.calls(since);
    const mutations = calls.filter((c) => c.mutating && c.status === 200 && c.service === 'ecs');
    expect(mutations.map((c) => [c.operation, c.params.family ?? c.params.service])).toEqual([
      ['RegisterTaskDefinition', 'shop-web'],
      ['UpdateService', 'shop-web'],
    ]);
    // The credentials step assumed the shop's role with the job's token: the shop's repository and environment.
    const assume = calls.find((c) => c.operation === 'AssumeRoleWithWebIdentity')!;
    expect(assume.params.RoleArn).toBe(DEPLOY_ROLE);
    const claims = decodeJwtPayload(String(assume.params.WebIdentityToken));
    expect(claims).toEqual(
      expect.objectContaining({
        sub: 'repo:acme/shop:environment:staging',
        workflow_ref: 'acme/shop/.github/workflows/deploy-web.yml@refs/heads/main',
        job_workflow_ref: 'acme/shop/.github/workflows/deploy-web.yml@refs/heads/main',
        sha: shopSha,
      }),
    );

    // The job's own checkout is the shop, and the github context held what the last step asserted.
    const deploy = flat(run).find((j) => j.id === 'deploy')!;
    const record = deploy.steps.find((s) => s.name === 'Release record')!;
    expect(record.conclusion).toBe('success');
    expect(record.summary).toContain(
      `job deploy released ${image} from acme/shop@${shopSha} (workflow acme/shop/.github/workflows/deploy-web.yml@refs/heads/main)`,
    );
    expect(deploy.outputs.deployments).toContain('shop-web');
  }, 300_000);

  it('releases through the suite’s reusable workflow (acme/ecs-ship/.github/workflows/ecs-deploy.yml@v1) with no build', async () => {
    const since = sim.calls().length;
    const webBefore = await service('shop-web');
    const image = `${ECR}/shop-web:1.2.0`;
    const { run, log } = await runShop('release.yml', {
      images: JSON.stringify({ web: image }),
      services: 'shop-web',
    });
    const results = Object.fromEntries(flat(run).map((j) => [j.id, j.result]));
    expect({ results, log }).toEqual(
      expect.objectContaining({
        results: expect.objectContaining({ build: 'skipped', deploy: 'success', verify: 'success' }),
      }),
    );
    expect(run.conclusion).toBe('success');
    expect(log).toContain(
      `acme/ecs-ship/.github/workflows/ecs-deploy.yml@v1 → acme/ecs-ship@v1 (${suiteV1.slice(0, 12)}, from ${suite})`,
    );
    // The called workflow checked the suite out of the mapped clone at the commit v1 named when it was
    // called (its job token's job_workflow_sha: one pin), not the shop.
    expect(log).toMatch(
      new RegExp(
        `checkout: acme/ecs-ship@${suiteV1} \\(${suiteV1.slice(0, 12)}, from [^)]+\\) → \\.ecs-ship`,
      ),
    );

    const web = await service('shop-web');
    expect(web.taskDefinition).not.toBe(webBefore.taskDefinition);
    expect(await imageOf(web.taskDefinition!)).toBe(image);
    expect((await service('shop-worker')).taskDefinition).toMatch(/shop-worker:1$/);

    const calls = sim.calls(since);
    // The deploy job's token names the reusable workflow at the tag it was called at, and its commit.
    const tokens = calls
      .filter((c) => c.operation === 'AssumeRoleWithWebIdentity')
      .map((c) => decodeJwtPayload(String(c.params.WebIdentityToken)));
    expect(tokens.length).toBeGreaterThan(0);
    for (const claims of tokens) {
      expect(claims).toEqual(
        expect.objectContaining({
          workflow_ref: 'acme/shop/.github/workflows/release.yml@refs/heads/main',
          job_workflow_ref: 'acme/ecs-ship/.github/workflows/ecs-deploy.yml@refs/tags/v1',
          job_workflow_sha: suiteV1,
          repository: 'acme/shop',
        }),
      );
    }
    const mutations = calls.filter((c) => c.mutating && c.status === 200 && c.service === 'ecs');
    expect(mutations.map((c) => [c.operation, c.params.family ?? c.params.service])).toEqual([
      ['RegisterTaskDefinition', 'shop-web'],
      ['UpdateService', 'shop-web'],
    ]);
  }, 300_000);
});
