import type { IamSpec } from './iam/model.js';
import type { ThrottlingSpec } from './throttle.js';

/**
 * The scenario format: everything the simulator starts with and how each
 * image behaves. Files live in sim/scenarios/*.json. Times are simulated
 * milliseconds unless named otherwise; the clock runs `speed` times faster
 * than real time.
 *
 * Fields are added here, never renamed: tests and the demo depend on them.
 */

export interface Scenario {
  /** Shown in logs. */
  name?: string;
  region?: string; // default us-east-1
  accountId?: string; // default 123456789012
  /** Seed of the jitter on every phase duration; same seed, same run. */
  seed?: number;
  /** Phase durations of the task lifecycle, in simulated ms. */
  timing?: Partial<Timing>;
  clusters: ClusterSpec[];
  /** RegisterTaskDefinition requests (the API's own shape), registered in order at load. */
  taskDefinitions: TaskDefinitionSpec[];
  targetGroups?: TargetGroupSpec[];
  loadBalancers?: LoadBalancerSpec[];
  /** Services, created at load already steady on their task definition. */
  services?: ServiceSpec[];
  /**
   * How images behave, matched against a container's image URI: an exact URI,
   * or a glob where `*` matches any run of characters (e.g. `*:broken-*`).
   * The first matching key wins, in the object's order; `"default"` matches
   * everything else. An image with no match starts and is healthy.
   */
  images?: Record<string, ImageBehaviour>;
  /** Faults injected on named operations. */
  faults?: FaultSpec[];
  /** ECR: the real OCI registry the simulator's ECR fronts (build-push). */
  ecr?: EcrSpec;
  /** CloudFormation stacks whose templates GetTemplate returns (cdk-diff `deployed`). */
  stacks?: StackSpec[];
  /** IAM roles, policies and OIDC providers (sim/iam/model.ts); absent: no authorization (every call served). */
  iam?: IamSpec;
  /** API rate limits (sim/throttle.ts): absent, AWS's documented token buckets apply. */
  throttling?: ThrottlingSpec;
  /** VPCs, subnets and security groups (from a cloud assembly). */
  network?: NetworkSpec;
  /** CloudWatch Logs groups and their retention (from a cloud assembly). */
  logGroups?: LogGroupSpec[];
  /** Secrets Manager secrets with their (generated, seeded) values. */
  secrets?: SecretSpec[];
  /** CloudWatch alarms as defined (not evaluated). */
  alarms?: AlarmSpec[];
  /** Cloud Map namespaces and services (DNS TTLs). */
  serviceDiscovery?: ServiceDiscoverySpec;
  /** Resources of the loaded cloud assembly the simulator does not model: listed, never dropped. */
  unmodelled?: UnmodelledResource[];
  /**
   * How long before the load the loaded services' deployments, service
   * deployments and revisions were made (simulated ms; default one day), so
   * the world has a past: nothing loaded looks created at the load instant.
   */
  historyMs?: number;
  /**
   * Lambda functions (Node.js) the simulator can run: ECS deployment lifecycle
   * hooks invoke them by ARN (sim/lambda.ts). From a cloud assembly:
   * AWS::Lambda::Function's FunctionName/Arn, Handler, Runtime, Code (ZipFile,
   * or the asset directory), Role, Environment.Variables, Timeout.
   */
  lambdaFunctions?: LambdaFunctionSpec[];
  /**
   * Systems Manager Parameter Store parameters (sim/services/ssm.ts), each at
   * version 1 when the world loads. From a cloud assembly: AWS::SSM::Parameter's
   * Name, Type, Value, Description, Tier.
   */
  ssmParameters?: SsmParameterSpec[];
  /** S3 buckets that exist when the world loads, empty (sim/services/s3.ts; e.g. the CDK staging bucket, sim/cfn/bootstrap.ts). */
  s3Buckets?: { name: string }[];
}

export interface SsmParameterSpec {
  /** As PutParameter names it, e.g. "/alva/staging/release-gate". */
  name: string;
  /** Default String. */
  type?: 'String' | 'StringList' | 'SecureString';
  value: string;
  description?: string;
  /** Default Standard. */
  tier?: 'Standard' | 'Advanced';
}

