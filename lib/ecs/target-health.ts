/**
 * The one judge of "the new tasks are healthy behind the load balancer", for one
 * target group of one ECS service. deploy-services' `wait-for: healthy` and verify
 * both ask it; they differ in one thing only, `failOnStaleTargets`.
 *
 * Targets are tied to tasks by the task's ENI private IPv4 address and the
 * container port: awsvpc networking registers `ip` targets that way.
 */
import type { Task } from '@aws-sdk/client-ecs';
import type { TargetHealthDescription } from '@aws-sdk/client-elastic-load-balancing-v2';
import { shortTaskDefinition } from './taskdef.js';
import { taskEniAddress } from './tasks.js';

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

export interface TargetHealthInput {
  /** The service's tasks: running ones first, so a reused address maps to the live task. */
  tasks: readonly Task[];
  /** DescribeTargetHealth of the target group. */
  descriptions: readonly TargetHealthDescription[];
  /** The revision that must be live (an ARN or "family:revision"). */
  newTaskDefinitionArn: string;
  /** The service's load balancer binding: which container and port the targets are. */
  containerName: string;
  containerPort: number;
  desiredCount: number;
  /**
   * verify: the target group must hold the new revision alone, so a healthy target that
   * is not a running task of it (an old revision still taking traffic, a stopping task,
   * an address no task of the service has) fails the group, and so do more serving targets
   * than desired. deploy-services' wait only needs every new task healthy: false.
   */
  failOnStaleTargets: boolean;
}

export interface JudgedTarget {
  id: string;
  port: number;
  /** initial | healthy | unhealthy | unhealthy.draining | unused | draining | unavailable | unknown */
  state: string;
  reason?: string;
  description?: string;
  /** The service's task behind the target, if any. */
  task?: Task;
  verdict: TargetVerdict;
}

/** A running task of the new revision that is not a serving target of the group. */
export interface NotServingTask {
  task: Task;
  /** Its target's state, or "unregistered" when the group has no target for it. */
  state: string;
  reason?: string;
}

export interface TargetHealthJudgement {
  /** One per target health description, in their order. */
  targets: JudgedTarget[];
  /** Running tasks of the new revision (in the order given). */
  newTasks: Task[];
  /** The new tasks without a healthy target here, in the order given. */
  notServing: NotServingTask[];
  /** Targets that are serving (healthy running tasks of the new revision). */
  serving: number;
  /** Targets that are stale (healthy, but not running tasks of the new revision). */
  stale: number;
  ok: boolean;
}

const DRAINING_STATES = new Set(['draining', 'unhealthy.draining']);

/** The target group's name from its ARN (…:targetgroup/NAME/ID); a name stays as it is. */
export function targetGroupName(targetGroupArn: string): string {
  return /:targetgroup\/([^/]+)\//.exec(targetGroupArn)?.[1] ?? targetGroupArn;
}

/** Whether two references (ARNs or "family:revision") name the same revision. */
export function sameRevision(a: string, b: string): boolean {
  return shortTaskDefinition(a) === shortTaskDefinition(b);
}

/** A task of that revision that runs and is meant to keep running. */
export function isRunningTaskOf(task: Task, taskDefinitionArn: string): boolean {
  return (
    task.lastStatus === 'RUNNING' &&
    task.desiredStatus === 'RUNNING' &&
    sameRevision(task.taskDefinitionArn ?? '', taskDefinitionArn)
  );
}

/** The task whose ENI address and container port a target names, if any. */
export function matchTask(
  target: { id: string; port: number },
  containerName: string,
  containerPort: number,
  tasks: readonly Task[],
): Task | undefined {
  if (target.port !== containerPort) return undefined;
  const candidates = tasks.filter(
    (t) => taskEniAddress(t) === target.id && (t.containers ?? []).some((c) => c.name === containerName),
  );
  // A private address can be reused by a newer task once the old one stopped.
  return candidates.find((t) => t.desiredStatus === 'RUNNING') ?? candidates[0];
}

function verdictOf(state: string, task: Task | undefined, newTaskDefinitionArn: string): TargetVerdict {
  if (DRAINING_STATES.has(state)) return 'draining';
  const isNew = task !== undefined && sameRevision(task.taskDefinitionArn ?? '', newTaskDefinitionArn);
  const running = task?.lastStatus === 'RUNNING' && task.desiredStatus === 'RUNNING';
  if (state === 'healthy') return isNew && running ? 'serving' : 'stale';
  if (!isNew || task?.desiredStatus !== 'RUNNING') return 'inactive';
  if (state === 'initial' || !running) return 'starting';
  return 'failing';
}

/**
 * Judges one target group: every running task of the new revision must be a healthy
 * target, at least desiredCount of them; with failOnStaleTargets, no other target may
 * be healthy and exactly desiredCount serve.
 */
export function judgeTargetHealth(input: TargetHealthInput): TargetHealthJudgement {
  const targets = input.descriptions.map((d): JudgedTarget => {
    const id = d.Target?.Id ?? '';
    const port = d.Target?.Port ?? 0;
    const state = d.TargetHealth?.State ?? 'unknown';
    const task = matchTask({ id, port }, input.containerName, input.containerPort, input.tasks);
    return {
      id,
      port,
      state,
      ...(d.TargetHealth?.Reason ? { reason: d.TargetHealth.Reason } : {}),
      ...(d.TargetHealth?.Description ? { description: d.TargetHealth.Description } : {}),
      ...(task ? { task } : {}),
      verdict: verdictOf(state, task, input.newTaskDefinitionArn),
    };
  });
  const newTasks = input.tasks.filter((t) => isRunningTaskOf(t, input.newTaskDefinitionArn));
  const notServing = newTasks.flatMap((task): NotServingTask[] => {
    const target = targets.find((t) => t.task === task);
    if (target?.verdict === 'serving') return [];
    return [
      {
        task,
        state: target?.state ?? 'unregistered',
        ...(target?.reason ? { reason: target.reason } : {}),
      },
    ];
  });
  const serving = targets.filter((t) => t.verdict === 'serving').length;
  const stale = targets.filter((t) => t.verdict === 'stale').length;
  const enough = input.failOnStaleTargets
    ? serving === input.desiredCount && stale === 0
    : serving >= input.desiredCount;
  return { targets, newTasks, notServing, serving, stale, ok: enough && notServing.length === 0 };
}
