/**
 * Deploying several ECS services as one unit: plan (read-only, validates
 * everything), start every rollout at once, follow them together, and on
 * failure explain it and put every service this run changed back on its
 * previous task definition, so the set ends all-new or all-old.
 */
import { UpdateServiceCommand, type Deployment } from '@aws-sdk/client-ecs';
import { InputError, errorMessage } from '../errors.js';
import type { Log } from '../log.js';
import { formatDuration } from '../time.js';
import type { EcsClients } from './clients.js';
import { explainFailure } from './explain.js';
import { previousTaskDefinition } from './previous.js';
import { followRollouts, type RolloutResult, type RolloutTarget, type WaitFor } from './rollout.js';
import { describeServices } from './services.js';
import {
  containerNames,
  describeTaskDefinition,
  parseTaskDefinitionRef,
  planClone,
  registerClone,
  shortTaskDefinition,
  type ImageChange,
  type TaskDefinitionClone,
} from './taskdef.js';

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

function unknownServices(
  names: string[],
  missing: { name: string; reason: string }[],
  cluster: string,
): never {
  throw new InputError(
    'services',
    `${missing.map((m) => `"${m.name}" (${m.reason})`).join(', ')} not found in cluster "${cluster}"`,
    `list services that exist in the cluster (asked for: ${names.join(', ')}); check the cluster name and the region`,
  );
}

/**
 * images mode: reads every service and its task definition and prepares the
 * clones. Throws InputError for unknown services or containers; changes nothing.
 */
export async function planImageDeploy(
  clients: EcsClients,
  cluster: string,
  services: string[],
  images: Record<string, string>,
): Promise<DeployPlan> {
  const { services: found, missing } = await describeServices(clients.ecs, cluster, services);
  if (missing.length) unknownServices(services, missing, cluster);
  const plans = await Promise.all(
    services.map(async (service) => {
      const current = found.get(service)!.taskDefinition!;
      const clone = await planClone(clients.ecs, current, images);
      return { service, current, clone };
    }),
  );
  const known = new Set(plans.flatMap((p) => containerNames(p.clone.source.taskDefinition)));
  const stray = Object.keys(images).filter((name) => !known.has(name));
  if (stray.length) {
    throw new InputError(
      'images',
      `no task definition of ${services.join(', ')} has a container named ${stray.map((s) => `"${s}"`).join(', ')} (containers: ${[...known].join(', ')})`,
      'use container names from the task definitions, or add the service that runs that container to `services`',
    );
  }
  return { cluster, services: plans };
}

/** rollback-to mode: resolves each service's target revision; changes nothing. */
export async function planRollbackTo(
  clients: EcsClients,
  cluster: string,
  services: string[],
  rollbackTo: RollbackTo,
): Promise<DeployPlan> {
  const { services: found, missing } = await describeServices(clients.ecs, cluster, services);
  if (missing.length) unknownServices(services, missing, cluster);
  const plans = await Promise.all(
    services.map(async (service): Promise<ServicePlan> => {
      const described = found.get(service)!;
      const current = described.taskDefinition!;
      if (rollbackTo === 'previous') {
        const previous = await previousTaskDefinition(clients.ecs, cluster, described);
        if (!previous) {
          throw new InputError(
            'rollback-to',
            `service "${service}" runs ${shortTaskDefinition(current)} and has no earlier revision to return to`,
            'give the revision explicitly: rollback-to: {"' + service + '": <revision number or ARN>}',
          );
        }
        return { service, current, target: previous.taskDefinition };
      }
      const wanted = rollbackTo[service];
      if (wanted === undefined) return { service, current, target: current };
      const ref =
        typeof wanted === 'number' || /^\d+$/.test(wanted)
          ? `${parseTaskDefinitionRef(current).family}:${wanted}`
          : wanted;
      try {
        const { taskDefinition } = await describeTaskDefinition(clients.ecs, ref);
        if (taskDefinition.status && taskDefinition.status !== 'ACTIVE') {
          throw new InputError(
            'rollback-to',
            `${shortTaskDefinition(taskDefinition.taskDefinitionArn)} for "${service}" is ${taskDefinition.status}`,
            'choose an ACTIVE revision',
          );
        }
        return { service, current, target: taskDefinition.taskDefinitionArn };
      } catch (err) {
        if (err instanceof InputError) throw err;
        throw new InputError(
          'rollback-to',
          `task definition "${ref}" for service "${service}" cannot be read: ${errorMessage(err)}`,
          'give an existing task-definition ARN, "family:revision", or a revision number of the service\'s family',
        );
      }
    }),
  );
  return { cluster, services: plans };
}

