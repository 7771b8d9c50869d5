/**
 * Amazon ECS API (JSON 1.1, X-Amz-Target AmazonEC2ContainerServiceV20141113.*).
 * Request and response shapes follow the API reference,
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Operations.html
 * (each operation's page is named API_<Operation>.html). State changes live in
 * sim/ecs/ (behind sim/ecs/engine.ts); this module validates parameters and shapes replies.
 */
import { circuitBreakerThreshold } from '../ecs/circuit-breaker.js';
import type { EcsEngine } from '../ecs/engine.js';
import {
  nameOf,
  type ClusterRecord,
  type DeploymentRecord,
  type ServiceDeploymentRecord,
  type ServiceRecord,
  type ServiceRevisionRecord,
  type Tag,
  type TaskDefRecord,
  type TaskRecord,
} from '../ecs/records.js';
import { AwsError, type SimService } from '../service.js';

type Params = Record<string, unknown>;

const d = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms));

function invalid(message: string): AwsError {
  return new AwsError('InvalidParameterException', message);
}

function requireString(params: Params, name: string): string {
  const value = params[name];
  if (typeof value !== 'string' || value === '') throw invalid(`${name} can not be blank.`);
  return value;
}

/** RunTask client tokens are remembered for 24 hours (ECS_Idempotency.html). */
const CLIENT_TOKEN_TTL_MS = 24 * 3600_000;

/** JSON with object keys sorted: two requests with the same parameters give the same text. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Params).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Opaque page tokens: the offset, base64-encoded. */
function paginate<T>(
  items: T[],
  nextToken: unknown,
  maxResults: unknown,
  defaultMax: number,
  limit: number,
): { page: T[]; nextToken?: string } {
  const max = maxResults === undefined ? defaultMax : Number(maxResults);
  if (!Number.isInteger(max) || max < 1 || max > limit) {
    throw invalid(`maxResults must be between 1 and ${limit}.`);
  }
  let start = 0;
  if (typeof nextToken === 'string' && nextToken) {
    start = Number(Buffer.from(nextToken, 'base64').toString('utf8'));
    if (!Number.isInteger(start) || start < 0) throw invalid('Invalid nextToken.');
  }
  const page = items.slice(start, start + max);
  const next = start + max < items.length ? Buffer.from(String(start + max)).toString('base64') : undefined;
  return { page, nextToken: next };
}

export class EcsService implements SimService {
  readonly name = 'ecs';
  readonly jsonTargetPrefix = 'AmazonEC2ContainerServiceV20141113';
  readonly mutating = new Set([
    'RegisterTaskDefinition',
    'DeregisterTaskDefinition',
    'CreateService',
    'UpdateService',
    'DeleteService',
    'RunTask',
    'StopTask',
    'StopServiceDeployment',
  ]);

  constructor(private readonly engine: EcsEngine) {}

  handle(operation: string, params: Params): unknown {
    switch (operation) {
      case 'RegisterTaskDefinition':
        return this.registerTaskDefinition(params);
      case 'DescribeTaskDefinition':
        return this.describeTaskDefinition(params);
      case 'ListTaskDefinitions':
        return this.listTaskDefinitions(params);
      case 'DeregisterTaskDefinition':
        return this.deregisterTaskDefinition(params);
      case 'DescribeClusters':
        return this.describeClusters(params);
      case 'CreateService':
        return this.createService(params);
      case 'UpdateService':
        return this.updateService(params);
      case 'DeleteService':
        return this.deleteService(params);
      case 'DescribeServices':
        return this.describeServices(params);
      case 'ListServices':
        return this.listServices(params);
      case 'DescribeTasks':
        return this.describeTasks(params);
      case 'ListTasks':
        return this.listTasks(params);
      case 'RunTask':
        return this.runTask(params);
      case 'StopTask':
        return this.stopTask(params);
      case 'ListServiceDeployments':
        return this.listServiceDeployments(params);
      case 'DescribeServiceDeployments':
        return this.describeServiceDeployments(params);
      case 'DescribeServiceRevisions':
        return this.describeServiceRevisions(params);
      case 'StopServiceDeployment':
        return this.stopServiceDeployment(params);
      default:
        throw new AwsError(
          'UnknownOperationException',
          `The operation ${operation} is not supported by this simulator.`,
        );
    }
  }

  // ------------------------------------------------------------ shapes

  private taskDefinitionShape(td: TaskDefRecord): Params {
    return td.body;
  }

