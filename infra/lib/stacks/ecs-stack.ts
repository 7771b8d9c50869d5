import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as servicediscovery from 'aws-cdk-lib/aws-servicediscovery';
import type { Construct } from 'constructs';
import type { RunningImages } from '../config/images.js';
import { type Profile, profiles } from '../config/profiles.js';
import {
  type AppSecret,
  type DeploymentConfig,
  type DerivedEnvironment,
  environment,
  names,
  serviceByName,
  services,
} from '../config/services.js';
import { RollingFargateService, type TrafficShiftProps } from '../constructs/ecs-service.js';
import { ReleaseGate } from '../constructs/release-gate.js';
import { targetGroupTiming, type TrafficShiftTargets } from './alb-stack.js';
import { immutable, taskSubnets } from './network-stack.js';

export interface EcsStackProps extends StackProps {
  readonly vpc: ec2.IVpc;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly repositories: Readonly<Record<string, ecr.IRepository>>;
  readonly targetGroups: Readonly<Record<string, elbv2.IApplicationTargetGroup>>;
  readonly appSecrets: Readonly<Record<AppSecret, secretsmanager.ISecret>>;
  readonly database: rds.IDatabaseInstance;
  readonly databaseSecret: secretsmanager.ISecret;
  readonly redisUrl: string;
  readonly publicOrigins: string[];
  /** Tag of the images the task definitions start from; the deploy actions register newer revisions. */
  readonly imageTag: string;
  /**
   * The tag or digest each service runs now (context `images`), which its task definition keeps instead of
   * `imageTag`; the migration task takes its image service's. @default imageTag for every service
   */
  readonly runningImages?: RunningImages;
  /** Each service's deployment strategy (AlbStack.deployments). @default rolling for all */
  readonly deployments?: Readonly<Record<string, DeploymentConfig>>;
  /** What ECS shifts for each blue/green, linear or canary service (AlbStack.trafficShiftTargets). */
  readonly trafficShiftTargets?: Readonly<Record<string, TrafficShiftTargets>>;
  /** @default profiles.standard */
  readonly profile?: Profile;
}

/**
 * The Fargate cluster, the four services, the migration task definition and
 * their log groups. The deploy actions register new task-definition revisions
 * of these families and update these services; everything they address by
 * name (cluster, services, containers, family) comes from config/services.ts.
 */
export class EcsStack extends Stack {
  readonly cluster: ecs.Cluster;
  /** Service short name -> ECS service. */
  readonly services: Readonly<Record<string, ecs.FargateService>>;
  readonly migrationTaskDefinition: ecs.FargateTaskDefinition;
  /** Log groups by container name (services and migrations). */
  readonly logGroups: Readonly<Record<string, logs.LogGroup>>;
  /** The roles the services' task definitions pass to ECS (task roles and execution roles). */
  readonly servicePassedRoles: iam.IRole[];
  /** The roles the migration task definition passes to ECS. */
  readonly migrationPassedRoles: iam.IRole[];
  /** The release gate, when a service shifts traffic (blue/green, linear, canary). */
  readonly releaseGate?: ReleaseGate;

