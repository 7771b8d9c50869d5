/** Every input of the action, read and checked in one place. */
import * as core from '@actions/core';
import { InputError } from '../../../lib/errors.js';
import type { RollbackTo } from '../../../lib/ecs/deploy.js';
import type { WaitFor } from '../../../lib/ecs/rollout.js';
import { bool, integer, list, optional, required } from '../../_common/inputs.js';

export interface Inputs {
  cluster: string;
  services: string[];
  /** Container name → image URI; undefined in rollback-to mode. */
  images?: Record<string, string>;
  waitFor: WaitFor;
  timeoutSeconds: number;
  rollbackOnFailure: boolean;
  rollbackTo?: RollbackTo;
  forceNewDeployment: boolean;
}

function parseJsonObject(name: string, raw: string, example: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    throw new InputError(
      name,
      `is not valid JSON (${(err as Error).message})`,
      `give a JSON object such as ${example}`,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InputError(
      name,
      `must be a JSON object, got ${Array.isArray(value) ? 'an array' : typeof value}`,
      `give a JSON object such as ${example}`,
    );
  }
  return value as Record<string, unknown>;
}

function parseImages(raw: string): Record<string, string> {
  const example = '{"web": "123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:…"}';
  const object = parseJsonObject('images', raw, example);
  const entries = Object.entries(object);
  if (entries.length === 0)
    throw new InputError('images', 'is an empty object', `name at least one container: ${example}`);
  for (const [container, image] of entries) {
    if (typeof image !== 'string' || image.trim() === '') {
      throw new InputError(
        'images',
        `the image of container "${container}" must be a non-empty string`,
        `give an image URI: ${example}`,
      );
    }
    if (/\s/.test(image.trim())) {
      throw new InputError(
        'images',
        `the image of container "${container}" contains whitespace ("${image}")`,
        'give a plain image URI',
      );
    }
  }
  return Object.fromEntries(entries.map(([c, i]) => [c, (i as string).trim()]));
}

function parseRollbackTo(raw: string, services: string[]): RollbackTo {
  if (raw === 'previous') return 'previous';
  const example = `{"${services[0] ?? 'web'}": 41}`;
  if (!raw.startsWith('{')) {
    throw new InputError(
      'rollback-to',
      `"${raw}" is neither "previous" nor a JSON object`,
      `use previous, or a JSON object such as ${example}`,
    );
  }
  const object = parseJsonObject('rollback-to', raw, example);
  if (Object.keys(object).length === 0) {
    throw new InputError('rollback-to', 'is an empty object', `name at least one service: ${example}`);
  }
  const result: Record<string, string | number> = {};
  for (const [service, value] of Object.entries(object)) {
    if (!services.includes(service)) {
      throw new InputError(
        'rollback-to',
        `names service "${service}", which is not in \`services\` (${services.join(', ')})`,
        'add it to `services` or remove it from rollback-to',
      );
    }
    const valid =
      (typeof value === 'number' && Number.isInteger(value) && value > 0) ||
      (typeof value === 'string' &&
        /^(\d+|[A-Za-z0-9_-]+:\d+|arn:aws[a-z-]*:ecs:[^:]+:\d+:task-definition\/[A-Za-z0-9_-]+:\d+)$/.test(
          value,
        ));
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

export function getInputs(): Inputs {
  const cluster = required('cluster', 'set `cluster:` to the ECS cluster name or ARN');
  const services = list('services');
  if (services.length === 0) {
    throw new InputError(
      'services',
      'is empty',
      'list the services to deploy, one per line or comma-separated',
    );
  }
  const duplicates = services.filter((s, i) => services.indexOf(s) !== i);
  if (duplicates.length) {
    throw new InputError(
      'services',
      `lists ${[...new Set(duplicates)].join(', ')} more than once`,
      'list each service once',
    );
  }
  const waitFor = (core.getInput('wait-for').trim() || 'healthy') as WaitFor;
  if (waitFor !== 'healthy' && waitFor !== 'steady') {
    throw new InputError(
      'wait-for',
      `"${waitFor}" is not a known condition`,
      'use healthy (new tasks healthy in their target groups) or steady (deployment COMPLETED)',
    );
  }
  const timeoutSeconds = integer('timeout-seconds', 1800, 1, 24 * 3600);
  const rollbackOnFailure = bool('rollback-on-failure', true);
  const forceNewDeployment = bool('force-new-deployment', false);
  const rawImages = optional('images');
  const rawRollbackTo = optional('rollback-to');
  if (rawImages && rawRollbackTo) {
    throw new InputError(
      'rollback-to',
      'cannot be combined with `images`',
      'deploy new images with `images`, or return to an existing revision with `rollback-to`, in separate steps',
    );
  }
  if (!rawImages && !rawRollbackTo && !forceNewDeployment) {
    throw new InputError(
      'images',
      'is required (nothing to deploy)',
      'give `images` (JSON container → image), `rollback-to`, or `force-new-deployment: true`',
    );
  }
  return {
    cluster,
    services,
    ...(rawImages ? { images: parseImages(rawImages) } : {}),
    ...(rawRollbackTo ? { rollbackTo: parseRollbackTo(rawRollbackTo, services) } : {}),
    waitFor,
    timeoutSeconds,
    rollbackOnFailure,
    forceNewDeployment,
  };
}
