/**
 * A rollout's ServiceDeployment (ListServiceDeployments once, then
 * DescribeServiceDeployments each poll), where the service has that API. Where
 * it does not (or the role may not call it), deployments[] alone decides.
 */
import {
  DescribeServiceDeploymentsCommand,
  ListServiceDeploymentsCommand,
  type ECSClient,
  type ServiceDeployment,
} from '@aws-sdk/client-ecs';
import { errorMessage } from '../../errors.js';
import type { Log } from '../../log.js';
import { chunks } from '../services.js';

/** DescribeServiceDeployments takes at most 20 ARNs. */
const DESCRIBE_SERVICE_DEPLOYMENTS_CHUNK = 20;

/** What is known of one rollout's ServiceDeployment; updated by the reads below. */
export interface ServiceDeploymentLookup {
  /** The service (name or ARN) and the createdAt of the deployment UpdateService created. */
  service: string;
  deploymentCreatedAt?: Date;
  arn?: string;
  /** false once ListServiceDeployments failed or never showed ours: use deployments[] only. */
  available: boolean;
  lookups: number;
}

/** Our ServiceDeployment: the first one created with or after our deployment. */
export async function findServiceDeployment(
  ecs: ECSClient,
  cluster: string,
  lookup: ServiceDeploymentLookup,
  signal?: AbortSignal,
): Promise<void> {
  try {
    const reply = await ecs.send(new ListServiceDeploymentsCommand({ cluster, service: lookup.service }), {
      abortSignal: signal,
    });
    const since = (lookup.deploymentCreatedAt?.getTime() ?? 0) - 1000;
    const candidates = (reply.serviceDeployments ?? [])
      .filter((d) => d.serviceDeploymentArn && (d.createdAt?.getTime() ?? 0) >= since)
      .sort((a, b) => (a.createdAt?.getTime() ?? 0) - (b.createdAt?.getTime() ?? 0));
    const match = lookup.deploymentCreatedAt ? candidates[0] : candidates.at(-1);
    if (match) lookup.arn = match.serviceDeploymentArn;
    // Not listed after a few polls: this service's deployments[] will have to do.
    else if (++lookup.lookups >= 3) lookup.available = false;
  } catch (err) {
    if (signal?.aborted) throw err;
    // Services without the ServiceDeployment API (or no permission for it): deployments[] decides.
    lookup.available = false;
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
      if (signal?.aborted) throw err;
      // No permission for it (or no such API here): deployments[] decides for these services.
      for (const l of lookups.filter((l) => chunk.includes(l.arn!))) {
        l.available = false;
        delete l.arn;
      }
      log.debug(`DescribeServiceDeployments failed, following deployments[] instead: ${errorMessage(err)}`);
    }
  }
}
