/** Reading services: DescribeServices takes at most 10 names per call. */
import { DescribeServicesCommand, type ECSClient, type Service } from '@aws-sdk/client-ecs';

export const DESCRIBE_SERVICES_CHUNK = 10;

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export interface DescribedServices {
  /** By the name asked for. */
  services: Map<string, Service>;
  /** Names that do not exist, or exist only as INACTIVE/DRAINING (deleted) services. */
  missing: { name: string; reason: string }[];
}

/** The last path segment of an ARN, or the name itself. */
export function serviceName(nameOrArn: string): string {
  return nameOrArn.slice(nameOrArn.lastIndexOf('/') + 1);
}

export async function describeServices(
  ecs: ECSClient,
  cluster: string,
  names: readonly string[],
  signal?: AbortSignal,
): Promise<DescribedServices> {
  const services = new Map<string, Service>();
  const missing: DescribedServices['missing'] = [];
  const replies = await Promise.all(
    chunks(names, DESCRIBE_SERVICES_CHUNK).map((chunk) =>
      ecs.send(new DescribeServicesCommand({ cluster, services: chunk }), { abortSignal: signal }),
    ),
  );
  const found = new Map<string, Service>();
  for (const reply of replies) {
    for (const s of reply.services ?? []) {
      if (s.serviceName) found.set(s.serviceName, s);
      if (s.serviceArn) found.set(s.serviceArn, s);
    }
  }
  const failures = new Map(
    replies.flatMap((r) => r.failures ?? []).map((f) => [f.arn ?? '', f.reason ?? '']),
  );
  for (const name of names) {
    const s = found.get(name) ?? found.get(serviceName(name));
    if (s && s.status === 'ACTIVE') services.set(name, s);
    else {
      const failure = [...failures].find(([arn]) => serviceName(arn) === serviceName(name));
      missing.push({ name, reason: s ? `status ${s.status}` : (failure?.[1] ?? 'MISSING') });
    }
  }
  return { services, missing };
}
