import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildFingerprint,
  dockerignoreMatcher,
  fingerprintInputs,
  fingerprintTag,
  pathsMatcher,
} from '../../../lib/images/fingerprint.js';
import type { ServiceSpec } from '../../../lib/images/services.js';

describe('dockerignoreMatcher', () => {
  const ignored = dockerignoreMatcher('# comment\nnode_modules\n*.md\n/dist/\n**/*.log\ntmp?\n');
  test.each([
    ['node_modules/x/index.js', true],
    ['README.md', true],
    ['docs/README.md', false], // `*` does not cross directories, as in Docker
    ['dist/app.js', true],
    ['a/b/c.log', true],
    ['c.log', true],
    ['tmp1', true],
    ['tmp12', false],
    ['server.js', false],
  ])('%s ignored: %s', (path, expected) => {
    expect(ignored(path)).toBe(expected);
  });

  test('patterns apply in order, the last match decides, and `!` re-includes (as Docker reads them)', () => {
    const md = dockerignoreMatcher('*.md\n!README.md');
    expect(md('CHANGES.md')).toBe(true);
    expect(md('README.md')).toBe(false);
    const dir = dockerignoreMatcher('docs\n!docs/keep.txt');
    expect(dir('docs/draft.txt')).toBe(true);
    expect(dir('docs/keep.txt')).toBe(false);
    // A later exclusion wins over an earlier re-inclusion.
    expect(dockerignoreMatcher('!a.txt\n*.txt')('a.txt')).toBe(true);
    expect(dockerignoreMatcher('*.txt\n!a.txt\na.txt')('a.txt')).toBe(true);
  });

  test('`**/` also matches no directory; `./` and a trailing `/` are cleaned; classes and escapes', () => {
    expect(dockerignoreMatcher('**/*.log')('c.log')).toBe(true);
    expect(dockerignoreMatcher('a/**/b')('a/b')).toBe(true);
    expect(dockerignoreMatcher('a/**/b')('a/x/y/b')).toBe(true);
    expect(dockerignoreMatcher('./build/')('build/out.js')).toBe(true);
    expect(dockerignoreMatcher('file[0-9].txt')('file7.txt')).toBe(true);
    expect(dockerignoreMatcher('file[!0-9].txt')('file7.txt')).toBe(false);
    expect(dockerignoreMatcher('\\*.txt')('*.txt')).toBe(true);
    expect(dockerignoreMatcher('\\*.txt')('a.txt')).toBe(false);
  });
});

describe('pathsMatcher', () => {
  test('repository-relative globs; `!` excludes what an earlier glob included', () => {
    const web = pathsMatcher(['packages/common/**', 'services/web/**', '!services/web/**/*.md']);
    expect(web('packages/common/index.js')).toBe(true);
    expect(web('services/web/src/app.js')).toBe(true);
    expect(web('services/web/README.md')).toBe(false);
    expect(web('services/api/app.js')).toBe(false);
    expect(web('packages/commonality/x.js')).toBe(false);
    // A directory named without wildcards includes what is under it.
    expect(pathsMatcher(['services/web'])('services/web/app.js')).toBe(true);
  });
});

describe('buildFingerprint', () => {
  let dir: string;
  let service: ServiceSpec;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fp-'));
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'Dockerfile'), 'FROM node\nCOPY . .\n');
    writeFileSync(join(dir, 'src', 'server.js'), 'console.log(1)\n');
    writeFileSync(join(dir, '.dockerignore'), 'notes.txt\n');
    service = {
      name: 'web',
      context: dir,
      dockerfile: join(dir, 'Dockerfile'),
      buildArgs: { A: '1' },
      repository: 'web',
    };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('stable for the same inputs; a tag Docker accepts', async () => {
    const a = await buildFingerprint(service, []);
    expect(await buildFingerprint(service, [])).toBe(a);
    expect(fingerprintTag(a)).toMatch(/^inputs-[0-9a-f]{40}$/);
  });

  test('changes with a source line, a new file, the mode, the Dockerfile, build args, target or platforms', async () => {
    const a = await buildFingerprint(service, []);
    const fps = new Set([a]);
    writeFileSync(join(dir, 'src', 'server.js'), 'console.log(2)\n');
    fps.add(await buildFingerprint(service, []));
    writeFileSync(join(dir, 'src', 'extra.js'), '');
    fps.add(await buildFingerprint(service, []));
    chmodSync(join(dir, 'src', 'extra.js'), 0o755);
    fps.add(await buildFingerprint(service, []));
    writeFileSync(join(dir, 'Dockerfile'), 'FROM node:24\nCOPY . .\n');
    fps.add(await buildFingerprint(service, []));
    fps.add(await buildFingerprint({ ...service, buildArgs: { A: '2' } }, []));
    fps.add(await buildFingerprint({ ...service, target: 'prod' }, []));
    fps.add(await buildFingerprint(service, ['linux/arm64']));
    symlinkSync('src', join(dir, 'link'));
    fps.add(await buildFingerprint(service, []));
    expect(fps.size).toBe(9);
  });

  test('files .dockerignore excludes do not count', async () => {
    const a = await buildFingerprint(service, []);
    writeFileSync(join(dir, 'notes.txt'), 'scribble');
    expect(await buildFingerprint(service, [])).toBe(a);
  });
});

