/**
 * Judging one rollout from what one poll read (DescribeServices and, when
 * found, its ServiceDeployment): pure, no AWS call.
 */
import type { Deployment, Service, ServiceDeployment } from '@aws-sdk/client-ecs';
import type { FailureKind, RolloutTarget, WaitFor } from '../rollout.js';
import { shortTaskDefinition } from '../taskdef.js';
import { primaryDeployment } from '../tasks.js';

export type Outcome = { ok: true } | { ok: false; kind: FailureKind; reason: string };

export interface Verdict {
  state: string;
  outcome?: Outcome;
  /** Running count reached: the new tasks' health decides (wait-for healthy). */
  checkTasks?: { service: Service; primary: Deployment };
}

const ROLLBACK_STATUSES = new Set([
  'ROLLBACK_REQUESTED',
  'ROLLBACK_IN_PROGRESS',
  'ROLLBACK_SUCCESSFUL',
  'ROLLBACK_FAILED',
]);

/** Judges one service from DescribeServices and, when found, its ServiceDeployment. */
export function judgeRollout(
  target: RolloutTarget,
  service: Service,
  serviceDeployment: ServiceDeployment | undefined,
  waitFor: WaitFor,
): Verdict {
  const deployments = service.deployments ?? [];
  const primary = primaryDeployment(deployments);
  const ours = target.deploymentId
    ? deployments.find((d) => d.id === target.deploymentId)
    : deployments.find((d) => d.taskDefinition === target.taskDefinition);
  const ended = endedWithoutSuccess(target, primary, ours, serviceDeployment);
  // Not ended: the PRIMARY is ours (`!primary` only narrows the type).
  if (ended || !primary) return ended ?? replacedVerdict(target, primary);
  const sdStatus = serviceDeployment?.status;
  return judgeProgress(service, primary, sdStatus, waitFor, progressLine(primary, ours, sdStatus));
}

/** What one poll says of the rollout, for the log: the PRIMARY's state and counts. */
function progressLine(
  primary: Deployment | undefined,
  ours: Deployment | undefined,
  sdStatus: string | undefined,
): string {
  if (!primary) return 'no PRIMARY deployment';
  return (
    `${primary.rolloutState ?? sdStatus ?? 'IN_PROGRESS'}, ${primary.runningCount ?? 0}/${primary.desiredCount ?? 0} running` +
    (primary.pendingCount ? `, ${primary.pendingCount} pending` : '') +
    (ours?.failedTasks ? `, ${ours.failedTasks} failed task(s)` : '')
  );
}

/**
 * Termination without success: ECS rolled it back, it FAILED, another deployment
 * replaced it or its service deployment was stopped. Undefined: it goes on, and
 * the PRIMARY deployment is ours.
 */
function endedWithoutSuccess(
  target: RolloutTarget,
  primary: Deployment | undefined,
  ours: Deployment | undefined,
  serviceDeployment: ServiceDeployment | undefined,
): Verdict | undefined {
  const sdStatus = serviceDeployment?.status;
  // Ours is the deployment UpdateService returned (by id): another one on the same
  // task definition (a force-new-deployment started meanwhile) is not ours.
  const onTarget = target.deploymentId
    ? primary?.id === target.deploymentId
    : primary?.taskDefinition === target.taskDefinition;
  if (sdStatus && ROLLBACK_STATUSES.has(sdStatus)) {
    return {
      state: `rolled back by ECS (${sdStatus})`,
      outcome: {
        ok: false,
        kind: 'circuit-breaker-rollback',
        reason: `ECS rolled the deployment back (${sdStatus})${reasonSuffix(rollbackReason(serviceDeployment!, ours))}`,
      },
    };
  }
  if (ours?.rolloutState === 'FAILED') {
    return {
      state: `rollout FAILED`,
      outcome: {
        ok: false,
        kind: onTarget ? 'deployment-failed' : 'circuit-breaker-rollback',
        reason: onTarget
          ? `the deployment FAILED${reasonSuffix(ours.rolloutStateReason)}`
          : `the circuit breaker failed the deployment and rolled back to ${shortTaskDefinition(primary?.taskDefinition)}${reasonSuffix(ours.rolloutStateReason)}`,
      },
    };
  }
  if (!primary || !onTarget) return replacedVerdict(target, primary);
  if (sdStatus === 'STOPPED' || sdStatus === 'STOP_REQUESTED') {
    // ECS stops a service deployment when a newer one supersedes it (or on StopServiceDeployment).
    return {
      state: `service deployment ${sdStatus}`,
      outcome: {
        ok: false,
        kind: 'replaced',
        reason: `another deployment replaced this one: the service deployment was stopped${reasonSuffix(serviceDeployment?.statusReason)}`,
      },
    };
  }
  return undefined;
}

/** The PRIMARY deployment is not ours (or there is none): another deployment replaced this one. */
function replacedVerdict(target: RolloutTarget, primary: Deployment | undefined): Verdict {
  return {
    state: `PRIMARY is ${shortTaskDefinition(primary?.taskDefinition)}`,
    outcome: {
      ok: false,
      kind: 'replaced',
      reason: `another deployment replaced this one: the PRIMARY deployment ${primary?.id ?? ''} runs ${shortTaskDefinition(primary?.taskDefinition)}${target.deploymentId ? `, not ${target.deploymentId}` : ''}${primary?.taskDefinition === target.taskDefinition ? ' (the same revision, deployed again)' : `, not ${shortTaskDefinition(target.taskDefinition)}`}`,
    },
  };
}

/** Ours is the PRIMARY and goes on: done (steady), its tasks to check (healthy), or not yet. */
function judgeProgress(
  service: Service,
  primary: Deployment,
  sdStatus: string | undefined,
  waitFor: WaitFor,
  progress: string,
): Verdict {
  if (waitFor === 'steady') {
    // primary is ours here (onTarget): its own rolloutState, never another deployment's.
    const completed =
      sdStatus === 'SUCCESSFUL' ||
      primary.rolloutState === 'COMPLETED' ||
      (!primary.rolloutState &&
        !sdStatus &&
        (service.deployments ?? []).length === 1 &&
        primary.runningCount === primary.desiredCount);
    return { state: progress, ...(completed ? { outcome: { ok: true } } : {}) };
  }
  if ((primary.desiredCount ?? 0) === 0) return { state: progress, outcome: { ok: true } };
  if ((primary.runningCount ?? 0) >= (primary.desiredCount ?? 0)) {
    return { state: progress, checkTasks: { service, primary } };
  }
  return { state: progress };
}

/**
 * Why ECS rolled back. DescribeServices and DescribeServiceDeployments are two
 * calls, so the deployment's rolloutStateReason may predate the rollback the
 * ServiceDeployment already shows ("… in progress."): use it only once FAILED.
 */
function rollbackReason(sd: ServiceDeployment, ours: Deployment | undefined): string | undefined {
  if (sd.statusReason) return sd.statusReason;
  if (ours?.rolloutState === 'FAILED' && ours.rolloutStateReason) return ours.rolloutStateReason;
  const why = [
    sd.deploymentCircuitBreaker?.status === 'TRIGGERED'
      ? 'the deployment circuit breaker tripped'
      : undefined,
    sd.rollback?.reason,
  ].filter(Boolean);
  return why.length ? why.join('; ') : undefined;
}

function reasonSuffix(reason: string | undefined): string {
  return reason ? `: ${reason}` : '';
}
