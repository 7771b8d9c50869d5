import { environment } from './services.js';

/**
 * Cost profiles of the staging environment (context `profile`). `standard` is
 * the seed's environment, unchanged; `lean` trades availability margins that
 * staging does not need for a fraction of the bill (infra/README.md, "Profiles
 * and cost"). Everything else (names, ports, services) is the same in both.
 */
export const profileNames = ['standard', 'lean'] as const;
export type ProfileName = (typeof profileNames)[number];

export interface CapacityProviderShare {
  readonly capacityProvider: 'FARGATE' | 'FARGATE_SPOT';
  readonly weight: number;
  readonly base?: number;
}

export interface Profile {
  readonly name: ProfileName;
  /** NAT gateways of the VPC; 0 means no private subnets with egress at all. */
  readonly natGateways: number;
  /**
   * Where the Fargate tasks run. `private`: private subnets, egress through NAT.
   * `public`: public subnets with a public IP (their only route to ECR, Logs and
   * Secrets Manager without NAT or endpoints), inbound only from the ALB's group.
   */
  readonly taskSubnets: 'private' | 'public';
  readonly cpuArchitecture: 'X86_64' | 'ARM64';
  /**
   * The services' capacity provider strategy; undefined keeps the seed's launch
   * type FARGATE on the service itself.
   */
  readonly serviceCapacityProviders?: readonly CapacityProviderShare[];
  /** RDS class and size, e.g. t4g + micro -> db.t4g.micro. */
  readonly databaseInstanceClass: string;
  readonly databaseInstanceSize: string;
  readonly cacheNodeType: string;
  readonly containerInsights: boolean;
  /** Retention of the service, migration, flow and PostgreSQL log groups. */
  readonly logRetentionDays: number;
}

export const profiles: Readonly<Record<ProfileName, Profile>> = {
  // The seed's environment: exactly what config/services.ts describes.
  standard: {
    name: 'standard',
    natGateways: environment.natGateways,
    taskSubnets: 'private',
    cpuArchitecture: 'X86_64',
    databaseInstanceClass: environment.database.instanceClass,
    databaseInstanceSize: environment.database.instanceSize,
    cacheNodeType: environment.cache.nodeType,
    containerInsights: true,
    logRetentionDays: environment.logRetentionDays,
  },
  lean: {
    name: 'lean',
    natGateways: 0,
    taskSubnets: 'public',
    cpuArchitecture: 'ARM64',
    // Every service task on Spot (about 70% off on-demand Fargate). Staging
    // runs one task per service: an interruption (two minutes' notice, ECS
    // drains and replaces the task) costs a minute of that service, which a
    // staging environment accepts. A FARGATE base of 1 would keep every one
    // of these one-task services on on-demand and save nothing. The migration
    // task keeps the cluster's default FARGATE strategy (see EcsStack).
    serviceCapacityProviders: [{ capacityProvider: 'FARGATE_SPOT', weight: 1 }],
    databaseInstanceClass: 't4g',
    databaseInstanceSize: 'micro',
    cacheNodeType: 'cache.t4g.micro',
    containerInsights: false,
    // A week covers the investigation of a staging failure; older logs only cost storage.
    logRetentionDays: 7,
  },
};

/**
 * The profile named by context `profile`: undefined when absent (which means
 * `standard`); anything but a known name fails synthesis.
 */
export function profileNameFromContext(value: unknown): ProfileName | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string' && (profileNames as readonly string[]).includes(value)) {
    return value as ProfileName;
  }
  throw new Error(
    `Context "profile" must be one of ${profileNames.map((name) => `"${name}"`).join(', ')}, got ${JSON.stringify(value)}`,
  );
}
