/**
 * Deployments already under way when a release starts:
 *  - one that runs what was asked for (images mode: the requested images;
 *    rollback-to mode: the requested revision), as after a killed or failed
 *    earlier attempt, or a run held by the release gate and run again once it
 *    opened, is adopted: followed and judged as this run's own, and rolled
 *    back, on failure, to the revision that ran before it. Never "unchanged";
 *    that is only for a COMPLETED deployment of it, all running;
 *  - images mode: one in progress with other images, which this release did
 *    not start, is refused before any change (or waited for, with
 *    if-in-progress: wait). A rollback is never refused.
 * Read-only: nothing here changes anything in AWS.
 */
import type { Deployment, ECSClient, Service } from '@aws-sdk/client-ecs';
import { previousTaskDefinition } from '../previous.js';
import { planClone, shortTaskDefinition, type ImageChange } from '../taskdef.js';
import { primaryDeployment } from '../tasks.js';
import { RELEASE_TAG } from './release-tags.js';

/** What to do about a deployment in progress with other images: refuse (default) or wait for it to end. */
export type IfInProgress = 'fail' | 'wait';

/** A deployment of the requested images found under way: this run follows it as its own. */
export interface AdoptedDeployment {
  /** Its id in deployments[] (exact: the judge follows this one). */
  deploymentId: string;
  createdAt?: Date;
  /** Its task definition (the requested images). */
  taskDefinition: string;
  /** The revision that ran before it: where a failure rolls the service back to. */
  previous: string;
  /** What it looked like when adopted, for the log. */
  state: string;
}

/** A deployment in progress with other images, which this release did not start. */
export interface ForeignDeployment {
  service: string;
  deployment: Deployment;
  /** How the running images differ from the requested ones. */
  changes: ImageChange[];
  /** The release that registered the revision it deploys (release-tags.ts), when deploy-services did. */
  release?: string;
}

/** The deployment is still rolling out (or ECS is rolling it back). */
export function inProgress(service: Service, deployment: Deployment | undefined): boolean {
  if (!deployment) return false;
  if (deployment.rolloutState) return deployment.rolloutState === 'IN_PROGRESS';
  // Without the circuit breaker's rolloutState: another deployment still draining means not done.
  return (service.deployments ?? []).length > 1;
}

/** Not a COMPLETED deployment with all its tasks running and nothing else left. */
function unsettled(service: Service, primary: Deployment): boolean {
  return (
    inProgress(service, primary) ||
    primary.rolloutState === 'FAILED' ||
    (service.deployments ?? []).length > 1 ||
    (primary.runningCount ?? 0) < (primary.desiredCount ?? 0)
  );
}

export function describeDeployment(d: Deployment): string {
  return (
    `${d.id ?? 'deployment'} of ${shortTaskDefinition(d.taskDefinition)} (${d.rolloutState ?? d.status ?? 'IN_PROGRESS'}, ` +
    `${d.runningCount ?? 0}/${d.desiredCount ?? 0} running` +
    (d.failedTasks ? `, ${d.failedTasks} failed task(s)` : '') +
    (d.createdAt ? `, started ${d.createdAt.toISOString()}` : '') +
    ')'
  );
}

/**
 * Whether a task definition runs what this run asks for: the requested images
 * (images mode) or the requested revision (rollback-to mode).
 */
export type RunsRequested = (taskDefinition: string) => Promise<boolean>;

/** images mode: a revision runs the requested images when applying them to it changes nothing. */
export function runsImages(ecs: ECSClient, images: Record<string, string>): RunsRequested {
  return async (taskDefinition) => (await planClone(ecs, taskDefinition, images)).changes.length === 0;
}

/** rollback-to mode: exactly the requested revision. */
export function runsRevision(target: string): RunsRequested {
  return (taskDefinition) => Promise.resolve(taskDefinition === target);
}

