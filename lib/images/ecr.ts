/**
 * ECR: login token, repository checks, what an image tag points at, and the
 * scan gate. Takes an ECRClient so the action can import the SDK lazily and
 * tests can mock it.
 */
import {
  DescribeImageScanFindingsCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  GetAuthorizationTokenCommand,
  type ECRClient,
  type ImageScanFinding,
} from '@aws-sdk/client-ecr';
import { CancelledError, OperationError } from '../errors.js';
import { AdaptiveInterval, Heartbeat, formatDuration, systemClock, type Clock } from '../time.js';
import type { Log } from '../log.js';
import type { RepositoryTagRules } from './immutable-tags.js';
import type { RegistryImage } from './registry.js';

export interface EcrLogin {
  /** e.g. https://123456789012.dkr.ecr.us-east-1.amazonaws.com */
  proxyEndpoint: string;
  username: string;
  password: string;
  expiresAt?: Date;
}

export async function ecrLogin(ecr: ECRClient, registryId?: string): Promise<EcrLogin> {
  const out = await ecr.send(
    new GetAuthorizationTokenCommand(registryId ? { registryIds: [registryId] } : {}),
  );
  const data = out.authorizationData?.[0];
  if (!data?.authorizationToken || !data.proxyEndpoint) {
    throw new OperationError('ECR GetAuthorizationToken returned no authorization data');
  }
  // The token decodes to "user:password" (the user is AWS).
  const decoded = Buffer.from(data.authorizationToken, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 1)
    throw new OperationError('ECR GetAuthorizationToken returned a token that is not user:password');
  return {
    proxyEndpoint: data.proxyEndpoint,
    username: decoded.slice(0, colon),
    password: decoded.slice(colon + 1),
    expiresAt: data.expiresAt,
  };
}

/**
 * Fails, naming every missing repository, before anything is built; returns
 * each repository's tag rules (immutability and exclusion filters).
 */
export async function checkRepositories(
  ecr: ECRClient,
  repositories: string[],
  registryId?: string,
): Promise<Map<string, RepositoryTagRules>> {
  const missing: string[] = [];
  const rules = new Map<string, RepositoryTagRules>();
  // One call per repository: a missing one makes a batched call fail without saying which others exist.
  await Promise.all(
    repositories.map(async (repositoryName) => {
      try {
        const out = await ecr.send(
          new DescribeRepositoriesCommand({ repositoryNames: [repositoryName], registryId }),
        );
        const found = out.repositories?.[0];
        rules.set(repositoryName, {
          imageTagMutability: found?.imageTagMutability,
          imageTagMutabilityExclusionFilters: found?.imageTagMutabilityExclusionFilters,
        });
      } catch (err) {
        if ((err as Error).name === 'RepositoryNotFoundException') missing.push(repositoryName);
        else throw err;
      }
    }),
  );
  if (missing.length) {
    throw new OperationError(
      `ECR repositor${missing.length > 1 ? 'ies' : 'y'} ${missing.sort().join(', ')} not found in registry ${registryId ?? '(default)'}`,
      ['Create them first (the infra stack does), or set `repository:` on the service to an existing one.'],
    );
  }
  return rules;
}

/** What the repository holds for a tag, or undefined. */
export async function ecrLookup(
  ecr: ECRClient,
  repositoryName: string,
  tag: string,
  registryId?: string,
): Promise<RegistryImage | undefined> {
  try {
    const out = await ecr.send(
      new DescribeImagesCommand({ repositoryName, registryId, imageIds: [{ imageTag: tag }] }),
    );
    const detail = out.imageDetails?.[0];
    if (!detail?.imageDigest) return undefined;
    return {
      digest: detail.imageDigest,
      sizeBytes: detail.imageSizeInBytes,
      mediaType: detail.imageManifestMediaType,
    };
  } catch (err) {
    if ((err as Error).name === 'ImageNotFoundException') return undefined;
    throw err;
  }
}

