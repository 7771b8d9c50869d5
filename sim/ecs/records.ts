/**
 * The records the ECS control plane keeps: clusters, task definitions,
 * services with their deployments, service deployments and revisions, tasks
 * and their containers. Plain data: the modules beside this one change them
 * (sim/ecs/engine.ts says which does what), sim/services/ecs.ts shapes them
 * into API replies.
 */
import type { TargetGroupRecord } from '../elb-engine.js';
import type { ClusterSpec, ImageBehaviour } from '../scenario.js';

export interface Tag {
  key: string;
  value: string;
}

export interface TaskDefRecord {
  arn: string;
  family: string;
  revision: number;
  status: 'ACTIVE' | 'INACTIVE';
  /** The TaskDefinition as DescribeTaskDefinition returns it. */
  body: Record<string, unknown>;
  containers: ContainerDef[];
  tags: Tag[];
}

export interface ContainerDef {
  name: string;
  image: string;
  essential: boolean;
  portMappings?: Record<string, unknown>[];
  logConfiguration?: { logDriver?: string; options?: Record<string, string> };
  [field: string]: unknown;
}

export interface ClusterRecord {
  arn: string;
  name: string;
  spec: ClusterSpec;
  services: Map<string, ServiceRecord>;
  tasks: Map<string, TaskRecord>;
  stoppedOrder: string[];
  /** RunTask clientToken -> the request it came with and its reply (idempotency, per cluster). */
  runTaskTokens: Map<string, { request: string; reply: Record<string, unknown>; at: number }>;
}

export interface ServiceLoadBalancer {
  targetGroupArn: string;
  containerName: string;
  containerPort: number;
  /** Blue/green, linear and canary: the alternate target group and the listener rules ECS shifts. */
  advancedConfiguration?: AdvancedConfiguration;
}

/** https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_AdvancedConfiguration.html */
export interface AdvancedConfiguration {
  alternateTargetGroupArn: string;
  productionListenerRule?: string;
  testListenerRule?: string;
  roleArn?: string;
}

export type DeploymentStrategy = 'ROLLING' | 'BLUE_GREEN' | 'LINEAR' | 'CANARY';

/** https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentLifecycleHook.html */
export interface DeploymentLifecycleHook {
  targetType?: 'AWS_LAMBDA' | 'PAUSE';
  hookTargetArn?: string;
  roleArn?: string;
  lifecycleStages: string[];
  hookDetails?: unknown;
  timeoutConfiguration?: { timeoutInMinutes?: number; action?: 'CONTINUE' | 'ROLLBACK' };
}

export interface DeploymentConfiguration {
  minimumHealthyPercent: number;
  maximumPercent: number;
  deploymentCircuitBreaker: CircuitBreakerConfig;
  strategy?: DeploymentStrategy;
  bakeTimeInMinutes?: number;
  lifecycleHooks?: DeploymentLifecycleHook[];
  linearConfiguration?: { stepPercent?: number; stepBakeTimeInMinutes?: number };
  canaryConfiguration?: { canaryPercent?: number; canaryBakeTimeInMinutes?: number };
  [field: string]: unknown;
}

/** https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentCircuitBreaker.html */
export interface CircuitBreakerConfig {
  enable: boolean;
  rollback: boolean;
  /** Default true: a task of the deployment turning healthy resets the failure count. */
  resetOnHealthyTask?: boolean;
  /** Default BOUNDED_PERCENT 50 (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ThresholdConfiguration.html). */
  thresholdConfiguration?: { type: 'COUNT' | 'BOUNDED_PERCENT' | 'UNBOUNDED_PERCENT'; value: number };
}

export type RolloutState = 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';

export interface DeploymentRecord {
  id: string;
  status: 'PRIMARY' | 'ACTIVE' | 'INACTIVE';
  taskDefinitionArn: string;
  desiredCount: number;
  /**
   * Consecutively failed tasks. Once the deployment has a successfully running
   * (healthy) task it resets to zero and stops being evaluated (Deployment in the
   * API reference), unless the circuit breaker says resetOnHealthyTask: false.
   */
  failedTasks: number;
  failuresEvaluated: boolean;
  createdAt: number;
  updatedAt: number;
  rolloutState: RolloutState;
  rolloutStateReason: string;
  launchType?: string;
  networkConfiguration?: unknown;
  revisionArn: string;
  serviceDeployment?: ServiceDeploymentRecord;
  /** Set on the deployment a rollback created. */
  rollbackOf?: DeploymentRecord;
  /**
   * The target group each of the service's load balancers registers this
   * deployment's tasks in (index of `ServiceRecord.loadBalancers`); absent,
   * the configured `targetGroupArn`. Blue/green puts green in the other one.
   */
  targetGroupArns?: string[];
  /** A blue/green, linear or canary deployment in progress (sim/ecs/blue-green.ts). */
  blueGreen?: BlueGreenRun;
}

/** The state of one blue/green (or linear, canary) deployment as ECS runs it. */
export interface BlueGreenRun {
  strategy: Exclude<DeploymentStrategy, 'ROLLING'>;
  /** The deployment production traffic is on when this one started (blue). */
  blue: DeploymentRecord;
  blueTargetGroupArns: string[];
  greenTargetGroupArns: string[];
  stage: string;
  /** Percent of production traffic on green, and of test traffic. */
  productionWeight: number;
  testWeight: number;
  /** Set once the run ends: succeeded, or rolled back. */
  finished?: 'SUCCEEDED' | 'ROLLED_BACK';
  /** Cancels the pending stage timer or hook callback (a rollback stops the run). */
  cancel: (() => void)[];
  /** Counts runs of the stage machine so stale timers do nothing. */
  epoch: number;
}

