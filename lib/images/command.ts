/**
 * Docker command lines, as pure functions: what the action runs is decided
 * here and unit-tested; the action layer only executes the argv.
 */
import type { ServiceSpec } from './services.js';

/** One image to build: a service, where it goes, and how it is tagged. */
export interface BuildPlan {
  service: ServiceSpec;
  /** registry host + repository, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/web. */
  image: string;
  /** The commit SHA tag (immutable) first, then the moving tags. */
  tags: string[];
  /**
   * Tag of the build cache in the same repository (registry cache or
   * inline-cache image); undefined keeps no cache tag (immutable repositories).
   */
  cacheTag?: string;
  labels: Record<string, string>;
  platforms: string[];
  push: boolean;
  /**
   * reuse-unchanged: the tag marking the image built from these exact inputs
   * (lib/images/fingerprint.ts); an image under it is reused instead of rebuilt.
   */
  inputsTag?: string;
  /** `docker build --network` (e.g. host, needed by RUN steps on an engine without a bridge). */
  network?: string;
}

/**
 * How the cache is kept:
 * - `registry`: buildx with a container driver exports a separate cache manifest
 *   (mode=max, OCI media types with an image manifest, which ECR accepts);
 * - `inline`: plain `docker build` with BuildKit, or buildx on the `docker`
 *   driver (which cannot export a registry cache): the cache metadata rides in
 *   the image, which is also pushed as the cache tag.
 */
export type CacheMode = 'registry' | 'inline';

/** The label naming the commit an image was built from (how a reused image is told apart). */
export const REVISION_LABEL = 'org.opencontainers.image.revision';

export function ociLabels(input: {
  source?: string;
  revision: string;
  created: Date;
}): Record<string, string> {
  const labels: Record<string, string> = {
    [REVISION_LABEL]: input.revision,
    'org.opencontainers.image.created': input.created.toISOString(),
  };
  if (input.source) labels['org.opencontainers.image.source'] = input.source;
  return labels;
}

export const ref = (plan: BuildPlan, tag: string) => `${plan.image}:${tag}`;

/** Images whose layers may serve as cache: the cache tag, then the moving tags (the last build for them). */
function inlineCacheSources(plan: BuildPlan): string[] {
  return [...(plan.cacheTag ? [plan.cacheTag] : []), ...plan.tags.slice(1)].map((tag) => ref(plan, tag));
}

function commonArgs(plan: BuildPlan): string[] {
  const { service } = plan;
  const args = ['--file', service.dockerfile, '--progress', 'plain'];
  if (service.target) args.push('--target', service.target);
  if (plan.network) args.push('--network', plan.network);
  for (const [key, value] of Object.entries(service.buildArgs)) args.push('--build-arg', `${key}=${value}`);
  for (const [key, value] of Object.entries(plan.labels)) args.push('--label', `${key}=${value}`);
  for (const tag of plan.tags) args.push('--tag', ref(plan, tag));
  return args;
}

/** `docker buildx build ...`: pushes itself when plan.push, and writes the pushed digest to metadataFile. */
export function buildxArgs(plan: BuildPlan, cache: CacheMode, metadataFile: string): string[] {
  const args = ['buildx', 'build', ...commonArgs(plan)];
  if (plan.platforms.length) args.push('--platform', plan.platforms.join(','));
  if (cache === 'registry' && plan.cacheTag) {
    const cacheRef = `type=registry,ref=${ref(plan, plan.cacheTag)}`;
    args.push('--cache-from', cacheRef);
    if (plan.push) args.push('--cache-to', `${cacheRef},mode=max,image-manifest=true,oci-mediatypes=true`);
  } else if (cache === 'inline') {
    for (const source of inlineCacheSources(plan)) args.push('--cache-from', `type=registry,ref=${source}`);
    args.push('--cache-to', 'type=inline');
    if (plan.push && plan.cacheTag) args.push('--tag', ref(plan, plan.cacheTag));
  }
  if (plan.push) args.push('--push');
  // A multi-platform image cannot be loaded into the classic image store; it stays in the build cache.
  else if (plan.platforms.length <= 1) args.push('--load');
  args.push('--metadata-file', metadataFile, plan.service.context);
  return args;
}

/** Plain `docker build` with BuildKit (run with DOCKER_BUILDKIT=1) and an inline cache; push is separate. */
export function dockerBuildArgs(plan: BuildPlan): string[] {
  if (plan.platforms.length > 1) {
    throw new Error('plain docker build makes one platform; multi-platform builds need buildx');
  }
  const args = ['build', ...commonArgs(plan)];
  if (plan.platforms.length === 1) args.push('--platform', plan.platforms[0]!);
  args.push('--build-arg', 'BUILDKIT_INLINE_CACHE=1');
  for (const source of inlineCacheSources(plan)) args.push('--cache-from', source);
  if (plan.push && plan.cacheTag) args.push('--tag', ref(plan, plan.cacheTag));
  args.push(plan.service.context);
  return args;
}

/** The `docker push` after a plain build: the SHA tag only (see registryTags). */
export function dockerPushArgs(plan: BuildPlan): string[] {
  return ['push', ref(plan, plan.tags[0]!)];
}

/**
 * After a plain build and push, the moving tags and the cache tag name the very
 * manifest just pushed: they are set in the registry (one manifest PUT each)
 * rather than by more `docker push` runs.
 */
export function registryTags(plan: BuildPlan): string[] {
  return [...plan.tags.slice(1), ...(plan.cacheTag ? [plan.cacheTag] : [])];
}

/** The digest line of `docker push`: "<tag>: digest: sha256:... size: N". */
export function pushedDigest(output: string, tag: string): string | undefined {
  const escaped = tag.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escaped}: digest: (sha256:[0-9a-f]{64}) size: \\d+`, 'm').exec(output)?.[1];
}

/** buildx's --metadata-file: the pushed image (or index) digest. */
export function metadataDigest(metadata: string): string | undefined {
  try {
    const digest = (JSON.parse(metadata) as Record<string, unknown>)['containerimage.digest'];
    return typeof digest === 'string' && /^sha256:[0-9a-f]{64}$/.test(digest) ? digest : undefined;
  } catch {
    return undefined;
  }
}