export const SEVERITIES = ['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
export type Severity = (typeof SEVERITIES)[number];

export function severityRank(severity: string | undefined): number {
  // UNDEFINED (and anything unknown) ranks below INFORMATIONAL: it never fails the gate alone.
  return SEVERITIES.indexOf((severity ?? '') as Severity);
}

export interface ScanResult {
  repository: string;
  digest: string;
  /** Findings at or above the threshold. */
  blocking: ImageScanFinding[];
  counts: Record<string, number>;
}

export interface AwaitScanOptions {
  repository: string;
  digest: string;
  threshold: Severity;
  registryId?: string;
  timeoutMs: number;
  log: Log;
  signal?: AbortSignal;
  pollMs?: { min: number; max: number };
  /** What the wait goes by (default the system clock; unit tests pass a fake one). */
  clock?: Clock;
}

/** One read of an image's scan: its status and, once COMPLETE, every finding (all pages). */
interface ScanState {
  status?: string;
  description?: string;
  findings: ImageScanFinding[];
  counts: Record<string, number>;
}

/**
 * Waits for ECR's scan of one image to be COMPLETE and returns the findings at
 * or above `threshold`. A scan that cannot complete (FAILED, UNSUPPORTED_IMAGE,
 * never started) fails: a gate that passes without a scan is no gate.
 */
export async function awaitScan(ecr: ECRClient, opts: AwaitScanOptions): Promise<ScanResult> {
  const { repository, digest, log } = opts;
  const clock = opts.clock ?? systemClock;
  const interval = new AdaptiveInterval(opts.pollMs?.min ?? 2000, opts.pollMs?.max ?? 15000);
  const started = clock.now();
  const heartbeat = new Heartbeat(
    30_000,
    (quiet) => log.info(`${repository}: scan still running (${formatDuration(quiet)} without change)`),
    clock,
  );
  let lastStatus: string | undefined;
  for (;;) {
    if (opts.signal?.aborted) throw new CancelledError(String(opts.signal.reason ?? 'cancelled'));
    const { status, description, findings, counts } = await readScan(ecr, opts);
    if (status !== lastStatus) {
      log.info(
        `${repository}@${digest.slice(0, 19)}: scan ${status}${description ? ` (${description})` : ''}`,
      );
      heartbeat.changed();
    } else heartbeat.tick();
    if (status === 'COMPLETE' || status === 'ACTIVE') {
      const rank = severityRank(opts.threshold);
      return {
        repository,
        digest,
        blocking: findings.filter((f) => severityRank(f.severity) >= rank),
        counts,
      };
    }
    if (status && !['IN_PROGRESS', 'PENDING', 'NOT_STARTED'].includes(status)) {
      throw new OperationError(
        `${repository}: ECR scan of ${digest} ended ${status}${description ? `: ${description}` : ''}; the scan gate cannot pass without a completed scan`,
      );
    }
    if (clock.now() - started > opts.timeoutMs) {
      throw new OperationError(
        `${repository}: no completed ECR scan of ${digest} after ${formatDuration(clock.now() - started)} (last status ${status})`,
        ['Turn on scan-on-push for the repository (or registry scanning), or raise scan-timeout-seconds.'],
      );
    }
    const changed = status !== lastStatus;
    lastStatus = status;
    await clock.sleep(interval.next(changed), opts.signal);
  }
}

async function readScan(ecr: ECRClient, opts: AwaitScanOptions): Promise<ScanState> {
  const scan: ScanState = { findings: [], counts: {} };
  try {
    let nextToken: string | undefined;
    do {
      const out = await ecr.send(
        new DescribeImageScanFindingsCommand({
          repositoryName: opts.repository,
          registryId: opts.registryId,
          imageId: { imageDigest: opts.digest },
          nextToken,
        }),
      );
      scan.status = out.imageScanStatus?.status;
      scan.description = out.imageScanStatus?.description;
      scan.counts = (out.imageScanFindings?.findingSeverityCounts as Record<string, number>) ?? scan.counts;
      scan.findings.push(...(out.imageScanFindings?.findings ?? []));
      nextToken = scan.status === 'COMPLETE' ? out.nextToken : undefined;
    } while (nextToken);
  } catch (err) {
    // Scan-on-push starts a moment after the push; until then there is no scan.
    if ((err as Error).name !== 'ScanNotFoundException') throw err;
    scan.status = 'NOT_STARTED';
  }
  return scan;
}