  private deploymentShape(service: ServiceRecord, dep: DeploymentRecord): Params {
    const { running, pending } = this.engine.countTasks(service, dep);
    return {
      id: dep.id,
      status: dep.status,
      taskDefinition: dep.taskDefinitionArn,
      desiredCount:
        dep.status === 'PRIMARY'
          ? service.desiredCount
          : dep.rolloutState === 'FAILED'
            ? 0
            : running + pending,
      pendingCount: pending,
      runningCount: running,
      failedTasks: dep.failedTasks,
      createdAt: d(dep.createdAt),
      updatedAt: d(dep.updatedAt),
      launchType: dep.launchType,
      platformVersion: dep.launchType === 'FARGATE' ? '1.4.0' : undefined,
      platformFamily: dep.launchType === 'FARGATE' ? 'Linux' : undefined,
      networkConfiguration: dep.networkConfiguration,
      rolloutState: dep.rolloutState,
      rolloutStateReason: dep.rolloutStateReason,
    };
  }

  private serviceShape(service: ServiceRecord, includeTags: boolean): Params {
    const { running, pending } = this.engine.countTasks(service);
    return {
      serviceArn: service.arn,
      serviceName: service.name,
      clusterArn: service.cluster.arn,
      loadBalancers: service.loadBalancers,
      serviceRegistries: [],
      status: service.status,
      desiredCount: service.desiredCount,
      runningCount: running,
      pendingCount: pending,
      launchType: service.launchType,
      capacityProviderStrategy: service.capacityProviderStrategy,
      platformVersion: service.launchType === 'FARGATE' ? 'LATEST' : undefined,
      platformFamily: service.launchType === 'FARGATE' ? 'Linux' : undefined,
      taskDefinition: service.taskDefinitionArn,
      deploymentConfiguration: service.deploymentConfiguration,
      deployments: service.deployments.map((dep) => this.deploymentShape(service, dep)),
      events: service.events.map((e) => ({ id: e.id, createdAt: d(e.createdAt), message: e.message })),
      createdAt: d(service.createdAt),
      placementConstraints: [],
      placementStrategy: [],
      networkConfiguration: service.networkConfiguration,
      healthCheckGracePeriodSeconds: service.healthCheckGracePeriodSeconds,
      schedulingStrategy: 'REPLICA',
      deploymentController: { type: 'ECS' },
      createdBy: `arn:aws:iam::${this.engine.accountId}:root`,
      enableECSManagedTags: service.enableECSManagedTags,
      propagateTags: service.propagateTags ?? 'NONE',
      enableExecuteCommand: false,
      availabilityZoneRebalancing: 'ENABLED',
      tags: includeTags ? service.tags : undefined,
    };
  }

  private taskShape(task: TaskRecord, includeTags: boolean): Params {
    const td = task.taskDef;
    const body = td.body;
    return {
      attachments: [
        {
          id: task.attachmentId,
          type: 'ElasticNetworkInterface',
          status:
            task.lastStatus === 'STOPPED'
              ? 'DELETED'
              : task.lastStatus === 'PROVISIONING'
                ? 'PRECREATED'
                : 'ATTACHED',
          details: [
            { name: 'subnetId', value: task.subnet ?? 'subnet-00000000' },
            { name: 'networkInterfaceId', value: task.eniId },
            { name: 'macAddress', value: '0a:00:00:00:00:01' },
            { name: 'privateDnsName', value: `ip-${task.ip.replace(/\./g, '-')}.ec2.internal` },
            { name: 'privateIPv4Address', value: task.ip },
          ],
        },
      ],
      attributes: [{ name: 'ecs.cpu-architecture', value: 'x86_64' }],
      availabilityZone: `${this.engine.region}a`,
      capacityProviderName: task.capacityProviderName,
      clusterArn: task.cluster.arn,
      connectivity: task.connectivityAt ? 'CONNECTED' : undefined,
      connectivityAt: d(task.connectivityAt),
      containers: task.containers.map((c) => ({
        containerArn: c.containerArn,
        taskArn: task.arn,
        name: c.name,
        image: c.image,
        runtimeId: task.startedAt ? c.runtimeId : undefined,
        lastStatus: c.lastStatus,
        exitCode: c.exitCode,
        reason: c.reason,
        networkBindings: [],
        networkInterfaces: [{ attachmentId: task.attachmentId, privateIpv4Address: task.ip }],
        healthStatus: 'UNKNOWN',
        cpu: String(c.def.cpu ?? 0),
        memory: c.def.memory === undefined ? undefined : String(c.def.memory),
      })),
      cpu: body.cpu,
      memory: body.memory,
      createdAt: d(task.createdAt),
      desiredStatus: task.desiredStatus,
      enableExecuteCommand: false,
      executionStoppedAt: d(task.executionStoppedAt),
      group: task.group,
      healthStatus: 'UNKNOWN',
      lastStatus: task.lastStatus,
      launchType: task.launchType,
      overrides: task.overrides,
      platformVersion: task.launchType === 'FARGATE' ? '1.4.0' : undefined,
      platformFamily: task.launchType === 'FARGATE' ? 'Linux' : undefined,
      pullStartedAt: d(task.pullStartedAt),
      pullStoppedAt: d(task.pullStoppedAt),
      startedAt: d(task.startedAt),
      startedBy: task.startedBy,
      stopCode: task.stopCode,
      stoppedAt: d(task.stoppedAt),
      stoppedReason: task.stoppedReason,
      stoppingAt: d(task.stoppingAt),
      tags: includeTags ? task.tags : undefined,
      taskArn: task.arn,
      taskDefinitionArn: td.arn,
      version: task.version,
      ephemeralStorage: { sizeInGiB: 20 },
    };
  }

