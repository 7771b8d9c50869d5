/**
 * Builds and pushes every service: skip what the registry already has for
 * the commit, build the rest (max-parallel at a time), push, and read back the
 * digest the registry holds. Docker runs through an injected Runner so this is
 * testable without an engine.
 */
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { CancelledError, errorMessage } from '../errors.js';
import type { Log } from '../log.js';
import { Heartbeat, formatDuration } from '../time.js';
import {
  buildxArgs,
  dockerBuildArgs,
  dockerPushArgs,
  registryTags,
  metadataDigest,
  pushedDigest,
  ref,
  type BuildPlan,
  type CacheMode,
} from './command.js';
import { parseBuildFailure, type BuildFailure } from './failure.js';
import { explainRefusal, immutableTagRefusal } from './immutable-tags.js';
import type { RegistryImage } from './registry.js';

export interface CommandResult {
  exitCode: number;
  /** stdout and stderr interleaved. */
  output: string;
}

export interface Runner {
  run(
    args: string[],
    opts?: {
      env?: Record<string, string>;
      stdin?: string;
      signal?: AbortSignal;
      /** Each line of output as it comes (progress); the whole output is in the result too. */
      onLine?: (line: string) => void;
    },
  ): Promise<CommandResult>;
}

/** The registry side: what a tag points at, and moving a tag. */
export interface ImageStore {
  lookup(repository: string, tag: string): Promise<RegistryImage | undefined>;
  retag(repository: string, digest: string, tag: string): Promise<void>;
  /** The commit an image was built from: its org.opencontainers.image.revision label (optional). */
  revision?(repository: string, digest: string): Promise<string | undefined>;
}

export interface Builder {
  kind: 'buildx' | 'plain';
  cache: CacheMode;
}

export interface ServiceResult {
  name: string;
  /** skipped: the SHA tag was there; reused: an image built from identical inputs was tagged instead of building. */
  status: 'built' | 'skipped' | 'reused' | 'failed';
  /** registry/repository */
  image: string;
  repository: string;
  /** Full references of every tag applied. */
  tags: string[];
  /** The digest the registry holds for the SHA tag (undefined when not pushed). */
  digest?: string;
  /**
   * skipped and reused: the commit the image was built from (its revision
   * label), when the registry could tell; built: this commit.
   */
  builtFrom?: string;
  sizeBytes?: number;
  durationMs: number;
  error?: string;
  failure?: BuildFailure;
}

export interface BuildAllOptions {
  plans: BuildPlan[];
  docker: Runner;
  builder: Builder;
  store: ImageStore;
  skipExisting: boolean;
  maxParallel: number;
  log: Log;
  /** Where buildx writes metadata files. */
  tempDir: string;
  signal?: AbortSignal;
}

async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

const tail = (text: string, n: number) => text.trimEnd().split('\n').slice(-n).join('\n');

/** One service's build: its plan, the shared options, and what every result of it carries. */
interface Job {
  plan: BuildPlan;
  opts: BuildAllOptions;
  base: Pick<ServiceResult, 'name' | 'image' | 'repository' | 'tags'>;
  /** The commit SHA tag: the one the build is known by. */
  shaTag: string;
  elapsed: () => number;
}

/** A step of one service's build failed: the service fails with this message, the others go on. */
class StepFailed extends Error {
  constructor(
    message: string,
    readonly failure?: BuildFailure,
  ) {
    super(message);
  }
}

/** skip existing -> reuse same inputs -> build -> push -> confirm the digest -> tag. */
async function buildOne(plan: BuildPlan, opts: BuildAllOptions): Promise<ServiceResult> {
  const started = Date.now();
  const job: Job = {
    plan,
    opts,
    base: {
      name: plan.service.name,
      image: plan.image,
      repository: plan.service.repository,
      tags: plan.tags.map((t) => ref(plan, t)),
    },
    shaTag: plan.tags[0]!,
    elapsed: () => Date.now() - started,
  };
  try {
    const existing = (await skipExisting(job)) ?? (await reuseSameInputs(job));
    if (existing) return existing;
    await build(job);
    if (!plan.push) return { ...job.base, status: 'built', durationMs: job.elapsed() };
    const held = await confirmDigest(job, await push(job));
    await applyTags(job, held.digest);
    opts.log.info(`${plan.service.name}: pushed ${job.base.tags.join(', ')} -> ${held.digest}`);
    return {
      ...job.base,
      status: 'built',
      digest: held.digest,
      sizeBytes: held.sizeBytes,
      durationMs: job.elapsed(),
    };
  } catch (err) {
    // An immutable tag the registry would not move (whichever step met it): which tag, what it is for, the fix.
    const refusal = immutableTagRefusal(
      [errorMessage(err), ...(err instanceof StepFailed ? (err.failure?.output ?? []) : [])].join('\n'),
    );
    if (!(err instanceof StepFailed) && !refusal) throw err;
    return {
      ...job.base,
      status: 'failed',
      durationMs: job.elapsed(),
      ...(err instanceof StepFailed && err.failure ? { failure: err.failure } : {}),
      error: refusal ? explainRefusal(plan, refusal) : errorMessage(err),
    };
  }
}

