import { CfnOutput, Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { environment, names, services } from '../config/services.js';

export interface CiIdentityStackProps extends StackProps {
  /** owner/name of the repository whose `staging` environment may deploy. */
  readonly githubRepository: string;
  /** An existing GitHub OIDC provider of the account (there can be only one per URL). */
  readonly existingOidcProviderArn?: string;
  /** Log groups of the services and the migration task. */
  readonly logGroupNames: readonly string[];
  /** Task and execution roles the deploy registers task definitions with. */
  readonly passedRoles: readonly iam.IRole[];
  /** Names of the stacks `cdk diff` reads. */
  readonly stackNames: readonly string[];
}

const githubTokenHost = 'token.actions.githubusercontent.com';

/**
 * The identity GitHub Actions deploys with: GitHub's OIDC provider and a role
 * only the repository's `staging` environment can assume, allowed exactly the
 * calls the actions make, on this environment's resources.
 */
export class CiIdentityStack extends Stack {
  readonly deployRole: iam.Role;

  constructor(scope: Construct, id: string, props: CiIdentityStackProps) {
    super(scope, id, props);

    const providerArn =
      props.existingOidcProviderArn ??
      new iam.OidcProviderNative(this, 'GitHubOidc', {
        url: `https://${githubTokenHost}`,
        clientIds: ['sts.amazonaws.com'],
      }).oidcProviderArn;

    const subject = `repo:${props.githubRepository}:environment:${environment.githubEnvironment}`;
    this.deployRole = new iam.Role(this, 'DeployRole', {
      roleName: `${environment.prefix}-github-deploy`,
      description: `Assumed by ${subject} to build, migrate and deploy`,
      maxSessionDuration: Duration.hours(1),
      assumedBy: new iam.WebIdentityPrincipal(providerArn, {
        StringEquals: {
          [`${githubTokenHost}:aud`]: 'sts.amazonaws.com',
          // Only jobs that run in the repository's `staging` environment (whose
          // protection rules GitHub enforces) carry this subject.
          [`${githubTokenHost}:sub`]: subject,
        },
      }),
    });

    // Literal ARNs (region and account are fixed per environment): readable in
    // the template, and exactly what the tests and cdk-nag compare against.
    const arn = (service: string, resource: string, resourceName: string, separator = '/') =>
      `arn:aws:${service}:${this.region}:${this.account}:${resource}${separator}${resourceName}`;
    const cluster = environment.clusterName;
    const clusterArn = arn('ecs', 'cluster', cluster);
    const serviceNames = services.map(names.service);
    const families = [...serviceNames, environment.migrations.family];
    const onCluster = { ArnEquals: { 'ecs:cluster': clusterArn } };

    const statements: iam.PolicyStatement[] = [
      // AWS requires "*": DescribeTaskDefinition and RegisterTaskDefinition have no resource-level permissions.
      new iam.PolicyStatement({
        sid: 'TaskDefinitionsHaveNoResourceLevelPermissions',
        actions: ['ecs:DescribeTaskDefinition', 'ecs:RegisterTaskDefinition'],
        resources: ['*'],
      }),
      // RegisterTaskDefinition with tags also authorizes ecs:TagResource on the new revision.
      new iam.PolicyStatement({
        sid: 'TagNewRevisions',
        actions: ['ecs:TagResource'],
        resources: families.map((family) => arn('ecs', 'task-definition', `${family}:*`)),
        conditions: { StringEquals: { 'ecs:CreateAction': 'RegisterTaskDefinition' } },
      }),
      new iam.PolicyStatement({
        sid: 'Cluster',
        actions: ['ecs:DescribeClusters'],
        resources: [clusterArn],
      }),
      new iam.PolicyStatement({
        sid: 'Services',
        actions: ['ecs:DescribeServices', 'ecs:UpdateService', 'ecs:ListServiceDeployments'],
        resources: serviceNames.map((name) => arn('ecs', 'service', `${cluster}/${name}`)),
      }),
      new iam.PolicyStatement({
        sid: 'ServiceDeployments',
        actions: ['ecs:DescribeServiceDeployments', 'ecs:StopServiceDeployment'],
        resources: serviceNames.map((name) => arn('ecs', 'service-deployment', `${cluster}/${name}/*`)),
      }),
      new iam.PolicyStatement({
        sid: 'ServiceRevisions',
        actions: ['ecs:DescribeServiceRevisions'],
        resources: serviceNames.map((name) => arn('ecs', 'service-revision', `${cluster}/${name}/*`)),
      }),
      new iam.PolicyStatement({
        sid: 'RunMigrations',
        actions: ['ecs:RunTask'],
        resources: [arn('ecs', 'task-definition', `${environment.migrations.family}:*`)],
        conditions: onCluster,
      }),
      new iam.PolicyStatement({
        sid: 'Tasks',
        actions: ['ecs:DescribeTasks', 'ecs:StopTask'],
        resources: [arn('ecs', 'task', `${cluster}/*`)],
        conditions: onCluster,
      }),
      // AWS requires "*": ListTasks authorizes only on container instances; the
      // condition limits it to this cluster.
      new iam.PolicyStatement({
        sid: 'ListTasksInCluster',
        actions: ['ecs:ListTasks'],
        resources: ['*'],
        conditions: onCluster,
      }),
      new iam.PolicyStatement({
        sid: 'PassTaskRoles',
        actions: ['iam:PassRole'],
        resources: props.passedRoles.map((role) => role.roleArn),
        conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      }),
      // AWS requires "*": ELBv2 Describe* actions have no resource-level permissions.
      new iam.PolicyStatement({
        sid: 'LoadBalancerReads',
        actions: [
          'elasticloadbalancing:DescribeTargetHealth',
          'elasticloadbalancing:DescribeTargetGroups',
          'elasticloadbalancing:DescribeLoadBalancers',
          'elasticloadbalancing:DescribeListeners',
          'elasticloadbalancing:DescribeRules',
        ],
        resources: ['*'],
      }),
      // AWS requires "*": GetAuthorizationToken is account-wide.
      new iam.PolicyStatement({
        sid: 'RegistryLogin',
        actions: ['ecr:GetAuthorizationToken'],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'PushPullScan',
        actions: [
          'ecr:BatchCheckLayerAvailability',
          'ecr:InitiateLayerUpload',
          'ecr:UploadLayerPart',
          'ecr:CompleteLayerUpload',
          'ecr:PutImage',
          'ecr:BatchGetImage',
          'ecr:GetDownloadUrlForLayer',
          'ecr:DescribeImages',
          'ecr:DescribeRepositories',
          'ecr:DescribeImageScanFindings',
        ],
        resources: services.map((service) => arn('ecr', 'repository', names.repository(service.name))),
      }),
      new iam.PolicyStatement({
        sid: 'ReadTaskLogs',
        actions: ['logs:GetLogEvents', 'logs:FilterLogEvents'],
        // "<group>:*" covers the group's log streams.
        resources: props.logGroupNames.map((name) => arn('logs', 'log-group', `${name}:*`, ':')),
      }),
      new iam.PolicyStatement({
        sid: 'CdkDiff',
        actions: ['cloudformation:GetTemplate', 'cloudformation:DescribeStacks'],
        resources: props.stackNames.map((name) => arn('cloudformation', 'stack', `${name}/*`)),
      }),
    ];
    const policy = new iam.Policy(this, 'DeployPolicy', {
      policyName: `${environment.prefix}-github-deploy`,
      statements,
    });
    policy.attachToRole(this.deployRole);

    // Every "*" left is one AWS requires (see the statements above); every
    // other wildcard is a name suffix within this environment's resources.
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ECS task-definition calls, ecs:ListTasks (limited by the ecs:cluster condition), ELBv2 Describe* and ecr:GetAuthorizationToken have no resource-level permissions.',
    });
    for (const finding of wildcardFindings(statements)) {
      Validations.of(policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${finding}]`,
        reason:
          'Revisions, tasks, deployments, revisions of services, log streams and stack ids are created at run time; the wildcard is only their suffix within this environment.',
      });
    }

    new CfnOutput(this, 'DeployRoleArn', {
      description: 'Role the workflows assume',
      value: this.deployRole.roleArn,
    });
  }
}

/** The resources of the statements that end in a wildcard suffix, as cdk-nag renders them. */
function wildcardFindings(statements: readonly iam.PolicyStatement[]): string[] {
  const found = new Set<string>();
  for (const statement of statements) {
    for (const resource of statement.resources) {
      if (resource !== '*' && resource.includes('*')) found.add(resource);
    }
  }
  return [...found];
}
