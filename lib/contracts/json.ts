/**
 * Reading the JSON objects one step hands the next: one wording for every
 * contract's "not JSON" / "not an object" errors, and maps that hold only what
 * the JSON gave.
 */
import { InputError } from '../errors.js';

export interface JsonObjectInput {
  /** The input (or output read as an input) the errors name. */
  input: string;
  /** What the value must be, after "must be", e.g. "a JSON object keyed by service name". */
  shape: string;
  /** How to fix a value that is not that shape. */
  fix: string;
}

/** Parses `raw` as one JSON object; anything else (bad JSON, array, string, null) is an InputError. */
export function parseJsonObject(
  raw: string,
  { input, shape, fix }: JsonObjectInput,
): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    throw new InputError(input, `is not valid JSON (${(err as Error).message})`, fix);
  }
  if (!isJsonObject(value)) {
    const got = Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value;
    throw new InputError(input, `must be ${shape}, got ${got}`, fix);
  }
  return value;
}

export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A map without a prototype: `map[name]` finds only the keys put in, never
 * `constructor`, `toString` or `__proto__` inherited by every plain object
 * (container and service names come from AWS, and ECS allows those names).
 */
export function bareMap<T>(entries: Iterable<readonly [string, T]> = []): Record<string, T> {
  const map = Object.create(null) as Record<string, T>;
  // defineProperty, not assignment: a "__proto__" key stays a key.
  for (const [key, value] of entries)
    Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
  return map;
}
