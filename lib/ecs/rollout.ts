/**
 * Following several service rollouts with one poll loop: DescribeServices in
 * chunks of 10, the ServiceDeployment API where the service has it, and, for
 * `healthy`, the new tasks' target health. One log line per state change per
 * service, a heartbeat while nothing changes.
 */
import {
  DescribeServiceDeploymentsCommand,
  DescribeTasksCommand,
  ListServiceDeploymentsCommand,
  ListTasksCommand,
  type Deployment,
  type Service,
  type ServiceDeployment,
  type Task,
} from '@aws-sdk/client-ecs';
import type { TargetHealthDescription } from '@aws-sdk/client-elastic-load-balancing-v2';
import { errorMessage } from '../errors.js';
import type { Log } from '../log.js';
import { AdaptiveInterval, Heartbeat, formatDuration, sleep } from '../time.js';
import type { EcsClients } from './clients.js';
import { chunks, describeServices } from './services.js';
import { shortTaskDefinition } from './taskdef.js';

export type WaitFor = 'healthy' | 'steady';

export interface RolloutTarget {
  service: string;
  /** The task definition the PRIMARY deployment must run. */
  taskDefinition: string;
  /** The PRIMARY deployment UpdateService created (its reply), when known. */
  deploymentId?: string;
  /** That deployment's createdAt (AWS clock): finds its ServiceDeployment. */
  deploymentCreatedAt?: Date;
  /**
   * false: judge by deployments[] only. For a service ECS itself rolled back,
   * whose ServiceDeployment says ROLLBACK_* although returning is the goal.
   */
  useServiceDeployments?: boolean;
}

export type FailureKind =
  | 'circuit-breaker-rollback'
  | 'replaced'
  | 'deployment-failed'
  | 'timeout'
  | 'cancelled'
  | 'service-gone'
  | 'unobservable'
  /** Not followed to the end because another service failed (stopOnFirstFailure). */
  | 'aborted';

export interface RolloutResult {
  service: string;
  taskDefinition: string;
  ok: boolean;
  failure?: { kind: FailureKind; reason: string };
  /** The last state seen, as logged. */
  state: string;
  /** Epoch ms (local clock) when the outcome was seen. */
  finishedAt: number;
}

export interface FollowOptions {
  cluster: string;
  waitFor: WaitFor;
  timeoutMs: number;
  log: Log;
  signal?: AbortSignal;
  /** Poll interval bounds (default 1 s .. 2 s): the end of a rollout is seen about 1 s after it happens. */
  minIntervalMs?: number;
  maxIntervalMs?: number;
  /** Heartbeat period while nothing changes (default 30 s). */
  heartbeatMs?: number;
  /** Label of the phase in log lines ("deploy", "rollback"). */
  label?: string;
  /** Stop following the others as soon as one fails (they will be rolled back anyway). */
  stopOnFirstFailure?: boolean;
}

interface Tracker {
  target: RolloutTarget;
  serviceDeploymentArn?: string;
  /** false once ListServiceDeployments failed or never showed ours: use deployments[] only. */
  serviceDeploymentsAvailable: boolean;
  serviceDeploymentLookups: number;
  taskCache: TaskCache;
  state?: string;
  result?: RolloutResult;
}

