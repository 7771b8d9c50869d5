/**
 * The single source of truth for the staging environment: every name, port,
 * size and per-service setting the stacks use comes from here, so the stacks,
 * the tests and the deploy workflows cannot drift apart.
 */

/** The application secrets (Secrets Manager) a service may receive. */
export type AppSecret =
  'jwtPrivateKey' | 'jwtPublicKey' | 'jwtSecret' | 'openaiApiKey' | 'resendApiKey' | 'cookieSecret';

/** Plain, non-secret values the stacks resolve per service. */
export type DerivedEnvironment =
  /** The ALB's DNS name (or the public hosts once a domain is set): CORS origins. */
  | 'corsOrigins'
  /** redis(s)://<primary endpoint>:<port> of the cache. */
  | 'redisUrl'
  /** Cloud Map URL of another service, e.g. http://api.alva-staging.local:3001. */
  | { serviceUrl: string };

export interface ServiceConfig {
  /** Short name: the container name, the Cloud Map name and the suffix of every resource name. */
  readonly name: string;
  readonly port: number;
  /** ALB path patterns routed to this service; undefined for the listener's default target. */
  readonly pathPatterns?: readonly string[];
  /** Listener rule priority (lower wins); required with pathPatterns. */
  readonly priority?: number;
  /** Host prefix once a domain is configured: `<hostPrefix>.<domain>`. */
  readonly hostPrefix: string;
  readonly healthCheckPath: string;
  /** Fargate task size: CPU units and memory in MiB (0.5 vCPU, 1 GB per the plan). */
  readonly cpu: number;
  readonly memoryMiB: number;
  readonly desiredCount: number;
  /** Literal environment variables (never secrets). */
  readonly environment: Readonly<Record<string, string>>;
  /** Environment variables whose values the stacks derive from other resources. */
  readonly derivedEnvironment?: Readonly<Record<string, DerivedEnvironment>>;
  /** Whether the task receives the database credentials (PGUSER/PGPASSWORD secrets, PGHOST/PGPORT/PGDATABASE). */
  readonly database: boolean;
  /**
   * Application secrets as ECS `secrets`: environment variable name -> secret.
   * Exactly the plan's list per service; a secret no service lists (JWT secret,
   * OpenAI key, cookie secret) exists but reaches no task until added here.
   */
  readonly secrets: Readonly<Record<string, AppSecret>>;
  /**
   * How ECS replaces the service's tasks (ECS-native strategies, `deploymentConfiguration.strategy`).
   * @default { strategy: 'rolling' }: the seed's rolling update. Context `deployments`
   * (`cdk synth -c deployments=api=blue-green,web=canary`, or `*=blue-green`) overrides it per service.
   */
  readonly deployment?: DeploymentConfig;
}

/**
 * A service's deployment strategy. Every strategy but rolling gets an alternate target
 * group, its production rule forwarding to both groups, a rule on the test listener and
 * the release gate (a POST_TEST_TRAFFIC_SHIFT hook): see infra/README.md.
 */
export type DeploymentConfig =
  | { readonly strategy: 'rolling' }
  | {
      readonly strategy: 'blue-green';
      /** Minutes green serves all production traffic while blue still runs (instant rollback). @default 5 */
      readonly bakeTimeMinutes?: number;
    }
  | {
      readonly strategy: 'linear';
      /** Share of production traffic moved per step, 3-100 in tenths. @default 10 (ECS's) */
      readonly stepPercent?: number;
      /** @default 6 (ECS's) */
      readonly stepBakeTimeMinutes?: number;
      /** @default 5 */
      readonly bakeTimeMinutes?: number;
    }
  | {
      readonly strategy: 'canary';
      /** Share of production traffic the canary gets first, 0.1-100 in tenths. @default 5 (ECS's) */
      readonly canaryPercent?: number;
      /** @default 10 (ECS's) */
      readonly canaryBakeTimeMinutes?: number;
      /** @default 5 */
      readonly bakeTimeMinutes?: number;
    };

export type DeploymentStrategyName = DeploymentConfig['strategy'];
export const deploymentStrategyNames: readonly DeploymentStrategyName[] = [
  'rolling',
  'blue-green',
  'linear',
  'canary',
];

