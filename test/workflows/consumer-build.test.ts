/**
 * The consumer fixture's push release (test/fixtures/consumer): its
 * release.yml calls acme/ecs-ship/.github/workflows/ecs-deploy.yml@v1 (a clone
 * of this repository tagged v1 in a temporary directory), which builds the
 * shop's two services with Docker, pushes them through the simulator's ECR to
 * the registry on 127.0.0.1:5000, deploys both and verifies them. Needs the
 * Docker engine and the registry (scripts/docker-up.sh), like the other
 * build-push tests. The simulator serves the shop's account without an IAM
 * model (every call served, any role assumed).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, ECSClient } from '@aws-sdk/client-ecs';
import { loadScenario, startSim, type Sim } from '../../sim/index.js';
import { ensureDocker, registryDigest } from '../../runner/docker.js';
import { repositoryRoot } from '../../runner/repo.js';
import { consumerRepository, git, suiteClone } from './consumer-repos.js';
import { flatJobs as flat, pushShopRelease, sharedRegistryEcr, testKeysEcsClient } from './consumer-runs.js';

const FIXTURE = resolve(repositoryRoot, 'test/fixtures/consumer');

let tmp: string;
let shop: string;
let shopSha: string;
let suite: string;
let sim: Sim;
let ecs: ECSClient;
/** Repositories of this run in the shared registry: a prefix of their own, so runs never meet. */
let prefix: string;

beforeAll(async () => {
  await ensureDocker();
  tmp = mkdtempSync(join(tmpdir(), 'consumer-build-'));
  prefix = `shop-${tmp.slice(-6).toLowerCase()}`;
  ({ path: shop, sha: shopSha } = consumerRepository(
    join(FIXTURE, 'repo'),
    join(tmp, 'shop'),
    'shop: two services and their release workflows',
  ));
  suite = suiteClone(tmp).path;
  const world = loadScenario(join(FIXTURE, 'world.json'));
  // The shop's repositories, each under this run's prefix in the shared registry.
  world.ecr = sharedRegistryEcr(['shop-web', 'shop-worker'].map((name) => `${prefix}/${name}`));
  sim = await startSim({ scenario: world, speed: 30, port: 0 });
  ecs = testKeysEcsClient(sim);
}, 300_000);

afterAll(async () => {
  ecs?.destroy();
  await sim?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the consumer’s push release through the suite’s reusable workflow', () => {
  it('builds both services, pushes them, deploys the pushed digests and verifies', async () => {
    // The shop's release.yml names its ECR repositories shop-web and shop-worker; this run's are prefixed.
    const release = join(shop, '.github/workflows/release.yml');
    writeFileSync(
      release,
      readFileSync(release, 'utf8').replaceAll('repository: shop-', `repository: ${prefix}/shop-`),
    );
    git(shop, 'commit', '--quiet', '-am', 'this run’s repositories');
    shopSha = git(shop, 'rev-parse', 'HEAD');
    const since = sim.calls().length;
    const { run, log } = await pushShopRelease(
      {
        shop,
        sha: shopSha,
        suite,
        sim,
        deployRole: 'arn:aws:iam::210987654321:role/shop-staging-github-deploy',
      },
      '0'.repeat(40),
    );
    const results = Object.fromEntries(flat(run).map((j) => [j.id, j.result]));
    expect({ results, log }).toEqual(
      expect.objectContaining({
        results: expect.objectContaining({ build: 'success', deploy: 'success', verify: 'success' }),
      }),
    );
    expect(run.conclusion).toBe('success');

    // The registry holds what was built, and ECS runs exactly those digests.
    const build = flat(run).find((j) => j.id === 'build')!;
    const images = JSON.parse(build.outputs.images!) as Record<string, string>;
    expect(Object.keys(images).sort()).toEqual(['web', 'worker']);
    const { services = [] } = await ecs.send(
      new DescribeServicesCommand({ cluster: 'shop-staging', services: ['shop-web', 'shop-worker'] }),
    );
    for (const [container, service] of [
      ['web', 'shop-web'],
      ['worker', 'shop-worker'],
    ] as const) {
      const digest = images[container]!.split('@')[1]!;
      expect(await registryDigest(`${prefix}/${service}`, shopSha)).toBe(digest);
      const current = services.find((s) => s.serviceName === service)!;
      const { taskDefinition } = await ecs.send(
        new DescribeTaskDefinitionCommand({ taskDefinition: current.taskDefinition! }),
      );
      expect(taskDefinition!.containerDefinitions![0]!.image).toBe(images[container]);
      expect(current.deployments).toHaveLength(1);
    }
    const calls = sim.calls(since);
    expect(calls.some((c) => c.operation === 'GetAuthorizationToken' && c.status === 200)).toBe(true);
    const registered = calls
      .filter((c) => c.operation === 'RegisterTaskDefinition' && c.status === 200)
      .map((c) => c.params.family)
      .sort();
    expect(registered).toEqual(['shop-web', 'shop-worker']);
  }, 600_000);
});
