/**
 * The ECS control plane as the scheduler runs it: task definitions, services
 * and their deployments, task lifecycles, the deployment circuit breaker and
 * its rollback, and the service deployment/revision records of the
 * ServiceDeployment API. The API layer (sim/services/ecs.ts) only parses
 * requests and shapes replies; every state change happens here.
 *
 * References (API reference and developer guide):
 * - Task lifecycle: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html
 * - Rolling update, minimumHealthyPercent/maximumPercent:
 *   https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-ecs.html
 * - Circuit breaker (threshold: 0.5 × desired count, min 3, max 200):
 *   https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html
 *   https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeploymentCircuitBreaker.html
 * - Service deployments: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-deployment.html
 * - Stop codes: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Task.html
 */
import type { SimClock, SimRandom } from './clock.js';
import type { ElbEngine, TargetGroupRecord, TargetRecord } from './elb-engine.js';
import type { LogsStore } from './logs-store.js';
import type { ClusterSpec, ImageBehaviour, Scenario, ServiceSpec, Timing } from './scenario.js';
import { AwsError } from './service.js';

export const DEFAULT_TIMING: Timing = {
  provisionMs: 8000,
  pullMs: 10000,
  stopMs: 5000,
  jitter: 0.2,
  schedulerTickMs: 1000,
  registrationMs: 3000,
};

/** A crash-at-start container exits this long after it starts. */
const CRASH_AT_START_MS = 1000;
/** Default run time of a one-off task whose image gives none. */
const ONE_OFF_DEFAULT_MS = 5000;
/** Service events kept per service (DescribeServices returns the latest 100). */
const MAX_SERVICE_EVENTS = 100;
/** Stopped tasks kept per cluster (ECS keeps them visible for about an hour). */
const MAX_STOPPED_TASKS = 500;
/** Exit code of a container stopped with SIGTERM (128 + 15). */
const SIGTERM_EXIT = 143;

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
  /** Targets this task has in its service's target groups. */
  targets: { targetGroup: TargetGroupRecord; port: number }[];
  /** Counted once against its deployment's failedTasks. */
  failed: boolean;
  timers: (() => void)[];
}

export interface EngineDeps {
  clock: SimClock;
  random: SimRandom;
  region: string;
  accountId: string;
  timing: Timing;
  elb: ElbEngine;
  logs: LogsStore;
  images: Record<string, ImageBehaviour>;
  event(kind: string, detail: Record<string, unknown>): void;
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}

/** The behaviour of an image: the first matching key wins, `default` last. */
export function imageBehaviour(images: Record<string, ImageBehaviour>, image: string): ImageBehaviour {
  for (const [pattern, behaviour] of Object.entries(images)) {
    if (pattern === 'default') continue;
    if (pattern === image || globToRegExp(pattern).test(image)) return behaviour;
  }
  return images.default ?? {};
}

/** Name after the last "/" of an ARN, or the string itself. */
export function nameOf(ref: string): string {
  return ref.startsWith('arn:') ? ref.slice(ref.lastIndexOf('/') + 1) : ref;
}

/**
 * The failure threshold: by default 0.5 × desired count, at least 3 and at most 200
 * (ServiceDeploymentCircuitBreaker); a thresholdConfiguration can change it.
 */
export function circuitBreakerThreshold(
  desiredCount: number,
  config?: CircuitBreakerConfig['thresholdConfiguration'],
): number {
  const type = config?.type ?? 'BOUNDED_PERCENT';
  const value = config?.value ?? 50;
  if (type === 'COUNT') return Math.max(1, value);
  const percent = Math.ceil((value / 100) * desiredCount);
  return type === 'UNBOUNDED_PERCENT' ? Math.max(1, percent) : Math.min(200, Math.max(3, percent));
}

export class EcsEngine {
  readonly clusters = new Map<string, ClusterRecord>();
  /** family -> revisions, index revision - 1. */
  readonly taskDefinitions = new Map<string, TaskDefRecord[]>();
  private ipCounter = 0;
  /** While a scenario loads, services are placed as they are: the scheduler waits. */
  private loading = false;
  private readonly deps: EngineDeps;

  constructor(deps: EngineDeps) {
    this.deps = deps;
    deps.elb.onTargetHealth((tg, target) => this.onTargetHealth(tg, target));
    deps.clock.every(deps.timing.schedulerTickMs, () => this.reconcileAll());
  }

  get elb(): ElbEngine {
    return this.deps.elb;
  }

  get region(): string {
    return this.deps.region;
  }

  get accountId(): string {
    return this.deps.accountId;
  }

  // ---------------------------------------------------------------- helpers

  /** Simulated time, epoch milliseconds. */
  now(): number {
    return this.deps.clock.now();
  }

  private phase(ms: number): number {
    return this.deps.random.jitter(ms, this.deps.timing.jitter);
  }

  arn(resource: string): string {
    return `arn:aws:ecs:${this.deps.region}:${this.deps.accountId}:${resource}`;
  }

  private after(task: TaskRecord, ms: number, fn: () => void): void {
    task.timers.push(this.deps.clock.after(ms, fn));
  }

  private event(kind: string, detail: Record<string, unknown>): void {
    this.deps.event(kind, detail);
  }

  serviceEvent(service: ServiceRecord, message: string): void {
    service.events.unshift({ id: this.deps.random.uuid(), createdAt: this.now(), message });
    if (service.events.length > MAX_SERVICE_EVENTS) service.events.length = MAX_SERVICE_EVENTS;
    this.event('service.event', { cluster: service.cluster.name, service: service.name, message });
  }

  private nextIp(): string {
    const n = this.ipCounter++;
    // ENI addresses stay on loopback (127.0.1.1 upwards) so nothing points outside the machine.
    return `127.0.${1 + Math.floor(n / 254)}.${(n % 254) + 1}`;
  }

