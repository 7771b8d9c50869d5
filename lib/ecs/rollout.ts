/**
 * Following several service rollouts with one poll loop: poll (DescribeServices
 * in chunks of 10, then within the poll budget of follow/poll-budget.ts only what
 * changed: the ServiceDeployment of a failing service, the new tasks and target
 * health of a service whose new targets are in question) → judge each service →
 * report its progress → wait (follow/pace.ts), until the termination rules
 * (follow/termination.ts) end it.
 */
import type { Deployment, Service, ServiceDeployment, Task } from '@aws-sdk/client-ecs';
import type { TargetHealthDescription } from '@aws-sdk/client-elastic-load-balancing-v2';
import { outageBackoffMs, withDeadline } from '../aws/retry.js';
import type { Log } from '../log.js';
import { systemClock, type Clock } from '../time.js';
import type { EcsClients } from './clients.js';
import { judgeRollout, type Outcome, type Verdict } from './follow/judge.js';
import { PollPace } from './follow/pace.js';
import {
  chooseDetailReads,
  isThrottling,
  serviceFingerprint,
  type DetailRequest,
} from './follow/poll-budget.js';
import { FollowProgress, type ProgressEvent } from './follow/progress.js';
import {
  findServiceDeployment,
  readServiceDeployments,
  type ServiceDeploymentLookup,
} from './follow/service-deployments.js';
import { endedRollout, followEnding, type Ending } from './follow/termination.js';
import { describeServices } from './services.js';
import { judgeTargetHealth, isRunningTaskOf, type TargetHealthJudgement } from './target-health.js';
import { describeTasks, listTaskArns } from './tasks.js';

/** The default poll interval bounds: the end of a rollout is seen about 1 s after it happens. */
export const DEFAULT_MIN_INTERVAL_MS = 1000;
export const DEFAULT_MAX_INTERVAL_MS = 2000;
/**
 * Target health in question is read again after this many longest intervals even when
 * ECS showed no change (10 s by default): longer than a new target's usual wait for its
 * health checks, so a release that ECS reacts to reads it once, when the change comes.
 */
export const HEALTH_FALLBACK_INTERVALS = 5;

/**
 * healthy: new tasks healthy in their target groups; steady: deployment COMPLETED;
 * test-traffic: a BLUE_GREEN/LINEAR/CANARY deployment has green on its test listener and is
 * held (or further) at POST_TEST_TRAFFIC_SHIFT, the release gate; rolling services as healthy.
 */
export type WaitFor = 'healthy' | 'steady' | 'test-traffic';

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
  /** What DescribeServices last showed of it (poll-budget.ts serviceFingerprint). */
  fingerprint?: string;
  /** When it was last read in detail (clock ms): the longest-waiting goes first. */
  detailAt: number;
  /** A detail read it needed was deferred by the budget or failed: due at the next poll whatever changed. */
  detailOwed: boolean;
  /** While its new tasks' target health is in question: the last read of it. */
  health?: { fingerprint: string; readAt: number; state?: string };
}

/** The tasks of a service from the last poll, and the deployment counts they were read at. */
interface TaskCache {
  key?: string;
  tasks?: Task[];
  /** Every deployment's counts when listed: another deployment's task may have stopped since. */
  allCounts?: string;
}

/** The running and pending counts of the service and of each of its deployments. */
function allCounts(service: Service): string {
  return [
    service.runningCount,
    service.pendingCount,
    ...(service.deployments ?? []).map((d) => `${d.id}:${d.runningCount}:${d.pendingCount}`),
  ].join('|');
}

/** The task list changes only when the new deployment's counts do: it is reused meanwhile. */
function taskCacheKey(primary: Deployment): string {
  return `${primary.id}/${primary.runningCount}/${primary.pendingCount}/${primary.failedTasks}`;
}

/**
 * Are all new tasks of a service RUNNING and healthy in every target group?
 * lib/ecs/target-health.ts judges each group; stale targets are not this wait's concern.
 */
