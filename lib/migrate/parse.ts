/**
 * Parsing of the migrate inputs whose format is richer than a string (the
 * `images` contract is lib/contracts/images.ts): every
 * function throws InputError naming the input, so a bad value fails before
 * any AWS call.
 */
import { parse as parseShell } from 'shell-quote';
import type { ImageMap } from '../contracts/images.js';
import { bareMap } from '../contracts/json.js';
import { InputError } from '../errors.js';

/**
 * A container command: a JSON array of strings, or a shell-like string split
 * into words with shell quoting rules. ECS runs the command without a shell
 * (exec form), so shell features (variables, pipes, globs, &&) would not
 * work: they are rejected with the fix instead of being passed on literally.
 */
export function parseCommand(raw: string, input = 'command'): string[] {
  const text = raw.trim();
  if (text.startsWith('[')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new InputError(
        input,
        `is not valid JSON (${(err as Error).message})`,
        'give a JSON array of strings',
      );
    }
    if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string')) {
      throw new InputError(input, 'must be a non-empty JSON array of strings', 'e.g. ["pnpm", "db:migrate"]');
    }
    return value;
  }
  const shellFix = `ECS runs the command without a shell; to use one write ${JSON.stringify(['sh', '-c', text])}`;
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  if (lines.length > 1) {
    throw new InputError(
      input,
      `spans ${lines.length} lines, which would run as one command with the words of every line`,
      `give one command on one line, or a JSON array; for several commands write ${JSON.stringify(['sh', '-c', lines.map((l) => l.trim()).join(' && ')])}`,
    );
  }
  const quote = unclosedQuote(text);
  if (quote) {
    throw new InputError(
      input,
      `has a ${quote === '"' ? 'double' : 'single'} quote (${quote}) that is never closed`,
      'close the quote, or give the command as a JSON array of strings, e.g. ["pnpm", "db:migrate"]',
    );
  }
  const words: string[] = [];
  const entries = parseShell(text, (name) => {
    throw new InputError(input, `uses the variable $${name}`, shellFix);
  });
  for (const entry of entries) {
    if (typeof entry === 'string') words.push(entry);
    else if ('comment' in entry)
      throw new InputError(input, `contains a comment (#${entry.comment})`, shellFix);
    else if (entry.op === 'glob') throw new InputError(input, `contains the glob ${entry.pattern}`, shellFix);
    else throw new InputError(input, `contains the shell operator ${entry.op}`, shellFix);
  }
  if (words.length === 0) throw new InputError(input, 'is empty', 'give the command, e.g. pnpm db:migrate');
  return words;
}

/** The quote left open at the end of `text` under shell quoting rules (a shell would wait for more). */
function unclosedQuote(text: string): '"' | "'" | undefined {
  let open: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (open === "'") {
      if (c === "'") open = undefined;
    } else if (c === '\\') {
      i++; // escaped, inside double quotes or outside any
    } else if (open === '"') {
      if (c === '"') open = undefined;
    } else if (c === '"' || c === "'") {
      open = c;
    }
  }
  return open;
}

/**
 * `container-images`: which entry of `images` each container takes when the
 * names differ, as `container=image-name` pairs (one per line or
 * comma-separated), e.g. `migrations=api`.
 */
export function parseContainerImages(
  pairs: string[],
  images: ImageMap,
  input = 'container-images',
): Record<string, string> {
  const mapping = bareMap<string>();
  for (const pair of pairs) {
    const match = /^([^=\s]+)\s*=\s*([^=\s]+)$/.exec(pair);
    if (!match) throw new InputError(input, `"${pair}" is not container=image-name`, 'e.g. migrations=api');
    const [, container, name] = match as unknown as [string, string, string];
    if (!Object.hasOwn(images, name)) {
      throw new InputError(
        input,
        `"${pair}" names image "${name}", which is not in images`,
        `use one of: ${Object.keys(images).join(', ')}`,
      );
    }
    mapping[container] = name;
  }
  return mapping;
}