export interface LambdaFunctionSpec {
  name: string;
  /** Default arn:aws:lambda:REGION:ACCOUNT:function:NAME. */
  arn?: string;
  /** nodejs* only (e.g. "nodejs22.x"); default nodejs22.x. */
  runtime?: string;
  /** "<file without extension>.<export>", e.g. "index.handler". */
  handler: string;
  /**
   * The code: a directory holding the handler's file (relative paths resolve
   * from the process's working directory), or inline source (CloudFormation's
   * Code.ZipFile), written as index.js.
   */
  code: { path?: string; zipFile?: string };
  /** The execution role's ARN: with `iam` in the scenario, the function calls AWS as a session of it. */
  role?: string;
  environment?: Record<string, string>;
  /** Seconds (real time), default 3 as Lambda's. */
  timeoutSeconds?: number;
}

/** A target group of a weighted forward action, by name or ARN, and its weight (0-999). */
export interface WeightedTargetGroupSpec {
  targetGroup: string;
  weight: number;
}

/**
 * A listener rule named in a scenario: its ARN, or the load balancer, the
 * listener's port and the rule's priority (no priority: the listener's default rule).
 */
export type ListenerRuleRef = string | { loadBalancer: string; port: number; priority?: number };

export interface Timing {
  /** PROVISIONING -> PENDING (ENI attached). */
  provisionMs: number;
  /** PENDING -> RUNNING (image pulled, container started), unless the image says otherwise. */
  pullMs: number;
  /** How long a stopping task takes to reach STOPPED after StopTask or scale-in (SIGTERM, stopTimeout). */
  stopMs: number;
  /** ± this fraction of every duration, from the seeded generator. */
  jitter: number;
  /** The ECS scheduler's reconcile tick. */
  schedulerTickMs: number;
  /** ELB target registration (Elb.RegistrationInProgress) before the first health check. */
  registrationMs: number;
}

export interface ClusterSpec {
  name: string;
  /** The cluster's default capacity provider strategy (RunTask without launchType uses it). */
  defaultCapacityProviderStrategy?: { capacityProvider: string; weight?: number; base?: number }[];
  capacityProviders?: string[];
  /** Subnets where Fargate has no capacity: RunTask answers a failures[] entry for them. */
  capacityUnavailableSubnets?: string[];
}

/** RegisterTaskDefinition's request shape, plus tags. */
export interface TaskDefinitionSpec {
  family: string;
  containerDefinitions: Record<string, unknown>[];
  [field: string]: unknown;
}

export interface TargetGroupSpec {
  name: string;
  port: number;
  protocol?: 'HTTP' | 'HTTPS';
  targetType?: 'ip' | 'instance';
  healthCheck?: {
    path?: string;
    intervalSeconds?: number; // default 30 (ELB default)
    timeoutSeconds?: number; // default 5
    healthyThresholdCount?: number; // default 5
    unhealthyThresholdCount?: number; // default 2
    matcher?: string; // default "200"
  };
  /** deregistration_delay.timeout_seconds; default 300 (ELB default). */
  deregistrationDelaySeconds?: number;
  /** The ARN to serve (a loaded assembly's, so templates and the API agree); default a seeded one. */
  arn?: string;
}

export interface LoadBalancerSpec {
  name: string;
  /**
   * The ALB's data plane: a real HTTP listener on 127.0.0.1. Its address is
   * the load balancer's DNS name ("127.0.0.1:<port>"). 0 picks a free port.
   */
  httpPort?: number;
  listeners: ListenerSpec[];
  /** The ARN to serve (a loaded assembly's); default a seeded one. */
  arn?: string;
}

export interface ListenerSpec {
  port: number; // the listener port as AWS would report it, e.g. 80
  protocol?: 'HTTP' | 'HTTPS';
  /**
   * The data plane's port on 127.0.0.1 for this listener (0 or absent: a free one). The load
   * balancer's first HTTP listener is served at its DNS name (`LoadBalancerSpec.httpPort`); every
   * other listener (a blue/green test listener) on a port of its own (GET /_sim/alb-requests lists them).
   */
  httpPort?: number;
  /** Default action: forward to a target group, or a fixed response. */
  defaultTargetGroup?: string;
  /** A weighted forward default action (ForwardConfig with several target groups); wins over defaultTargetGroup. */
  defaultWeightedTargetGroups?: WeightedTargetGroupSpec[];
  defaultFixedResponse?: { statusCode: number; body?: string; contentType?: string };
  rules?: {
    priority: number;
    pathPatterns?: string[];
    hostHeaders?: string[];
    targetGroup: string;
    /** A weighted forward (ForwardConfig with several target groups); wins over targetGroup. */
    weightedTargetGroups?: WeightedTargetGroupSpec[];
    /** The ARN to serve (a loaded assembly's); default a seeded one. */
    arn?: string;
  }[];
  /** The listener's and its default rule's ARNs to serve (a loaded assembly's); default seeded ones. */
  arn?: string;
  defaultRuleArn?: string;
}

