/**
 * The Docker engine and OCI registry of this machine (scripts/docker-up.sh
 * starts both on loopback), as the demo, the build-push e2e tests and
 * bench/build.ts use them: the registry's address and login, the sample
 * services, and a simulator scenario whose ECR fronts that registry.
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import type { Scenario } from '../sim/scenario.js';
import { MANIFEST_ACCEPT } from '../lib/images/registry.js';
import { repositoryRoot } from './repo.js';

export const REGISTRY = process.env.REGISTRY_ADDR ?? '127.0.0.1:5000';
/** The htpasswd login docker-up.sh creates; the simulator's ECR tokens decode to it. */
export const REGISTRY_USER = process.env.REGISTRY_USER ?? 'AWS';
export const REGISTRY_PASSWORD = process.env.REGISTRY_PASSWORD ?? 'ecs-ship-local';
export const SAMPLE_SERVICES = ['web', 'api', 'auth', 'admin'];

const basic = (password = REGISTRY_PASSWORD) =>
  `Basic ${Buffer.from(`${REGISTRY_USER}:${password}`).toString('base64')}`;

/** The registry answers and takes the login. */
export async function registryUp(): Promise<boolean> {
  try {
    const res = await fetch(`http://${REGISTRY}/v2/`, {
      headers: { authorization: basic() },
      signal: AbortSignal.timeout(3000),
    });
    return res.status === 200;
  } catch {
    return false;
  }
}

/** The engine answers and has the samples' base image. */
export function engineUp(): boolean {
  try {
    execFileSync('/usr/bin/docker', ['image', 'inspect', 'ecs-ship/node:24'], {
      stdio: 'ignore',
      timeout: 20_000,
    });
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes sure the engine, the registry and the base image are there, starting
 * them when not. Throws (never skips) when Docker cannot run here: these tests
 * prove the real thing or fail.
 */
export async function ensureDocker(): Promise<void> {
  if ((await registryUp()) && engineUp()) return;
  try {
    execFileSync(resolve(repositoryRoot, 'scripts', 'docker-up.sh'), {
      cwd: repositoryRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 300_000,
    });
  } catch (err) {
    const e = err as { stdout?: Buffer; stderr?: Buffer; message: string };
    throw new Error(
      `scripts/docker-up.sh failed, so the build-push tests cannot run: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`,
    );
  }
  if (!(await registryUp())) throw new Error(`registry ${REGISTRY} not reachable after scripts/docker-up.sh`);
  if (!engineUp())
    throw new Error('Docker engine (or the ecs-ship/node:24 base image) missing after scripts/docker-up.sh');
}

/** A simulator scenario with only ECR: the given repositories on the real registry. */
export function ecrScenario(
  repositories: string[],
  extra: {
    password?: string;
    registry?: string;
    scanFindings?: NonNullable<Scenario['ecr']>['scanFindings'];
  } = {},
): Scenario {
  return {
    name: 'build-push',
    clusters: [],
    taskDefinitions: [],
    ecr: {
      registry: extra.registry ?? REGISTRY,
      username: REGISTRY_USER,
      password: extra.password ?? REGISTRY_PASSWORD,
      repositories,
      scanFindings: extra.scanFindings,
    },
  };
}

/** The `services` input for the sample services, each in `<prefix>/<name>`. */
export function sampleServices(prefix: string, names = SAMPLE_SERVICES) {
  return names.map((name) => ({ name, context: `examples/${name}`, repository: `${prefix}/${name}` }));
}

/** The digest the registry serves for repository:reference (HEAD, as a pull would see it). */
export async function registryDigest(repository: string, reference: string): Promise<string | undefined> {
  const res = await fetch(`http://${REGISTRY}/v2/${repository}/manifests/${reference}`, {
    method: 'HEAD',
    headers: { authorization: basic(), accept: MANIFEST_ACCEPT },
  });
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`registry HEAD ${repository}:${reference}: ${res.status}`);
  return res.headers.get('docker-content-digest') ?? undefined;
}

/** The image config's labels, read from the registry. */
export async function registryLabels(repository: string, reference: string): Promise<Record<string, string>> {
  const headers = { authorization: basic(), accept: MANIFEST_ACCEPT };
  const manifest = (await (
    await fetch(`http://${REGISTRY}/v2/${repository}/manifests/${reference}`, { headers })
  ).json()) as { config: { digest: string } };
  const config = (await (
    await fetch(`http://${REGISTRY}/v2/${repository}/blobs/${manifest.config.digest}`, { headers })
  ).json()) as { config?: { Labels?: Record<string, string> } };
  return config.config?.Labels ?? {};
}
