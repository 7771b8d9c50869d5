/**
 * Remote `uses:` (OWNER/REPO[/path]@ref) and `actions/checkout` of other
 * repositories, served from local checkouts the runner is given
 * (`RunnerOptions.uses`, `--use OWNER/REPO=PATH`): GitHub would download the
 * repository at that ref; here the mapped checkout stands in for it. A checkout
 * that is a git repository is read at the ref (a tag, a branch or a full SHA
 * that must exist there), its tree exported with `git archive` into a
 * directory of the run, never its working tree; a plain directory stands in
 * for every ref, and the log says so.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** `OWNER/REPO[/path]@ref` split into its parts. */
export interface RemoteUses {
  repository: string;
  /** Path inside the repository ('' for its root). */
  path: string;
  ref: string;
}

/** Whether `uses` names another repository (not `./…`, not `docker://…`). */
export function isRemoteUses(uses: string): boolean {
  return !uses.startsWith('./') && !uses.startsWith('docker://');
}

export function parseRemoteUses(uses: string): RemoteUses {
  const at = uses.lastIndexOf('@');
  const name = at > 0 ? uses.slice(0, at) : '';
  const ref = at > 0 ? uses.slice(at + 1) : '';
  const [owner, repo, ...path] = name.split('/');
  if (!owner || !repo || !ref) {
    throw new Error(`"${uses}" is not OWNER/REPO[/PATH]@REF (a remote uses: names its ref)`);
  }
  return { repository: `${owner}/${repo}`, path: path.join('/'), ref };
}

/** A repository at one ref, as the run reads it. */
export interface ResolvedRepository {
  repository: string;
  /** The ref as written (`v1`, `main`, a SHA): github.action_ref. */
  ref: string;
  /** The ref as GitHub names it in workflow refs: refs/tags/v1, refs/heads/main, or the SHA. */
  fullRef: string;
  /** The commit, or '' for a plain directory. */
  sha: string;
  /** The files at that ref. */
  dir: string;
  /** 'git': exported from the checkout's history; 'directory': the mapped directory as it is. */
  source: 'git' | 'directory';
  /** The mapped checkout. */
  checkout: string;
}

export const USE_OPTION_HINT = 'RunnerOptions.uses, or --use OWNER/REPO=PATH on the command line';