export interface ServiceSpec {
  cluster: string;
  name: string;
  /** "family:revision" or "family" (latest). */
  taskDefinition: string;
  desiredCount: number;
  launchType?: 'FARGATE' | 'EC2';
  loadBalancers?: {
    targetGroup: string;
    containerName: string;
    containerPort: number;
    /** Blue/green, linear, canary (AdvancedConfiguration): target group by name, rules by ARN or position. */
    advancedConfiguration?: {
      alternateTargetGroup: string;
      productionListenerRule?: ListenerRuleRef;
      testListenerRule?: ListenerRuleRef;
      roleArn?: string;
    };
  }[];
  deploymentConfiguration?: {
    minimumHealthyPercent?: number; // default 100
    maximumPercent?: number; // default 200
    deploymentCircuitBreaker?: { enable: boolean; rollback: boolean };
    /** ECS-native strategies (sim/ecs/blue-green.ts); default ROLLING. */
    strategy?: 'ROLLING' | 'BLUE_GREEN' | 'LINEAR' | 'CANARY';
    bakeTimeInMinutes?: number;
    lifecycleHooks?: {
      /** Default AWS_LAMBDA; PAUSE waits for ContinueServiceDeployment. */
      targetType?: 'AWS_LAMBDA' | 'PAUSE';
      hookTargetArn?: string;
      roleArn?: string;
      lifecycleStages: string[];
      hookDetails?: unknown;
      timeoutConfiguration?: { timeoutInMinutes?: number; action?: 'CONTINUE' | 'ROLLBACK' };
    }[];
    linearConfiguration?: { stepPercent?: number; stepBakeTimeInMinutes?: number };
    canaryConfiguration?: { canaryPercent?: number; canaryBakeTimeInMinutes?: number };
  };
  networkConfiguration?: {
    awsvpcConfiguration: {
      subnets: string[];
      securityGroups?: string[];
      assignPublicIp?: 'ENABLED' | 'DISABLED';
    };
  };
  healthCheckGracePeriodSeconds?: number;
  /** The ServiceDeployment API answers for this service (default true). */
  serviceDeployments?: boolean;
  capacityProviderStrategy?: { capacityProvider: string; weight?: number; base?: number }[];
  tags?: { key: string; value: string }[];
  propagateTags?: 'SERVICE' | 'TASK_DEFINITION' | 'NONE';
  enableECSManagedTags?: boolean;
  /** Cloud Map registries (service discovery ARNs). */
  serviceRegistries?: { registryArn: string; containerName?: string; containerPort?: number }[];
}

export interface ImageBehaviour {
  /** "ok" (default): starts; "crash": exits at start; "pull-error": cannot be pulled. */
  start?: 'ok' | 'crash' | 'pull-error';
  /** For "crash": the essential container's exit code (default 1) and reason. */
  exitCode?: number;
  reason?: string;
  /** For "ok": a long-running container that exits after this long (crash loop). */
  crashAfterMs?: number;
  /**
   * For "ok", a late crash: the task runs and passes its health checks, then,
   * this long after it first became healthy (healthy in every target group of
   * its service), its essential container writes `crashLogLines` and exits
   * with `exitCode` (default 1) and `reason`. Each replacement does the same.
   */
  crashAfterHealthyMs?: number;
  /** Lines the container writes just before a late crash (`crashAfterHealthyMs`). */
  crashLogLines?: string[];
  /** Overrides timing.pullMs for this image. */
  pullMs?: number;
  /** ALB health checks: "healthy" (default), or failing with the matching reason code. */
  health?: 'healthy' | 'unhealthy' | 'timeout';
  /** The status health checks get when unhealthy (default 500). */
  healthStatus?: number;
  /** What the ALB data plane answers from a task of this image; default 200 and a body naming service and revision. */
  http?: { status?: number; body?: string; latencyMs?: number };
  /** Lines written to the container's awslogs stream once it runs. */
  logLines?: string[];
  /**
   * One-off tasks (RunTask): how long the task runs and how each container
   * ends. Containers not named exit with `exitCode` (default 0). A one-off
   * task runs another command (a migration), so this wins over `start`.
   */
  oneOff?: {
    durationMs?: number;
    exitCode?: number;
    /** Per container name: exit code, log lines. */
    containers?: Record<string, { exitCode?: number; logLines?: string[]; reason?: string }>;
    /** Lines each container writes, spread over the task's run time. */
    logLines?: string[];
  };
}

