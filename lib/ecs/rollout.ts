/**
 * Following several service rollouts with one poll loop: poll (DescribeServices
 * in chunks of 10, the ServiceDeployment API where the service has it, and, for
 * `healthy`, the new tasks' target health) → judge each service → report its
 * progress → wait, until the termination rules (follow/termination.ts) end it.
 */
import type { Deployment, Service, ServiceDeployment, Task } from '@aws-sdk/client-ecs';
import type { TargetHealthDescription } from '@aws-sdk/client-elastic-load-balancing-v2';
import { outageBackoffMs, withDeadline } from '../aws/retry.js';
import type { Log } from '../log.js';
import { AdaptiveInterval, systemClock, type Clock } from '../time.js';
import type { EcsClients } from './clients.js';
import { judgeRollout, type Outcome } from './follow/judge.js';
import { FollowProgress, type ProgressEvent } from './follow/progress.js';
import {
  findServiceDeployment,
  readServiceDeployments,
  type ServiceDeploymentLookup,
} from './follow/service-deployments.js';
import { endedRollout, followEnding, type Ending } from './follow/termination.js';
import { describeServices } from './services.js';
import { judgeTargetHealth, isRunningTaskOf, type TargetHealthJudgement } from './target-health.js';
import { listServiceTasks } from './tasks.js';

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
  /** Epoch ms (the clock's) when the outcome was seen. */
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
  /** Default: the system clock. Tests pass manualClock(). */
  clock?: Clock;
}

interface Tracker {
  target: RolloutTarget;
  serviceDeployment: ServiceDeploymentLookup;
  taskCache: TaskCache;
  state?: string;
  result?: RolloutResult;
}

/** The tasks of a service from the last poll, and the deployment counts they were read at. */
interface TaskCache {
  key?: string;
  tasks?: Task[];
}

/** The service's RUNNING tasks, reused while the deployment's counts stand still. */
async function runningTasks(
  clients: EcsClients,
  cluster: string,
  service: Service,
  primary: Deployment,
  taskCache: TaskCache,
  signal?: AbortSignal,
): Promise<Task[]> {
  // The task list changes only when the deployment's counts do: reuse it meanwhile.
  const key = `${primary.id}/${primary.runningCount}/${primary.pendingCount}/${primary.failedTasks}/${service.runningCount}`;
  if (taskCache.key === key && taskCache.tasks) return taskCache.tasks;
  const tasks = await listServiceTasks(clients.ecs, {
    cluster,
    serviceName: service.serviceName,
    desiredStatus: 'RUNNING',
    signal,
  });
  // Cached only once every new task runs: until then the tasks' own states still change.
  const running = tasks.filter((t) => isRunningTaskOf(t, primary.taskDefinition ?? ''));
  if (running.length >= (primary.desiredCount ?? 0)) Object.assign(taskCache, { key, tasks });
  return tasks;
}

/**
 * Are all new tasks of a service RUNNING and healthy in every target group?
 * lib/ecs/target-health.ts judges each group; stale targets are not this wait's concern.
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
  const balancers = (service.loadBalancers ?? []).filter((lb) => lb.targetGroupArn);
  // Target health is fetched while the tasks are listed (cached per poll; a rejection is handled below).
  for (const lb of balancers) void targetHealth(lb.targetGroupArn!).catch(() => undefined);
  const tasks = await runningTasks(clients, cluster, service, primary, taskCache, signal);
  const newTaskDefinitionArn = primary.taskDefinition ?? '';
  const desired = primary.desiredCount ?? 0;
  const fresh = tasks.filter((t) => isRunningTaskOf(t, newTaskDefinitionArn));
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
  const judgements: TargetHealthJudgement[] = [];
  for (const lb of balancers) {
    judgements.push(
      judgeTargetHealth({
        tasks,
        descriptions: await targetHealth(lb.targetGroupArn!),
        newTaskDefinitionArn,
        containerName: lb.containerName ?? '',
        containerPort: lb.containerPort ?? 0,
        desiredCount: desired,
        failOnStaleTargets: false,
      }),
    );
  }
  if (judgements.every((j) => j.ok)) {
    return {
      healthy: true,
      state: `${fresh.length}/${desired} new tasks healthy in ${balancers.length} target group(s)`,
    };
  }
  const notHealthy = judgements.flatMap((j) =>
    j.notServing.map((n) => `${n.state}${n.reason ? ` (${n.reason})` : ''}`),
  );
  const total = fresh.length * balancers.length;
  const counts = new Map<string, number>();
  for (const s of notHealthy) counts.set(s, (counts.get(s) ?? 0) + 1);
  return {
    healthy: false,
    state: `${total - notHealthy.length}/${total} new targets healthy; ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')}`,
  };
}

function newTracker(target: RolloutTarget): Tracker {
  return {
    target,
    serviceDeployment: {
      service: target.service,
      taskDefinition: target.taskDefinition,
      ...(target.deploymentCreatedAt ? { deploymentCreatedAt: target.deploymentCreatedAt } : {}),
      available: target.useServiceDeployments !== false,
      lookups: 0,
    },
    taskCache: {},
  };
}

/** What one poll saw of one pending rollout. */
interface Observation {
  tracker: Tracker;
  state: string;
  outcome?: Outcome;
  /** The service no longer exists (the reason DescribeServices gave). */
  gone?: string;
}

