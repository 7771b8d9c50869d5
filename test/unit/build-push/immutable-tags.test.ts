/**
 * ECR's refusal to move an immutable tag, met at push or at tagging, is
 * reported naming the tag, the repository, what the tag is for and the fix.
 */
import { describe, expect, test } from '@jest/globals';
import { tmpdir } from 'node:os';
import { memoryLog } from '../../../lib/log.js';
import type { BuildPlan } from '../../../lib/images/command.js';
import {
  explainRefusal,
  immutableTagRefusal,
  keepsTag,
  movingTagWarnings,
} from '../../../lib/images/immutable-tags.js';
import { buildAll, type ImageStore, type Runner } from '../../../lib/images/pipeline.js';
import { RegistryError, type RegistryImage } from '../../../lib/images/registry.js';

const SHA = 'c0ffee';
const digest = (c: string) => `sha256:${c.repeat(64)}`;
/** ECR's registry words it so (TAG_INVALID); docker prefixes "tag invalid: ". */
const refusedBy = (tag: string, repository = 'alva/api') =>
  `tag invalid: The image tag '${tag}' already exists in the '${repository}' repository and cannot be overwritten because the tag is immutable.`;

function plan(tags = [SHA], extra: Partial<BuildPlan> = {}): BuildPlan {
  return {
    service: {
      name: 'api',
      context: '/w/api',
      dockerfile: '/w/api/Dockerfile',
      buildArgs: {},
      repository: 'alva/api',
    },
    image: 'reg.example/alva/api',
    tags,
    cacheTag: 'buildcache',
    labels: {},
    platforms: [],
    push: true,
    ...extra,
  };
}

/** A registry whose `immutable` tags, once set, refuse another digest as ECR's registry does. */
function immutableStore(existing: Record<string, string>) {
  const tags = new Map(Object.entries(existing));
  const store: ImageStore = {
    lookup: async (_repo, tag): Promise<RegistryImage | undefined> =>
      tags.has(tag) ? { digest: tags.get(tag)! } : undefined,
    retag: async (repo, d, tag) => {
      if (tags.has(tag)) {
        throw new RegistryError(
          `cannot tag ${repo}@${d} as ${tag}: 400 {"errors":[{"code":"TAG_INVALID","message":"${refusedBy(tag).replace('tag invalid: ', '')}"}]}`,
          400,
        );
      }
      tags.set(tag, d);
    },
  };
  return { store, tags };
}

/** docker: builds succeed; a push of an existing tag is refused as ECR refuses it. */
function docker(tags: Map<string, string>, newDigest: string) {
  const pushed: string[] = [];
  const runner: Runner = {
    run: async (args) => {
      if (args[0] === 'build') return { exitCode: 0, output: '#9 DONE 0.1s' };
      const tag = args[1]!.split(':').at(-1)!;
      pushed.push(tag);
      if (tags.has(tag)) {
        return {
          exitCode: 1,
          output: `The push refers to repository [reg.example/alva/api]\n${refusedBy(tag)}\n`,
        };
      }
      tags.set(tag, newDigest);
      return { exitCode: 0, output: `${tag}: digest: ${newDigest} size: 942` };
    },
  };
  return { runner, pushed };
}

const run = (p: BuildPlan, store: ImageStore, runner: Runner, skipExisting = true) =>
  buildAll({
    plans: [p],
    docker: runner,
    builder: { kind: 'plain', cache: 'inline' },
    store,
    skipExisting,
    maxParallel: 1,
    log: memoryLog(),
    tempDir: tmpdir(),
  });

describe('immutableTagRefusal', () => {
  test("reads the tag and repository from ECR's message, in both wordings", () => {
    expect(immutableTagRefusal(`ERROR: failed to push: ${refusedBy('buildcache', 'alva/web')}`)).toEqual({
      tag: 'buildcache',
      repository: 'alva/web',
    });
    expect(
      immutableTagRefusal(
        "tag invalid: The image tag 'latest' already exists in the 'app' repository and cannot be overwritten because the repository is immutable.",
      ),
    ).toEqual({ tag: 'latest', repository: 'app' });
    expect(immutableTagRefusal('denied: requested access to the resource is denied')).toBeUndefined();
  });
});

