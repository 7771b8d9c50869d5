/**
 * Step "roll back": put every service this run changed back on its previous
 * revision and wait for it, so the set ends all-old; then record where each
 * service really ended, as ECS reports it.
 */
import { UpdateServiceCommand, type Service } from '@aws-sdk/client-ecs';
import { errorMessage } from '../../errors.js';
import { formatDuration } from '../../time.js';
import { followRollouts, type RolloutTarget } from '../rollout.js';
import { describeServices } from '../services.js';
import { shortTaskDefinition } from '../taskdef.js';
import { primaryDeployment } from '../tasks.js';
import type { DeployRun, StartedService } from './run.js';

/** The services this run moved to another revision: the ones a rollback puts back. */
export function changedServices(started: readonly StartedService[]): StartedService[] {
  return started.filter((s) => s.touched && s.report.taskDefinition !== s.report.previousTaskDefinition);
}

/**
 * Puts every touched service back on its previous revision and waits for it
 * (unless cancelled: then the rollbacks are started and not awaited). A
 * service the circuit breaker already put back is only waited for.
 * true: every one is back and healthy/steady.
 */
export async function rollBack(
  run: DeployRun,
  touched: StartedService[],
  cancelled: boolean,
): Promise<boolean> {
  const { log, clock } = run;
  return log.group(
    `Roll back ${touched.map((s) => `${s.report.service} to ${shortTaskDefinition(s.report.previousTaskDefinition)}`).join(', ')}`,
    async () => {
      const current = await describeServices(
        run.clients.ecs,
        run.cluster,
        touched.map((s) => s.report.service),
      );
      const begun = clock.now();
      const targets = await startRollbacks(run, touched, current.services);
      if (cancelled) {
        log.warning(`Rollbacks started; not waiting for them because the run was cancelled.`);
        return false;
      }
      const all = (await followRollbacks(run, touched, targets, begun)) && targets.length === touched.length;
      log.info(
        all
          ? `Rolled back: every service this run changed is on its previous revision again (${formatDuration(clock.now() - begun)}).`
          : `The rollback did not finish for ${touched
              .filter((s) => s.report.rollback?.status !== 'succeeded')
              .map((s) => s.report.service)
              .join(', ')}: check the service(s) now.`,
      );
      return all;
    },
  );
}

/** UpdateService back to the previous revision, for each service not already back there. */
async function startRollbacks(
  run: DeployRun,
  touched: StartedService[],
  current: Map<string, Service>,
): Promise<RolloutTarget[]> {
  const { clients, cluster, log } = run;
  const targets: RolloutTarget[] = [];
  await Promise.all(
    touched.map(async (s) => {
      const previous = s.report.previousTaskDefinition;
      const primary = primaryDeployment(current.get(s.report.service)?.deployments);
      try {
        if (primary?.taskDefinition === previous) {
          log.info(`${s.report.service}: already back on ${shortTaskDefinition(previous)}; waiting for it`);
          targets.push({
            service: s.report.service,
            taskDefinition: previous,
            ...(primary.id ? { deploymentId: primary.id } : {}),
            ...(primary.createdAt ? { deploymentCreatedAt: primary.createdAt } : {}),
            useServiceDeployments: false,
          });
        } else {
          const reply = await clients.ecs.send(
            new UpdateServiceCommand({ cluster, service: s.report.service, taskDefinition: previous }),
          );
          const created = primaryDeployment(reply.service?.deployments);
          log.info(
            `${s.report.service}: rolling back ${shortTaskDefinition(s.report.taskDefinition)} → ${shortTaskDefinition(previous)}`,
          );
          targets.push({
            service: s.report.service,
            taskDefinition: previous,
            ...(created?.id ? { deploymentId: created.id } : {}),
            ...(created?.createdAt ? { deploymentCreatedAt: created.createdAt } : {}),
          });
        }
        s.report.rollback = { taskDefinition: previous, status: 'started' };
      } catch (err) {
        s.report.rollback = { taskDefinition: previous, status: 'failed', reason: errorMessage(err) };
        log.error(`✗ ${s.report.service}: the rollback could not start: ${errorMessage(err)}`, {
          title: s.report.service,
        });
      }
    }),
  );
  return targets;
}

/**
 * Follows the rollbacks to the end, even when the run is being cancelled:
 * a half-done rollback is what the suite exists to avoid. true: all succeeded.
 */
async function followRollbacks(
  run: DeployRun,
  touched: StartedService[],
  targets: RolloutTarget[],
  begun: number,
): Promise<boolean> {
  const { signal: _ignored, ...follow } = run.follow;
  const results = await followRollouts(run.clients, targets, { ...follow, label: 'rollback' });
  let all = true;
  for (const r of results) {
    const s = touched.find((t) => t.report.service === r.service)!;
    s.report.rollback = {
      taskDefinition: r.taskDefinition,
      status: r.ok ? 'succeeded' : 'failed',
      ...(r.ok ? {} : { reason: r.failure?.reason ?? r.state }),
      finishedAt: new Date(r.finishedAt).toISOString(),
      durationMs: r.finishedAt - begun,
    };
    if (r.ok) s.report.finalTaskDefinition = r.taskDefinition;
    all &&= r.ok;
  }
  return all;
}

/** After a failure: where each changed service really ends, as ECS reports it now. */
export async function recordWhereServicesEnded(
  run: DeployRun,
  touched: StartedService[],
  rollbackOnFailure: boolean,
): Promise<void> {
  const { clients, cluster, log } = run;
  try {
    const now = await describeServices(
      clients.ecs,
      cluster,
      touched.map((s) => s.report.service),
    );
    for (const s of touched) {
      const td = now.services.get(s.report.service)?.taskDefinition;
      if (td) s.report.finalTaskDefinition = td;
    }
  } catch (err) {
    log.warning(`Could not read where the services ended: ${errorMessage(err)}`);
  }
  if (!rollbackOnFailure) {
    log.warning(
      `rollback-on-failure is off; the services stay where they are: ${touched.map((s) => `${s.report.service} on ${shortTaskDefinition(s.report.finalTaskDefinition)}`).join(', ')}`,
    );
  }
}
