/**
 * Which docker client builds, and how. On GitHub's runners `docker buildx` is
 * there; on a plain Debian engine the 20.10 client builds with BuildKit
 * itself, while a 23+ client without the buildx plugin refuses to.
 */
import { OperationError } from '../errors.js';
import type { Builder } from './pipeline.js';

export interface DockerProbe {
  /** `docker buildx inspect`: undefined when buildx is missing, else the builder's driver. */
  buildxDriver(binary: string): Promise<string | undefined>;
  /** `docker version --format {{.Client.Version}}`: undefined when the binary does not run. */
  clientVersion(binary: string): Promise<string | undefined>;
}

export interface DockerChoice {
  binary: string;
  builder: Builder;
  version: string;
}

/** Every executable `docker` on PATH, first first. */
export function dockerCandidates(path: string, isExecutable: (file: string) => boolean): string[] {
  const seen = new Set<string>();
  for (const dir of path.split(':').filter(Boolean)) {
    const file = `${dir.replace(/\/+$/, '')}/docker`;
    if (!seen.has(file) && isExecutable(file)) seen.add(file);
  }
  return [...seen];
}

/** The client version from which `DOCKER_BUILDKIT=1 docker build` needs the buildx plugin. */
const BUILDX_REQUIRED_FROM = 23;

export async function chooseDocker(candidates: string[], probe: DockerProbe): Promise<DockerChoice> {
  // Every probe at once: each is a process start, and the first usable client decides.
  const probes = await Promise.all(
    candidates.map(async (binary) => {
      const [version, driver] = await Promise.all([probe.clientVersion(binary), probe.buildxDriver(binary)]);
      return { binary, version, driver };
    }),
  );
  const versions = new Map(probes.map((p) => [p.binary, p.version]));
  for (const { binary, version, driver } of probes) {
    if (version === undefined || driver === undefined) continue;
    // The docker driver cannot export a registry cache; it keeps an inline cache instead.
    return {
      binary,
      version,
      builder: { kind: 'buildx', cache: driver === 'docker' ? 'inline' : 'registry' },
    };
  }
  for (const binary of candidates) {
    const version = versions.get(binary);
    if (version !== undefined && Number(version.split('.')[0]) < BUILDX_REQUIRED_FROM) {
      return { binary, version, builder: { kind: 'plain', cache: 'inline' } };
    }
  }
  const found = candidates.map((c) => `${c} (${versions.get(c) ?? 'does not run'})`).join(', ');
  throw new OperationError(
    candidates.length === 0
      ? 'no docker client found on PATH'
      : `no docker client here can build with BuildKit: ${found} — docker ${BUILDX_REQUIRED_FROM}+ needs the buildx plugin`,
    [
      'Install the buildx plugin (docker/setup-buildx-action, or the docker-buildx-plugin package),',
      'or point the `docker` input at a client that builds with DOCKER_BUILDKIT=1 (e.g. /usr/bin/docker from Debian docker.io).',
    ],
  );
}

/** The driver named in `docker buildx inspect` output. */
export function parseBuildxDriver(inspect: string): string | undefined {
  return /^Driver:\s+(\S+)/m.exec(inspect)?.[1];
}