  // ---------------------------------------------------------------- load

  load(scenario: Scenario): void {
    for (const spec of scenario.clusters) {
      this.clusters.set(spec.name, {
        arn: this.arn(`cluster/${spec.name}`),
        name: spec.name,
        spec,
        services: new Map(),
        tasks: new Map(),
        stoppedOrder: [],
        runTaskTokens: new Map(),
      });
    }
    for (const spec of scenario.taskDefinitions) {
      const { tags, ...request } = spec as { tags?: Tag[] } & Record<string, unknown>;
      this.registerTaskDefinition(request, tags ?? []);
    }
    this.loading = true;
    try {
      for (const spec of scenario.services ?? []) this.loadSteadyService(spec);
    } finally {
      this.loading = false;
    }
  }

  private loadSteadyService(spec: ServiceSpec): void {
    const cluster = this.cluster(spec.cluster);
    const loadBalancers = (spec.loadBalancers ?? []).map((lb) => {
      const tg = this.deps.elb.targetGroupByName(lb.targetGroup);
      if (!tg) throw new Error(`scenario: service ${spec.name} uses unknown target group ${lb.targetGroup}`);
      return { targetGroupArn: tg.arn, containerName: lb.containerName, containerPort: lb.containerPort };
    });
    const service = this.createService(cluster, {
      name: spec.name,
      taskDefinition: spec.taskDefinition,
      desiredCount: spec.desiredCount,
      launchType: spec.launchType ?? 'FARGATE',
      loadBalancers,
      networkConfiguration: spec.networkConfiguration,
      deploymentConfiguration: spec.deploymentConfiguration,
      healthCheckGracePeriodSeconds: spec.healthCheckGracePeriodSeconds,
      serviceDeployments: spec.serviceDeployments ?? true,
      tags: [],
      steady: true,
    });
    service.steady = true;
  }

  // ---------------------------------------------------------------- lookups

  cluster(ref?: string): ClusterRecord {
    const name = nameOf(ref ?? 'default');
    const cluster = this.clusters.get(name);
    if (!cluster) throw new AwsError('ClusterNotFoundException', 'Cluster not found.');
    return cluster;
  }

  findTaskDefinition(ref: string): TaskDefRecord | undefined {
    const spec = nameOf(ref);
    const [family, revision] = spec.split(':');
    const revisions = this.taskDefinitions.get(family);
    if (!revisions) return undefined;
    if (revision === undefined) return [...revisions].reverse().find((td) => td.status === 'ACTIVE');
    return revisions[Number(revision) - 1];
  }

  // ---------------------------------------------------------------- task definitions

  registerTaskDefinition(request: Record<string, unknown>, tags: Tag[]): TaskDefRecord {
    const family = request.family as string;
    const revisions = this.taskDefinitions.get(family) ?? [];
    const revision = revisions.length + 1;
    const arn = this.arn(`task-definition/${family}:${revision}`);
    const requires = new Set<string>();
    const containerDefinitions = (request.containerDefinitions as ContainerDef[]).map((raw) => {
      // ECS fills these defaults in the description it returns.
      const def: ContainerDef = {
        cpu: 0,
        environment: [],
        mountPoints: [],
        volumesFrom: [],
        systemControls: [],
        ...raw,
        essential: raw.essential ?? true,
      };
      if (Array.isArray(raw.portMappings)) {
        def.portMappings = raw.portMappings.map((pm) => ({
          ...pm,
          hostPort: pm.hostPort ?? (request.networkMode === 'awsvpc' ? pm.containerPort : undefined),
          protocol: pm.protocol ?? 'tcp',
        }));
      }
      if (def.logConfiguration?.logDriver === 'awslogs') {
        requires.add('com.amazonaws.ecs.capability.logging-driver.awslogs');
        requires.add('ecs.capability.execution-role-awslogs');
      }
      return def;
    });
    if (request.networkMode === 'awsvpc') requires.add('ecs.capability.task-eni');
    const body: Record<string, unknown> = {
      ...request,
      taskDefinitionArn: arn,
      containerDefinitions,
      family,
      revision,
      volumes: request.volumes ?? [],
      status: 'ACTIVE',
      requiresAttributes: [...requires].map((name) => ({ name })),
      placementConstraints: request.placementConstraints ?? [],
      compatibilities: ['EC2', ...(request.networkMode === 'awsvpc' ? ['FARGATE'] : [])],
      registeredAt: new Date(this.now()),
      registeredBy: `arn:aws:iam::${this.deps.accountId}:root`,
    };
    const record: TaskDefRecord = {
      arn,
      family,
      revision,
      status: 'ACTIVE',
      body,
      containers: containerDefinitions,
      tags,
    };
    revisions.push(record);
    this.taskDefinitions.set(family, revisions);
    this.event('taskDefinition.registered', { arn });
    return record;
  }

  deregisterTaskDefinition(td: TaskDefRecord): void {
    td.status = 'INACTIVE';
    td.body.status = 'INACTIVE';
    td.body.deregisteredAt = new Date(this.now());
    this.event('taskDefinition.deregistered', { arn: td.arn });
  }

  // ---------------------------------------------------------------- services

