import { describe, expect, test } from '@jest/globals';
import {
  buildxArgs,
  dockerBuildArgs,
  dockerPushArgs,
  registryTags,
  metadataDigest,
  ociLabels,
  pushedDigest,
  type BuildPlan,
} from '../../../lib/images/command.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';
const DIGEST = `sha256:${'ab'.repeat(32)}`;

function plan(overrides: Partial<BuildPlan> = {}): BuildPlan {
  return {
    service: {
      name: 'web',
      context: '/w/services/web',
      dockerfile: '/w/services/web/Dockerfile',
      buildArgs: { NODE_ENV: 'production' },
      repository: 'alva/web',
    },
    image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/alva/web',
    tags: [SHA, 'staging'],
    cacheTag: 'buildcache',
    labels: ociLabels({
      source: 'https://github.com/acme/alva',
      revision: SHA,
      created: new Date('2026-01-02T03:04:05Z'),
    }),
    platforms: [],
    push: true,
    ...overrides,
  };
}

/** The values following each occurrence of a flag. */
const values = (args: string[], flag: string) => args.flatMap((a, i) => (a === flag ? [args[i + 1]!] : []));
const image = '123456789012.dkr.ecr.us-east-1.amazonaws.com/alva/web';

describe('ociLabels', () => {
  test('source, revision and created (ISO 8601); no source when unknown', () => {
    expect(
      ociLabels({ source: 'https://github.com/acme/alva', revision: SHA, created: new Date(0) }),
    ).toEqual({
      'org.opencontainers.image.source': 'https://github.com/acme/alva',
      'org.opencontainers.image.revision': SHA,
      'org.opencontainers.image.created': '1970-01-01T00:00:00.000Z',
    });
    expect(ociLabels({ revision: SHA, created: new Date(0) })).not.toHaveProperty(
      'org.opencontainers.image.source',
    );
  });
});

describe('buildxArgs', () => {
  test('registry cache: cache-from and cache-to the buildcache ref with mode=max, image-manifest and OCI media types', () => {
    const args = buildxArgs(plan(), 'registry', '/tmp/meta.json');
    expect(args.slice(0, 2)).toEqual(['buildx', 'build']);
    expect(values(args, '--cache-from')).toEqual([`type=registry,ref=${image}:buildcache`]);
    expect(values(args, '--cache-to')).toEqual([
      `type=registry,ref=${image}:buildcache,mode=max,image-manifest=true,oci-mediatypes=true`,
    ]);
    expect(args).toContain('--push');
    expect(args).not.toContain('--load');
    expect(values(args, '--metadata-file')).toEqual(['/tmp/meta.json']);
    expect(args.at(-1)).toBe('/w/services/web');
  });

  test('SHA tag first, then moving tags; the cache tag is not an image tag with a registry cache', () => {
    const args = buildxArgs(plan(), 'registry', '/m');
    expect(values(args, '--tag')).toEqual([`${image}:${SHA}`, `${image}:staging`]);
  });

  test('OCI labels, build args, dockerfile, target, network', () => {
    const args = buildxArgs(
      plan({ network: 'host', service: { ...plan().service, target: 'runtime' } }),
      'registry',
      '/m',
    );
    expect(values(args, '--label')).toEqual([
      `org.opencontainers.image.revision=${SHA}`,
      'org.opencontainers.image.created=2026-01-02T03:04:05.000Z',
      'org.opencontainers.image.source=https://github.com/acme/alva',
    ]);
    expect(values(args, '--build-arg')).toEqual(['NODE_ENV=production']);
    expect(values(args, '--file')).toEqual(['/w/services/web/Dockerfile']);
    expect(values(args, '--target')).toEqual(['runtime']);
    expect(values(args, '--network')).toEqual(['host']);
    expect(values(args, '--progress')).toEqual(['plain']);
  });

  test('platforms are joined into one --platform', () => {
    const args = buildxArgs(plan({ platforms: ['linux/amd64', 'linux/arm64'] }), 'registry', '/m');
    expect(values(args, '--platform')).toEqual(['linux/amd64,linux/arm64']);
  });

  test('push false: no cache export, --load for one platform, neither push nor load for several', () => {
    const one = buildxArgs(plan({ push: false }), 'registry', '/m');
    expect(one).toContain('--load');
    expect(one).not.toContain('--push');
    expect(values(one, '--cache-to')).toEqual([]);
    expect(values(one, '--cache-from')).toHaveLength(1);
    const many = buildxArgs(
      plan({ push: false, platforms: ['linux/amd64', 'linux/arm64'] }),
      'registry',
      '/m',
    );
    expect(many).not.toContain('--load');
    expect(many).not.toContain('--push');
  });

  test('inline cache (docker driver): cache rides in the image, pushed under the cache tag too', () => {
    const args = buildxArgs(plan(), 'inline', '/m');
    expect(values(args, '--cache-to')).toEqual(['type=inline']);
    expect(values(args, '--cache-from')).toEqual([
      `type=registry,ref=${image}:buildcache`,
      `type=registry,ref=${image}:staging`,
    ]);
    expect(values(args, '--tag')).toEqual([`${image}:${SHA}`, `${image}:staging`, `${image}:buildcache`]);
  });
});

