/**
 * The tags deploy-services puts on every task-definition revision it registers
 * (deploy.ts tagRevisions): which release registered it and what the service
 * ran before. ECS itself does not record who started a deployment; these say
 * which release's revision a deployment runs (recover.ts walks them back,
 * in-progress.ts names the release in a refusal).
 */
import type { ECSClient } from '@aws-sdk/client-ecs';
import { describeTaskDefinition } from '../taskdef.js';

/** Tag on each revision a release registers: which release (deploy-services: the GitHub run id). */
export const RELEASE_TAG = 'ecs-ship:release';
/** Tag on each revision a release registers: the revision the service ran before (its ARN). */
export const PREVIOUS_TAG = 'ecs-ship:previous';

/** The release that registered `taskDefinition` (its RELEASE_TAG); undefined when untagged or unreadable. */
export async function registeringRelease(
  ecs: ECSClient,
  taskDefinition: string,
): Promise<string | undefined> {
  try {
    const { tags } = await describeTaskDefinition(ecs, taskDefinition);
    return tags.find((t) => t.key === RELEASE_TAG)?.value;
  } catch {
    // Only an explanation depends on it: a refusal still names the deployment without it.
    return undefined;
  }
}
