/**
 * Step "bake": after every rollout was seen healthy (or steady), keep watching
 * the new revisions for bake-seconds. A task of the new revision that stops, a
 * rise in its deployment's failedTasks, or a new target going unhealthy in
 * that window fails the service (then the explain and roll-back steps run as
 * for any failure). A late crash is caught here, not by the next release.
 *
 * Within the follow loop's poll budget (follow/poll-budget.ts): every poll reads
 * every baking service with DescribeServices (10 a call); its tasks (ListTasks,
 * DescribeTasks 100 a call across services) and its target groups' health only
 * when DescribeServices shows a change since they were last read (a task
 * stopping changes its counts and events) or that read is older than the
 * fallback period (a target turning unhealthy before ECS reacts). Those detail
 * reads share DETAIL_CALLS_PER_POLL a poll, changed first, then longest-waiting.
 * A throttled poll slows the next ones (follow/pace.ts), it does not fail the bake.
 */
import type { Task } from '@aws-sdk/client-ecs';
import type { TargetHealthDescription } from '@aws-sdk/client-elastic-load-balancing-v2';
import { errorMessage } from '../../errors.js';
import { formatDuration } from '../../time.js';
import {
  bakeTargetGroups,
  failedTasksOf,
  judgeBake,
  judgeBakeService,
  type BakeBaseline,
} from '../follow/bake.js';
import { PollPace } from '../follow/pace.js';
import {
  chooseDetailReads,
  isThrottling,
  serviceFingerprint,
  type DetailRequest,
} from '../follow/poll-budget.js';
import { DEFAULT_MAX_INTERVAL_MS, HEALTH_FALLBACK_INTERVALS } from '../rollout.js';
import { trafficShiftOf } from '../strategies/traffic-shift.js';
import { describeServices } from '../services.js';
import { describeTasks, listTaskArns } from '../tasks.js';
import type { DeployRun, StartedService } from './run.js';

/** Reads that may fail in a row at the end of the window before the bake counts as unconfirmed. */
const FINAL_READ_ATTEMPTS = 3;

/** One baking service and what was last read of it in detail. */
interface Baking {
  s: StartedService;
  baseline?: BakeBaseline;
  /** Its DescribeServices fingerprint when its tasks and targets were last read. */
  fingerprint?: string;
  /** When they were last read (clock ms). */
  detailAt: number;
  tasks?: Task[];
}

export async function bakeDeployRollouts(
  run: DeployRun,
  started: readonly StartedService[],
  bakeMs: number,
): Promise<void> {
  // wait-for test-traffic: a traffic-shift deployment is held at the release gate, not done; ECS bakes it
  // after production shifts, and the run that adopts it then bakes it (no bake for held deployments).
  const held = run.follow.waitFor === 'test-traffic';
  const baking = started.filter(
    (s) => s.report.status === 'deployed' && s.target && !(held && trafficShiftOf(s)),
  );
  if (!bakeMs || !baking.length || run.signal?.aborted) return;
  await run.log.group(
    `Bake: watch ${baking.map((s) => s.report.service).join(', ')} for ${formatDuration(bakeMs)}`,
    () => bake(run, baking, bakeMs),
  );
}

async function bake(run: DeployRun, baking: readonly StartedService[], bakeMs: number): Promise<void> {
  const { clock, log, signal } = run;
  const begun = clock.now();
  const end = begun + bakeMs;
  const intervalMs = run.follow.maxIntervalMs ?? DEFAULT_MAX_INTERVAL_MS;
  // The bake polls at the longest interval; many services or throttling stretch it (pace.ts).
  const pace = new PollPace(intervalMs, intervalMs);
  const fallbackMs = HEALTH_FALLBACK_INTERVALS * intervalMs;
  const targetHealth = new Map<string, TargetHealthDescription[]>();
  let watching: Baking[] = baking.map((s) => ({ s, detailAt: Number.NEGATIVE_INFINITY }));
  let finalFailures = 0;
  while (watching.length) {
    if (signal?.aborted) return;
    const last = clock.now() >= end;
    let throttled = false;
    try {
      const poll = await pollBake(run, watching, targetHealth, begun, fallbackMs);
      watching = poll.still;
      if (poll.error !== undefined) throw poll.error;
      // The window is over and this read of it succeeded: confirmed.
      if (last) break;
    } catch (err) {
      if (signal?.aborted) return;
      throttled = isThrottling(err);
      log.debug(`bake: a read failed, trying again: ${errorMessage(err)}`);
      if (last && ++finalFailures >= FINAL_READ_ATTEMPTS) {
        for (const b of watching) fail(run, b.s, `could not confirm the bake: ${errorMessage(err)}`, begun);
        return;
      }
    }
    const wait = pace.next({
      changed: false,
      targetsInQuestion: false,
      throttled,
      services: watching.length,
    });
    await clock
      .sleep(last ? wait : Math.min(wait, Math.max(0, end - clock.now())), signal)
      .catch(() => undefined);
  }
  for (const b of watching) log.info(`✓ ${b.s.report.service}: stayed healthy for ${formatDuration(bakeMs)}`);
}

