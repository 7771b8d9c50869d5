/**
 * Target health of one target group of one ECS service, judged against the
 * revision that should be live: every healthy target must be a running task
 * of the new revision, and there must be as many as the service's desired
 * count. Targets are tied to tasks by the task's ENI private IPv4 address and
 * the container port (awsvpc networking registers `ip` targets that way).
 */
import type { Task } from '@aws-sdk/client-ecs';
import type { TargetHealthDescription } from '@aws-sdk/client-elastic-load-balancing-v2';
import { shortTaskDefinition } from '../ecs/taskdef.js';

/** What verify needs of an ECS task. */
export interface TaskView {
  taskArn: string;
  taskDefinitionArn: string;
  lastStatus: string;
  desiredStatus: string;
  /** The awsvpc ENI's private IPv4 address, once attached. */
  privateIp?: string;
  /** Names of the task's containers. */
  containers: string[];
  stoppedReason?: string;
}

export function taskView(task: Task): TaskView {
  const eniIp =
    task.attachments
      ?.find((a) => a.type === 'ElasticNetworkInterface')
      ?.details?.find((d) => d.name === 'privateIPv4Address')?.value ??
    task.containers?.flatMap((c) => c.networkInterfaces ?? []).find((n) => n.privateIpv4Address)
      ?.privateIpv4Address;
  return {
    taskArn: task.taskArn ?? '',
    taskDefinitionArn: task.taskDefinitionArn ?? '',
    lastStatus: task.lastStatus ?? 'UNKNOWN',
    desiredStatus: task.desiredStatus ?? 'UNKNOWN',
    ...(eniIp ? { privateIp: eniIp } : {}),
    containers: (task.containers ?? []).map((c) => c.name ?? ''),
    ...(task.stoppedReason ? { stoppedReason: task.stoppedReason } : {}),
  };
}

/** Whether two references (ARNs or "family:revision") name the same revision. */
export function sameRevision(a: string, b: string): boolean {
  return shortTaskDefinition(a) === shortTaskDefinition(b);
}

/** The short task ID, as the console shows it. */
export function taskId(taskArn: string): string {
  return taskArn.slice(taskArn.lastIndexOf('/') + 1);
}

/** The target group's name from its ARN (…:targetgroup/NAME/ID). */
export function targetGroupName(targetGroupArn: string): string {
  return /:targetgroup\/([^/]+)\//.exec(targetGroupArn)?.[1] ?? targetGroupArn;
}

/**
 * How a target stands:
 * - serving: healthy, a running task of the new revision
 * - starting: a task of the new revision, not healthy yet (initial, or the task is still starting)
 * - failing: a running task of the new revision that fails its health checks or is not in use
 * - stale: healthy but not a running task of the new revision (old revision, a stopping task, or no task of this service)
 * - draining: being deregistered; reported, never a failure
 * - inactive: not healthy and not the new revision; receives no traffic
 */
export type TargetVerdict = 'serving' | 'starting' | 'failing' | 'stale' | 'draining' | 'inactive';

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
  tasks: TaskView[];
}

const DRAINING_STATES = new Set(['draining', 'unhealthy.draining']);

/** The task whose ENI address and container port a target names, if any. */
export function matchTask(
  target: { id: string; port: number },
  containerName: string,
  containerPort: number,
  tasks: TaskView[],
): TaskView | undefined {
  if (target.port !== containerPort) return undefined;
  const candidates = tasks.filter((t) => t.privateIp === target.id && t.containers.includes(containerName));
  // A private address can be reused by a newer task once the old one stopped.
  return candidates.find((t) => t.desiredStatus === 'RUNNING') ?? candidates[0];
}

export function evaluateTargetGroup(input: TargetGroupInput): TargetGroupReport {
  const targets = input.descriptions.map((d): TargetReport => {
    const id = d.Target?.Id ?? '';
    const port = d.Target?.Port ?? 0;
    const state = d.TargetHealth?.State ?? 'unknown';
    const task = matchTask({ id, port }, input.containerName, input.containerPort, input.tasks);
    const report: TargetReport = {
      id,
      port,
      state,
      ...(d.TargetHealth?.Reason ? { reason: d.TargetHealth.Reason } : {}),
      ...(d.TargetHealth?.Description ? { description: d.TargetHealth.Description } : {}),
      verdict: 'inactive',
    };
    if (task) {
      report.taskArn = task.taskArn;
      report.taskStatus =
        task.lastStatus === task.desiredStatus ? task.lastStatus : `${task.lastStatus}→${task.desiredStatus}`;
      report.taskDefinitionArn = task.taskDefinitionArn;
      report.revision = shortTaskDefinition(task.taskDefinitionArn);
      report.revisionRole = sameRevision(task.taskDefinitionArn, input.newTaskDefinitionArn) ? 'new' : 'old';
    }
    report.verdict = verdictOf(state, task, input.newTaskDefinitionArn);
    return report;
  });
  const healthy = targets.filter((t) => t.verdict === 'serving').length;
  const stale = targets.filter((t) => t.verdict === 'stale').length;
  return {
    targetGroupArn: input.targetGroupArn,
    targetGroupName: targetGroupName(input.targetGroupArn),
    containerName: input.containerName,
    containerPort: input.containerPort,
    healthy,
    desired: input.desiredCount,
    ok: healthy === input.desiredCount && stale === 0,
    targets,
  };
}

function verdictOf(state: string, task: TaskView | undefined, newTaskDefinitionArn: string): TargetVerdict {
  if (DRAINING_STATES.has(state)) return 'draining';
  const isNew = task !== undefined && sameRevision(task.taskDefinitionArn, newTaskDefinitionArn);
  const running = task?.lastStatus === 'RUNNING' && task.desiredStatus === 'RUNNING';
  if (state === 'healthy') return isNew && running ? 'serving' : 'stale';
  if (!isNew || task?.desiredStatus !== 'RUNNING') return 'inactive';
  if (state === 'initial' || !running) return 'starting';
  return 'failing';
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