  createService(
    cluster: ClusterRecord,
    opts: {
      name: string;
      taskDefinition: string;
      desiredCount: number;
      launchType?: string;
      capacityProviderStrategy?: unknown[];
      loadBalancers: ServiceLoadBalancer[];
      networkConfiguration?: ServiceRecord['networkConfiguration'];
      deploymentConfiguration?: Partial<DeploymentConfiguration>;
      healthCheckGracePeriodSeconds?: number;
      serviceDeployments: boolean;
      tags: Tag[];
      propagateTags?: string;
      enableECSManagedTags?: boolean;
      steady?: boolean;
    },
  ): ServiceRecord {
    const td = this.findTaskDefinition(opts.taskDefinition);
    if (!td) throw new AwsError('ClientException', 'TaskDefinition not found.');
    const service: ServiceRecord = {
      arn: this.arn(`service/${cluster.name}/${opts.name}`),
      name: opts.name,
      cluster,
      status: 'ACTIVE',
      desiredCount: opts.desiredCount,
      taskDefinitionArn: td.arn,
      launchType: opts.launchType,
      capacityProviderStrategy: opts.capacityProviderStrategy,
      loadBalancers: opts.loadBalancers,
      networkConfiguration: opts.networkConfiguration,
      deploymentConfiguration: this.deploymentConfiguration(opts.deploymentConfiguration),
      healthCheckGracePeriodSeconds: opts.healthCheckGracePeriodSeconds,
      deployments: [],
      events: [],
      createdAt: this.now(),
      tags: opts.tags,
      propagateTags: opts.propagateTags,
      enableECSManagedTags: opts.enableECSManagedTags ?? false,
      serviceDeploymentsEnabled: opts.serviceDeployments,
      serviceDeployments: [],
      revisions: new Map(),
      steady: false,
    };
    cluster.services.set(service.name, service);
    const deployment = this.startDeployment(service, td.arn);
    this.event('service.created', { cluster: cluster.name, service: service.name, taskDefinition: td.arn });
    if (opts.steady) {
      // Loaded from a scenario: already running its desired count, healthy, deployment completed.
      for (let i = 0; i < service.desiredCount; i++)
        this.launchTask(cluster, td, { service, deployment, steady: true });
      this.completeDeployment(service, deployment);
    }
    return service;
  }

  deploymentConfiguration(
    requested: Partial<DeploymentConfiguration> | undefined,
    current?: DeploymentConfiguration,
  ): DeploymentConfiguration {
    return {
      ...current,
      ...requested,
      minimumHealthyPercent: requested?.minimumHealthyPercent ?? current?.minimumHealthyPercent ?? 100,
      maximumPercent: requested?.maximumPercent ?? current?.maximumPercent ?? 200,
      deploymentCircuitBreaker: {
        ...current?.deploymentCircuitBreaker,
        ...requested?.deploymentCircuitBreaker,
        enable:
          requested?.deploymentCircuitBreaker?.enable ?? current?.deploymentCircuitBreaker.enable ?? false,
        rollback:
          requested?.deploymentCircuitBreaker?.rollback ??
          current?.deploymentCircuitBreaker.rollback ??
          false,
      },
    };
  }

  private newRevision(service: ServiceRecord, taskDefinitionArn: string): ServiceRevisionRecord {
    const revision: ServiceRevisionRecord = {
      arn: this.arn(
        `service-revision/${service.cluster.name}/${service.name}/${this.deps.random.digits(19)}`,
      ),
      service,
      taskDefinitionArn,
      createdAt: this.now(),
      launchType: service.launchType,
      loadBalancers: service.loadBalancers,
      networkConfiguration: service.networkConfiguration,
    };
    service.revisions.set(revision.arn, revision);
    return revision;
  }

  /** A new PRIMARY deployment; the previous ones become ACTIVE and are scaled in by the scheduler. */
  startDeployment(
    service: ServiceRecord,
    taskDefinitionArn: string,
    rollback?: { of: DeploymentRecord; to: DeploymentRecord; reason: string },
  ): DeploymentRecord {
    const now = this.now();
    const id = `ecs-svc/${this.deps.random.digits(19)}`;
    const revisionArn = rollback ? rollback.to.revisionArn : this.newRevision(service, taskDefinitionArn).arn;
    const deployment: DeploymentRecord = {
      id,
      status: 'PRIMARY',
      taskDefinitionArn,
      desiredCount: service.desiredCount,
      failedTasks: 0,
      failuresEvaluated: true,
      createdAt: now,
      updatedAt: now,
      rolloutState: 'IN_PROGRESS',
      rolloutStateReason: rollback
        ? `ECS deployment circuit breaker: rolling back to deploymentId ${rollback.to.id}.`
        : `ECS deployment ${id} in progress.`,
      launchType: service.launchType,
      networkConfiguration: service.networkConfiguration,
      revisionArn,
      rollbackOf: rollback?.of,
    };
    for (const previous of service.deployments) {
      previous.status = 'ACTIVE';
      previous.updatedAt = now;
      const sd = previous.serviceDeployment;
      if (
        !rollback &&
        sd &&
        (sd.status === 'IN_PROGRESS' || sd.status === 'PENDING' || sd.status === 'ROLLBACK_IN_PROGRESS')
      ) {
        // A newer deployment supersedes one still in progress.
        sd.status = 'STOPPED';
        sd.statusReason = `Service deployment stopped because a new deployment ${id} started.`;
        sd.stoppedAt = now;
        sd.finishedAt = now;
        sd.updatedAt = now;
      }
    }
    if (rollback) {
      deployment.serviceDeployment = rollback.of.serviceDeployment;
    } else if (service.serviceDeploymentsEnabled) {
      const sourceRevisionArns = [...new Set(service.deployments.map((d) => d.revisionArn))];
      const sd: ServiceDeploymentRecord = {
        arn: this.arn(
          `service-deployment/${service.cluster.name}/${service.name}/${this.deps.random.hex(22)}`,
        ),
        service,
        createdAt: now,
        startedAt: now,
        updatedAt: now,
        status: 'IN_PROGRESS',
        sourceRevisionArns,
        targetRevisionArn: revisionArn,
        deploymentConfiguration: service.deploymentConfiguration,
        circuitBreakerStatus: service.deploymentConfiguration.deploymentCircuitBreaker.enable
          ? 'MONITORING'
          : 'DISABLED',
        deployment,
      };
      deployment.serviceDeployment = sd;
      service.serviceDeployments.unshift(sd);
      if (service.serviceDeployments.length > 50) service.serviceDeployments.length = 50;
    }
    service.deployments.unshift(deployment);
    service.steady = false;
    this.event('deployment.started', {
      cluster: service.cluster.name,
      service: service.name,
      deploymentId: id,
      taskDefinition: taskDefinitionArn,
      rollback: rollback ? rollback.to.id : undefined,
    });
    return deployment;
  }

