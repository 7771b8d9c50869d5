/**
 * Step "bake": after every rollout was seen healthy (or steady), keep watching
 * the new revisions for bake-seconds. A task of the new revision that stops, a
 * rise in its deployment's failedTasks, or a new target going unhealthy in
 * that window fails the service (then the explain and roll-back steps run as
 * for any failure). A late crash is caught here, not by the next release.
 */
import type { TargetHealthDescription } from '@aws-sdk/client-elastic-load-balancing-v2';
import { errorMessage } from '../../errors.js';
import { formatDuration } from '../../time.js';
import { failedTasksOf, judgeBake, type BakeBaseline } from '../follow/bake.js';
import { describeServices } from '../services.js';
import { listServiceTasks } from '../tasks.js';
import type { DeployRun, StartedService } from './run.js';

/** Reads that may fail in a row at the end of the window before the bake counts as unconfirmed. */
const FINAL_READ_ATTEMPTS = 3;

export async function bakeDeployRollouts(
  run: DeployRun,
  started: readonly StartedService[],
  bakeMs: number,
): Promise<void> {
  const baking = started.filter((s) => s.report.status === 'deployed' && s.target);
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
  const intervalMs = run.follow.maxIntervalMs ?? 2000;
  const baselines = new Map<string, BakeBaseline>();
  let watching = [...baking];
  let finalFailures = 0;
  while (watching.length) {
    if (signal?.aborted) return;
    const last = clock.now() >= end;
    try {
      watching = await pollBake(run, watching, baselines, begun);
    } catch (err) {
      if (signal?.aborted) return;
      log.debug(`bake: a read failed, trying again: ${errorMessage(err)}`);
      if (last && ++finalFailures >= FINAL_READ_ATTEMPTS) {
        for (const s of watching) fail(run, s, `could not confirm the bake: ${errorMessage(err)}`, begun);
        return;
      }
      await clock.sleep(intervalMs, signal).catch(() => undefined);
      continue;
    }
    if (last) break;
    await clock.sleep(Math.min(intervalMs, Math.max(0, end - clock.now())), signal).catch(() => undefined);
  }
  for (const s of watching) log.info(`✓ ${s.report.service}: stayed healthy for ${formatDuration(bakeMs)}`);
}

/** One poll of the services still baking; returns those still healthy (the others are failed). */
async function pollBake(
  run: DeployRun,
  watching: readonly StartedService[],
  baselines: Map<string, BakeBaseline>,
  begun: number,
): Promise<StartedService[]> {
  const { clients, cluster, signal } = run;
  const { services } = await describeServices(
    clients.ecs,
    cluster,
    watching.map((s) => s.report.service),
    signal,
  );
  const reads = await Promise.all(
    watching.map(async (s) => {
      const service = services.get(s.report.service);
      if (!service) return { s, gone: true as const };
      const tasks = await listServiceTasks(clients.ecs, {
        cluster,
        serviceName: s.report.service,
        desiredStatus: 'RUNNING',
        ...(signal ? { signal } : {}),
      });
      const targetHealth = new Map<string, TargetHealthDescription[]>();
      for (const lb of service.loadBalancers ?? []) {
        if (lb.targetGroupArn && !targetHealth.has(lb.targetGroupArn))
          targetHealth.set(lb.targetGroupArn, await describeTargetHealth(run, lb.targetGroupArn));
      }
      return { s, service, tasks, targetHealth };
    }),
  );
  const still: StartedService[] = [];
  for (const r of reads) {
    if ('gone' in r) {
      fail(run, r.s, 'the service no longer exists', begun);
      continue;
    }
    const target = r.s.target!;
    if (!baselines.has(r.s.report.service))
      baselines.set(r.s.report.service, { failedTasks: failedTasksOf(target, r.service) });
    const verdict = judgeBake(target, baselines.get(r.s.report.service)!, r);
    if (verdict.ok) still.push(r.s);
    else fail(run, r.s, verdict.reason, begun);
  }
  return still;
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
