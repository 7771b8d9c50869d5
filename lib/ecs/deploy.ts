/**
 * Deploying several ECS services as one unit, as a recipe of named steps:
 *
 *   check → prepare          planImageDeploy / planRollbackTo   (deploy/plan.ts; read-only)
 *   start rollouts           startRollouts                      (deploy/start.ts)
 *   follow                   followDeployRollouts               (deploy/follow.ts → rollout.ts)
 *   bake                     bakeDeployRollouts                 (deploy/bake.ts; bake-seconds)
 *   explain failures         explainFailures / reportCancelled  (deploy/explain-failures.ts)
 *   roll back                rollBack                           (deploy/rollback.ts)
 *   where each service stands readStanding                      (deploy/standing.ts; from AWS)
 *
 * Every rollout starts at once and they are followed together; on failure
 * every service this run changed goes back to its previous task definition,
 * so the set ends all-new or all-old.
 *
 * A release is never lost: before any change and again once the deployments
 * started, `onProgress` gets every service's entry (previous revision, new
 * one), for the action to write as its output at once; the revisions this run
 * registers carry the release's tags (RELEASE_TAG, PREVIOUS_TAG), so a
 * rollback can also find them in ECS (deploy/recover.ts).
 */
import type { Tag } from '@aws-sdk/client-ecs';
import { withDeadline } from '../aws/retry.js';
import type { DeployedService, DeployReport } from '../contracts/deployments.js';
import type { Log } from '../log.js';
import { systemClock, type Clock } from '../time.js';
import type { EcsClients } from './clients.js';
import { bakeDeployRollouts } from './deploy/bake.js';
import { explainFailures, reportCancelled } from './deploy/explain-failures.js';
import { followDeployRollouts } from './deploy/follow.js';
import type { AdoptedDeployment } from './deploy/in-progress.js';
import {
  checkServices,
  imagesOfOneService,
  planImages,
  prepareRollbackTargets,
  type ImagePlanOptions,
  type OneImage,
} from './deploy/plan.js';
import { changedServices, rollBack, warnNoRollback } from './deploy/rollback.js';
import type { DeployRun } from './deploy/run.js';
import { prepareReleaseRollback } from './deploy/recover.js';
import { PREVIOUS_TAG, RELEASE_TAG } from './deploy/release-tags.js';
import { applyStanding, readStanding, standingBudgetMs, type Standing } from './deploy/standing.js';
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
  /** An unsettled deployment of these images (or of the rollback's target) found under way, followed as this run's. */
  adopt?: AdoptedDeployment;
}

export interface DeployPlan {
  cluster: string;
  services: ServicePlan[];
}

export type { OneImage };

/** A revision given by the user: an ARN, "family:revision", or a bare revision number of the service's family. */
export type RollbackTo = 'previous' | Record<string, string | number>;

export interface DeployOptions {
  waitFor: WaitFor;
  timeoutMs: number;
  rollbackOnFailure: boolean;
  forceNewDeployment: boolean;
  /** Keep watching the new revisions this long after they are healthy/steady (0: no bake). */
  bakeMs?: number;
  log: Log;
  signal?: AbortSignal;
  minIntervalMs?: number;
  maxIntervalMs?: number;
  heartbeatMs?: number;
  /** Console link per service, for the log. */
  consoleUrl?: (service: string) => string;
  /** Default: the system clock. Tests pass manualClock(). */
  clock?: Clock;
  /**
   * Every service's entry, before any change (status in-progress, the revision
   * it runs as previousTaskDefinition) and once the deployments started (the
   * new revisions): the action writes it as its output at once.
   */
  onProgress?: (services: DeployedService[]) => void;
  /** Tags the revisions this run registers with RELEASE_TAG = release (e.g. the GitHub run id). */
  release?: string;
  /** After a cancellation, how long the rollback calls may take (default 5 s, inside GitHub's 7.5 s before SIGTERM). */
  cancelGraceMs?: number;
}

/** A deploy's report, and where each service stands at its end, read from AWS. */
export interface DeployOutcome extends DeployReport {
  standing: Standing;
}

/**
 * check → prepare, images mode: reads every service and its task definition
 * and prepares the clones; adopts a deployment of these images already under
 * way, refuses (or waits for) one of other images. Throws InputError for
 * unknown services or containers, OperationError when refused; changes nothing.
 */
export async function planImageDeploy(
  clients: EcsClients,
  cluster: string,
  services: string[],
  images: Record<string, string>,
  options: ImagePlanOptions = {},
): Promise<DeployPlan> {
  return planImages(clients.ecs, cluster, services, images, options);
}

/**
 * The `images` map `image` (and `container`) stand for: the one service's
 * container named, or its task definition's only container. InputError when
 * the container is not there or must be named; changes nothing.
 */
export function oneServiceImages(
  clients: EcsClients,
  cluster: string,
  service: string,
  image: OneImage,
): Promise<Record<string, string>> {
  return imagesOfOneService(clients.ecs, cluster, service, image);
}

