/**
 * Services whose deployments ECS runs as BLUE_GREEN, LINEAR or CANARY: ECS
 * itself moves traffic from the running (blue) revision to the new (green)
 * one through lifecycle stages, so deploy-services follows the service
 * deployment (DescribeServiceDeployments: status, lifecycleStage, traffic
 * weights) instead of judging tasks, and rolls one back by shifting traffic
 * back (StopServiceDeployment ROLLBACK), never with a new UpdateService.
 *
 * Success is the service deployment SUCCESSFUL: after ECS's bake time and
 * CLEAN_UP; with wait-for test-traffic, green on the test listener with the
 * deployment held at POST_TEST_TRAFFIC_SHIFT by the release gate, or further. Failure: it ends ROLLBACK_* (a hook FAILED, the circuit breaker),
 * FAILED or STOPPED. A deployment held by a hook (IN_PROGRESS, e.g. at
 * POST_TEST_TRAFFIC_SHIFT waiting for a gate) is in progress until the
 * follow's timeout.
 */
import {
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  StopServiceDeploymentCommand,
  type ECSClient,
  type ServiceDeployment,
} from '@aws-sdk/client-ecs';
import { withDeadline } from '../../aws/retry.js';
import type { DeployedService, DeploymentStrategy } from '../../contracts/deployments.js';
import { errorMessage } from '../../errors.js';
import { formatDuration } from '../../time.js';
import type { DeployRun, StartedService } from '../deploy/run.js';
import { findServiceDeployment, type ServiceDeploymentLookup } from '../follow/service-deployments.js';
import { DEFAULT_MAX_INTERVAL_MS, type RolloutResult, type WaitFor } from '../rollout.js';
import { chunks } from '../services.js';
import { shortTaskDefinition } from '../taskdef.js';

/** The strategies ECS runs by shifting traffic between two target groups. */
export const TRAFFIC_SHIFT_STRATEGIES = new Set(['BLUE_GREEN', 'LINEAR', 'CANARY']);

/** Statuses a service deployment ends in without reaching its target revision. */
const FAILED_STATUSES = new Set([
  'ROLLBACK_REQUESTED',
  'ROLLBACK_IN_PROGRESS',
  'ROLLBACK_SUCCESSFUL',
  'ROLLBACK_FAILED',
  'FAILED',
  'STOPPED',
  'STOP_REQUESTED',
]);

/** What this run knows of a traffic-shift service: its strategy and service deployment. */
export interface TrafficShift {
  strategy: string;
  serviceDeploymentArn?: string;
  /** The last status and lifecycle stage seen (the summary's strategy/stage column). */
  status?: string;
  stage?: string;
}

const shifts = new WeakMap<StartedService, TrafficShift>();

/** The traffic-shift record of a started service; undefined for a rolling one. */
export function trafficShiftOf(s: StartedService): TrafficShift | undefined {
  return shifts.get(s);
}

/**
 * Each started service's strategy (DescribeServices, 10 at a time; ROLLING
 * when unset); the traffic-shift ones are recorded for the follow and rollback steps.
 */
export async function readStrategies(run: DeployRun, started: readonly StartedService[]): Promise<void> {
  const followed = started.filter((s) => s.target);
  for (const group of chunks(followed, 10)) {
    let reply;
    try {
      reply = await run.clients.ecs.send(
        new DescribeServicesCommand({ cluster: run.cluster, services: group.map((s) => s.report.service) }),
        { abortSignal: run.signal },
      );
    } catch (err) {
      // AWS cannot be read now: the follow loop rides the outage out; these are followed as rolling.
      run.log.warning(
        `Could not read the deployment strategy of ${group.map((s) => s.report.service).join(', ')} (${errorMessage(err)}): followed as rolling services`,
      );
      continue;
    }
    for (const s of group) {
      const service = reply?.services?.find(
        (d) => d.serviceName === s.report.service || d.serviceArn === s.report.service,
      );
      const strategy = service?.deploymentConfiguration?.strategy ?? 'ROLLING';
      // The deployments output and the summary say which strategy the service was followed by.
      s.report.strategy = strategy as DeploymentStrategy;
      if (TRAFFIC_SHIFT_STRATEGIES.has(strategy)) shifts.set(s, { strategy });
    }
  }
}