function judgeNewTasks(
  service: Service,
  primary: Deployment,
  tasks: readonly Task[],
  targetHealth: ReadonlyMap<string, TargetHealthDescription[]>,
): { healthy: boolean; state: string } {
  const balancers = targetGroupsOf(service);
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
        descriptions: targetHealth.get(lb.targetGroupArn!) ?? [],
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

function targetGroupsOf(service: Service) {
  return (service.loadBalancers ?? []).filter((lb) => lb.targetGroupArn);
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
    detailAt: Number.NEGATIVE_INFINITY,
    detailOwed: false,
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
  /** The first failed read that was not throttling. */
  error?: unknown;
  /** A read throttled past the SDK's retries (the poll's other reads still count). */
  throttled?: unknown;
}

/** What one poll found out about one service from DescribeServices, and what it asks to read next. */
interface Planned {
  tracker: Tracker;
  service: Service;
  fingerprint: string;
  verdict: Verdict;
  request?: DetailRequest<Tracker>;
}

/** Settled reads of one poll: by ServiceDeployment ARN, by service, by target group. */
interface DetailReads {
  serviceDeployments: Map<string, ServiceDeployment>;
  serviceDeploymentsFailed?: unknown;
  tasks: Map<Tracker, Task[] | { error: unknown }>;
  targetHealth: Map<string, TargetHealthDescription[] | { error: unknown }>;
}

/**
 * Decides, from DescribeServices alone, what a service needs read further:
 * its ServiceDeployment when deployments[] points at a failure, its tasks and
 * target health while its new tasks' health is in question (poll-budget.ts).
 */
function plan(
  tracker: Tracker,
  service: Service,
  waitFor: WaitFor,
  now: number,
  healthFallbackMs: number,
): Planned {
  const fingerprint = serviceFingerprint(service);
  const due = fingerprint !== tracker.fingerprint || tracker.detailOwed;
  const verdict = judgeRollout(tracker.target, service, undefined, waitFor);
  const ours = (service.deployments ?? []).find((d) =>
    tracker.target.deploymentId
      ? d.id === tracker.target.deploymentId
      : d.taskDefinition === tracker.target.taskDefinition,
  );
  const sd = tracker.serviceDeployment;
  const wantsServiceDeployment =
    sd.available && due && (verdict.outcome?.ok === false || (ours?.failedTasks ?? 0) > 0);
  let tasks: DetailRequest<Tracker>['tasks'];
  let targetGroups: string[] | undefined;
  let priority: DetailRequest<Tracker>['priority'] = wantsServiceDeployment ? 'failure' : 'changed';
  if (verdict.checkTasks) {
    const { primary } = verdict.checkTasks;
    const health = tracker.health;
    const groups = [...new Set(targetGroupsOf(service).map((lb) => lb.targetGroupArn!))];
    const changed = due || (health !== undefined && health.fingerprint !== fingerprint);
    const stale = health !== undefined && now - health.readAt >= healthFallbackMs;
    // Just running, with old tasks still to replace: the new targets are registering, not
    // healthy yet; list the tasks now, read their health once ECS shows a change (it stops an
    // old task once a new one is healthy) or the fallback period passed, not before. Nothing
    // left to replace (done, or no old deployment): no change will come, read it now.
    const hintExpected = (service.deployments ?? []).length > 1 && primary.rolloutState !== 'COMPLETED';
    const entering = health === undefined && groups.length > 0 && hintExpected;
    if (!entering && (health === undefined || changed || stale)) {
      targetGroups = groups;
      if (!changed && !wantsServiceDeployment) priority = 'fallback';
    }
    if ((entering || targetGroups) && tracker.taskCache.key !== taskCacheKey(primary))
      tasks = { expectedTasks: (service.runningCount ?? 0) + (service.pendingCount ?? 0) };
  }
  const wanted = wantsServiceDeployment || tasks || targetGroups;
  return {
    tracker,
    service,
    fingerprint,
    verdict,
    ...(wanted
      ? {
          request: {
            key: tracker,
            ...(wantsServiceDeployment ? { serviceDeployment: { lookup: !sd.arn } } : {}),
            ...(tasks ? { tasks } : {}),
            ...(targetGroups ? { targetGroups } : {}),
            priority,
            waitingSince: tracker.detailAt,
          },
        }
      : {}),
  };
}

/** The chosen detail reads, each settled on its own: one throttled read spoils only its services. */
async function readDetails(
  clients: EcsClients,
  chosen: readonly DetailRequest<Tracker>[],
  options: FollowOptions,
): Promise<DetailReads> {
  const { cluster, log, signal } = options;
  const reads: DetailReads = { serviceDeployments: new Map(), tasks: new Map(), targetHealth: new Map() };
  const lookups = chosen.filter((r) => r.serviceDeployment).map((r) => r.key.serviceDeployment);
  const listing = chosen.filter((r) => r.tasks).map((r) => r.key);
  const groups = [...new Set(chosen.flatMap((r) => r.targetGroups ?? []))];
  const readServiceDeploymentsOfPoll = async () => {
    try {
      await Promise.all(
        lookups.filter((l) => !l.arn).map((l) => findServiceDeployment(clients.ecs, cluster, l, signal)),
      );
      await readServiceDeployments(clients.ecs, lookups, reads.serviceDeployments, log, signal);
    } catch (error) {
      reads.serviceDeploymentsFailed = error;
    }
  };
  const readTasks = async () => {
    const listed = await Promise.allSettled(
      listing.map((t) =>
        listTaskArns(clients.ecs, {
          cluster,
          serviceName: t.target.service,
          desiredStatus: 'RUNNING',
          signal,
        }),
      ),
    );
    const arns = listed.flatMap((l) => (l.status === 'fulfilled' ? l.value : []));
    let described: Task[] | { error: unknown } = [];
    if (arns.length)
      described = await describeTasks(clients.ecs, cluster, arns, signal).catch((error) => ({ error }));
    listing.forEach((t, i) => {
      const list = listed[i]!;
      if (list.status === 'rejected') reads.tasks.set(t, { error: list.reason });
      else if ('error' in described) reads.tasks.set(t, described);
      else {
        const mine = new Set(list.value);
        reads.tasks.set(
          t,
          described.filter((task) => mine.has(task.taskArn ?? '')),
        );
      }
    });
  };
  const readTargetHealth = async () => {
    if (!groups.length) return;
    const [elb, { DescribeTargetHealthCommand }] = await Promise.all([
      clients.elbv2(),
      import('@aws-sdk/client-elastic-load-balancing-v2'),
    ]);
    await Promise.all(
      groups.map(async (arn) => {
        try {
          const reply = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }), {
            abortSignal: signal,
          });
          reads.targetHealth.set(arn, reply.TargetHealthDescriptions ?? []);
        } catch (error) {
          reads.targetHealth.set(arn, { error });
        }
      }),
    );
  };
  await Promise.all([readServiceDeploymentsOfPoll(), readTasks(), readTargetHealth()]);
  return reads;
}

