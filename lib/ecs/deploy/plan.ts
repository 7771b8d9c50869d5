/**
 * The read-only steps of a deploy: check (every service exists) and prepare
 * (the task-definition clones, or the revisions to return to). They throw
 * InputError naming the input to fix, and change nothing.
 */
import type { ECSClient, Service } from '@aws-sdk/client-ecs';
import { InputError, errorMessage } from '../../errors.js';
import type { DeployPlan, RollbackTo, ServicePlan } from '../deploy.js';
import { previousTaskDefinition } from '../previous.js';
import { describeServices } from '../services.js';
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
 * family is refused here, before any change).
 */
export async function prepareRollbackTargets(
  ecs: ECSClient,
  cluster: string,
  services: string[],
  found: Map<string, Service>,
  rollbackTo: RollbackTo,
): Promise<DeployPlan> {
  const plans = await Promise.all(
    services.map((service) => rollbackTarget(ecs, cluster, service, found.get(service)!, rollbackTo)),
  );
  return { cluster, services: plans };
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
