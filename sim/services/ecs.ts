/**
 * Amazon ECS API (JSON 1.1, X-Amz-Target AmazonEC2ContainerServiceV20141113.*).
 * Request and response shapes follow the API reference,
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Operations.html
 * (each operation's page is named API_<Operation>.html). State changes live in
 * sim/ecs/ (behind sim/ecs/engine.ts); this module and sim/services/ecs/
 * validate parameters and shape replies: request.ts reads parameters,
 * shapes.ts writes records as the API returns them, run-task.ts and
 * service-deployments.ts hold those operations.
 */
import type { EcsEngine } from '../ecs/engine.js';
import { nameOf, type ServiceRecord, type Tag } from '../ecs/records.js';
import { AwsError, type SimService } from '../service.js';
import {
  clusterOf,
  invalid,
  paginate,
  requireString,
  serviceOf,
  taskDefinitionOf,
  type Params,
} from './ecs/request.js';
import { runTask } from './ecs/run-task.js';
import {
  continueServiceDeployment,
  describeServiceDeployments,
  describeServiceRevisions,
  listServiceDeployments,
  stopServiceDeployment,
} from './ecs/service-deployments.js';
import { clusterShape, serviceShape, taskShape } from './ecs/shapes.js';
import { advancedConfigurationOf, checkStrategy } from './ecs/strategy.js';
import { deploymentConfiguration } from '../ecs/deployments.js';
import type { DeploymentConfiguration, ServiceLoadBalancer } from '../ecs/records.js';

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
    'ContinueServiceDeployment',
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
        return runTask(this.engine, params);
      case 'StopTask':
        return this.stopTask(params);
      case 'ListServiceDeployments':
        return listServiceDeployments(this.engine, params);
      case 'DescribeServiceDeployments':
        return describeServiceDeployments(this.engine, params);
      case 'DescribeServiceRevisions':
        return describeServiceRevisions(this.engine, params);
      case 'StopServiceDeployment':
        return stopServiceDeployment(this.engine, params);
      case 'ContinueServiceDeployment':
        return continueServiceDeployment(this.engine, params);
      default:
        throw new AwsError(
          'UnknownOperationException',
          `The operation ${operation} is not supported by this simulator.`,
        );
    }
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
    return { taskDefinition: td.body, tags: td.tags };
  }

  /** https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTaskDefinition.html */
  private describeTaskDefinition(params: Params): Params {
    const td = taskDefinitionOf(this.engine, params.taskDefinition, 'Unable to describe task definition.');
    const include = (params.include as string[] | undefined) ?? [];
    return {
      taskDefinition: td.body,
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
    const td = taskDefinitionOf(this.engine, ref, 'The specified task definition does not exist.');
    this.engine.deregisterTaskDefinition(td);
    return { taskDefinition: td.body };
  }

  // ------------------------------------------------------------ clusters

  /** https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeClusters.html */
  private describeClusters(params: Params): Params {
    const refs = (params.clusters as string[] | undefined) ?? ['default'];
    const clusters: Params[] = [];
    const failures: Params[] = [];
    for (const ref of refs) {
      // An ARN names one account's cluster in one region: another's is MISSING here.
      const foreign = ref.startsWith('arn:') && ref !== this.engine.arn(`cluster/${nameOf(ref)}`);
      const cluster = foreign ? undefined : this.engine.clusters.get(nameOf(ref));
      if (!cluster) {
        failures.push({
          arn: ref.startsWith('arn:') ? ref : this.engine.arn(`cluster/${ref}`),
          reason: 'MISSING',
        });
        continue;
      }
      clusters.push(clusterShape(cluster));
    }
    return { clusters, failures };
  }

  // ------------------------------------------------------------ services

  private loadBalancersOf(params: Params): ServiceLoadBalancer[] {
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
      const advancedConfiguration = advancedConfigurationOf(this.engine, lb, tgArn);
      return {
        targetGroupArn: tgArn,
        containerName: lb.containerName as string,
        containerPort: Number(lb.containerPort),
        ...(advancedConfiguration ? { advancedConfiguration } : {}),
      };
    });
  }

  /** https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html */
  private createService(params: Params): Params {
    const cluster = clusterOf(this.engine, params);
    const name = requireString(params, 'serviceName');
    const existing = cluster.services.get(name);
    if (existing && existing.status !== 'INACTIVE') throw invalid('Creation of service was not idempotent.');
    const td = taskDefinitionOf(this.engine, params.taskDefinition);
    const loadBalancers = this.loadBalancersOf(params);
    for (const lb of loadBalancers) {
      if (!td.containers.some((c) => c.name === lb.containerName)) {
        throw invalid(`The container ${lb.containerName} does not exist in the task definition.`);
      }
    }
    if (td.body.networkMode === 'awsvpc' && !params.networkConfiguration) {
      throw invalid("Network Configuration must be provided when networkMode 'awsvpc' is specified.");
    }
    checkStrategy(
      deploymentConfiguration(params.deploymentConfiguration as Partial<DeploymentConfiguration>),
      loadBalancers,
    );
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
    return { service: serviceShape(this.engine, service, false) };
  }

  /** https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html */
  private updateService(params: Params): Params {
    const cluster = clusterOf(this.engine, params);
    const service = serviceOf(cluster, requireString(params, 'service'));
    if (service.status !== 'ACTIVE')
      throw new AwsError('ServiceNotActiveException', 'Service was not ACTIVE.');
    const td =
      params.taskDefinition === undefined ? undefined : taskDefinitionOf(this.engine, params.taskDefinition);
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
    const loadBalancers = params.loadBalancers === undefined ? undefined : this.loadBalancersOf(params);
    for (const lb of loadBalancers ?? []) {
      const containers =
        td?.containers ?? this.engine.findTaskDefinition(service.taskDefinitionArn)?.containers ?? [];
      if (!containers.some((c) => c.name === lb.containerName))
        throw invalid(`The container ${lb.containerName} does not exist in the task definition.`);
    }
    checkStrategy(
      deploymentConfiguration(
        dc as Partial<DeploymentConfiguration> | undefined,
        service.deploymentConfiguration,
      ),
      loadBalancers ?? service.loadBalancers,
    );
    this.engine.updateService(service, {
      loadBalancers,
      taskDefinition: td,
      desiredCount: params.desiredCount as number | undefined,
      forceNewDeployment: params.forceNewDeployment === true,
      deploymentConfiguration: dc,
      networkConfiguration: params.networkConfiguration as ServiceRecord['networkConfiguration'],
      healthCheckGracePeriodSeconds: params.healthCheckGracePeriodSeconds as number | undefined,
    });
    return { service: serviceShape(this.engine, service, false) };
  }

  /** https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteService.html */
  private deleteService(params: Params): Params {
    const cluster = clusterOf(this.engine, params);
    const service = serviceOf(cluster, requireString(params, 'service'));
    if (service.status !== 'ACTIVE')
      throw new AwsError('ServiceNotActiveException', 'Service was not ACTIVE.');
    if (service.desiredCount > 0 && params.force !== true) {
      throw invalid('The service cannot be stopped while it is scaled above 0.');
    }
    this.engine.deleteService(service);
    return { service: serviceShape(this.engine, service, false) };
  }

  /** https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServices.html */
  private describeServices(params: Params): Params {
    const cluster = clusterOf(this.engine, params);
    const refs = params.services;
    if (!Array.isArray(refs) || refs.length === 0) throw invalid('Services cannot be empty.');
    if (refs.length > 10) throw invalid('services can have at most 10 items.');
    const includeTags = ((params.include as string[] | undefined) ?? []).includes('TAGS');
    const services: Params[] = [];
    const failures: Params[] = [];
    for (const ref of refs as string[]) {
      const service = cluster.services.get(nameOf(ref));
      if (service) services.push(serviceShape(this.engine, service, includeTags));
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
    const cluster = clusterOf(this.engine, params);
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
    const cluster = clusterOf(this.engine, params);
    const refs = params.tasks;
    if (!Array.isArray(refs) || refs.length === 0) throw invalid('Tasks cannot be empty.');
    if (refs.length > 100) throw invalid('Tasks can have at most 100 items.');
    const includeTags = ((params.include as string[] | undefined) ?? []).includes('TAGS');
    const tasks: Params[] = [];
    const failures: Params[] = [];
    for (const ref of refs as string[]) {
      const arn = ref.startsWith('arn:') ? ref : this.engine.arn(`task/${cluster.name}/${ref}`);
      const task = cluster.tasks.get(arn);
      if (task) tasks.push(taskShape(this.engine, task, includeTags));
      else failures.push({ arn, reason: 'MISSING' });
    }
    return { tasks, failures };
  }

  /** https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html */
  private listTasks(params: Params): Params {
    const cluster = clusterOf(this.engine, params);
    const desired = (params.desiredStatus as string | undefined) ?? 'RUNNING';
    let service: ServiceRecord | undefined;
    if (params.serviceName) service = serviceOf(cluster, params.serviceName as string);
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

  /** https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_StopTask.html */
  private stopTask(params: Params): Params {
    const cluster = clusterOf(this.engine, params);
    const ref = requireString(params, 'task');
    const arn = ref.startsWith('arn:') ? ref : this.engine.arn(`task/${cluster.name}/${ref}`);
    const task = cluster.tasks.get(arn);
    if (!task) throw invalid('The referenced task was not found.');
    const reason = (params.reason as string | undefined) || 'Task stopped by user';
    this.engine.stopTask(task, 'UserInitiated', reason);
    return { task: taskShape(this.engine, task, false) };
  }
}
