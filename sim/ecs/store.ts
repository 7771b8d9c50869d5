/**
 * The ECS records of one account and their lookups: clusters (with their
 * services and tasks), task definitions by family and revision, ARNs, the
 * service event list and the ground-truth event log. Registering a task
 * definition lives here: it only makes a record, as ECS fills it in.
 */
import type { SimRandom } from '../clock.js';
import type { ClusterSpec } from '../scenario.js';
import { AwsError } from '../service.js';
import {
  nameOf,
  type ClusterRecord,
  type ContainerDef,
  type DeploymentRecord,
  type ServiceRecord,
  type Tag,
  type TaskDefRecord,
  type TaskRecord,
} from './records.js';

/** Service events kept per service (DescribeServices returns the latest 100). */
const MAX_SERVICE_EVENTS = 100;
/** Stopped tasks kept per cluster (ECS keeps them visible for about an hour). */
const MAX_STOPPED_TASKS = 500;

export interface StoreDeps {
  region: string;
  accountId: string;
  random: SimRandom;
  /** Simulated time, epoch milliseconds. */
  now(): number;
  /** Records a ground-truth state change (GET /_sim/events). */
  event(kind: string, detail: Record<string, unknown>): void;
}

export class EcsStore {
  readonly clusters = new Map<string, ClusterRecord>();
  /** family -> revisions, index revision - 1. */
  readonly taskDefinitions = new Map<string, TaskDefRecord[]>();

  constructor(private readonly deps: StoreDeps) {}

  get region(): string {
    return this.deps.region;
  }

  get accountId(): string {
    return this.deps.accountId;
  }

  arn(resource: string): string {
    return `arn:aws:ecs:${this.deps.region}:${this.deps.accountId}:${resource}`;
  }

  event(kind: string, detail: Record<string, unknown>): void {
    this.deps.event(kind, detail);
  }

  /** Adds a line to the service's events (newest first), as DescribeServices shows them. */
  serviceEvent(service: ServiceRecord, message: string): void {
    service.events.unshift({ id: this.deps.random.uuid(), createdAt: this.deps.now(), message });
    if (service.events.length > MAX_SERVICE_EVENTS) service.events.length = MAX_SERVICE_EVENTS;
    this.event('service.event', { cluster: service.cluster.name, service: service.name, message });
  }

  // ---------------------------------------------------------------- clusters

  addCluster(spec: ClusterSpec): void {
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

  /**
   * A cluster by name or ARN. An ARN must be this account's in this region, as
   * on AWS, where the endpoint is regional: another region's ARN is an
   * InvalidParameterException "Invalid Region in ARN" (reported, e.g., in
   * https://github.com/aws/aws-cli/issues/3175), another account's cluster is
   * not found.
   */
  cluster(ref?: string): ClusterRecord {
    const name = nameOf(ref ?? 'default');
    if (ref?.startsWith('arn:')) {
      const [, , , region, account] = ref.split(':');
      if (region !== this.deps.region)
        throw new AwsError('InvalidParameterException', 'Invalid Region in ARN');
      if (account !== this.deps.accountId || ref !== this.arn(`cluster/${name}`))
        throw new AwsError('ClusterNotFoundException', 'Cluster not found.');
    }
    const cluster = this.clusters.get(name);
    if (!cluster) throw new AwsError('ClusterNotFoundException', 'Cluster not found.');
    return cluster;
  }

  // ---------------------------------------------------------------- tasks

  findTask(arn: string): TaskRecord | undefined {
    for (const cluster of this.clusters.values()) {
      const task = cluster.tasks.get(arn);
      if (task) return task;
    }
    return undefined;
  }

  /** The service's tasks that are meant to run (desiredStatus RUNNING), in any phase. */
  liveTasks(service: ServiceRecord): TaskRecord[] {
    const out: TaskRecord[] = [];
    for (const task of service.cluster.tasks.values()) {
      if (task.service === service && task.desiredStatus === 'RUNNING') out.push(task);
    }
    return out;
  }

  /** Whether the service has a task that has not STOPPED yet, other than `except`'s. */
  hasUnstoppedTasks(service: ServiceRecord, except?: DeploymentRecord): boolean {
    return [...service.cluster.tasks.values()].some(
      (t) => t.service === service && t.lastStatus !== 'STOPPED' && (!except || t.deployment !== except),
    );
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

  /** A task reached STOPPED: it stays visible until its cluster holds too many stopped tasks. */
  retainStopped(task: TaskRecord): void {
    const cluster = task.cluster;
    cluster.stoppedOrder.push(task.arn);
    while (cluster.stoppedOrder.length > MAX_STOPPED_TASKS)
      cluster.tasks.delete(cluster.stoppedOrder.shift()!);
  }

  // ---------------------------------------------------------------- task definitions

  findTaskDefinition(ref: string): TaskDefRecord | undefined {
    const spec = nameOf(ref);
    const [family, revision] = spec.split(':');
    const revisions = this.taskDefinitions.get(family);
    if (!revisions) return undefined;
    if (revision === undefined) return [...revisions].reverse().find((td) => td.status === 'ACTIVE');
    return revisions[Number(revision) - 1];
  }

  /** The next revision of the request's family, described with the fields ECS fills in. */
  registerTaskDefinition(request: Record<string, unknown>, tags: Tag[]): TaskDefRecord {
    const family = request.family as string;
    const revisions = this.taskDefinitions.get(family) ?? [];
    const revision = revisions.length + 1;
    const arn = this.arn(`task-definition/${family}:${revision}`);
    const requires = new Set<string>();
    const containerDefinitions = (request.containerDefinitions as ContainerDef[]).map((raw) => {
      const def = withContainerDefaults(raw, request.networkMode);
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
      registeredAt: new Date(this.deps.now()),
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
    td.body.deregisteredAt = new Date(this.deps.now());
    this.event('taskDefinition.deregistered', { arn: td.arn });
  }
}

/** A container definition as ECS describes it: the defaults it fills in added. */
function withContainerDefaults(raw: ContainerDef, networkMode: unknown): ContainerDef {
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
      hostPort: pm.hostPort ?? (networkMode === 'awsvpc' ? pm.containerPort : undefined),
      protocol: pm.protocol ?? 'tcp',
    }));
  }
  return def;
}
