/**
 * ECS records as the API returns them: the Deployment, Service, Task,
 * Cluster, ServiceDeployment and ServiceRevision shapes of the API reference
 * (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Types.html),
 * with the fields ECS fills in for Fargate.
 */
import { circuitBreakerThreshold } from '../../ecs/circuit-breaker.js';
import type { EcsEngine } from '../../ecs/engine.js';
import type {
  ClusterRecord,
  DeploymentRecord,
  ServiceDeploymentRecord,
  ServiceRecord,
  ServiceRevisionRecord,
  TaskRecord,
} from '../../ecs/records.js';
import { d, type Params } from './request.js';

export function deploymentShape(engine: EcsEngine, service: ServiceRecord, dep: DeploymentRecord): Params {
  const { running, pending } = engine.countTasks(service, dep);
  return {
    id: dep.id,
    status: dep.status,
    taskDefinition: dep.taskDefinitionArn,
    desiredCount:
      dep.status === 'PRIMARY' ? service.desiredCount : dep.rolloutState === 'FAILED' ? 0 : running + pending,
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

export function serviceShape(engine: EcsEngine, service: ServiceRecord, includeTags: boolean): Params {
  const { running, pending } = engine.countTasks(service);
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
    deploymentConfiguration: { strategy: 'ROLLING', ...service.deploymentConfiguration },
    deployments: service.deployments.map((dep) => deploymentShape(engine, service, dep)),
    events: service.events.map((e) => ({ id: e.id, createdAt: d(e.createdAt), message: e.message })),
    createdAt: d(service.createdAt),
    placementConstraints: [],
    placementStrategy: [],
    networkConfiguration: service.networkConfiguration,
    healthCheckGracePeriodSeconds: service.healthCheckGracePeriodSeconds,
    schedulingStrategy: 'REPLICA',
    deploymentController: { type: 'ECS' },
    createdBy: `arn:aws:iam::${engine.accountId}:root`,
    enableECSManagedTags: service.enableECSManagedTags,
    propagateTags: service.propagateTags ?? 'NONE',
    enableExecuteCommand: false,
    availabilityZoneRebalancing: 'ENABLED',
    tags: includeTags ? service.tags : undefined,
  };
}

export function taskShape(engine: EcsEngine, task: TaskRecord, includeTags: boolean): Params {
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
    availabilityZone: `${engine.region}a`,
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

/** Tasks of a service revision: those of every deployment on it. */
function revisionSummary(
  engine: EcsEngine,
  service: ServiceRecord,
  revisionArn: string,
  requested: number,
): Params {
  let running = 0;
  let pending = 0;
  for (const dep of service.deployments.filter((x) => x.revisionArn === revisionArn)) {
    const counts = engine.countTasks(service, dep);
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

export function clusterShape(cluster: ClusterRecord): Params {
  let running = 0;
  let pending = 0;
  for (const t of cluster.tasks.values()) {
    if (t.lastStatus === 'RUNNING') running += 1;
    else if (t.lastStatus === 'PENDING' || t.lastStatus === 'PROVISIONING') pending += 1;
  }
  return {
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
  };
}

export function serviceDeploymentShape(engine: EcsEngine, sd: ServiceDeploymentRecord): Params {
  const service = sd.service;
  const dep = sd.deployment;
  const finished = sd.finishedAt !== undefined;
  const run = dep.blueGreen;
  // Blue/green: the traffic each revision is asked to take (a snapshot, as the API says).
  const weights = (green: boolean) =>
    run && {
      requestedTestTrafficWeight: green ? run.testWeight : 100 - run.testWeight,
      requestedProductionTrafficWeight: green ? run.productionWeight : 100 - run.productionWeight,
    };
  return {
    serviceDeploymentArn: sd.arn,
    serviceArn: service.arn,
    clusterArn: service.cluster.arn,
    createdAt: d(sd.createdAt),
    startedAt: d(sd.startedAt),
    finishedAt: d(sd.finishedAt),
    stoppedAt: d(sd.stoppedAt),
    updatedAt: d(sd.updatedAt),
    sourceServiceRevisions: sd.sourceRevisionArns.map((a) => ({
      ...revisionSummary(engine, service, a, 0),
      ...(run && a === run.blue.revisionArn ? weights(false) : {}),
    })),
    targetServiceRevision: {
      ...revisionSummary(
        engine,
        service,
        sd.targetRevisionArn,
        finished && sd.status !== 'SUCCESSFUL' ? 0 : service.desiredCount,
      ),
      ...weights(true),
    },
    status: sd.status,
    statusReason: sd.statusReason,
    lifecycleStage: sd.lifecycleStage,
    lifecycleHookDetails: sd.lifecycleHookDetails?.map((h) => ({
      hookId: h.hookId,
      targetType: h.targetType,
      targetArn: h.targetArn,
      status: h.status,
      expiresAt: d(h.expiresAt),
      timeoutAction: h.timeoutAction,
    })),
    deploymentConfiguration: { strategy: 'ROLLING', ...sd.deploymentConfiguration },
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
  };
}

export function serviceRevisionShape(engine: EcsEngine, revision: ServiceRevisionRecord): Params {
  const td = engine.findTaskDefinition(revision.taskDefinitionArn);
  return {
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
  };
}