  private clusterOf(params: Params): ClusterRecord {
    return this.engine.cluster(params.cluster as string | undefined);
  }

  private serviceOf(cluster: ClusterRecord, ref: string): ServiceRecord {
    const service = cluster.services.get(nameOf(ref));
    if (!service) throw new AwsError('ServiceNotFoundException', 'Service not found.');
    return service;
  }

  private taskDefinitionOf(ref: unknown, notFound = 'TaskDefinition not found.'): TaskDefRecord {
    if (typeof ref !== 'string' || ref === '') throw invalid('taskDefinition can not be blank.');
    const td = this.engine.findTaskDefinition(ref);
    if (!td) throw new AwsError('ClientException', notFound);
    return td;
  }

  // ------------------------------------------------------------ task definitions

  /** https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html */
  private registerTaskDefinition(params: Params): Params {
    const family = requireString(params, 'family');
    if (!/^[A-Za-z0-9_-]{1,255}$/.test(family)) {
      throw new AwsError('ClientException', 'Family contains invalid characters or is too long.');
    }
    const containers = params.containerDefinitions;
    if (!Array.isArray(containers) || containers.length === 0) {
      throw new AwsError('ClientException', 'Container list cannot be empty.');
    }
    for (const c of containers as Params[]) {
      if (typeof c.name !== 'string' || !c.name)
        throw new AwsError('ClientException', 'Container.name should not be null or empty.');
      if (typeof c.image !== 'string' || !c.image)
        throw new AwsError('ClientException', 'Container.image should not be null or empty.');
    }
    const compat = (params.requiresCompatibilities as string[] | undefined) ?? [];
    if (compat.includes('FARGATE')) {
      if (params.networkMode !== 'awsvpc')
        throw new AwsError('ClientException', "Fargate only supports network mode 'awsvpc'.");
      if (params.cpu === undefined)
        throw new AwsError('ClientException', "Fargate requires that 'cpu' be defined at the task level.");
      if (params.memory === undefined)
        throw new AwsError('ClientException', "Fargate requires that 'memory' be defined at the task level.");
      const awslogs = (containers as Params[]).some(
        (c) => (c.logConfiguration as Params | undefined)?.logDriver === 'awslogs',
      );
      if (awslogs && !params.executionRoleArn) {
        throw new AwsError(
          'ClientException',
          'Fargate requires task definition to have execution role ARN to support log driver awslogs.',
        );
      }
    }
    const { tags, ...request } = params;
    const td = this.engine.registerTaskDefinition(request, (tags as Tag[] | undefined) ?? []);
    return { taskDefinition: this.taskDefinitionShape(td), tags: td.tags };
  }

  /** https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTaskDefinition.html */
  private describeTaskDefinition(params: Params): Params {
    const td = this.taskDefinitionOf(params.taskDefinition, 'Unable to describe task definition.');
    const include = (params.include as string[] | undefined) ?? [];
    return {
      taskDefinition: this.taskDefinitionShape(td),
      tags: include.includes('TAGS') ? td.tags : undefined,
    };
  }

