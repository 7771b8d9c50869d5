/**
 * build-push in a monorepo: ten services built from one shared context (the
 * repository root), each narrowed to its own files plus a shared package by
 * `paths`, pushed through the simulator's ECR front into IMMUTABLE
 * repositories. Only the services whose inputs changed are built; the
 * others' new SHA tags name the very manifests pushed before.
 *
 * Judged from the registry (the digest each tag names, the tags each
 * repository holds: one image per distinct input) and the simulator's state
 * (the front refused no tag), not from the action's word alone.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSim, type Sim } from '../../sim/index.js';
import {
  REGISTRY,
  REGISTRY_PASSWORD,
  REGISTRY_USER,
  ecrScenario,
  ensureDocker,
  registryDigest,
  registryLabels,
} from './build-push-support.js';
import { runAction, type ActionRun } from './run-action.js';

const prefix = `e2e-mono-${Date.now().toString(36)}`;
const NAMES = Array.from({ length: 10 }, (_, i) => `svc${i}`);
const repositoryOf = (name: string) => `${prefix}/${name}`;
const FIRST = 'a'.repeat(40);
const ONE_CHANGED = 'b'.repeat(40);
const UNRELATED = 'c'.repeat(40);
const SHARED_CHANGED = 'd'.repeat(40);

/** Every tag a repository holds, with the digest each names (read from the registry itself). */
async function tagsOf(repository: string): Promise<Record<string, string>> {
  const authorization = `Basic ${Buffer.from(`${REGISTRY_USER}:${REGISTRY_PASSWORD}`).toString('base64')}`;
  const res = await fetch(`http://${REGISTRY}/v2/${repository}/tags/list`, { headers: { authorization } });
  if (!res.ok) throw new Error(`registry tags/list ${repository}: ${res.status}`);
  const { tags } = (await res.json()) as { tags: string[] | null };
  const digests: Record<string, string> = {};
  for (const tag of tags ?? []) digests[tag] = (await registryDigest(repository, tag))!;
  return digests;
}

const inputsTags = (tags: Record<string, string>) => Object.keys(tags).filter((t) => t.startsWith('inputs-'));

