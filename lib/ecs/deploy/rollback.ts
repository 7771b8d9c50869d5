/**
 * Step "roll back": put every service this run changed back on its previous
 * revision and wait for it, so the set ends all-old. Only the calls a rollback
 * needs: one UpdateService per changed service, all at once, with no read
 * first (the previous revision is known), each retried until the rollback's
 * deadline: the rollback timeout, or, after a cancellation, GitHub's grace.
 */
import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { errorMessage } from '../../errors.js';
import { formatDuration } from '../../time.js';
import { ECS_OUTAGE_BACKOFF, callUntil } from '../../aws/retry.js';
import { followRollouts, type RolloutTarget } from '../rollout.js';
import { rollBackTrafficShifts, trafficShiftOf } from '../strategies/traffic-shift.js';
import { shortTaskDefinition } from '../taskdef.js';
import { primaryDeployment } from '../tasks.js';
import type { DeployRun, StartedService } from './run.js';

/** The services this run moved to another revision: the ones a rollback puts back. */
export function changedServices(started: readonly StartedService[]): StartedService[] {
  return started.filter((s) => s.touched && s.report.taskDefinition !== s.report.previousTaskDefinition);
}

/**
 * Puts every touched service back on its previous revision and waits for it
 * (unless cancelled: then the rollback calls are sent within the grace and
 * not awaited; a cancellation while waiting stops the wait the same way).
 * true: every one is back and healthy/steady.
 */
export async function rollBack(
  run: DeployRun,
  touched: StartedService[],
  cancelled: boolean,
): Promise<boolean> {
  const { log, clock } = run;
  // After a cancellation: the grace from the signal, and at least 1 s to send the calls if the signal came long ago.
  const deadline = cancelled
    ? Math.max((run.cancelledAt() ?? clock.now()) + run.cancelGraceMs, clock.now() + 1_000)
    : clock.now() + run.follow.timeoutMs;
  return log.group(
    `Roll back ${touched.map((s) => `${s.report.service} to ${shortTaskDefinition(s.report.previousTaskDefinition)}`).join(', ')}`,
    async () => {
      // Strategy branch: BLUE_GREEN, LINEAR and CANARY services go back by a traffic shift
      // (StopServiceDeployment ROLLBACK, strategies/traffic-shift.ts), never by a new UpdateService.
      const shifting = touched.filter((s) => trafficShiftOf(s));
      if (shifting.length) {
        const rolling = touched.filter((s) => !trafficShiftOf(s));
        const [shifted, rolled] = await Promise.all([
          rollBackTrafficShifts(run, shifting, deadline, cancelled),
          rolling.length ? rollBackRolling(run, rolling, deadline, cancelled) : true,
        ]);
        // Past CLEAN_UP blue is gone: those go back by a new deployment of the previous revision.
        const redeployed = shifted.redeploy.length
          ? await rollBackRolling(run, shifted.redeploy, deadline, cancelled)
          : true;
        return shifted.ok && rolled && redeployed;
      }
      return rollBackRolling(run, touched, deadline, cancelled);
    },
  );
}

/** Rolling services: UpdateService back to the previous revision, then followed. */
async function rollBackRolling(
  run: DeployRun,
  touched: StartedService[],
  deadline: number,
  cancelled: boolean,
): Promise<boolean> {
  const { log, clock } = run;
  const begun = clock.now();
  const targets = await startRollbacks(run, touched, deadline, cancelled);
  if (cancelled) {
    log.warning(
      `Rollback requested for ${targets.map((t) => t.service).join(', ') || 'no service'}; not waiting for it because the run was cancelled.`,
    );
    return false;
  }
  const all =
    (await followRollbacks(run, touched, targets, begun, deadline)) && targets.length === touched.length;
  log.info(
    all
      ? `Rolled back: every service this run changed is on its previous revision again (${formatDuration(clock.now() - begun)}).`
      : `The rollback did not finish for ${touched
          .filter((s) => s.report.rollback?.status !== 'succeeded')
          .map((s) => s.report.service)
          .join(', ')}: check the service(s) now.`,
  );
  return all;
}