/**
 * check → prepare, rollback-to mode: resolves each service's target revision and
 * adopts a deployment of it still under way (as images mode does); changes nothing.
 */
export async function planRollbackTo(
  clients: EcsClients,
  cluster: string,
  services: string[],
  rollbackTo: RollbackTo,
  options: { forceNewDeployment?: boolean } = {},
): Promise<DeployPlan> {
  const found = await checkServices(clients.ecs, cluster, services);
  return prepareRollbackTargets(
    clients.ecs,
    cluster,
    services,
    found,
    rollbackTo,
    options.forceNewDeployment,
  );
}

/**
 * check → prepare, release-rollback mode: each service back to the revision it
 * ran before `release` (found from the tags of the revisions it registered); changes nothing.
 */
export function planReleaseRollback(
  clients: EcsClients,
  cluster: string,
  services: string[],
  release: string,
  log: Log,
): Promise<DeployPlan> {
  return prepareReleaseRollback(clients.ecs, cluster, services, release, log);
}

/** start rollouts → follow → explain failures → roll back, for a plan that passed check → prepare. */
export async function executeDeploy(
  clients: EcsClients,
  plan: DeployPlan,
  options: DeployOptions,
): Promise<DeployOutcome> {
  const run = deployRun(clients, plan.cluster, options);
  const begun = run.clock.now();

  if (options.release) tagRevisions(plan, options.release);
  options.onProgress?.(plannedEntries(plan, options));
  const started = await startRollouts(run, plan, options);
  for (const s of started) if (s.touched && s.report.status === 'unchanged') s.report.status = 'in-progress';
  options.onProgress?.(started.map((s) => s.report));
  await followDeployRollouts(run, started, options.rollbackOnFailure);
  await bakeDeployRollouts(run, started, options.bakeMs ?? 0);

  const cancelled = options.signal?.aborted ?? false;
  const ok =
    !cancelled && started.every((s) => s.report.status === 'deployed' || s.report.status === 'unchanged');
  if (cancelled) reportCancelled(run, started);
  else await explainFailures(run, started);

  const touched = changedServices(started);
  let rolledBack = false;
  if (!ok && options.rollbackOnFailure && touched.length)
    rolledBack = await rollBack(run, touched, cancelled || (options.signal?.aborted ?? false));
  if (!ok && touched.length && !options.rollbackOnFailure) warnNoRollback(run, touched);

  const services = started.map((s) => s.report);
  const standing = await readStanding(
    clients.ecs,
    plan.cluster,
    services.map((s) => s.service),
    withDeadline(undefined, standingBudgetMs(run.cancelledAt(), run.cancelGraceMs, run.clock.now())),
  );
  applyStanding(services, standing);
  return {
    cluster: plan.cluster,
    ok,
    cancelled: options.signal?.aborted ?? false,
    rolledBack,
    services,
    durationMs: run.clock.now() - begun,
    standing,
  };
}

/** Each registered revision says which release registered it and what the service ran before. */
function tagRevisions(plan: DeployPlan, release: string): void {
  for (const p of plan.services) {
    if (!p.clone || p.clone.changes.length === 0) continue;
    const kept = (p.clone.input.tags ?? []).filter((t) => t.key !== RELEASE_TAG && t.key !== PREVIOUS_TAG);
    const tags: Tag[] = [...kept, { key: RELEASE_TAG, value: release }];
    // A tag value holds at most 256 characters; a longer ARN is left out (rollback-to: previous still finds it).
    if (p.current.length <= 256) tags.push({ key: PREVIOUS_TAG, value: p.current });
    p.clone.input.tags = tags;
  }
}

/** Before any change: what this run is about to change, from which revision. */
function plannedEntries(plan: DeployPlan, options: DeployOptions): DeployedService[] {
  return plan.services.map((p) => {
    const changes = p.clone?.changes ?? [];
    const changing =
      Boolean(p.adopt) ||
      options.forceNewDeployment ||
      (p.clone ? changes.length > 0 : p.target !== p.current);
    const previous = p.adopt?.previous ?? p.current;
    const current = p.adopt?.taskDefinition ?? p.current;
    return {
      service: p.service,
      cluster: plan.cluster,
      previousTaskDefinition: previous,
      taskDefinition: current,
      registered: false,
      images: changes,
      status: changing ? 'in-progress' : 'unchanged',
      finalTaskDefinition: current,
      ...(options.consoleUrl ? { consoleUrl: options.consoleUrl(p.service) } : {}),
    };
  });
}

function deployRun(clients: EcsClients, cluster: string, options: DeployOptions): DeployRun {
  const clock = options.clock ?? systemClock;
  const { log, signal } = options;
  let cancelledAt: number | undefined = signal?.aborted ? clock.now() : undefined;
  signal?.addEventListener('abort', () => (cancelledAt ??= clock.now()), { once: true });
  return {
    clients,
    cluster,
    log,
    clock,
    ...(signal ? { signal } : {}),
    cancelledAt: () => cancelledAt,
    cancelGraceMs: options.cancelGraceMs ?? 5_000,
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