describe('build-push: a ten-service monorepo rebuilds only what changed', () => {
  let sim: Sim;
  let workspace: string;
  let dockerConfig: string;
  /** What the first push left under each service's first SHA tag. */
  let firstDigests: Record<string, string | undefined>;

  beforeAll(async () => {
    await ensureDocker();
    workspace = mkdtempSync(join(tmpdir(), 'build-push-monorepo-'));
    dockerConfig = mkdtempSync(join(tmpdir(), 'build-push-monorepo-docker-'));
    mkdirSync(join(workspace, 'packages', 'common'), { recursive: true });
    writeFileSync(join(workspace, 'packages', 'common', 'greeting.js'), "export const greeting = 'hello';\n");
    writeFileSync(join(workspace, 'README.md'), '# the monorepo\n');
    writeFileSync(join(workspace, '.dockerignore'), '**/*.md\n');
    for (const name of NAMES) {
      const dir = join(workspace, 'services', name);
      mkdirSync(dir, { recursive: true });
      // The base image has no shell: COPY only, exec-form CMD.
      writeFileSync(
        join(dir, 'Dockerfile'),
        [
          'FROM ecs-ship/node:24',
          'COPY packages/common /app/common',
          `COPY services/${name} /app`,
          'CMD ["node", "/app/server.js"]',
          '',
        ].join('\n'),
      );
      writeFileSync(join(dir, 'server.js'), `console.log('${name}');\n`);
    }
    const base = ecrScenario([]);
    sim = await startSim({
      scenario: {
        ...base,
        ecr: {
          ...base.ecr!,
          // The strictest repositories: every tag, once written, is kept.
          repositories: NAMES.map((name) => ({ name: repositoryOf(name), imageTagMutability: 'IMMUTABLE' })),
        },
      },
      speed: 20,
      port: 0,
    });
  }, 320_000);

  afterAll(async () => {
    await sim?.close();
    if (workspace) rmSync(workspace, { recursive: true, force: true });
    if (dockerConfig) rmSync(dockerConfig, { recursive: true, force: true });
  });

  const services = JSON.stringify(
    NAMES.map((name) => ({
      name,
      context: '.',
      dockerfile: `services/${name}/Dockerfile`,
      repository: repositoryOf(name),
      paths: ['packages/common/**', `services/${name}/**`],
    })),
  );

  const push = async (sha: string): Promise<ActionRun> => {
    const run = await runAction('build-push', {
      // No cache tag: an IMMUTABLE repository would keep it (see README, Immutable tags).
      inputs: { services, network: 'host', 'cache-tag': 'none', 'max-parallel': '4' },
      env: {
        AWS_ENDPOINT_URL: sim.url,
        DOCKER_CONFIG: dockerConfig,
        GITHUB_SHA: sha,
        GITHUB_WORKSPACE: workspace,
      },
      timeoutMs: 480_000,
    });
    expect({ exit: run.exitCode, log: run.exitCode === 0 ? '' : run.log.slice(-3000) }).toEqual({
      exit: 0,
      log: '',
    });
    return run;
  };
  const list = (run: ActionRun, output: string) => JSON.parse(run.outputs[output]!) as string[];
  const digestsAt = async (sha: string) =>
    Object.fromEntries(
      await Promise.all(NAMES.map(async (n) => [n, await registryDigest(repositoryOf(n), sha)] as const)),
    );

  test('the first push builds all ten; each image is marked with its inputs tag', async () => {
    const run = await push(FIRST);
    expect(run.log).toContain('10 built, 0 skipped (already in the registry), 0 reused');
    expect(list(run, 'changed-services')).toEqual(NAMES);
    expect(list(run, 'reused-services')).toEqual([]);
    const images = JSON.parse(run.outputs.images!) as Record<string, string>;
    firstDigests = await digestsAt(FIRST);
    for (const name of NAMES) {
      const tags = await tagsOf(repositoryOf(name));
      expect(inputsTags(tags)).toHaveLength(1);
      expect(tags[inputsTags(tags)[0]!]).toBe(tags[FIRST]);
      expect(images[name]).toMatch(new RegExp(`/${repositoryOf(name)}@${tags[FIRST]}$`));
    }
  }, 600_000);

  test("a change in one service's files rebuilds that one; the other nine keep identical digests", async () => {
    const before = await digestsAt(FIRST);
    writeFileSync(join(workspace, 'services', 'svc3', 'server.js'), "console.log('svc3 v2');\n");
    const since = sim.calls().at(-1)?.seq ?? 0;
    const run = await push(ONE_CHANGED);
    // ECR's record decided it: each service asked for its inputs tag; only svc3's was not there.
    const inputsLookups = sim
      .calls(since)
      .filter((c) => c.operation === 'DescribeImages')
      .map((c) => ({
        repository: c.params.repositoryName as string,
        tag: (c.params.imageIds as { imageTag?: string }[] | undefined)?.[0]?.imageTag ?? '',
        found: c.status === 200,
      }))
      .filter((l) => l.tag.startsWith('inputs-'));
    // (svc3 asks twice: before building, and before marking its new image with the new inputs tag.)
    expect(new Set(inputsLookups.filter((l) => !l.found).map((l) => l.repository))).toEqual(
      new Set([repositoryOf('svc3')]),
    );
    expect(new Set(inputsLookups.filter((l) => l.found).map((l) => l.repository)).size).toBe(9);
    expect(run.log).toContain('1 built, 0 skipped (already in the registry), 9 reused');
    expect(list(run, 'changed-services')).toEqual(['svc3']);
    expect(list(run, 'reused-services')).toEqual(NAMES.filter((n) => n !== 'svc3'));
    const after = await digestsAt(ONE_CHANGED);
    expect(after.svc3).not.toBe(before.svc3);
    for (const name of NAMES.filter((n) => n !== 'svc3')) {
      expect(after[name]).toBe(before[name]);
      // Not rebuilt with a new revision label: the same image, labelled by the commit that built it.
      expect(
        (await registryLabels(repositoryOf(name), ONE_CHANGED))['org.opencontainers.image.revision'],
      ).toBe(FIRST);
      // One image ever pushed: the first commit's, under its SHA, this SHA and its inputs tag.
      const tags = await tagsOf(repositoryOf(name));
      expect(Object.keys(tags).sort()).toEqual([FIRST, ONE_CHANGED, inputsTags(tags)[0]!].sort());
      expect(new Set(Object.values(tags)).size).toBe(1);
    }
    const changed = await tagsOf(repositoryOf('svc3'));
    expect(inputsTags(changed)).toHaveLength(2);
    expect(new Set(Object.values(changed)).size).toBe(2);
    expect(
      (await registryLabels(repositoryOf('svc3'), ONE_CHANGED))['org.opencontainers.image.revision'],
    ).toBe(ONE_CHANGED);
    // The summary row says which image changed.
    expect(run.summary).toMatch(/svc3<\/td><td>built, pushed<\/td><td>yes</);
    expect(
      run.summary.match(/reused \(inputs unchanged\)<\/td><td>no \(built from <code>aaaaaaaaaaaa<\/code>\)/g),
    ).toHaveLength(9);
  }, 600_000);

  test("a change outside every service's paths (a README at the root) rebuilds nothing", async () => {
    const before = await digestsAt(ONE_CHANGED);
    writeFileSync(join(workspace, 'README.md'), '# the monorepo, documented\n');
    writeFileSync(join(workspace, 'services', 'svc5', 'NOTES.md'), 'not sent to docker: .dockerignore\n');
    const run = await push(UNRELATED);
    expect(run.log).toContain('0 built, 0 skipped (already in the registry), 10 reused');
    expect(list(run, 'changed-services')).toEqual([]);
    expect(await digestsAt(UNRELATED)).toEqual(before);
  }, 600_000);

  test('a change in the shared package every service lists rebuilds all ten', async () => {
    const before = await digestsAt(UNRELATED);
    writeFileSync(join(workspace, 'packages', 'common', 'greeting.js'), "export const greeting = 'hi';\n");
    const run = await push(SHARED_CHANGED);
    expect(run.log).toContain('10 built, 0 skipped (already in the registry), 0 reused');
    expect(list(run, 'changed-services')).toEqual(NAMES);
    const after = await digestsAt(SHARED_CHANGED);
    for (const name of NAMES) expect(after[name]).not.toBe(before[name]);
    // IMMUTABLE repositories throughout: no tag was ever refused, none moved.
    expect(sim.events().filter((e) => e.kind === 'ecr.push.refused')).toEqual([]);
    expect(await digestsAt(FIRST)).toEqual(firstDigests);
  }, 600_000);

  test('a re-run of the one-service commit builds nothing and gives the same answer: svc3 changed, nine reused', async () => {
    const run = await push(ONE_CHANGED);
    expect(run.log).toContain('0 built, 10 skipped (already in the registry), 0 reused');
    // Told apart by the revision label of the image each SHA tag names.
    expect(list(run, 'changed-services')).toEqual(['svc3']);
    expect(list(run, 'reused-services')).toEqual(NAMES.filter((n) => n !== 'svc3'));
    expect(sim.events().filter((e) => e.kind === 'ecr.push.refused')).toEqual([]);
  }, 600_000);
});
