import * as core from '@actions/core';
import { InputError } from '../../lib/errors.js';

/** A required input, trimmed; a missing one names itself. */
export function required(name: string, fix?: string): string {
  const value = core.getInput(name).trim();
  if (!value)
    throw new InputError(name, 'is required but empty', fix ?? `set \`${name}:\` in the step's \`with:\``);
  return value;
}

export function optional(name: string): string | undefined {
  const value = core.getInput(name).trim();
  return value === '' ? undefined : value;
}

export function bool(name: string, fallback: boolean): boolean {
  const value = core.getInput(name).trim().toLowerCase();
  if (value === '') return fallback;
  if (['true', 'yes', '1', 'on'].includes(value)) return true;
  if (['false', 'no', '0', 'off'].includes(value)) return false;
  throw new InputError(name, `"${value}" is not a boolean`, 'use true or false');
}

/** A whole number within [min, max]. */
export function integer(name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = core.getInput(name).trim();
  if (raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InputError(
      name,
      `"${raw}" is not a whole number between ${min} and ${max}`,
      `give a number such as ${fallback}`,
    );
  }
  return value;
}

/** A list given one per line or comma-separated; blanks dropped. */
export function list(name: string): string[] {
  return core
    .getInput(name)
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * A list of AWS ids (subnets, security groups): one per line or comma-separated.
 * An entry with a space in it is ids separated by spaces, which AWS would take
 * as one id that does not exist: refused with the fix.
 */
export function idList(name: string): string[] {
  const ids = list(name);
  const spaced = ids.find((id) => /\s/.test(id));
  if (spaced !== undefined) {
    throw new InputError(
      name,
      `"${spaced}" is several ids separated by spaces, which AWS would read as one id`,
      `separate them with commas or newlines: ${spaced.split(/\s+/).join(',')}`,
    );
  }
  return ids;
}

/** An optional input masked in the log from here on (tokens, passwords). */
export function secret(name: string): string | undefined {
  const value = optional(name);
  if (value) core.setSecret(value);
  return value;
}

/**
 * The region of the step's AWS clients as the SDK reads it from the
 * environment (aws-actions/configure-aws-credentials sets AWS_REGION);
 * undefined when it comes from elsewhere (a profile), which inputs cannot see.
 */
export function stepRegion(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;
}

/**
 * An AWS error that only a wrong input causes, as the InputError naming that
 * input. ECS answers ClusterNotFoundException on a step's first read for a
 * cluster that is not in the step's account and region: a mistyped name, or
 * the ARN of another account's cluster (which only AWS can tell: see
 * lib/contracts/ecs-refs.ts). Nothing has changed by then.
 */
export function awsInputError(err: unknown): InputError | undefined {
  if (err instanceof Error && err.name === 'ClusterNotFoundException') {
    return new InputError(
      'cluster',
      "names no cluster ECS has in the account of these credentials and the step's region (ClusterNotFoundException)",
      "give the name or ARN of a cluster of that account in the step's AWS region",
    );
  }
  return undefined;
}
