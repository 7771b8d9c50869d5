/**
 * Target health of one target group of one ECS service, as verify reports it:
 * the judgement is lib/ecs/target-health.ts's (with failOnStaleTargets: every
 * healthy target must be a running task of the new revision, as many as the
 * service's desired count); this file turns it into the report, its progress
 * line and the lines that say why a group does not pass.
 */
import { shortTaskDefinition } from '../ecs/taskdef.js';
import { taskId } from '../ecs/tasks.js';
import {
  judgeTargetHealth,
  sameRevision,
  targetGroupName,
  type TargetVerdict,
} from '../ecs/target-health.js';
import type { Task } from '@aws-sdk/client-ecs';
import type { TargetHealthDescription } from '@aws-sdk/client-elastic-load-balancing-v2';

export interface TargetReport {
  id: string;
  port: number;
  /** initial | healthy | unhealthy | unhealthy.draining | unused | draining | unavailable */
  state: string;
  reason?: string;
  description?: string;
  taskArn?: string;
  /** Task's lastStatus/desiredStatus, e.g. "RUNNING" or "RUNNING→STOPPED". */
  taskStatus?: string;
  taskDefinitionArn?: string;
  /** "family:revision" of the task behind the target. */
  revision?: string;
  /** The task's revision relative to the one being verified. */
  revisionRole?: 'new' | 'old';
  verdict: TargetVerdict;
}

export interface TargetGroupReport {
  targetGroupArn: string;
  targetGroupName: string;
  containerName: string;
  containerPort: number;
  /** Healthy targets that are running tasks of the new revision. */
  healthy: number;
  desired: number;
  ok: boolean;
  targets: TargetReport[];
  /**
   * Health-check failures of new-revision targets seen at any poll of this run,
   * so a failure is still named after ECS replaced the task behind it.
   */
  failuresSeen?: FailureSeen[];
}

export interface FailureSeen {
  state: string;
  reason?: string;
  description?: string;
  revision?: string;
  /** Distinct targets (address:port) seen failing this way. */
  targets: number;
}

export interface TargetGroupInput {
  targetGroupArn: string;
  containerName: string;
  containerPort: number;
  desiredCount: number;
  newTaskDefinitionArn: string;
  descriptions: TargetHealthDescription[];
  /** The service's tasks: running ones first, so a reused address maps to the live task. */
  tasks: Task[];
}

export function evaluateTargetGroup(input: TargetGroupInput): TargetGroupReport {
  const judgement = judgeTargetHealth({ ...input, failOnStaleTargets: true });
  const targets = judgement.targets.map(({ task, ...target }): TargetReport => {
    // Keys in the report's order: the target, its verdict, then its task.
    const report: TargetReport = { ...target };
    if (task) {
      const taskDefinitionArn = task.taskDefinitionArn ?? '';
      const lastStatus = task.lastStatus ?? 'UNKNOWN';
      const desiredStatus = task.desiredStatus ?? 'UNKNOWN';
      report.taskArn = task.taskArn ?? '';
      report.taskStatus = lastStatus === desiredStatus ? lastStatus : `${lastStatus}→${desiredStatus}`;
      report.taskDefinitionArn = taskDefinitionArn;
      report.revision = shortTaskDefinition(taskDefinitionArn);
      report.revisionRole = sameRevision(taskDefinitionArn, input.newTaskDefinitionArn) ? 'new' : 'old';
    }
    return report;
  });
  return {
    targetGroupArn: input.targetGroupArn,
    targetGroupName: targetGroupName(input.targetGroupArn),
    containerName: input.containerName,
    containerPort: input.containerPort,
    healthy: judgement.serving,
    desired: input.desiredCount,
    ok: judgement.ok,
    targets,
  };
}

/**
 * One line per target group for progress logs, e.g.
 * "1/2 healthy on alva-web:7; alva-web:6 healthy ×2; alva-web:7 initial ×1".
 */
