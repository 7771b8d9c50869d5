/** Every input of the action, read and checked in one place. */
import { parseImageReference, parseImages, type ImageMap } from '../../../lib/contracts/images.js';
import { checkRegionAndAccount, checkServiceList } from '../../../lib/contracts/ecs-refs.js';
import { bareMap, parseJsonObject } from '../../../lib/contracts/json.js';
import { InputError } from '../../../lib/errors.js';
import type { OneImage, RollbackTo } from '../../../lib/ecs/deploy.js';
import { parseRevisionRef } from '../../../lib/ecs/taskdef.js';
import type { IfInProgress } from '../../../lib/ecs/deploy/in-progress.js';
import type { WaitFor } from '../../../lib/ecs/rollout.js';
import { bool, integer, list, optional, required, stepRegion } from '../../_common/inputs.js';

export interface Inputs {
  cluster: string;
  services: string[];
  /** Container name → image URI; undefined in rollback-to mode and with `image`. */
  images?: ImageMap;
  /** The one-service shorthand: one image for one container of the one service (resolved against its task definition). */
  image?: OneImage;
  waitFor: WaitFor;
  timeoutSeconds: number;
  rollbackOnFailure: boolean;
  rollbackTo?: RollbackTo;
  /** Undo this release (a GitHub run id): each service back to the revision it ran before it. */
  rollbackRelease?: string;
  forceNewDeployment: boolean;
  /** A deployment in progress with other images: refuse (fail) or wait for it to end. */
  ifInProgress: IfInProgress;
  /** Keep watching the new revisions this long after they are healthy/steady. */
  bakeSeconds: number;
}

/**
 * rollback-to: `previous`, a revision number (that revision of each service's
 * own family), or a JSON object service → revision number, "family:revision"
 * or task-definition ARN. Whether a revision is of the service's own family is
 * checked against AWS before anything changes (lib/ecs/deploy/plan.ts).
 */
function parseRollbackTo(raw: string, services: string[]): RollbackTo {
  if (raw === 'previous') return 'previous';
  const example = `{"${services[0] ?? 'web'}": 41}`;
  if (/^\d+$/.test(raw)) {
    const revision = Number(raw);
    if (!Number.isSafeInteger(revision) || revision < 1) {
      throw new InputError('rollback-to', `"${raw}" is not a revision number`, 'give a revision number ≥ 1');
    }
    const everyService = bareMap<number>();
    for (const service of services) everyService[service] = revision;
    return everyService;
  }
  if (!raw.startsWith('{')) {
    throw new InputError(
      'rollback-to',
      `"${raw}" is neither "previous" nor a JSON object nor a revision number`,
      `use previous, a revision number of every service's own family (e.g. 41), or a JSON object such as ${example}`,
    );
  }
  const object = parseJsonObject(raw, {
    input: 'rollback-to',
    shape: 'a JSON object',
    fix: `give a JSON object such as ${example}`,
  });
  if (Object.keys(object).length === 0) {
    throw new InputError('rollback-to', 'is an empty object', `name at least one service: ${example}`);
  }
  // No prototype: a service named like an Object member is looked up as itself.
  const result = bareMap<string | number>();
  for (const [service, value] of Object.entries(object)) {
    if (!services.includes(service)) {
      throw new InputError(
        'rollback-to',
        `names service "${service}", which is not in \`services\` (${services.join(', ')})`,
        'add it to `services` or remove it from rollback-to',
      );
    }
    const valid =
      (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) ||
      (typeof value === 'string' && (/^[1-9]\d{0,9}$/.test(value) || parseRevisionRef(value) !== undefined));
    if (!valid) {
      throw new InputError(
        'rollback-to',
        `the revision for "${service}" (${JSON.stringify(value)}) is not a revision number, "family:revision" or task-definition ARN`,
        `e.g. ${example}`,
      );
    }
    result[service] = value as string | number;
  }
  return result;
}

/**
 * `image` and `container`: the one-service case, as `images: {"<container>": "<image>"}`
 * would say it; `container` may be left out when the task definition has one.
 */
function oneImage(services: string[]): OneImage | undefined {
  const raw = optional('image');
  const container = optional('container');
  if (raw === undefined) {
    if (container !== undefined)
      throw new InputError(
        'container',
        'needs `image` (the image that container gets)',
        'give `image` with it, or name containers in `images` instead',
      );
    return undefined;
  }
  if (optional('images') !== undefined) {
    throw new InputError(
      'image',
      'cannot be combined with `images`',
      "give one service's image with `image` (and `container`), or every container's image with `images`, not both",
    );
  }
  if (services.length !== 1) {
    throw new InputError(
      'image',
      `gives one image for one service, but \`services\` lists ${services.length} (${services.join(', ')})`,
      "give the images of several services as JSON with `images`, container name → image (build-push's `images` output), or list one service",
    );
  }
  return { reference: parseImageReference(raw, 'image'), ...(container !== undefined ? { container } : {}) };
}