export type ServiceStatus =
  | 'deployed'
  | 'unchanged'
  | 'failed'
  | 'timed-out'
  | 'cancelled'
  /** Stopped following it because another service failed (it is rolled back with the rest). */
  | 'aborted';

/** One service in the `deployments` output. Field names are a public interface: add, never rename. */
export interface ServiceReport {
  service: string;
  cluster: string;
  /** What the service ran before this run. */
  previousTaskDefinition: string;
  /** What this run deployed (equals previousTaskDefinition when unchanged). */
  taskDefinition: string;
  /** A new revision was registered by this run. */
  registered: boolean;
  /** Image swaps by container (images mode). */
  images: ImageChange[];
  status: ServiceStatus;
  /** Why it failed (one line); details in `details`. */
  reason?: string;
  details?: string[];
  /** ISO 8601; absent for unchanged services. */
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  rollback?: {
    taskDefinition: string;
    /** succeeded: back on the previous revision and healthy/steady; started: cancelled before it finished. */
    status: 'succeeded' | 'failed' | 'started';
    reason?: string;
    finishedAt?: string;
    durationMs?: number;
  };
  /** The revision the service's PRIMARY deployment runs at the end. */
  finalTaskDefinition: string;
  consoleUrl?: string;
}

export interface DeployReport {
  cluster: string;
  ok: boolean;
  cancelled: boolean;
  /** All services back on their previous revisions after a failure. */
  rolledBack: boolean;
  services: ServiceReport[];
  durationMs: number;
}

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
}

interface Started {
  report: ServiceReport;
  target?: RolloutTarget;
  /** UpdateService was called: the service needs a rollback on failure. */
  touched: boolean;
  startedAtMs: number;
}

function primaryOf(deployments: Deployment[] | undefined): Deployment | undefined {
  return deployments?.find((d) => d.status === 'PRIMARY');
}

