/**
 * A consumer's ten-service monorepo (test/fixtures/consumer-monorepo): its
 * release.yml calls acme/ecs-ship/.github/workflows/ecs-deploy.yml@v1 (a clone
 * of this repository tagged v1 in a temporary directory) on every push to
 * main. The ten services build from the repository root and copy the shared
 * packages/common; each lists its own inputs with `paths`. Three pushes:
 *
 * 1. the first: all ten built, pushed and deployed;
 * 2. a change in services/svc-003 only: svc-003 alone is built, registered and
 *    updated; the other nine keep their digests and are not touched;
 * 3. a change in packages/common: all ten rebuilt and redeployed.
 *
 * Judged from the registry (the digest each commit's tag names) and the
 * simulator (its call log: which families got a RegisterTaskDefinition and
 * which services an UpdateService; the revision and image each service runs),
 * not from the workflow's word alone. The world is the consumer shop's account
 * (test/fixtures/consumer/world.json) scaled to ten services (sim/scale.ts),
 * without an IAM model. Needs the Docker engine and the registry
 * (scripts/docker-up.sh).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, ECSClient } from '@aws-sdk/client-ecs';
import { loadScenario, startSim, type Sim } from '../../sim/index.js';
import { scaleScenario, scaleServiceName } from '../../sim/scale.js';
import { ensureDocker, registryDigest } from '../../runner/docker.js';
import { ecrHost } from '../e2e/build-push-support.js';
import { repositoryRoot } from '../../runner/repo.js';
import type { WorkflowRecord } from '../../runner/run.js';
import { git, suiteClone } from './consumer-repos.js';
import { flatJobs as flat, pushShopRelease, sharedRegistryEcr, testKeysEcsClient } from './consumer-runs.js';

const FIXTURE = resolve(repositoryRoot, 'test/fixtures/consumer-monorepo');
const NAMES = Array.from({ length: 10 }, (_, i) => scaleServiceName(i + 1, 10));
const OTHERS = NAMES.filter((name) => name !== 'svc-003');
const DEPLOY_ROLE = 'arn:aws:iam::210987654321:role/shop-staging-github-deploy';

let tmp: string;
let shop: string;
let suite: string;
let sim: Sim;
let ecs: ECSClient;
/** Repositories of this run in the shared registry: a prefix of their own, so runs never meet. */
let prefix: string;

beforeAll(async () => {
  await ensureDocker();
  tmp = mkdtempSync(join(tmpdir(), 'consumer-monorepo-'));
  prefix = `mono-${tmp.slice(-6).toLowerCase()}`;
  shop = join(tmp, 'shop');
  cpSync(join(FIXTURE, 'repo'), shop, { recursive: true });
  // Ten services from one template: a Dockerfile and a server, named after the service.
  for (const name of NAMES) {
    mkdirSync(join(shop, 'services', name), { recursive: true });
    for (const file of ['Dockerfile', 'server.js']) {
      const template = readFileSync(join(FIXTURE, 'service-template', file), 'utf8');
      writeFileSync(join(shop, 'services', name, file), template.replaceAll('__SERVICE__', name));
    }
  }
  // The release names its ECR repositories shop/<service>; this run's are under its prefix.
  const release = join(shop, '.github/workflows/release.yml');
  writeFileSync(
    release,
    readFileSync(release, 'utf8').replaceAll('repository: shop/', `repository: ${prefix}/`),
  );
  git(shop, 'init', '--quiet');
  git(shop, 'add', '-A');
  git(shop, 'commit', '--quiet', '-m', 'ten services sharing packages/common');
  suite = suiteClone(tmp).path;

  const world = scaleScenario(loadScenario(resolve(repositoryRoot, 'test/fixtures/consumer/world.json')), 10);
  world.ecr = sharedRegistryEcr(NAMES.map((name) => `${prefix}/${name}`));
  sim = await startSim({ scenario: world, speed: 60, port: 0 });
  registryHost = await ecrHost(sim);
  ecs = testKeysEcsClient(sim);
}, 300_000);

