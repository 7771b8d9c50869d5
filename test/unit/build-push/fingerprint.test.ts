import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFingerprint, dockerignoreMatcher, fingerprintTag } from '../../../lib/images/fingerprint.js';
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

  test('exceptions (!) make it exclude nothing: hashing too much only costs a rebuild', () => {
    expect(dockerignoreMatcher('*.md\n!README.md')('CHANGES.md')).toBe(false);
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