export interface CapacityProviderStrategyItem {
  capacityProvider: string;
  weight?: number;
  base?: number;
}

/**
 * A capacity provider strategy: the API's JSON array, or the short form
 * `FARGATE_SPOT:3,FARGATE:1:1` (name[:weight[:base]]).
 */
export function parseCapacityProviderStrategy(
  raw: string,
  input = 'capacity-provider-strategy',
): CapacityProviderStrategyItem[] {
  const text = raw.trim();
  let items: CapacityProviderStrategyItem[];
  if (text.startsWith('[')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new InputError(input, `is not valid JSON (${(err as Error).message})`);
    }
    if (!Array.isArray(value)) throw new InputError(input, 'must be a JSON array');
    items = value.map((v) => {
      const item = v as Record<string, unknown>;
      if (!item || typeof item.capacityProvider !== 'string') {
        throw new InputError(input, `${JSON.stringify(v)} has no capacityProvider`);
      }
      return {
        capacityProvider: item.capacityProvider,
        ...(item.weight !== undefined ? { weight: item.weight as number } : {}),
        ...(item.base !== undefined ? { base: item.base as number } : {}),
      };
    });
  } else {
    items = text
      .split(/[\n,]/)
      .map((s) => s.trim())
      .filter(Boolean)
      .map((part) => {
        const [capacityProvider, weight, base, extra] = part.split(':').map((s) => s.trim());
        if (!capacityProvider || extra !== undefined) {
          throw new InputError(
            input,
            `"${part}" is not name[:weight[:base]]`,
            'e.g. FARGATE_SPOT:3,FARGATE:1:1',
          );
        }
        return {
          capacityProvider,
          ...(weight ? { weight: Number(weight) } : {}),
          ...(base ? { base: Number(base) } : {}),
        };
      });
  }
  if (items.length === 0 || items.length > 20) {
    throw new InputError(input, `must name between 1 and 20 capacity providers (got ${items.length})`);
  }
  for (const item of items) {
    for (const [field, max] of [
      ['weight', 1000],
      ['base', 100000],
    ] as const) {
      const n = item[field];
      if (n !== undefined && (!Number.isInteger(n) || n < 0 || n > max)) {
        throw new InputError(input, `${item.capacityProvider}: ${field} must be a whole number 0-${max}`);
      }
    }
  }
  if (items.filter((i) => i.base).length > 1) {
    throw new InputError(input, 'only one capacity provider may have a base');
  }
  return items;
}

export const LAUNCH_TYPES = ['FARGATE', 'EC2', 'EXTERNAL', 'MANAGED_INSTANCES'] as const;
export type LaunchType = (typeof LAUNCH_TYPES)[number];

export function parseLaunchType(raw: string, input = 'launch-type'): LaunchType {
  const value = raw.trim().toUpperCase();
  if (!(LAUNCH_TYPES as readonly string[]).includes(value)) {
    throw new InputError(input, `"${raw}" is not a launch type`, `use one of ${LAUNCH_TYPES.join(', ')}`);
  }
  return value as LaunchType;
}

/** ENABLED/DISABLED, also accepting true/false. */
export function parseAssignPublicIp(raw: string, input = 'assign-public-ip'): 'ENABLED' | 'DISABLED' {
  const value = raw.trim().toUpperCase();
  if (['ENABLED', 'TRUE', 'YES', 'ON'].includes(value)) return 'ENABLED';
  if (['DISABLED', 'FALSE', 'NO', 'OFF'].includes(value)) return 'DISABLED';
  throw new InputError(input, `"${raw}" is not ENABLED or DISABLED`);
}

/** RunTask's startedBy: up to 128 letters, numbers, hyphens, forward slashes and underscores. */
export function parseStartedBy(raw: string, input = 'started-by'): string {
  if (!/^[A-Za-z0-9_/-]{1,128}$/.test(raw)) {
    throw new InputError(
      input,
      `"${raw}" is not a valid startedBy`,
      'use up to 128 letters, numbers, hyphens (-), forward slashes (/) and underscores (_)',
    );
  }
  return raw;
}
