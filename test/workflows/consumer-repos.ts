/**
 * The repositories of the consumer tests: a consumer's repository made from a
 * fixture, and this suite as `acme/ecs-ship@v1` resolves it — a clone of this
 * repository's committed HEAD with `v1` tagged in the clone (never here).
 */
import { execFileSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { repositoryRoot } from '../../runner/repo.js';

/** git with the given identity and default branch main, so commits need no global configuration. */
export const gitAs =
  (name: string, email: string) =>
  (cwd: string, ...args: string[]): string =>
    execFileSync(
      'git',
      ['-c', `user.name=${name}`, '-c', `user.email=${email}`, '-c', 'init.defaultBranch=main', ...args],
      { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    ).trim();

/** git as the shop's CI. */
export const git = gitAs('Shop CI', 'ci@shop.example');

/** Everything in the working tree of `cwd` committed as one commit; its sha. */
export function commitAll(cwd: string, message: string, run = git): string {
  run(cwd, 'add', '-A');
  run(cwd, 'commit', '--quiet', '-m', message);
  return run(cwd, 'rev-parse', 'HEAD');
}

/** The fixture directory copied to `path` and committed as one commit of a new repository. */
export function consumerRepository(
  fixture: string,
  path: string,
  message: string,
): { path: string; sha: string } {
  cpSync(fixture, path, { recursive: true });
  git(path, 'init', '--quiet');
  return { path, sha: commitAll(path, message) };
}

/** A clone of this repository in `dir`, with `v1` tagged at its HEAD: what `acme/ecs-ship@v1` resolves to. */
export function suiteClone(dir: string, name = 'ecs-ship'): { path: string; v1: string } {
  const path = join(dir, name);
  git(dir, 'clone', '--quiet', repositoryRoot, path);
  // Forced: the clone carries this repository's own tags, v1 among them once released.
  git(path, 'tag', '--force', 'v1');
  return { path, v1: git(path, 'rev-parse', 'v1^{commit}') };
}