const WAITING_FOR_HEALTH_CHECKS = 'new targets registering, health not read yet';

/** Keeps a service's fresh task list while the counts stand, once every new task runs (until then their states still change). */
function cacheTasks(
  tracker: Tracker,
  service: Service,
  primary: Deployment,
  read: Task[] | { error: unknown } | undefined,
): void {
  if (!read || 'error' in read) return;
  const running = read.filter((t) => isRunningTaskOf(t, primary.taskDefinition ?? ''));
  if (running.length >= (primary.desiredCount ?? 0))
    Object.assign(tracker.taskCache, {
      key: taskCacheKey(primary),
      tasks: read,
      allCounts: allCounts(service),
    });
  else delete tracker.taskCache.key;
}

/**
 * Judges one service from DescribeServices and what was read in detail.
 * `failed`: a read it needed failed (the service keeps its last state).
 */
function judgePlanned(
  p: Planned,
  reads: DetailReads | undefined,
  waitFor: WaitFor,
  now: number,
): { observation?: Observation; failed?: unknown } {
  const { tracker, service, fingerprint, request } = p;
  const keep = (): Observation => ({ tracker, state: tracker.state ?? p.verdict.state });
  let verdict = p.verdict;
  if (request?.serviceDeployment) {
    if (!reads) return { observation: keep() };
    if (reads.serviceDeploymentsFailed !== undefined)
      return { observation: keep(), failed: reads.serviceDeploymentsFailed };
    const arn = tracker.serviceDeployment.arn;
    verdict = judgeRollout(
      tracker.target,
      service,
      arn ? reads.serviceDeployments.get(arn) : undefined,
      waitFor,
    );
  }
  if (verdict.outcome || !verdict.checkTasks) {
    if (!verdict.checkTasks) delete tracker.health;
    return {
      observation: {
        tracker,
        state: verdict.state,
        ...(verdict.outcome ? { outcome: verdict.outcome } : {}),
      },
    };
  }
  const { primary } = verdict.checkTasks;
  const waiting = tracker.health?.state ?? WAITING_FOR_HEALTH_CHECKS;
  if (!request?.targetGroups) {
    if (request?.tasks && reads) cacheTasks(tracker, service, primary, reads.tasks.get(tracker));
    // Entering the wait for its targets: the fallback period counts from now.
    tracker.health ??= { fingerprint, readAt: now, state: WAITING_FOR_HEALTH_CHECKS };
    return { observation: { tracker, state: `${verdict.state}; ${waiting}` } };
  }
  if (!reads) return { observation: { tracker, state: `${verdict.state}; ${waiting}` } };
  let tasks = tracker.taskCache.tasks;
  if (request.tasks) {
    const read = reads.tasks.get(tracker);
    if (!read || 'error' in read)
      return { observation: keep(), failed: read && 'error' in read ? read.error : undefined };
    tasks = read;
    cacheTasks(tracker, service, primary, read);
  }
  const health = new Map<string, TargetHealthDescription[]>();
  for (const arn of request.targetGroups) {
    const read = reads.targetHealth.get(arn);
    if (!read || 'error' in read)
      return { observation: keep(), failed: read && 'error' in read ? read.error : undefined };
    health.set(arn, read);
  }
  const judged = judgeNewTasks(service, primary, tasks ?? [], health);
  tracker.health = { fingerprint, readAt: now, state: judged.state };
  // Not healthy by a list read before some task of another deployment (of the same revision,
  // e.g. ECS's own rollback) stopped or started: list again next poll rather than trust it.
  if (!judged.healthy && !request.tasks && tracker.taskCache.allCounts !== allCounts(service))
    delete tracker.taskCache.key;
  // Tasks not all RUNNING yet although the counts say so: read them again next poll.
  if (tracker.taskCache.key === undefined) tracker.detailOwed = true;
  return {
    observation: {
      tracker,
      state: `${verdict.state}; ${judged.state}`,
      ...(judged.healthy ? { outcome: { ok: true } } : {}),
    },
  };
}

