import { CfnOutput, Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { environment, names, resolveDeployments, services, shiftsTraffic } from '../config/services.js';

export interface CiIdentityStackProps extends StackProps {
  /** owner/name of the repository whose workflows may assume the roles. */
  readonly githubRepository: string;
  /** An existing GitHub OIDC provider of the account (there can be only one per URL). */
  readonly existingOidcProviderArn?: string;
  /** Task and execution roles of the four services' task definitions. */
  readonly servicePassedRoles: readonly iam.IRole[];
  /** Task and execution roles of the migration task definition. */
  readonly migrationPassedRoles: readonly iam.IRole[];
  /** Names of the app's stacks, which the infra-diff and infra jobs diff against what is deployed (GetTemplate). */
  readonly appStackNames: readonly string[];
}

const githubTokenHost = 'token.actions.githubusercontent.com';

/** What each CI role is for: its name suffix, the OIDC subjects it trusts and its output. */
export interface CiRoleSpec {
  readonly roleName: string;
  /** `sub` claims (after `repo:OWNER/NAME:`) the trust admits. */
  readonly subjects: readonly string[];
  readonly output: string;
  readonly purpose: string;
}

/**
 * The four roles, one per kind of job (see infra/README.md, "CI identity"):
 * a job gets only the calls its own steps make, and only a job that presents
 * the subject (a branch, or an environment whose protection rules GitHub
 * enforces) can assume it.
 */
export const ciRoles = {
  build: {
    roleName: `${environment.prefix}-github-build`,
    subjects: [`ref:refs/heads/${environment.githubBranch}`],
    output: 'BuildRoleArn',
    purpose: 'build-push: push images to the four ECR repositories',
  },
  read: {
    roleName: `${environment.prefix}-github-read`,
    subjects: [`ref:refs/heads/${environment.githubBranch}`],
    output: 'ReadRoleArn',
    purpose: 'verify and infra-diff: read-only ECS, ELB, log and CloudFormation template reads',
  },
  migrate: {
    roleName: `${environment.prefix}-github-migrate`,
    subjects: [`environment:${environment.githubMigrationsEnvironment}`],
    output: 'MigrateRoleArn',
    purpose: 'migrate: run the migration task',
  },
  deploy: {
    roleName: `${environment.prefix}-github-deploy`,
    // The release's environment (reviewed) and the automatic rollback's (no reviewers, staging branch only):
    // ecs-deploy.yml's rollback job must not wait for approval while the bad release serves.
    subjects: [
      `environment:${environment.githubEnvironment}`,
      `environment:${environment.githubEnvironment}-rollback`,
    ],
    output: 'DeployRoleArn',
    purpose: 'deploy-services, rollback (with its verify) and cdk deploy',
  },
} as const satisfies Record<string, CiRoleSpec>;

export type CiRoleName = keyof typeof ciRoles;

/**
 * The identity GitHub Actions works with: GitHub's OIDC provider and one role
 * per kind of job, each allowed exactly the calls that job's actions make
 * (derived from the SDK commands under lib/, mapped with the Service
 * Authorization Reference), on this environment's resources.
 */
export class CiIdentityStack extends Stack {
  readonly roles: Readonly<Record<CiRoleName, iam.Role>>;

  constructor(scope: Construct, id: string, props: CiIdentityStackProps) {
    super(scope, id, props);

    const providerArn =
      props.existingOidcProviderArn ??
      new iam.OidcProviderNative(this, 'GitHubOidc', {
        url: `https://${githubTokenHost}`,
        clientIds: ['sts.amazonaws.com'],
      }).oidcProviderArn;

    // Literal ARNs (region and account are fixed per environment): readable in
    // the template, and exactly what the tests and cdk-nag compare against.
    const arn = (service: string, resource: string, resourceName: string, separator = '/') =>
      `arn:aws:${service}:${this.region}:${this.account}:${resource}${separator}${resourceName}`;
    const cluster = environment.clusterName;
    const clusterArn = arn('ecs', 'cluster', cluster);
    const serviceNames = services.map(names.service);
    const serviceArns = serviceNames.map((name) => arn('ecs', 'service', `${cluster}/${name}`));
    const familyArns = (families: readonly string[]) =>
      families.map((family) => arn('ecs', 'task-definition', `${family}:*`));
    const migrationFamily = environment.migrations.family;
    const onCluster = { ArnEquals: { 'ecs:cluster': clusterArn } };
    const taskArns = [arn('ecs', 'task', `${cluster}/*`)];
    // "<group>:*" covers the group's log streams (GetLogEvents authorizes on the stream).
    const logStreams = (containers: readonly string[]) =>
      containers.map((name) => arn('logs', 'log-group', `${names.logGroup(name)}:*`, ':'));

    const statement = (sid: string, actions: string[], resources: string[], conditions?: object) =>
      new iam.PolicyStatement({
        sid,
        actions,
        resources,
        ...(conditions ? { conditions: conditions as Record<string, unknown> } : {}),
      });

    // cdk-diff's comparison with the deployed templates: the infra-diff job's (read role, before the
    // approval) and the infra job's (deploy role). The stack ARN ends in an id CloudFormation assigns.
    const diffDeployedStacks = statement(
      'DiffDeployedStacks',
      ['cloudformation:GetTemplate'],
      props.appStackNames.map((name) => arn('cloudformation', 'stack', `${name}/*`)),
    );

    // --- Reads shared by verify (read role) and deploy-services (deploy role).
    const serviceReads = [
      statement('DescribeServices', ['ecs:DescribeServices'], serviceArns),
      // AWS requires "*": ListTasks authorizes only on container instances; the
      // condition limits it to this cluster.
      statement('ListTasksInCluster', ['ecs:ListTasks'], ['*'], onCluster),
      statement('DescribeTasks', ['ecs:DescribeTasks'], taskArns, onCluster),
      // AWS requires "*": DescribeTaskDefinition has no resource-level permissions.
      statement('DescribeTaskDefinitions', ['ecs:DescribeTaskDefinition'], ['*']),
      // AWS requires "*": the ELBv2 Describe* calls have no resource-level permissions.
      statement(
        'TargetHealth',
        ['elasticloadbalancing:DescribeTargetHealth', 'elasticloadbalancing:DescribeTargetGroups'],
        ['*'],
      ),
      statement('ServiceLogs', ['logs:GetLogEvents'], logStreams(services.map((s) => s.name))),
    ];
    // verify finds the ALB's address from the target groups, and with `traffic: test`
    // the test listener from the service's test listener rule.
    const albReads = statement(
      'FindLoadBalancer',
      [
        'elasticloadbalancing:DescribeLoadBalancers',
        'elasticloadbalancing:DescribeListeners',
        'elasticloadbalancing:DescribeRules',
      ],
      ['*'],
    );
    // The ServiceDeployment API: deploy-services names a failure with it, verify (`traffic: test`)
    // finds the green revision. Describe* authorize on the service as well as on the
    // deployment or revision.
    const deploymentReads = [
      statement('ListServiceDeployments', ['ecs:ListServiceDeployments'], serviceArns),
      statement(
        'ServiceDeployments',
        ['ecs:DescribeServiceDeployments', 'ecs:DescribeServiceRevisions'],
        [
          ...serviceArns,
          ...serviceNames.map((name) => arn('ecs', 'service-deployment', `${cluster}/${name}/*`)),
          ...serviceNames.map((name) => arn('ecs', 'service-revision', `${cluster}/${name}/*`)),
        ],
      ),
    ];

    // RegisterTaskDefinition carries the source revision's tags, so AWS also
    // authorizes ecs:TagResource on the new revision (tag-on-create).
    const registerRevisions = (sid: string, families: readonly string[]) => [
      statement(`Register${sid}`, ['ecs:RegisterTaskDefinition'], familyArns(families)),
      statement(`Tag${sid}`, ['ecs:TagResource'], familyArns(families), {
        StringEquals: { 'ecs:CreateAction': 'RegisterTaskDefinition' },
      }),
    ];
    const passRoles = (sid: string, roles: readonly iam.IRole[]) =>
      statement(
        sid,
        ['iam:PassRole'],
        roles.map((role) => role.roleArn),
        {
          StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' },
        },
      );

    const policies: Record<CiRoleName, iam.PolicyStatement[]> = {
      build: [
        // AWS requires "*": GetAuthorizationToken is account-wide.
        statement('RegistryLogin', ['ecr:GetAuthorizationToken'], ['*']),
        statement(
          'PushPullScan',
          [
            // docker push and the registry build cache (pull and push).
            'ecr:BatchCheckLayerAvailability',
            'ecr:InitiateLayerUpload',
            'ecr:UploadLayerPart',
            'ecr:CompleteLayerUpload',
            'ecr:PutImage',
            'ecr:BatchGetImage',
            'ecr:GetDownloadUrlForLayer',
            // build-push's own reads: the repository, the pushed image, its scan.
            'ecr:DescribeRepositories',
            'ecr:DescribeImages',
            'ecr:DescribeImageScanFindings',
          ],
          services.map((service) => arn('ecr', 'repository', names.repository(service.name))),
        ),
      ],
      read: [...serviceReads, albReads, ...deploymentReads, diffDeployedStacks],
      migrate: [
        statement('DescribeCluster', ['ecs:DescribeClusters'], [clusterArn]),
        // network-from-service: the task copies a service's network configuration.
        statement('DescribeServices', ['ecs:DescribeServices'], serviceArns),
        statement('DescribeTaskDefinitions', ['ecs:DescribeTaskDefinition'], ['*']),
        ...registerRevisions('MigrationRevisions', [migrationFamily]),
        statement('RunMigrations', ['ecs:RunTask'], familyArns([migrationFamily]), onCluster),
        // RunTask propagates the task definition's tags to the task (tag-on-create).
        statement('TagMigrationTasks', ['ecs:TagResource'], taskArns, {
          StringEquals: { 'ecs:CreateAction': 'RunTask' },
        }),
        statement('WatchAndStopTasks', ['ecs:DescribeTasks', 'ecs:StopTask'], taskArns, onCluster),
        passRoles('PassMigrationRoles', props.migrationPassedRoles),
        statement('MigrationLogs', ['logs:GetLogEvents'], logStreams([environment.migrations.containerName])),
      ],
      deploy: [
        ...serviceReads,
        albReads,
        ...deploymentReads,
        statement('UpdateServices', ['ecs:UpdateService'], serviceArns),
        // Rolling back a blue/green, linear or canary service is a traffic shift: StopServiceDeployment
        // ROLLBACK on its service deployment (authorized on the deployment and its service).
        statement(
          'RollBackServiceDeployments',
          ['ecs:StopServiceDeployment'],
          [
            ...serviceArns,
            ...serviceNames.map((name) => arn('ecs', 'service-deployment', `${cluster}/${name}/*`)),
          ],
        ),
        // AWS requires "*": ListTaskDefinitions has no resource-level permissions
        // (deploy-services' fallback when a service has no deployment history).
        statement('ListTaskDefinitions', ['ecs:ListTaskDefinitions'], ['*']),
        ...registerRevisions('ServiceRevisions', serviceNames),
        passRoles('PassServiceRoles', props.servicePassedRoles),
        // The infra job's `cdk deploy` works through the CDK bootstrap roles
        // (deploy, file and image publishing, lookup), which trust the account.
        statement(
          'CdkBootstrapRoles',
          ['sts:AssumeRole'],
          [`arn:aws:iam::${this.account}:role/cdk-hnb659fds-*-role-${this.account}-${this.region}`],
        ),
        // Before it deploys, the infra job diffs again against the deployed templates (they may have
        // changed while the approval waited).
        diffDeployedStacks,
        // The release gate of blue/green, linear and canary services (EcsStack's ReleaseGate):
        // the pipeline marks it pending, opens it for the verified revisions, or closes it.
        ...(Object.values(resolveDeployments(this.node.tryGetContext('deployments'))).some(shiftsTraffic)
          ? [
              statement(
                'ReleaseGate',
                ['ssm:GetParameter', 'ssm:PutParameter'],
                [arn('ssm', 'parameter', environment.releaseGate.parameterName, '')],
              ),
            ]
          : []),
      ],
    };

    const created: Partial<Record<CiRoleName, iam.Role>> = {};
    for (const [name, spec] of Object.entries(ciRoles) as [CiRoleName, CiRoleSpec][]) {
      const subjects = spec.subjects.map((subject) => `repo:${props.githubRepository}:${subject}`);
      const role = new iam.Role(this, `${name.charAt(0).toUpperCase()}${name.slice(1)}Role`, {
        roleName: spec.roleName,
        description: `${spec.purpose}; assumed by ${subjects.join(', ')}`,
        maxSessionDuration: Duration.hours(1),
        assumedBy: new iam.WebIdentityPrincipal(providerArn, {
          StringEquals: {
            [`${githubTokenHost}:aud`]: 'sts.amazonaws.com',
            // Exact subjects: a branch, or an environment whose protection rules GitHub enforces.
            [`${githubTokenHost}:sub`]: subjects.length === 1 ? subjects[0]! : subjects,
          },
        }),
      });
      const statements = policies[name];
      const policy = new iam.Policy(this, `${name.charAt(0).toUpperCase()}${name.slice(1)}Policy`, {
        policyName: spec.roleName,
        statements,
      });
      policy.attachToRole(role);
      acknowledgeWildcards(policy, statements);
      new CfnOutput(this, spec.output, {
        description: `Role for ${spec.purpose}`,
        value: role.roleArn,
      });
      created[name] = role;
    }
    this.roles = created as Record<CiRoleName, iam.Role>;
  }
}

/**
 * Every "*" resource is one AWS requires (see the statements); every other
 * wildcard is a run-time suffix (revision, task, deployment, log stream, CDK
 * bootstrap role kind) within this environment's names.
 */
function acknowledgeWildcards(policy: iam.Policy, statements: readonly iam.PolicyStatement[]): void {
  const found = new Set<string>();
  for (const statement of statements) {
    for (const resource of statement.resources) if (resource.includes('*')) found.add(resource);
  }
  for (const resource of found) {
    Validations.of(policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${resource}]`,
      reason:
        resource === '*'
          ? 'ecs:DescribeTaskDefinition, ecs:ListTaskDefinitions, ecs:ListTasks (limited by the ecs:cluster condition), ELBv2 Describe* and ecr:GetAuthorizationToken have no resource-level permissions.'
          : 'Revisions, tasks, deployments, service revisions, log streams and the CDK bootstrap role kinds are named at run time; the wildcard is only their suffix within this environment.',
    });
  }
}
