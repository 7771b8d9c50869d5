/** Every input of the migrate action, read and validated in one place. */
import { parseImageReference, parseImages } from '../../../lib/contracts/images.js';
import { checkRegionAndAccount, clusterName } from '../../../lib/contracts/ecs-refs.js';
import { InputError } from '../../../lib/errors.js';
import type { MigrationOptions, NetworkSource } from '../../../lib/migrate/run.js';
import {
  parseAssignPublicIp,
  parseCapacityProviderStrategy,
  parseCommand,
  parseContainerImages,
  parseLaunchType,
  parseStartedBy,
} from '../../../lib/migrate/parse.js';
import { idList, integer, list, optional, required, stepRegion } from '../../_common/inputs.js';

export type Inputs = Omit<MigrationOptions, 'region' | 'timing'>;

export function getInputs(env: NodeJS.ProcessEnv = process.env): Inputs {
  const cluster = required('cluster');
  const taskDefinition = required(
    'task-definition',
    'give the migration task definition family, e.g. alva-migrations',
  );

  const imagesRaw = optional('images');
  const imageRaw = optional('image');
  const container = optional('container');
  const containerImagePairs = list('container-images');
  if (imagesRaw && imageRaw) {
    throw new InputError(
      'image',
      'cannot be combined with images',
      'give either images (JSON) or image (one URI)',
    );
  }
  const image = imageRaw ? parseImageReference(imageRaw, 'image') : undefined;
  const images = imagesRaw ? parseImages(imagesRaw) : undefined;
  if (containerImagePairs.length > 0 && !images) {
    throw new InputError('container-images', 'needs images', 'pass the build-push images output as images');
  }
  const containerImages = images ? parseContainerImages(containerImagePairs, images) : undefined;

  const commandRaw = optional('command');
  const command = commandRaw ? parseCommand(commandRaw) : undefined;

  const fromService = optional('network-from-service');
  const subnets = idList('subnets');
  const securityGroups = idList('security-groups');
  const assignPublicIpRaw = optional('assign-public-ip');
  let network: NetworkSource | undefined;
  if (fromService) {
    const extra = [
      subnets.length && 'subnets',
      securityGroups.length && 'security-groups',
      assignPublicIpRaw && 'assign-public-ip',
    ].filter(Boolean);
    if (extra.length > 0) {
      throw new InputError(
        'network-from-service',
        `cannot be combined with ${extra.join(', ')}`,
        'copy the network from a service, or give it explicitly, not both',
      );
    }
    network = { fromService };
  } else if (subnets.length > 0) {
    network = {
      subnets,
      securityGroups,
      ...(assignPublicIpRaw ? { assignPublicIp: parseAssignPublicIp(assignPublicIpRaw) } : {}),
    };
  } else if (securityGroups.length > 0 || assignPublicIpRaw) {
    throw new InputError(
      'subnets',
      'is required with security-groups and assign-public-ip',
      'give the subnet ids',
    );
  }

  clusterName(cluster);
  checkRegionAndAccount(
    [
      { input: 'cluster', value: cluster },
      { input: 'task-definition', value: taskDefinition },
      ...(fromService ? [{ input: 'network-from-service', value: fromService }] : []),
    ],
    stepRegion(env),
  );

  const launchTypeRaw = optional('launch-type');
  const strategyRaw = optional('capacity-provider-strategy');
  if (launchTypeRaw && strategyRaw) {
    throw new InputError(
      'capacity-provider-strategy',
      'cannot be combined with launch-type (RunTask accepts one of them)',
      'remove one; with neither, the cluster default capacity provider strategy is used',
    );
  }

  const startedBy = parseStartedBy(
    optional('started-by') ??
      `migrate-${env.GITHUB_RUN_ID ?? 'local'}-${env.GITHUB_RUN_ATTEMPT ?? '1'}`.slice(0, 128),
  );

  return {
    cluster,
    taskDefinition,
    ...(images ? { images } : {}),
    ...(containerImages && Object.keys(containerImages).length ? { containerImages } : {}),
    ...(image ? { image } : {}),
    ...(container ? { container } : {}),
    ...(command ? { command } : {}),
    ...(network ? { network } : {}),
    ...(launchTypeRaw ? { launchType: parseLaunchType(launchTypeRaw) } : {}),
    ...(strategyRaw ? { capacityProviderStrategy: parseCapacityProviderStrategy(strategyRaw) } : {}),
    timeoutSeconds: integer('timeout-seconds', 600, 1, 7 * 24 * 3600),
    startedBy,
  };
}
