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

/** An optional input masked in the log from here on (tokens, passwords). */
export function secret(name: string): string | undefined {
  const value = optional(name);
  if (value) core.setSecret(value);
  return value;
}