/**
 * One poll: DescribeServices for every pending rollout, then the detail reads
 * the poll budget allows (follow/poll-budget.ts), then a judgement of each.
 * Never throws: a failed read ends the poll with `error` (or `throttled`),
 * keeping what was judged.
 */
async function pollRollouts(
  clients: EcsClients,
  pending: Tracker[],
  options: FollowOptions,
  now: () => number,
): Promise<Poll> {
  const { cluster, signal, waitFor } = options;
  const observations: Observation[] = [];
  const healthFallbackMs = HEALTH_FALLBACK_INTERVALS * (options.maxIntervalMs ?? DEFAULT_MAX_INTERVAL_MS);
  let described: Awaited<ReturnType<typeof describeServices>>;
  try {
    described = await describeServices(
      clients.ecs,
      cluster,
      pending.map((t) => t.target.service),
      signal,
    );
  } catch (error) {
    return isThrottling(error) ? { observations, throttled: error } : { observations, error };
  }
  const { services, missing } = described;
  for (const gone of missing) {
    const tracker = pending.find((p) => p.target.service === gone.name)!;
    observations.push({ tracker, state: 'gone', gone: gone.reason });
  }
  const live = pending.filter((t) => services.has(t.target.service));
  const planned = live.map((t) => plan(t, services.get(t.target.service)!, waitFor, now(), healthFallbackMs));
  const { chosen, deferred } = chooseDetailReads(planned.flatMap((p) => (p.request ? [p.request] : [])));
  let reads: DetailReads | undefined;
  let error: unknown;
  let throttled: unknown;
  try {
    reads = chosen.length ? await readDetails(clients, chosen, options) : undefined;
  } catch (err) {
    error = err;
  }
  const readAt = now();
  const deferredTrackers = new Set(deferred.map((r) => r.key));
  for (const p of planned) {
    p.tracker.fingerprint = p.fingerprint;
    if (deferredTrackers.has(p.tracker)) {
      // Over this poll's budget: it keeps its last state, and is read first next poll
      // (a fallback read stays due by the fallback period alone).
      if (p.request?.priority !== 'fallback') p.tracker.detailOwed = true;
      observations.push({ tracker: p.tracker, state: p.tracker.state ?? p.verdict.state });
      continue;
    }
    const { observation, failed } = judgePlanned(p, p.request ? reads : undefined, waitFor, readAt);
    if (p.request) {
      if (failed !== undefined || !reads) p.tracker.detailOwed = true;
      else {
        p.tracker.detailAt = readAt;
        if (p.tracker.taskCache.key !== undefined || !p.request.tasks) p.tracker.detailOwed = false;
      }
    }
    if (failed !== undefined) {
      if (isThrottling(failed)) throttled ??= failed;
      else error ??= failed;
    }
    if (observation) observations.push(observation);
  }
  return {
    observations,
    ...(error !== undefined ? { error } : {}),
    ...(throttled !== undefined ? { throttled } : {}),
  };
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
  const pace = new PollPace(
    options.minIntervalMs ?? DEFAULT_MIN_INTERVAL_MS,
    options.maxIntervalMs ?? DEFAULT_MAX_INTERVAL_MS,
  );
  const progress = new FollowProgress({
    log: options.log,
    label: options.label ?? 'deploy',
    waitFor: options.waitFor,
    clock,
    heartbeatMs: options.heartbeatMs ?? 30_000,
    waitingFor: () =>
      pending().map((t) => ({ service: t.target.service, ...(t.state ? { state: t.state } : {}) })),
  });
  const errors: PollErrors = { consecutive: 0 };
  while (pending().length > 0) {
    const step = await pollStep(clients, pending(), options, clock, deadline, errors);
    const { events } = step;
    const ending = followEnding({
      cancelled: step.cancelled,
      consecutiveErrors: errors.consecutive,
      lastError: errors.last,
      pending: pending().length,
      ...firstFailure(trackers, options),
      now: clock.now(),
      deadline,
      timeoutMs: options.timeoutMs,
    });
    if (ending && ending !== 'done') events.push(...recordEnding(pending(), ending, clock.now()));
    const wait = nextWait(pace, step, pending(), errors, Math.max(0, deadline - clock.now()));
    if (!ending) events.push(...waitingEvents(step, errors, pace, wait));
    progress.report(events);
    if (ending) break;
    progress.waiting(step.changed);
    // A cancelled sleep ends early: the next iteration records the cancellation.
    await clock.sleep(wait, signal).catch(() => undefined);
  }
  return trackers.map((t) => t.result!);
}