export interface EnvironmentConfig {
  readonly account: string;
  readonly region: string;
  /** Prefix of every resource and stack name: alva-staging. */
  readonly prefix: string;
  /** Prefix of the ECS service, ECR repository and task family names: alva. */
  readonly appPrefix: string;
  readonly clusterName: string;
  readonly albName: string;
  readonly cloudMapNamespace: string;
  readonly maxAzs: number;
  readonly natGateways: number;
  readonly database: {
    readonly instanceClass: string;
    readonly instanceSize: string;
    readonly allocatedStorageGiB: number;
    readonly backupRetentionDays: number;
    readonly databaseName: string;
    readonly username: string;
    readonly port: number;
    /**
     * TLS to RDS (PostgreSQL 16's default parameter group sets rds.force_ssl=1).
     * Tasks get PGSSLMODE (node-postgres and libpq read it), PGSSLROOTCERT (libpq
     * tools) and NODE_EXTRA_CA_CERTS (Node's trust store: node-postgres does not
     * read PGSSLROOTCERT) pointing at the RDS CA bundle the api image carries.
     */
    readonly tls: {
      readonly sslMode: 'verify-full';
      /** Where the images put the RDS CA bundle (examples/api/Dockerfile, examples/auth/Dockerfile). */
      readonly caBundlePath: string;
      /** AWS's bundle of every region's RDS CAs, which the release pipeline bakes into the images. */
      readonly caBundleUrl: string;
    };
  };
  readonly cache: {
    readonly nodeType: string;
    readonly port: number;
  };
  readonly migrations: {
    readonly family: string;
    readonly containerName: string;
    /** The image the task runs: the repository of this service. */
    readonly imageFrom: string;
    readonly command: readonly string[];
    readonly cpu: number;
    readonly memoryMiB: number;
  };
  readonly logRetentionDays: number;
  /** Images kept per ECR repository before the oldest expire. */
  readonly ecrImagesToKeep: number;
  /** GitHub environment of the deploy and rollback jobs (and the infra job): the deploy role's subject. */
  readonly githubEnvironment: string;
  /** GitHub environment of the migrate job: the migrate role's subject. */
  readonly githubMigrationsEnvironment: string;
  /** Branch whose pushes release: the subject of the jobs that run in no environment (build, verify). */
  readonly githubBranch: string;
  /** Blue/green, linear and canary services: their test listener and the release gate. */
  readonly releaseGate: {
    /**
     * The ALB's test listener (HTTP: the seed has no certificate; a domain brings none for it):
     * green answers here from TEST_TRAFFIC_SHIFT on, before any production request reaches it.
     */
    readonly testListenerPort: number;
    /** The SSM parameter the POST_TEST_TRAFFIC_SHIFT hook reads and the deploy role writes. */
    readonly parameterName: string;
    /** The hook function's name. */
    readonly functionName: string;
    /** How long ECS waits before asking a pending gate again (the hook's callBackDelay). */
    readonly callBackDelaySeconds: number;
  };
}

export const environment: EnvironmentConfig = {
  account: '123456789012',
  region: 'us-east-1',
  prefix: 'alva-staging',
  appPrefix: 'alva',
  clusterName: 'alva-staging-cluster',
  albName: 'alva-staging-alb',
  cloudMapNamespace: 'alva-staging.local',
  maxAzs: 2,
  natGateways: 1,
  database: {
    instanceClass: 't3',
    instanceSize: 'micro',
    allocatedStorageGiB: 20,
    backupRetentionDays: 7,
    databaseName: 'alva',
    username: 'alva',
    port: 5432,
    tls: {
      sslMode: 'verify-full',
      caBundlePath: '/etc/ssl/certs/rds-global-bundle.pem',
      caBundleUrl: 'https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem',
    },
  },
  cache: { nodeType: 'cache.t3.micro', port: 6379 },
  migrations: {
    family: 'alva-migrations',
    containerName: 'migrations',
    imageFrom: 'api',
    command: ['pnpm', 'db:migrate'],
    cpu: 256,
    memoryMiB: 512,
  },
  logRetentionDays: 30,
  ecrImagesToKeep: 30,
  githubEnvironment: 'staging',
  githubMigrationsEnvironment: 'staging-migrations',
  githubBranch: 'staging',
  releaseGate: {
    testListenerPort: 9000,
    parameterName: '/alva-staging/release-gate',
    functionName: 'alva-staging-release-gate',
    callBackDelaySeconds: 15,
  },
};