export interface FaultSpec {
  /** "ecs", "elbv2", "ecr", "logs", "cloudformation", or "*". */
  service: string;
  /** Operation name as in the API reference (e.g. "DescribeServices"), or "*". */
  operation: string;
  /**
   * throttle and http500 answer an error, reset drops the connection, all before the
   * service sees the call; lost carries the call out, then drops the connection.
   */
  kind: 'throttle' | 'http500' | 'reset' | 'lost';
  /** Skip this many matching calls before the fault starts (default 0). */
  after?: number;
  /** How many matching calls fail (default 1). A fault with a time window ignores it. */
  count?: number;
  /**
   * A time window, in simulated ms: every matching call fails for this long,
   * counted from the first matching call (after `after` skipped calls, and not
   * before `fromMs`). "DescribeServices fails for 20 s" whatever the poll rate.
   */
  forMs?: number;
  /** A window in simulated ms after the fault was loaded or added: matching calls fail from here... */
  fromMs?: number;
  /** ...until here (exclusive; no end if absent). */
  untilMs?: number;
}

export interface EcrSpec {
  /** The real registry: "127.0.0.1:5000". */
  registry: string;
  username?: string;
  password?: string;
  /** Repositories the account has: a name, or its settings as AWS::ECR::Repository gives them. */
  repositories: (string | EcrRepositorySpec)[];
  /** DescribeImageScanFindings answers: repository -> findings for any image. */
  scanFindings?: Record<string, { name: string; severity: string; uri?: string; description?: string }[]>;
}

export interface EcrRepositorySpec {
  name: string;
  /** Default MUTABLE. With *_WITH_EXCLUSION, tags matching an exclusion filter behave the other way. */
  imageTagMutability?: 'MUTABLE' | 'IMMUTABLE' | 'IMMUTABLE_WITH_EXCLUSION' | 'MUTABLE_WITH_EXCLUSION';
  imageTagMutabilityExclusionFilters?: { filterType: 'WILDCARD'; filter: string }[];
  scanOnPush?: boolean;
  /** The lifecycle policy text (JSON), as in the template. */
  lifecyclePolicyText?: string;
}

export interface StackSpec {
  name: string;
  /** The template as deployed (JSON object). */
  template: Record<string, unknown>;
}

export interface NetworkSpec {
  vpcs: { id: string; cidrBlock?: string; name?: string }[];
  subnets: {
    id: string;
    vpcId: string;
    availabilityZone?: string;
    cidrBlock?: string;
    /** A stable name: the CDK path, else "<stack>/<logicalId>". */
    name: string;
    mapPublicIpOnLaunch?: boolean;
  }[];
  securityGroups: { id: string; groupName: string; description?: string; vpcId?: string }[];
}

export interface LogGroupSpec {
  name: string;
  arn: string;
  retentionInDays?: number;
}

export interface SecretSpec {
  name: string;
  arn: string;
  description?: string;
  /** SecretString: a generated value is derived from the scenario's seed and the secret's name. */
  value: string;
}

export interface AlarmSpec {
  name: string;
  arn: string;
  description?: string;
  namespace?: string;
  metricName?: string;
  dimensions?: { name: string; value: string }[];
  statistic?: string;
  period?: number;
  evaluationPeriods: number;
  datapointsToAlarm?: number;
  threshold?: number;
  comparisonOperator: string;
  treatMissingData?: string;
  alarmActions?: string[];
  okActions?: string[];
  /** Metric math queries, as in the template (camelCase). */
  metrics?: unknown[];
}

export interface ServiceDiscoverySpec {
  namespaces: { id: string; arn: string; name: string; vpc?: string }[];
  services: {
    id: string;
    arn: string;
    name: string;
    namespaceId?: string;
    routingPolicy?: string;
    dnsRecords: { type: string; ttlSeconds: number }[];
  }[];
}

export interface UnmodelledResource {
  stack: string;
  logicalId: string;
  type: string;
  /** Why it is listed: the type is not modelled, or which part of a modelled resource is not. */
  reason: string;
}