export function getInputs(env: NodeJS.ProcessEnv = process.env): Inputs {
  const cluster = required('cluster', 'set `cluster:` to the ECS cluster name or ARN');
  const services = list('services');
  if (services.length === 0) {
    throw new InputError(
      'services',
      'is empty',
      'list the services to deploy, one per line or comma-separated',
    );
  }
  checkServiceList(services, cluster);
  const waitFor = (optional('wait-for') ?? 'healthy') as WaitFor;
  if (waitFor !== 'healthy' && waitFor !== 'steady' && waitFor !== 'test-traffic') {
    throw new InputError(
      'wait-for',
      `"${waitFor}" is not a known condition`,
      'use healthy (new tasks healthy in their target groups), steady (deployment COMPLETED) or test-traffic (blue/green, linear and canary services: green on the test listener, held by the release gate)',
    );
  }
  const timeoutSeconds = integer('timeout-seconds', 1800, 1, 24 * 3600);
  const rollbackOnFailure = bool('rollback-on-failure', true);
  const forceNewDeployment = bool('force-new-deployment', false);
  const ifInProgress = (optional('if-in-progress') ?? 'fail') as IfInProgress;
  if (ifInProgress !== 'fail' && ifInProgress !== 'wait') {
    throw new InputError(
      'if-in-progress',
      `"${ifInProgress}" is not a known choice`,
      'use fail (refuse while another deployment of other images is in progress) or wait (wait for it, up to timeout-seconds)',
    );
  }
  const bakeSeconds = integer('bake-seconds', 0, 0, 24 * 3600);
  const rawImagesMap = optional('images');
  const image = oneImage(services);
  // What names the new images in the messages below: `images`, or the shorthand `image`.
  const rawImages = rawImagesMap ?? image?.reference;
  const imagesInput = image ? 'image' : 'images';
  const rawRollbackTo = optional('rollback-to');
  const rollbackRelease = optional('rollback-release');
  if (rollbackRelease !== undefined) {
    if (rawImages || rawRollbackTo) {
      throw new InputError(
        'rollback-release',
        `cannot be combined with \`${rawImages ? imagesInput : 'rollback-to'}\``,
        'undo a release with rollback-release alone, in a step of its own',
      );
    }
    if (!/^[A-Za-z0-9 _.:/=+@-]{1,256}$/.test(rollbackRelease)) {
      throw new InputError(
        'rollback-release',
        `"${rollbackRelease}" is not a release id (a tag value: letters, digits, spaces and _ . : / = + @ -)`,
        'give the GitHub run id of the release: rollback-release: ${{ github.run_id }}',
      );
    }
  }
  if (rawImages && rawRollbackTo) {
    throw new InputError(
      'rollback-to',
      `cannot be combined with \`${imagesInput}\``,
      'deploy new images with `images` (or `image`), or return to an existing revision with `rollback-to`, in separate steps',
    );
  }
  if (!rawImages && !rawRollbackTo && !rollbackRelease && !forceNewDeployment) {
    throw new InputError(
      'images',
      'is required (nothing to deploy)',
      "give `images` (JSON container → image), `image` (one service's image), `rollback-to`, `rollback-release`, or `force-new-deployment: true`",
    );
  }
  const rollbackTo = rawRollbackTo ? parseRollbackTo(rawRollbackTo, services) : undefined;
  checkRegionAndAccount(
    [
      { input: 'cluster', value: cluster },
      ...services.map((value) => ({ input: 'services', value })),
      ...(typeof rollbackTo === 'object' ? Object.values(rollbackTo) : []).map((value) => ({
        input: 'rollback-to',
        value: String(value),
      })),
    ],
    stepRegion(env),
  );
  return {
    cluster,
    services,
    ...(rawImagesMap ? { images: parseImages(rawImagesMap) } : {}),
    ...(image ? { image } : {}),
    ...(rollbackTo ? { rollbackTo } : {}),
    ...(rollbackRelease ? { rollbackRelease } : {}),
    waitFor,
    timeoutSeconds,
    rollbackOnFailure,
    forceNewDeployment,
    ifInProgress,
    bakeSeconds,
  };
}
