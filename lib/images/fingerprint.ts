/**
 * A fingerprint of everything a build reads: the files of the context that
 * Docker sends (minus .dockerignore), the Dockerfile, build args, target and
 * platforms. Equal fingerprints mean BuildKit would produce the same layers,
 * so the image built for an earlier commit can be reused (reuse-unchanged).
 *
 * A service may narrow its change set with `paths` (globs relative to the
 * repository): then the files matching them replace the context's files, so
 * a sibling's change in a shared context leaves this service's fingerprint
 * alone. The Dockerfile, target, build args and platforms count either way,
 * and a file under the context that .dockerignore excludes never counts
 * (Docker does not send it, so it cannot change the image).
 *
 * .dockerignore is read as BuildKit reads it: `<Dockerfile>.dockerignore`
 * next to the Dockerfile first, else `.dockerignore` at the context root;
 * patterns in order, the last one matching a path (or a directory above it)
 * decides, `!` re-includes.
 */
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { ServiceSpec } from './services.js';

interface Pattern {
  regex: RegExp;
  /** `!pattern`: re-includes what an earlier pattern excluded. */
  negated: boolean;
}

/**
 * A glob as Docker's pattern matcher (moby/patternmatcher) reads one: `*` and
 * `?` within one path segment, `**` across segments (`a/**\/b` also matches
 * `a/b`), `[...]` classes, `\` escapes.
 */
function globRegex(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      i++;
      if (glob[i + 1] === '/') {
        i++;
        source += '(?:.*/)?';
      } else source += '.*';
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) source += '\\[';
      else {
        source += `[${glob
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else if (c === '\\' && i + 1 < glob.length) source += `\\${glob[++i]}`;
    else source += c.replace(/[.+^${}()|\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** `./a//b/` -> `a/b`, as Go's filepath.Clean leaves a pattern (a leading `/` means the root). */
function cleanGlob(glob: string): string {
  return glob
    .split('/')
    .filter((part) => part !== '' && part !== '.')
    .join('/');
}

function parsePatterns(lines: string[]): Pattern[] {
  return lines
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((line) => {
      const negated = line.startsWith('!');
      return { negated, regex: globRegex(cleanGlob(negated ? line.slice(1).trim() : line)) };
    })
    .filter((p) => p.regex.source !== '^$');
}

/**
 * Ordered include/exclude patterns as a predicate: the last pattern that
 * matches the path or one of its parent directories decides.
 */
function lastMatchWins(patterns: Pattern[]): (path: string) => boolean {
  return (path) => {
    const parts = path.split('/');
    const prefixes = parts.map((_, n) => parts.slice(0, n + 1).join('/'));
    let matched = false;
    for (const { regex, negated } of patterns) {
      if (negated !== matched) continue; // only an exclusion can flip a non-match, only a `!` a match
      if (prefixes.some((prefix) => regex.test(prefix))) matched = !negated;
    }
    return matched;
  };
}

/** .dockerignore patterns as a predicate over context-relative paths ("a/b.js"): true when Docker leaves it out. */
export function dockerignoreMatcher(text: string): (path: string) => boolean {
  return lastMatchWins(parsePatterns(text.split(/\r?\n/)));
}

/** `paths` globs (`!` excludes) as a predicate over repository-relative paths: true when the path is in. */
export function pathsMatcher(globs: string[]): (path: string) => boolean {
  return lastMatchWins(parsePatterns(globs));
}

/** Whether a pattern list can re-include below an excluded directory (then no directory is pruned). */
const hasNegation = (lines: string[]) => lines.some((l) => l.trim().startsWith('!'));

const slashed = (path: string) => path.split(sep).join('/');

/**
 * Files under `dir`, relative to `base`, without those `skip` names; a skipped
 * directory is not entered unless `prune` is false (a later `!` may re-include).
 */
async function listFiles(
  dir: string,
  base: string,
  skip: (path: string) => boolean,
  prune: boolean,
): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return [];
    throw err;
  });
  const files: string[] = [];
  for (const entry of entries) {
    const full = join(dir, entry.name);
    const rel = slashed(relative(base, full));
    const skipped = skip(rel);
    if (entry.isDirectory()) {
      if (!(skipped && prune)) files.push(...(await listFiles(full, base, skip, prune)));
    } else if (!skipped) files.push(rel);
  }
  return files;
}

/** The ignore file BuildKit applies to this build: the Dockerfile's own, else the context's. */
async function ignoreLines(service: ServiceSpec): Promise<string[]> {
  const own = await readFile(`${service.dockerfile}.dockerignore`, 'utf8').catch(() => undefined);
  const text = own ?? (await readFile(join(service.context, '.dockerignore'), 'utf8').catch(() => ''));
  return text.split(/\r?\n/);
}

/**
 * Where a glob's walk starts: its segments before the first one with a
 * wildcard. A glob without one names a file or a directory itself.
 */