/** Starts every rollout at once, follows them, explains and rolls back on failure. */
export async function executeDeploy(
  clients: EcsClients,
  plan: DeployPlan,
  options: DeployOptions,
): Promise<DeployReport> {
  const { log } = options;
  const { cluster } = plan;
  const begun = Date.now();
  const followOptions = {
    cluster,
    waitFor: options.waitFor,
    timeoutMs: options.timeoutMs,
    log,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.minIntervalMs ? { minIntervalMs: options.minIntervalMs } : {}),
    ...(options.maxIntervalMs ? { maxIntervalMs: options.maxIntervalMs } : {}),
    ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}),
  };

  const started: Started[] = await log.group('Start the rollouts', () =>
    Promise.all(
      plan.services.map(async (p): Promise<Started> => {
        const report: ServiceReport = {
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
        const startedAtMs = Date.now();
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
          const primary = primaryOf(reply.service?.deployments);
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
          report.finishedAt = new Date().toISOString();
          log.error(`✗ ${p.service}: ${report.reason}`);
          // UpdateService may have failed after RegisterTaskDefinition: the service itself is unchanged.
          return { report, touched: false, startedAtMs };
        }
      }),
    ),
  );

  const targets = started.filter((s) => s.target).map((s) => s.target!);
  const startFailed = started.some((s) => s.report.status === 'failed');
  let results: RolloutResult[] = [];
  if (targets.length && !startFailed) {
    results = await log.group(
      `Wait until ${targets.map((t) => t.service).join(', ')} ${options.waitFor === 'steady' ? 'are steady' : 'run healthy'}`,
      () =>
        followRollouts(clients, targets, {
          ...followOptions,
          label: 'deploy',
          stopOnFirstFailure: options.rollbackOnFailure,
        }),
    );
  }
  const byService = new Map(results.map((r) => [r.service, r]));
  for (const s of started) {
    const r = byService.get(s.report.service);
    if (!s.target) continue;
    if (!r) {
      // Another service failed to start: this one was never followed.
      s.report.status = 'aborted';
      s.report.reason = 'not followed: another service failed to start';
      continue;
    }
    s.report.finishedAt = new Date(r.finishedAt).toISOString();
    s.report.durationMs = r.finishedAt - s.startedAtMs;
    if (r.ok) {
      s.report.status = 'deployed';
      s.report.finalTaskDefinition = r.taskDefinition;
      continue;
    }
    s.report.status =
      r.failure?.kind === 'timeout'
        ? 'timed-out'
        : r.failure?.kind === 'cancelled'
          ? 'cancelled'
          : r.failure?.kind === 'aborted'
            ? 'aborted'
            : 'failed';
    s.report.reason = r.failure?.reason ?? r.state;
  }

  const cancelled = options.signal?.aborted ?? false;
  const failed = started.filter((s) => ['failed', 'timed-out'].includes(s.report.status));
  const ok =
    !cancelled && started.every((s) => s.report.status === 'deployed' || s.report.status === 'unchanged');

  if (failed.length && !cancelled) {
    await log.group('Why it failed', async () => {
      await Promise.all(
        failed.map(async (s) => {
          if (!s.target) return;
          s.report.details = await explainFailure(clients, {
            cluster,
            service: s.report.service,
            taskDefinition: s.report.taskDefinition,
            ...(s.target.deploymentCreatedAt ? { since: s.target.deploymentCreatedAt } : {}),
          });
        }),
      );
      for (const s of failed) {
        log.error(`${s.report.service}: ${s.report.reason}`);
        for (const line of s.report.details ?? []) log.info(`  ${line}`);
      }
    });
  }
  if (cancelled) {
    log.warning('Cancelled. Where each service stands:');
    for (const s of started) {
      log.warning(
        `  ${s.report.service}: ${s.report.status}${s.report.reason ? ` (${s.report.reason})` : ''}`,
      );
    }
  }

  let rolledBack = false;
  const touched = started.filter(
    (s) => s.touched && s.report.taskDefinition !== s.report.previousTaskDefinition,
  );
  if (!ok && options.rollbackOnFailure && touched.length) {
    rolledBack = await rollBack(clients, touched, { ...followOptions, cancelled });
  }
  if (!ok && touched.length) {
    // Say where each service really ends, as ECS reports it now.
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
    if (!options.rollbackOnFailure) {
      log.warning(
        `rollback-on-failure is off; the services stay where they are: ${touched.map((s) => `${s.report.service} on ${shortTaskDefinition(s.report.finalTaskDefinition)}`).join(', ')}`,
      );
    }
  }

  return {
    cluster,
    ok,
    cancelled,
    rolledBack,
    services: started.map((s) => s.report),
    durationMs: Date.now() - begun,
  };
}

/**
 * Puts every touched service back on its previous revision and waits for it
 * (unless cancelled: then the rollbacks are started and not awaited). A
 * service the circuit breaker already put back is only waited for.
 */
async function rollBack(
  clients: EcsClients,
  touched: Started[],
  options: Parameters<typeof followRollouts>[2] & { cancelled: boolean },
): Promise<boolean> {
  const { log, cluster } = options;
  return log.group(
    `Roll back ${touched.map((s) => `${s.report.service} to ${shortTaskDefinition(s.report.previousTaskDefinition)}`).join(', ')}`,
    async () => {
      const current = await describeServices(
        clients.ecs,
        cluster,
        touched.map((s) => s.report.service),
      );
      const targets: RolloutTarget[] = [];
      const begun = Date.now();
      await Promise.all(
        touched.map(async (s) => {
          const previous = s.report.previousTaskDefinition;
          const primary = primaryOf(current.services.get(s.report.service)?.deployments);
          try {
            if (primary?.taskDefinition === previous) {
              log.info(
                `${s.report.service}: already back on ${shortTaskDefinition(previous)}; waiting for it`,
              );
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
              const created = primaryOf(reply.service?.deployments);
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
            log.error(`✗ ${s.report.service}: the rollback could not start: ${errorMessage(err)}`);
          }
        }),
      );
      if (options.cancelled) {
        log.warning(`Rollbacks started; not waiting for them because the run was cancelled.`);
        return false;
      }
      const { signal: _ignored, ...rest } = options;
      const results = await followRollouts(clients, targets, { ...rest, label: 'rollback' });
      let all = targets.length === touched.length;
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
      log.info(
        all
          ? `Rolled back: every service this run changed is on its previous revision again (${formatDuration(Date.now() - begun)}).`
          : `The rollback did not finish for ${touched
              .filter((s) => s.report.rollback?.status !== 'succeeded')
              .map((s) => s.report.service)
              .join(', ')}: check the service(s) now.`,
      );
      return all;
    },
  );
}