/** One poll's observations, and the error that cut it short (its observations are still valid). */
interface Poll {
  observations: Observation[];
  error?: unknown;
}

/** Target health read once per target group per poll, shared by the services behind it. */
function targetHealthOfThisPoll(
  clients: EcsClients,
  signal?: AbortSignal,
): (targetGroupArn: string) => Promise<TargetHealthDescription[]> {
  const cache = new Map<string, Promise<TargetHealthDescription[]>>();
  return (arn) => {
    let cached = cache.get(arn);
    if (!cached) {
      cached = Promise.all([clients.elbv2(), import('@aws-sdk/client-elastic-load-balancing-v2')])
        .then(([elb, { DescribeTargetHealthCommand }]) =>
          elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }), { abortSignal: signal }),
        )
        .then((r) => r.TargetHealthDescriptions ?? []);
      cache.set(arn, cached);
    }
    return cached;
  };
}

/**
 * One poll: reads AWS once for every pending rollout and judges each. Never
 * throws: a failed read ends the poll with `error`, keeping what was judged.
 */
async function pollRollouts(clients: EcsClients, pending: Tracker[], options: FollowOptions): Promise<Poll> {
  const { cluster, log, signal, waitFor } = options;
  const observations: Observation[] = [];
  try {
    const lookups = pending.map((t) => t.serviceDeployment);
    const unknown = lookups.filter((l) => l.available && !l.arn);
    // Service deployments already found are read in parallel with the services.
    const serviceDeployments = new Map<string, ServiceDeployment>();
    const [{ services, missing }] = await Promise.all([
      describeServices(
        clients.ecs,
        cluster,
        pending.map((t) => t.target.service),
        signal,
      ),
      readServiceDeployments(
        clients.ecs,
        lookups.filter((l) => l.arn),
        serviceDeployments,
        log,
        signal,
      ),
      Promise.all(unknown.map((l) => findServiceDeployment(clients.ecs, cluster, l, signal))),
    ]);
    // Found just now: read them too before judging.
    await readServiceDeployments(
      clients.ecs,
      unknown.filter((l) => l.arn),
      serviceDeployments,
      log,
      signal,
    );
    for (const gone of missing) {
      const tracker = pending.find((p) => p.target.service === gone.name)!;
      observations.push({ tracker, state: 'gone', gone: gone.reason });
    }
    const targetHealth = targetHealthOfThisPoll(clients, signal);
    const live = pending.filter((t) => !missing.some((m) => m.name === t.target.service));
    const judged = await Promise.allSettled(
      live.map(async (tracker): Promise<Observation> => {
        const { arn } = tracker.serviceDeployment;
        const sd = arn ? serviceDeployments.get(arn) : undefined;
        const verdict = judgeRollout(tracker.target, services.get(tracker.target.service)!, sd, waitFor);
        if (!verdict.checkTasks)
          return { tracker, state: verdict.state, ...(verdict.outcome ? { outcome: verdict.outcome } : {}) };
        const { service, primary } = verdict.checkTasks;
        const health = await newTasksHealthy(
          clients,
          cluster,
          service,
          primary,
          targetHealth,
          tracker.taskCache,
          signal,
        );
        return {
          tracker,
          state: `${verdict.state}; ${health.state}`,
          ...(health.healthy ? { outcome: { ok: true } } : {}),
        };
      }),
    );
    for (const j of judged) if (j.status === 'fulfilled') observations.push(j.value);
    const failed = judged.find((j) => j.status === 'rejected');
    return { observations, ...(failed ? { error: failed.reason } : {}) };
  } catch (error) {
    return { observations, error };
  }
}

