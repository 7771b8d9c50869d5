import { describe, expect, test } from '@jest/globals';
import {
  chooseDocker,
  dockerCandidates,
  parseBuildxDriver,
  type DockerProbe,
} from '../../../lib/images/docker-select.js';

function probe(clients: Record<string, { version?: string; buildx?: string }>): DockerProbe {
  return {
    clientVersion: async (b) => clients[b]?.version,
    buildxDriver: async (b) => clients[b]?.buildx,
  };
}

describe('chooseDocker', () => {
  test("GitHub's runners: buildx with a container driver exports a registry cache", async () => {
    const choice = await chooseDocker(
      ['/usr/bin/docker'],
      probe({ '/usr/bin/docker': { version: '28.0.4', buildx: 'docker-container' } }),
    );
    expect(choice).toEqual({
      binary: '/usr/bin/docker',
      version: '28.0.4',
      builder: { kind: 'buildx', cache: 'registry' },
    });
  });

  test('buildx on the docker driver cannot export a registry cache: inline', async () => {
    const choice = await chooseDocker(['/d'], probe({ '/d': { version: '27.1.0', buildx: 'docker' } }));
    expect(choice.builder).toEqual({ kind: 'buildx', cache: 'inline' });
  });

  test('this machine: 28.x without buildx first on PATH, Debian 20.10 after it: plain BuildKit build with 20.10', async () => {
    const choice = await chooseDocker(
      ['/usr/local/bin/docker', '/usr/bin/docker'],
      probe({
        '/usr/local/bin/docker': { version: '28.1.1' },
        '/usr/bin/docker': { version: '20.10.24+dfsg1' },
      }),
    );
    expect(choice).toEqual({
      binary: '/usr/bin/docker',
      version: '20.10.24+dfsg1',
      builder: { kind: 'plain', cache: 'inline' },
    });
  });

  test('buildx anywhere on PATH wins over an old client earlier on PATH', async () => {
    const choice = await chooseDocker(
      ['/a', '/b'],
      probe({ '/a': { version: '20.10.24' }, '/b': { version: '28.0.0', buildx: 'docker-container' } }),
    );
    expect(choice.binary).toBe('/b');
  });

  test('only a new client without buildx: fails saying what to install', async () => {
    await expect(
      chooseDocker(['/usr/local/bin/docker'], probe({ '/usr/local/bin/docker': { version: '28.1.1' } })),
    ).rejects.toThrow(
      /no docker client here can build with BuildKit: \/usr\/local\/bin\/docker \(28\.1\.1\) — docker 23\+ needs the buildx plugin/,
    );
  });

  test('no docker at all', async () => {
    await expect(chooseDocker([], probe({}))).rejects.toThrow(/no docker client found on PATH/);
  });
});

test('dockerCandidates: every executable docker on PATH, in order, once', () => {
  const exists = new Set(['/usr/local/bin/docker', '/usr/bin/docker']);
  expect(dockerCandidates('/usr/local/bin:/opt/x:/usr/bin:/usr/local/bin/', (f) => exists.has(f))).toEqual([
    '/usr/local/bin/docker',
    '/usr/bin/docker',
  ]);
});

test('parseBuildxDriver', () => {
  expect(parseBuildxDriver('Name:          builder\nDriver:        docker-container\nLast Activity: x')).toBe(
    'docker-container',
  );
  expect(parseBuildxDriver('nothing')).toBeUndefined();
});
