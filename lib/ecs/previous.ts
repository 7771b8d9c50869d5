/**
 * "previous" for rollback-to: the last revision that completed successfully
 * before the current one. Never a revision the circuit breaker rolled back,
 * nor one a newer deployment replaced before it completed. Looked up in this
 * order, first answer wins:
 *  1. the service's deployments[]: a non-PRIMARY deployment still draining
 *     whose rollout had COMPLETED, on another task definition;
 *  2. the ServiceDeployment history: the newest SUCCESSFUL service deployment
 *     whose target revision (DescribeServiceRevisions) runs another task
 *     definition. ECS keeps 90 days of it, for deployments since 2024-10-25
 *     (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-deployment.html);
 *  3. only when that history cannot be read (the API is denied or unsupported)
 *     or holds no other success: the family's newest ACTIVE revision older
 *     than the current one, which is not known to have run successfully.
 */
import {
  DescribeServiceRevisionsCommand,
  ListServiceDeploymentsCommand,
  ListTaskDefinitionsCommand,
  type ECSClient,
  type Service,
  type ServiceDeploymentBrief,
} from '@aws-sdk/client-ecs';
import { chunks } from './services.js';
import { parseTaskDefinitionRef } from './taskdef.js';
import { primaryDeployment } from './tasks.js';

export type PreviousSource = 'deployments' | 'service-deployments' | 'family';

export interface PreviousRevision {
  taskDefinition: string;
  source: PreviousSource;
}

/** DescribeServiceRevisions takes at most 20 ARNs. */
const DESCRIBE_REVISIONS_CHUNK = 20;
/** ListServiceDeployments pages (of 100): 500 successful deployments reach far enough back. */
const MAX_HISTORY_PAGES = 5;
/** Errors that mean "this service has no readable ServiceDeployment history", not "try again". */
const HISTORY_UNAVAILABLE = new Set([
  'AccessDeniedException',
  'UnsupportedFeatureException',
  'InvalidParameterException',
  'ClientException',
]);

export async function previousTaskDefinition(
  ecs: ECSClient,
  cluster: string,
  service: Service,
): Promise<PreviousRevision | undefined> {
  const current = service.taskDefinition ?? primaryDeployment(service.deployments)?.taskDefinition;
  if (!current) return undefined;
  const draining = fromDeployments(service, current);
  if (draining) return { taskDefinition: draining, source: 'deployments' };
  const succeeded = await fromServiceDeployments(ecs, cluster, service.serviceName!, current);
  if (succeeded) return { taskDefinition: succeeded, source: 'service-deployments' };
  const older = await fromFamily(ecs, current);
  return older ? { taskDefinition: older, source: 'family' } : undefined;
}

/** A deployment that completed and is draining now that another one is PRIMARY. */
function fromDeployments(service: Service, current: string): string | undefined {
  return (service.deployments ?? [])
    .filter((d) => d.status !== 'PRIMARY' && d.rolloutState === 'COMPLETED')
    .filter((d) => d.taskDefinition && d.taskDefinition !== current)
    .sort((a, b) => (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0))[0]?.taskDefinition;
}

/** The newest SUCCESSFUL service deployment to another task definition; undefined when there is none or no history. */
async function fromServiceDeployments(
  ecs: ECSClient,
  cluster: string,
  service: string,
  current: string,
): Promise<string | undefined> {
  let succeeded: ServiceDeploymentBrief[];
  try {
    succeeded = await successfulDeployments(ecs, cluster, service);
  } catch (err) {
    if (HISTORY_UNAVAILABLE.has((err as Error).name)) return undefined;
    // A throttled or failing read is not "no history": guessing from the family could pick a failed revision.
    throw err;
  }
  const revisions = [
    ...new Set(
      succeeded
        .sort((a, b) => (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0))
        .map((d) => d.targetServiceRevisionArn)
        .filter((arn): arn is string => Boolean(arn)),
    ),
  ];
  for (const chunk of chunks(revisions, DESCRIBE_REVISIONS_CHUNK)) {
    const reply = await ecs.send(new DescribeServiceRevisionsCommand({ serviceRevisionArns: chunk }));
    const byArn = new Map(
      (reply.serviceRevisions ?? []).map((r) => [r.serviceRevisionArn, r.taskDefinition]),
    );
    const earlier = chunk.map((arn) => byArn.get(arn)).find((td) => td && td !== current);
    if (earlier) return earlier;
  }
  return undefined;
}

async function successfulDeployments(
  ecs: ECSClient,
  cluster: string,
  service: string,
): Promise<ServiceDeploymentBrief[]> {
  const all: ServiceDeploymentBrief[] = [];
  let nextToken: string | undefined;
  let pages = 0;
  do {
    const page = await ecs.send(
      new ListServiceDeploymentsCommand({
        cluster,
        service,
        status: ['SUCCESSFUL'],
        maxResults: 100,
        nextToken,
      }),
    );
    all.push(...(page.serviceDeployments ?? []));
    nextToken = page.nextToken;
  } while (nextToken && ++pages < MAX_HISTORY_PAGES);
  return all;
}

/** The newest ACTIVE revision of the same family older than the current one. */
async function fromFamily(ecs: ECSClient, current: string): Promise<string | undefined> {
  const { family, revision } = parseTaskDefinitionRef(current);
  if (revision === undefined) return undefined;
  let nextToken: string | undefined;
  do {
    const page = await ecs.send(
      new ListTaskDefinitionsCommand({ familyPrefix: family, status: 'ACTIVE', sort: 'DESC', nextToken }),
    );
    for (const arn of page.taskDefinitionArns ?? []) {
      const ref = parseTaskDefinitionRef(arn);
      // familyPrefix matches by prefix: "web" also lists "web-worker".
      if (ref.family === family && (ref.revision ?? 0) < revision) return arn;
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return undefined;
}