const nodeEnv = { NODE_ENV: 'production' } as const;

export const services: readonly ServiceConfig[] = [
  {
    name: 'web',
    port: 3000,
    hostPrefix: 'staging',
    healthCheckPath: '/',
    cpu: 512,
    memoryMiB: 1024,
    desiredCount: 1,
    environment: nodeEnv,
    derivedEnvironment: {
      NEXT_PUBLIC_API_URL: { serviceUrl: 'api' },
      NEXT_PUBLIC_AUTH_URL: { serviceUrl: 'auth' },
    },
    database: false,
    secrets: {},
  },
  {
    name: 'api',
    port: 3001,
    pathPatterns: ['/api/*'],
    priority: 10,
    hostPrefix: 'api-staging',
    healthCheckPath: '/api/health',
    cpu: 512,
    memoryMiB: 1024,
    desiredCount: 1,
    environment: nodeEnv,
    derivedEnvironment: { REDIS_URL: 'redisUrl', CORS_ORIGINS: 'corsOrigins' },
    database: true,
    secrets: { JWT_PUBLIC_KEY: 'jwtPublicKey' },
  },
  {
    name: 'auth',
    port: 3002,
    pathPatterns: ['/auth/*'],
    priority: 20,
    hostPrefix: 'auth-staging',
    healthCheckPath: '/auth/health',
    cpu: 512,
    memoryMiB: 1024,
    desiredCount: 1,
    environment: nodeEnv,
    derivedEnvironment: { CORS_ORIGINS: 'corsOrigins' },
    database: true,
    secrets: {
      JWT_PRIVATE_KEY: 'jwtPrivateKey',
      JWT_PUBLIC_KEY: 'jwtPublicKey',
      RESEND_API_KEY: 'resendApiKey',
    },
  },
  {
    name: 'admin',
    port: 3003,
    pathPatterns: ['/admin/*'],
    priority: 30,
    hostPrefix: 'admin-staging',
    healthCheckPath: '/admin/health',
    cpu: 512,
    memoryMiB: 1024,
    desiredCount: 1,
    environment: nodeEnv,
    derivedEnvironment: {
      NEXT_PUBLIC_API_URL: { serviceUrl: 'api' },
      NEXT_PUBLIC_AUTH_URL: { serviceUrl: 'auth' },
    },
    database: false,
    secrets: {},
  },
];

/** Secrets Manager names of the application secrets (values are set out of band). */
export const appSecretNames: Readonly<Record<AppSecret, string>> = {
  jwtPrivateKey: `${environment.prefix}-jwt-private-key`,
  jwtPublicKey: `${environment.prefix}-jwt-public-key`,
  jwtSecret: `${environment.prefix}-jwt-secret`,
  openaiApiKey: `${environment.prefix}-openai-api-key`,
  resendApiKey: `${environment.prefix}-resend-api-key`,
  cookieSecret: `${environment.prefix}-cookie-secret`,
};

export const databaseSecretName = `${environment.prefix}-database`;

/** Names derived from a service's short name; nothing else spells them out. */
export const names = {
  service: (s: ServiceConfig): string => `${environment.appPrefix}-${s.name}`,
  repository: (name: string): string => `${environment.appPrefix}-${name}`,
  logGroup: (name: string): string => `/ecs/${environment.prefix}/${name}`,
  /** Target group names are limited to 32 characters. */
  targetGroup: (s: ServiceConfig): string => `${environment.prefix}-${s.name}`,
  stack: (part: string): string => `AlvaStaging${part}`,
  /** Prefix of a stack output about one service: web -> Web (WebServiceName). */
  output: (name: string): string => name.charAt(0).toUpperCase() + name.slice(1),
};

/** The second target group of a traffic-shifting service: ECS starts green in whichever of the two production is not on (blue/green, linear, canary). */
export const alternateTargetGroupName = (s: ServiceConfig): string => `${names.targetGroup(s)}-alt`;

