/**
 * Third-party actions the pipeline uses, replaced by their documented effect
 * so the workflow can run on this machine:
 * - actions/checkout: `repository` at `ref` copied to `path` in the
 *   workspace. The run's own repository is the runner's `repoRoot` (the one
 *   under test): its working tree, without node_modules, for the run's own
 *   commit (no `ref:`, or the run's sha or ref), else that ref's tree from its
 *   git history. Another repository is its mapped checkout (remote.ts) at
 *   `ref` (default: its HEAD); one not mapped fails the step, naming the option.
 * - aws-actions/configure-aws-credentials: the role assumed through the AWS
 *   endpoint's STS with the job's OIDC token (runner/credentials.ts), its
 *   credentials and region exported to the job's later steps, masked.
 * - actions/setup-node: Node.js on PATH; the runner checks the one it has.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { configureAwsCredentials, type AssumedRole, type CredentialsContext } from './credentials.js';
import type { RemoteRepositories } from './remote.js';

/** Top-level paths a fresh checkout does not have (dist/node_modules is committed and stays). */
const COPY_SKIP = new Set(['node_modules', '.git', '.tmp', 'coverage', 'infra/cdk.out']);

export interface Effect {
  ok: boolean;
  log: string[];
  env: Record<string, string>;
  masks: string[];
  outputs?: Record<string, string>;
  /** The role a credentials step assumed, for the run's report. */
  assumed?: AssumedRole;
}

export interface EmulationContext extends CredentialsContext {
  repoRoot: string;
  workspace: string;
  github: Record<string, unknown>;
  /** The mapped checkouts of other repositories. */
  remotes: RemoteRepositories;
}

type Emulation = (inputs: Record<string, string>, ctx: EmulationContext) => Effect | Promise<Effect>;

const emulations: Record<string, Emulation> = {
  'actions/checkout': (inputs, ctx) => {
    const own = String(ctx.github.repository);
    const repository = inputs.repository || own;
    const ref = inputs.ref || undefined;
    const target = resolve(ctx.workspace, inputs.path ?? '');
    if (target !== ctx.workspace && !target.startsWith(`${ctx.workspace}/`)) {
      return { ok: false, log: [`path "${inputs.path}" is outside the workspace`], env: {}, masks: [] };
    }
    const runCommit = [undefined, ctx.github.sha, ctx.github.ref, ctx.github.ref_name];
    mkdirSync(target, { recursive: true });
    if (repository.toLowerCase() === own.toLowerCase() && runCommit.includes(ref)) {
      // The run's own commit is the working tree under test. A copy, never
      // links: steps may write (npm ci, builds) and must not touch the
      // developer's tree. node_modules is left out, as in a fresh checkout.
      copyTree(ctx.repoRoot, target);
      // Git history without copying it: a gitfile pointing at the repository's.
      if (existsSync(join(ctx.repoRoot, '.git'))) {
        writeFileSync(join(target, '.git'), `gitdir: ${join(ctx.repoRoot, '.git')}\n`);
      }
      return {
        ok: true,
        log: [
          `checkout: ${repository}@${String(ref ?? ctx.github.sha).slice(0, 12)} → ${inputs.path || '.'} (a copy of the local working tree ${ctx.repoRoot})`,
        ],
        env: {},
        masks: [],
      };
    }
    const what = `actions/checkout of ${repository}${ref ? `@${ref}` : ''}`;
    const resolved =
      repository.toLowerCase() === own.toLowerCase()
        ? ctx.remotes.read(repository, ctx.repoRoot, ref, what)
        : ctx.remotes.at(repository, ref, what);
    copyTree(resolved.dir, target);
    return {
      ok: true,
      log: [`checkout: ${ctx.remotes.describe(resolved)} → ${inputs.path || '.'}`],
      env: {},
      masks: [],
    };
  },
  'aws-actions/configure-aws-credentials': (inputs, ctx) => configureAwsCredentials(inputs, ctx),
  'actions/setup-node': (inputs, ctx) => {
    let wanted = inputs['node-version'] ?? '';
    if (!wanted && inputs['node-version-file']) {
      wanted = readFileSync(resolve(ctx.workspace, inputs['node-version-file']), 'utf8').trim();
    }
    const have = process.versions.node;
    const major = wanted.replace(/^v/, '').split('.')[0];
    const runnerNode = Number(have.split('.')[0]) >= 24 ? have : '24 (the project’s node_modules/.bin/node)';
    if (major && !runnerNode.startsWith(major)) {
      return {
        ok: false,
        log: [`setup-node: Node ${wanted} requested, the runner has ${runnerNode}`],
        env: {},
        masks: [],
      };
    }
    return { ok: true, log: [`setup-node: using Node ${runnerNode}`], env: {}, masks: [] };
  },
};

function copyTree(from: string, to: string): void {
  cpSync(from, to, {
    recursive: true,
    filter: (source) => !COPY_SKIP.has(relative(from, source)),
  });
}

function actionName(uses: string): string {
  return uses.split('@')[0]!;
}

export function isEmulated(uses: string): boolean {
  return actionName(uses) in emulations;
}

export async function emulate(
  uses: string,
  inputs: Record<string, string>,
  ctx: EmulationContext,
): Promise<Effect> {
  return emulations[actionName(uses)]!(inputs, ctx);
}
