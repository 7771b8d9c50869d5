/**
 * Step "start the rollouts": for every service at once, register its new
 * revision (images mode, when something changed) and UpdateService to it.
 * A service with nothing to change is left alone and says so; one whose
 * deployment of these images is still under way (an earlier attempt, killed
 * or failed) is adopted: followed as this run's, without a new deployment.
 */
import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import type { DeployedService } from '../../contracts/deployments.js';
import { errorMessage } from '../../errors.js';
import type { DeployPlan, ServicePlan } from '../deploy.js';
import { registerClone, shortTaskDefinition } from '../taskdef.js';
import { primaryDeployment } from '../tasks.js';
import type { DeployRun, StartedService } from './run.js';

export interface StartOptions {
  forceNewDeployment: boolean;
  /** Console link per service, for the log and the report. */
  consoleUrl?: (service: string) => string;
}

export function startRollouts(
  run: DeployRun,
  plan: DeployPlan,
  options: StartOptions,
): Promise<StartedService[]> {
  return run.log.group('Start the rollouts', () =>
    Promise.all(plan.services.map((p) => startRollout(run, p, options))),
  );
}

async function startRollout(run: DeployRun, p: ServicePlan, options: StartOptions): Promise<StartedService> {
  const { clients, cluster, log, clock } = run;
  const report: DeployedService = {
    service: p.service,
    cluster,
    previousTaskDefinition: p.current,
    taskDefinition: p.current,
    registered: false,
    images: p.clone?.changes ?? [],
    status: 'unchanged',
    finalTaskDefinition: p.current,
    ...(options.consoleUrl ? { consoleUrl: options.consoleUrl(p.service) } : {}),
  };
  const startedAtMs = clock.now();
  if (p.adopt) return adoptRollout(run, p, report, startedAtMs);
  const changed = p.clone ? p.clone.changes.length > 0 : p.target !== p.current;
  if (!changed && !options.forceNewDeployment) {
    log.info(
      `${p.service}: nothing to deploy, ${shortTaskDefinition(p.current)} already runs ${p.clone ? 'these images' : 'this revision'}; no new revision registered`,
    );
    return { report, touched: false, startedAtMs };
  }
  report.startedAt = new Date(startedAtMs).toISOString();
  try {
    let target = p.target ?? p.current;
    if (p.clone && changed) {
      target = await registerClone(clients.ecs, p.clone);
      report.registered = true;
    }
    report.taskDefinition = target;
    const reply = await clients.ecs.send(
      new UpdateServiceCommand({
        cluster,
        service: p.service,
        taskDefinition: target,
        ...(options.forceNewDeployment ? { forceNewDeployment: true } : {}),
      }),
    );
    const primary = primaryDeployment(reply.service?.deployments);
    const swaps = report.images.map((c) => `${c.container} → ${c.to}`).join(', ');
    log.info(
      `${p.service}: ${shortTaskDefinition(p.current)} → ${shortTaskDefinition(target)}${report.registered ? ' (new revision)' : ''}${changed ? '' : ' (forced new deployment)'}${swaps ? `: ${swaps}` : ''}${report.consoleUrl ? `\n  ${report.consoleUrl}` : ''}`,
    );
    return {
      report,
      touched: true,
      startedAtMs,
      target: {
        service: p.service,
        taskDefinition: target,
        ...(primary?.id ? { deploymentId: primary.id } : {}),
        ...(primary?.createdAt ? { deploymentCreatedAt: primary.createdAt } : {}),
      },
    };
  } catch (err) {
    report.status = 'failed';
    report.reason = `could not start the deployment: ${errorMessage(err)}`;
    report.finishedAt = new Date(clock.now()).toISOString();
    log.error(`✗ ${p.service}: ${report.reason}`, { title: p.service });
    // UpdateService may have failed after RegisterTaskDefinition: the service itself is unchanged.
    return { report, touched: false, startedAtMs };
  }
}

/** Follows the deployment an earlier attempt started as this run's: no register, no UpdateService. */
function adoptRollout(
  run: DeployRun,
  p: ServicePlan,
  report: DeployedService,
  startedAtMs: number,
): StartedService {
  const adopt = p.adopt!;
  report.previousTaskDefinition = adopt.previous;
  report.taskDefinition = adopt.taskDefinition;
  report.startedAt = new Date(startedAtMs).toISOString();
  run.log.info(
    `${p.service}: adopted deployment ${adopt.state}: it already runs these images but is not done, so this run follows it as its own` +
      (adopt.previous !== adopt.taskDefinition
        ? `; on failure it goes back to ${shortTaskDefinition(adopt.previous)}, the revision before it`
        : '') +
      (report.consoleUrl ? `\n  ${report.consoleUrl}` : ''),
  );
  return {
    report,
    touched: true,
    startedAtMs,
    target: {
      service: p.service,
      taskDefinition: adopt.taskDefinition,
      deploymentId: adopt.deploymentId,
      ...(adopt.createdAt ? { deploymentCreatedAt: adopt.createdAt } : {}),
    },
  };
}
