/**
 * A fingerprint of everything a build reads: the files of the context that
 * Docker sends (minus .dockerignore), the Dockerfile, build args, target and
 * platforms. Equal fingerprints mean BuildKit would produce the same layers,
 * so the image built for an earlier commit can be reused (reuse-unchanged).
 *
 * It errs towards rebuilding: a .dockerignore with exceptions (`!`) excludes
 * nothing here, so a file Docker sends is never left out of the hash.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, readlink, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { ServiceSpec } from './services.js';

/** .dockerignore patterns as a predicate over context-relative paths ("a/b.js"). */
export function dockerignoreMatcher(text: string): (path: string) => boolean {
  const patterns = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  // Re-inclusions make the outcome order-dependent; hashing every file is the safe answer.
  if (patterns.some((p) => p.startsWith('!'))) return () => false;
  const regexes = patterns.map((pattern) => {
    const clean = pattern.replace(/^\/+/, '').replace(/\/+$/, '').replace(/^\.\//, '');
    let source = '';
    for (let i = 0; i < clean.length; i++) {
      const c = clean[i]!;
      if (c === '*' && clean[i + 1] === '*') {
        source += '.*';
        i++;
        if (clean[i + 1] === '/') i++;
      } else if (c === '*') source += '[^/]*';
      else if (c === '?') source += '[^/]';
      else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
    return new RegExp(`^${source}$`);
  });
  // A pattern matching a directory excludes everything under it.
  return (path) => {
    const parts = path.split('/');
    for (let n = 1; n <= parts.length; n++) {
      const prefix = parts.slice(0, n).join('/');
      if (regexes.some((r) => r.test(prefix))) return true;
    }
    return false;
  };
}

async function listFiles(dir: string, base: string, ignored: (path: string) => boolean): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    const full = join(dir, entry.name);
    const rel = relative(base, full).split('\\').join('/');
    if (ignored(rel)) continue;
    if (entry.isDirectory()) files.push(...(await listFiles(full, base, ignored)));
    else files.push(rel);
  }
  return files;
}

export async function buildFingerprint(service: ServiceSpec, platforms: string[]): Promise<string> {
  const hash = createHash('sha256');
  const field = (name: string, value: string | Buffer) => {
    hash.update(`${name}\0${typeof value === 'string' ? Buffer.byteLength(value) : value.length}\0`);
    hash.update(value);
  };
  field('dockerfile', await readFile(service.dockerfile));
  field('target', service.target ?? '');
  field('platforms', platforms.join(','));
  for (const key of Object.keys(service.buildArgs).sort()) field(`arg:${key}`, service.buildArgs[key]!);
  const ignoreText = await readFile(join(service.context, '.dockerignore'), 'utf8').catch(() => '');
  const ignored = dockerignoreMatcher(ignoreText);
  for (const rel of (await listFiles(service.context, service.context, ignored)).sort()) {
    const full = join(service.context, rel);
    const info = await stat(full).catch(() => undefined);
    if (!info || info.isDirectory()) {
      // A dangling symlink or one to a directory: COPY copies the link itself.
      field(`link:${rel}`, await readlink(full).catch(() => ''));
      continue;
    }
    field(`file:${rel}:${(info.mode & 0o111) !== 0 ? 'x' : '-'}`, await readFile(full));
  }
  return hash.digest('hex');
}

/** The registry tag that marks an image built from these inputs. */
export const fingerprintTag = (fingerprint: string) => `inputs-${fingerprint.slice(0, 40)}`;