/**
 * The stages at which green serves the test listener: the test traffic shift is done
 * (POST_TEST_TRAFFIC_SHIFT, where the release gate holds it) or production already moves.
 */
const ON_TEST_TRAFFIC_STAGES = new Set([
  'POST_TEST_TRAFFIC_SHIFT',
  'PRODUCTION_TRAFFIC_SHIFT',
  'POST_PRODUCTION_TRAFFIC_SHIFT',
  'BAKE_TIME',
  'CLEAN_UP',
]);

/** In progress with green on the test listener (all of its test traffic at POST_TEST_TRAFFIC_SHIFT), or further. */
export function onTestTraffic(d: ServiceDeployment): boolean {
  if (d.status !== 'IN_PROGRESS' || !ON_TEST_TRAFFIC_STAGES.has(d.lifecycleStage ?? '')) return false;
  const testWeight = d.targetServiceRevision?.requestedTestTrafficWeight;
  return d.lifecycleStage !== 'POST_TEST_TRAFFIC_SHIFT' || testWeight === undefined || testWeight === 100;
}

/** The last lifecycle stage, green's production weight and revision seen, into the service's `deployments` entry. */
function recordObservation(report: DeployedService, d: ServiceDeployment): void {
  if (d.lifecycleStage) report.lifecycleStage = d.lifecycleStage;
  // What the release gate opens for (release-gate `open`): this deployment's target service revision.
  if (d.targetServiceRevision?.arn) report.serviceRevisionArn = d.targetServiceRevision.arn;
  const weight = d.targetServiceRevision?.requestedProductionTrafficWeight;
  if (weight !== undefined) report.productionTrafficWeight = weight;
}

/** One line of what a service deployment is at: status, stage and production/test weights of green. */
export function describeShift(d: ServiceDeployment): string {
  const green = d.targetServiceRevision;
  const weights =
    green?.requestedProductionTrafficWeight !== undefined
      ? `, production ${green.requestedProductionTrafficWeight}% / test ${green.requestedTestTrafficWeight ?? 0}% on green`
      : '';
  return `${d.status ?? '?'} at ${d.lifecycleStage ?? '?'}${weights}`;
}

/** Why a service deployment did not succeed, in ECS's words: its status reason, rollback reason and hooks. */
export function explainShift(strategy: string, d: ServiceDeployment): string {
  const parts = [`${strategy} deployment ${d.status ?? '?'} at ${d.lifecycleStage ?? '?'}`];
  if (d.statusReason) parts.push(d.statusReason);
  if (d.rollback?.reason && d.rollback.reason !== d.statusReason)
    parts.push(`rollback: ${d.rollback.reason}`);
  const hooks = (d.lifecycleHookDetails ?? []).filter((h) => h.status && h.status !== 'SUCCEEDED');
  for (const h of hooks) parts.push(`hook ${h.targetArn ?? h.hookId ?? '?'} ${h.status}`);
  return parts.join('; ');
}

/**
 * The verdict on one read of a service deployment: ok, failed (with why), or still in progress.
 * wait-for test-traffic: ok once green is on the test listener (held by the gate, or further).
 */
export function judgeShift(
  strategy: string,
  d: ServiceDeployment,
  waitFor: WaitFor = 'healthy',
): { ok: boolean; reason?: string } | undefined {
  if (d.status === 'SUCCESSFUL') return { ok: true };
  if (waitFor === 'test-traffic' && onTestTraffic(d)) return { ok: true };
  if (FAILED_STATUSES.has(d.status ?? '')) return { ok: false, reason: explainShift(strategy, d) };
  return undefined;
}

async function describeDeployments(ecs: ECSClient, arns: string[], signal?: AbortSignal) {
  const found = new Map<string, ServiceDeployment>();
  for (const group of chunks(arns, 20)) {
    const reply = await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: group }), {
      abortSignal: signal,
    });
    for (const d of reply.serviceDeployments ?? [])
      if (d.serviceDeploymentArn) found.set(d.serviceDeploymentArn, d);
  }
  return found;
}

interface Follower {
  s: StartedService;
  shift: TrafficShift;
  lookup: ServiceDeploymentLookup;
  seen?: string;
  result?: RolloutResult;
}

