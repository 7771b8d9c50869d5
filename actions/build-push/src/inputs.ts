/** Every input of build-push, parsed and validated in one place. */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { InputError } from '../../../lib/errors.js';
import { parseServices, type ServiceSpec } from '../../../lib/images/services.js';
import { SEVERITIES, type Severity } from '../../../lib/images/ecr.js';
import { bool, integer, list, optional } from '../../_common/inputs.js';

export type RegistryInput =
  | { kind: 'ecr'; registryId?: string; region?: string }
  | { kind: 'generic'; registry: string; username?: string; password?: string };

export interface Inputs {
  services: ServiceSpec[];
  registry: RegistryInput;
  /** The immutable commit tag. */
  sha: string;
  /** Moving tags applied besides the SHA (e.g. staging). */
  movingTags: string[];
  skipExisting: boolean;
  /** Tag an image built from identical inputs with the new SHA instead of rebuilding (default true). */
  reuseUnchanged: boolean;
  maxParallel: number;
  push: boolean;
  platforms: string[];
  failOnSeverity?: Severity;
  scanTimeoutMs: number;
  /** Explicit docker client, else chosen from PATH. */
  docker?: string;
  network?: string;
  /** undefined: no cache tag (`cache-tag: none`). */
  cacheTag?: string;
  source?: string;
  workspace: string;
}

/**
 * A build context or Dockerfile must be inside the workspace (the checkout):
 * a context of `../../..` would send the runner's whole filesystem to the
 * builder, secrets included. Symbolic links are resolved (realpath), so a link
 * in the repository that points outside is refused too.
 */
function insideWorkspace(workspace: string, path: string, what: string): void {
  const root = realpathSync(workspace);
  const real = realpathSync(path);
  const fromRoot = relative(root, real);
  const outside = fromRoot === '..' || fromRoot.startsWith(`..${sep}`) || isAbsolute(fromRoot);
  if (!outside) return;
  throw new InputError(
    'services',
    `${what} is ${real}, outside the workspace (${root})`,
    'give a path inside the repository, relative to its root',
  );
}

// Docker's tag grammar.
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export function getInputs(env: NodeJS.ProcessEnv = process.env): Inputs {
  const workspace = env.GITHUB_WORKSPACE ?? process.cwd();
  const services = parseServices(optional('services') ?? '');
  for (const service of services) {
    const context = resolve(workspace, service.context);
    if (!existsSync(context) || !statSync(context).isDirectory()) {
      throw new InputError(
        'services',
        `context "${service.context}" of ${service.name} is not a directory`,
        'give a path relative to the repository root',
      );
    }
    insideWorkspace(workspace, context, `context "${service.context}" of ${service.name}`);
    const dockerfile = resolve(workspace, service.dockerfile);
    if (!existsSync(dockerfile)) {
      throw new InputError(
        'services',
        `dockerfile "${service.dockerfile}" of ${service.name} does not exist`,
        'set `dockerfile:` for the service',
      );
    }
    insideWorkspace(workspace, dockerfile, `dockerfile "${service.dockerfile}" of ${service.name}`);
    // Docker resolves paths from the working directory; make them independent of it.
    service.context = context;
    service.dockerfile = dockerfile;
  }

  const registryName = optional('registry');
  const username = optional('username');
  const password = optional('password');
  let registry: RegistryInput;
  if (registryName) {
    if ((username === undefined) !== (password === undefined)) {
      throw new InputError(
        username ? 'password' : 'username',
        'is required when the other is set',
        'set both username and password, or neither (already logged in)',
      );
    }
    registry = { kind: 'generic', registry: registryName, username, password };
  } else {
    if (username || password) {
      throw new InputError(
        'registry',
        'is empty but username/password are set',
        'set `registry:` (e.g. ghcr.io), or drop username/password to use ECR',
      );
    }
    const registryId = optional('registry-id');
    if (registryId && !/^\d{12}$/.test(registryId)) {
      throw new InputError(
        'registry-id',
        `"${registryId}" is not a 12-digit AWS account ID`,
        "leave it empty for the credentials' account",
      );
    }
    registry = { kind: 'ecr', registryId, region: optional('aws-region') };
  }

  const sha = optional('sha') ?? env.GITHUB_SHA;
  if (!sha)
    throw new InputError('sha', 'is empty and GITHUB_SHA is not set', 'set `sha:` to the commit being built');
  if (!TAG.test(sha)) throw new InputError('sha', `"${sha}" is not a valid image tag`, 'use the commit SHA');
  const movingTags = list('tags').filter((t) => t !== sha);
  for (const tag of movingTags) {
    if (!TAG.test(tag))
      throw new InputError(
        'tags',
        `"${tag}" is not a valid image tag`,
        'use letters, digits, "_", "." and "-" (max 128)',
      );
  }
  const cacheTagInput = optional('cache-tag') ?? 'buildcache';
  const cacheTag = cacheTagInput.toLowerCase() === 'none' ? undefined : cacheTagInput;
  if (cacheTag !== undefined && (!TAG.test(cacheTag) || cacheTag === sha || movingTags.includes(cacheTag))) {
    throw new InputError(
      'cache-tag',
      `"${cacheTag}" is not a valid tag distinct from the image tags`,
      'leave the default buildcache, or none for no cache tag',
    );
  }

  const platforms = list('platforms');
  for (const platform of platforms) {
    if (!/^[a-z0-9]+\/[a-z0-9]+(\/[a-z0-9]+)?$/.test(platform)) {
      throw new InputError(
        'platforms',
        `"${platform}" is not os/arch[/variant]`,
        'e.g. linux/amd64,linux/arm64',
      );
    }
  }

  const severityRaw = optional('fail-on-severity')?.toUpperCase();
  let failOnSeverity: Severity | undefined;
  if (severityRaw && severityRaw !== 'NONE') {
    if (!(SEVERITIES as readonly string[]).includes(severityRaw)) {
      throw new InputError(
        'fail-on-severity',
        `"${severityRaw}" is not a severity`,
        `use one of ${SEVERITIES.join(', ')} (or leave empty)`,
      );
    }
    failOnSeverity = severityRaw as Severity;
  }
  const push = bool('push', true);
  if (failOnSeverity && registry.kind !== 'ecr') {
    throw new InputError(
      'fail-on-severity',
      'needs ECR image scanning, but `registry:` points elsewhere',
      'leave fail-on-severity empty for other registries',
    );
  }
  if (failOnSeverity && !push) {
    throw new InputError(
      'fail-on-severity',
      'needs pushed images to scan, but push is false',
      'set push: true or drop fail-on-severity',
    );
  }

  const docker = optional('docker');
  if (docker && isAbsolute(docker) && !existsSync(docker)) {
    throw new InputError(
      'docker',
      `"${docker}" does not exist`,
      'leave it empty to pick the docker client on PATH',
    );
  }

  return {
    services,
    registry,
    sha,
    movingTags,
    skipExisting: bool('skip-existing', true),
    reuseUnchanged: bool('reuse-unchanged', true),
    maxParallel: integer('max-parallel', 4, 1, 32),
    push,
    platforms,
    failOnSeverity,
    scanTimeoutMs: integer('scan-timeout-seconds', 600, 1, 3600) * 1000,
    docker,
    network: optional('network'),
    cacheTag,
    source:
      optional('source') ??
      (env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY
        ? `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}`
        : undefined),
    workspace,
  };
}