  updateService(
    service: ServiceRecord,
    changes: {
      taskDefinition?: TaskDefRecord;
      desiredCount?: number;
      forceNewDeployment?: boolean;
      deploymentConfiguration?: Partial<DeploymentConfiguration>;
      networkConfiguration?: ServiceRecord['networkConfiguration'];
      healthCheckGracePeriodSeconds?: number;
    },
  ): void {
    if (changes.deploymentConfiguration) {
      service.deploymentConfiguration = this.deploymentConfiguration(
        changes.deploymentConfiguration,
        service.deploymentConfiguration,
      );
    }
    if (changes.healthCheckGracePeriodSeconds !== undefined)
      service.healthCheckGracePeriodSeconds = changes.healthCheckGracePeriodSeconds;
    if (changes.desiredCount !== undefined && changes.desiredCount !== service.desiredCount) {
      service.desiredCount = changes.desiredCount;
      service.steady = false;
    }
    const networkChanged =
      changes.networkConfiguration !== undefined &&
      JSON.stringify(changes.networkConfiguration) !== JSON.stringify(service.networkConfiguration);
    if (changes.networkConfiguration) service.networkConfiguration = changes.networkConfiguration;
    const tdChanged =
      changes.taskDefinition !== undefined && changes.taskDefinition.arn !== service.taskDefinitionArn;
    if (changes.taskDefinition) service.taskDefinitionArn = changes.taskDefinition.arn;
    if (tdChanged || networkChanged || changes.forceNewDeployment) {
      this.startDeployment(service, service.taskDefinitionArn);
    }
    this.event('service.updated', {
      cluster: service.cluster.name,
      service: service.name,
      taskDefinition: service.taskDefinitionArn,
      desiredCount: service.desiredCount,
    });
    this.reconcile(service);
  }

  deleteService(service: ServiceRecord): void {
    service.status = 'DRAINING';
    service.desiredCount = 0;
    this.event('service.deleted', { cluster: service.cluster.name, service: service.name });
    this.reconcile(service);
  }

  // ---------------------------------------------------------------- service deployments

  /** StopServiceDeployment with stopType ROLLBACK. */
  requestRollback(sd: ServiceDeploymentRecord): void {
    if (sd.status === 'ROLLBACK_REQUESTED' || sd.status === 'ROLLBACK_IN_PROGRESS') return;
    const service = sd.service;
    const target = service.lastCompleted;
    const finished = ['SUCCESSFUL', 'STOPPED', 'ROLLBACK_SUCCESSFUL', 'ROLLBACK_FAILED'].includes(sd.status);
    if (finished) {
      throw new AwsError(
        'ConflictException',
        `The service deployment is ${sd.status} and can no longer be stopped.`,
      );
    }
    if (!target || target === sd.deployment || !service.deployments.includes(sd.deployment)) {
      throw new AwsError(
        'ConflictException',
        'The service deployment cannot be rolled back: there is no previous service revision.',
      );
    }
    sd.status = 'ROLLBACK_REQUESTED';
    sd.updatedAt = this.now();
    const failed = sd.deployment;
    failed.rolloutState = 'FAILED';
    failed.rolloutStateReason = `ECS deployment ${failed.id} stopped: rollback requested.`;
    this.deps.clock.after(this.deps.timing.schedulerTickMs, () => {
      if (service.status !== 'ACTIVE') return;
      this.rollback(service, failed, target, 'A user requested the rollback.');
    });
  }

  private rollback(
    service: ServiceRecord,
    failed: DeploymentRecord,
    to: DeploymentRecord,
    reason: string,
  ): void {
    const sd = failed.serviceDeployment;
    if (sd) {
      sd.status = 'ROLLBACK_IN_PROGRESS';
      sd.rollback = { reason, startedAt: this.now(), serviceRevisionArn: to.revisionArn };
      sd.updatedAt = this.now();
    }
    service.taskDefinitionArn = to.taskDefinitionArn;
    this.startDeployment(service, to.taskDefinitionArn, { of: failed, to, reason });
    this.reconcile(service);
  }

  // ---------------------------------------------------------------- tasks

  launchTask(
    cluster: ClusterRecord,
    td: TaskDefRecord,
    opts: {
      service?: ServiceRecord;
      deployment?: DeploymentRecord;
      steady?: boolean;
      launchType?: string;
      capacityProviderName?: string;
      subnet?: string;
      startedBy?: string;
      group?: string;
      overrides?: Record<string, unknown>;
      tags?: Tag[];
    } = {},
  ): TaskRecord {
    const id = this.deps.random.hex(32);
    const arn = this.arn(`task/${cluster.name}/${id}`);
    const service = opts.service;
    const overrides = opts.overrides ?? { containerOverrides: [], inferenceAcceleratorOverrides: [] };
    const task: TaskRecord = {
      arn,
      id,
      cluster,
      taskDef: td,
      service,
      deployment: opts.deployment,
      lastStatus: 'PROVISIONING',
      desiredStatus: 'RUNNING',
      createdAt: this.now(),
      containers: td.containers.map((def) => ({
        name: def.name,
        image: def.image,
        essential: def.essential,
        containerArn: this.arn(`container/${cluster.name}/${id}/${this.deps.random.uuid()}`),
        runtimeId: `${id}-${this.deps.random.digits(10)}`,
        lastStatus: 'PENDING',
        behaviour: imageBehaviour(this.deps.images, def.image),
        def,
      })),
      ip: this.nextIp(),
      subnet: opts.subnet ?? service?.networkConfiguration?.awsvpcConfiguration?.subnets?.[0],
      eniId: `eni-${this.deps.random.hex(17)}`,
      attachmentId: this.deps.random.uuid(),
      launchType: opts.launchType ?? service?.launchType ?? 'FARGATE',
      capacityProviderName: opts.capacityProviderName,
      group: opts.group ?? (service ? `service:${service.name}` : `family:${td.family}`),
      startedBy: opts.startedBy ?? opts.deployment?.id,
      overrides,
      tags: opts.tags ?? [],
      version: 1,
      healthy: false,
      targets: [],
      failed: false,
      timers: [],
    };
    cluster.tasks.set(arn, task);
    this.event('task.provisioning', this.taskDetail(task));
    // The scheduler reports a task as started when it places it, not when it runs.
    if (service && !opts.steady)
      this.serviceEvent(service, `(service ${service.name}) has started 1 tasks: (task ${id}).`);
    if (opts.steady) {
      const t = this.now();
      Object.assign(task, { pullStartedAt: t, pullStoppedAt: t, startedAt: t, connectivityAt: t });
      this.setRunning(task, true);
    } else {
      this.after(task, this.phase(this.deps.timing.provisionMs), () => this.setPending(task));
    }
    return task;
  }