describe('dockerBuildArgs (plain docker with BuildKit)', () => {
  test('inline cache from the cache tag and the moving tags; tags, labels, context last', () => {
    const args = dockerBuildArgs(plan());
    expect(args[0]).toBe('build');
    expect(values(args, '--build-arg')).toEqual(['NODE_ENV=production', 'BUILDKIT_INLINE_CACHE=1']);
    expect(values(args, '--cache-from')).toEqual([`${image}:buildcache`, `${image}:staging`]);
    expect(values(args, '--tag')).toEqual([`${image}:${SHA}`, `${image}:staging`, `${image}:buildcache`]);
    expect(values(args, '--label')).toContain(`org.opencontainers.image.revision=${SHA}`);
    expect(args).not.toContain('--push');
    expect(args.at(-1)).toBe('/w/services/web');
  });

  test('one platform is passed through; more than one is refused', () => {
    expect(values(dockerBuildArgs(plan({ platforms: ['linux/arm64'] })), '--platform')).toEqual([
      'linux/arm64',
    ]);
    expect(() => dockerBuildArgs(plan({ platforms: ['linux/amd64', 'linux/arm64'] }))).toThrow(/buildx/);
  });

  test('without push the cache tag is not applied; without moving tags the cache comes from the cache tag only', () => {
    const args = dockerBuildArgs(plan({ push: false, tags: [SHA] }));
    expect(values(args, '--tag')).toEqual([`${image}:${SHA}`]);
    expect(values(args, '--cache-from')).toEqual([`${image}:buildcache`]);
  });

  test('push: the SHA tag by docker, the moving tags and the cache tag in the registry', () => {
    expect(dockerPushArgs(plan())).toEqual(['push', `${image}:${SHA}`]);
    // The other tags name the same manifest; they are set in the registry.
    expect(registryTags(plan())).toEqual(['staging', 'buildcache']);
  });
});

describe('no cache tag (repositories with immutable tags)', () => {
  const p = () => plan({ cacheTag: undefined });
  test('plain docker: cache only from the moving tags, no cache tag built or pushed', () => {
    const args = dockerBuildArgs(p());
    expect(values(args, '--cache-from')).toEqual([`${image}:staging`]);
    expect(values(args, '--tag')).toEqual([`${image}:${SHA}`, `${image}:staging`]);
    expect(registryTags(p())).toEqual(['staging']);
  });

  test('buildx: no registry cache export; inline mode without the cache tag', () => {
    const registry = buildxArgs(p(), 'registry', '/m');
    expect(values(registry, '--cache-from')).toEqual([]);
    expect(values(registry, '--cache-to')).toEqual([]);
    const inline = buildxArgs(p(), 'inline', '/m');
    expect(values(inline, '--cache-from')).toEqual([`type=registry,ref=${image}:staging`]);
    expect(values(inline, '--tag')).toEqual([`${image}:${SHA}`, `${image}:staging`]);
  });
});

describe('digests reported by docker', () => {
  test('docker push digest line of the right tag', () => {
    const output = [
      'The push refers to repository [127.0.0.1:5000/web]',
      'a6a8ec5e5f66: Pushed',
      `staging: digest: sha256:${'cd'.repeat(32)} size: 942`,
      `${SHA}: digest: ${DIGEST} size: 942`,
    ].join('\n');
    expect(pushedDigest(output, SHA)).toBe(DIGEST);
    expect(pushedDigest(output, 'other')).toBeUndefined();
  });

  test('buildx metadata file', () => {
    expect(metadataDigest(JSON.stringify({ 'containerimage.digest': DIGEST }))).toBe(DIGEST);
    expect(metadataDigest('{}')).toBeUndefined();
    expect(metadataDigest('not json')).toBeUndefined();
  });
});
