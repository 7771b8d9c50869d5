/**
 * Judging a rollout during its bake: the window after it was seen healthy (or
 * steady) in which it must stay so. Pure, no AWS call: what one poll read
 * (DescribeServices, the service's RUNNING tasks, each target group's health)
 * against what the first poll of the bake saw.
 */
import type { LoadBalancer, Service, Task } from '@aws-sdk/client-ecs';
import type { TargetHealthDescription } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { RolloutTarget } from '../rollout.js';
import { isRunningTaskOf, judgeTargetHealth } from '../target-health.js';
import { judgeRollout } from './judge.js';

/** What the bake compares against: our deployment's failedTasks when the bake began. */
export interface BakeBaseline {
  failedTasks: number;
}

export interface BakeRead {
  service: Service;
  /** The service's tasks with desiredStatus RUNNING. */
  tasks: readonly Task[];
  /** DescribeTargetHealth per target group ARN of the service. */
  targetHealth: ReadonlyMap<string, readonly TargetHealthDescription[]>;
}

export type BakeVerdict = { ok: true; state: string } | { ok: false; reason: string };

/** Our deployment's failedTasks now (0 when not listed). */
export function failedTasksOf(target: RolloutTarget, service: Service): number {
  const ours = (service.deployments ?? []).find((d) =>
    target.deploymentId ? d.id === target.deploymentId : d.taskDefinition === target.taskDefinition,
  );
  return ours?.failedTasks ?? 0;
}

/**
 * What DescribeServices alone tells: ours is still the PRIMARY (not replaced,
 * FAILED or rolled back by ECS) and no task of it failed since the baseline.
 */
export function judgeBakeService(
  target: RolloutTarget,
  baseline: BakeBaseline,
  service: Service,
): BakeVerdict {
  // Replaced, FAILED or rolled back by ECS: the follow judge's own verdicts.
  const verdict = judgeRollout(target, service, undefined, 'steady');
  if (verdict.outcome && !verdict.outcome.ok) return { ok: false, reason: verdict.outcome.reason };
  const failed = failedTasksOf(target, service) - baseline.failedTasks;
  if (failed > 0) return { ok: false, reason: `${failed} task(s) of the new revision failed` };
  return { ok: true, state: verdict.state };
}

/** Still healthy: ours is the PRIMARY, no task failed since the baseline, every new task runs and serves. */
export function judgeBake(target: RolloutTarget, baseline: BakeBaseline, read: BakeRead): BakeVerdict {
  const { service, tasks } = read;
  const fromService = judgeBakeService(target, baseline, service);
  if (!fromService.ok) return fromService;
  const desired = service.desiredCount ?? 0;
  const fresh = tasks.filter((t) => isRunningTaskOf(t, target.taskDefinition));
  if (fresh.length < desired) {
    return {
      ok: false,
      reason: `a task of the new revision stopped (${fresh.length}/${desired} new tasks RUNNING)`,
    };
  }
  const failingContainer = fresh.filter((t) => t.healthStatus === 'UNHEALTHY').length;
  if (failingContainer) {
    return { ok: false, reason: `${failingContainer} new task(s) failing their container health check` };
  }
  for (const lb of (service.loadBalancers ?? []).filter((b) => b.targetGroupArn)) {
    const judge = (targetGroupArn: string) => ({
      targetGroupArn,
      judgement: judgeTargetHealth({
        tasks,
        descriptions: read.targetHealth.get(targetGroupArn) ?? [],
        newTaskDefinitionArn: target.taskDefinition,
        containerName: lb.containerName ?? '',
        containerPort: lb.containerPort ?? 0,
        desiredCount: desired,
        failOnStaleTargets: false,
      }),
    });
    // A traffic-shift service's new tasks serve from one group of the pair (ECS alternates them
    // from one deployment to the next): healthy there is healthy; the other one is blue's, emptied.
    const judged = bakeTargetGroups(lb).map(judge);
    if (judged.some((j) => j.judgement.ok)) continue;
    const serving =
      judged.find((j) => (read.targetHealth.get(j.targetGroupArn) ?? []).length > 0) ?? judged[0]!;
    const states = serving.judgement.notServing.map((n) => `${n.state}${n.reason ? ` (${n.reason})` : ''}`);
    return {
      ok: false,
      reason: `new target(s) not healthy in ${serving.targetGroupArn}: ${states.join(', ') || 'fewer serving targets than tasks'}`,
    };
  }
  return { ok: true, state: `${fresh.length}/${desired} new tasks running and healthy` };
}

/** The target groups a load balancer entry's new tasks may serve from: its own, and a traffic-shift service's alternate. */
export function bakeTargetGroups(lb: LoadBalancer): string[] {
  const alternate = lb.advancedConfiguration?.alternateTargetGroupArn;
  return [lb.targetGroupArn!, ...(alternate && alternate !== lb.targetGroupArn ? [alternate] : [])];
}