describe('buildFingerprint: .dockerignore as BuildKit applies it', () => {
  let dir: string;
  let service: ServiceSpec;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fp-ignore-'));
    mkdirSync(join(dir, 'docs'));
    writeFileSync(join(dir, 'Dockerfile'), 'FROM node\nCOPY . .\n');
    writeFileSync(join(dir, 'docs', 'keep.txt'), 'kept\n');
    writeFileSync(join(dir, 'docs', 'draft.txt'), 'draft\n');
    writeFileSync(join(dir, '.dockerignore'), 'docs\n!docs/keep.txt\n');
    service = {
      name: 'web',
      context: dir,
      dockerfile: join(dir, 'Dockerfile'),
      buildArgs: {},
      repository: 'web',
    };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('a re-included file counts: its change changes the fingerprint', async () => {
    const before = await buildFingerprint(service, []);
    writeFileSync(join(dir, 'docs', 'keep.txt'), 'changed\n');
    expect(await buildFingerprint(service, [])).not.toBe(before);
  });

  test('an excluded file under the excluded directory does not count', async () => {
    const before = await buildFingerprint(service, []);
    writeFileSync(join(dir, 'docs', 'draft.txt'), 'rewritten\n');
    writeFileSync(join(dir, 'docs', 'new.txt'), 'new\n');
    expect(await buildFingerprint(service, [])).toBe(before);
  });

  test("the Dockerfile's own <Dockerfile>.dockerignore wins over the context's", async () => {
    writeFileSync(join(dir, 'Dockerfile.dockerignore'), 'docs/keep.txt\n');
    const before = await buildFingerprint(service, []);
    writeFileSync(join(dir, 'docs', 'draft.txt'), 'now sent: the context .dockerignore no longer applies\n');
    const afterDraft = await buildFingerprint(service, []);
    expect(afterDraft).not.toBe(before);
    writeFileSync(join(dir, 'docs', 'keep.txt'), 'ignored by the Dockerfile-specific file\n');
    expect(await buildFingerprint(service, [])).toBe(afterDraft);
  });
});

/**
 * A monorepo: one shared context (the repository root), services/<name>/
 * each with its Dockerfile, and packages/common shared by all.
 */
