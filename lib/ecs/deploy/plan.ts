/**
 * The read-only steps of a deploy: check (every service exists) and prepare
 * (the task-definition clones, or the revisions to return to). They throw
 * InputError naming the input to fix, and change nothing.
 */
import type { ECSClient, Service } from '@aws-sdk/client-ecs';
import { bareMap } from '../../contracts/json.js';
import { InputError, OperationError, errorMessage } from '../../errors.js';
import type { Log } from '../../log.js';
import { formatDuration, systemClock, type Clock } from '../../time.js';
import type { DeployPlan, RollbackTo, ServicePlan } from '../deploy.js';
import { previousTaskDefinition } from '../previous.js';
import { registeringRelease } from './release-tags.js';
import { describeServices } from '../services.js';
import { primaryDeployment } from '../tasks.js';
import {
  adoptable,
  foreignDeploymentMessage,
  inProgress,
  runsImages,
  runsRevision,
  type ForeignDeployment,
  type IfInProgress,
  type RunsRequested,
} from './in-progress.js';
import {
  containerNames,
  describeTaskDefinition,
  parseRevisionRef,
  parseTaskDefinitionRef,
  planClone,
  shortTaskDefinition,
  taskDefinitionScope,
} from '../taskdef.js';

/** check: every service exists (and is ACTIVE) in the cluster. Returns them by the name asked for. */
export async function checkServices(
  ecs: ECSClient,
  cluster: string,
  services: string[],
): Promise<Map<string, Service>> {
  const { services: found, missing } = await describeServices(ecs, cluster, services);
  if (missing.length) {
    throw new InputError(
      'services',
      `${missing.map((m) => `"${m.name}" (${m.reason})`).join(', ')} not found in cluster "${cluster}"`,
      `list services that exist in the cluster (asked for: ${services.join(', ')}); check the cluster name and the region`,
    );
  }
  return found;
}

export interface ImagePlanOptions {
  /** A deployment in progress with other images: refuse (default) or wait for it to end. */
  ifInProgress?: IfInProgress;
  /** How long if-in-progress: wait may wait (the run's timeout). */
  timeoutMs?: number;
  /** A new deployment is asked for anyway: one of the same images under way is not adopted. */
  forceNewDeployment?: boolean;
  log?: Log;
  clock?: Clock;
  signal?: AbortSignal;
  /** How often to look again while waiting (default 10 s). */
  pollMs?: number;
}

/**
 * check → prepare, images mode, minding the deployments under way (see
 * in-progress.ts): adopts this release's own, refuses (or waits for) others'.
 */
export async function planImages(
  ecs: ECSClient,
  cluster: string,
  services: string[],
  images: Record<string, string>,
  options: ImagePlanOptions = {},
): Promise<DeployPlan> {
  const clock = options.clock ?? systemClock;
  const timeoutMs = options.timeoutMs ?? 0;
  const deadline = clock.now() + timeoutMs;
  let waitingFor = '';
  for (;;) {
    const found = await checkServices(ecs, cluster, services);
    const plan = await prepareImageClones(ecs, cluster, services, found, images);
    const requested = runsImages(ecs, images);
    const foreign = await adoptOrFindForeign(ecs, plan, found, () => requested, options.forceNewDeployment);
    if (!foreign.length) return shareFamilyRevisions(plan, options.log);
    const messages = foreign.map(foreignDeploymentMessage);
    if (options.ifInProgress !== 'wait') {
      throw new OperationError(
        `Refused before any change: ${messages.join('. ')}. Let it finish (or stop it) and run again, or set if-in-progress: wait`,
        messages,
      );
    }
    if (clock.now() >= deadline) {
      throw new OperationError(
        `Still in progress after waiting ${formatDuration(timeoutMs)} (timeout-seconds), nothing changed: ${messages.join('. ')}`,
        messages,
      );
    }
    const now = foreign.map((f) => `${f.service} ${f.deployment.id}`).join(', ');
    if (now !== waitingFor) options.log?.info(`if-in-progress: wait: waiting for ${messages.join('. ')}`);
    waitingFor = now;
    await clock.sleep(
      Math.min(options.pollMs ?? 10_000, Math.max(0, deadline - clock.now())),
      options.signal,
    );
  }
}

/**
 * Marks the plans whose service runs an unsettled deployment of what was asked
 * for (`requestedBy`: the images, or the rollback's revision) as adopted;
 * returns the services busy with a deployment of other images (images mode
 * only: a rollback is never refused, it goes over whatever is under way).
 */
