/**
 * Step 1 of a migration: the task definition revision to run. Reads only,
 * except registering a new revision when the image changed, and finds every
 * input problem before that one change.
 */
import {
  DescribeClustersCommand,
  DescribeServicesCommand,
  type AwsVpcConfiguration,
  type ContainerDefinition,
  type ECSClient,
} from '@aws-sdk/client-ecs';
import {
  describeTaskDefinition,
  registerClone,
  registerableInput,
  shortTaskDefinition,
  withImages,
  type DescribedTaskDefinition,
} from '../ecs/taskdef.js';
import { CancelledError, InputError, OperationError, awsErrorText, errorMessage } from '../errors.js';
import type { Log } from '../log.js';
import type { MigrationOptions } from './run.js';

export interface PreparedRevision {
  /** The revision to run: the one given, or the one registered for the new image. */
  taskDefinitionArn: string;
  /** Whether a new revision was registered for the new image. */
  registered: boolean;
  containers: ContainerDefinition[];
  /** The container that runs the command and whose exit code is reported. */
  mainContainer: string;
  network?: AwsVpcConfiguration;
}

export async function prepareRevision(
  ecs: ECSClient,
  options: MigrationOptions,
  log: Log,
  signal?: AbortSignal,
): Promise<PreparedRevision> {
  const network = await resolveNetwork(ecs, options);
  const described = await readTaskDefinition(ecs, options.taskDefinition);
  const source = described.taskDefinition;
  const containers = source.containerDefinitions ?? [];
  const mainContainer = chooseMainContainer(options, containers, source.taskDefinitionArn);
  const containerImageMap = imagesByContainer(options, containers, source.taskDefinitionArn);
  if (source.networkMode === 'awsvpc' && !network) {
    throw new InputError(
      'network-from-service',
      `task definition ${shortTaskDefinition(source.taskDefinitionArn)} uses the awsvpc network mode, which needs subnets`,
      'set network-from-service to a service whose network the task may use, or give subnets and security-groups',
    );
  }
  if (signal?.aborted) throw new CancelledError('cancelled before the task was started');
  const { taskDefinitionArn, registered } = await registerIfChanged(ecs, described, containerImageMap, log);
  return { taskDefinitionArn, registered, containers, mainContainer, ...(network ? { network } : {}) };
}

/**
 * With explicit subnets nothing reads the cluster before RunTask, which comes after a revision is registered:
 * a cluster that does not exist must be refused before that change.
 */
async function requireCluster(ecs: ECSClient, cluster: string): Promise<void> {
  const reply = await ecs.send(new DescribeClustersCommand({ clusters: [cluster] }));
  const found = reply.clusters?.find((c) => c.status === 'ACTIVE');
  if (found) return;
  const why = reply.failures?.[0]?.reason ?? reply.clusters?.[0]?.status ?? 'MISSING';
  throw new InputError(
    'cluster',
    `names no active cluster ECS has in the account and region of these credentials (${why})`,
    'give the name or ARN of the cluster the migration runs in',
  );
}

async function readTaskDefinition(ecs: ECSClient, taskDefinition: string): Promise<DescribedTaskDefinition> {
  return describeTaskDefinition(ecs, taskDefinition).catch((err: unknown) => {
    throw new InputError(
      'task-definition',
      `cannot read task definition "${taskDefinition}": ${errorMessage(err)}`,
      'give the family, family:revision or ARN of a registered task definition',
    );
  });
}

/** A new revision with the new images when any container's image changes; the given one otherwise. */
async function registerIfChanged(
  ecs: ECSClient,
  described: DescribedTaskDefinition,
  containerImageMap: Record<string, string>,
  log: Log,
): Promise<{ taskDefinitionArn: string; registered: boolean }> {
  const planned = withImages(registerableInput(described), containerImageMap);
  if (planned.changes.length === 0) {
    const taskDefinitionArn = described.taskDefinition.taskDefinitionArn;
    log.info(`Running ${shortTaskDefinition(taskDefinitionArn)} (its images are already the ones given)`);
    return { taskDefinitionArn, registered: false };
  }
  const taskDefinitionArn = await registerClone(ecs, { source: described, ...planned }).catch(
    (err: unknown) => {
      throw new OperationError(`RegisterTaskDefinition failed: ${awsErrorText(err)}`);
    },
  );
  for (const c of planned.changes) log.info(`${c.container}: ${c.from ?? '(none)'} -> ${c.to}`);
  log.info(`Registered ${shortTaskDefinition(taskDefinitionArn)} with the new image`);
  return { taskDefinitionArn, registered: true };
}

