/**
 * Where each service stands, read from AWS (one DescribeServices per 10
 * services), never from what the run remembers: the last word of every exit
 * path, success, failure, timeout, cancellation, outage or crash.
 */
import type { Deployment, ECSClient, Service } from '@aws-sdk/client-ecs';
import type { DeployedService } from '../../contracts/deployments.js';
import { errorMessage } from '../../errors.js';
import { describeServices } from '../services.js';
import { shortTaskDefinition } from '../taskdef.js';
import { primaryDeployment } from '../tasks.js';

export interface ServiceStanding {
  /** The revision the PRIMARY deployment runs; absent when the service is gone. */
  taskDefinition?: string;
  /** One line for humans: "alva-web:5 IN_PROGRESS, 1/2 running; 1 older deployment draining". */
  summary: string;
}

/** Read: every service asked for, by name; not read: why AWS could not be read. */
export type Standing =
  { read: true; services: Map<string, ServiceStanding> } | { read: false; error: string };

export async function readStanding(
  ecs: ECSClient,
  cluster: string,
  names: readonly string[],
  signal?: AbortSignal,
): Promise<Standing> {
  try {
    const { services, missing } = await describeServices(ecs, cluster, names, signal);
    const standings = new Map<string, ServiceStanding>();
    for (const [name, service] of services) standings.set(name, standingOf(service));
    for (const m of missing) standings.set(m.name, { summary: `no longer exists (${m.reason})` });
    return { read: true, services: standings };
  } catch (err) {
    return { read: false, error: errorMessage(err) };
  }
}

function standingOf(service: Service): ServiceStanding {
  const primary: Deployment | undefined = primaryDeployment(service.deployments);
  const taskDefinition = primary?.taskDefinition ?? service.taskDefinition;
  const others = (service.deployments ?? []).filter((d) => d !== primary).length;
  const state = primary
    ? `${primary.rolloutState ?? 'unknown'}, ${primary.runningCount ?? 0}/${primary.desiredCount ?? 0} running`
    : 'no PRIMARY deployment';
  return {
    ...(taskDefinition ? { taskDefinition } : {}),
    summary: `${shortTaskDefinition(taskDefinition)} ${state}${others ? `; ${others} older deployment(s) still draining` : ''}`,
  };
}

/**
 * How long the last read of AWS may take: after a cancellation, what is left of
 * the rollback's grace plus 1.5 s (at least 0.5 s), so the output is written before
 * GitHub's SIGTERM; otherwise 30 s (an outage is reported, not waited out).
 */
export function standingBudgetMs(cancelledAt: number | undefined, graceMs: number, now: number): number {
  if (cancelledAt === undefined) return 30_000;
  return Math.max(500, cancelledAt + graceMs + 1_500 - now);
}

/** Each entry's finalTaskDefinition from what AWS says now (left as is when AWS could not be read). */
export function applyStanding(services: DeployedService[], standing: Standing): void {
  if (!standing.read) return;
  for (const s of services) {
    const td = standing.services.get(s.service)?.taskDefinition;
    if (td) s.finalTaskDefinition = td;
  }
}