  /** https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTaskDefinitions.html */
  private listTaskDefinitions(params: Params): Params {
    const status = (params.status as string | undefined) ?? 'ACTIVE';
    const prefix = params.familyPrefix as string | undefined;
    let arns: string[] = [];
    for (const [family, revisions] of [...this.engine.taskDefinitions.entries()].sort(([a], [b]) =>
      a.localeCompare(b),
    )) {
      if (prefix && family !== prefix) continue;
      for (const td of revisions) if (status === 'ALL' || td.status === status) arns.push(td.arn);
    }
    if (params.sort === 'DESC') arns = arns.reverse();
    const { page, nextToken } = paginate(arns, params.nextToken, params.maxResults, 100, 100);
    return { taskDefinitionArns: page, nextToken };
  }

  /** https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeregisterTaskDefinition.html */
  private deregisterTaskDefinition(params: Params): Params {
    const ref = requireString(params, 'taskDefinition');
    if (!nameOf(ref).includes(':'))
      throw invalid('A revision must be specified to deregister a task definition.');
    const td = this.taskDefinitionOf(ref, 'The specified task definition does not exist.');
    this.engine.deregisterTaskDefinition(td);
    return { taskDefinition: this.taskDefinitionShape(td) };
  }

  // ------------------------------------------------------------ clusters

  /** https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeClusters.html */
  private describeClusters(params: Params): Params {
    const refs = (params.clusters as string[] | undefined) ?? ['default'];
    const clusters: Params[] = [];
    const failures: Params[] = [];
    for (const ref of refs) {
      const cluster = this.engine.clusters.get(nameOf(ref));
      if (!cluster) {
        failures.push({
          arn: ref.startsWith('arn:') ? ref : this.engine.arn(`cluster/${ref}`),
          reason: 'MISSING',
        });
        continue;
      }
      let running = 0;
      let pending = 0;
      for (const t of cluster.tasks.values()) {
        if (t.lastStatus === 'RUNNING') running += 1;
        else if (t.lastStatus === 'PENDING' || t.lastStatus === 'PROVISIONING') pending += 1;
      }
      clusters.push({
        clusterArn: cluster.arn,
        clusterName: cluster.name,
        status: 'ACTIVE',
        registeredContainerInstancesCount: 0,
        runningTasksCount: running,
        pendingTasksCount: pending,
        activeServicesCount: [...cluster.services.values()].filter((s) => s.status === 'ACTIVE').length,
        statistics: [],
        tags: [],
        settings: [{ name: 'containerInsights', value: 'disabled' }],
        capacityProviders: cluster.spec.capacityProviders ?? [],
        defaultCapacityProviderStrategy: (cluster.spec.defaultCapacityProviderStrategy ?? []).map((s) => ({
          capacityProvider: s.capacityProvider,
          weight: s.weight ?? 0,
          base: s.base ?? 0,
        })),
      });
    }
    return { clusters, failures };
  }

  // ------------------------------------------------------------ services

  private loadBalancersOf(
    params: Params,
  ): { targetGroupArn: string; containerName: string; containerPort: number }[] {
    const lbs = (params.loadBalancers as Params[] | undefined) ?? [];
    return lbs.map((lb) => {
      const tgArn = lb.targetGroupArn as string;
      const tg = this.engine.elb.targetGroups.get(tgArn);
      if (!tg)
        throw invalid(
          `Unable to assume role and validate the specified targetGroupArn. Please verify that the ECS service role being passed has the proper permissions.`,
        );
      if (tg.loadBalancerArns.length === 0)
        throw invalid(
          `The target group with targetGroupArn ${tgArn} does not have an associated load balancer.`,
        );
      return {
        targetGroupArn: tgArn,
        containerName: lb.containerName as string,
        containerPort: Number(lb.containerPort),
      };
    });
  }

  /** https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html */
  private createService(params: Params): Params {
    const cluster = this.clusterOf(params);
    const name = requireString(params, 'serviceName');
    const existing = cluster.services.get(name);
    if (existing && existing.status !== 'INACTIVE') throw invalid('Creation of service was not idempotent.');
    const td = this.taskDefinitionOf(params.taskDefinition);
    const loadBalancers = this.loadBalancersOf(params);
    for (const lb of loadBalancers) {
      if (!td.containers.some((c) => c.name === lb.containerName)) {
        throw invalid(`The container ${lb.containerName} does not exist in the task definition.`);
      }
    }
    if (td.body.networkMode === 'awsvpc' && !params.networkConfiguration) {
      throw invalid("Network Configuration must be provided when networkMode 'awsvpc' is specified.");
    }
    const service = this.engine.createService(cluster, {
      name,
      taskDefinition: td.arn,
      desiredCount: Number(params.desiredCount ?? 0),
      launchType:
        (params.launchType as string | undefined) ??
        (params.capacityProviderStrategy ? undefined : 'FARGATE'),
      capacityProviderStrategy: params.capacityProviderStrategy as unknown[] | undefined,
      loadBalancers,
      networkConfiguration: params.networkConfiguration as ServiceRecord['networkConfiguration'],
      deploymentConfiguration: params.deploymentConfiguration as Params | undefined,
      healthCheckGracePeriodSeconds: params.healthCheckGracePeriodSeconds as number | undefined,
      serviceDeployments: true,
      tags: (params.tags as Tag[] | undefined) ?? [],
      propagateTags: params.propagateTags as string | undefined,
      enableECSManagedTags: params.enableECSManagedTags as boolean | undefined,
    });
    this.engine.reconcile(service);
    return { service: this.serviceShape(service, false) };
  }

