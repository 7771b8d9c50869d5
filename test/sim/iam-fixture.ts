/**
 * A small IAM world for the STS and IAM tests: the staging scenario with
 * GitHub's OIDC provider and a deploy role shaped like the one
 * infra/lib/stacks/ci-identity-stack.ts synthesizes (its trust and a subset
 * of its statements), until the assembly loader fills Scenario.iam.
 */
import { readFileSync } from 'node:fs';
import type { IamSpec, PolicyStatement } from '../../sim/iam/model.js';
import { mintJwt } from '../../sim/iam/jwt.js';
import type { Scenario } from '../../sim/scenario.js';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
export const HOST = 'token.actions.githubusercontent.com';
export const PROVIDER_ARN = `arn:aws:iam::${ACCOUNT}:oidc-provider/${HOST}`;
export const ROLE = 'alva-staging-github-deploy';
export const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/${ROLE}`;
export const CLUSTER = 'alva-staging-cluster';
export const CLUSTER_ARN = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${CLUSTER}`;
const staging = JSON.parse(readFileSync('sim/scenarios/staging.json', 'utf8')) as Scenario;
const migrations = staging.taskDefinitions.find((td) => td.family === 'alva-migrations');
/** The migration task definition's roles, as the staging world registers it. */
export const TASK_ROLE = String(migrations?.taskRoleArn ?? `arn:aws:iam::${ACCOUNT}:role/alva-staging-task`);
export const EXECUTION_ROLE = String(
  migrations?.executionRoleArn ?? `arn:aws:iam::${ACCOUNT}:role/alva-staging-task-execution`,
);
export const STAGING_SUBJECT = 'repo:acme/alva:environment:staging';

const arn = (service: string, resource: string) => `arn:aws:${service}:${REGION}:${ACCOUNT}:${resource}`;
const services = ['alva-web', 'alva-api', 'alva-auth', 'alva-admin'];
const families = [...services, 'alva-migrations'];
const onCluster = { ArnEquals: { 'ecs:cluster': CLUSTER_ARN } };

/** The deploy role's statements, by Sid, as the CI identity stack writes them. */
export function deployStatements(): PolicyStatement[] {
  return [
    {
      Sid: 'TaskDefinitionsHaveNoResourceLevelPermissions',
      Effect: 'Allow',
      Action: ['ecs:DescribeTaskDefinition', 'ecs:RegisterTaskDefinition'],
      Resource: '*',
    },
    {
      Sid: 'TagNewRevisions',
      Effect: 'Allow',
      Action: 'ecs:TagResource',
      Resource: families.map((f) => arn('ecs', `task-definition/${f}:*`)),
      Condition: { StringEquals: { 'ecs:CreateAction': 'RegisterTaskDefinition' } },
    },
    { Sid: 'Cluster', Effect: 'Allow', Action: 'ecs:DescribeClusters', Resource: CLUSTER_ARN },
    {
      Sid: 'Services',
      Effect: 'Allow',
      Action: ['ecs:DescribeServices', 'ecs:UpdateService', 'ecs:ListServiceDeployments'],
      Resource: services.map((s) => arn('ecs', `service/${CLUSTER}/${s}`)),
    },
    {
      Sid: 'RunMigrations',
      Effect: 'Allow',
      Action: 'ecs:RunTask',
      Resource: arn('ecs', 'task-definition/alva-migrations:*'),
      Condition: onCluster,
    },
    {
      Sid: 'Tasks',
      Effect: 'Allow',
      Action: ['ecs:DescribeTasks', 'ecs:StopTask'],
      Resource: arn('ecs', `task/${CLUSTER}/*`),
      Condition: onCluster,
    },
    {
      Sid: 'ListTasksInCluster',
      Effect: 'Allow',
      Action: 'ecs:ListTasks',
      Resource: '*',
      Condition: onCluster,
    },
    {
      Sid: 'PassTaskRoles',
      Effect: 'Allow',
      Action: 'iam:PassRole',
      Resource: [TASK_ROLE, EXECUTION_ROLE],
      Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
    },
    {
      Sid: 'LoadBalancerReads',
      Effect: 'Allow',
      Action: [
        'elasticloadbalancing:DescribeTargetHealth',
        'elasticloadbalancing:DescribeTargetGroups',
        'elasticloadbalancing:DescribeLoadBalancers',
      ],
      Resource: '*',
    },
    {
      Sid: 'ReadTaskLogs',
      Effect: 'Allow',
      Action: ['logs:GetLogEvents', 'logs:FilterLogEvents'],
      Resource: arn('logs', 'log-group:/ecs/alva-staging/migrations:*'),
    },
  ];
}

export function iamSpec(statements: PolicyStatement[] = deployStatements(), mode?: IamSpec['mode']): IamSpec {
  return {
    ...(mode && { mode }),
    oidcProviders: [{ arn: PROVIDER_ARN, url: `https://${HOST}`, clientIds: ['sts.amazonaws.com'] }],
    roles: [
      {
        name: ROLE,
        arn: ROLE_ARN,
        maxSessionDurationSeconds: 3600,
        trust: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Federated: PROVIDER_ARN },
              Action: 'sts:AssumeRoleWithWebIdentity',
              Condition: {
                StringEquals: { [`${HOST}:aud`]: 'sts.amazonaws.com', [`${HOST}:sub`]: STAGING_SUBJECT },
              },
            },
          ],
        },
        policies: [
          { name: 'alva-staging-github-deploy', document: { Version: '2012-10-17', Statement: statements } },
        ],
      },
    ],
  };
}

/** The staging scenario with this IAM and a second cluster (to show ecs:cluster conditions). */
export function scenarioWith(iam: IamSpec | undefined): Scenario {
  const scenario = structuredClone(staging);
  scenario.clusters.push({
    name: 'other-cluster',
    capacityProviders: ['FARGATE'],
    defaultCapacityProviderStrategy: [{ capacityProvider: 'FARGATE', weight: 1 }],
  });
  // The staging file may carry the IAM of the CDK app: these tests bring their own.
  if (iam) scenario.iam = iam;
  else delete scenario.iam;
  return scenario;
}

/** A token with the claims GitHub's OIDC provider puts in one, valid for five minutes from now (wall clock). */
export function githubToken(overrides: Record<string, unknown> = {}): string {
  const now = Math.floor(Date.now() / 1000);
  return mintJwt({
    iss: `https://${HOST}`,
    aud: 'sts.amazonaws.com',
    sub: STAGING_SUBJECT,
    repository: 'acme/alva',
    repository_owner: 'acme',
    ref: 'refs/heads/staging',
    environment: 'staging',
    job_workflow_ref: 'acme/alva/.github/workflows/ecs-deploy.yml@refs/heads/staging',
    iat: now,
    nbf: now - 5,
    exp: now + 300,
    ...overrides,
  });
}