async function adoptOrFindForeign(
  ecs: ECSClient,
  plan: DeployPlan,
  found: Map<string, Service>,
  requestedBy: (p: ServicePlan) => RunsRequested,
  forceNewDeployment = false,
): Promise<ForeignDeployment[]> {
  const foreign: ForeignDeployment[] = [];
  await Promise.all(
    plan.services.map(async (p) => {
      const service = found.get(p.service)!;
      const changes = p.clone?.changes ?? [];
      const runsItNow = p.clone ? changes.length === 0 : p.target === p.current;
      if (runsItNow && forceNewDeployment) return;
      const adopt = await adoptable(ecs, plan.cluster, service, runsItNow, requestedBy(p));
      if (adopt) {
        p.adopt = adopt;
        return;
      }
      const primary = primaryDeployment(service.deployments);
      if (p.clone && !runsItNow && primary && inProgress(service, primary)) {
        const release = primary.taskDefinition && (await registeringRelease(ecs, primary.taskDefinition));
        foreign.push({ service: p.service, deployment: primary, changes, ...(release ? { release } : {}) });
      }
    }),
  );
  return foreign.sort((a, b) => a.service.localeCompare(b.service));
}

/**
 * Services on one task-definition family that need a new revision get one: the
 * same clone, registered once (deploy/start.ts) and used by every UpdateService.
 * With one `images` map applied to one revision, their clones are equal; so
 * they must run the same revision now, else they are refused before any change
 * (one new revision cannot stand for two different ones). Services left
 * unchanged or adopted register nothing and are not grouped.
 */
export function shareFamilyRevisions(plan: DeployPlan, log?: Log): DeployPlan {
  const byFamily = new Map<string, ServicePlan[]>();
  for (const p of plan.services) {
    if (!p.clone || p.clone.changes.length === 0 || p.adopt) continue;
    const { family } = parseTaskDefinitionRef(p.current);
    const key = `${taskDefinitionScope(p.current) ?? ''} ${family}`;
    byFamily.set(key, [...(byFamily.get(key) ?? []), p]);
  }
  for (const sharing of byFamily.values()) {
    if (sharing.length < 2) continue;
    const { family } = parseTaskDefinitionRef(sharing[0]!.current);
    const names = sharing.map((p) => p.service);
    const listed = `${names.slice(0, -1).join(', ')} and ${names.at(-1)!}`;
    if (new Set(sharing.map((p) => p.current)).size > 1) {
      throw new InputError(
        'services',
        `${listed} share the task-definition family ${family} but run different revisions (${sharing.map((p) => `${p.service} runs ${shortTaskDefinition(p.current)}`).join(', ')}): one new revision of ${family} cannot replace both`,
        `deploy them in separate steps (each gets a revision of its own), or first put them on one revision with rollback-to (e.g. rollback-to: {"${names[1]!}": "${shortTaskDefinition(sharing[0]!.current)}"} puts ${names[1]!} on ${names[0]!}'s)`,
      );
    }
    for (const p of sharing.slice(1)) p.clone = sharing[0]!.clone;
    log?.info(`${listed} share the task-definition family ${family}: one new revision for them all`);
  }
  return plan;
}

/** The one-service shorthand: one image, for `container` or the task definition's only container. */
export interface OneImage {
  reference: string;
  container?: string;
}

/** `image` (and `container`) as the `images` map they stand for, read from the service's task definition. */
export async function imagesOfOneService(
  ecs: ECSClient,
  cluster: string,
  service: string,
  image: OneImage,
): Promise<Record<string, string>> {
  const current = (await checkServices(ecs, cluster, [service])).get(service)!.taskDefinition!;
  const names = containerNames((await describeTaskDefinition(ecs, current)).taskDefinition);
  const runs = `${shortTaskDefinition(current)}, whose containers are ${names.join(', ')}`;
  const container = image.container ?? (names.length === 1 ? names[0]! : undefined);
  if (container === undefined) {
    throw new InputError(
      'container',
      `is required: service "${service}" runs ${runs}`,
      `name the container that gets \`image\`, e.g. container: ${names[0] ?? '<name>'}`,
    );
  }
  if (!names.includes(container)) {
    throw new InputError(
      'container',
      `"${container}" is not a container of service "${service}": it runs ${runs}`,
      'name one of those containers',
    );
  }
  return bareMap([[container, image.reference]]);
}