  /** https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html */
  private updateService(params: Params): Params {
    const cluster = this.clusterOf(params);
    const service = this.serviceOf(cluster, requireString(params, 'service'));
    if (service.status !== 'ACTIVE')
      throw new AwsError('ServiceNotActiveException', 'Service was not ACTIVE.');
    const td = params.taskDefinition === undefined ? undefined : this.taskDefinitionOf(params.taskDefinition);
    if (td && td.status !== 'ACTIVE') throw new AwsError('ClientException', `TaskDefinition is inactive`);
    const containers = new Set(td?.containers.map((c) => c.name));
    for (const lb of td ? service.loadBalancers : []) {
      if (!containers.has(lb.containerName)) {
        throw invalid(`The container ${lb.containerName} does not exist in the task definition.`);
      }
    }
    if (
      params.desiredCount !== undefined &&
      (!Number.isInteger(params.desiredCount) || (params.desiredCount as number) < 0)
    ) {
      throw invalid('desiredCount must be a non-negative integer.');
    }
    const dc = params.deploymentConfiguration as Params | undefined;
    if (
      dc?.maximumPercent !== undefined &&
      dc.minimumHealthyPercent !== undefined &&
      (dc.maximumPercent as number) < (dc.minimumHealthyPercent as number)
    ) {
      throw invalid('maximumPercent must be greater than or equal to minimumHealthyPercent.');
    }
    this.engine.updateService(service, {
      taskDefinition: td,
      desiredCount: params.desiredCount as number | undefined,
      forceNewDeployment: params.forceNewDeployment === true,
      deploymentConfiguration: dc,
      networkConfiguration: params.networkConfiguration as ServiceRecord['networkConfiguration'],
      healthCheckGracePeriodSeconds: params.healthCheckGracePeriodSeconds as number | undefined,
    });
    return { service: this.serviceShape(service, false) };
  }

  /** https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteService.html */
  private deleteService(params: Params): Params {
    const cluster = this.clusterOf(params);
    const service = this.serviceOf(cluster, requireString(params, 'service'));
    if (service.status !== 'ACTIVE')
      throw new AwsError('ServiceNotActiveException', 'Service was not ACTIVE.');
    if (service.desiredCount > 0 && params.force !== true) {
      throw invalid('The service cannot be stopped while it is scaled above 0.');
    }
    this.engine.deleteService(service);
    return { service: this.serviceShape(service, false) };
  }

  /** https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServices.html */
  private describeServices(params: Params): Params {
    const cluster = this.clusterOf(params);
    const refs = params.services;
    if (!Array.isArray(refs) || refs.length === 0) throw invalid('Services cannot be empty.');
    if (refs.length > 10) throw invalid('services can have at most 10 items.');
    const includeTags = ((params.include as string[] | undefined) ?? []).includes('TAGS');
    const services: Params[] = [];
    const failures: Params[] = [];
    for (const ref of refs as string[]) {
      const service = cluster.services.get(nameOf(ref));
      if (service) services.push(this.serviceShape(service, includeTags));
      else
        failures.push({
          arn: ref.startsWith('arn:') ? ref : this.engine.arn(`service/${cluster.name}/${ref}`),
          reason: 'MISSING',
        });
    }
    return { services, failures };
  }

  /** https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListServices.html */
  private listServices(params: Params): Params {
    const cluster = this.clusterOf(params);
    const arns = [...cluster.services.values()]
      .filter((s) => s.status !== 'INACTIVE')
      .filter((s) => !params.launchType || s.launchType === params.launchType)
      .map((s) => s.arn);
    const { page, nextToken } = paginate(arns, params.nextToken, params.maxResults, 10, 100);
    return { serviceArns: page, nextToken };
  }

