/**
 * "previous" for rollback-to: the revision a service ran before its current
 * PRIMARY one. Looked up in this order, first answer wins:
 *  1. the service's deployments[]: a non-PRIMARY deployment (still draining)
 *     on another task definition, newest first;
 *  2. the ServiceDeployment history: the newest service deployment whose
 *     target revision runs another task definition (DescribeServiceRevisions);
 *  3. the family: the newest ACTIVE revision older than the current one.
 */
import {
  DescribeServiceRevisionsCommand,
  ListServiceDeploymentsCommand,
  ListTaskDefinitionsCommand,
  type ECSClient,
  type Service,
} from '@aws-sdk/client-ecs';
import { parseTaskDefinitionRef } from './taskdef.js';
import { primaryDeployment } from './tasks.js';

export type PreviousSource = 'deployments' | 'service-deployments' | 'family';

export async function previousTaskDefinition(
  ecs: ECSClient,
  cluster: string,
  service: Service,
): Promise<{ taskDefinition: string; source: PreviousSource } | undefined> {
  const current = service.taskDefinition ?? primaryDeployment(service.deployments)?.taskDefinition;
  if (!current) return undefined;

  const draining = (service.deployments ?? [])
    .filter((d) => d.status !== 'PRIMARY' && d.taskDefinition && d.taskDefinition !== current)
    .sort((a, b) => (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0))[0];
  if (draining?.taskDefinition) return { taskDefinition: draining.taskDefinition, source: 'deployments' };

  try {
    const history = await ecs.send(
      new ListServiceDeploymentsCommand({ cluster, service: service.serviceName }),
    );
    const revisions = (history.serviceDeployments ?? [])
      .sort((a, b) => (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0))
      .map((d) => d.targetServiceRevisionArn)
      .filter((arn): arn is string => Boolean(arn))
      .slice(0, 20);
    if (revisions.length) {
      const reply = await ecs.send(new DescribeServiceRevisionsCommand({ serviceRevisionArns: revisions }));
      const byArn = new Map(
        (reply.serviceRevisions ?? []).map((r) => [r.serviceRevisionArn, r.taskDefinition]),
      );
      const earlier = revisions.map((arn) => byArn.get(arn)).find((td) => td && td !== current);
      if (earlier) return { taskDefinition: earlier, source: 'service-deployments' };
    }
  } catch {
    // No ServiceDeployment API for this service: fall through to the family.
  }

  const { family, revision } = parseTaskDefinitionRef(current);
  let nextToken: string | undefined;
  do {
    const page = await ecs.send(
      new ListTaskDefinitionsCommand({ familyPrefix: family, status: 'ACTIVE', sort: 'DESC', nextToken }),
    );
    for (const arn of page.taskDefinitionArns ?? []) {
      const ref = parseTaskDefinitionRef(arn);
      // familyPrefix matches by prefix: "web" also lists "web-worker".
      if (ref.family === family && revision !== undefined && (ref.revision ?? 0) < revision) {
        return { taskDefinition: arn, source: 'family' };
      }
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return undefined;
}