/** Records what a poll saw on the trackers; returns what to report. */
function recordObservations(observations: readonly Observation[], now: number): ProgressEvent[] {
  const events: ProgressEvent[] = [];
  for (const { tracker: t, state, outcome, gone } of observations) {
    const service = t.target.service;
    if (gone !== undefined) {
      const reason = `the service no longer exists (${gone})`;
      t.result = result(t, false, 'gone', now, { kind: 'service-gone', reason });
      events.push({ kind: 'gone', service, reason: gone });
      continue;
    }
    if (state !== t.state) {
      t.state = state;
      events.push({ kind: 'state', service, state });
    }
    if (!outcome) continue;
    if (outcome.ok) {
      t.result = result(t, true, state, now);
      events.push({ kind: 'succeeded', service, taskDefinition: t.target.taskDefinition });
    } else {
      t.result = result(t, false, state, now, { kind: outcome.kind, reason: outcome.reason });
      events.push({ kind: 'failed', service, reason: outcome.reason });
    }
  }
  return events;
}

/** Ends every rollout still pending as `ending` says; returns what to report. */
function recordEnding(pending: readonly Tracker[], ending: Ending, now: number): ProgressEvent[] {
  const events: ProgressEvent[] = [];
  for (const t of pending) {
    const { state, failure } = endedRollout(ending, t.state);
    t.result = result(t, false, state, now, failure);
    if (ending.kind === 'timeout') {
      events.push({
        kind: 'timed-out',
        service: t.target.service,
        timeoutMs: ending.timeoutMs,
        state: t.state,
      });
    }
    if (ending.kind === 'unobservable')
      events.push({ kind: 'failed', service: t.target.service, reason: failure.reason });
  }
  return events;
}

function result(
  t: Tracker,
  ok: boolean,
  state: string,
  finishedAt: number,
  failure?: RolloutResult['failure'],
): RolloutResult {
  return {
    service: t.target.service,
    taskDefinition: t.target.taskDefinition,
    ok,
    state,
    finishedAt,
    ...(failure ? { failure } : {}),
  };
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
  const { signal } = options;
  const clock = options.clock ?? systemClock;
  const trackers = targets.map(newTracker);
  const pending = () => trackers.filter((t) => !t.result);
  const deadline = clock.now() + options.timeoutMs;
  const interval = new AdaptiveInterval(options.minIntervalMs ?? 1000, options.maxIntervalMs ?? 2000);
  const progress = new FollowProgress({
    log: options.log,
    label: options.label ?? 'deploy',
    waitFor: options.waitFor,
    clock,
    heartbeatMs: options.heartbeatMs ?? 30_000,
    waitingFor: () =>
      pending().map((t) => ({ service: t.target.service, ...(t.state ? { state: t.state } : {}) })),
  });
  let consecutiveErrors = 0;
  let lastError: unknown;
  while (pending().length > 0) {
    let cancelled = signal?.aborted ?? false;
    let events: ProgressEvent[] = [];
    let changed = false;
    if (!cancelled) {
      // No read outlives the deadline, whatever the SDK's retries.
      const pollSignal = withDeadline(signal, deadline - clock.now());
      const poll = await pollRollouts(clients, pending(), { ...options, signal: pollSignal });
      events = recordObservations(poll.observations, clock.now());
      changed = events.length > 0;
      if (poll.error === undefined) consecutiveErrors = 0;
      else if (signal?.aborted) cancelled = true;
      else if (pollSignal.aborted) {
        // Cut short by the deadline, not failed: AWS answered until then as far as this poll knows.
      } else {
        lastError = poll.error;
        consecutiveErrors += 1;
      }
    }
    const ending = followEnding({
      cancelled,
      consecutiveErrors,
      lastError,
      pending: pending().length,
      ...firstFailure(trackers, options),
      now: clock.now(),
      deadline,
      timeoutMs: options.timeoutMs,
    });
    if (ending && ending !== 'done') events.push(...recordEnding(pending(), ending, clock.now()));
    // While AWS cannot be read: back off (capped, with jitter) and keep trying until the deadline.
    const wait = Math.min(
      consecutiveErrors > 0 ? outageBackoffMs(consecutiveErrors) : interval.next(changed),
      Math.max(0, deadline - clock.now()),
    );
    if (!ending && consecutiveErrors > 0)
      events.push({ kind: 'poll-failed', consecutive: consecutiveErrors, error: lastError, retryInMs: wait });
    progress.report(events);
    if (ending) break;
    progress.waiting(changed);
    // A cancelled sleep ends early: the next iteration records the cancellation.
    await clock.sleep(wait, signal).catch(() => undefined);
  }
  return trackers.map((t) => t.result!);
}

/** With stopOnFirstFailure: the first service (in target order) that failed. */
function firstFailure(trackers: readonly Tracker[], options: FollowOptions): { firstFailure?: string } {
  if (!options.stopOnFirstFailure) return {};
  const failed = trackers.find((t) => t.result && !t.result.ok);
  return failed ? { firstFailure: failed.target.service } : {};
}