/**
 * Points `tag` at `digest` unless it already does: ECR refuses to put an
 * immutable tag again even on the same image, so a re-run must not try.
 */
async function moveTag(store: ImageStore, repository: string, digest: string, tag: string): Promise<void> {
  if ((await store.lookup(repository, tag))?.digest === digest) return;
  await store.retag(repository, digest, tag);
}

/** skip-existing: the registry already has the SHA tag; only the moving tags are applied. */
async function skipExisting({ plan, opts, base, shaTag, elapsed }: Job): Promise<ServiceResult | undefined> {
  const { service } = plan;
  if (!opts.skipExisting || !plan.push) return undefined;
  const existing = await opts.store.lookup(service.repository, shaTag);
  if (!existing) return undefined;
  for (const tag of plan.tags.slice(1)) await moveTag(opts.store, service.repository, existing.digest, tag);
  const builtFrom = await revisionOf(opts, service.repository, existing.digest);
  opts.log.info(
    `${service.name}: ${ref(plan, shaTag)} already in the registry (${existing.digest}` +
      (builtFrom && builtFrom !== shaTag ? `, built from ${builtFrom}` : '') +
      '); not rebuilt' +
      (plan.tags.length > 1 ? `, tagged ${plan.tags.slice(1).join(', ')}` : ''),
  );
  return {
    ...base,
    status: 'skipped',
    ...(builtFrom ? { builtFrom } : {}),
    digest: existing.digest,
    sizeBytes: existing.sizeBytes,
    durationMs: elapsed(),
  };
}

/** reuse-unchanged: an image built from identical inputs is tagged instead of building. */
async function reuseSameInputs({ plan, opts, base, elapsed }: Job): Promise<ServiceResult | undefined> {
  const { service } = plan;
  if (!plan.inputsTag || !plan.push) return undefined;
  const same = await opts.store.lookup(service.repository, plan.inputsTag);
  if (!same) return undefined;
  for (const tag of plan.tags) await moveTag(opts.store, service.repository, same.digest, tag);
  const builtFrom = await revisionOf(opts, service.repository, same.digest);
  opts.log.info(
    `${service.name}: build inputs unchanged (${plan.inputsTag}); tagged ${same.digest}` +
      (builtFrom ? ` (built from ${builtFrom})` : '') +
      ` as ${plan.tags.join(', ')} without building`,
  );
  return {
    ...base,
    status: 'reused',
    ...(builtFrom ? { builtFrom } : {}),
    digest: same.digest,
    sizeBytes: same.sizeBytes,
    durationMs: elapsed(),
  };
}

/** The image's revision label, or undefined when the store cannot read labels or the read fails (it only informs). */
async function revisionOf(
  opts: BuildAllOptions,
  repository: string,
  digest: string,
): Promise<string | undefined> {
  if (!opts.store.revision) return undefined;
  try {
    return await opts.store.revision(repository, digest);
  } catch (err) {
    opts.log.debug(`${repository}@${digest}: labels unreadable: ${errorMessage(err)}`);
    return undefined;
  }
}

/**
 * Whether a service's image is new for the commit `sha`: built now, or
 * already pushed for this commit and built from it (a re-run). A reused
 * image, or a re-run's image that an earlier commit built, is not; an image
 * whose origin the registry cannot tell counts as new (deploying it again is
 * safe, skipping it is not).
 */
export function imageChanged(result: ServiceResult, sha: string): boolean {
  if (result.status === 'built') return true;
  if (result.status === 'skipped') return result.builtFrom === undefined || result.builtFrom === sha;
  return false;
}

const metadataFileOf = (job: Job) => join(job.opts.tempDir, `${job.plan.service.name}-metadata.json`);

/** docker build (buildx pushes too), showing each Dockerfile step as it starts. */
async function build(job: Job): Promise<void> {
  const { plan, opts, elapsed } = job;
  const { service } = plan;
  const { log, docker, builder, signal } = opts;
  log.info(`${service.name}: building ${service.dockerfile} (context ${service.context})`);
  const args =
    builder.kind === 'buildx' ? buildxArgs(plan, builder.cache, metadataFileOf(job)) : dockerBuildArgs(plan);
  const progress = buildProgress(job);
  const result = await docker
    .run(args, { env: { DOCKER_BUILDKIT: '1' }, signal, onLine: progress.onLine })
    .finally(progress.stop);
  if (signal?.aborted) throw new CancelledError(String(signal.reason ?? 'cancelled'));
  if (result.exitCode !== 0) {
    const failure = parseBuildFailure(result.output);
    const step = failure.step ? ` at step ${failure.step}` : '';
    await log.group(`${service.name}: build FAILED${step}`, async () => log.info(tail(result.output, 60)));
    throw new StepFailed(`${service.name}: docker build failed${step}: ${failure.error}`, failure);
  }
  await log.group(`${service.name}: built in ${formatDuration(elapsed())}`, async () =>
    log.info(tail(result.output, 40)),
  );
}