/** Polls that failed in a row, and the last one's error: an outage is backed off until the deadline. */
interface PollErrors {
  consecutive: number;
  last?: unknown;
}

/** What one poll saw, recorded on the trackers. */
interface PollStep {
  events: ProgressEvent[];
  changed: boolean;
  throttled?: unknown;
  cancelled: boolean;
}

/** One poll of the pending rollouts (none once cancelled), recorded; a failed poll is counted in `errors`. */
async function pollStep(
  clients: EcsClients,
  pending: Tracker[],
  options: FollowOptions,
  clock: Clock,
  deadline: number,
  errors: PollErrors,
): Promise<PollStep> {
  const { signal } = options;
  if (signal?.aborted) return { events: [], changed: false, cancelled: true };
  // No read outlives the deadline, whatever the SDK's retries.
  const pollSignal = withDeadline(signal, deadline - clock.now());
  const poll = await pollRollouts(clients, pending, { ...options, signal: pollSignal }, () => clock.now());
  const events = recordObservations(poll.observations, clock.now());
  let cancelled = false;
  if (poll.error === undefined) errors.consecutive = 0;
  else if (signal?.aborted) cancelled = true;
  else if (pollSignal.aborted) {
    // Cut short by the deadline, not failed: AWS answered until then as far as this poll knows.
  } else {
    errors.last = poll.error;
    errors.consecutive += 1;
  }
  return {
    events,
    changed: events.length > 0,
    ...(poll.throttled !== undefined ? { throttled: poll.throttled } : {}),
    cancelled,
  };
}

/**
 * How long until the next poll, never past the deadline (`leftMs`). While AWS
 * cannot be read: back off (capped, with jitter) and keep trying until the
 * deadline. Throttled: slow down (pace.ts), never fail for it.
 */
function nextWait(
  pace: PollPace,
  step: PollStep,
  pending: readonly Tracker[],
  errors: PollErrors,
  leftMs: number,
): number {
  const paced = pace.next({
    changed: step.changed,
    targetsInQuestion: pending.some((t) => t.health !== undefined),
    throttled: step.throttled !== undefined,
    services: pending.length,
  });
  return Math.min(
    errors.consecutive > 0 ? Math.max(outageBackoffMs(errors.consecutive), paced) : paced,
    leftMs,
  );
}

/** What to report while the follow goes on: polls failing, or ECS throttling them. */
function waitingEvents(step: PollStep, errors: PollErrors, pace: PollPace, wait: number): ProgressEvent[] {
  const events: ProgressEvent[] = [];
  if (errors.consecutive > 0)
    events.push({
      kind: 'poll-failed',
      consecutive: errors.consecutive,
      error: errors.last,
      retryInMs: wait,
    });
  if (step.throttled !== undefined)
    events.push({
      kind: 'throttled',
      slowdown: pace.throttleSlowdown,
      nextInMs: wait,
      error: step.throttled,
    });
  return events;
}

/** With stopOnFirstFailure: the first service (in target order) that failed. */
function firstFailure(trackers: readonly Tracker[], options: FollowOptions): { firstFailure?: string } {
  if (!options.stopOnFirstFailure) return {};
  const failed = trackers.find((t) => t.result && !t.result.ok);
  return failed ? { firstFailure: failed.target.service } : {};
}