/**
 * Follows the traffic-shift services' deployments until each ends, the
 * timeout passes or the run is cancelled; a log line per change of status,
 * stage or weights. With stopOnFirstFailure, the first failure ends the wait
 * (the others end 'aborted', and are rolled back).
 */
export async function followTrafficShifts(
  run: DeployRun,
  started: readonly StartedService[],
  stopOnFirstFailure: boolean,
): Promise<RolloutResult[]> {
  const { clock, signal } = run;
  const followers = started.map(newFollower);
  const deadline = clock.now() + run.follow.timeoutMs;
  const interval = run.follow.maxIntervalMs ?? DEFAULT_MAX_INTERVAL_MS;
  const pending = () => followers.filter((f) => !f.result);
  while (pending().length) {
    if (signal?.aborted) {
      for (const f of pending())
        endFollower(run, f, false, f.seen ?? 'pending', { kind: 'cancelled', reason: 'cancelled' });
      break;
    }
    try {
      await pollShifts(run, pending);
    } catch (err) {
      if (signal?.aborted) continue;
      run.log.debug(`reading the service deployments failed, trying again: ${errorMessage(err)}`);
    }
    if (endedEarly(run, followers, stopOnFirstFailure, deadline)) break;
    if (pending().length)
      await clock
        .sleep(Math.min(interval, Math.max(0, deadline - clock.now())), signal)
        .catch(() => undefined);
  }
  return followers.map((f) => f.result!);
}

function newFollower(s: StartedService): Follower {
  return {
    s,
    shift: shifts.get(s)!,
    lookup: {
      service: s.report.service,
      taskDefinition: s.target!.taskDefinition,
      ...(s.target!.deploymentCreatedAt ? { deploymentCreatedAt: s.target!.deploymentCreatedAt } : {}),
      available: true,
      lookups: 0,
    },
  };
}

function endFollower(
  run: DeployRun,
  f: Follower,
  ok: boolean,
  state: string,
  failure?: RolloutResult['failure'],
): void {
  f.result = {
    service: f.s.report.service,
    taskDefinition: f.s.target!.taskDefinition,
    ok,
    state,
    finishedAt: run.clock.now(),
    ...(failure ? { failure } : {}),
  };
}

/** One poll: finds the service deployments not known yet, reads them all, judges each. Throws when a read fails. */
async function pollShifts(run: DeployRun, pending: () => Follower[]): Promise<void> {
  const { clients, cluster, signal } = run;
  for (const f of pending().filter((f) => !f.shift.serviceDeploymentArn)) {
    await findServiceDeployment(clients.ecs, cluster, f.lookup, signal);
    if (f.lookup.arn) f.shift.serviceDeploymentArn = f.lookup.arn;
    else if (!f.lookup.available)
      endFollower(run, f, false, 'unknown', {
        kind: 'unobservable',
        reason: `${f.shift.strategy}: its service deployment could not be found (ListServiceDeployments)`,
      });
  }
  const arns = pending()
    .map((f) => f.shift.serviceDeploymentArn)
    .filter((a): a is string => Boolean(a));
  const read = arns.length ? await describeDeployments(clients.ecs, arns, signal) : new Map();
  for (const f of pending()) {
    const d = f.shift.serviceDeploymentArn ? read.get(f.shift.serviceDeploymentArn) : undefined;
    if (d) judgeRead(run, f, d);
  }
}

/** Records one read of a follower's service deployment, logs a change, and ends it when the read says so. */
function judgeRead(run: DeployRun, f: Follower, d: ServiceDeployment): void {
  const { log } = run;
  f.shift.status = d.status;
  f.shift.stage = d.lifecycleStage;
  recordObservation(f.s.report, d);
  const now = describeShift(d);
  if (now !== f.seen) log.info(`${f.s.report.service} (${f.shift.strategy}): ${now}`);
  f.seen = now;
  const verdict = judgeShift(f.shift.strategy, d, run.follow.waitFor);
  if (verdict?.ok && d.status !== 'SUCCESSFUL')
    log.info(
      `✓ ${f.s.report.service} (${f.shift.strategy}): green ${shortTaskDefinition(f.s.target!.taskDefinition)} on the test listener, production still on blue until the release gate opens (${d.targetServiceRevision?.arn ?? 'revision unknown'})`,
    );
  if (verdict?.ok) endFollower(run, f, true, now);
  else if (verdict) endFollower(run, f, false, now, { kind: 'deployment-failed', reason: verdict.reason! });
}