/** https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentLifecycleHookDetail.html */
export interface LifecycleHookDetailRecord {
  hookId: string;
  targetType: 'AWS_LAMBDA' | 'PAUSE';
  targetArn?: string;
  stage: string;
  status: 'AWAITING_ACTION' | 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT';
  expiresAt?: number;
  timeoutAction: 'CONTINUE' | 'ROLLBACK';
  /** Invocations so far, and the hookDetails the last IN_PROGRESS answer returned. */
  invocations: number;
  carriedDetails?: Record<string, unknown>;
  lastError?: string;
}

export type ServiceDeploymentStatus =
  | 'PENDING'
  | 'IN_PROGRESS'
  | 'SUCCESSFUL'
  | 'STOPPED'
  | 'STOP_REQUESTED'
  | 'ROLLBACK_REQUESTED'
  | 'ROLLBACK_IN_PROGRESS'
  | 'ROLLBACK_SUCCESSFUL'
  | 'ROLLBACK_FAILED';

export interface ServiceDeploymentRecord {
  arn: string;
  service: ServiceRecord;
  createdAt: number;
  startedAt?: number;
  updatedAt: number;
  finishedAt?: number;
  stoppedAt?: number;
  status: ServiceDeploymentStatus;
  statusReason?: string;
  sourceRevisionArns: string[];
  targetRevisionArn: string;
  deploymentConfiguration: DeploymentConfiguration;
  rollback?: { reason: string; startedAt: number; serviceRevisionArn: string };
  circuitBreakerStatus: 'TRIGGERED' | 'MONITORING' | 'MONITORING_COMPLETE' | 'DISABLED';
  deployment: DeploymentRecord;
  /** Blue/green, linear, canary: the current stage (ServiceDeployment.lifecycleStage). */
  lifecycleStage?: string;
  /** The hooks of the current stage (ServiceDeployment.lifecycleHookDetails). */
  lifecycleHookDetails?: LifecycleHookDetailRecord[];
}

export interface ServiceRevisionRecord {
  arn: string;
  service: ServiceRecord;
  taskDefinitionArn: string;
  createdAt: number;
  launchType?: string;
  loadBalancers: ServiceLoadBalancer[];
  networkConfiguration?: unknown;
}

export interface ServiceEvent {
  id: string;
  createdAt: number;
  message: string;
}

export interface ServiceRecord {
  arn: string;
  name: string;
  cluster: ClusterRecord;
  status: 'ACTIVE' | 'DRAINING' | 'INACTIVE';
  desiredCount: number;
  taskDefinitionArn: string;
  launchType?: string;
  capacityProviderStrategy?: unknown[];
  loadBalancers: ServiceLoadBalancer[];
  networkConfiguration?: {
    awsvpcConfiguration?: { subnets?: string[]; securityGroups?: string[]; assignPublicIp?: string };
  };
  deploymentConfiguration: DeploymentConfiguration;
  healthCheckGracePeriodSeconds?: number;
  deployments: DeploymentRecord[];
  events: ServiceEvent[];
  createdAt: number;
  tags: Tag[];
  propagateTags?: string;
  enableECSManagedTags: boolean;
  serviceDeploymentsEnabled: boolean;
  serviceDeployments: ServiceDeploymentRecord[];
  revisions: Map<string, ServiceRevisionRecord>;
  lastCompleted?: DeploymentRecord;
  steady: boolean;
  /** The target groups production traffic is on, per load balancer (blue/green swaps them); absent: the configured ones. */
  liveTargetGroupArns?: string[];
}

export interface ContainerRecord {
  name: string;
  image: string;
  essential: boolean;
  containerArn: string;
  runtimeId: string;
  lastStatus: string;
  exitCode?: number;
  reason?: string;
  behaviour: ImageBehaviour;
  def: ContainerDef;
}

export interface TaskRecord {
  arn: string;
  id: string;
  cluster: ClusterRecord;
  taskDef: TaskDefRecord;
  service?: ServiceRecord;
  deployment?: DeploymentRecord;
  lastStatus: string;
  desiredStatus: 'RUNNING' | 'STOPPED';
  createdAt: number;
  pullStartedAt?: number;
  pullStoppedAt?: number;
  startedAt?: number;
  connectivityAt?: number;
  stoppingAt?: number;
  executionStoppedAt?: number;
  stoppedAt?: number;
  stopCode?: string;
  stoppedReason?: string;
  containers: ContainerRecord[];
  ip: string;
  subnet?: string;
  eniId: string;
  attachmentId: string;
  launchType: string;
  capacityProviderName?: string;
  group: string;
  startedBy?: string;
  overrides: Record<string, unknown>;
  tags: Tag[];
  version: number;
  /** Healthy in every target group of its service (or the service has none). */
  healthy: boolean;
  /** Has been healthy at least once (a late crash counts from the first time). */
  everHealthy?: boolean;
  /** Targets this task has in its service's target groups. */
  targets: { targetGroup: TargetGroupRecord; port: number }[];
  /** Counted once against its deployment's failedTasks. */
  failed: boolean;
  timers: (() => void)[];
}

/** Name after the last "/" of an ARN, or the string itself. */
export function nameOf(ref: string): string {
  return ref.startsWith('arn:') ? ref.slice(ref.lastIndexOf('/') + 1) : ref;
}