/** UpdateService back to the previous revision, for every touched service at once. */
async function startRollbacks(
  run: DeployRun,
  touched: StartedService[],
  deadline: number,
  cancelled: boolean,
): Promise<RolloutTarget[]> {
  const { clients, cluster, log } = run;
  const targets: RolloutTarget[] = [];
  await Promise.all(
    touched.map(async (s) => {
      const { service, previousTaskDefinition: previous } = s.report;
      // Retried (backing off, with jitter) while AWS throttles or cannot be reached, until the deadline.
      const sent = await callUntil(
        (abortSignal) =>
          clients.ecs.send(new UpdateServiceCommand({ cluster, service, taskDefinition: previous }), {
            abortSignal,
          }),
        deadline,
        run.clock,
        { backoff: ECS_OUTAGE_BACKOFF },
      );
      if (!sent.ok) {
        const why = errorMessage(sent.lastError ?? sent.error);
        const reason = cancelled
          ? `rollback not sent within the cancellation grace: ${why}`
          : `the rollback could not start: ${why}`;
        s.report.rollback = { taskDefinition: previous, status: 'failed', reason };
        log.error(`✗ ${service}: ${reason}`, { title: service });
        return;
      }
      // The PRIMARY now: the deployment this call created, or the one the circuit breaker already started back.
      const primary = primaryDeployment(sent.value.service?.deployments);
      log.info(
        `${service}: rolling back ${shortTaskDefinition(s.report.taskDefinition)} → ${shortTaskDefinition(previous)}`,
      );
      targets.push({
        service,
        taskDefinition: previous,
        ...(primary?.id ? { deploymentId: primary.id } : {}),
        ...(primary?.createdAt ? { deploymentCreatedAt: primary.createdAt } : {}),
        // Judged by deployments[]: a circuit breaker's return says ROLLBACK_* in its ServiceDeployment.
        useServiceDeployments: false,
      });
      s.report.rollback = {
        taskDefinition: previous,
        status: 'started',
        ...(cancelled ? { reason: 'rollback requested, not confirmed: the run was cancelled' } : {}),
      };
    }),
  );
  return targets;
}

/**
 * Follows the rollbacks until they end or their deadline passes (riding out an
 * outage); a cancellation stops the wait: the rollback stays requested.
 * true: all succeeded.
 */
async function followRollbacks(
  run: DeployRun,
  touched: StartedService[],
  targets: RolloutTarget[],
  begun: number,
  deadline: number,
): Promise<boolean> {
  const timeoutMs = Math.max(1, deadline - run.clock.now());
  const results = await followRollouts(run.clients, targets, { ...run.follow, timeoutMs, label: 'rollback' });
  let all = true;
  for (const r of results) {
    const s = touched.find((t) => t.report.service === r.service)!;
    const cancelled = r.failure?.kind === 'cancelled';
    s.report.rollback = {
      taskDefinition: r.taskDefinition,
      status: r.ok ? 'succeeded' : cancelled ? 'started' : 'failed',
      ...(r.ok
        ? {}
        : {
            reason: cancelled
              ? `rollback requested, not confirmed: ${r.failure!.reason}`
              : (r.failure?.reason ?? r.state),
          }),
      finishedAt: new Date(r.finishedAt).toISOString(),
      durationMs: r.finishedAt - begun,
    };
    if (r.ok) s.report.finalTaskDefinition = r.taskDefinition;
    all &&= r.ok;
  }
  return all;
}

/** rollback-on-failure off: say where the changed services stay. */
export function warnNoRollback(run: DeployRun, touched: StartedService[]): void {
  run.log.warning(
    `rollback-on-failure is off; the services this run changed stay on the new revision: ${touched.map((s) => `${s.report.service} on ${shortTaskDefinition(s.report.taskDefinition)}`).join(', ')}`,
  );
}