/** prepare, images mode: each service's task definition cloned with `images` applied (not registered). */
export async function prepareImageClones(
  ecs: ECSClient,
  cluster: string,
  services: string[],
  found: Map<string, Service>,
  images: Record<string, string>,
): Promise<DeployPlan> {
  const plans = await Promise.all(
    services.map(async (service) => {
      const current = found.get(service)!.taskDefinition!;
      const clone = await planClone(ecs, current, images);
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

/**
 * prepare, rollback-to mode: the existing revision each service returns to,
 * always one of the family the service runs now (a revision of another
 * family is refused here, before any change); a deployment of that revision
 * still under way (an earlier attempt, or one the release gate held) is adopted.
 */
export async function prepareRollbackTargets(
  ecs: ECSClient,
  cluster: string,
  services: string[],
  found: Map<string, Service>,
  rollbackTo: RollbackTo,
  forceNewDeployment = false,
): Promise<DeployPlan> {
  const plans = await Promise.all(
    services.map((service) => rollbackTarget(ecs, cluster, service, found.get(service)!, rollbackTo)),
  );
  return adoptRollbacksUnderWay(ecs, { cluster, services: plans }, found, forceNewDeployment);
}

/**
 * A rollback plan (rollback-to, rollback-release) with each service whose
 * deployment of its target revision is still under way marked as adopted, as
 * images mode does: followed to its end and judged, never "unchanged".
 */
export async function adoptRollbacksUnderWay(
  ecs: ECSClient,
  plan: DeployPlan,
  found: Map<string, Service>,
  forceNewDeployment = false,
): Promise<DeployPlan> {
  await adoptOrFindForeign(ecs, plan, found, (p) => runsRevision(p.target ?? p.current), forceNewDeployment);
  return plan;
}

async function rollbackTarget(
  ecs: ECSClient,
  cluster: string,
  service: string,
  described: Service,
  rollbackTo: RollbackTo,
): Promise<ServicePlan> {
  const current = described.taskDefinition!;
  if (rollbackTo === 'previous') {
    const previous = await previousTaskDefinition(ecs, cluster, described);
    if (!previous) {
      throw new InputError(
        'rollback-to',
        `service "${service}" runs ${shortTaskDefinition(current)} and no earlier revision of it completed successfully (no draining deployment, no SUCCESSFUL service deployment, no older ACTIVE revision of the family)`,
        'give the revision explicitly: rollback-to: {"' + service + '": <revision number or ARN>}',
      );
    }
    return { service, current, target: previous.taskDefinition };
  }
  const wanted = rollbackTo[service];
  if (wanted === undefined) return { service, current, target: current };
  const ref = ownFamilyRevision(service, current, wanted);
  return { service, current, target: await activeRevisionOf(ecs, service, current, ref) };
}

/** `wanted` as a reference to a revision of the family `current` belongs to; InputError for any other family. */
function ownFamilyRevision(service: string, current: string, wanted: string | number): string {
  const family = parseTaskDefinitionRef(current).family;
  if (typeof wanted === 'number' || /^\d+$/.test(wanted)) return `${family}:${wanted}`;
  const fix = `give a revision of ${family}, the family ${service} runs: {"${service}": <revision number>} or "${family}:<revision>"`;
  const ref = parseRevisionRef(wanted);
  if (!ref) {
    throw new InputError(
      'rollback-to',
      `the revision for "${service}" ("${wanted}") is not a revision number, "family:revision" or task-definition ARN`,
      fix,
    );
  }
  if (ref.family !== family) {
    throw new InputError(
      'rollback-to',
      `${wanted} is a revision of family "${ref.family}", but service "${service}" runs family "${family}" (${shortTaskDefinition(current)}); a rollback never moves a service to another family`,
      `${fix}. To run another family's task definition on ${service}, change the service itself (infra), not with rollback-to`,
    );
  }
  const scope = taskDefinitionScope(current);
  if (ref.scope && scope && ref.scope !== scope) {
    throw new InputError(
      'rollback-to',
      `${wanted} for service "${service}" is in ${ref.scope} (partition:region:account), but the service's task definitions are in ${scope}`,
      fix,
    );
  }
  return wanted;
}

/** Reads `ref` (already known to be of the service's family): it must exist and be ACTIVE. */
async function activeRevisionOf(
  ecs: ECSClient,
  service: string,
  current: string,
  ref: string,
): Promise<string> {
  const family = parseTaskDefinitionRef(current).family;
  let described: Awaited<ReturnType<typeof describeTaskDefinition>>;
  try {
    described = await describeTaskDefinition(ecs, ref);
  } catch (err) {
    throw new InputError(
      'rollback-to',
      `task definition "${ref}" for service "${service}" cannot be read: ${errorMessage(err)}`,
      `give an existing revision of ${family}: a revision number, "${family}:<revision>" or its task-definition ARN`,
    );
  }
  const { taskDefinition } = described;
  const describedFamily =
    taskDefinition.family ?? parseTaskDefinitionRef(taskDefinition.taskDefinitionArn).family;
  if (describedFamily !== family) {
    throw new InputError(
      'rollback-to',
      `"${ref}" is a revision of family "${describedFamily}", but service "${service}" runs family "${family}"`,
      `give a revision of ${family}`,
    );
  }
  if (taskDefinition.status && taskDefinition.status !== 'ACTIVE') {
    throw new InputError(
      'rollback-to',
      `${shortTaskDefinition(taskDefinition.taskDefinitionArn)} for "${service}" is ${taskDefinition.status}`,
      'choose an ACTIVE revision',
    );
  }
  return taskDefinition.taskDefinitionArn;
}
