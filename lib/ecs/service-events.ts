/**
 * ECS service events chosen by relevance to a failed deployment, not by
 * recency alone: a failing rollout writes "has started", "registered" and
 * "draining" events faster than the one that says why ("... is unhealthy in
 * (target-group ...) due to (reason Health checks failed with these codes:
 * [502])"), which would fall out of the newest few.
 */
import type { ServiceEvent } from '@aws-sdk/client-ecs';

export interface EventRelevance {
  /** Only events at or after this moment (AWS clock), e.g. the deployment's createdAt (1 s of slack). */
  since?: Date;
  /** Short ids of the failed tasks: an event naming one is about this failure. */
  taskIds?: readonly string[];
  /** The service's target groups (ARNs): an event naming one is about its health checks. */
  targetGroupArns?: readonly string[];
  /** How many events to keep (default 6). */
  max?: number;
  /** Keep only events that report a problem. */
  problemsOnly?: boolean;
}

/** What a rollout says while it works; never the cause of a failure. */
const ROUTINE =
  /has started \d+ tasks|has stopped \d+ running tasks|(de)?registered \d+ targets|has begun draining|has reached a steady state|deployment completed/i;
const PROBLEM =
  /unhealthy|fail|unable|error|insufficient|timed out|rolled back|rolling back|not (?:be )?placed/i;

/** Whether an event reports a problem (an unhealthy target, a failed task or deployment, no capacity). */
export function isProblemEvent(message: string): boolean {
  return PROBLEM.test(message) && !ROUTINE.test(message);
}

/** The most relevant events, newest first (the order ECS gives them). */
export function relevantEvents(events: readonly ServiceEvent[], relevance: EventRelevance): ServiceEvent[] {
  const since = relevance.since ? relevance.since.getTime() - 1000 : -Infinity;
  const scored = events
    .map((event, order) => ({ event, order, score: scoreOf(event.message ?? '', relevance) }))
    .filter(({ event }) => event.message && (event.createdAt?.getTime() ?? Infinity) >= since)
    .filter(({ event }) => !relevance.problemsOnly || isProblemEvent(event.message!));
  return scored
    .sort((a, b) => b.score - a.score || a.order - b.order)
    .slice(0, relevance.max ?? 6)
    .sort((a, b) => a.order - b.order)
    .map((s) => s.event);
}

function scoreOf(message: string, relevance: EventRelevance): number {
  let score = 0;
  if (isProblemEvent(message)) score += 4;
  if (relevance.taskIds?.some((id) => message.includes(id))) score += 2;
  if (relevance.targetGroupArns?.some((arn) => message.includes(arn))) score += 1;
  if (ROUTINE.test(message)) score -= 2;
  return score;
}

/** An ELB health-check failure as ECS reports it in a service event. */
export interface UnhealthyTargetEvent {
  /** The target group as the event names it: an ARN (or, in older events, a name). */
  targetGroup: string;
  port?: number;
  /** The task's short id, when the event names it. */
  taskId?: string;
  /** What the check got, e.g. "Health checks failed with these codes: [502]" or "Request timed out". */
  reason: string;
  createdAt?: Date;
}

// "(service web) (task 0a1b…) (port 80) is unhealthy in (target-group arn:…) due to (reason Request timed out)."
const UNHEALTHY =
  /(?:\(port (\d+)\) )?is unhealthy in \(?target-group ([^)\s]+)\)? due to \(reason (.+)\)\.?\s*$/;

/** Reads "… is unhealthy in (target-group …) due to (reason …)", or undefined for another event. */
export function parseUnhealthyEvent(event: ServiceEvent): UnhealthyTargetEvent | undefined {
  const match = UNHEALTHY.exec(event.message ?? '');
  if (!match) return undefined;
  const taskId = /\(task ([0-9a-f]{8,})\)/.exec(event.message ?? '')?.[1];
  return {
    targetGroup: match[2]!,
    ...(match[1] ? { port: Number(match[1]) } : {}),
    ...(taskId ? { taskId } : {}),
    reason: match[3]!,
    ...(event.createdAt ? { createdAt: event.createdAt } : {}),
  };
}
