/**
 * The ServiceDeployment API: ListServiceDeployments,
 * DescribeServiceDeployments, DescribeServiceRevisions and
 * StopServiceDeployment (a rollback, the only stopType ECS offers).
 */
import type { EcsEngine } from '../../ecs/engine.js';
import type { ServiceDeploymentRecord, ServiceRevisionRecord } from '../../ecs/records.js';
import { AwsError } from '../../service.js';
import { clusterOf, d, invalid, paginate, requireString, serviceOf, type Params } from './request.js';
import { serviceDeploymentShape, serviceRevisionShape } from './shapes.js';

function findServiceDeployment(engine: EcsEngine, arn: string): ServiceDeploymentRecord | undefined {
  for (const cluster of engine.clusters.values()) {
    for (const service of cluster.services.values()) {
      const sd = service.serviceDeployments.find((x) => x.arn === arn);
      if (sd) return sd;
    }
  }
  return undefined;
}

/** https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListServiceDeployments.html */
export function listServiceDeployments(engine: EcsEngine, params: Params): Params {
  const cluster = clusterOf(engine, params);
  const service = serviceOf(cluster, requireString(params, 'service'));
  const statuses = params.status as string[] | undefined;
  const createdAt = params.createdAt as { before?: number; after?: number } | undefined;
  const items = service.serviceDeployments
    .filter((sd) => !statuses?.length || statuses.includes(sd.status))
    .filter((sd) => createdAt?.after === undefined || sd.createdAt >= createdAt.after * 1000)
    .filter((sd) => createdAt?.before === undefined || sd.createdAt <= createdAt.before * 1000)
    .map((sd) => ({
      serviceDeploymentArn: sd.arn,
      serviceArn: service.arn,
      clusterArn: cluster.arn,
      startedAt: d(sd.startedAt),
      createdAt: d(sd.createdAt),
      finishedAt: d(sd.finishedAt),
      targetServiceRevisionArn: sd.targetRevisionArn,
      status: sd.status,
      statusReason: sd.statusReason,
    }));
  const { page, nextToken } = paginate(items, params.nextToken, params.maxResults, 20, 100);
  return { serviceDeployments: page, nextToken };
}

/** https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServiceDeployments.html */
export function describeServiceDeployments(engine: EcsEngine, params: Params): Params {
  const arns = params.serviceDeploymentArns;
  if (!Array.isArray(arns) || arns.length === 0) throw invalid('serviceDeploymentArns cannot be empty.');
  if (arns.length > 20) throw invalid('serviceDeploymentArns can have at most 20 items.');
  const serviceDeployments: Params[] = [];
  const failures: Params[] = [];
  for (const arn of arns as string[]) {
    const sd = findServiceDeployment(engine, arn);
    if (!sd) {
      failures.push({ arn, reason: 'MISSING' });
      continue;
    }
    serviceDeployments.push(serviceDeploymentShape(engine, sd));
  }
  return { serviceDeployments, failures };
}

/** https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServiceRevisions.html */
export function describeServiceRevisions(engine: EcsEngine, params: Params): Params {
  const arns = params.serviceRevisionArns;
  if (!Array.isArray(arns) || arns.length === 0) throw invalid('serviceRevisionArns cannot be empty.');
  const serviceRevisions: Params[] = [];
  const failures: Params[] = [];
  for (const arn of arns as string[]) {
    let revision: ServiceRevisionRecord | undefined;
    for (const cluster of engine.clusters.values()) {
      for (const service of cluster.services.values()) revision ??= service.revisions.get(arn);
    }
    if (!revision) {
      failures.push({ arn, reason: 'MISSING' });
      continue;
    }
    serviceRevisions.push(serviceRevisionShape(engine, revision));
  }
  return { serviceRevisions, failures };
}

/** https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_StopServiceDeployment.html */
export function stopServiceDeployment(engine: EcsEngine, params: Params): Params {
  const arn = requireString(params, 'serviceDeploymentArn');
  const stopType = (params.stopType as string | undefined) ?? 'ROLLBACK';
  if (stopType !== 'ROLLBACK') throw invalid(`stopType ${stopType} is not supported.`);
  const sd = findServiceDeployment(engine, arn);
  if (!sd) throw new AwsError('ServiceDeploymentNotFoundException', 'The service deployment does not exist.');
  engine.requestRollback(sd);
  return { serviceDeploymentArn: sd.arn };
}

/** https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContinueServiceDeployment.html */
export function continueServiceDeployment(engine: EcsEngine, params: Params): Params {
  const arn = requireString(params, 'serviceDeploymentArn');
  const hookId = requireString(params, 'hookId');
  const action = (params.action as string | undefined) ?? 'CONTINUE';
  if (action !== 'CONTINUE' && action !== 'ROLLBACK')
    throw invalid(`action ${action} is not valid: use CONTINUE or ROLLBACK.`);
  const sd = findServiceDeployment(engine, arn);
  if (!sd) throw new AwsError('ServiceDeploymentNotFoundException', 'The service deployment does not exist.');
  engine.continueDeployment(sd, hookId, action);
  return { serviceDeploymentArn: sd.arn };
}