/** The task's awsvpc network: given as subnets, or copied from a service. */
async function resolveNetwork(
  ecs: ECSClient,
  options: MigrationOptions,
): Promise<AwsVpcConfiguration | undefined> {
  const network = options.network;
  if (!network) return undefined;
  if (!('fromService' in network)) {
    await requireCluster(ecs, options.cluster);
    return {
      subnets: network.subnets,
      ...(network.securityGroups.length ? { securityGroups: network.securityGroups } : {}),
      ...(network.assignPublicIp ? { assignPublicIp: network.assignPublicIp } : {}),
    };
  }
  const reply = await ecs.send(
    new DescribeServicesCommand({ cluster: options.cluster, services: [network.fromService] }),
  );
  const service = reply.services?.find((s) => s.status !== 'INACTIVE');
  if (!service) {
    const why = reply.failures?.[0]?.reason ?? reply.services?.[0]?.status ?? 'MISSING';
    throw new InputError(
      'network-from-service',
      `service "${network.fromService}" is not in cluster ${options.cluster} (${why})`,
      'name a running service of the cluster, or give subnets and security-groups',
    );
  }
  const vpc = service.networkConfiguration?.awsvpcConfiguration;
  if (!vpc?.subnets?.length) {
    throw new InputError(
      'network-from-service',
      `service "${network.fromService}" has no awsvpc network configuration to copy`,
      'give subnets and security-groups instead',
    );
  }
  return {
    subnets: vpc.subnets,
    ...(vpc.securityGroups?.length ? { securityGroups: vpc.securityGroups } : {}),
    ...(vpc.assignPublicIp ? { assignPublicIp: vpc.assignPublicIp } : {}),
  };
}

function containerList(containers: ContainerDefinition[]): string {
  return containers.map((c) => c.name).join(', ');
}

/** The container that runs the command and whose exit code is reported. */
function chooseMainContainer(
  options: MigrationOptions,
  containers: ContainerDefinition[],
  arn: string,
): string {
  const td = shortTaskDefinition(arn);
  if (options.container) {
    if (!containers.some((c) => c.name === options.container)) {
      throw new InputError(
        'container',
        `task definition ${td} has no container "${options.container}"`,
        `use one of: ${containerList(containers)}`,
      );
    }
    return options.container;
  }
  if (containers.length === 1) return containers[0]!.name!;
  const essentials = containers.filter((c) => c.essential ?? true);
  if ((options.image || options.command) && essentials.length !== 1) {
    throw new InputError(
      'container',
      `task definition ${td} has several containers (${containerList(containers)}); which one gets ${options.image ? 'the image' : 'the command'} is ambiguous`,
      'name it with container',
    );
  }
  return (essentials[0] ?? containers[0])!.name!;
}

/** Container name -> new image, from `image` or from `images` (+ `container-images`). */
function imagesByContainer(
  options: MigrationOptions,
  containers: ContainerDefinition[],
  arn: string,
): Record<string, string> {
  const td = shortTaskDefinition(arn);
  if (options.image) {
    const target = chooseMainContainer(options, containers, arn);
    return { [target]: options.image };
  }
  if (!options.images) return {};
  const names = new Set(containers.map((c) => c.name));
  for (const container of Object.keys(options.containerImages ?? {})) {
    if (!names.has(container)) {
      throw new InputError(
        'container-images',
        `task definition ${td} has no container "${container}"`,
        `use one of: ${containerList(containers)}`,
      );
    }
  }
  const map: Record<string, string> = {};
  for (const container of containers) {
    const imageName = options.containerImages?.[container.name!] ?? container.name!;
    const uri = options.images[imageName];
    if (uri) map[container.name!] = uri;
  }
  if (Object.keys(map).length === 0) {
    throw new InputError(
      'images',
      `none of its names (${Object.keys(options.images).join(', ')}) is a container of task definition ${td} (containers: ${containerList(containers)})`,
      `map the container to an image with container-images, e.g. ${containers[0]?.name}=${Object.keys(options.images)[0]}`,
    );
  }
  return map;
}