export function describeTargetGroup(report: TargetGroupReport): string {
  const groups = new Map<string, number>();
  for (const t of report.targets) {
    if (t.verdict === 'serving') continue;
    const who = t.revision ?? 'no task';
    const what = t.reason ? `${t.state} (${t.reason})` : t.state;
    const key = `${who} ${what}`;
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  const parts = [`${report.healthy}/${report.desired} healthy on the new revision`];
  for (const [key, n] of groups) parts.push(`${key} ×${n}`);
  return parts.join('; ');
}

const NOT_FAILED = new Set(['healthy', 'initial', 'draining']);

/** Remembers the health-check failures of new-revision targets across polls. */
export class FailureHistory {
  private readonly seen = new Map<string, Map<string, FailureSeen & { ids: Set<string> }>>();

  record(report: TargetGroupReport): void {
    for (const t of report.targets) {
      if (t.revisionRole !== 'new' || NOT_FAILED.has(t.state)) continue;
      let byKind = this.seen.get(report.targetGroupArn);
      if (!byKind) this.seen.set(report.targetGroupArn, (byKind = new Map()));
      const key = `${t.state}|${t.reason ?? ''}|${t.description ?? ''}|${t.revision ?? ''}`;
      let entry = byKind.get(key);
      if (!entry) {
        entry = {
          state: t.state,
          ...(t.reason ? { reason: t.reason } : {}),
          ...(t.description ? { description: t.description } : {}),
          ...(t.revision ? { revision: t.revision } : {}),
          targets: 0,
          ids: new Set(),
        };
        byKind.set(key, entry);
      }
      entry.ids.add(`${t.id}:${t.port}`);
      entry.targets = entry.ids.size;
    }
  }

  /** Sets `failuresSeen` on the report when there were any. */
  annotate(report: TargetGroupReport): void {
    const byKind = this.seen.get(report.targetGroupArn);
    if (!byKind) return;
    report.failuresSeen = [...byKind.values()].map(({ ids: _ids, ...rest }) => rest);
  }
}

/** Why a target group does not pass, one line per cause (empty when it passes). */
export function targetGroupProblems(service: string, report: TargetGroupReport): string[] {
  if (report.ok) return [];
  const where = `${service} / target group ${report.targetGroupName}`;
  const problems: string[] = [];
  if (report.healthy !== report.desired) {
    problems.push(
      `${where}: ${report.healthy} of ${report.desired} desired targets are healthy running tasks of the new revision`,
    );
  }
  const live = report.healthy >= report.desired;
  for (const t of report.targets) {
    const target = `target ${t.id}:${t.port} is ${t.state}${t.reason ? ` (${t.reason}${t.description ? `: ${t.description}` : ''})` : ''}`;
    const task = t.taskArn
      ? `task ${taskId(t.taskArn)} (${t.revision}, ${t.revisionRole} revision, ${t.taskStatus})`
      : 'no running or recent task of this service has this address and port';
    if (t.verdict === 'failing') problems.push(`${where}: ${target}; ${task}`);
    else if (t.verdict === 'starting') problems.push(`${where}: ${target}, still starting; ${task}`);
    else if (t.verdict === 'stale') {
      const why =
        t.revisionRole === 'old'
          ? live
            ? 'an old revision still healthy and taking traffic although the new revision is live'
            : 'an old revision still serving'
          : t.taskArn
            ? 'its task is not running'
            : 'healthy but not a task of this service';
      problems.push(`${where}: ${target}; ${why}; ${task}`);
    }
  }
  for (const f of report.failuresSeen ?? []) {
    const what = `${f.state}${f.reason ? ` (${f.reason}${f.description ? `: ${f.description}` : ''})` : ''}`;
    problems.push(
      `${where}: during verification ${f.targets} target${f.targets === 1 ? '' : 's'} of the new revision ${f.revision ?? ''} ${f.targets === 1 ? 'was' : 'were'} ${what}`,
    );
  }
  return problems;
}