/**
 * One poll of the services still baking: those still healthy (the others are
 * failed), and the error of a detail read that failed (the services it was
 * for keep their last read). Throws when DescribeServices failed.
 */
async function pollBake(
  run: DeployRun,
  watching: readonly Baking[],
  targetHealth: Map<string, TargetHealthDescription[]>,
  begun: number,
  fallbackMs: number,
): Promise<{ still: Baking[]; error?: unknown }> {
  const { clients, cluster, signal, clock } = run;
  const { services } = await describeServices(
    clients.ecs,
    cluster,
    watching.map((b) => b.s.report.service),
    signal,
  );
  const now = clock.now();
  const still: Baking[] = [];
  const requests: DetailRequest<Baking>[] = [];
  for (const b of watching) {
    const service = services.get(b.s.report.service);
    if (!service) {
      fail(run, b.s, 'the service no longer exists', begun);
      continue;
    }
    b.baseline ??= { failedTasks: failedTasksOf(b.s.target!, service) };
    const verdict = judgeBakeService(b.s.target!, b.baseline, service);
    if (!verdict.ok) {
      fail(run, b.s, verdict.reason, begun);
      continue;
    }
    still.push(b);
    const changed = b.tasks === undefined || serviceFingerprint(service) !== b.fingerprint;
    if (changed || now - b.detailAt >= fallbackMs) {
      requests.push({
        key: b,
        tasks: { expectedTasks: (service.runningCount ?? 0) + (service.pendingCount ?? 0) },
        targetGroups: [
          ...new Set(
            (service.loadBalancers ?? []).flatMap((lb) => (lb.targetGroupArn ? bakeTargetGroups(lb) : [])),
          ),
        ],
        priority: changed ? 'changed' : 'fallback',
        waitingSince: b.detailAt,
      });
    }
  }
  const { chosen } = chooseDetailReads(requests);
  const groups = [...new Set(chosen.flatMap((r) => r.targetGroups ?? []))];
  let tasks: Map<Baking, Task[]>;
  try {
    const [listed, health] = await Promise.all([
      readTasks(
        run,
        chosen.map((r) => r.key),
      ),
      Promise.all(groups.map((arn) => describeTargetHealth(run, arn))),
    ]);
    tasks = listed;
    groups.forEach((arn, i) => targetHealth.set(arn, health[i]!));
  } catch (error) {
    // The services judged failed from DescribeServices stay failed; the others keep their last read.
    return { still, error };
  }
  const readAt = clock.now();
  const healthy: Baking[] = [];
  for (const b of still) {
    const service = services.get(b.s.report.service)!;
    const read = tasks.get(b);
    if (read) {
      Object.assign(b, { tasks: read, fingerprint: serviceFingerprint(service), detailAt: readAt });
      const verdict = judgeBake(b.s.target!, b.baseline!, { service, tasks: read, targetHealth });
      if (!verdict.ok) {
        fail(run, b.s, verdict.reason, begun);
        continue;
      }
    }
    healthy.push(b);
  }
  return { still: healthy };
}

/** The RUNNING tasks of each service: ListTasks per service, DescribeTasks for them all (100 a call). */
async function readTasks(run: DeployRun, reading: readonly Baking[]): Promise<Map<Baking, Task[]>> {
  const { clients, cluster, signal } = run;
  const listed = await Promise.all(
    reading.map((b) =>
      listTaskArns(clients.ecs, {
        cluster,
        serviceName: b.s.report.service,
        desiredStatus: 'RUNNING',
        ...(signal ? { signal } : {}),
      }),
    ),
  );
  const arns = listed.flat();
  const described = arns.length ? await describeTasks(clients.ecs, cluster, arns, signal) : [];
  return new Map(
    reading.map((b, i) => {
      const mine = new Set(listed[i]);
      return [b, described.filter((t) => mine.has(t.taskArn ?? ''))];
    }),
  );
}

async function describeTargetHealth(
  run: DeployRun,
  targetGroupArn: string,
): Promise<TargetHealthDescription[]> {
  const [elb, { DescribeTargetHealthCommand }] = await Promise.all([
    run.clients.elbv2(),
    import('@aws-sdk/client-elastic-load-balancing-v2'),
  ]);
  const reply = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }), {
    ...(run.signal ? { abortSignal: run.signal } : {}),
  });
  return reply.TargetHealthDescriptions ?? [];
}

function fail(run: DeployRun, s: StartedService, why: string, begun: number): void {
  const now = run.clock.now();
  s.report.status = 'failed';
  s.report.reason = `failed during the bake, ${formatDuration(now - begun)} after it was healthy: ${why}`;
  s.report.finishedAt = new Date(now).toISOString();
  s.report.durationMs = now - s.startedAtMs;
  // The explain step reports it as an error, with the stopped task's reason, exit code and logs.
  run.log.info(`✗ ${s.report.service}: ${s.report.reason}`);
}