afterAll(async () => {
  ecs?.destroy();
  await sim?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

interface Push {
  sha: string;
  run: WorkflowRecord;
  /** build-push's outputs (the build job's step `build`). */
  build: Record<string, string>;
  /** The images released: container name -> repository@digest. */
  images: Record<string, string>;
  /** deploy-services' `deployments` output. */
  deployments: Record<string, { status: string; registered: boolean; taskDefinition: string }>;
  /** Families that got a new revision and services that got an UpdateService, from the simulator's call log. */
  registered: string[];
  updated: string[];
}

let before = '0'.repeat(40);

/** Commits what `change` wrote and runs the release for that push, as GitHub would. */
async function push(message: string, change: () => void): Promise<Push> {
  change();
  git(shop, 'add', '-A');
  git(shop, 'commit', '--quiet', '--allow-empty', '-m', message);
  const sha = git(shop, 'rev-parse', 'HEAD');
  const since = sim.calls().at(-1)?.seq ?? 0;
  const { run, log } = await pushShopRelease({ shop, sha, suite, sim, deployRole: DEPLOY_ROLE }, before);
  before = sha;
  const jobs = flat(run);
  const results = Object.fromEntries(jobs.map((j) => [j.id, j.result]));
  expect({ results, log: run.conclusion === 'success' ? '' : log.slice(-6000) }).toEqual({
    results: expect.objectContaining({ build: 'success', deploy: 'success', verify: 'success' }),
    log: '',
  });
  const calls = sim.calls(since).filter((c) => c.status === 200);
  const build = jobs.find((j) => j.id === 'build')!.steps.find((s) => s.id === 'build')!.outputs;
  const deploy = jobs.find((j) => j.id === 'deploy')!;
  return {
    sha,
    run,
    build,
    images: JSON.parse(deploy.outputs.images!) as Record<string, string>,
    deployments: JSON.parse(deploy.outputs.deployments!) as Push['deployments'],
    registered: calls
      .filter((c) => c.operation === 'RegisterTaskDefinition')
      .map((c) => c.params.family as string)
      .sort(),
    updated: calls
      .filter((c) => c.operation === 'UpdateService')
      .map((c) => c.params.service as string)
      .sort(),
  };
}

/** The registry host the simulator's ECR names (its proxyEndpoint): the host of every image build-push pushes. */
let registryHost: string;
/** The reference build-push gives a pushed image. */
const imageOf = (name: string, digest: string | undefined) => `${registryHost}/${prefix}/${name}@${digest}`;

const list = (output: string | undefined) => JSON.parse(output ?? 'null') as string[];

/** The digest each service's repository holds under a commit's tag, read from the registry. */
const digestsAt = async (sha: string) =>
  Object.fromEntries(
    await Promise.all(NAMES.map(async (n) => [n, await registryDigest(`${prefix}/${n}`, sha)] as const)),
  );

/** What ECS runs: each service's task definition and its container's image. */
async function running(): Promise<Record<string, { taskDefinition: string; image: string }>> {
  const { services = [] } = await ecs.send(
    new DescribeServicesCommand({ cluster: 'shop-staging', services: NAMES }),
  );
  const entries = await Promise.all(
    services.map(async (service) => {
      const { taskDefinition } = await ecs.send(
        new DescribeTaskDefinitionCommand({ taskDefinition: service.taskDefinition! }),
      );
      const image = taskDefinition!.containerDefinitions!.find((c) => c.name === service.serviceName)!.image!;
      return [service.serviceName!, { taskDefinition: service.taskDefinition!, image }] as const;
    }),
  );
  return Object.fromEntries(entries);
}

describe('a ten-service monorepo released through the suite’s reusable workflow', () => {
  let first: Push;
  let second: Push;

  it('the first push builds, pushes and deploys all ten services', async () => {
    first = await push('first release', () => {});
    expect(list(first.build['changed-services'])).toEqual(NAMES);
    expect(list(first.build['reused-services'])).toEqual([]);
    const digests = await digestsAt(first.sha);
    const ecsNow = await running();
    for (const name of NAMES) {
      expect(first.images[name]).toBe(imageOf(name, digests[name]));
      expect(ecsNow[name]!.image).toBe(first.images[name]);
      expect(first.deployments[name]).toMatchObject({ status: 'deployed', registered: true });
    }
    expect(first.registered).toEqual(NAMES);
    expect(first.updated).toEqual(NAMES);
  }, 600_000);

  it('a change in services/svc-003 builds, registers and updates svc-003 alone; the nine others keep their digests and are not touched', async () => {
    const ecsBefore = await running();
    second = await push('svc-003: a new greeting', () =>
      writeFileSync(
        join(shop, 'services/svc-003/server.js'),
        `${readFileSync(join(shop, 'services/svc-003/server.js'), 'utf8')}// v2\n`,
      ),
    );
    expect(list(second.build['changed-services'])).toEqual(['svc-003']);
    // The caller sees it too: the reusable workflow's own output.
    const release = second.run.jobs.find((j) => j.id === 'release')!;
    expect(list(release.outputs['changed-services'])).toEqual(['svc-003']);
    expect(list(second.build['reused-services'])).toEqual(OTHERS);

    // The registry: this commit's tag names the very manifest the first push built, for the nine.
    const firstDigests = await digestsAt(first.sha);
    const digests = await digestsAt(second.sha);
    expect(digests['svc-003']).not.toBe(firstDigests['svc-003']);
    for (const name of OTHERS) expect(digests[name]).toBe(firstDigests[name]);
    expect(second.images['svc-003']).toBe(imageOf('svc-003', digests['svc-003']));

    // The simulator: one new revision, one UpdateService, both svc-003's.
    expect(second.registered).toEqual(['svc-003']);
    expect(second.updated).toEqual(['svc-003']);
    const ecsNow = await running();
    expect(ecsNow['svc-003']!.image).toBe(second.images['svc-003']);
    expect(ecsNow['svc-003']!.taskDefinition).not.toBe(ecsBefore['svc-003']!.taskDefinition);
    for (const name of OTHERS) {
      expect(ecsNow[name]).toEqual(ecsBefore[name]);
      expect(second.deployments[name]).toMatchObject({ status: 'unchanged', registered: false });
    }
    expect(second.deployments['svc-003']).toMatchObject({ status: 'deployed', registered: true });
  }, 600_000);

  it('a change in packages/common, which every service lists, rebuilds and redeploys all ten', async () => {
    const ecsBefore = await running();
    const third = await push('common: a new greeting', () =>
      writeFileSync(
        join(shop, 'packages/common/greeting.js'),
        'export const greeting = (service) => `${service}: hi`;\n',
      ),
    );
    expect(list(third.build['changed-services'])).toEqual(NAMES);
    expect(list(third.build['reused-services'])).toEqual([]);
    const previous = await digestsAt(second.sha);
    const digests = await digestsAt(third.sha);
    const ecsNow = await running();
    for (const name of NAMES) {
      expect(digests[name]).not.toBe(previous[name]);
      expect(ecsNow[name]!.image).toBe(imageOf(name, digests[name]));
      expect(ecsNow[name]!.taskDefinition).not.toBe(ecsBefore[name]!.taskDefinition);
    }
    expect(third.registered).toEqual(NAMES);
    expect(third.updated).toEqual(NAMES);
  }, 600_000);
});
