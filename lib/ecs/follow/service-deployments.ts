/**
 * A rollout's ServiceDeployment (ListServiceDeployments and
 * DescribeServiceRevisions once, then DescribeServiceDeployments each poll),
 * where the service has that API. Where
 * it does not (or the role may not call it), deployments[] alone decides.
 */
import {
  DescribeServiceDeploymentsCommand,
  DescribeServiceRevisionsCommand,
  ListServiceDeploymentsCommand,
  type ECSClient,
  type ServiceDeployment,
  type ServiceDeploymentBrief,
} from '@aws-sdk/client-ecs';
import { errorMessage } from '../../errors.js';
import type { Log } from '../../log.js';
import { chunks } from '../services.js';
import { isThrottling } from './poll-budget.js';
import { sameRevision } from '../target-health.js';

/** DescribeServiceDeployments takes at most 20 ARNs. */
const DESCRIBE_SERVICE_DEPLOYMENTS_CHUNK = 20;

/** What is known of one rollout's ServiceDeployment; updated by the reads below. */
export interface ServiceDeploymentLookup {
  /** The service (name or ARN) and the createdAt of the deployment UpdateService created (or this run adopted). */
  service: string;
  /** The task definition that deployment runs: its service revision must run it too. */
  taskDefinition?: string;
  deploymentCreatedAt?: Date;
  arn?: string;
  /** false once ListServiceDeployments failed or never showed ours: use deployments[] only. */
  available: boolean;
  lookups: number;
}

/**
 * Our ServiceDeployment: the one created at the very instant (to the
 * millisecond) as the deployment UpdateService returned. Never a time window:
 * another deployment started in the same second (a force-new-deployment, a
 * console click) is not ours. No exact match, or more than one: this service's
 * deployments[] decides (by the deployment id, which is exact).
 */
export async function findServiceDeployment(
  ecs: ECSClient,
  cluster: string,
  lookup: ServiceDeploymentLookup,
  signal?: AbortSignal,
): Promise<void> {
  const createdAt = lookup.deploymentCreatedAt?.getTime();
  if (createdAt === undefined) {
    lookup.available = false;
    return;
  }
  try {
    const reply = await ecs.send(new ListServiceDeploymentsCommand({ cluster, service: lookup.service }), {
      abortSignal: signal,
    });
    const matches = (reply.serviceDeployments ?? []).filter(
      (d) => d.serviceDeploymentArn && d.createdAt?.getTime() === createdAt,
    );
    if (matches.length === 1 && (await runsOurRevision(ecs, lookup, matches[0]!, signal)))
      lookup.arn = matches[0]!.serviceDeploymentArn;
    // Ambiguous, another revision, or not listed after a few polls: this service's deployments[] will have to do.
    else if (matches.length > 0 || ++lookup.lookups >= 3) lookup.available = false;
  } catch (err) {
    // Throttled: not an answer about the API; the next poll asks again.
    if (signal?.aborted || isThrottling(err)) throw err;
    // Services without the ServiceDeployment API (or no permission for it): deployments[] decides.
    lookup.available = false;
  }
}

/**
 * The service deployment's target revision runs our task definition
 * (DescribeServiceRevisions, once). Unreadable (no permission): the exact
 * createdAt match stands alone.
 */
async function runsOurRevision(
  ecs: ECSClient,
  lookup: ServiceDeploymentLookup,
  brief: ServiceDeploymentBrief,
  signal?: AbortSignal,
): Promise<boolean> {
  if (!lookup.taskDefinition || !brief.targetServiceRevisionArn) return true;
  try {
    const reply = await ecs.send(
      new DescribeServiceRevisionsCommand({ serviceRevisionArns: [brief.targetServiceRevisionArn] }),
      { abortSignal: signal },
    );
    const revision = reply?.serviceRevisions?.[0]?.taskDefinition;
    return revision === undefined || sameRevision(revision, lookup.taskDefinition);
  } catch (err) {
    // Throttled: not an answer about the API; the next poll asks again.
    if (signal?.aborted || isThrottling(err)) throw err;
    return true;
  }
}

/** DescribeServiceDeployments for the lookups that have an ARN, into `found` (by ARN). */
export async function readServiceDeployments(
  ecs: ECSClient,
  lookups: readonly ServiceDeploymentLookup[],
  found: Map<string, ServiceDeployment>,
  log: Log,
  signal?: AbortSignal,
): Promise<void> {
  const arns = lookups.map((l) => l.arn).filter((a): a is string => Boolean(a));
  for (const chunk of chunks(arns, DESCRIBE_SERVICE_DEPLOYMENTS_CHUNK)) {
    try {
      const reply = await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: chunk }), {
        abortSignal: signal,
      });
      for (const d of reply.serviceDeployments ?? []) found.set(d.serviceDeploymentArn!, d);
    } catch (err) {
      // Throttled: not an answer about the API; the next poll asks again.
      if (signal?.aborted || isThrottling(err)) throw err;
      // No permission for it (or no such API here): deployments[] decides for these services.
      for (const l of lookups.filter((l) => chunk.includes(l.arn!))) {
        l.available = false;
        delete l.arn;
      }
      log.debug(`DescribeServiceDeployments failed, following deployments[] instead: ${errorMessage(err)}`);
    }
  }
}