  // ------------------------------------------------------------ tasks

  /** https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTasks.html */
  private describeTasks(params: Params): Params {
    const cluster = this.clusterOf(params);
    const refs = params.tasks;
    if (!Array.isArray(refs) || refs.length === 0) throw invalid('Tasks cannot be empty.');
    if (refs.length > 100) throw invalid('Tasks can have at most 100 items.');
    const includeTags = ((params.include as string[] | undefined) ?? []).includes('TAGS');
    const tasks: Params[] = [];
    const failures: Params[] = [];
    for (const ref of refs as string[]) {
      const arn = ref.startsWith('arn:') ? ref : this.engine.arn(`task/${cluster.name}/${ref}`);
      const task = cluster.tasks.get(arn);
      if (task) tasks.push(this.taskShape(task, includeTags));
      else failures.push({ arn, reason: 'MISSING' });
    }
    return { tasks, failures };
  }

  /** https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html */
  private listTasks(params: Params): Params {
    const cluster = this.clusterOf(params);
    const desired = (params.desiredStatus as string | undefined) ?? 'RUNNING';
    let service: ServiceRecord | undefined;
    if (params.serviceName) service = this.serviceOf(cluster, params.serviceName as string);
    const family = params.family as string | undefined;
    const arns = [...cluster.tasks.values()]
      .filter((t) => t.desiredStatus === desired)
      .filter((t) => !service || t.service === service)
      .filter((t) => !family || t.taskDef.family === family)
      .filter((t) => !params.startedBy || t.startedBy === params.startedBy)
      .filter((t) => !params.launchType || t.launchType === params.launchType)
      .map((t) => t.arn);
    const { page, nextToken } = paginate(arns, params.nextToken, params.maxResults, 100, 100);
    return { taskArns: page, nextToken };
  }

  /**
   * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html
   * Placement as ECS decides it: without launchType or a strategy, the
   * cluster's default capacity provider strategy; with none, the EC2 launch
   * type, which fails in failures[] since the simulator has no container
   * instances ("No Container Instances were found in your cluster."). Fargate
   * in a subnet the scenario marks capacity-unavailable fails in failures[]
   * too; a capacity provider not associated with the cluster is an
   * InvalidParameterException.
   */
  private runTask(params: Params): Params {
    const cluster = this.clusterOf(params);
    const { clientToken, ...request } = params;
    if (clientToken === undefined) return this.startTasks(cluster, params);
    // https://docs.aws.amazon.com/AmazonECS/latest/APIReference/ECS_Idempotency.html: a retry with the
    // same token and parameters gets the original reply and starts nothing; other parameters conflict.
    if (typeof clientToken !== 'string' || !/^[\x21-\x7e]{1,64}$/.test(clientToken)) {
      throw invalid('clientToken must be 1 to 64 ASCII characters from 33 to 126.');
    }
    const key = canonicalJson(request);
    const now = this.engine.now();
    const seen = cluster.runTaskTokens.get(clientToken);
    if (seen && now - seen.at < CLIENT_TOKEN_TTL_MS) {
      if (seen.request === key) return seen.reply;
      throw new AwsError(
        'ConflictException',
        'The RunTask request could not be processed due to conflicts. The provided clientToken is already in use with a different RunTask request.',
        400,
        { resourceIds: ((seen.reply.tasks ?? []) as Params[]).map((t) => t.taskArn) },
      );
    }
    const reply = this.startTasks(cluster, params);
    cluster.runTaskTokens.set(clientToken, { request: key, reply, at: now });
    return reply;
  }