/** The settings each strategy takes, with their ranges (ECS's LinearConfiguration, CanaryConfiguration, bake time). */
const deploymentSettings: Record<DeploymentStrategyName, Record<string, [min: number, max: number]>> = {
  rolling: {},
  'blue-green': { bakeTimeMinutes: [0, 1440] },
  linear: { stepPercent: [3, 100], stepBakeTimeMinutes: [0, 1440], bakeTimeMinutes: [0, 1440] },
  canary: { canaryPercent: [0.1, 100], canaryBakeTimeMinutes: [0, 1440], bakeTimeMinutes: [0, 1440] },
};

/** A deployment named by the context: a strategy name, or an object with `strategy` and its settings. */
function deploymentFromContext(name: string, value: unknown): DeploymentConfig {
  const given =
    typeof value === 'string' ? { strategy: value } : value && typeof value === 'object' ? value : undefined;
  const strategy = (given as { strategy?: unknown } | undefined)?.strategy;
  if (!deploymentStrategyNames.includes(strategy as DeploymentStrategyName))
    throw new Error(
      `Context "deployments": ${JSON.stringify(strategy ?? value)} for ${name} is no strategy (${deploymentStrategyNames.join(', ')})`,
    );
  const allowed = deploymentSettings[strategy as DeploymentStrategyName];
  for (const [key, setting] of Object.entries(given as Record<string, unknown>)) {
    if (key === 'strategy') continue;
    const range = allowed[key];
    if (!range) throw new Error(`Context "deployments": ${strategy as string} of ${name} takes no "${key}"`);
    if (typeof setting !== 'number' || setting < range[0] || setting > range[1])
      throw new Error(
        `Context "deployments": ${key} of ${name} must be a number from ${range[0]} to ${range[1]}`,
      );
  }
  return given as DeploymentConfig;
}

/**
 * Each service's deployment: its config, overridden by the context value `deployments`:
 * "name=strategy,..." (`*` for every service), or an object name -> strategy or
 * { strategy, ...settings } (cdk.json, or a test's context). An unknown service,
 * strategy or setting is an error, never ignored.
 */
export function resolveDeployments(context: unknown): Readonly<Record<string, DeploymentConfig>> {
  const overrides: Record<string, DeploymentConfig> = {};
  const entries: [string, unknown][] = [];
  if (typeof context === 'string' && context.trim() !== '') {
    for (const pair of context.split(',')) {
      const [name, strategy, ...rest] = pair.split('=').map((part) => part.trim());
      if (!name || !strategy || rest.length)
        throw new Error(`Context "deployments": "${pair}" is not service=strategy`);
      entries.push([name, strategy]);
    }
  } else if (context && typeof context === 'object') {
    entries.push(...Object.entries(context as Record<string, unknown>));
  } else if (context !== undefined && context !== null && context !== '') {
    throw new Error(
      `Context "deployments" must be "service=strategy,..." or an object, got ${JSON.stringify(context)}`,
    );
  }
  for (const [name, value] of entries) {
    if (name !== '*' && !services.some((s) => s.name === name))
      throw new Error(`Context "deployments" names "${name}", which is no service in config/services.ts`);
    overrides[name] = deploymentFromContext(name, value);
  }
  return Object.fromEntries(
    services.map((s) => {
      const override = overrides[s.name] ?? overrides['*'];
      const configured = s.deployment ?? { strategy: 'rolling' };
      // A bare strategy name keeps the configured settings when it names the configured strategy.
      const deployment =
        override === undefined ||
        (override.strategy === configured.strategy && Object.keys(override).length === 1)
          ? configured
          : override;
      return [s.name, deployment] as const;
    }),
  );
}

/** Whether the deployment runs through ECS's traffic shifting (anything but rolling). */
export const shiftsTraffic = (d: DeploymentConfig): boolean => d.strategy !== 'rolling';

export function serviceByName(name: string): ServiceConfig {
  const found = services.find((s) => s.name === name);
  if (!found) throw new Error(`No service named "${name}" in infra/lib/config/services.ts`);
  return found;
}
