import { describe, expect, test } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryLog } from '../../../lib/log.js';
import type { BuildPlan } from '../../../lib/images/command.js';
import {
  buildAll,
  imageChanged,
  type CommandResult,
  type ImageStore,
  type Runner,
} from '../../../lib/images/pipeline.js';
import type { RegistryImage } from '../../../lib/images/registry.js';

const SHA = 'c0ffee';
const digest = (c: string) => `sha256:${c.repeat(64)}`;

function plan(name: string, tags = [SHA]): BuildPlan {
  return {
    service: {
      name,
      context: `/w/${name}`,
      dockerfile: `/w/${name}/Dockerfile`,
      buildArgs: {},
      repository: `alva/${name}`,
    },
    image: `reg.example/alva/${name}`,
    tags,
    cacheTag: 'buildcache',
    labels: {},
    platforms: [],
    push: true,
  };
}

/** A registry in memory: repository -> tag -> image. */
function memoryStore(initial: Record<string, Record<string, RegistryImage>> = {}) {
  const repos = structuredClone(initial);
  const retags: string[] = [];
  const store: ImageStore = {
    lookup: async (repo, tag) => repos[repo]?.[tag],
    retag: async (repo, d, tag) => {
      retags.push(`${repo}:${tag}=${d}`);
      repos[repo]![tag] = { digest: d };
    },
  };
  return { store, repos, retags };
}

/** A docker client that "pushes" into the memory store and can be told to fail. */
function fakeDocker(
  repos: Record<string, Record<string, RegistryImage>>,
  behaviour: { failBuild?: string; wrongDigest?: string } = {},
) {
  const calls: string[][] = [];
  let running = 0;
  let maxRunning = 0;
  const runner: Runner = {
    run: async (args): Promise<CommandResult> => {
      calls.push(args);
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      if (args[0] === 'build') {
        const context = args.at(-1)!;
        if (behaviour.failBuild && context.endsWith(behaviour.failBuild)) {
          return {
            exitCode: 1,
            output: '#7 [2/2] RUN make\n#7 0.100 make: *** no rule\n#7 ERROR: exit code: 2\n',
          };
        }
        return { exitCode: 0, output: '#9 DONE 0.1s' };
      }
      if (args[0] === 'push') {
        const [image, tag] = args[1]!.split(/:(?=[^:]+$)/) as [string, string];
        const repo = image.replace('reg.example/', '');
        const d = digest(repo.endsWith('api') ? 'a' : 'b');
        (repos[repo] ??= {})[tag] = {
          digest: behaviour.wrongDigest === repo ? digest('f') : d,
          sizeBytes: 1000,
        };
        return { exitCode: 0, output: `${tag}: digest: ${d} size: 942` };
      }
      return { exitCode: 1, output: 'unexpected' };
    },
  };
  return { runner, calls, maxRunning: () => maxRunning };
}

const opts = (o: Partial<Parameters<typeof buildAll>[0]>) =>
  ({
    docker: fakeDocker({}).runner,
    builder: { kind: 'plain' as const, cache: 'inline' as const },
    skipExisting: true,
    maxParallel: 4,
    log: memoryLog(),
    tempDir: tmpdir(),
    ...o,
  }) as Parameters<typeof buildAll>[0];