interface Verdict {
  state: string;
  outcome?: { ok: true } | { ok: false; kind: FailureKind; reason: string };
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
  const primary = deployments.find((d) => d.status === 'PRIMARY');
  const ours = target.deploymentId
    ? deployments.find((d) => d.id === target.deploymentId)
    : deployments.find((d) => d.taskDefinition === target.taskDefinition);
  const sdStatus = serviceDeployment?.status;
  const progress = primary
    ? `${primary.rolloutState ?? sdStatus ?? 'IN_PROGRESS'}, ${primary.runningCount ?? 0}/${primary.desiredCount ?? 0} running` +
      (primary.pendingCount ? `, ${primary.pendingCount} pending` : '') +
      (ours?.failedTasks ? `, ${ours.failedTasks} failed task(s)` : '')
    : 'no PRIMARY deployment';
  const onTarget = primary?.taskDefinition === target.taskDefinition;

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
  if (!primary || !onTarget) {
    return {
      state: `PRIMARY is ${shortTaskDefinition(primary?.taskDefinition)}`,
      outcome: {
        ok: false,
        kind: 'replaced',
        reason: `another deployment replaced this one: the PRIMARY deployment ${primary?.id ?? ''} runs ${shortTaskDefinition(primary?.taskDefinition)}, not ${shortTaskDefinition(target.taskDefinition)}`,
      },
    };
  }
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
  if (waitFor === 'steady') {
    const completed =
      sdStatus === 'SUCCESSFUL' ||
      primary.rolloutState === 'COMPLETED' ||
      (!primary.rolloutState &&
        !sdStatus &&
        deployments.length === 1 &&
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

/** The private IP of a task's ENI (awsvpc), which is its target Id in an `ip` target group. */
export function taskIp(task: Task): string | undefined {
  for (const attachment of task.attachments ?? []) {
    if (attachment.type !== 'ElasticNetworkInterface') continue;
    const ip = attachment.details?.find((d) => d.name === 'privateIPv4Address')?.value;
    if (ip) return ip;
  }
  return task.containers?.flatMap((c) => c.networkInterfaces ?? []).find((n) => n.privateIpv4Address)
    ?.privateIpv4Address;
}

/** The tasks of a service from the last poll, and the deployment counts they were read at. */
interface TaskCache {
  key?: string;
  tasks?: Task[];
}

/**
 * Are all new tasks of a service RUNNING and healthy in every target group?
 * Targets are matched to tasks by ENI IP and container port.
 */
async function newTasksHealthy(
  clients: EcsClients,
  cluster: string,
  service: Service,
  primary: Deployment,
  targetHealth: (targetGroupArn: string) => Promise<TargetHealthDescription[]>,
  taskCache: TaskCache,
  signal?: AbortSignal,
): Promise<{ healthy: boolean; state: string }> {
  const { ecs } = clients;
  const balancers = (service.loadBalancers ?? []).filter((lb) => lb.targetGroupArn);
  // Target health is fetched while the tasks are listed (cached per poll; a rejection is handled below).
  for (const lb of balancers) void targetHealth(lb.targetGroupArn!).catch(() => undefined);
  // The task list changes only when the deployment's counts do: reuse it meanwhile.
  const key = `${primary.id}/${primary.runningCount}/${primary.pendingCount}/${primary.failedTasks}/${service.runningCount}`;
  let tasks = taskCache.key === key ? taskCache.tasks : undefined;
  if (!tasks) {
    const arns: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await ecs.send(
        new ListTasksCommand({
          cluster,
          serviceName: service.serviceName,
          desiredStatus: 'RUNNING',
          nextToken,
        }),
        { abortSignal: signal },
      );
      arns.push(...(page.taskArns ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    tasks = [];
    for (const chunk of chunks(arns, 100)) {
      const reply = await ecs.send(new DescribeTasksCommand({ cluster, tasks: chunk }), {
        abortSignal: signal,
      });
      tasks.push(...(reply.tasks ?? []));
    }
    // Cached only once every new task runs: until then the tasks' own states still change.
    const running = tasks.filter(
      (t) => t.taskDefinitionArn === primary.taskDefinition && t.lastStatus === 'RUNNING',
    );
    if (running.length >= (primary.desiredCount ?? 0)) Object.assign(taskCache, { key, tasks });
  }
  const desired = primary.desiredCount ?? 0;
  const fresh = tasks.filter(
    (t) => t.taskDefinitionArn === primary.taskDefinition && t.lastStatus === 'RUNNING',
  );
  if (fresh.length < desired)
    return { healthy: false, state: `${fresh.length}/${desired} new tasks RUNNING` };
  const unhealthyContainers = fresh.filter((t) => t.healthStatus === 'UNHEALTHY').length;
  if (unhealthyContainers) {
    return {
      healthy: false,
      state: `${unhealthyContainers} new task(s) failing their container health check`,
    };
  }
  if (balancers.length === 0) return { healthy: true, state: `${fresh.length}/${desired} new tasks RUNNING` };
  const notHealthy: string[] = [];
  for (const lb of balancers) {
    const targets = await targetHealth(lb.targetGroupArn!);
    for (const task of fresh) {
      const ip = taskIp(task);
      const target = targets.find((t) => t.Target?.Id === ip && t.Target?.Port === lb.containerPort);
      const state = target?.TargetHealth?.State ?? 'unregistered';
      if (state !== 'healthy') {
        const reason = target?.TargetHealth?.Reason ? ` (${target.TargetHealth.Reason})` : '';
        notHealthy.push(`${state}${reason}`);
      }
    }
  }
  const total = fresh.length * balancers.length;
  if (notHealthy.length === 0) {
    return {
      healthy: true,
      state: `${fresh.length}/${desired} new tasks healthy in ${balancers.length} target group(s)`,
    };
  }
  const counts = new Map<string, number>();
  for (const s of notHealthy) counts.set(s, (counts.get(s) ?? 0) + 1);
  return {
    healthy: false,
    state: `${total - notHealthy.length}/${total} new targets healthy; ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')}`,
  };
}

/** Our ServiceDeployment: the first one created with or after our deployment. */
async function findServiceDeployment(
  clients: EcsClients,
  cluster: string,
  tracker: Tracker,
  signal?: AbortSignal,
): Promise<void> {
  try {
    const reply = await clients.ecs.send(
      new ListServiceDeploymentsCommand({ cluster, service: tracker.target.service }),
      { abortSignal: signal },
    );
    const since = (tracker.target.deploymentCreatedAt?.getTime() ?? 0) - 1000;
    const candidates = (reply.serviceDeployments ?? [])
      .filter((d) => d.serviceDeploymentArn && (d.createdAt?.getTime() ?? 0) >= since)
      .sort((a, b) => (a.createdAt?.getTime() ?? 0) - (b.createdAt?.getTime() ?? 0));
    const match = tracker.target.deploymentCreatedAt ? candidates[0] : candidates.at(-1);
    if (match) tracker.serviceDeploymentArn = match.serviceDeploymentArn;
    // Not listed after a few polls: this service's deployments[] will have to do.
    else if (++tracker.serviceDeploymentLookups >= 3) tracker.serviceDeploymentsAvailable = false;
  } catch (err) {
    if (signal?.aborted) throw err;
    // Services without the ServiceDeployment API (or no permission for it): deployments[] decides.
    tracker.serviceDeploymentsAvailable = false;
  }
}

/**
 * Polls until every target succeeded or failed, the timeout passes, or
 * `signal` aborts (then the pending ones end as `cancelled`). Never throws for
 * a rollout's failure: the results say what happened to each service.
 */
export async function followRollouts(
  clients: EcsClients,
  targets: readonly RolloutTarget[],
  options: FollowOptions,
): Promise<RolloutResult[]> {
  const { cluster, log, signal, waitFor } = options;
  const label = options.label ?? 'deploy';
  const trackers: Tracker[] = targets.map((target) => ({
    target,
    serviceDeploymentsAvailable: target.useServiceDeployments !== false,
    serviceDeploymentLookups: 0,
    taskCache: {},
  }));
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  const interval = new AdaptiveInterval(options.minIntervalMs ?? 1000, options.maxIntervalMs ?? 2000);
  const pendingNow = () => trackers.filter((t) => !t.result);
  const heartbeat = new Heartbeat(options.heartbeatMs ?? 30_000, () => {
    log.info(
      `… ${label}: still waiting after ${formatDuration(Date.now() - started)}: ${pendingNow()
        .map((t) => `${t.target.service} (${t.state ?? 'starting'})`)
        .join('; ')}`,
    );
  });
  const finish = (t: Tracker, ok: boolean, state: string, failure?: RolloutResult['failure']) => {
    t.result = {
      service: t.target.service,
      taskDefinition: t.target.taskDefinition,
      ok,
      state,
      finishedAt: Date.now(),
      ...(failure ? { failure } : {}),
    };
  };
  let consecutiveErrors = 0;

  while (pendingNow().length > 0) {
    let changed = false;
    try {
      if (signal?.aborted) throw signal.reason;
      const pending = pendingNow();
      // Service deployments already found are read in parallel with the services.
      const serviceDeployments = new Map<string, ServiceDeployment>();
      const readServiceDeployments = async (trackers: Tracker[]) => {
        const arns = trackers.map((t) => t.serviceDeploymentArn).filter((a): a is string => Boolean(a));
        for (const chunk of chunks(arns, 20)) {
          try {
            const reply = await clients.ecs.send(
              new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: chunk }),
              { abortSignal: signal },
            );
            for (const d of reply.serviceDeployments ?? [])
              serviceDeployments.set(d.serviceDeploymentArn!, d);
          } catch (err) {
            if (signal?.aborted) throw err;
            // No permission for it (or no such API here): deployments[] decides for these services.
            for (const t of trackers.filter((t) => chunk.includes(t.serviceDeploymentArn!))) {
              t.serviceDeploymentsAvailable = false;
              delete t.serviceDeploymentArn;
            }
            log.debug(
              `DescribeServiceDeployments failed, following deployments[] instead: ${errorMessage(err)}`,
            );
          }
        }
      };
      const unknown = pending.filter((t) => t.serviceDeploymentsAvailable && !t.serviceDeploymentArn);
      const [{ services, missing }] = await Promise.all([
        describeServices(
          clients.ecs,
          cluster,
          pending.map((t) => t.target.service),
          signal,
        ),
        readServiceDeployments(pending.filter((t) => t.serviceDeploymentArn)),
        Promise.all(unknown.map((t) => findServiceDeployment(clients, cluster, t, signal))),
      ]);
      // Found just now: read them too before judging.
      await readServiceDeployments(unknown.filter((t) => t.serviceDeploymentArn));
      for (const gone of missing) {
        const t = pending.find((p) => p.target.service === gone.name)!;
        finish(t, false, 'gone', {
          kind: 'service-gone',
          reason: `the service no longer exists (${gone.reason})`,
        });
        log.error(`${t.target.service}: the service no longer exists (${gone.reason})`);
        changed = true;
      }
      const live = pending.filter((t) => !t.result);
      // Target health is read once per target group per poll, shared by services.
      const targetHealthCache = new Map<string, Promise<TargetHealthDescription[]>>();
      const targetHealth = (arn: string) => {
        let cached = targetHealthCache.get(arn);
        if (!cached) {
          cached = Promise.all([clients.elbv2(), import('@aws-sdk/client-elastic-load-balancing-v2')])
            .then(([elb, { DescribeTargetHealthCommand }]) =>
              elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }), { abortSignal: signal }),
            )
            .then((r) => r.TargetHealthDescriptions ?? []);
          targetHealthCache.set(arn, cached);
        }
        return cached;
      };
      await Promise.all(
        live.map(async (t) => {
          const service = services.get(t.target.service)!;
          const sd = t.serviceDeploymentArn ? serviceDeployments.get(t.serviceDeploymentArn) : undefined;
          const verdict = judgeRollout(t.target, service, sd, waitFor);
          let state = verdict.state;
          let outcome = verdict.outcome;
          if (verdict.checkTasks) {
            const health = await newTasksHealthy(
              clients,
              cluster,
              verdict.checkTasks.service,
              verdict.checkTasks.primary,
              targetHealth,
              t.taskCache,
              signal,
            );
            state = `${state}; ${health.state}`;
            if (health.healthy) outcome = { ok: true };
          }
          if (state !== t.state) {
            t.state = state;
            changed = true;
            log.info(`${t.target.service}: ${state}`);
          }
          if (outcome) {
            changed = true;
            if (outcome.ok) {
              finish(t, true, state);
              log.info(
                `✓ ${t.target.service}: ${shortTaskDefinition(t.target.taskDefinition)} ${waitFor === 'steady' ? 'steady (deployment COMPLETED)' : 'running and healthy'} after ${formatDuration(Date.now() - started)}`,
              );
            } else {
              finish(t, false, state, { kind: outcome.kind, reason: outcome.reason });
              log.error(`✗ ${t.target.service}: ${outcome.reason}`);
            }
          }
        }),
      );
      consecutiveErrors = 0;
    } catch (err) {
      if (signal?.aborted) {
        for (const t of pendingNow()) {
          finish(t, false, t.state ?? 'starting', {
            kind: 'cancelled',
            reason: `cancelled while ${t.state ?? 'starting'}`,
          });
        }
        break;
      }
      consecutiveErrors++;
      log.warning(`${label}: polling failed (${consecutiveErrors}/3): ${errorMessage(err)}`);
      if (consecutiveErrors >= 3) {
        for (const t of pendingNow()) {
          finish(t, false, t.state ?? 'unknown', {
            kind: 'unobservable',
            reason: `cannot read the rollout's state: ${errorMessage(err)}`,
          });
        }
        break;
      }
    }
    if (pendingNow().length === 0) break;
    const firstFailure = options.stopOnFirstFailure && trackers.find((t) => t.result && !t.result.ok);
    if (firstFailure) {
      for (const t of pendingNow()) {
        finish(t, false, t.state ?? 'starting', {
          kind: 'aborted',
          reason: `stopped following it because ${firstFailure.target.service} failed (last state: ${t.state ?? 'starting'})`,
        });
      }
      break;
    }
    if (Date.now() >= deadline) {
      for (const t of pendingNow()) {
        finish(t, false, t.state ?? 'starting', {
          kind: 'timeout',
          reason: `not done after ${formatDuration(options.timeoutMs)} (last state: ${t.state ?? 'starting'})`,
        });
        log.error(`✗ ${t.target.service}: timed out after ${formatDuration(options.timeoutMs)}: ${t.state}`);
      }
      break;
    }
    if (changed) heartbeat.changed();
    else heartbeat.tick();
    try {
      await sleep(Math.min(interval.next(changed), Math.max(0, deadline - Date.now())), signal);
    } catch {
      // Cancelled: the next iteration records it.
    }
  }
  return trackers.map((t) => t.result!);
}
