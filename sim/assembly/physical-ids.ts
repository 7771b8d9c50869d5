/**
 * The physical ids the simulator assigns to CloudFormation resources, and
 * what `Ref` and `Fn::GetAtt` return for each type, as the CloudFormation
 * resource reference documents them ("Return values"). A template's explicit
 * name wins (RoleName, ClusterName, ...); otherwise the id is derived from the
 * stack name and logical id with a hash, so it is the same on every load.
 *
 * A type not listed here still resolves: Ref gives `<logicalId>-<hash>` and
 * GetAtt `<ref>.<attribute>` (or an ARN for `Arn`), so any app's assembly
 * loads; what the simulator does not model is listed by the loader.
 */
import { createHash } from 'node:crypto';

/** What a type's Ref and GetAtt see: the resource's identity and its (lazily resolved) properties. */
export interface ResourceContext {
  readonly stackName: string;
  readonly logicalId: string;
  readonly type: string;
  readonly region: string;
  readonly account: string;
  readonly partition: string;
  readonly urlSuffix: string;
  /** A property's resolved value (undefined when absent). */
  prop(name: string): unknown;
  /** Task definition revision numbers, assigned in load order per family. */
  revision(family: string): number;
}

export interface TypeRule {
  ref(ctx: ResourceContext): string;
  attrs?: Record<string, (ctx: ResourceContext) => unknown>;
}

/** Hex digest of the parts; the source of every generated id. */
export function digest(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex');
}

