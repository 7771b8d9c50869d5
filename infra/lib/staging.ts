import { type App, Tags } from 'aws-cdk-lib';
import { type RunningImages, readRunningImages } from './config/images.js';
import { type ProfileName, profileNameFromContext, profiles } from './config/profiles.js';
import { environment, names } from './config/services.js';
import { AlbStack } from './stacks/alb-stack.js';
import { CacheStack } from './stacks/cache-stack.js';
import { CiIdentityStack } from './stacks/ci-identity-stack.js';
import { DatabaseStack } from './stacks/database-stack.js';
import { EcsStack } from './stacks/ecs-stack.js';
import { MonitoringStack } from './stacks/monitoring-stack.js';
import { NetworkStack } from './stacks/network-stack.js';
import { RegistryStack } from './stacks/registry-stack.js';
import { SecretsStack } from './stacks/secrets-stack.js';

/** Settings read from CDK context (`cdk synth -c key=value`); all optional but `github-repo`. */
export interface StagingSettings {
  /** Context `account`: the AWS account to deploy to. */
  readonly account: string;
  /** Context `domain`, e.g. alva.app: host routing, ACM certificate, HTTPS. */
  readonly domain?: string;
  /** Context `github-repo` (owner/name), required: whose workflows the CI roles trust. */
  readonly githubRepository: string;
  /** Context `alarm-email`: subscribed to the alarm topic. */
  readonly alarmEmail?: string;
  /** Context `image-tag`: the tag the CDK-defined task definitions start from. */
  readonly imageTag: string;
  /** Context `images`: the image each service runs now, kept instead of `image-tag` (config/images.ts). */
  readonly runningImages?: RunningImages;
  /** Context `github-oidc-provider-arn`: reuse the account's GitHub OIDC provider. */
  readonly existingOidcProviderArn?: string;
  /** Context `profile`: `standard` (the default: the seed's environment) or `lean` (infra/README.md). */
  readonly profile?: ProfileName;
}

export function readSettings(app: App): StagingSettings {
  const text = (key: string): string | undefined => {
    const value: unknown = app.node.tryGetContext(key);
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string')
      throw new Error(`Context "${key}" must be a string, got ${JSON.stringify(value)}`);
    return value;
  };
  const account = text('account') ?? environment.account;
  if (!/^\d{12}$/.test(account)) throw new Error(`Context "account" must be 12 digits, got "${account}"`);
  const githubRepository = text('github-repo');
  // No default: a role trusting someone else's repository is a hole, not a fallback.
  if (githubRepository === undefined) {
    throw new Error(
      'Context "github-repo" is required: the owner/name of the GitHub repository whose workflows may assume the CI roles. ' +
        'Pass it with `cdk synth -c github-repo=OWNER/NAME` (or `npm run synth -- -c github-repo=OWNER/NAME`), ' +
        'or set "github-repo" under "context" in infra/cdk.json.',
    );
  }
  if (!/^[\w.-]+\/[\w.-]+$/.test(githubRepository)) {
    throw new Error(`Context "github-repo" must be owner/name, got "${githubRepository}"`);
  }
  const domain = text('domain');
  if (domain !== undefined && !/^([a-z0-9-]+\.)+[a-z]{2,}$/.test(domain)) {
    throw new Error(`Context "domain" must be a DNS name such as alva.app, got "${domain}"`);
  }
  return {
    account,
    domain,
    githubRepository,
    alarmEmail: text('alarm-email'),
    imageTag: text('image-tag') ?? 'initial',
    runningImages: readRunningImages(app.node.tryGetContext('images'), account),
    existingOidcProviderArn: text('github-oidc-provider-arn'),
    profile: profileNameFromContext(app.node.tryGetContext('profile')),
  };
}

/** Builds every staging stack into `app`, wired together; returns them for tests. */
export function buildStaging(app: App, settings: StagingSettings = readSettings(app)) {
  const env = { account: settings.account, region: environment.region };
  const props = { env, terminationProtection: false };

  const profile = profiles[settings.profile ?? 'standard'];
  const network = new NetworkStack(app, names.stack('Network'), { ...props, profile });
  const secrets = new SecretsStack(app, names.stack('Secrets'), props);
  const registry = new RegistryStack(app, names.stack('Registry'), props);
  const database = new DatabaseStack(app, names.stack('Database'), {
    ...props,
    vpc: network.vpc,
    securityGroup: network.databaseSecurityGroup,
    profile,
  });
  const cache = new CacheStack(app, names.stack('Cache'), {
    ...props,
    vpc: network.vpc,
    securityGroup: network.cacheSecurityGroup,
    profile,
  });
  const alb = new AlbStack(app, names.stack('Alb'), {
    ...props,
    vpc: network.vpc,
    securityGroup: network.albSecurityGroup,
    domain: settings.domain,
  });
  const ecs = new EcsStack(app, names.stack('Ecs'), {
    ...props,
    vpc: network.vpc,
    securityGroup: network.ecsSecurityGroup,
    repositories: registry.repositories,
    targetGroups: alb.targetGroups,
    appSecrets: secrets.secrets,
    database: database.instance,
    databaseSecret: database.secret,
    redisUrl: cache.redisUrl,
    publicOrigins: alb.publicOrigins,
    imageTag: settings.imageTag,
    runningImages: settings.runningImages,
    deployments: alb.deployments,
    trafficShiftTargets: alb.trafficShiftTargets,
    profile,
  });

  const monitoring = new MonitoringStack(app, names.stack('Monitoring'), {
    ...props,
    loadBalancer: alb.loadBalancer,
    targetGroups: alb.targetGroups,
    alternateTargetGroups: alb.alternateTargetGroups,
    services: ecs.services,
    database: database.instance,
    alarmEmail: settings.alarmEmail,
  });
  const ciIdentityName = names.stack('CiIdentity');
  const ciIdentity = new CiIdentityStack(app, ciIdentityName, {
    ...props,
    appStackNames: [
      ...[network, secrets, registry, database, cache, alb, ecs, monitoring].map((s) => s.stackName),
      ciIdentityName,
    ],
    githubRepository: settings.githubRepository,
    existingOidcProviderArn: settings.existingOidcProviderArn,
    servicePassedRoles: ecs.servicePassedRoles,
    migrationPassedRoles: ecs.migrationPassedRoles,
  });

  Tags.of(app).add('project', 'alva');
  Tags.of(app).add('environment', 'staging');
  return { network, secrets, registry, database, cache, alb, ecs, monitoring, ciIdentity };
}