describe('buildAll', () => {
  test('builds, pushes the SHA tag, sets the other tags on that manifest, reports the digest the registry holds', async () => {
    const { store, repos, retags } = memoryStore();
    const docker = fakeDocker(repos);
    const [result] = await buildAll(
      opts({ plans: [plan('api', [SHA, 'staging'])], docker: docker.runner, store }),
    );
    expect(result).toMatchObject({ name: 'api', status: 'built', digest: digest('a'), sizeBytes: 1000 });
    expect(result!.tags).toEqual([`reg.example/alva/api:${SHA}`, 'reg.example/alva/api:staging']);
    expect(docker.calls.filter((c) => c[0] === 'push').map((c) => c[1])).toEqual([
      `reg.example/alva/api:${SHA}`,
    ]);
    expect(retags).toEqual([`alva/api:staging=${digest('a')}`, `alva/api:buildcache=${digest('a')}`]);
  });

  test('reports each Dockerfile step as BuildKit starts it, once, prefixed by the service', async () => {
    const { store, repos } = memoryStore();
    const docker = fakeDocker(repos);
    const streaming: Runner = {
      run: async (args, runOpts) => {
        if (args[0] === 'build') {
          for (const line of [
            '#5 [1/3] FROM base',
            '#5 CACHED',
            '#6 [2/3] COPY . /app',
            '#6 [2/3] COPY . /app',
          ])
            runOpts?.onLine?.(line);
        }
        return docker.runner.run(args, runOpts);
      },
    };
    const log = memoryLog();
    await buildAll(opts({ plans: [plan('api')], docker: streaming, store, log }));
    expect(log.lines.filter((l) => l.startsWith('api: ['))).toEqual([
      'api: [1/3] FROM base',
      'api: [2/3] COPY . /app',
    ]);
  });

  test('skip-existing: a service whose SHA tag exists is not built; moving tags are moved to it', async () => {
    const { store, repos, retags } = memoryStore({
      'alva/web': { [SHA]: { digest: digest('e'), sizeBytes: 5 } },
    });
    const docker = fakeDocker(repos);
    const results = await buildAll(
      opts({ plans: [plan('web', [SHA, 'staging']), plan('api')], docker: docker.runner, store }),
    );
    expect(results.map((r) => [r.name, r.status, r.digest])).toEqual([
      ['web', 'skipped', digest('e')],
      ['api', 'built', digest('a')],
    ]);
    expect(retags).toEqual([`alva/web:staging=${digest('e')}`, `alva/api:buildcache=${digest('a')}`]);
    expect(docker.calls.some((c) => c.at(-1) === '/w/web')).toBe(false);
  });

  test('skip-existing false rebuilds anyway', async () => {
    const { store, repos } = memoryStore({ 'alva/web': { [SHA]: { digest: digest('e') } } });
    const [result] = await buildAll(
      opts({ plans: [plan('web')], docker: fakeDocker(repos).runner, store, skipExisting: false }),
    );
    expect(result!.status).toBe('built');
    expect(result!.digest).toBe(digest('b'));
  });

  test('a failed build names the service and the step, and the others still build', async () => {
    const { store, repos } = memoryStore();
    const log = memoryLog();
    const results = await buildAll(
      opts({
        plans: [plan('web'), plan('api')],
        docker: fakeDocker(repos, { failBuild: 'web' }).runner,
        store,
        log,
      }),
    );
    expect(results[0]).toMatchObject({
      status: 'failed',
      error: 'web: docker build failed at step [2/2] RUN make: exit code: 2',
    });
    expect(results[0]!.failure!.output).toEqual(['make: *** no rule']);
    expect(results[1]!.status).toBe('built');
    expect(log.lines).toContain('group: web: build FAILED at step [2/2] RUN make');
  });

  test('a registry digest that differs from the pushed one fails rather than output a wrong pin', async () => {
    const { store, repos } = memoryStore();
    const [result] = await buildAll(
      opts({ plans: [plan('api')], docker: fakeDocker(repos, { wrongDigest: 'alva/api' }).runner, store }),
    );
    expect(result!.status).toBe('failed');
    expect(result!.error).toMatch(/pushed sha256:a+ but the registry holds sha256:f+/);
  });

  test('push false: built only, no lookups, no digest', async () => {
    const lookups: string[] = [];
    const store: ImageStore = {
      lookup: async (r) => (lookups.push(r), undefined),
      retag: async () => undefined,
    };
    const p = { ...plan('web'), push: false };
    const docker = fakeDocker({});
    const [result] = await buildAll(opts({ plans: [p], docker: docker.runner, store }));
    expect(result!.status).toBe('built');
    expect(result!.digest).toBeUndefined();
    expect(lookups).toEqual([]);
    expect(docker.calls.map((c) => c[0])).toEqual(['build']);
  });

  test('without registry credentials of its own, a tag it cannot set is pushed by docker', async () => {
    const { repos } = memoryStore();
    const store: ImageStore = {
      lookup: async (repo, tag) => repos[repo]?.[tag],
      retag: async () => {
        throw new Error('401');
      },
    };
    const docker = fakeDocker(repos);
    const [result] = await buildAll(
      opts({ plans: [plan('api', [SHA, 'staging'])], docker: docker.runner, store }),
    );
    expect(result!.status).toBe('built');
    expect(docker.calls.filter((c) => c[0] === 'push').map((c) => c[1])).toEqual([
      `reg.example/alva/api:${SHA}`,
      'reg.example/alva/api:staging',
      'reg.example/alva/api:buildcache',
    ]);
  });

  test('max-parallel bounds concurrent docker commands', async () => {
    const { store, repos } = memoryStore();
    const docker = fakeDocker(repos);
    await buildAll(
      opts({ plans: ['a', 'b', 'c', 'd'].map((n) => plan(n)), docker: docker.runner, store, maxParallel: 2 }),
    );
    expect(docker.maxRunning()).toBe(2);
  });

  test('reuse-unchanged: an image under the inputs tag gets the new tags instead of a build', async () => {
    const { store, repos, retags } = memoryStore({
      'alva/web': { 'inputs-1': { digest: digest('e'), sizeBytes: 7 } },
    });
    const docker = fakeDocker(repos);
    const results = await buildAll(
      opts({
        plans: [
          { ...plan('web', [SHA, 'staging']), inputsTag: 'inputs-1' },
          { ...plan('api'), inputsTag: 'inputs-2' },
        ],
        docker: docker.runner,
        store,
      }),
    );
    expect(results.map((r) => [r.name, r.status, r.digest])).toEqual([
      ['web', 'reused', digest('e')],
      ['api', 'built', digest('a')],
    ]);
    // web: tagged, never built; api: built, then marked with its inputs tag for the next commit.
    expect(retags).toEqual([
      `alva/web:${SHA}=${digest('e')}`,
      `alva/web:staging=${digest('e')}`,
      `alva/api:buildcache=${digest('a')}`,
      `alva/api:inputs-2=${digest('a')}`,
    ]);
    expect(docker.calls.some((c) => c.at(-1) === '/w/web')).toBe(false);
  });

  test('an inputs tag an immutable repository refuses (the same inputs built at once) does not fail the release', async () => {
    const { store: memory, repos, retags } = memoryStore();
    const refused: string[] = [];
    const store: ImageStore = {
      lookup: memory.lookup,
      retag: async (repo, d, tag) => {
        if (tag === 'inputs-1') {
          refused.push(tag);
          // What another run's image under the same content-addressed tag makes ECR answer.
          throw new Error(
            `cannot tag ${repo}@${d} as ${tag}: 400 {"errors":[{"code":"TAG_INVALID","message":"The image tag '${tag}' already exists in the '${repo}' repository and cannot be overwritten because the tag is immutable."}]}`,
          );
        }
        return memory.retag(repo, d, tag);
      },
    };
    const log = memoryLog();
    const [result] = await buildAll(
      opts({
        plans: [{ ...plan('web'), inputsTag: 'inputs-1' }],
        docker: fakeDocker(repos).runner,
        store,
        log,
      }),
    );
    expect(refused).toEqual(['inputs-1']);
    expect(result).toMatchObject({ status: 'built', digest: digest('b') });
    expect(retags).toEqual([`alva/web:buildcache=${digest('b')}`]);
    expect(log.lines).toContain(
      'web: inputs-1 already names another image built from the same inputs (immutable tag); later commits reuse that one',
    );
  });

  test('any other failure to put the inputs tag still fails the service', async () => {
    const { store: memory, repos } = memoryStore();
    const store: ImageStore = {
      lookup: memory.lookup,
      retag: async (repo, d, tag) => {
        if (tag === 'inputs-1') throw new Error(`cannot tag ${repo}@${d} as ${tag}: 403 denied`);
        return memory.retag(repo, d, tag);
      },
    };
    const [result] = await buildAll(
      opts({ plans: [{ ...plan('web'), inputsTag: 'inputs-1' }], docker: fakeDocker(repos).runner, store }),
    );
    expect(result).toMatchObject({ status: 'failed' });
    expect(result!.error).toContain('403 denied');
  });

  test('a skipped or reused image carries the commit it was built from (its revision label), when the store can read it', async () => {
    const { store: memory, repos } = memoryStore({
      'alva/web': { [SHA]: { digest: digest('e') } },
      'alva/api': { 'inputs-2': { digest: digest('a') } },
      'alva/auth': { [SHA]: { digest: digest('c') } },
    });
    const builtFrom: Record<string, string> = { [digest('e')]: 'older', [digest('a')]: 'oldest' };
    const store: ImageStore = {
      ...memory,
      revision: async (_repo, d) => {
        if (d === digest('c')) throw new Error('blob unreadable');
        return builtFrom[d];
      },
    };
    const log = memoryLog();
    const results = await buildAll(
      opts({
        plans: [plan('web'), { ...plan('api'), inputsTag: 'inputs-2' }, plan('auth')],
        docker: fakeDocker(repos).runner,
        store,
        log,
      }),
    );
    expect(results.map((r) => [r.name, r.status, r.builtFrom])).toEqual([
      ['web', 'skipped', 'older'],
      ['api', 'reused', 'oldest'],
      ['auth', 'skipped', undefined],
    ]);
    expect(log.lines).toContain(
      `web: reg.example/alva/web:${SHA} already in the registry (${digest('e')}, built from older); not rebuilt`,
    );
  });

  test('imageChanged: built, or skipped and built from this commit or of unknown origin; never reused or failed', () => {
    const result = (status: 'built' | 'skipped' | 'reused' | 'failed', builtFrom?: string) => ({
      name: 'web',
      image: 'r/web',
      repository: 'web',
      tags: [],
      durationMs: 0,
      status,
      ...(builtFrom ? { builtFrom } : {}),
    });
    expect(imageChanged(result('built'), SHA)).toBe(true);
    expect(imageChanged(result('skipped', SHA), SHA)).toBe(true);
    expect(imageChanged(result('skipped'), SHA)).toBe(true);
    // A re-run of a commit whose first run reused an earlier commit's image: still not changed.
    expect(imageChanged(result('skipped', 'older'), SHA)).toBe(false);
    expect(imageChanged(result('reused', 'older'), SHA)).toBe(false);
    expect(imageChanged(result('reused'), SHA)).toBe(false);
    expect(imageChanged(result('failed'), SHA)).toBe(false);
  });

  test('buildx: the digest comes from the metadata file and is checked against the registry', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bp-'));
    const { store, repos } = memoryStore();
    const runner: Runner = {
      run: async (args) => {
        const file = args[args.indexOf('--metadata-file') + 1]!;
        writeFileSync(file, JSON.stringify({ 'containerimage.digest': digest('d') }));
        repos['alva/web'] = { [SHA]: { digest: digest('d') } };
        return { exitCode: 0, output: '' };
      },
    };
    const [result] = await buildAll(
      opts({
        plans: [plan('web')],
        docker: runner,
        store,
        builder: { kind: 'buildx', cache: 'registry' },
        tempDir: dir,
      }),
    );
    expect(result).toMatchObject({ status: 'built', digest: digest('d') });
  });
});
