/**
 * Step "start the rollouts": for every service at once, register its new
 * revision (images mode, when something changed) and UpdateService to it.
 * A service with nothing to change is left alone and says so; one whose
 * deployment of these images is still under way (an earlier attempt, killed
 * or failed) is adopted: followed as this run's, without a new deployment.
 */
import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import type { DeployedService } from '../../contracts/deployments.js';
import { ecsStartPacer, type EcsStartAction } from '../../aws/pacing.js';
import { outageBackoffMs } from '../../aws/retry.js';
import { errorMessage } from '../../errors.js';
import type { DeployPlan, ServicePlan } from '../deploy.js';
import { isThrottling } from '../follow/poll-budget.js';
import { DEFAULT_MAX_INTERVAL_MS, DEFAULT_MIN_INTERVAL_MS } from '../rollout.js';
import { registerClone, shortTaskDefinition, type TaskDefinitionClone } from '../taskdef.js';
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
  // Services on one family share one clone (deploy/plan.ts): it is registered once, for all of them.
  const registrations = new Map<TaskDefinitionClone, Promise<string>>();
  const register: Register = (clone) => {
    let registration = registrations.get(clone);
    if (!registration) {
      registration = whileThrottled(run, 'RegisterTaskDefinition', () =>
        registerClone(run.clients.ecs, clone),
      );
      registrations.set(clone, registration);
    }
    return registration;
  };
  return run.log.group('Start the rollouts', () =>
    Promise.all(plan.services.map((p) => startRollout(run, p, options, register))),
  );
}

/** Registers a clone (once however many services use it); its new revision's ARN. */
type Register = (clone: TaskDefinitionClone) => Promise<string>;

async function startRollout(
  run: DeployRun,
  p: ServicePlan,
  options: StartOptions,
  register: Register,
): Promise<StartedService> {
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
      const clone = p.clone;
      target = await register(clone);
      report.registered = true;
    }
    report.taskDefinition = target;
    const reply = await whileThrottled(run, 'UpdateService', () =>
      clients.ecs.send(
        new UpdateServiceCommand({
          cluster,
          service: p.service,
          taskDefinition: target,
          ...(options.forceNewDeployment ? { forceNewDeployment: true } : {}),
        }),
      ),
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

/**
 * A call tried again, with jittered back-off, for as long as ECS throttles it
 * past the SDK's retries (a release of many services shares RegisterTaskDefinition's
 * and UpdateService's small buckets with every other deploy in the account):
 * throttling delays a start, it never fails one. A throttled call changed
 * nothing, so trying it again is safe. Any other error, or a cancellation, ends it.
 * Each try waits for its token of the action's bucket first (aws/pacing.ts): the
 * release stays within ECS's rate instead of provoking throttling.
 */
async function whileThrottled<T>(run: DeployRun, action: EcsStartAction, call: () => Promise<T>): Promise<T> {
  const pacer = ecsStartPacer(run.clients.ecs, action, run.clock);
  // Paced like the follow loop (its bounds scale with it), up to the timeout it would wait for the rollout.
  const pace = {
    minMs: run.follow.minIntervalMs ?? DEFAULT_MIN_INTERVAL_MS,
    maxMs: 2 * (run.follow.maxIntervalMs ?? DEFAULT_MAX_INTERVAL_MS),
  };
  const deadline = run.clock.now() + run.follow.timeoutMs;
  for (let failures = 1; ; failures++) {
    await pacer.take(run.signal);
    try {
      return await call();
    } catch (err) {
      if (isThrottling(err)) pacer.throttled();
      const pause = outageBackoffMs(failures, pace);
      if (!isThrottling(err) || run.signal?.aborted || run.clock.now() + pause >= deadline) throw err;
      run.log.debug(`throttled, trying again in ${pause} ms: ${errorMessage(err)}`);
      await run.clock.sleep(pause, run.signal);
    }
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
    `${p.service}: adopted deployment ${adopt.state}: it already runs ${p.clone ? 'these images' : 'this revision'} but is not done, so this run follows it as its own` +
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