/** Ends the pending followers after another service failed (stopOnFirstFailure) or at the deadline; true if so. */
function endedEarly(
  run: DeployRun,
  followers: readonly Follower[],
  stopOnFirstFailure: boolean,
  deadline: number,
): boolean {
  const pending = followers.filter((f) => !f.result);
  if (stopOnFirstFailure && followers.some((f) => f.result && !f.result.ok)) {
    for (const f of pending)
      endFollower(run, f, false, f.seen ?? 'pending', {
        kind: 'aborted',
        reason: 'not followed to the end: another service failed',
      });
    return true;
  }
  if (run.clock.now() < deadline) return false;
  for (const f of pending)
    endFollower(run, f, false, f.seen ?? 'pending', {
      kind: 'timeout',
      reason: `not SUCCESSFUL within ${formatDuration(run.follow.timeoutMs)}: ${f.seen ?? 'its service deployment was not seen'}`,
    });
  return true;
}

/** The outcome of the traffic shifts back: all ended ROLLBACK_SUCCESSFUL (or need a redeploy), and those past a shift back. */
export interface TrafficShiftRollback {
  ok: boolean;
  /**
   * Services whose deployment had already ended SUCCESSFUL (or reached CLEAN_UP: blue is
   * stopping): no blue to shift back to, so they need a new deployment of the previous revision.
   */
  redeploy: StartedService[];
}

/**
 * Rolls the traffic-shift services back by shifting traffic back: StopServiceDeployment
 * ROLLBACK (nothing to send when ECS already rolls back), then waits for
 * ROLLBACK_SUCCESSFUL and reports how long after the call production was back
 * on blue (green's requested production weight 0). Not awaited after a cancellation.
 */
export async function rollBackTrafficShifts(
  run: DeployRun,
  touched: StartedService[],
  deadline: number,
  cancelled: boolean,
): Promise<TrafficShiftRollback> {
  const redeploy: StartedService[] = [];
  const results = await Promise.all(
    touched.map(async (s) => {
      const shift = shifts.get(s)!;
      const outcome = await shiftBack(run, s, shift, deadline, cancelled);
      if (outcome === 'redeploy') redeploy.push(s);
      return outcome !== false;
    }),
  );
  return { ok: results.every(Boolean), redeploy };
}

/** One service's traffic shift back: asked for (or already under way), then awaited unless cancelled. */
async function shiftBack(
  run: DeployRun,
  s: StartedService,
  shift: TrafficShift,
  deadline: number,
  cancelled: boolean,
): Promise<boolean | 'redeploy'> {
  const begun = run.clock.now();
  const fail = failRollback(run, s);
  const arn = shift.serviceDeploymentArn;
  if (!arn) return shift.status === undefined ? 'redeploy' : fail('its service deployment is unknown');
  const requested = await requestShiftBack(run, s, shift, arn, deadline);
  if (requested !== 'started') return requested === 'redeploy' ? 'redeploy' : fail(requested.reason);
  s.report.rollback = { taskDefinition: s.report.previousTaskDefinition, status: 'started' };
  if (cancelled) return false;
  return awaitShiftBack(run, s, shift, arn, begun, deadline);
}

/** Records a failed rollback of `s` on its report and logs it; false. */
function failRollback(run: DeployRun, s: StartedService): (reason: string) => false {
  return (reason) => {
    s.report.rollback = { taskDefinition: s.report.previousTaskDefinition, status: 'failed', reason };
    run.log.error(`✗ ${s.report.service}: ${reason}`, { title: s.report.service });
    return false;
  };
}

/**
 * StopServiceDeployment ROLLBACK. A conflict means ECS already rolls it back (a
 * hook FAILED, the circuit breaker): 'started' too; or it is past rolling back
 * (blue is gone): 'redeploy'.
 */