function git(cwd: string, args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function tryGit(cwd: string, args: string[]): string | undefined {
  try {
    return git(cwd, args);
  } catch {
    return undefined;
  }
}

/** The checkout is the top of a git repository (not a folder inside another one). */
export function isGitRepository(dir: string): boolean {
  const top = tryGit(dir, ['rev-parse', '--show-toplevel']);
  return top !== undefined && realpathSync(top) === realpathSync(dir);
}

/**
 * A ref of the repository in `dir` as GitHub resolves the ref of a `uses:` or
 * a checkout: a full commit SHA, else a tag, else a branch (a clone's remote
 * branches count). Undefined when it has none of them.
 */
export function resolveGitRef(dir: string, ref: string): { sha: string; fullRef: string } | undefined {
  const commit = (rev: string) => tryGit(dir, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]);
  if (/^[0-9a-f]{40}$/i.test(ref)) {
    const sha = commit(ref);
    return sha ? { sha, fullRef: sha } : undefined;
  }
  const name = ref.replace(/^refs\/(heads|tags)\//, '');
  const candidates: [string, string][] = ref.startsWith('refs/')
    ? [[ref, ref]]
    : [
        [`refs/tags/${name}`, `refs/tags/${name}`],
        [`refs/heads/${name}`, `refs/heads/${name}`],
        [`refs/remotes/origin/${name}`, `refs/heads/${name}`],
      ];
  for (const [rev, fullRef] of candidates) {
    const sha = commit(rev);
    if (sha) return { sha, fullRef };
  }
  return undefined;
}

/** The mapped checkouts of one run, and the trees exported from them (removed by close()). */
export class RemoteRepositories {
  private readonly checkouts = new Map<string, string>();
  private readonly exported = new Map<string, string>();
  private root: string | undefined;

  constructor(uses: Record<string, string> = {}) {
    for (const [repository, path] of Object.entries(uses)) {
      if (!/^[^/\s]+\/[^/\s]+$/.test(repository))
        throw new Error(`uses: "${repository}" is not OWNER/REPO (${USE_OPTION_HINT})`);
      const dir = resolve(path);
      if (!existsSync(dir)) throw new Error(`uses: ${repository} is mapped to ${dir}, which does not exist`);
      // Owner and repository names are case-insensitive on GitHub.
      this.checkouts.set(repository.toLowerCase(), dir);
    }
  }

  /** The checkout mapped for `repository`, or an error naming the option that maps it. */
  checkout(repository: string, what: string): string {
    const dir = this.checkouts.get(repository.toLowerCase());
    if (!dir) {
      throw new Error(
        `${what}: no local checkout of ${repository} is mapped; map one with ${USE_OPTION_HINT.replace('OWNER/REPO', repository)}`,
      );
    }
    return dir;
  }

  /**
   * `repository` at `ref` (undefined: the checkout's HEAD, as a checkout
   * without `ref:` takes the default branch). `what` names the step or job
   * for errors.
   */
  at(repository: string, ref: string | undefined, what: string): ResolvedRepository {
    return this.read(repository, this.checkout(repository, what), ref, what);
  }

  /** Like at(), for a checkout given by its directory (the run's own repository). */
  read(repository: string, checkout: string, ref: string | undefined, what: string): ResolvedRepository {
    if (!isGitRepository(checkout)) {
      return {
        repository,
        ref: ref ?? '',
        fullRef: ref ?? '',
        sha: '',
        dir: checkout,
        source: 'directory',
        checkout,
      };
    }
    const resolved = ref === undefined ? headOf(checkout) : resolveGitRef(checkout, ref);
    if (!resolved) {
      throw new Error(
        `${what}: ${repository} has no tag, branch or commit "${ref ?? 'HEAD'}" in its checkout ${checkout}`,
      );
    }
    return {
      repository,
      ref: ref ?? resolved.fullRef,
      ...resolved,
      dir: this.export(checkout, resolved.sha),
      source: 'git',
      checkout,
    };
  }

  /** The tree of `sha`, exported once per run (git archive: the commit's files, never the working tree). */
  private export(checkout: string, sha: string): string {
    const key = `${checkout}@${sha}`;
    const done = this.exported.get(key);
    if (done) return done;
    this.root ??= mkdtempSync(join(tmpdir(), 'runner-uses-'));
    const dir = join(this.root, `${this.exported.size}-${sha.slice(0, 12)}`);
    mkdirSync(dir);
    const archive = join(this.root, `${sha}.tar`);
    git(checkout, ['archive', '--format=tar', '-o', archive, sha]);
    execFileSync('tar', ['-xf', archive, '-C', dir]);
    rmSync(archive);
    this.exported.set(key, dir);
    return dir;
  }

  close(): void {
    if (this.root) rmSync(this.root, { recursive: true, force: true });
    this.root = undefined;
    this.exported.clear();
  }

  /** For log lines: how a resolved repository was read. */
  describe(r: ResolvedRepository): string {
    return r.source === 'git'
      ? `${r.repository}@${r.ref} (${r.sha.slice(0, 12)}, from ${r.checkout})`
      : `${r.repository}@${r.ref} (the directory ${r.checkout} as it is: not a git repository, so the ref is not resolved)`;
  }
}

function headOf(dir: string): { sha: string; fullRef: string } | undefined {
  const sha = tryGit(dir, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}']);
  if (!sha) return undefined;
  const branch = tryGit(dir, ['symbolic-ref', '--quiet', 'HEAD']);
  return { sha, fullRef: branch ?? sha };
}