function staticPrefix(glob: string): { prefix: string; exact: boolean } {
  const parts = cleanGlob(glob).split('/');
  const fixed: string[] = [];
  for (const part of parts) {
    if (/[*?[\\]/.test(part)) break;
    fixed.push(part);
  }
  return { prefix: fixed.join('/'), exact: fixed.length === parts.length };
}

/** The repository files under a glob's static prefix (the file itself when the glob names one). */
async function candidates(
  workspace: string,
  glob: string,
  skip: (path: string) => boolean,
): Promise<string[]> {
  const { prefix, exact } = staticPrefix(glob);
  if (exact) {
    const info = await lstat(join(workspace, prefix)).catch(() => undefined);
    if (!info) return [];
    if (!info.isDirectory()) return [prefix];
  }
  return listFiles(join(workspace, prefix), workspace, skip, true);
}

export interface FingerprintOptions {
  platforms: string[];
  /** The repository root `paths` are relative to (required when the service has paths). */
  workspace?: string;
}

export interface Fingerprint {
  /** sha256 hex of every input. */
  hash: string;
  /** How many files counted. */
  files: number;
  /** `paths` globs that matched no file (a typo narrows the change set to nothing). */
  unmatched: string[];
  /**
   * The context holds the repository's .git and .dockerignore does not leave
   * it out: Docker sends it, so every commit changes the fingerprint.
   */
  sendsGit: boolean;
}

/**
 * The change set: files of the context Docker sends (context-relative), or,
 * with `paths`, the repository files they match minus what .dockerignore
 * keeps out of the context (repository-relative).
 */
async function changeSet(
  service: ServiceSpec,
  workspace: string | undefined,
): Promise<{ root: string; files: string[]; unmatched: string[] }> {
  const lines = await ignoreLines(service);
  const ignored = dockerignoreMatcher(lines.join('\n'));
  if (!service.paths) {
    const files = await listFiles(service.context, service.context, ignored, !hasNegation(lines));
    return { root: service.context, files, unmatched: [] };
  }
  if (!workspace) throw new Error(`${service.name}: paths need the repository root (workspace)`);
  const included = pathsMatcher(service.paths);
  const contextFromRoot = slashed(relative(workspace, service.context));
  const sentByDocker = (path: string) => {
    if (contextFromRoot === '' || contextFromRoot === '.') return !ignored(path);
    if (!path.startsWith(`${contextFromRoot}/`)) return true;
    return !ignored(path.slice(contextFromRoot.length + 1));
  };
  // .git is the repository's history, never a build input.
  const isGit = (path: string) => /(^|\/)\.git(\/|$)/.test(path);
  const found = new Set<string>();
  const includes = service.paths.filter((g) => !g.startsWith('!'));
  for (const glob of includes) {
    for (const path of await candidates(workspace, glob, isGit)) found.add(path);
  }
  const files = [...found].filter((path) => included(path) && sentByDocker(path));
  const unmatched = includes.filter((glob) => {
    const regex = globRegex(cleanGlob(glob));
    return !files.some((path) =>
      path.split('/').some((_, n, parts) => regex.test(parts.slice(0, n + 1).join('/'))),
    );
  });
  return { root: workspace, files, unmatched };
}

export async function fingerprintInputs(
  service: ServiceSpec,
  options: FingerprintOptions,
): Promise<Fingerprint> {
  const hash = createHash('sha256');
  const field = (name: string, value: string | Buffer) => {
    hash.update(`${name}\0${typeof value === 'string' ? Buffer.byteLength(value) : value.length}\0`);
    hash.update(value);
  };
  field('dockerfile', await readFile(service.dockerfile));
  field('target', service.target ?? '');
  field('platforms', options.platforms.join(','));
  for (const key of Object.keys(service.buildArgs).sort()) field(`arg:${key}`, service.buildArgs[key]!);
  const { root, files, unmatched } = await changeSet(service, options.workspace);
  // Which kind of change set: the same file list read two ways is not the same input.
  field('change-set', service.paths ? 'paths' : 'context');
  for (const rel of files.sort()) {
    const full = join(root, rel);
    const info = await stat(full).catch(() => undefined);
    if (!info || info.isDirectory()) {
      // A dangling symlink or one to a directory: COPY copies the link itself.
      field(`link:${rel}`, await readlink(full).catch(() => ''));
      continue;
    }
    field(`file:${rel}:${(info.mode & 0o111) !== 0 ? 'x' : '-'}`, await readFile(full));
  }
  const sendsGit = !service.paths && files.some((rel) => /^\.git(\/|$)/.test(rel));
  return { hash: hash.digest('hex'), files: files.length, unmatched, sendsGit };
}

/** The fingerprint's hash alone (a service without paths needs no workspace). */
export async function buildFingerprint(
  service: ServiceSpec,
  platforms: string[],
  workspace?: string,
): Promise<string> {
  return (await fingerprintInputs(service, { platforms, workspace })).hash;
}

/**
 * The registry tag that marks an image built from these inputs. It is
 * content-addressed: whatever image first gets it was built from exactly
 * these inputs, so the tag never needs to move, and a repository that keeps
 * tags immutable keeps it correctly.
 */
export const fingerprintTag = (fingerprint: string) => `inputs-${fingerprint.slice(0, 40)}`;
