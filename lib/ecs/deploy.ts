/**
 * Deploying several ECS services as one unit, as a recipe of named steps:
 *
 *   check → prepare          planImageDeploy / planRollbackTo   (deploy/plan.ts; read-only)
 *   start rollouts           startRollouts                      (deploy/start.ts)
 *   follow                   followDeployRollouts               (deploy/follow.ts → rollout.ts)
 *   explain failures         explainFailures / reportCancelled  (deploy/explain-failures.ts)
 *   roll back                rollBack, recordWhereServicesEnded (deploy/rollback.ts)
 *
 * Every rollout starts at once and they are followed together; on failure
 * every service this run changed goes back to its previous task definition,
 * so the set ends all-new or all-old.
 */
import type { DeployReport } from '../contracts/deployments.js';
import type { Log } from '../log.js';
import { systemClock, type Clock } from '../time.js';
import type { EcsClients } from './clients.js';
import { explainFailures, reportCancelled } from './deploy/explain-failures.js';
import { followDeployRollouts } from './deploy/follow.js';
import { checkServices, prepareImageClones, prepareRollbackTargets } from './deploy/plan.js';
import { changedServices, recordWhereServicesEnded, rollBack } from './deploy/rollback.js';
import type { DeployRun } from './deploy/run.js';
import { startRollouts } from './deploy/start.js';
import type { WaitFor } from './rollout.js';
import type { TaskDefinitionClone } from './taskdef.js';

export interface ServicePlan {
  service: string;
  /** The task definition the service runs now (its PRIMARY). */
  current: string;
  /** images mode: the clone to register (its `changes` empty = no-op). */
  clone?: TaskDefinitionClone;
  /** rollback-to mode: the existing revision to go to. */
  target?: string;
}

export interface DeployPlan {
  cluster: string;
  services: ServicePlan[];
}

/** A revision given by the user: an ARN, "family:revision", or a bare revision number of the service's family. */
export type RollbackTo = 'previous' | Record<string, string | number>;

export interface DeployOptions {
  waitFor: WaitFor;
  timeoutMs: number;
  rollbackOnFailure: boolean;
  forceNewDeployment: boolean;
  log: Log;
  signal?: AbortSignal;
  minIntervalMs?: number;
  maxIntervalMs?: number;
  heartbeatMs?: number;
  /** Console link per service, for the log. */
  consoleUrl?: (service: string) => string;
  /** Default: the system clock. Tests pass manualClock(). */
  clock?: Clock;
}

/**
 * check → prepare, images mode: reads every service and its task definition
 * and prepares the clones. Throws InputError for unknown services or
 * containers; changes nothing.
 */
export async function planImageDeploy(
  clients: EcsClients,
  cluster: string,
  services: string[],
  images: Record<string, string>,
): Promise<DeployPlan> {
  const found = await checkServices(clients.ecs, cluster, services);
  return prepareImageClones(clients.ecs, cluster, services, found, images);
}

/** check → prepare, rollback-to mode: resolves each service's target revision; changes nothing. */
export async function planRollbackTo(
  clients: EcsClients,
  cluster: string,
  services: string[],
  rollbackTo: RollbackTo,
): Promise<DeployPlan> {
  const found = await checkServices(clients.ecs, cluster, services);
  return prepareRollbackTargets(clients.ecs, cluster, services, found, rollbackTo);
}

/** start rollouts → follow → explain failures → roll back, for a plan that passed check → prepare. */
export async function executeDeploy(
  clients: EcsClients,
  plan: DeployPlan,
  options: DeployOptions,
): Promise<DeployReport> {
  const run = deployRun(clients, plan.cluster, options);
  const begun = run.clock.now();

  const started = await startRollouts(run, plan, options);
  await followDeployRollouts(run, started, options.rollbackOnFailure);

  const cancelled = options.signal?.aborted ?? false;
  const ok =
    !cancelled && started.every((s) => s.report.status === 'deployed' || s.report.status === 'unchanged');
  if (cancelled) reportCancelled(run, started);
  else await explainFailures(run, started);

  const touched = changedServices(started);
  let rolledBack = false;
  if (!ok && options.rollbackOnFailure && touched.length)
    rolledBack = await rollBack(run, touched, cancelled);
  if (!ok && touched.length) await recordWhereServicesEnded(run, touched, options.rollbackOnFailure);

  return {
    cluster: plan.cluster,
    ok,
    cancelled,
    rolledBack,
    services: started.map((s) => s.report),
    durationMs: run.clock.now() - begun,
  };
}

function deployRun(clients: EcsClients, cluster: string, options: DeployOptions): DeployRun {
  const clock = options.clock ?? systemClock;
  const { log, signal } = options;
  return {
    clients,
    cluster,
    log,
    clock,
    ...(signal ? { signal } : {}),
    follow: {
      cluster,
      waitFor: options.waitFor,
      timeoutMs: options.timeoutMs,
      log,
      clock,
      ...(signal ? { signal } : {}),
      ...(options.minIntervalMs ? { minIntervalMs: options.minIntervalMs } : {}),
      ...(options.maxIntervalMs ? { maxIntervalMs: options.maxIntervalMs } : {}),
      ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}),
    },
  };
}
