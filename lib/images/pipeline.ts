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

async function buildOne(plan: BuildPlan, opts: BuildAllOptions): Promise<ServiceResult> {
  const { service } = plan;
  const { log, docker, store, builder, signal } = opts;
  const started = Date.now();
  const shaTag = plan.tags[0]!;
  const base = {
    name: service.name,
    image: plan.image,
    repository: service.repository,
    tags: plan.tags.map((t) => ref(plan, t)),
  };
  const elapsed = () => Date.now() - started;

  if (opts.skipExisting && plan.push) {
    const existing = await store.lookup(service.repository, shaTag);
    if (existing) {
      for (const tag of plan.tags.slice(1)) await store.retag(service.repository, existing.digest, tag);
      log.info(
        `${service.name}: ${ref(plan, shaTag)} already in the registry (${existing.digest}); not rebuilt` +
          (plan.tags.length > 1 ? `, tagged ${plan.tags.slice(1).join(', ')}` : ''),
      );
      return {
        ...base,
        status: 'skipped',
        digest: existing.digest,
        sizeBytes: existing.sizeBytes,
        durationMs: elapsed(),
      };
    }
  }

  if (plan.inputsTag && plan.push) {
    const same = await store.lookup(service.repository, plan.inputsTag);
    if (same) {
      for (const tag of plan.tags) await store.retag(service.repository, same.digest, tag);
      log.info(
        `${service.name}: build inputs unchanged (${plan.inputsTag}); tagged ${same.digest} as ${plan.tags.join(', ')} without building`,
      );
      return {
        ...base,
        status: 'reused',
        digest: same.digest,
        sizeBytes: same.sizeBytes,
        durationMs: elapsed(),
      };
    }
  }

  log.info(`${service.name}: building ${service.dockerfile} (context ${service.context})`);
  const metadataFile = join(opts.tempDir, `${service.name}-metadata.json`);
  const args =
    builder.kind === 'buildx' ? buildxArgs(plan, builder.cache, metadataFile) : dockerBuildArgs(plan);
  // Progress while docker works: each Dockerfile step as BuildKit starts it
  // (#N [i/n] ...), and a heartbeat while a long step prints nothing new.
  const heartbeat = new Heartbeat(30_000, (quiet) =>
    log.info(
      `${service.name}: still building (${formatDuration(elapsed())}; no new step for ${formatDuration(quiet)})`,
    ),
  );
  const ticker = setInterval(() => heartbeat.tick(), 5_000);
  const steps = new Set<string>();
  const onLine = (line: string) => {
    const step = /^#\d+ (\[[^\]]+\] .+)$/.exec(line.trim())?.[1];
    if (step && !steps.has(step)) {
      steps.add(step);
      heartbeat.changed();
      log.info(`${service.name}: ${step}`);
    }
  };
  const build = await docker
    .run(args, { env: { DOCKER_BUILDKIT: '1' }, signal, onLine })
    .finally(() => clearInterval(ticker));
  if (signal?.aborted) throw new CancelledError(String(signal.reason ?? 'cancelled'));
  if (build.exitCode !== 0) {
    const failure = parseBuildFailure(build.output);
    const step = failure.step ? ` at step ${failure.step}` : '';
    await log.group(`${service.name}: build FAILED${step}`, async () => log.info(tail(build.output, 60)));
    return {
      ...base,
      status: 'failed',
      durationMs: elapsed(),
      failure,
      error: `${service.name}: docker build failed${step}: ${failure.error}`,
    };
  }
  await log.group(`${service.name}: built in ${formatDuration(elapsed())}`, async () =>
    log.info(tail(build.output, 40)),
  );
  if (!plan.push) return { ...base, status: 'built', durationMs: elapsed() };

  let pushed: string | undefined;
  if (builder.kind === 'buildx') {
    pushed = metadataDigest(await readFile(metadataFile, 'utf8').catch(() => ''));
  } else {
    const pushArgs = dockerPushArgs(plan);
    const push = await docker.run(pushArgs, { signal });
    if (push.exitCode !== 0) {
      return {
        ...base,
        status: 'failed',
        durationMs: elapsed(),
        error: `${service.name}: docker push ${pushArgs[1]} failed: ${tail(push.output, 5)}`,
      };
    }
    pushed = pushedDigest(push.output, shaTag);
  }
  // The digest deployments pin is the one the registry serves, not what the client believes it sent.
  const held = await store.lookup(service.repository, shaTag);
  if (!held) {
    return {
      ...base,
      status: 'failed',
      durationMs: elapsed(),
      error: `${service.name}: pushed, but the registry has no ${shaTag} tag`,
    };
  }
  if (pushed && pushed !== held.digest) {
    return {
      ...base,
      status: 'failed',
      durationMs: elapsed(),
      error: `${service.name}: pushed ${pushed} but the registry holds ${held.digest} for ${shaTag} (another push raced this one?)`,
    };
  }
  if (builder.kind === 'plain') {
    for (const tag of registryTags(plan)) {
      try {
        await store.retag(service.repository, held.digest, tag);
      } catch (err) {
        // No registry credentials of our own (an earlier docker login): docker push has them.
        const retry = await docker.run(['push', ref(plan, tag)], { signal });
        if (retry.exitCode !== 0) {
          return {
            ...base,
            status: 'failed',
            durationMs: elapsed(),
            error: `${service.name}: cannot tag ${held.digest} as ${tag}: ${errorMessage(err)}; docker push: ${tail(retry.output, 3)}`,
          };
        }
      }
    }
  }
  if (plan.inputsTag) await store.retag(service.repository, held.digest, plan.inputsTag);
  log.info(`${service.name}: pushed ${base.tags.join(', ')} -> ${held.digest}`);
  return { ...base, status: 'built', digest: held.digest, sizeBytes: held.sizeBytes, durationMs: elapsed() };
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