describe('buildAll against immutable tags', () => {
  test('a cache tag that exists: the service fails naming the tag, the repository and the exclusion to add; no docker push retry', async () => {
    const { store, tags } = immutableStore({ buildcache: digest('1') });
    const d = docker(tags, digest('2'));
    const [result] = await run(plan(), store, d.runner);
    expect(result!.status).toBe('failed');
    expect(result!.error).toBe(explainRefusal(plan(), { tag: 'buildcache', repository: 'alva/api' }));
    expect(result!.error).toContain("ECR refused to move the tag 'buildcache' in repository 'alva/api'");
    expect(result!.error).toContain("exclusion filter 'buildcache'");
    expect(result!.error).toContain('cache-tag: none');
    // The refusal is final: the SHA tag was pushed once, the cache tag never through docker.
    expect(d.pushed).toEqual([SHA]);
  });

  test('a release tag pushed before with other content: refused, and the fix is to keep the first image', async () => {
    const { store, tags } = immutableStore({ [SHA]: digest('1') });
    const d = docker(tags, digest('2'));
    const [result] = await run(plan(), store, d.runner, false);
    expect(result!.status).toBe('failed');
    expect(result!.error).toContain(`ECR refused to move the tag '${SHA}' in repository 'alva/api'`);
    expect(result!.error).toContain("this commit's release tag");
    expect(result!.error).toContain('skip-existing: true');
    expect(tags.get(SHA)).toBe(digest('1'));
  });

  test('a moving tag on a skipped service: refused at tagging, explained as a moving tag', async () => {
    const { store } = immutableStore({ [SHA]: digest('1'), staging: digest('0') });
    const d = docker(new Map(), digest('2'));
    const [result] = await run(plan([SHA, 'staging']), store, d.runner);
    expect(result!.status).toBe('failed');
    expect(result!.error).toContain("the tag 'staging'");
    expect(result!.error).toContain('moving tag');
    expect(result!.error).toContain("exclusion filter 'staging'");
  });

  test('with the cache tag excluded (the registry lets it move), the second release succeeds', async () => {
    const { store, tags } = immutableStore({ 'other-sha': digest('1') });
    const mutableCache: ImageStore = {
      lookup: store.lookup,
      retag: async (repo, d, tag) =>
        tag === 'buildcache' ? void tags.set(tag, d) : store.retag(repo, d, tag),
    };
    tags.set('buildcache', digest('1'));
    const d = docker(tags, digest('2'));
    const [result] = await run(plan(), mutableCache, d.runner);
    expect(result).toMatchObject({ status: 'built', digest: digest('2') });
    expect(tags.get('buildcache')).toBe(digest('2'));
  });
});

describe('keepsTag and movingTagWarnings: what an ECR repository keeps, read before building', () => {
  const filters = (...f: string[]) => f.map((filter) => ({ filterType: 'WILDCARD', filter }));

  test('each mutability setting, with wildcard exclusion filters', () => {
    expect(keepsTag({ imageTagMutability: 'MUTABLE' }, 'v1')).toBe(false);
    expect(keepsTag({}, 'v1')).toBe(false);
    expect(keepsTag({ imageTagMutability: 'IMMUTABLE' }, 'buildcache')).toBe(true);
    const immutableButCache = {
      imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
      imageTagMutabilityExclusionFilters: filters('buildcache', 'latest-*'),
    };
    expect(keepsTag(immutableButCache, 'buildcache')).toBe(false);
    expect(keepsTag(immutableButCache, 'latest-main')).toBe(false);
    expect(keepsTag(immutableButCache, 'buildcache2')).toBe(true);
    expect(keepsTag(immutableButCache, SHA)).toBe(true);
    const mutableButReleases = {
      imageTagMutability: 'MUTABLE_WITH_EXCLUSION',
      imageTagMutabilityExclusionFilters: filters('v*'),
    };
    expect(keepsTag(mutableButReleases, 'v1.2')).toBe(true);
    expect(keepsTag(mutableButReleases, 'staging')).toBe(false);
  });

  test('an IMMUTABLE repository: the cache tag and each moving tag are warned, each with its fix', () => {
    const warnings = movingTagWarnings(
      'alva/web',
      { imageTagMutability: 'IMMUTABLE' },
      { cacheTag: 'buildcache', tags: ['staging'] },
    );
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain(
      "ECR repository 'alva/web' keeps the tag 'buildcache' immutable (IMMUTABLE)",
    );
    expect(warnings[0]).toContain('or set cache-tag: none');
    expect(warnings[1]).toContain("the tag 'staging'");
    expect(warnings[1]).toContain('or remove it from tags');
  });

  test('the cache tag excluded, or no cache tag: nothing to warn', () => {
    const rules = {
      imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
      imageTagMutabilityExclusionFilters: filters('buildcache'),
    };
    expect(movingTagWarnings('alva/web', rules, { cacheTag: 'buildcache', tags: [] })).toEqual([]);
    expect(movingTagWarnings('alva/web', { imageTagMutability: 'IMMUTABLE' }, { tags: [] })).toEqual([]);
    expect(
      movingTagWarnings(
        'alva/web',
        { imageTagMutability: 'MUTABLE' },
        { cacheTag: 'buildcache', tags: ['x'] },
      ),
    ).toEqual([]);
  });
});

test('a re-run whose moving tag already names the image does not put it again (ECR would refuse even the same image)', async () => {
  const { store, tags } = immutableStore({ [SHA]: digest('1'), staging: digest('1') });
  const d = docker(tags, digest('2'));
  const [result] = await run(plan([SHA, 'staging']), store, d.runner);
  expect(result).toMatchObject({ status: 'skipped', digest: digest('1') });
  expect(d.pushed).toEqual([]);
});