  private startTasks(cluster: ClusterRecord, params: Params): Params {
    const td = this.taskDefinitionOf(params.taskDefinition);
    if (td.status !== 'ACTIVE') throw new AwsError('ClientException', 'TaskDefinition is inactive');
    const count = Number(params.count ?? 1);
    if (!Number.isInteger(count) || count < 1 || count > 10) throw invalid('count must be between 1 and 10.');
    if (params.launchType && params.capacityProviderStrategy) {
      throw invalid(
        'Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.',
      );
    }
    let strategy = params.capacityProviderStrategy as { capacityProvider: string }[] | undefined;
    let launchType = params.launchType as string | undefined;
    if (!launchType && !strategy?.length) {
      strategy = cluster.spec.defaultCapacityProviderStrategy;
      if (!strategy?.length) launchType = 'EC2';
    }
    let capacityProviderName: string | undefined;
    if (!launchType && strategy?.length) {
      const associated = cluster.spec.capacityProviders ?? [];
      for (const item of strategy) {
        if (!associated.includes(item.capacityProvider)) {
          throw invalid(
            'The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again.',
          );
        }
      }
      capacityProviderName = strategy[0].capacityProvider;
      launchType = capacityProviderName.startsWith('FARGATE') ? 'FARGATE' : 'EC2';
    }
    const network = params.networkConfiguration as ServiceRecord['networkConfiguration'];
    const subnets = network?.awsvpcConfiguration?.subnets ?? [];
    if (td.body.networkMode === 'awsvpc' && subnets.length === 0) {
      throw invalid("Network Configuration must be provided when networkMode 'awsvpc' is specified.");
    }
    const failures: Params[] = [];
    const tasks: Params[] = [];
    if (launchType === 'EC2') {
      for (let i = 0; i < count; i++)
        failures.push({ reason: 'No Container Instances were found in your cluster.' });
      return { tasks, failures };
    }
    const unavailable = new Set(cluster.spec.capacityUnavailableSubnets ?? []);
    const usable = subnets.filter((s) => !unavailable.has(s));
    if (subnets.length > 0 && usable.length === 0) {
      for (let i = 0; i < count; i++) {
        failures.push({
          arn: subnets[0],
          reason:
            'Capacity is unavailable at this time. Please try again later or in a different availability zone',
        });
      }
      return { tasks, failures };
    }
    for (let i = 0; i < count; i++) {
      const task = this.engine.launchTask(cluster, td, {
        launchType,
        capacityProviderName,
        subnet: usable[i % Math.max(usable.length, 1)],
        startedBy: params.startedBy as string | undefined,
        group: params.group as string | undefined,
        overrides: {
          containerOverrides: [],
          inferenceAcceleratorOverrides: [],
          ...(params.overrides as Params | undefined),
        },
        tags: params.tags as Tag[] | undefined,
      });
      tasks.push(this.taskShape(task, false));
    }
    return { tasks, failures };
  }

  /** https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_StopTask.html */
  private stopTask(params: Params): Params {
    const cluster = this.clusterOf(params);
    const ref = requireString(params, 'task');
    const arn = ref.startsWith('arn:') ? ref : this.engine.arn(`task/${cluster.name}/${ref}`);
    const task = cluster.tasks.get(arn);
    if (!task) throw invalid('The referenced task was not found.');
    const reason = (params.reason as string | undefined) || 'Task stopped by user';
    this.engine.stopTask(task, 'UserInitiated', reason);
    return { task: this.taskShape(task, false) };
  }

  // ------------------------------------------------------------ service deployments

  private findServiceDeployment(arn: string): ServiceDeploymentRecord | undefined {
    for (const cluster of this.engine.clusters.values()) {
      for (const service of cluster.services.values()) {
        const sd = service.serviceDeployments.find((x) => x.arn === arn);
        if (sd) return sd;
      }
    }
    return undefined;
  }

  private revisionSummary(service: ServiceRecord, revisionArn: string, requested: number): Params {
    let running = 0;
    let pending = 0;
    for (const dep of service.deployments.filter((x) => x.revisionArn === revisionArn)) {
      const counts = this.engine.countTasks(service, dep);
      running += counts.running;
      pending += counts.pending;
    }
    return {
      arn: revisionArn,
      requestedTaskCount: requested,
      runningTaskCount: running,
      pendingTaskCount: pending,
    };
  }

  /** https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListServiceDeployments.html */
  private listServiceDeployments(params: Params): Params {
    const cluster = this.clusterOf(params);
    const service = this.serviceOf(cluster, requireString(params, 'service'));
    const statuses = params.status as string[] | undefined;
    const createdAt = params.createdAt as { before?: number; after?: number } | undefined;
    const items = service.serviceDeployments
      .filter((sd) => !statuses?.length || statuses.includes(sd.status))
      .filter((sd) => createdAt?.after === undefined || sd.createdAt >= createdAt.after * 1000)
      .filter((sd) => createdAt?.before === undefined || sd.createdAt <= createdAt.before * 1000)
      .map((sd) => ({
        serviceDeploymentArn: sd.arn,
        serviceArn: service.arn,
        clusterArn: cluster.arn,
        startedAt: d(sd.startedAt),
        createdAt: d(sd.createdAt),
        finishedAt: d(sd.finishedAt),
        targetServiceRevisionArn: sd.targetRevisionArn,
        status: sd.status,
        statusReason: sd.statusReason,
      }));
    const { page, nextToken } = paginate(items, params.nextToken, params.maxResults, 20, 100);
    return { serviceDeployments: page, nextToken };
  }

