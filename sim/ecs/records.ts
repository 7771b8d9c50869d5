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
}

export interface DeploymentConfiguration {
  minimumHealthyPercent: number;
  maximumPercent: number;
  deploymentCircuitBreaker: CircuitBreakerConfig;
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
