/**
 * Reading an ECS request: required parameters, page tokens, and the records a
 * parameter names, each failing with the error ECS answers.
 */
import type { EcsEngine } from '../../ecs/engine.js';
import { nameOf, type ClusterRecord, type ServiceRecord, type TaskDefRecord } from '../../ecs/records.js';
import { AwsError } from '../../service.js';

export type Params = Record<string, unknown>;

/** Epoch milliseconds as the Date the SDK reads back (undefined stays undefined). */
export const d = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms));

export function invalid(message: string): AwsError {
  return new AwsError('InvalidParameterException', message);
}

export function requireString(params: Params, name: string): string {
  const value = params[name];
  if (typeof value !== 'string' || value === '') throw invalid(`${name} can not be blank.`);
  return value;
}

/** Opaque page tokens: the offset, base64-encoded. */
export function paginate<T>(
  items: T[],
  nextToken: unknown,
  maxResults: unknown,
  defaultMax: number,
  limit: number,
): { page: T[]; nextToken?: string } {
  const max = maxResults === undefined ? defaultMax : Number(maxResults);
  if (!Number.isInteger(max) || max < 1 || max > limit) {
    throw invalid(`maxResults must be between 1 and ${limit}.`);
  }
  let start = 0;
  if (typeof nextToken === 'string' && nextToken) {
    start = Number(Buffer.from(nextToken, 'base64').toString('utf8'));
    if (!Number.isInteger(start) || start < 0) throw invalid('Invalid nextToken.');
  }
  const page = items.slice(start, start + max);
  const next = start + max < items.length ? Buffer.from(String(start + max)).toString('base64') : undefined;
  return { page, nextToken: next };
}

export function clusterOf(engine: EcsEngine, params: Params): ClusterRecord {
  return engine.cluster(params.cluster as string | undefined);
}

export function serviceOf(cluster: ClusterRecord, ref: string): ServiceRecord {
  const service = cluster.services.get(nameOf(ref));
  if (!service) throw new AwsError('ServiceNotFoundException', 'Service not found.');
  return service;
}

export function taskDefinitionOf(
  engine: EcsEngine,
  ref: unknown,
  notFound = 'TaskDefinition not found.',
): TaskDefRecord {
  if (typeof ref !== 'string' || ref === '') throw invalid('taskDefinition can not be blank.');
  const td = engine.findTaskDefinition(ref);
  if (!td) throw new AwsError('ClientException', notFound);
  return td;
}