  /** https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServiceDeployments.html */
  private describeServiceDeployments(params: Params): Params {
    const arns = params.serviceDeploymentArns;
    if (!Array.isArray(arns) || arns.length === 0) throw invalid('serviceDeploymentArns cannot be empty.');
    if (arns.length > 20) throw invalid('serviceDeploymentArns can have at most 20 items.');
    const serviceDeployments: Params[] = [];
    const failures: Params[] = [];
    for (const arn of arns as string[]) {
      const sd = this.findServiceDeployment(arn);
      if (!sd) {
        failures.push({ arn, reason: 'MISSING' });
        continue;
      }
      const service = sd.service;
      const dep = sd.deployment;
      const finished = sd.finishedAt !== undefined;
      serviceDeployments.push({
        serviceDeploymentArn: sd.arn,
        serviceArn: service.arn,
        clusterArn: service.cluster.arn,
        createdAt: d(sd.createdAt),
        startedAt: d(sd.startedAt),
        finishedAt: d(sd.finishedAt),
        stoppedAt: d(sd.stoppedAt),
        updatedAt: d(sd.updatedAt),
        sourceServiceRevisions: sd.sourceRevisionArns.map((a) => this.revisionSummary(service, a, 0)),
        targetServiceRevision: this.revisionSummary(
          service,
          sd.targetRevisionArn,
          finished && sd.status !== 'SUCCESSFUL' ? 0 : service.desiredCount,
        ),
        status: sd.status,
        statusReason: sd.statusReason,
        deploymentConfiguration: sd.deploymentConfiguration,
        rollback: sd.rollback && { ...sd.rollback, startedAt: d(sd.rollback.startedAt) },
        deploymentCircuitBreaker: {
          status: sd.circuitBreakerStatus,
          failureCount: dep.failedTasks,
          threshold: circuitBreakerThreshold(
            service.desiredCount,
            service.deploymentConfiguration.deploymentCircuitBreaker.thresholdConfiguration,
          ),
        },
        alarms: { status: 'DISABLED' },
      });
    }
    return { serviceDeployments, failures };
  }

  /** https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServiceRevisions.html */
  private describeServiceRevisions(params: Params): Params {
    const arns = params.serviceRevisionArns;
    if (!Array.isArray(arns) || arns.length === 0) throw invalid('serviceRevisionArns cannot be empty.');
    const serviceRevisions: Params[] = [];
    const failures: Params[] = [];
    for (const arn of arns as string[]) {
      let revision: ServiceRevisionRecord | undefined;
      for (const cluster of this.engine.clusters.values()) {
        for (const service of cluster.services.values()) revision ??= service.revisions.get(arn);
      }
      if (!revision) {
        failures.push({ arn, reason: 'MISSING' });
        continue;
      }
      const td = this.engine.findTaskDefinition(revision.taskDefinitionArn);
      serviceRevisions.push({
        serviceRevisionArn: revision.arn,
        serviceArn: revision.service.arn,
        clusterArn: revision.service.cluster.arn,
        taskDefinition: revision.taskDefinitionArn,
        launchType: revision.launchType,
        platformVersion: revision.launchType === 'FARGATE' ? '1.4.0' : undefined,
        platformFamily: revision.launchType === 'FARGATE' ? 'Linux' : undefined,
        loadBalancers: revision.loadBalancers,
        serviceRegistries: [],
        networkConfiguration: revision.networkConfiguration,
        containerImages: (td?.containers ?? []).map((c) => ({ containerName: c.name, image: c.image })),
        guardDutyEnabled: false,
        createdAt: d(revision.createdAt),
      });
    }
    return { serviceRevisions, failures };
  }

  /** https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_StopServiceDeployment.html */
  private stopServiceDeployment(params: Params): Params {
    const arn = requireString(params, 'serviceDeploymentArn');
    const stopType = (params.stopType as string | undefined) ?? 'ROLLBACK';
    if (stopType !== 'ROLLBACK') throw invalid(`stopType ${stopType} is not supported.`);
    const sd = this.findServiceDeployment(arn);
    if (!sd)
      throw new AwsError('ServiceDeploymentNotFoundException', 'The service deployment does not exist.');
    this.engine.requestRollback(sd);
    return { serviceDeploymentArn: sd.arn };
  }
}