  constructor(scope: Construct, id: string, props: EcsStackProps) {
    super(scope, id, props);
    const profile = props.profile ?? profiles.standard;
    const cpuArchitecture =
      profile.cpuArchitecture === 'ARM64' ? ecs.CpuArchitecture.ARM64 : ecs.CpuArchitecture.X86_64;
    const publicTasks = profile.taskSubnets === 'public';

    this.cluster = new ecs.Cluster(this, 'Cluster', {
      clusterName: environment.clusterName,
      vpc: props.vpc,
      containerInsightsV2: profile.containerInsights
        ? ecs.ContainerInsights.ENABLED
        : ecs.ContainerInsights.DISABLED,
      enableFargateCapacityProviders: true,
      defaultCloudMapNamespace: {
        name: environment.cloudMapNamespace,
        type: servicediscovery.NamespaceType.DNS_PRIVATE,
        useForServiceConnect: false,
      },
    });
    // RunTask without a launch type or strategy (the migrate action's default)
    // uses the cluster's default strategy; with none, ECS picks the EC2 launch
    // type, and this cluster has no instances. On-demand in every profile: a
    // migration interrupted by a Spot reclaim halfway through costs more than
    // the cents the few minutes of a migration would save on Spot.
    this.cluster.addDefaultCapacityProviderStrategy([{ capacityProvider: 'FARGATE', weight: 1 }]);
    if (!profile.containerInsights) {
      Validations.of(this.cluster).acknowledge({
        id: 'AwsSolutions-ECS4',
        reason:
          'Lean profile: Container Insights off (~$3/month of custom metrics for four tasks); the ALB, RDS and service alarms still watch staging.',
      });
    }
    const securityGroups = [immutable(this, 'EcsSecurityGroup', props.securityGroup)];

    const logGroup = (name: string): logs.LogGroup =>
      new logs.LogGroup(this, `${name}Logs`, {
        logGroupName: names.logGroup(name),
        retention: profile.logRetentionDays,
        removalPolicy: RemovalPolicy.DESTROY,
      });
    const logGroups: Record<string, logs.LogGroup> = {};

    const databaseEnvironment = {
      PGHOST: props.database.dbInstanceEndpointAddress,
      PGPORT: props.database.dbInstanceEndpointPort,
      PGDATABASE: environment.database.databaseName,
      // RDS forces TLS: verify the server's certificate and name against the RDS CA bundle.
      PGSSLMODE: environment.database.tls.sslMode,
      PGSSLROOTCERT: environment.database.tls.caBundlePath,
      NODE_EXTRA_CA_CERTS: environment.database.tls.caBundlePath,
    };
    const databaseSecrets = {
      PGUSER: ecs.Secret.fromSecretsManager(props.databaseSecret, 'username'),
      PGPASSWORD: ecs.Secret.fromSecretsManager(props.databaseSecret, 'password'),
    };
    const derive = (value: DerivedEnvironment): string => {
      if (value === 'redisUrl') return props.redisUrl;
      if (value === 'corsOrigins') return props.publicOrigins.join(',');
      const target = serviceByName(value.serviceUrl);
      return `http://${target.name}.${environment.cloudMapNamespace}:${target.port}`;
    };

    const shiftTargets = props.trafficShiftTargets ?? {};
    let infrastructureRole: iam.Role | undefined;
    if (Object.keys(shiftTargets).length) {
      this.releaseGate = new ReleaseGate(this, 'ReleaseGate', {
        parameterName: environment.releaseGate.parameterName,
        functionName: environment.releaseGate.functionName,
        callBackDelay: Duration.seconds(environment.releaseGate.callBackDelaySeconds),
        logRetentionDays: environment.logRetentionDays,
      });
      new CfnOutput(this, 'ReleaseGateParameterName', {
        description: 'SSM parameter of the release gate the pipeline opens and closes',
        value: this.releaseGate.parameter.parameterName,
      });
      // ECS's infrastructure role for load balancers: it moves the listener rules' weights and
      // registers green's targets. AWS's managed policy is the one the ECS developer guide names.
      infrastructureRole = new iam.Role(this, 'LoadBalancerInfrastructureRole', {
        assumedBy: new iam.ServicePrincipal('ecs.amazonaws.com'),
        description: 'ECS blue/green, linear and canary deployments: shift listener rules, register targets',
        managedPolicies: [
          iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonECSInfrastructureRolePolicyForLoadBalancers'),
        ],
      });
      Validations.of(infrastructureRole).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers]',
        reason:
          'The ECS developer guide names this AWS managed policy for the blue/green infrastructure role; AWS keeps it in step with what ECS needs, and only ecs.amazonaws.com can assume the role.',
      });
    }
    const trafficShift = (name: string): TrafficShiftProps | undefined => {
      const targets = shiftTargets[name];
      const deployment = props.deployments?.[name];
      if (!targets || !deployment || deployment.strategy === 'rolling') return undefined;
      return {
        strategy: deployment.strategy,
        bakeTime: Duration.minutes(deployment.bakeTimeMinutes ?? 5),
        ...(deployment.strategy === 'linear'
          ? {
              linear: {
                stepPercent: deployment.stepPercent,
                stepBakeTime:
                  deployment.stepBakeTimeMinutes === undefined
                    ? undefined
                    : Duration.minutes(deployment.stepBakeTimeMinutes),
              },
            }
          : {}),
        ...(deployment.strategy === 'canary'
          ? {
              canary: {
                canaryPercent: deployment.canaryPercent,
                canaryBakeTime:
                  deployment.canaryBakeTimeMinutes === undefined
                    ? undefined
                    : Duration.minutes(deployment.canaryBakeTimeMinutes),
              },
            }
          : {}),
        alternateTargetGroup: targets.alternateTargetGroup,
        productionRule: targets.productionRule,
        testRule: targets.testRule,
        infrastructureRole: infrastructureRole!,
        gateHook: this.releaseGate?.function,
        hookRole: this.releaseGate?.invokeRole,
      };
    };

    const created: Record<string, ecs.FargateService> = {};
    this.servicePassedRoles = [];
    for (const service of services) {
      logGroups[service.name] = logGroup(service.name);
      const derived = Object.fromEntries(
        Object.entries(service.derivedEnvironment ?? {}).map(([key, value]) => [key, derive(value)]),
      );
      const secrets = Object.fromEntries(
        Object.entries(service.secrets).map(([key, secret]) => [
          key,
          ecs.Secret.fromSecretsManager(props.appSecrets[secret]),
        ]),
      );
      const rolling = new RollingFargateService(this, service.name, {
        cluster: this.cluster,
        serviceName: names.service(service),
        containerName: service.name,
        image: ecs.ContainerImage.fromEcrRepository(
          props.repositories[service.name]!,
          props.runningImages?.[service.name] ?? props.imageTag,
        ),
        containerPort: service.port,
        cpu: service.cpu,
        memoryLimitMiB: service.memoryMiB,
        desiredCount: service.desiredCount,
        environment: {
          ...service.environment,
          // The port the app must listen on, from the same config as the target group's.
          PORT: String(service.port),
          ...derived,
          ...(service.database ? databaseEnvironment : {}),
        },
        secrets: { ...secrets, ...(service.database ? databaseSecrets : {}) },
        logGroup: logGroups[service.name]!,
        securityGroups,
        targetGroup: props.targetGroups[service.name]!,
        cloudMapName: service.name,
        // Callers' DNS caches forget a stopping task before it stops serving.
        dnsTtl: Duration.seconds(targetGroupTiming.deregistrationDelaySeconds),
        trafficShift: trafficShift(service.name),
        cpuArchitecture,
        ...(publicTasks ? { vpcSubnets: taskSubnets(profile), assignPublicIp: true } : {}),
        capacityProviderStrategies: profile.serviceCapacityProviders?.map((share) => ({ ...share })),
      });
      created[service.name] = rolling.service;
      this.servicePassedRoles.push(
        rolling.taskDefinition.taskRole,
        rolling.taskDefinition.obtainExecutionRole(),
      );
      acknowledgeExecutionRole(rolling.taskDefinition);

      new CfnOutput(this, `${names.output(service.name)}ServiceName`, {
        description: `ECS service of ${service.name}`,
        value: rolling.service.serviceName,
      });
    }
    this.services = created;

    // The one-off task the migrate action runs before the services update.
    const migrations = environment.migrations;
    logGroups[migrations.containerName] = logGroup(migrations.containerName);
    this.migrationTaskDefinition = new ecs.FargateTaskDefinition(this, 'MigrationTask', {
      family: migrations.family,
      cpu: migrations.cpu,
      memoryLimitMiB: migrations.memoryMiB,
      // The migrations run the api image: the same architecture as the services'
      // (the seed's template names none, which Fargate reads as X86_64).
      ...(profile.cpuArchitecture === 'X86_64'
        ? {}
        : {
            runtimePlatform: {
              cpuArchitecture,
              operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
            },
          }),
    });
    this.migrationTaskDefinition.addContainer(migrations.containerName, {
      containerName: migrations.containerName,
      image: ecs.ContainerImage.fromEcrRepository(
        props.repositories[migrations.imageFrom]!,
        props.runningImages?.[migrations.imageFrom] ?? props.imageTag,
      ),
      command: [...migrations.command],
      environment: { NODE_ENV: 'production', ...databaseEnvironment },
      secrets: databaseSecrets,
      logging: ecs.LogDrivers.awsLogs({
        logGroup: logGroups[migrations.containerName]!,
        streamPrefix: migrations.containerName,
      }),
    });
    this.migrationPassedRoles = [
      this.migrationTaskDefinition.taskRole,
      this.migrationTaskDefinition.obtainExecutionRole(),
    ];
    acknowledgeExecutionRole(this.migrationTaskDefinition);
    Validations.of(this.migrationTaskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason: 'Only non-secret configuration is plain environment; the credentials are ECS secrets.',
    });
    this.logGroups = logGroups;

    new CfnOutput(this, 'ClusterName', { description: 'ECS cluster', value: this.cluster.clusterName });
    new CfnOutput(this, 'MigrationTaskFamily', {
      description: 'Task definition family the migrate action runs',
      value: migrations.family,
    });
    // RunTask needs the network the services use: the migrate action reads these.
    new CfnOutput(this, 'TaskSubnetIds', {
      description: publicTasks
        ? 'Public subnets for RunTask (comma-separated; the task needs assignPublicIp ENABLED)'
        : 'Private subnets for RunTask (comma-separated)',
      value: publicTasks
        ? props.vpc.selectSubnets(taskSubnets(profile)).subnetIds.join(',')
        : props.vpc.privateSubnets.map((subnet) => subnet.subnetId).join(','),
    });
    new CfnOutput(this, 'TaskSecurityGroupId', {
      description: 'Security group for RunTask',
      value: props.securityGroup.securityGroupId,
    });
    new CfnOutput(this, 'MigrationContainerName', {
      description: 'Container of the migration task',
      value: migrations.containerName,
    });
  }
}

/** The execution role's only wildcard is ecr:GetAuthorizationToken, which has no resource-level permissions. */
function acknowledgeExecutionRole(taskDefinition: ecs.TaskDefinition): void {
  Validations.of(taskDefinition.obtainExecutionRole()).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: 'ecr:GetAuthorizationToken supports no resource-level permissions: AWS requires Resource "*".',
  });
}
