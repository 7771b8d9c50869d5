/**
 * prepare, release-rollback mode: when a release's `deployments` output is
 * lost (its step killed before writing it), ECS's own record says what it
 * started. Every revision deploy-services registers carries the release's id
 * (RELEASE_TAG) and the revision the service ran before (PREVIOUS_TAG): a
 * service whose PRIMARY deployment runs a revision of that release goes back
 * along PREVIOUS_TAG to the first revision that release did not register.
 * Read-only.
 */
import type { ECSClient } from '@aws-sdk/client-ecs';
import { InputError } from '../../errors.js';
import type { Log } from '../../log.js';
import type { DeployPlan, ServicePlan } from '../deploy.js';
import { describeTaskDefinition, shortTaskDefinition } from '../taskdef.js';
import { adoptRollbacksUnderWay, checkServices } from './plan.js';
import { PREVIOUS_TAG, RELEASE_TAG } from './release-tags.js';

/** A release registers at most this many revisions of one service in a row (reruns): a bound on the walk. */
const MAX_WALK = 20;

export async function prepareReleaseRollback(
  ecs: ECSClient,
  cluster: string,
  services: string[],
  release: string,
  log: Log,
): Promise<DeployPlan> {
  const found = await checkServices(ecs, cluster, services);
  const plans = await Promise.all(
    services.map(async (service): Promise<ServicePlan> => {
      const current = found.get(service)!.taskDefinition!;
      const target = await revisionBeforeRelease(ecs, service, current, release);
      log.info(
        target === current
          ? `${service}: runs ${shortTaskDefinition(current)}, which release ${release} did not register; nothing to undo`
          : `${service}: runs ${shortTaskDefinition(current)}, registered by release ${release}; going back to ${shortTaskDefinition(target)}`,
      );
      return { service, current, target };
    }),
  );
  // A deployment of the revision to return to still under way (an earlier attempt) is followed, not "unchanged".
  return adoptRollbacksUnderWay(ecs, { cluster, services: plans }, found);
}

/** Follows PREVIOUS_TAG from `current` while the revision is tagged with `release`. */
async function revisionBeforeRelease(
  ecs: ECSClient,
  service: string,
  current: string,
  release: string,
): Promise<string> {
  let revision = current;
  for (let step = 0; step < MAX_WALK; step += 1) {
    const { taskDefinition, tags } = await describeTaskDefinition(ecs, revision);
    const tag = (key: string) => tags.find((t) => t.key === key)?.value;
    if (tag(RELEASE_TAG) !== release) return taskDefinition.taskDefinitionArn;
    const previous = tag(PREVIOUS_TAG);
    if (!previous) {
      throw new InputError(
        'rollback-release',
        `${shortTaskDefinition(revision)} of "${service}" was registered by release ${release} but does not say what ran before it (no ${PREVIOUS_TAG} tag)`,
        `give the revision to return to with rollback-to: {"${service}": <revision>}`,
      );
    }
    revision = previous;
  }
  throw new InputError(
    'rollback-release',
    `"${service}": more than ${MAX_WALK} revisions in a row were registered by release ${release}`,
    `give the revision to return to with rollback-to: {"${service}": <revision>}`,
  );
}
