/**
 * The ECS control plane as the scheduler runs it: what the API layer
 * (sim/services/ecs.ts) calls. That layer only parses requests and shapes
 * replies; every state change happens behind this facade, in one module per
 * seam:
 *
 *   records.ts           the record types (clusters, task definitions, services, deployments, tasks)
 *   store.ts             the records of one account, lookups, ARNs, task-definition registration
 *   timers.ts            the simulated clock, phase durations with jitter, task-owned timers
 *   tasks.ts             a task's lifecycle, its containers' exits and logs
 *   task-targets.ts      a service task's targets: registration, health, replacement when unhealthy
 *   deployments.ts       new deployments, service revisions and service deployments, completion
 *   circuit-breaker.ts   failed-task counting, the breaker, rollbacks
 *   service-scheduler.ts the rolling update: one pass over a service
 *
 * Services are created, updated and deleted here: each is a step across those seams.
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
import type { SimClock, SimRandom } from '../clock.js';
import type { ElbEngine } from '../elb-engine.js';
import type { LogsStore } from '../logs-store.js';
import type { ClusterSpec, ImageBehaviour, Scenario, ServiceSpec, Timing } from '../scenario.js';
import { AwsError } from '../service.js';
import { BlueGreenDeployments, isBlueGreen } from './blue-green.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { LambdaRuntime } from '../lambda.js';
import { deploymentConfiguration, Deployments } from './deployments.js';
import type {
  ClusterRecord,
  DeploymentConfiguration,
  DeploymentRecord,
  ServiceDeploymentRecord,
  ServiceLoadBalancer,
  ServiceRecord,
  Tag,
  TaskDefRecord,
  TaskRecord,
} from './records.js';
import { ServiceScheduler } from './service-scheduler.js';
import { EcsStore } from './store.js';
import { TaskLifecycle, type LaunchOptions } from './tasks.js';
import { Timers } from './timers.js';

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

export interface CreateServiceOptions {
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
  /** Loaded from a scenario: already running its desired count, healthy, deployment completed. */
  steady?: boolean;
}

export interface ServiceChanges {
  taskDefinition?: TaskDefRecord;
  desiredCount?: number;
  forceNewDeployment?: boolean;
  deploymentConfiguration?: Partial<DeploymentConfiguration>;
  networkConfiguration?: ServiceRecord['networkConfiguration'];
  healthCheckGracePeriodSeconds?: number;
  /** UpdateService loadBalancers: replaces the service's (a new deployment starts). */
  loadBalancers?: ServiceLoadBalancer[];
}

export class EcsEngine {
  private readonly store: EcsStore;
  private readonly timers: Timers;
  private readonly tasks: TaskLifecycle;
  private readonly deployments: Deployments;
  private readonly scheduler: ServiceScheduler;
  private readonly breaker: CircuitBreaker;
  private readonly blueGreen: BlueGreenDeployments;
  /** The scenario's Lambda functions, which lifecycle hooks invoke (sim/lambda.ts). */
  readonly lambda: LambdaRuntime;

  constructor(private readonly deps: EngineDeps) {
    const { clock, random, elb } = deps;
    const { region, accountId, event } = deps;
    this.store = new EcsStore({ region, accountId, random, now: () => clock.now(), event });
    this.timers = new Timers(clock, random, deps.timing);
    // The lifecycle reports what its tasks do; the breaker and the scheduler act on tasks in turn.
    this.tasks = new TaskLifecycle({
      store: this.store,
      timers: this.timers,
      random,
      elb,
      logs: deps.logs,
      images: deps.images,
      hooks: {
        taskFailed: (task) => this.breaker.taskFailed(task),
        taskHealthy: (task) => this.breaker.taskHealthy(task),
        reconcile: (service) => this.scheduler.reconcile(service),
      },
    });
    this.deployments = new Deployments(this.store, this.timers, random);
    this.lambda = new LambdaRuntime({ region, accountId, event });
    this.blueGreen = new BlueGreenDeployments({
      store: this.store,
      timers: this.timers,
      elb,
      deployments: this.deployments,
      hooks: this.lambda,
      random,
      stopTask: (task, stopCode, reason) => this.tasks.stopTask(task, stopCode, reason),
      launchGreen: (service, deployment, count) => {
        const td = this.store.findTaskDefinition(deployment.taskDefinitionArn)!;
        for (let i = 0; i < count; i++) this.tasks.launchTask(service.cluster, td, { service, deployment });
      },
      reconcile: (service) => this.scheduler.reconcile(service),
    });
    this.scheduler = new ServiceScheduler(this.store, this.tasks, this.deployments, this.blueGreen);
    this.breaker = new CircuitBreaker({
      blueGreen: this.blueGreen,
      store: this.store,
      timers: this.timers,
      deployments: this.deployments,
      tasks: this.tasks,
      scheduler: this.scheduler,
    });
    this.timers.every(deps.timing.schedulerTickMs, () => this.scheduler.reconcileAll());
  }

