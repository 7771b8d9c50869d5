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
  parseTaskDefinitionRef,
  planClone,
  shortTaskDefinition,
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

/** prepare, rollback-to mode: the existing revision each service returns to. */
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
    const { taskDefinition } = await describeTaskDefinition(ecs, ref);
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
}
