/**
 * The poll budget of the follow loop: how many AWS calls one poll may make,
 * and which services it reads in detail. Pure: no AWS call, no clock.
 *
 * Every poll reads every pending service with DescribeServices (10 a call). A
 * service is read further only when that read says it matters:
 * - its ServiceDeployment (ListServiceDeployments once, DescribeServiceDeployments
 *   20 a call) only when deployments[] already points at a failure, to name it;
 * - its tasks (ListTasks per service, DescribeTasks 100 a call, shared by the
 *   poll) only when its new deployment's counts changed since they were listed;
 * - its target groups (DescribeTargetHealth, one group a call, shared by the
 *   services behind it) only while it has new tasks not yet judged healthy, and
 *   then only when the service changed since the last read (ECS reacting to a
 *   healthy target: it stops an old task, drains it, writes an event) or the
 *   last read is older than the fallback period.
 * Those detail reads share DETAIL_CALLS_PER_POLL; what does not fit waits for
 * the next poll, longest-waiting first. So one poll makes at most
 * ceil(n / 10) + DETAIL_CALLS_PER_POLL calls for n services.
 */
import type { Service } from '@aws-sdk/client-ecs';
import { DESCRIBE_SERVICES_CHUNK } from '../services.js';
import { DESCRIBE_TASKS_CHUNK } from '../tasks.js';

/** The calls one poll may spend on detail reads, whatever the number of services. */
export const DETAIL_CALLS_PER_POLL = 7;
/** DescribeServiceDeployments and DescribeServiceRevisions take at most 20 ARNs. */
export const SERVICE_DEPLOYMENTS_CHUNK = 20;

/** The most calls one poll of `services` pending services makes. */
export function pollCallBudget(services: number): number {
  return Math.ceil(services / DESCRIBE_SERVICES_CHUNK) + DETAIL_CALLS_PER_POLL;
}

/**
 * What DescribeServices says of a service that a later read could depend on:
 * its deployments and their counts and rollout states, its own counts, and its
 * newest event. Equal fingerprints: nothing happened worth another detail read.
 */
export function serviceFingerprint(service: Service): string {
  const deployments = (service.deployments ?? []).map((d) =>
    [
      d.id,
      d.status,
      d.rolloutState,
      d.taskDefinition,
      d.desiredCount,
      d.runningCount,
      d.pendingCount,
      d.failedTasks,
    ].join(','),
  );
  return [
    service.status,
    service.desiredCount,
    service.runningCount,
    service.pendingCount,
    service.events?.[0]?.id ?? '',
    ...deployments,
  ].join('|');
}

/** One service's detail reads this poll asks for. */
export interface DetailRequest<K> {
  key: K;
  /** Its ServiceDeployment must be read; `lookup`: its ARN must be found first (ListServiceDeployments + DescribeServiceRevisions). */
  serviceDeployment?: { lookup: boolean };
  /** Its RUNNING tasks must be listed (ListTasks); `expectedTasks` sizes the DescribeTasks share. */
  tasks?: { expectedTasks: number };
  /** Target groups whose health it needs. */
  targetGroups?: readonly string[];
  /**
   * Why: 'failure' (a ServiceDeployment names a failure) goes first, then
   * 'changed' (ECS showed a change, or a read was owed), then 'fallback' (only
   * the fallback period passed); within each, the longest-waiting first.
   */
  priority: 'failure' | 'changed' | 'fallback';
  /** When it was last read in detail (clock ms). */
  waitingSince: number;
}

const PRIORITY = { failure: 0, changed: 1, fallback: 2 } as const;

/** Calls a set of detail reads costs, batching as the APIs allow. */
export interface DetailCost {
  listServiceDeployments: number;
  describeServiceRevisions: number;
  describeServiceDeployments: number;
  listTasks: number;
  describeTasks: number;
  describeTargetHealth: number;
}

export function totalCalls(cost: DetailCost): number {
  return Object.values(cost).reduce((a, b) => a + b, 0);
}

function costOf<K>(requests: readonly DetailRequest<K>[]): DetailCost {
  const lookups = requests.filter((r) => r.serviceDeployment?.lookup).length;
  const serviceDeployments = requests.filter((r) => r.serviceDeployment).length;
  const listing = requests.filter((r) => r.tasks);
  const tasks = listing.reduce((sum, r) => sum + Math.max(1, r.tasks!.expectedTasks), 0);
  const groups = new Set(requests.flatMap((r) => r.targetGroups ?? []));
  return {
    listServiceDeployments: lookups,
    describeServiceRevisions: Math.ceil(lookups / SERVICE_DEPLOYMENTS_CHUNK),
    describeServiceDeployments: Math.ceil(serviceDeployments / SERVICE_DEPLOYMENTS_CHUNK),
    listTasks: listing.length,
    describeTasks: Math.ceil(tasks / DESCRIBE_TASKS_CHUNK),
    describeTargetHealth: groups.size,
  };
}

/**
 * Chooses the detail reads of this poll within `budget` calls, by priority
 * (failure, changed, fallback), then longest-waiting first.
 * At least one request is always taken, so every service is read eventually.
 */
export function chooseDetailReads<K>(
  requests: readonly DetailRequest<K>[],
  budget = DETAIL_CALLS_PER_POLL,
): { chosen: DetailRequest<K>[]; deferred: DetailRequest<K>[]; cost: DetailCost } {
  const ordered = [...requests].sort(
    (a, b) => PRIORITY[a.priority] - PRIORITY[b.priority] || a.waitingSince - b.waitingSince,
  );
  const chosen: DetailRequest<K>[] = [];
  const deferred: DetailRequest<K>[] = [];
  for (const request of ordered) {
    const withIt = [...chosen, request];
    if (chosen.length === 0 || totalCalls(costOf(withIt)) <= budget) chosen.push(request);
    else deferred.push(request);
  }
  return { chosen, deferred, cost: costOf(chosen) };
}

/**
 * The shortest interval between polls for `services` services: the configured
 * minimum up to 50 services (5 DescribeServices and 7 other calls a poll: about
 * 12 calls a second at the default 1 s, within ECS's refill of 20 a second for
 * service reads and 20 for task reads, and ELB's 10 for its account), then
 * growing with the DescribeServices calls a poll needs, so more services do
 * not raise the rate.
 */
export function minimumIntervalMs(minIntervalMs: number, services: number): number {
  const describeCalls = Math.ceil(services / DESCRIBE_SERVICES_CHUNK);
  return Math.round(minIntervalMs * Math.max(1, describeCalls / 5));
}

/** ECS's ThrottlingException, ELBv2's Throttling, past the SDK's own retries. */
export function isThrottling(err: unknown): boolean {
  const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  const name = `${e?.name ?? ''} ${e?.Code ?? ''}`;
  return (
    /Throttl|TooManyRequests|RequestLimitExceeded|Rate exceeded/.test(name) ||
    e?.$metadata?.httpStatusCode === 429
  );
}