/**
 * The service's deployment of what was asked for that is not settled, if
 * any: its PRIMARY (when the service already runs it, `runsItNow`), or, while
 * the circuit breaker rolls back, the FAILED deployment it rolls back from.
 */
export async function adoptable(
  ecs: ECSClient,
  cluster: string,
  service: Service,
  runsItNow: boolean,
  requested: RunsRequested,
): Promise<AdoptedDeployment | undefined> {
  const primary = primaryDeployment(service.deployments);
  if (!primary?.id || !primary.taskDefinition) return undefined;
  if (runsItNow) {
    if (!unsettled(service, primary)) return undefined;
    return {
      deploymentId: primary.id,
      ...(primary.createdAt ? { createdAt: primary.createdAt } : {}),
      taskDefinition: primary.taskDefinition,
      previous: await revisionBefore(ecs, cluster, service, primary),
      state: describeDeployment(primary),
    };
  }
  // The circuit breaker rolls a deployment of what was asked for back: that failure is this run's.
  if (!inProgress(service, primary)) return undefined;
  for (const failed of failedDeployments(service)) {
    if (await requested(failed.taskDefinition!)) {
      return {
        deploymentId: failed.id!,
        ...(failed.createdAt ? { createdAt: failed.createdAt } : {}),
        taskDefinition: failed.taskDefinition!,
        previous: primary.taskDefinition,
        state: `${describeDeployment(failed)}, being rolled back by ECS to ${shortTaskDefinition(primary.taskDefinition)}`,
      };
    }
  }
  return undefined;
}

function failedDeployments(service: Service): Deployment[] {
  return (service.deployments ?? []).filter(
    (d) => d.status !== 'PRIMARY' && d.rolloutState === 'FAILED' && d.id && d.taskDefinition,
  );
}

/** The revision that ran before `deployment`: a draining deployment that did not fail, else the service's history. */
async function revisionBefore(
  ecs: ECSClient,
  cluster: string,
  service: Service,
  deployment: Deployment,
): Promise<string> {
  const draining = (service.deployments ?? [])
    .filter(
      (d) =>
        d.id !== deployment.id &&
        d.rolloutState !== 'FAILED' &&
        d.taskDefinition &&
        d.taskDefinition !== deployment.taskDefinition,
    )
    .sort((a, b) => (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0))[0];
  if (draining?.taskDefinition) return draining.taskDefinition;
  const previous = await previousTaskDefinition(ecs, cluster, service);
  // Nothing before it (the service's first revision): nothing to roll back to.
  return previous?.taskDefinition ?? deployment.taskDefinition!;
}

/**
 * Why this release will not start over a deployment of someone else. ECS does
 * not record who started a deployment (neither Deployment nor ServiceDeployment
 * has such a field; CloudTrail's UpdateService event has the principal), so
 * the message names what ECS does say: the deployment, when, and its reason;
 * and, when deploy-services registered its revision, the release that did.
 */
export function foreignDeploymentMessage(f: ForeignDeployment): string {
  const d = f.deployment;
  const cloudTrail = `CloudTrail's UpdateService event${d.createdAt ? ` at ${d.createdAt.toISOString()}` : ''} names the principal`;
  const startedBy = /circuit breaker/i.test(d.rolloutStateReason ?? '')
    ? `started by ECS's deployment circuit breaker (${d.rolloutStateReason})`
    : f.release !== undefined
      ? `not started by this release; its revision ${shortTaskDefinition(d.taskDefinition)} was registered by release ${f.release} (tag ${RELEASE_TAG}: deploy-services' GitHub run id), whose run started it unless that revision was deployed again since (${cloudTrail})`
      : `not started by this release; ECS does not record who started it (${cloudTrail})`;
  const differs = f.changes.map((c) => `${c.container}: it runs ${c.from}, this release wants ${c.to}`);
  return `${f.service}: deployment ${describeDeployment(d)} is in progress with other images (${differs.join('; ')}), ${startedBy}`;
}
