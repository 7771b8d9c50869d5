import { Duration, Size, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as servicediscovery from 'aws-cdk-lib/aws-servicediscovery';
import { Construct } from 'constructs';

/**
 * ECS-native traffic shifting (BLUE_GREEN, LINEAR, CANARY): what ECS moves and
 * the hook it asks before production traffic moves.
 */
export interface TrafficShiftProps {
  readonly strategy: 'blue-green' | 'linear' | 'canary';
  /** Green serves all production traffic this long while blue still runs. */
  readonly bakeTime: Duration;
  /** LINEAR: the share per step and the wait between steps. */
  readonly linear?: { readonly stepPercent?: number; readonly stepBakeTime?: Duration };
  /** CANARY: the canary's share and how long it bakes before the rest moves. */
  readonly canary?: { readonly canaryPercent?: number; readonly canaryBakeTime?: Duration };
  readonly alternateTargetGroup: elbv2.IApplicationTargetGroup;
  readonly productionRule: elbv2.ApplicationListenerRule;
  readonly testRule: elbv2.ApplicationListenerRule;
  /** ECS's infrastructure role for load balancers (it modifies the rules and registers targets). */
  readonly infrastructureRole: iam.IRole;
  /** Invoked at POST_TEST_TRAFFIC_SHIFT with `hookRole`; absent: no hook. */
  readonly gateHook?: lambda.IFunction;
  readonly hookRole?: iam.IRole;
}

/**
 * A Fargate service in a private subnet behind an existing ALB target group,
 * in the style of aws-cdk-lib/aws-ecs-patterns, with defaults chosen for fast,
 * safe rolling deployments (or, with `trafficShift`, ECS's blue/green, linear or
 * canary deployments through an alternate target group). Unlike ecs-patterns it creates no load balancer and
 * no security group: both are owned elsewhere, so rules cannot multiply.
 */
export interface RollingFargateServiceProps {
  readonly cluster: ecs.ICluster;
  /** ECS service name, e.g. alva-api. */
  readonly serviceName: string;
  /** Task definition family. @default serviceName */
  readonly family?: string;
  /** Container name the deploy actions address, e.g. api. */
  readonly containerName: string;
  readonly image: ecs.ContainerImage;
  readonly containerPort: number;
  /** @default 512 (0.5 vCPU) */
  readonly cpu?: number;
  /** @default 1024 */
  readonly memoryLimitMiB?: number;
  /** @default 1 */
  readonly desiredCount?: number;
  readonly environment?: Readonly<Record<string, string>>;
  readonly secrets?: Readonly<Record<string, ecs.Secret>>;
  /** Destination of the awslogs driver; the caller sets its retention. */
  readonly logGroup: logs.ILogGroup;
  readonly securityGroups: ec2.ISecurityGroup[];
  /** @default the cluster VPC's private subnets with egress */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** Target group the service registers its tasks in. */
  readonly targetGroup?: elbv2.IApplicationTargetGroup;
  /** Cloud Map name in the cluster's default namespace, e.g. api -> api.<namespace>. */
  readonly cloudMapName?: string;
  /**
   * TTL of the Cloud Map A records. ECS removes a stopping task's record, then
   * drains its target (the deregistration delay), then stops it: a TTL no longer
   * than that delay means no internal caller still holds its address when it
   * goes away.
   * @default 5 seconds
   */
  readonly dnsTtl?: Duration;
  /**
   * With one task, 100 keeps the old task serving until its replacement is
   * healthy (zero downtime); 200 allows that replacement to start alongside.
   * @default 100
   */
  readonly minHealthyPercent?: number;
  /** @default 200 */
  readonly maxHealthyPercent?: number;
  /**
   * How long ECS ignores failing ALB health checks of a new task. The ALB
   * needs healthyThreshold x interval (10 s here) after the app listens; 30 s
   * covers a cold Node start without delaying a healthy deployment at all.
   * @default 30 seconds when a target group is given
   */
  readonly healthCheckGracePeriod?: Duration;
  /**
   * SIGTERM-to-SIGKILL time. ECS drains the target (deregistration delay)
   * before it sends SIGTERM, so the app has only to close its pools; AWS's
   * ECS best-practices guide recommends a short timeout for apps that handle
   * SIGTERM (Fargate default 30 s, maximum 120 s).
   * @default 10 seconds
   */
  readonly stopTimeout?: Duration;
  /** @default X86_64 (the images must be built for this architecture) */
  readonly cpuArchitecture?: ecs.CpuArchitecture;
  /** Public subnets without NAT need a public IP to reach ECR, Logs and Secrets Manager. @default false */
  readonly assignPublicIp?: boolean;
  /** Capacity provider strategy (e.g. FARGATE_SPOT) instead of the FARGATE launch type. @default launch type FARGATE */
  readonly capacityProviderStrategies?: ecs.CapacityProviderStrategy[];
  /** ECS-native blue/green, linear or canary instead of the rolling update. @default rolling */
  readonly trafficShift?: TrafficShiftProps;
}

const strategies = {
  'blue-green': ecs.DeploymentStrategy.BLUE_GREEN,
  linear: ecs.DeploymentStrategy.LINEAR,
  canary: ecs.DeploymentStrategy.CANARY,
} as const;

export class RollingFargateService extends Construct {
  readonly service: ecs.FargateService;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly container: ecs.ContainerDefinition;

  constructor(scope: Construct, id: string, props: RollingFargateServiceProps) {
    super(scope, id);

    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      family: props.family ?? props.serviceName,
      cpu: props.cpu ?? 512,
      memoryLimitMiB: props.memoryLimitMiB ?? 1024,
      runtimePlatform: {
        cpuArchitecture: props.cpuArchitecture ?? ecs.CpuArchitecture.X86_64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    this.container = this.taskDefinition.addContainer(props.containerName, {
      containerName: props.containerName,
      image: props.image,
      essential: true,
      portMappings: [{ containerPort: props.containerPort, name: props.containerName }],
      environment: { ...props.environment },
      secrets: { ...props.secrets },
      logging: ecs.LogDrivers.awsLogs({
        logGroup: props.logGroup,
        streamPrefix: props.containerName,
        // Never block the app on a slow log pipe; a 25 MB buffer covers bursts.
        mode: ecs.AwsLogDriverMode.NON_BLOCKING,
        maxBufferSize: Size.mebibytes(25),
      }),
      stopTimeout: props.stopTimeout ?? Duration.seconds(10),
    });
    if (Object.keys(props.environment ?? {}).length > 0) {
      Validations.of(this.taskDefinition).acknowledge({
        id: 'AwsSolutions-ECS2',
        reason:
          'Only non-secret configuration is plain environment; every secret is passed as an ECS secret.',
      });
    }

    const shift = props.trafficShift;
    this.service = new ecs.FargateService(this, 'Service', {
      ...(shift
        ? {
            deploymentStrategy: strategies[shift.strategy],
            bakeTime: shift.bakeTime,
            ...(shift.linear
              ? {
                  linearConfiguration: {
                    stepPercent: shift.linear.stepPercent,
                    stepBakeTime: shift.linear.stepBakeTime,
                  },
                }
              : {}),
            ...(shift.canary
              ? {
                  canaryConfiguration: {
                    stepPercent: shift.canary.canaryPercent,
                    stepBakeTime: shift.canary.canaryBakeTime,
                  },
                }
              : {}),
            lifecycleHooks: shift.gateHook
              ? [
                  new ecs.DeploymentLifecycleLambdaTarget(shift.gateHook, 'ReleaseGateHook', {
                    role: shift.hookRole,
                    lifecycleStages: [ecs.DeploymentLifecycleStage.POST_TEST_TRAFFIC_SHIFT],
                  }),
                ]
              : undefined,
          }
        : {}),
      cluster: props.cluster,
      serviceName: props.serviceName,
      taskDefinition: this.taskDefinition,
      desiredCount: props.desiredCount ?? 1,
      minHealthyPercent: props.minHealthyPercent ?? 100,
      maxHealthyPercent: props.maxHealthyPercent ?? 200,
      // A deployment whose tasks keep failing stops and returns to the last good revision.
      circuitBreaker: { enable: true, rollback: true },
      healthCheckGracePeriod:
        props.healthCheckGracePeriod ?? (props.targetGroup ? Duration.seconds(30) : undefined),
      securityGroups: props.securityGroups,
      vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      assignPublicIp: props.assignPublicIp ?? false,
      capacityProviderStrategies: props.capacityProviderStrategies,
      propagateTags: ecs.PropagatedTagSource.SERVICE,
      enableECSManagedTags: true,
      cloudMapOptions: props.cloudMapName
        ? {
            name: props.cloudMapName,
            dnsRecordType: servicediscovery.DnsRecordType.A,
            dnsTtl: props.dnsTtl ?? Duration.seconds(5),
            container: this.container,
            containerPort: props.containerPort,
          }
        : undefined,
    });
    if (props.targetGroup && shift) {
      this.service
        .loadBalancerTarget({
          containerName: props.containerName,
          containerPort: props.containerPort,
          alternateTarget: new ecs.AlternateTarget('Alternate', {
            alternateTargetGroup: shift.alternateTargetGroup,
            productionListener: ecs.ListenerRuleConfiguration.applicationListenerRule(shift.productionRule),
            testListener: ecs.ListenerRuleConfiguration.applicationListenerRule(shift.testRule),
            role: shift.infrastructureRole,
          }),
        })
        .attachToApplicationTargetGroup(props.targetGroup);
    } else if (shift) {
      throw new Error(`${props.serviceName}: blue/green, linear and canary need a target group`);
    } else if (props.targetGroup) {
      this.service.attachToApplicationTargetGroup(props.targetGroup);
    }
  }
}