  get clusters(): Map<string, ClusterRecord> {
    return this.store.clusters;
  }

  /** family -> revisions, index revision - 1. */
  get taskDefinitions(): Map<string, TaskDefRecord[]> {
    return this.store.taskDefinitions;
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

  /** Simulated time, epoch milliseconds. */
  now(): number {
    return this.timers.now();
  }

  arn(resource: string): string {
    return this.store.arn(resource);
  }

  // ---------------------------------------------------------------- load

  /**
   * The scenario's clusters, task definitions, and services already steady.
   * What is loaded has a past: it was registered and deployed `historyMs`
   * (default one day) before the load, so a client starting right after the
   * load never sees a "previous" deployment made an instant before its own.
   */
  load(scenario: Scenario): void {
    this.lambda.load(scenario.lambdaFunctions ?? []);
    const loadedTaskDefinitions: TaskDefRecord[] = [];
    for (const spec of scenario.clusters) this.store.addCluster(spec);
    for (const spec of scenario.taskDefinitions) {
      const { tags, ...request } = spec as { tags?: Tag[] } & Record<string, unknown>;
      loadedTaskDefinitions.push(this.store.registerTaskDefinition(request, tags ?? []));
    }
    const services: ServiceRecord[] = [];
    this.scheduler.pausedWhile(() => {
      for (const spec of scenario.services ?? []) services.push(this.loadSteadyService(spec));
    });
    backdate(scenario.historyMs ?? LOADED_HISTORY_MS, loadedTaskDefinitions, services);
  }

  private loadSteadyService(spec: ServiceSpec): ServiceRecord {
    const cluster = this.store.cluster(spec.cluster);
    const loadBalancers = (spec.loadBalancers ?? []).map((lb) => {
      const tg = this.targetGroupOf(spec.name, lb.targetGroup);
      const advanced = lb.advancedConfiguration;
      return {
        targetGroupArn: tg,
        containerName: lb.containerName,
        containerPort: lb.containerPort,
        advancedConfiguration: advanced && {
          alternateTargetGroupArn: this.targetGroupOf(spec.name, advanced.alternateTargetGroup),
          productionListenerRule:
            advanced.productionListenerRule && this.deps.elb.ruleArnOf(advanced.productionListenerRule),
          testListenerRule: advanced.testListenerRule && this.deps.elb.ruleArnOf(advanced.testListenerRule),
          roleArn: advanced.roleArn,
        },
      };
    });
    const service = this.createService(cluster, {
      name: spec.name,
      taskDefinition: spec.taskDefinition,
      desiredCount: spec.desiredCount,
      launchType: spec.capacityProviderStrategy ? undefined : (spec.launchType ?? 'FARGATE'),
      capacityProviderStrategy: spec.capacityProviderStrategy,
      loadBalancers,
      networkConfiguration: spec.networkConfiguration,
      deploymentConfiguration: spec.deploymentConfiguration,
      healthCheckGracePeriodSeconds: spec.healthCheckGracePeriodSeconds,
      serviceDeployments: spec.serviceDeployments ?? true,
      tags: spec.tags ?? [],
      propagateTags: spec.propagateTags,
      enableECSManagedTags: spec.enableECSManagedTags,
      steady: true,
    });
    service.steady = true;
    return service;
  }

  /** A target group a scenario service names (by name or ARN), as its ARN. */
  private targetGroupOf(service: string, ref: string): string {
    const tg = this.deps.elb.targetGroups.get(ref) ?? this.deps.elb.targetGroupByName(ref);
    if (!tg) throw new Error(`scenario: service ${service} uses unknown target group ${ref}`);
    return tg.arn;
  }

  // ---------------------------------------------------------------- records

  /** A cluster created after the load (a CloudFormation change set, sim/cfn). */
  addCluster(spec: ClusterSpec): ClusterRecord {
    this.store.addCluster(spec);
    return this.store.cluster(spec.name);
  }

  cluster(ref?: string): ClusterRecord {
    return this.store.cluster(ref);
  }

  findTaskDefinition(ref: string): TaskDefRecord | undefined {
    return this.store.findTaskDefinition(ref);
  }

  registerTaskDefinition(request: Record<string, unknown>, tags: Tag[]): TaskDefRecord {
    return this.store.registerTaskDefinition(request, tags);
  }

  deregisterTaskDefinition(td: TaskDefRecord): void {
    this.store.deregisterTaskDefinition(td);
  }

  /** Running/pending counts of one deployment (or all when omitted). */
  countTasks(service: ServiceRecord, deployment?: DeploymentRecord): { running: number; pending: number } {
    return this.store.countTasks(service, deployment);
  }

  // ---------------------------------------------------------------- services

  createService(cluster: ClusterRecord, opts: CreateServiceOptions): ServiceRecord {
    const td = this.store.findTaskDefinition(opts.taskDefinition);
    if (!td) throw new AwsError('ClientException', 'TaskDefinition not found.');
    const service: ServiceRecord = {
      arn: this.store.arn(`service/${cluster.name}/${opts.name}`),
      name: opts.name,
      cluster,
      status: 'ACTIVE',
      desiredCount: opts.desiredCount,
      taskDefinitionArn: td.arn,
      launchType: opts.launchType,
      capacityProviderStrategy: opts.capacityProviderStrategy,
      loadBalancers: opts.loadBalancers,
      networkConfiguration: opts.networkConfiguration,
      deploymentConfiguration: deploymentConfiguration(opts.deploymentConfiguration),
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
    const deployment = this.deployments.start(service, td.arn);
    this.store.event('service.created', {
      cluster: cluster.name,
      service: service.name,
      taskDefinition: td.arn,
    });
    if (opts.steady) {
      for (let i = 0; i < service.desiredCount; i++)
        this.tasks.launchTask(cluster, td, { service, deployment, steady: true });
      this.deployments.complete(service, deployment);
    }
    return service;
  }

  /** Applies UpdateService; a new task definition, network configuration or forceNewDeployment starts a deployment. */
  updateService(service: ServiceRecord, changes: ServiceChanges): void {
    if (changes.deploymentConfiguration) {
      service.deploymentConfiguration = deploymentConfiguration(
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
    const lbChanged =
      changes.loadBalancers !== undefined &&
      JSON.stringify(changes.loadBalancers) !== JSON.stringify(service.loadBalancers);
    if (changes.loadBalancers) service.loadBalancers = changes.loadBalancers;
    if (tdChanged || networkChanged || changes.forceNewDeployment || lbChanged) {
      const deployment = this.deployments.start(service, service.taskDefinitionArn);
      if (isBlueGreen(service)) this.blueGreen.begin(service, deployment);
    }
    this.store.event('service.updated', {
      cluster: service.cluster.name,
      service: service.name,
      taskDefinition: service.taskDefinitionArn,
      desiredCount: service.desiredCount,
    });
    this.scheduler.reconcile(service);
  }

  /** DeleteService: the service drains its tasks, then becomes INACTIVE. */
  deleteService(service: ServiceRecord): void {
    service.status = 'DRAINING';
    service.desiredCount = 0;
    this.store.event('service.deleted', { cluster: service.cluster.name, service: service.name });
    this.scheduler.reconcile(service);
  }

  /** One pass of the service scheduler over a service. */
  reconcile(service: ServiceRecord): void {
    this.scheduler.reconcile(service);
  }

  /** ContinueServiceDeployment: a PAUSE hook awaiting action continues or rolls back. */
  continueDeployment(sd: ServiceDeploymentRecord, hookId: string, action: 'CONTINUE' | 'ROLLBACK'): void {
    this.blueGreen.continueDeployment(sd, hookId, action);
  }

  /** StopServiceDeployment with stopType ROLLBACK. */
  requestRollback(sd: ServiceDeploymentRecord): void {
    this.breaker.requestRollback(sd);
  }

  // ---------------------------------------------------------------- tasks

  launchTask(cluster: ClusterRecord, td: TaskDefRecord, opts: LaunchOptions = {}): TaskRecord {
    return this.tasks.launchTask(cluster, td, opts);
  }

  /**
   * Stops a task: DEACTIVATING while its targets drain (deregistration
   * delay), then STOPPING, then STOPPED.
   */
  stopTask(task: TaskRecord, stopCode: string, reason: string, opts: { failure?: boolean } = {}): void {
    this.tasks.stopTask(task, stopCode, reason, opts);
  }
}

/** How long before the load a loaded world was deployed, unless the scenario says (Scenario.historyMs). */
export const LOADED_HISTORY_MS = 24 * 60 * 60 * 1000;

/** Moves every timestamp of what a load created `ms` into the past (records are created at the load instant). */
function backdate(ms: number, taskDefinitions: TaskDefRecord[], services: ServiceRecord[]): void {
  if (ms <= 0) return;
  const shift = <T extends object>(record: T, keys: (keyof T)[]) => {
    for (const key of keys) {
      const value = record[key];
      if (typeof value === 'number') (record[key] as number) = value - ms;
      else if (value instanceof Date) (record[key] as Date) = new Date(value.getTime() - ms);
    }
  };
  for (const td of taskDefinitions) shift(td.body as { registeredAt?: Date }, ['registeredAt']);
  for (const service of services) {
    shift(service, ['createdAt']);
    for (const event of service.events) shift(event, ['createdAt']);
    for (const deployment of service.deployments) shift(deployment, ['createdAt', 'updatedAt']);
    for (const sd of service.serviceDeployments)
      shift(sd, ['createdAt', 'startedAt', 'updatedAt', 'finishedAt']);
    for (const revision of service.revisions.values()) shift(revision, ['createdAt']);
    for (const task of service.cluster.tasks.values()) {
      if (task.service !== service) continue;
      shift(task, ['createdAt', 'pullStartedAt', 'pullStoppedAt', 'startedAt', 'connectivityAt']);
    }
  }
}