  private taskDetail(task: TaskRecord, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      cluster: task.cluster.name,
      service: task.service?.name,
      deploymentId: task.deployment?.id,
      taskArn: task.arn,
      taskDefinition: task.taskDef.arn,
      lastStatus: task.lastStatus,
      ...extra,
    };
  }

  private setStatus(task: TaskRecord, status: string, extra: Record<string, unknown> = {}): void {
    task.lastStatus = status;
    task.version += 1;
    this.event(`task.${status.toLowerCase()}`, this.taskDetail(task, extra));
  }

  private setPending(task: TaskRecord): void {
    if (task.desiredStatus !== 'RUNNING') return;
    task.connectivityAt = this.now();
    task.pullStartedAt = this.now();
    this.setStatus(task, 'PENDING');
    const pullMs = Math.max(...task.containers.map((c) => c.behaviour.pullMs ?? this.deps.timing.pullMs));
    this.after(task, this.phase(pullMs), () => this.afterPull(task));
  }

  private afterPull(task: TaskRecord): void {
    if (task.desiredStatus !== 'RUNNING') return;
    const unpullable = task.containers.find((c) => c.behaviour.start === 'pull-error');
    if (unpullable) {
      const reason =
        unpullable.behaviour.reason ??
        `CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to resolve ref ${unpullable.image}: not found`;
      for (const c of task.containers) {
        c.lastStatus = 'STOPPED';
        if (c === unpullable) c.reason = reason;
      }
      this.stopTask(task, 'TaskFailedToStart', reason, { failure: true });
      return;
    }
    task.pullStoppedAt = this.now();
    // `oneOff` says how the image runs as a one-off task (RunTask overrides the
    // command, e.g. a migration): it wins over how the server starts.
    const crashing = task.containers.find(
      (c) =>
        c.essential && c.behaviour.start === 'crash' && !(task.service === undefined && c.behaviour.oneOff),
    );
    if (crashing) {
      // The container starts, writes its lines, and exits: the task never serves.
      task.startedAt = this.now();
      for (const c of task.containers) c.lastStatus = 'RUNNING';
      this.setStatus(task, 'RUNNING');
      this.writeLines(task, crashing, crashing.behaviour.logLines ?? [], CRASH_AT_START_MS * 0.8);
      this.after(task, CRASH_AT_START_MS, () =>
        this.containerExited(task, crashing, crashing.behaviour.exitCode ?? 1, crashing.behaviour.reason),
      );
      return;
    }
    task.startedAt = this.now();
    this.setRunning(task, false);
  }

  private setRunning(task: TaskRecord, steady: boolean): void {
    for (const c of task.containers) c.lastStatus = 'RUNNING';
    this.setStatus(task, 'RUNNING');
    const service = task.service;
    if (service) {
      for (const c of task.containers) {
        if (c.behaviour.logLines?.length) this.writeLines(task, c, c.behaviour.logLines, 2000);
        if (c.behaviour.crashAfterMs !== undefined && c.essential) {
          this.after(task, c.behaviour.crashAfterMs, () =>
            this.containerExited(task, c, c.behaviour.exitCode ?? 1, c.behaviour.reason),
          );
        }
      }
      this.registerTargets(task, steady);
    } else {
      this.runOneOff(task);
    }
  }

  /**
   * A one-off task (RunTask): each container writes its lines over the run;
   * non-essential containers end halfway, essential ones together at the end,
   * each with its own exit code.
   */
  private runOneOff(task: TaskRecord): void {
    const lead = task.containers.find((c) => c.essential) ?? task.containers[0];
    const taskOneOff = lead.behaviour.oneOff ?? {};
    const duration = taskOneOff.durationMs ?? ONE_OFF_DEFAULT_MS;
    const outcome = (c: ContainerRecord) => {
      const oneOff = c.behaviour.oneOff ?? taskOneOff;
      const own = oneOff.containers?.[c.name] ?? taskOneOff.containers?.[c.name];
      return {
        lines: own?.logLines ?? oneOff.logLines ?? [],
        exitCode: own?.exitCode ?? oneOff.exitCode ?? 0,
        reason: own?.reason,
      };
    };
    for (const c of task.containers) {
      const { lines, exitCode, reason } = outcome(c);
      const ends = c.essential ? duration : Math.round(duration / 2);
      this.writeLines(task, c, lines, ends * 0.9);
      if (!c.essential) this.after(task, ends, () => this.containerExited(task, c, exitCode, reason));
    }
    this.after(task, duration, () => {
      for (const c of task.containers.filter((x) => x.essential)) {
        const { exitCode, reason } = outcome(c);
        this.recordExit(task, c, exitCode, reason);
      }
      this.stopTask(task, 'EssentialContainerExited', 'Essential container in task exited');
    });
  }

  /** Writes lines to the container's awslogs stream, spread over `spreadMs` from now. */
  private writeLines(task: TaskRecord, container: ContainerRecord, lines: string[], spreadMs: number): void {
    const log = container.def.logConfiguration;
    if (log?.logDriver !== 'awslogs' || !log.options?.['awslogs-group']) return;
    const group = log.options['awslogs-group'];
    const prefix = log.options['awslogs-stream-prefix'];
    const stream = prefix ? `${prefix}/${container.name}/${task.id}` : task.id;
    lines.forEach((line, i) => {
      const at = lines.length === 1 ? 0 : Math.round((spreadMs * i) / lines.length);
      this.after(task, at, () => this.deps.logs.write(group, stream, line));
    });
  }

  private recordExit(task: TaskRecord, container: ContainerRecord, exitCode: number, reason?: string): void {
    container.lastStatus = 'STOPPED';
    container.exitCode = exitCode;
    if (reason) container.reason = reason;
    this.event('container.exited', this.taskDetail(task, { container: container.name, exitCode }));
  }

  /** A container exits on its own; an essential one stops its task (a service counts it as a failed task). */
  private containerExited(
    task: TaskRecord,
    container: ContainerRecord,
    exitCode: number,
    reason?: string,
  ): void {
    if (container.lastStatus === 'STOPPED') return;
    this.recordExit(task, container, exitCode, reason);
    if (task.desiredStatus !== 'RUNNING' || !container.essential) return;
    this.stopTask(task, 'EssentialContainerExited', 'Essential container in task exited', {
      failure: !!task.service || exitCode !== 0,
    });
  }

  private registerTargets(task: TaskRecord, healthy: boolean): void {
    const service = task.service!;
    const registrations: { tg: TargetGroupRecord; container: ContainerRecord; port: number }[] = [];
    for (const lb of service.loadBalancers) {
      const tg = this.deps.elb.targetGroups.get(lb.targetGroupArn);
      const container = task.containers.find((c) => c.name === lb.containerName);
      if (tg && container) registrations.push({ tg, container, port: lb.containerPort });
    }
    // Known before registering: health changes arrive while the targets register.
    task.targets = registrations.map(({ tg, port }) => ({ targetGroup: tg, port }));
    task.healthy = registrations.length === 0 || healthy;
    if (registrations.length === 0) this.taskHealthy(task);
    for (const { tg, container, port } of registrations) {
      this.deps.elb.register(
        tg,
        {
          id: task.ip,
          port,
          taskArn: task.arn,
          taskDefinitionArn: task.taskDef.arn,
          image: container.image,
          serviceName: service.name,
          containerName: container.name,
          behaviour: container.behaviour,
        },
        healthy,
      );
      if (!healthy)
        this.serviceEvent(
          service,
          `(service ${service.name}) registered 1 targets in (target-group ${tg.arn})`,
        );
    }
  }

  private onTargetHealth(tg: TargetGroupRecord, target: TargetRecord): void {
    const task = this.findTask(target.taskArn);
    if (!task || task.desiredStatus !== 'RUNNING' || !task.service || task.targets.length === 0) return;
    const service = task.service;
    task.healthy = task.targets.every(
      (t) => t.targetGroup.targets.get(`${task.ip}:${t.port}`)?.state === 'healthy',
    );
    if (target.state === 'unhealthy') {
      this.serviceEvent(
        service,
        `(service ${service.name}) (port ${target.port}) is unhealthy in (target-group ${tg.arn}) due to (reason ${target.description}).`,
      );
      this.stopIfUnhealthy(task, tg);
    }
    if (task.healthy) {
      this.taskHealthy(task);
      this.reconcile(service);
    }
  }

  /** A task of a deployment is successfully running: its failure count resets and stops being evaluated. */
  private taskHealthy(task: TaskRecord): void {
    const deployment = task.deployment;
    const breaker = task.service?.deploymentConfiguration.deploymentCircuitBreaker;
    if (!deployment || !deployment.failuresEvaluated || breaker?.resetOnHealthyTask === false) return;
    deployment.failedTasks = 0;
    deployment.failuresEvaluated = false;
    const sd = deployment.serviceDeployment;
    if (sd?.circuitBreakerStatus === 'MONITORING' && sd.deployment === deployment)
      sd.circuitBreakerStatus = 'MONITORING_COMPLETE';
  }

  /** ECS replaces a task that fails ELB health checks, once its grace period is over. */
  private stopIfUnhealthy(task: TaskRecord, tg: TargetGroupRecord): void {
    const service = task.service!;
    const graceEnds =
      (task.startedAt ?? task.createdAt) + (service.healthCheckGracePeriodSeconds ?? 0) * 1000;
    const wait = graceEnds - this.now();
    if (wait > 0) {
      this.after(task, wait, () => {
        const target = tg.targets.get(`${task.ip}:${task.targets.find((t) => t.targetGroup === tg)?.port}`);
        if (task.desiredStatus === 'RUNNING' && target?.state === 'unhealthy') this.stopIfUnhealthy(task, tg);
      });
      return;
    }
    this.stopTask(
      task,
      'ServiceSchedulerInitiated',
      `Task failed ELB health checks in (target-group ${tg.arn})`,
      { failure: true },
    );
  }

  findTask(arn: string): TaskRecord | undefined {
    for (const cluster of this.clusters.values()) {
      const task = cluster.tasks.get(arn);
      if (task) return task;
    }
    return undefined;
  }

  /**
   * Stops a task: DEACTIVATING while its targets drain (deregistration
   * delay), then STOPPING, then STOPPED.
   */
  stopTask(task: TaskRecord, stopCode: string, reason: string, opts: { failure?: boolean } = {}): void {
    if (task.desiredStatus === 'STOPPED') return;
    for (const cancel of task.timers.splice(0)) cancel();
    task.desiredStatus = 'STOPPED';
    task.stopCode = stopCode;
    task.stoppedReason = reason;
    task.stoppingAt = this.now();
    task.healthy = false;
    task.version += 1;
    const service = task.service;
    const deployment = task.deployment;
    if (opts.failure && deployment && service && !task.failed && deployment.failuresEvaluated) {
      task.failed = true;
      deployment.failedTasks += 1;
      deployment.updatedAt = this.now();
      this.checkCircuitBreaker(service, deployment);
    }
    if (service) service.steady = false;
    this.event('task.stop-requested', this.taskDetail(task, { stopCode, stoppedReason: reason }));
    const draining = task.targets.filter((t) => t.targetGroup.targets.has(`${task.ip}:${t.port}`));
    if (draining.length > 0 && task.lastStatus === 'RUNNING') {
      this.setStatus(task, 'DEACTIVATING');
      if (service)
        this.serviceEvent(service, `(service ${service.name}) has begun draining connections on 1 tasks.`);
      let remaining = draining.length;
      for (const { targetGroup, port } of draining) {
        if (service)
          this.serviceEvent(
            service,
            `(service ${service.name}) deregistered 1 targets in (target-group ${targetGroup.arn})`,
          );
        this.deps.elb.deregister(targetGroup, task.ip, port, () => {
          remaining -= 1;
          if (remaining === 0) this.setStopping(task);
        });
      }
    } else {
      this.setStopping(task);
    }
  }

  private setStopping(task: TaskRecord): void {
    // A task stopped before it had a network interface has nothing to tear down.
    const delay = task.lastStatus === 'PROVISIONING' ? 0 : this.phase(this.deps.timing.stopMs);
    this.setStatus(task, 'STOPPING');
    this.deps.clock.after(delay, () => {
      const now = this.now();
      for (const c of task.containers) {
        if (c.lastStatus === 'RUNNING') {
          c.exitCode = SIGTERM_EXIT;
          c.lastStatus = 'STOPPED';
        } else if (c.lastStatus === 'PENDING') {
          c.lastStatus = 'STOPPED';
        }
      }
      task.executionStoppedAt = now;
      task.stoppedAt = now;
      this.setStatus(task, 'STOPPED', { stopCode: task.stopCode, stoppedReason: task.stoppedReason });
      if (task.service && task.stopCode === 'ServiceSchedulerInitiated' && task.startedAt) {
        this.serviceEvent(
          task.service,
          `(service ${task.service.name}) has stopped 1 running tasks: (task ${task.id}).`,
        );
      }
      const cluster = task.cluster;
      cluster.stoppedOrder.push(task.arn);
      while (cluster.stoppedOrder.length > MAX_STOPPED_TASKS)
        cluster.tasks.delete(cluster.stoppedOrder.shift()!);
      if (task.service) this.reconcile(task.service);
    });
  }

  // ---------------------------------------------------------------- scheduler

  private checkCircuitBreaker(service: ServiceRecord, deployment: DeploymentRecord): void {
    const breaker = service.deploymentConfiguration.deploymentCircuitBreaker;
    if (!breaker.enable || deployment.rolloutState !== 'IN_PROGRESS' || deployment.status !== 'PRIMARY')
      return;
    const threshold = circuitBreakerThreshold(service.desiredCount, breaker.thresholdConfiguration);
    if (deployment.failedTasks < threshold) return;
    deployment.rolloutState = 'FAILED';
    deployment.rolloutStateReason = 'ECS deployment circuit breaker: tasks failed to start.';
    deployment.updatedAt = this.now();
    this.serviceEvent(
      service,
      `(service ${service.name}) (deployment ${deployment.id}) deployment failed: tasks failed to start.`,
    );
    this.event('deployment.failed', {
      cluster: service.cluster.name,
      service: service.name,
      deploymentId: deployment.id,
    });
    const sd = deployment.serviceDeployment;
    if (sd) {
      sd.circuitBreakerStatus = 'TRIGGERED';
      sd.updatedAt = this.now();
    }
    const target = service.lastCompleted;
    if (deployment.rollbackOf) {
      // A rollback that fails too: nothing older to go back to.
      if (sd)
        Object.assign(sd, {
          status: 'ROLLBACK_FAILED',
          statusReason: 'The rollback failed: tasks failed to start.',
          finishedAt: this.now(),
        });
      for (const task of this.liveTasks(service).filter((t) => t.deployment === deployment)) {
        this.stopTask(
          task,
          'ServiceSchedulerInitiated',
          `Scaling activity initiated by (deployment ${deployment.id})`,
        );
      }
      return;
    }
    if (breaker.rollback && target && target !== deployment) {
      this.rollback(service, deployment, target, 'Circuit Breaker triggered the rollback.');
    } else if (sd) {
      Object.assign(sd, {
        status: 'STOPPED',
        statusReason: 'ECS deployment circuit breaker: tasks failed to start.',
        stoppedAt: this.now(),
        finishedAt: this.now(),
      });
    }
  }

  liveTasks(service: ServiceRecord): TaskRecord[] {
    const out: TaskRecord[] = [];
    for (const task of service.cluster.tasks.values()) {
      if (task.service === service && task.desiredStatus === 'RUNNING') out.push(task);
    }
    return out;
  }

  private reconcileAll(): void {
    for (const cluster of this.clusters.values()) {
      for (const service of cluster.services.values()) this.reconcile(service);
    }
  }

  /** One pass of the service scheduler over a service. */
  reconcile(service: ServiceRecord): void {
    if (service.status === 'INACTIVE' || this.loading) return;
    const live = this.liveTasks(service);
    if (service.status === 'DRAINING') {
      for (const task of live) this.stopTask(task, 'ServiceSchedulerInitiated', 'Service deleted');
      const remaining = [...service.cluster.tasks.values()].some(
        (t) => t.service === service && t.lastStatus !== 'STOPPED',
      );
      if (!remaining) {
        service.status = 'INACTIVE';
        service.deployments = [];
        this.event('service.inactive', { cluster: service.cluster.name, service: service.name });
      }
      return;
    }
    const primary = service.deployments[0];
    if (!primary) return;
    const desired = service.desiredCount;
    primary.desiredCount = desired;
    const { minimumHealthyPercent, maximumPercent } = service.deploymentConfiguration;
    const maxTotal = Math.max(Math.floor((desired * maximumPercent) / 100), 1);
    const minHealthy = Math.ceil((desired * minimumHealthyPercent) / 100);
    const counts = (t: TaskRecord) => t.lastStatus === 'RUNNING' && t.healthy;
    const primaryLive = live.filter((t) => t.deployment === primary);
    const oldLive = live.filter((t) => t.deployment !== primary);
    const scaling = `Scaling activity initiated by (deployment ${primary.id})`;

    // Scale the primary in when it has more than desired (tasks not yet healthy first).
    if (primaryLive.length > desired) {
      const extra = [...primaryLive]
        .sort((a, b) => Number(counts(a)) - Number(counts(b)))
        .slice(0, primaryLive.length - desired);
      for (const task of extra) this.stopTask(task, 'ServiceSchedulerInitiated', scaling);
    }

    // Start the primary's missing tasks within maximumPercent. A FAILED deployment starts none.
    if (primary.rolloutState !== 'FAILED') {
      const total = this.liveTasks(service).length;
      const toStart = Math.min(desired - primaryLive.length, maxTotal - total);
      if (toStart > 0) {
        const td = this.findTaskDefinition(primary.taskDefinitionArn)!;
        for (let i = 0; i < toStart; i++)
          this.launchTask(service.cluster, td, { service, deployment: primary });
      }
    }

    // Stop old tasks while the healthy count stays at or above minimumHealthyPercent.
    // When the primary FAILED without a rollback, the older deployment keeps its tasks.
    if (primary.rolloutState !== 'FAILED') {
      let healthy = this.liveTasks(service).filter(counts).length;
      const ordered = [...oldLive].sort((a, b) => Number(counts(a)) - Number(counts(b)));
      for (const task of ordered) {
        if (!counts(task)) {
          this.stopTask(task, 'ServiceSchedulerInitiated', scaling);
        } else if (healthy - 1 >= minHealthy) {
          this.stopTask(task, 'ServiceSchedulerInitiated', scaling);
          healthy -= 1;
        }
      }
    }

    const others = [...service.cluster.tasks.values()].some(
      (t) => t.service === service && t.deployment !== primary && t.lastStatus !== 'STOPPED',
    );
    const primaryHealthy = this.liveTasks(service).filter(
      (t) => t.deployment === primary && counts(t),
    ).length;
    const primaryCount = this.liveTasks(service).filter((t) => t.deployment === primary).length;
    if (
      primary.rolloutState === 'IN_PROGRESS' &&
      primaryHealthy === desired &&
      primaryCount === desired &&
      !others
    ) {
      this.completeDeployment(service, primary);
    } else if (
      primary.rolloutState === 'COMPLETED' &&
      !service.steady &&
      primaryHealthy === desired &&
      primaryCount === desired &&
      !others
    ) {
      service.steady = true;
      this.serviceEvent(service, `(service ${service.name}) has reached a steady state.`);
      this.event('service.steady', {
        cluster: service.cluster.name,
        service: service.name,
        deploymentId: primary.id,
      });
    }
  }

  private completeDeployment(service: ServiceRecord, deployment: DeploymentRecord): void {
    const now = this.now();
    deployment.rolloutState = 'COMPLETED';
    deployment.rolloutStateReason = `ECS deployment ${deployment.id} completed.`;
    deployment.updatedAt = now;
    for (const other of service.deployments) if (other !== deployment) other.status = 'INACTIVE';
    service.deployments = [deployment];
    service.lastCompleted = deployment;
    const sd = deployment.serviceDeployment;
    if (sd) {
      sd.status = deployment.rollbackOf ? 'ROLLBACK_SUCCESSFUL' : 'SUCCESSFUL';
      sd.statusReason = undefined;
      sd.finishedAt = now;
      sd.updatedAt = now;
      if (sd.circuitBreakerStatus === 'MONITORING') sd.circuitBreakerStatus = 'MONITORING_COMPLETE';
    }
    this.event('deployment.completed', {
      cluster: service.cluster.name,
      service: service.name,
      deploymentId: deployment.id,
      taskDefinition: deployment.taskDefinitionArn,
      rollback: deployment.rollbackOf ? true : undefined,
    });
    if (!service.steady) {
      this.serviceEvent(
        service,
        `(service ${service.name}) (deployment ${deployment.id}) deployment completed.`,
      );
      this.serviceEvent(service, `(service ${service.name}) has reached a steady state.`);
      this.event('service.steady', {
        cluster: service.cluster.name,
        service: service.name,
        deploymentId: deployment.id,
      });
    }
    service.steady = true;
  }

  /** Running/pending counts of one deployment (or all when omitted). */
  countTasks(service: ServiceRecord, deployment?: DeploymentRecord): { running: number; pending: number } {
    let running = 0;
    let pending = 0;
    for (const task of service.cluster.tasks.values()) {
      if (task.service !== service || task.desiredStatus !== 'RUNNING') continue;
      if (deployment && task.deployment !== deployment) continue;
      if (task.lastStatus === 'RUNNING') running += 1;
      else if (task.lastStatus === 'PENDING' || task.lastStatus === 'PROVISIONING') pending += 1;
    }
    return { running, pending };
  }
}