describe('buildFingerprint with paths: a shared context narrowed per service', () => {
  let root: string;
  const spec = (name: string, paths?: string[]): ServiceSpec => ({
    name,
    context: root,
    dockerfile: join(root, 'services', name, 'Dockerfile'),
    buildArgs: {},
    repository: name,
    ...(paths ? { paths } : {}),
  });
  const own = (name: string) => spec(name, ['packages/common/**', `services/${name}/**`]);
  const fp = (service: ServiceSpec) => buildFingerprint(service, [], root);

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'fp-mono-'));
    for (const dir of ['packages/common', 'services/web', 'services/api', '.git/objects']) {
      mkdirSync(join(root, dir), { recursive: true });
    }
    writeFileSync(join(root, 'packages/common/index.js'), 'export const x = 1;\n');
    for (const name of ['web', 'api']) {
      writeFileSync(join(root, 'services', name, 'Dockerfile'), `FROM node\nCOPY . .\nCMD ["${name}"]\n`);
      writeFileSync(join(root, 'services', name, 'app.js'), `console.log('${name}')\n`);
    }
    writeFileSync(join(root, '.git/objects/abc'), '1');
    writeFileSync(join(root, '.dockerignore'), '**/*.tmp\n');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  test("a change in the service's own files or in a shared path changes its fingerprint", async () => {
    const web = await fp(own('web'));
    writeFileSync(join(root, 'services/web/app.js'), "console.log('web 2')\n");
    const webChanged = await fp(own('web'));
    expect(webChanged).not.toBe(web);
    const api = await fp(own('api'));
    writeFileSync(join(root, 'packages/common/index.js'), 'export const x = 2;\n');
    expect(await fp(own('web'))).not.toBe(webChanged);
    expect(await fp(own('api'))).not.toBe(api);
  });

  test('the Dockerfile counts even when no glob lists it', async () => {
    const service = spec('web', ['packages/common/**']);
    const before = await fp(service);
    writeFileSync(join(root, 'services/web/Dockerfile'), 'FROM node:24\nCOPY . .\n');
    expect(await fp(service)).not.toBe(before);
  });

  test("a sibling's change leaves it alone with paths, and changes it without (the whole context)", async () => {
    const web = await fp(own('web'));
    const wholeContext = await fp(spec('web'));
    writeFileSync(join(root, 'services/api/app.js'), "console.log('api 2')\n");
    writeFileSync(join(root, 'README.md'), 'docs\n');
    expect(await fp(own('web'))).toBe(web);
    expect(await fp(spec('web'))).not.toBe(wholeContext);
  });

  test('.git and files .dockerignore keeps out of the context do not count; exclusions in paths apply', async () => {
    const service = spec('web', ['packages/common/**', 'services/web/**', '!services/web/**/*.md']);
    const before = await fp(service);
    const everything = await fp(spec('web', ['**']));
    writeFileSync(join(root, '.git/objects/def'), '2');
    // A submodule's .git file is history too.
    mkdirSync(join(root, 'services/web/vendor'), { recursive: true });
    writeFileSync(join(root, 'services/web/vendor/.git'), 'gitdir: ../../../.git/modules/vendor\n');
    expect(await fp(spec('web', ['**']))).toBe(everything);
    writeFileSync(join(root, 'services/web/scratch.tmp'), 'x');
    writeFileSync(join(root, 'services/web/NOTES.md'), 'x');
    expect(await fp(service)).toBe(before);
  });

  test('reports the globs that match no file, and counts the files', async () => {
    const result = await fingerprintInputs(spec('web', ['packages/common/**', 'services/wbe/**']), {
      platforms: [],
      workspace: root,
    });
    expect(result.unmatched).toEqual(['services/wbe/**']);
    expect(result.files).toBe(1);
  });

  test('a glob without wildcards names a file or a directory', async () => {
    writeFileSync(join(root, 'package.json'), '{"name": "mono"}\n');
    const service = spec('web', ['package.json', 'packages/common', 'services/web/**']);
    const result = await fingerprintInputs(service, { platforms: [], workspace: root });
    expect(result).toMatchObject({ files: 4, unmatched: [] });
    writeFileSync(join(root, 'package.json'), '{"name": "mono", "version": "2"}\n');
    expect(await fp(service)).not.toBe(result.hash);
  });

  test('a context holding .git that .dockerignore does not exclude changes with every commit, and says so', async () => {
    const rootContext = spec('web');
    const sent = await fingerprintInputs(rootContext, { platforms: [], workspace: root });
    expect(sent.sendsGit).toBe(true);
    writeFileSync(join(root, '.git/objects/def'), 'a new commit');
    expect(await fp(rootContext)).not.toBe(sent.hash);
    writeFileSync(join(root, '.dockerignore'), '**/*.tmp\n.git\n');
    const ignored = await fingerprintInputs(rootContext, { platforms: [], workspace: root });
    expect(ignored.sendsGit).toBe(false);
    writeFileSync(join(root, '.git/objects/0ff'), 'another commit');
    expect(await fp(rootContext)).toBe(ignored.hash);
  });

  test('needs the workspace to resolve paths', async () => {
    await expect(buildFingerprint(own('web'), [])).rejects.toThrow('paths need the repository root');
  });
});