/**
 * Progress while docker works: each Dockerfile step as BuildKit starts it
 * (#N [i/n] ...), and a heartbeat while a long step prints nothing new.
 */
function buildProgress({ plan, opts, elapsed }: Job): { onLine: (line: string) => void; stop: () => void } {
  const { log } = opts;
  const name = plan.service.name;
  const heartbeat = new Heartbeat(30_000, (quiet) =>
    log.info(
      `${name}: still building (${formatDuration(elapsed())}; no new step for ${formatDuration(quiet)})`,
    ),
  );
  const ticker = setInterval(() => heartbeat.tick(), 5_000);
  const steps = new Set<string>();
  return {
    onLine: (line) => {
      const step = /^#\d+ (\[[^\]]+\] .+)$/.exec(line.trim())?.[1];
      if (step && !steps.has(step)) {
        steps.add(step);
        heartbeat.changed();
        log.info(`${name}: ${step}`);
      }
    },
    stop: () => clearInterval(ticker),
  };
}

/** The digest the client pushed: from buildx's metadata file, or docker push's output. */
async function push(job: Job): Promise<string | undefined> {
  const { plan, opts, shaTag } = job;
  if (opts.builder.kind === 'buildx') {
    return metadataDigest(await readFile(metadataFileOf(job), 'utf8').catch(() => ''));
  }
  const pushArgs = dockerPushArgs(plan);
  const result = await opts.docker.run(pushArgs, { signal: opts.signal });
  if (result.exitCode !== 0) {
    throw new StepFailed(
      `${plan.service.name}: docker push ${pushArgs[1]} failed: ${tail(result.output, 5)}`,
    );
  }
  return pushedDigest(result.output, shaTag);
}

/** The digest deployments pin is the one the registry serves, not what the client believes it sent. */
async function confirmDigest(
  { plan, opts, shaTag }: Job,
  pushed: string | undefined,
): Promise<RegistryImage> {
  const { service } = plan;
  const held = await opts.store.lookup(service.repository, shaTag);
  if (!held) throw new StepFailed(`${service.name}: pushed, but the registry has no ${shaTag} tag`);
  if (pushed && pushed !== held.digest) {
    throw new StepFailed(
      `${service.name}: pushed ${pushed} but the registry holds ${held.digest} for ${shaTag} (another push raced this one?)`,
    );
  }
  return held;
}

/** The moving tags (plain docker pushed only the SHA tag) and the inputs tag, on the pushed digest. */
async function applyTags({ plan, opts }: Job, digest: string): Promise<void> {
  const { service } = plan;
  const { store, docker, signal } = opts;
  if (opts.builder.kind === 'plain') {
    for (const tag of registryTags(plan)) {
      try {
        await moveTag(store, service.repository, digest, tag);
      } catch (err) {
        // The registry refused the tag itself: docker push would be refused the same way.
        if (immutableTagRefusal(errorMessage(err))) throw new StepFailed(errorMessage(err));
        // No registry credentials of our own (an earlier docker login): docker push has them.
        const retry = await docker.run(['push', ref(plan, tag)], { signal });
        if (retry.exitCode !== 0) {
          throw new StepFailed(
            `${service.name}: cannot tag ${digest} as ${tag}: ${errorMessage(err)}; docker push: ${tail(retry.output, 3)}`,
          );
        }
      }
    }
  }
  if (plan.inputsTag) {
    try {
      await moveTag(store, service.repository, digest, plan.inputsTag);
    } catch (err) {
      // The inputs tag is content-addressed: in a repository that keeps it, an image
      // built from the same inputs got it first (two commits built at once). That
      // image serves every later reuse; this one is released under its own tags.
      if (!immutableTagRefusal(errorMessage(err))) throw err;
      opts.log.info(
        `${service.name}: ${plan.inputsTag} already names another image built from the same inputs (immutable tag); later commits reuse that one`,
      );
    }
  }
}

export async function buildAll(opts: BuildAllOptions): Promise<ServiceResult[]> {
  return pool(opts.plans, opts.maxParallel, async (plan) => {
    try {
      return await buildOne(plan, opts);
    } catch (err) {
      if (err instanceof CancelledError) throw err;
      return {
        name: plan.service.name,
        status: 'failed' as const,
        image: plan.image,
        repository: plan.service.repository,
        tags: plan.tags.map((t) => ref(plan, t)),
        durationMs: 0,
        error: `${plan.service.name}: ${errorMessage(err)}`,
      };
    }
  });
}

export function formatSize(bytes: number | undefined): string {
  if (bytes === undefined) return '—';
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
