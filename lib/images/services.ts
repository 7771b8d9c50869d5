/**
 * The `services` input: which images to build. A JSON or YAML list of
 * `{name, context, dockerfile?, target?, build-args?, repository?, paths?}`.
 */
import { parse as parseYaml } from 'yaml';
import { InputError } from '../errors.js';

export interface ServiceSpec {
  /** Key of the `images` output; also the default repository. */
  name: string;
  /** Build context directory, relative to the workspace. */
  context: string;
  /** Dockerfile path relative to the workspace; default `<context>/Dockerfile`. */
  dockerfile: string;
  target?: string;
  buildArgs: Record<string, string>;
  /** Repository name in the registry (for ECR, the repository name without the registry host). */
  repository: string;
  /**
   * Globs relative to the repository root (`packages/common/**`, `!**\/*.md`)
   * naming the files whose changes make the image change; when set they
   * replace the build context as the change set of the fingerprint
   * (lib/images/fingerprint.ts). A service in a shared context lists its own.
   */
  paths?: string[];
}

const KEYS = new Set(['name', 'context', 'dockerfile', 'target', 'build-args', 'repository', 'paths']);
const EXAMPLE = 'e.g. `- {name: web, context: services/web}` one per line';
// Docker's reference grammar: lowercase path components separated by "/".
const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function fail(problem: string, fix = EXAMPLE): never {
  throw new InputError('services', problem, fix);
}

function text(value: unknown, where: string): string {
  if (typeof value === 'string' && value.trim() !== '') return value.trim();
  if (typeof value === 'number') return String(value);
  return fail(`${where} must be a non-empty string`);
}

function buildArgs(value: unknown, where: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  const entries: [string, string][] = [];
  if (Array.isArray(value)) {
    for (const item of value) {
      const match = typeof item === 'string' ? /^([^=]+)=(.*)$/s.exec(item) : null;
      if (!match) fail(`${where} entry ${JSON.stringify(item)} is not KEY=VALUE`);
      entries.push([match[1]!.trim(), match[2]!]);
    }
  } else if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === null || typeof v === 'object') fail(`${where}.${k} must be a string`);
      entries.push([k, String(v)]);
    }
  } else {
    fail(`${where} must be a map of KEY: VALUE or a list of KEY=VALUE`);
  }
  return Object.fromEntries(entries);
}

/**
 * `paths`: a list of globs (or one, or a newline/comma separated string),
 * relative to the repository root and inside it.
 */
function pathGlobs(value: unknown, where: string): string[] {
  const items: unknown[] = Array.isArray(value)
    ? value
    : typeof value === 'string'
      ? value.split(/[\n,]/)
      : fail(`${where} must be a list of globs`, 'e.g. paths: [packages/common/**, services/web/**]');
  const globs = items.map((item) => {
    if (typeof item !== 'string') return fail(`${where} entry ${JSON.stringify(item)} is not a string`);
    return item.trim();
  });
  const nonEmpty = globs.filter((g) => g !== '');
  if (nonEmpty.length === 0) fail(`${where} is empty`, 'list at least one glob, or leave paths out');
  for (const glob of nonEmpty) {
    const path = glob.replace(/^!/, '');
    if (path === '' || path.startsWith('/') || /^[A-Za-z]:/.test(path) || path.split('/').includes('..')) {
      fail(
        `${where} entry "${glob}" is not a glob inside the repository`,
        'give globs relative to the repository root, e.g. services/web/** (no leading /, no ..)',
      );
    }
  }
  if (nonEmpty[0]!.startsWith('!')) {
    fail(
      `${where} starts with an exclusion ("${nonEmpty[0]}")`,
      'list what to include first, then !exclusions',
    );
  }
  return nonEmpty;
}

/** Parses and validates the `services` input; every problem names the entry and the field. */
export function parseServices(raw: string): ServiceSpec[] {
  if (raw.trim() === '') fail('is empty');
  let parsed: unknown;
  try {
    // YAML is a superset of JSON, so one parser reads both.
    parsed = parseYaml(raw);
  } catch (err) {
    fail(`is neither JSON nor YAML (${(err as Error).message.split('\n')[0]})`);
  }
  if (!Array.isArray(parsed) || parsed.length === 0) fail('must be a non-empty list of services');
  const seen = new Set<string>();
  return parsed.map((entry, i) => {
    const where = `services[${i}]`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      fail(`${where} must be a map with name and context`);
    }
    const record = entry as Record<string, unknown>;
    const unknown = Object.keys(record).filter((k) => !KEYS.has(k));
    if (unknown.length) {
      fail(`${where} has unknown field(s) ${unknown.join(', ')}`, `use only ${[...KEYS].join(', ')}`);
    }
    const name = text(record.name, `${where}.name`);
    if (!NAME.test(name)) fail(`${where}.name "${name}" may only contain letters, digits, "_", "." and "-"`);
    if (seen.has(name)) fail(`service "${name}" is listed twice`, 'give each service a unique name');
    seen.add(name);
    const context = text(record.context, `${where}.context (${name})`);
    const dockerfile =
      record.dockerfile === undefined
        ? `${context.replace(/\/+$/, '')}/Dockerfile`
        : text(record.dockerfile, `${where}.dockerfile (${name})`);
    const repository =
      record.repository === undefined ? name.toLowerCase() : text(record.repository, `${where}.repository`);
    if (!REPOSITORY.test(repository)) {
      fail(
        `${where}.repository "${repository}" is not a valid repository name`,
        'use lowercase letters, digits, "-", "_", "." and "/" (e.g. alva/web)',
      );
    }
    const spec: ServiceSpec = {
      name,
      context,
      dockerfile,
      buildArgs: buildArgs(record['build-args'], `${where}.build-args (${name})`),
      repository,
    };
    if (record.target !== undefined) spec.target = text(record.target, `${where}.target (${name})`);
    if (record.paths !== undefined && record.paths !== null) {
      spec.paths = pathGlobs(record.paths, `${where}.paths (${name})`);
    }
    return spec;
  });
}