async function requestShiftBack(
  run: DeployRun,
  s: StartedService,
  shift: TrafficShift,
  arn: string,
  deadline: number,
): Promise<'started' | 'redeploy' | { reason: string }> {
  const { clients, clock, log } = run;
  const { service, previousTaskDefinition: previous } = s.report;
  try {
    await clients.ecs.send(
      new StopServiceDeploymentCommand({ serviceDeploymentArn: arn, stopType: 'ROLLBACK' }),
      {
        abortSignal: withDeadline(undefined, Math.max(1, deadline - clock.now())),
      },
    );
    log.info(
      `${service} (${shift.strategy}): StopServiceDeployment ROLLBACK: production traffic goes back to ${shortTaskDefinition(previous)}`,
    );
    return 'started';
  } catch (err) {
    if ((err as { name?: string }).name !== 'ConflictException')
      return { reason: `the traffic shift back could not start: ${errorMessage(err)}` };
    const d = await describeDeployments(clients.ecs, [arn]).then(
      (m) => m.get(arn),
      () => undefined,
    );
    if (d) recordObservation(s.report, d);
    if (!d?.status?.startsWith('ROLLBACK')) {
      log.info(
        `${service} (${shift.strategy}): ${d ? describeShift(d) : errorMessage(err)}: blue is gone, so it goes back by a new deployment of ${shortTaskDefinition(previous)}`,
      );
      return 'redeploy';
    }
    log.info(`${service} (${shift.strategy}): ECS rolls it back itself (${d.status})`);
    return 'started';
  }
}

/**
 * Waits for ROLLBACK_SUCCESSFUL (until the deadline or a cancellation), noting
 * when green's requested production weight first read 0: production back on blue.
 */
async function awaitShiftBack(
  run: DeployRun,
  s: StartedService,
  shift: TrafficShift,
  arn: string,
  begun: number,
  deadline: number,
): Promise<boolean> {
  const { clients, clock, log, signal } = run;
  const fail = failRollback(run, s);
  let shiftedBackAt: number | undefined;
  while (clock.now() < deadline && !signal?.aborted) {
    try {
      const d = (await describeDeployments(clients.ecs, [arn], signal)).get(arn);
      if (d) {
        recordObservation(s.report, d);
        if (
          shiftedBackAt === undefined &&
          (d.targetServiceRevision?.requestedProductionTrafficWeight ?? 0) === 0
        )
          shiftedBackAt = clock.now();
        if (d.status === 'ROLLBACK_SUCCESSFUL') return recordShiftedBack(run, s, shift, begun, shiftedBackAt);
        if (d.status === 'ROLLBACK_FAILED') return fail(explainShift(shift.strategy, d));
      }
    } catch (err) {
      if (signal?.aborted) break;
      log.debug(
        `reading ${s.report.service}'s service deployment failed, trying again: ${errorMessage(err)}`,
      );
    }
    await clock.sleep(run.follow.minIntervalMs ?? 1000, signal).catch(() => undefined);
  }
  return signal?.aborted
    ? false
    : fail('the traffic shift back did not end ROLLBACK_SUCCESSFUL before the rollback deadline');
}

/** ROLLBACK_SUCCESSFUL: the report says so, with how long production took to be back on blue; true. */
function recordShiftedBack(
  run: DeployRun,
  s: StartedService,
  shift: TrafficShift,
  begun: number,
  shiftedBackAt: number | undefined,
): true {
  const { clock } = run;
  const { service, previousTaskDefinition: previous } = s.report;
  const shiftMs = (shiftedBackAt ?? clock.now()) - begun;
  s.report.rollback = {
    taskDefinition: previous,
    status: 'succeeded',
    finishedAt: new Date(clock.now()).toISOString(),
    durationMs: clock.now() - begun,
    ...(shiftedBackAt !== undefined ? { trafficShiftBackMs: shiftedBackAt - begun } : {}),
  };
  s.report.finalTaskDefinition = previous;
  run.log.info(
    `${service} (${shift.strategy}): ROLLBACK_SUCCESSFUL; production traffic back on ${shortTaskDefinition(previous)} within ${formatDuration(shiftMs)} of the rollback call, green's tasks stopped after ${formatDuration(clock.now() - begun)}`,
  );
  return true;
}
