/**
 * The consumer's deploy role pinned to the suite's reusable workflow: its
 * trust admits the shop's staging environment only through
 * acme/ecs-ship/.github/workflows/ecs-deploy.yml at refs/tags/v1 (the OIDC
 * claim job_workflow_ref, which the runner mints from the mapped `uses:`).
 * The shop's world (test/fixtures/consumer/world.json) gets that IAM model
 * here, enforced for the sessions STS hands out; the test's own reads use
 * unsigned test keys, which "permissive" mode serves.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadScenario, startSim, type Sim } from '../../sim/index.js';
import { decodeJwtPayload } from '../../runner/oidc.js';
import { repositoryRoot } from '../../runner/repo.js';
import { consumerRepository, suiteClone } from './consumer-repos.js';
import { flatJobs as flat, runShopWorkflow } from './consumer-runs.js';

const FIXTURE = resolve(repositoryRoot, 'test/fixtures/consumer');
const ACCOUNT = '210987654321';
const ECR = `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`;
const PROVIDER = `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`;
const DEPLOY_ROLE = `arn:aws:iam::${ACCOUNT}:role/shop-staging-github-deploy`;

let tmp: string;
let shop: string;
let shopSha: string;
let suite: string;
let sim: Sim;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'consumer-iam-'));
  ({ path: shop, sha: shopSha } = consumerRepository(join(FIXTURE, 'repo'), join(tmp, 'shop'), 'shop'));
  suite = suiteClone(tmp).path;
  const world = loadScenario(join(FIXTURE, 'world.json'));
  world.iam = {
    mode: 'permissive',
    oidcProviders: [
      { arn: PROVIDER, url: 'https://token.actions.githubusercontent.com', clientIds: ['sts.amazonaws.com'] },
    ],
    roles: [
      {
        name: 'shop-staging-github-deploy',
        arn: DEPLOY_ROLE,
        trust: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Federated: PROVIDER },
              Action: 'sts:AssumeRoleWithWebIdentity',
              Condition: {
                StringEquals: {
                  'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
                  // The deploy job (in the environment) and verify (no environment: the branch).
                  'token.actions.githubusercontent.com:sub': [
                    'repo:acme/shop:environment:staging',
                    'repo:acme/shop:ref:refs/heads/main',
                  ],
                  'token.actions.githubusercontent.com:job_workflow_ref':
                    'acme/ecs-ship/.github/workflows/ecs-deploy.yml@refs/tags/v1',
                },
              },
            },
          ],
        },
        policies: [
          {
            name: 'release',
            document: {
              Version: '2012-10-17',
              Statement: [
                {
                  Effect: 'Allow',
                  Action: [
                    'ecs:*',
                    'elasticloadbalancing:Describe*',
                    'logs:Get*',
                    'logs:Describe*',
                    'logs:FilterLogEvents',
                  ],
                  Resource: '*',
                },
                {
                  Effect: 'Allow',
                  Action: 'iam:PassRole',
                  Resource: `arn:aws:iam::${ACCOUNT}:role/shop-staging-execution`,
                  Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
                },
              ],
            },
          },
        ],
      },
    ],
  };
  sim = await startSim({ scenario: world, speed: 30, port: 0 });
}, 120_000);

afterAll(async () => {
  await sim?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

async function runShop(workflow: string, inputs: Record<string, string>) {
  const since = sim.calls().length;
  const { run, log } = await runShopWorkflow(
    { shop, sha: shopSha, suite, sim, deployRole: DEPLOY_ROLE },
    workflow,
    inputs,
  );
  return { run, log, calls: sim.calls(since) };
}

describe('a deploy role pinned to the suite’s reusable workflow at v1', () => {
  it('refuses the same environment’s job in the shop’s own workflow (its job_workflow_ref is the shop’s), before any change', async () => {
    const { run, log, calls } = await runShop('deploy-web.yml', { image: `${ECR}/shop-web:1.1.0` });
    expect(run.conclusion).toBe('failure');
    expect(log).toContain(
      'Could not assume role with OIDC: Not authorized to perform sts:AssumeRoleWithWebIdentity',
    );
    const refused = calls.find((c) => c.operation === 'AssumeRoleWithWebIdentity')!;
    expect(refused.status).toBe(403);
    // Same subject and audience as the admitted release: only job_workflow_ref differs.
    expect(decodeJwtPayload(String(refused.params.WebIdentityToken))).toEqual(
      expect.objectContaining({
        sub: 'repo:acme/shop:environment:staging',
        aud: 'sts.amazonaws.com',
        job_workflow_ref: 'acme/shop/.github/workflows/deploy-web.yml@refs/heads/main',
      }),
    );
    expect(calls.filter((c) => c.service === 'ecs' && c.mutating)).toEqual([]);
  });

  it('admits the release through acme/ecs-ship/.github/workflows/ecs-deploy.yml@v1, whose session deploys and verifies', async () => {
    const image = `${ECR}/shop-web:1.3.0`;
    const { run, log, calls } = await runShop('release.yml', {
      images: JSON.stringify({ web: image }),
      services: 'shop-web',
    });
    const results = Object.fromEntries(flat(run).map((j) => [j.id, j.result]));
    expect({ results, log }).toEqual(
      expect.objectContaining({ results: expect.objectContaining({ deploy: 'success', verify: 'success' }) }),
    );
    const assumed = calls.filter((c) => c.operation === 'AssumeRoleWithWebIdentity');
    expect(assumed.length).toBeGreaterThan(0);
    expect(assumed.every((c) => c.status === 200)).toBe(true);
    const update = calls.find((c) => c.operation === 'UpdateService' && c.status === 200)!;
    expect(update.params.service).toBe('shop-web');
    // The change was made by the assumed role's session, not by a key of the runner's own.
    expect(JSON.stringify(update.gate ?? {})).toContain('assumed-role/shop-staging-github-deploy');
  }, 300_000);
});