/** An EC2-style id: `subnet-<17 hex>`, `sg-<17 hex>`, ... */
function ec2Id(prefix: string, ctx: ResourceContext): string {
  return `${prefix}-${digest(ctx.stackName, ctx.logicalId).slice(0, 17)}`;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `n` characters from `alphabet`, derived from the parts. */
function token(n: number, alphabet: string, ...parts: string[]): string {
  const bytes = Buffer.from(digest(...parts) + digest('more', ...parts), 'hex');
  let out = '';
  for (let i = 0; i < n; i++) out += alphabet[bytes[i % bytes.length] % alphabet.length];
  return out;
}

/**
 * The name CloudFormation generates when a template gives none:
 * `<stack>-<logicalId>-<13 upper-case alphanumerics>`, cut to `max`.
 */
export function generatedName(ctx: ResourceContext, max = 255, lower = false): string {
  const suffix = token(13, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', ctx.stackName, ctx.logicalId);
  const head = `${ctx.stackName}-${ctx.logicalId}`.slice(0, Math.max(1, max - suffix.length - 1));
  const name = `${head}-${suffix}`;
  return lower ? name.toLowerCase() : name;
}

function named(prop: string, max = 255, lower = false): (ctx: ResourceContext) => string {
  return (ctx) => {
    const given = ctx.prop(prop);
    return typeof given === 'string' && given ? given : generatedName(ctx, max, lower);
  };
}

function arn(ctx: ResourceContext, service: string, resource: string, region = true, account = true): string {
  return `arn:${ctx.partition}:${service}:${region ? ctx.region : ''}:${account ? ctx.account : ''}:${resource}`;
}

/** The last path segment of an ARN, or the value itself when it is a name. */
export function nameFromArn(value: string): string {
  return value.startsWith('arn:') ? value.slice(value.lastIndexOf('/') + 1) : value;
}

const clusterName = named('ClusterName');
const serviceName = named('ServiceName');
const family = (ctx: ResourceContext) => {
  const given = ctx.prop('Family');
  return typeof given === 'string' && given ? given : `${ctx.stackName}${ctx.logicalId}`;
};
const lbName = named('Name', 32);
const lbId = (ctx: ResourceContext) => digest(ctx.stackName, ctx.logicalId).slice(0, 16);
const lbKind = (ctx: ResourceContext) => (ctx.prop('Type') === 'network' ? 'net' : 'app');
const tgName = named('Name', 32);
const roleName = named('RoleName', 64);
const path = (ctx: ResourceContext) =>
  typeof ctx.prop('Path') === 'string' ? String(ctx.prop('Path')) : '/';
const repositoryName = named('RepositoryName', 256, true);
const logGroupName = named('LogGroupName', 512);
const secretName = named('Name', 512);
const dbIdentifier = named('DBInstanceIdentifier', 63, true);
const replicationGroupId = named('ReplicationGroupId', 40, true);

function secretArn(ctx: ResourceContext): string {
  const name = secretName(ctx);
  return arn(ctx, 'secretsmanager', `secret:${name}-${token(6, ALNUM, ctx.stackName, ctx.logicalId)}`);
}

function listenerArn(ctx: ResourceContext): string {
  const lbArn = String(ctx.prop('LoadBalancerArn') ?? '');
  const [, lbPath = `app/unknown/${lbId(ctx)}`] = lbArn.split(':loadbalancer/');
  return `${lbArn.split(':loadbalancer/')[0]}:listener/${lbPath}/${lbId(ctx)}`;
}

/** Default ports of the database engines (DBInstance Endpoint.Port when the template gives none). */
function dbPort(ctx: ResourceContext): string {
  const port = ctx.prop('Port');
  if (port !== undefined) return String(port);
  const engine = String(ctx.prop('Engine') ?? '');
  if (engine.includes('postgres')) return '5432';
  if (engine.includes('sqlserver')) return '1433';
  if (engine.includes('oracle')) return '1521';
  return '3306';
}

export const TYPE_RULES: Record<string, TypeRule> = {
  'AWS::EC2::VPC': {
    ref: (c) => ec2Id('vpc', c),
    attrs: {
      VpcId: (c) => ec2Id('vpc', c),
      CidrBlock: (c) => c.prop('CidrBlock'),
      DefaultSecurityGroup: (c) => ec2Id('sg', { ...c, logicalId: `${c.logicalId}/default` }),
      DefaultNetworkAcl: (c) => ec2Id('acl', c),
      CidrBlockAssociations: () => [],
      Ipv6CidrBlocks: () => [],
    },
  },
  'AWS::EC2::Subnet': {
    ref: (c) => ec2Id('subnet', c),
    attrs: {
      SubnetId: (c) => ec2Id('subnet', c),
      AvailabilityZone: (c) => c.prop('AvailabilityZone'),
      VpcId: (c) => c.prop('VpcId'),
      CidrBlock: (c) => c.prop('CidrBlock'),
      NetworkAclAssociationId: (c) => ec2Id('aclassoc', c),
      Ipv6CidrBlocks: () => [],
    },
  },
  'AWS::EC2::SecurityGroup': {
    ref: (c) => ec2Id('sg', c),
    attrs: { GroupId: (c) => ec2Id('sg', c), VpcId: (c) => c.prop('VpcId') },
  },
  'AWS::EC2::RouteTable': { ref: (c) => ec2Id('rtb', c), attrs: { RouteTableId: (c) => ec2Id('rtb', c) } },
  'AWS::EC2::InternetGateway': {
    ref: (c) => ec2Id('igw', c),
    attrs: { InternetGatewayId: (c) => ec2Id('igw', c) },
  },
  'AWS::EC2::NatGateway': { ref: (c) => ec2Id('nat', c), attrs: { NatGatewayId: (c) => ec2Id('nat', c) } },
  'AWS::EC2::EIP': {
    // Ref is the public address; one from TEST-NET-3 (RFC 5737), derived from the logical id.
    ref: (c) => `203.0.113.${parseInt(digest(c.stackName, c.logicalId).slice(0, 2), 16) % 254 || 1}`,
    attrs: {
      AllocationId: (c) => ec2Id('eipalloc', c),
      PublicIp: (c) => `203.0.113.${parseInt(digest(c.stackName, c.logicalId).slice(0, 2), 16) % 254 || 1}`,
    },
  },
  'AWS::EC2::SecurityGroupIngress': { ref: (c) => ec2Id('sgr', c), attrs: { Id: (c) => ec2Id('sgr', c) } },
  'AWS::EC2::SecurityGroupEgress': { ref: (c) => ec2Id('sgr', c), attrs: { Id: (c) => ec2Id('sgr', c) } },
  'AWS::EC2::FlowLog': { ref: (c) => ec2Id('fl', c), attrs: { Id: (c) => ec2Id('fl', c) } },
  'AWS::EC2::VPCEndpoint': { ref: (c) => ec2Id('vpce', c), attrs: { Id: (c) => ec2Id('vpce', c) } },
  'AWS::EC2::NetworkAcl': { ref: (c) => ec2Id('acl', c), attrs: { Id: (c) => ec2Id('acl', c) } },
  'AWS::EC2::SubnetRouteTableAssociation': {
    ref: (c) => ec2Id('rtbassoc', c),
    attrs: { Id: (c) => ec2Id('rtbassoc', c) },
  },

  'AWS::ECS::Cluster': {
    ref: clusterName,
    attrs: { Arn: (c) => arn(c, 'ecs', `cluster/${clusterName(c)}`) },
  },
  'AWS::ECS::ClusterCapacityProviderAssociations': {
    ref: (c) => nameFromArn(String(c.prop('Cluster') ?? '')),
  },
  'AWS::ECS::CapacityProvider': { ref: named('Name') },
  'AWS::ECS::TaskDefinition': {
    ref: (c) => arn(c, 'ecs', `task-definition/${family(c)}:${c.revision(family(c))}`),
    attrs: {
      TaskDefinitionArn: (c) => arn(c, 'ecs', `task-definition/${family(c)}:${c.revision(family(c))}`),
    },
  },
  'AWS::ECS::Service': {
    ref: (c) => arn(c, 'ecs', `service/${serviceCluster(c)}/${serviceName(c)}`),
    attrs: {
      Name: serviceName,
      ServiceArn: (c) => arn(c, 'ecs', `service/${serviceCluster(c)}/${serviceName(c)}`),
    },
  },

  'AWS::ElasticLoadBalancingV2::LoadBalancer': {
    ref: (c) => arn(c, 'elasticloadbalancing', `loadbalancer/${lbKind(c)}/${lbName(c)}/${lbId(c)}`),
    attrs: {
      LoadBalancerArn: (c) =>
        arn(c, 'elasticloadbalancing', `loadbalancer/${lbKind(c)}/${lbName(c)}/${lbId(c)}`),
      LoadBalancerFullName: (c) => `${lbKind(c)}/${lbName(c)}/${lbId(c)}`,
      LoadBalancerName: lbName,
      DNSName: (c) =>
        `${c.prop('Scheme') === 'internal' ? 'internal-' : ''}${lbName(c)}-${parseInt(lbId(c).slice(0, 8), 16)}.${c.region}.elb.${c.urlSuffix}`,
      // us-east-1's ALB hosted zone (Elastic Load Balancing endpoints and quotas).
      CanonicalHostedZoneID: () => 'Z35SXDOTRQ7X7K',
      SecurityGroups: (c) => c.prop('SecurityGroups') ?? [],
    },
  },
  'AWS::ElasticLoadBalancingV2::TargetGroup': {
    ref: (c) => arn(c, 'elasticloadbalancing', `targetgroup/${tgName(c)}/${lbId(c)}`),
    attrs: {
      TargetGroupArn: (c) => arn(c, 'elasticloadbalancing', `targetgroup/${tgName(c)}/${lbId(c)}`),
      TargetGroupFullName: (c) => `targetgroup/${tgName(c)}/${lbId(c)}`,
      TargetGroupName: tgName,
      LoadBalancerArns: () => [],
    },
  },
  'AWS::ElasticLoadBalancingV2::Listener': {
    ref: listenerArn,
    attrs: { ListenerArn: listenerArn },
  },
  'AWS::ElasticLoadBalancingV2::ListenerRule': {
    ref: (c) => {
      const listener = String(c.prop('ListenerArn') ?? '');
      return `${listener.replace(':listener/', ':listener-rule/')}/${lbId(c)}`;
    },
    attrs: {
      RuleArn: (c) =>
        `${String(c.prop('ListenerArn') ?? '').replace(':listener/', ':listener-rule/')}/${lbId(c)}`,
      IsDefault: () => false,
    },
  },

  'AWS::ECR::Repository': {
    ref: repositoryName,
    attrs: {
      Arn: (c) => arn(c, 'ecr', `repository/${repositoryName(c)}`),
      RepositoryUri: (c) => `${c.account}.dkr.ecr.${c.region}.${c.urlSuffix}/${repositoryName(c)}`,
    },
  },
  'AWS::Logs::LogGroup': {
    ref: logGroupName,
    attrs: { Arn: (c) => arn(c, 'logs', `log-group:${logGroupName(c)}:*`) },
  },
  'AWS::SecretsManager::Secret': { ref: secretArn, attrs: { Id: secretArn } },
  // Ref of an attachment is the secret's ARN (CloudFormation resource reference).
  'AWS::SecretsManager::SecretTargetAttachment': { ref: (c) => String(c.prop('SecretId') ?? '') },

  'AWS::IAM::Role': {
    ref: roleName,
    attrs: {
      Arn: (c) => arn(c, 'iam', `role${path(c)}${roleName(c)}`, false),
      RoleId: (c) => `AROA${token(17, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', c.stackName, c.logicalId)}`,
    },
  },
  'AWS::IAM::Policy': { ref: (c) => `${c.stackName}-${c.logicalId}`.slice(0, 128) },
  'AWS::IAM::ManagedPolicy': {
    ref: (c) => arn(c, 'iam', `policy${path(c)}${named('ManagedPolicyName', 128)(c)}`, false),
    attrs: {
      PolicyArn: (c) => arn(c, 'iam', `policy${path(c)}${named('ManagedPolicyName', 128)(c)}`, false),
      PolicyId: (c) => `ANPA${token(17, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', c.stackName, c.logicalId)}`,
    },
  },
  'AWS::IAM::OIDCProvider': {
    ref: (c) => arn(c, 'iam', `oidc-provider/${String(c.prop('Url')).replace(/^https:\/\//, '')}`, false),
    attrs: {
      Arn: (c) => arn(c, 'iam', `oidc-provider/${String(c.prop('Url')).replace(/^https:\/\//, '')}`, false),
    },
  },
  'AWS::IAM::InstanceProfile': {
    ref: named('InstanceProfileName', 128),
    attrs: {
      Arn: (c) => arn(c, 'iam', `instance-profile${path(c)}${named('InstanceProfileName', 128)(c)}`, false),
    },
  },

  'AWS::RDS::DBInstance': {
    ref: dbIdentifier,
    attrs: {
      'Endpoint.Address': (c) =>
        `${dbIdentifier(c)}.${token(12, 'abcdefghijklmnopqrstuvwxyz0123456789', c.account, c.region)}.${c.region}.rds.${c.urlSuffix}`,
      'Endpoint.Port': dbPort,
      DBInstanceArn: (c) => arn(c, 'rds', `db:${dbIdentifier(c)}`),
      DbiResourceId: (c) =>
        `db-${token(26, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', c.stackName, c.logicalId)}`,
    },
  },
  'AWS::RDS::DBSubnetGroup': { ref: named('DBSubnetGroupName', 255, true) },
  'AWS::ElastiCache::ReplicationGroup': {
    ref: replicationGroupId,
    attrs: {
      'PrimaryEndPoint.Address': (c) =>
        `master.${replicationGroupId(c)}.${token(6, 'abcdefghijklmnopqrstuvwxyz0123456789', c.account)}.use1.cache.${c.urlSuffix}`,
      'PrimaryEndPoint.Port': (c) => String(c.prop('Port') ?? 6379),
      'ReaderEndPoint.Address': (c) =>
        `replica.${replicationGroupId(c)}.${token(6, 'abcdefghijklmnopqrstuvwxyz0123456789', c.account)}.use1.cache.${c.urlSuffix}`,
      'ReaderEndPoint.Port': (c) => String(c.prop('Port') ?? 6379),
      'ConfigurationEndPoint.Address': (c) =>
        `clustercfg.${replicationGroupId(c)}.${token(6, 'abcdefghijklmnopqrstuvwxyz0123456789', c.account)}.use1.cache.${c.urlSuffix}`,
      'ConfigurationEndPoint.Port': (c) => String(c.prop('Port') ?? 6379),
    },
  },
  'AWS::ElastiCache::SubnetGroup': { ref: named('CacheSubnetGroupName', 255, true) },

  'AWS::ServiceDiscovery::PrivateDnsNamespace': {
    ref: (c) => `ns-${digest(c.stackName, c.logicalId).slice(0, 16)}`,
    attrs: {
      Id: (c) => `ns-${digest(c.stackName, c.logicalId).slice(0, 16)}`,
      Arn: (c) => arn(c, 'servicediscovery', `namespace/ns-${digest(c.stackName, c.logicalId).slice(0, 16)}`),
      HostedZoneId: (c) => `Z${token(20, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', c.stackName, c.logicalId)}`,
    },
  },
  'AWS::ServiceDiscovery::Service': {
    ref: (c) => `srv-${digest(c.stackName, c.logicalId).slice(0, 16)}`,
    attrs: {
      Id: (c) => `srv-${digest(c.stackName, c.logicalId).slice(0, 16)}`,
      Arn: (c) => arn(c, 'servicediscovery', `service/srv-${digest(c.stackName, c.logicalId).slice(0, 16)}`),
      Name: (c) => c.prop('Name'),
    },
  },

  'AWS::SNS::Topic': {
    ref: (c) => arn(c, 'sns', named('TopicName', 256)(c)),
    attrs: { TopicArn: (c) => arn(c, 'sns', named('TopicName', 256)(c)), TopicName: named('TopicName', 256) },
  },
  'AWS::S3::Bucket': {
    ref: named('BucketName', 63, true),
    attrs: {
      Arn: (c) => `arn:${c.partition}:s3:::${named('BucketName', 63, true)(c)}`,
      DomainName: (c) => `${named('BucketName', 63, true)(c)}.s3.${c.urlSuffix}`,
      RegionalDomainName: (c) => `${named('BucketName', 63, true)(c)}.s3.${c.region}.${c.urlSuffix}`,
    },
  },
  'AWS::CloudWatch::Alarm': {
    ref: named('AlarmName'),
    attrs: { Arn: (c) => arn(c, 'cloudwatch', `alarm:${named('AlarmName')(c)}`) },
  },
  'AWS::SSM::Parameter': {
    // Ref is the parameter's name (CloudFormation generates one when Name is absent).
    ref: named('Name', 1011),
    attrs: { Type: (c) => c.prop('Type') ?? 'String', Value: (c) => c.prop('Value') },
  },
  'AWS::Lambda::Function': {
    ref: named('FunctionName', 64),
    attrs: { Arn: (c) => arn(c, 'lambda', `function:${named('FunctionName', 64)(c)}`) },
  },
};

function serviceCluster(c: ResourceContext): string {
  const cluster = c.prop('Cluster');
  return cluster === undefined ? 'default' : nameFromArn(String(cluster));
}

/** Ref of a type without a rule: a stable id naming the logical id. */
export function genericRef(ctx: ResourceContext): string {
  return `${ctx.logicalId}-${digest(ctx.stackName, ctx.logicalId).slice(0, 12)}`;
}

/** GetAtt of an attribute without a rule: an ARN for `Arn`, else a stable token naming the attribute. */
export function genericAttr(ctx: ResourceContext, attribute: string, ref: string): string {
  if (attribute === 'Arn' || attribute.endsWith('Arn')) {
    const [, service = 'unknown', kind = 'resource'] = ctx.type.split('::');
    return arn(ctx, service.toLowerCase(), `${kind.toLowerCase()}/${nameFromArn(ref)}`);
  }
  return `${nameFromArn(ref)}.${attribute}`;
}
