/**
 * A local runner for workflows of this repository and of repositories that
 * use it: it orders jobs by `needs`, evaluates expressions with GitHub's
 * library, runs JavaScript actions (`uses: ./…`, and `uses: OWNER/REPO/…@ref`
 * from a mapped local checkout, remote.ts) from their committed bundles as
 * Node 24 processes with the runner's environment protocol, reusable
 * workflows (local or mapped), and `run:` steps with bash. Third-party actions
 * are replaced by their documented effect (see emulations.ts); anything it
 * does not support fails the step loudly.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import {
  createFileCommands,
  hostProcess,
  loadNodeAction,
  readActionMetadata,
  type CompositeMetadata,
  readFileCommands,
  runActionStep,
  stepInputs,
  type FileCommandFiles,
  type HostProcessOptions,
  type NodeAction,
  type ProcessResult,
} from './action-host.js';
import { condition, interpolate, interpolateString, type Contexts, type Status } from './expressions.js';
import type { AssumedRole } from './credentials.js';
import { emulate, isEmulated } from './emulations.js';
import { OidcIssuer, oidcSubject, workflowRefOf, type JobIdentity } from './oidc.js';
import { OidcTokenEndpoint } from './oidc-endpoint.js';
import { writeNpmStandIn } from './offline-npm.js';
import { jobPermissions, type Permissions } from './permissions.js';
import { RemoteRepositories, isRemoteUses, parseRemoteUses, type ResolvedRepository } from './remote.js';
import {
  ancestors,
  jobOrder,
  loadWorkflow,
  needsOf,
  triggers,
  type Job,
  type Step,
  type Workflow,
  type WorkflowCallSpec,
} from './workflow.js';

export type Result = 'success' | 'failure' | 'cancelled' | 'skipped';

export interface EnvironmentRule {
  reviewers?: string[];
}

export interface RunnerOptions {
  /** The local repository: `actions/checkout` links it into the workspace. */
  repoRoot: string;
  event: string;
  /** workflow_dispatch inputs. */
  inputs?: Record<string, string>;
  /** Extra fields of github.event. */
  eventPayload?: Record<string, unknown>;
  /** Environment every step gets (e.g. AWS_ENDPOINT_URL of the simulator). */
  env?: Record<string, string>;
  secrets?: Record<string, string>;
  vars?: Record<string, string>;
  /** Environments and their protection rules (the repository settings GitHub would hold). */
  environments?: Record<string, EnvironmentRule>;
  /**
   * Approve every job waiting for an environment's reviewers (true), or only the jobs named (ids; a
   * called workflow's jobs by their own ids), as a reviewer approves each waiting job on GitHub.
   */
  approve?: boolean | string[];
  /** Where log lines go (default: stdout). */
  log?: (line: string) => void;
  sha?: string;
  ref?: string;
  repository?: string;
  /** Cancels the run (forwarded to the running step as SIGINT, then SIGTERM). */
  signal?: AbortSignal;
  /** Run only these jobs of the workflow (each with every job it needs). */
  jobs?: string[];
  /**
   * A fault to inject (tests): send `signal` to one step's process the first
   * time its log matches `when`, e.g. SIGKILL the deploy step mid-rollout as
   * an out-of-memory kill or a lost runner would. `job` and `step` are ids; the
   * jobs of a called workflow count by their own ids.
   */
  killStep?: { job: string; step: string; when: RegExp; signal: NodeJS.Signals };
  /**
   * configure-aws-credentials exports the runner's own keys (from `env`) for
   * any role instead of assuming it through STS: only for a simulator without
   * IAM, and only when asked for. Without it, a simulator that does not serve
   * STS fails the credentials step.
   */
  staticAwsCredentials?: boolean;
  /**
   * Local checkouts standing in for other repositories: `OWNER/REPO` → path.
   * `uses: OWNER/REPO/<path>@<ref>` (actions and reusable workflows) and
   * `actions/checkout` with `repository: OWNER/REPO` read them, at the ref
   * when the checkout is a git repository (remote.ts).
   */
  uses?: Record<string, string>;
  /** github.actor (default local-runner) and github.triggering_actor (default: the actor). */
  actor?: string;
  triggeringActor?: string;
  /** Numeric ids GitHub gives (github.actor_id, repository_id, repository_owner_id); absent, reading one is refused. */
  ids?: { actor?: string; repository?: string; repositoryOwner?: string };
  /** github.ref_protected: the ref is a protected branch (a repository setting; default false). */
  refProtected?: boolean;
  /** github.run_number and github.run_attempt (default 1). */
  runNumber?: number;
  runAttempt?: number;
  /**
   * A node_modules folder that `npm ci` in a `run:` step links instead of installing (offline and at
   * once; every other npm command is the real npm): a stand-in `npm` first on every step's PATH
   * (offline-npm.ts). For tests and the demo on this machine, never part of a workflow file.
   */
  offlineNodeModules?: string;
}

export interface StepRecord {
  name: string;
  id?: string;
  outcome: Result;
  conclusion: Result;
  outputs: Record<string, string>;
  summary: string;
  durationMs: number;
  note?: string;
}

export interface JobRecord {
  id: string;
  name: string;
  result: Result;
  outputs: Record<string, string>;
  steps: StepRecord[];
  durationMs: number;
  note?: string;
  environment?: string;
  /** GITHUB_TOKEN's permissions for the job (workflow, job and caller's ceiling applied). */
  permissions?: Permissions;
  /** What each configure-aws-credentials step of the job assumed, in order. */
  credentials?: AssumedRole[];
  /** The called workflow's run, for `uses:` jobs. */
  called?: WorkflowRecord;
}

export interface WorkflowRecord {
  name: string;
  file: string;
  conclusion: Result;
  jobs: JobRecord[];
  outputs: Record<string, string>;
  durationMs: number;
}

interface Scope {
  options: RunnerOptions;
  log: (line: string) => void;
  masks: Set<string>;
  github: Record<string, unknown>;
  inputs: Record<string, unknown>;
  secrets: Record<string, string>;
  prefix: string;
  /** The run's OIDC token issuer (one key per run). */
  oidc: OidcIssuer;
  /** ACTIONS_ID_TOKEN_REQUEST_URL's server: steps of jobs with id-token: write ask it for their token. */
  oidcEndpoint: OidcTokenEndpoint;
  /** OWNER/REPO/<workflow file>@<ref> of the workflow the run started from. */
  workflowRef: string;
  /** The same for the workflow file whose jobs run in this scope. */
  jobWorkflowRef: string;
  /** The commit of jobWorkflowRef's file (job_workflow_sha). */
  jobWorkflowSha: string;
  /** A called workflow's ceiling: its caller job's permissions. */
  permissionsCeiling?: Permissions;
  /** The mapped checkouts of other repositories. */
  remotes: RemoteRepositories;
  /** Where this scope's workflow file comes from: `./` job uses resolve there. */
  source: WorkflowSource;
  /** The run's own temporary files (the event payload). */
  runDir: string;
  /** The folder of the stand-in `npm` (options.offlineNodeModules), put first on every step's PATH. */
  npmStandIn?: string;
}

/** A repository at a commit, as a workflow's files are read from it. */
interface WorkflowSource {
  root: string;
  repository: string;
  /** refs/heads/…, refs/tags/… or a SHA. */
  ref: string;
  sha: string;
}

/** Runs `evaluate`, naming `what` in its error (an expression refused, a context missing). */
function where<T>(what: string, evaluate: () => T): T {
  try {
    return evaluate();
  } catch (err) {
    throw new Error(`${what}: ${(err as Error).message}`);
  }
}

export function mask(text: string, masks: Set<string>): string {
  let out = text;
  for (const secret of masks) if (secret.length > 0) out = out.split(secret).join('***');
  return out;
}

function stringMap(values: Record<string, unknown> | undefined, contexts: Contexts, status: Status) {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(values ?? {})) out[k] = interpolateString(v, contexts, status);
  return out;
}

export async function runWorkflow(file: string, options: RunnerOptions): Promise<WorkflowRecord> {
  const workflow = loadWorkflow(file);
  const on = triggers(workflow);
  if (!(options.event in on)) {
    throw new Error(`${file} does not run on "${options.event}" (it runs on: ${Object.keys(on).join(', ')})`);
  }
  const dispatch = (on.workflow_dispatch ?? {}) as { inputs?: Record<string, { default?: unknown }> };
  const inputs: Record<string, unknown> = {};
  if (options.event === 'workflow_dispatch') {
    for (const [name, spec] of Object.entries(dispatch.inputs ?? {})) inputs[name] = spec?.default ?? '';
    for (const [name, value] of Object.entries(options.inputs ?? {})) {
      if (!(name in (dispatch.inputs ?? {})))
        throw new Error(`${file} has no workflow_dispatch input "${name}"`);
      inputs[name] = value;
    }
  } else if (options.inputs && Object.keys(options.inputs).length > 0) {
    throw new Error(`--input only applies to workflow_dispatch, not "${options.event}"`);
  }
  const repository = options.repository ?? 'acme/alva';
  const sha = options.sha ?? '0000000000000000000000000000000000000000';
  const ref = options.ref ?? 'refs/heads/staging';
  const workflowPathInRepo = relative(options.repoRoot, file);
  const workflowRef = workflowRefOf(repository, workflowPathInRepo, ref);
  const runDir = mkdtempSync(join(tmpdir(), 'runner-run-'));
  const github = githubContext({
    options,
    workflow,
    file: workflowPathInRepo,
    repository,
    sha,
    ref,
    inputs,
    workflowRef,
  });
  // The webhook payload, as GitHub writes it for every job (github.event_path, GITHUB_EVENT_PATH).
  github.event_path = join(runDir, 'event.json');
  writeFileSync(github.event_path, JSON.stringify(github.event, null, 2));
  // The run's own repository needs no mapping: a uses: of it at a ref reads repoRoot's history.
  const remotes = new RemoteRepositories({ [repository]: options.repoRoot, ...options.uses });
  const scope: Scope = {
    options,
    log: options.log ?? ((line) => console.log(line)),
    masks: new Set(Object.values(options.secrets ?? {}).filter(Boolean)),
    github,
    inputs,
    secrets: options.secrets ?? {},
    prefix: '',
    oidc: new OidcIssuer(),
    oidcEndpoint: new OidcTokenEndpoint(),
    workflowRef,
    jobWorkflowRef: workflowRef,
    jobWorkflowSha: sha,
    remotes,
    source: { root: options.repoRoot, repository, ref, sha },
    runDir,
    ...(options.offlineNodeModules
      ? { npmStandIn: writeNpmStandIn(join(runDir, 'offline-npm'), options.offlineNodeModules) }
      : {}),
  };
  scope.masks.add(String(github.token));
  try {
    return await runJobs(file, workflow, scope);
  } finally {
    remotes.close();
    await scope.oidcEndpoint.close();
    rmSync(runDir, { recursive: true, force: true });
  }
}

/**
 * The run-wide part of the github context, every member GitHub documents
 * for the runner's events (the job's and step's parts are added where they
 * run); ids GitHub assigns are there only when given (else refused).
 */
function githubContext(run: {
  options: RunnerOptions;
  workflow: Workflow;
  file: string;
  repository: string;
  sha: string;
  ref: string;
  inputs: Record<string, unknown>;
  workflowRef: string;
}): Record<string, unknown> & { event: Record<string, unknown>; event_path?: string } {
  const { options, repository, sha, ref } = run;
  const [owner, name] = repository.split('/');
  const actor = options.actor ?? 'local-runner';
  const event = options.eventPayload ?? {};
  const pullRequest = (event.pull_request ?? {}) as { base?: { ref?: string }; head?: { ref?: string } };
  const isPullRequest = options.event === 'pull_request' || options.event === 'pull_request_target';
  const ids = options.ids ?? {};
  return {
    event_name: options.event,
    // The payload's common fields, then what the caller gives.
    event: {
      repository: {
        full_name: repository,
        name,
        owner: { login: owner },
        ...(ids.repository ? { id: Number(ids.repository) } : {}),
      },
      sender: { login: actor },
      ...(options.event === 'workflow_dispatch' ? { inputs: run.inputs, ref, workflow: run.file } : {}),
      ...(options.event === 'push' ? { ref } : {}),
      ...event,
    },
    sha,
    ref,
    ref_name: ref.replace(/^refs\/(heads|tags)\//, ''),
    ref_type: ref.startsWith('refs/tags/') ? 'tag' : 'branch',
    ref_protected: options.refProtected ?? false,
    base_ref: isPullRequest ? (pullRequest.base?.ref ?? '') : '',
    head_ref: isPullRequest ? (pullRequest.head?.ref ?? '') : '',
    repository,
    repository_owner: owner,
    repositoryUrl: `git://github.com/${repository}.git`,
    ...(ids.repository ? { repository_id: ids.repository } : {}),
    ...(ids.repositoryOwner ? { repository_owner_id: ids.repositoryOwner } : {}),
    ...(ids.actor ? { actor_id: ids.actor } : {}),
    run_id: String(Date.now()),
    run_number: String(options.runNumber ?? 1),
    run_attempt: String(options.runAttempt ?? 1),
    retention_days: '90',
    actor,
    triggering_actor: options.triggeringActor ?? actor,
    server_url: 'https://github.com',
    api_url: 'https://api.github.com',
    graphql_url: 'https://api.github.com/graphql',
    workflow: run.workflow.name ?? run.file,
    workflow_ref: run.workflowRef,
    workflow_sha: sha,
    secret_source: 'Actions',
    token: 'local-runner-token',
  };
}

async function runJobs(file: string, workflow: Workflow, scope: Scope): Promise<WorkflowRecord> {
  const started = Date.now();
  const records = new Map<string, JobRecord>();
  const selected = scope.prefix === '' ? scope.options.jobs : undefined;
  for (const id of selected ?? []) {
    if (!workflow.jobs[id]) throw new Error(`${file} has no job "${id}"`);
    for (const need of ancestors(workflow, id)) {
      if (!selected!.includes(need))
        throw new Error(`job "${id}" needs "${need}": select it too (--job ${need})`);
    }
  }
  for (const id of jobOrder(workflow)) {
    const job = workflow.jobs[id]!;
    if (selected && !selected.includes(id)) {
      scope.log(`⏭  ${job.name ?? id}: not selected (--job)`);
      records.set(id, {
        id,
        name: job.name ?? id,
        result: 'skipped',
        outputs: {},
        steps: [],
        durationMs: 0,
        note: 'not selected',
      });
      continue;
    }
    const record = await runJob(id, job, workflow, records, scope);
    records.set(id, record);
  }
  const jobs = [...records.values()];
  const conclusion: Result = jobs.some((j) => j.result === 'cancelled')
    ? 'cancelled'
    : jobs.some((j) => j.result === 'failure')
      ? 'failure'
      : 'success';
  return {
    name: workflow.name ?? file,
    file,
    conclusion,
    jobs,
    outputs: {},
    durationMs: Date.now() - started,
  };
}

function jobStatus(workflow: Workflow, id: string, records: Map<string, JobRecord>, scope: Scope): Status {
  const up = [...ancestors(workflow, id)].map((a) => records.get(a)!);
  return {
    success: () => needsOf(workflow.jobs[id]!).every((n) => records.get(n)?.result === 'success'),
    failure: () => up.some((r) => r.result === 'failure'),
    cancelled: () => Boolean(scope.options.signal?.aborted),
  };
}

async function runJob(
  id: string,
  job: Job,
  workflow: Workflow,
  records: Map<string, JobRecord>,
  scope: Scope,
): Promise<JobRecord> {
  const started = Date.now();
  const label = `${scope.prefix}${job.name ?? id}`;
  const needs = Object.fromEntries(
    needsOf(job).map((n) => [n, { result: records.get(n)!.result, outputs: records.get(n)!.outputs }]),
  );
  // github.job is the job's id (a called workflow's job: its id there).
  const jobGithub: Record<string, unknown> = { ...scope.github, job: id };
  const contexts: Contexts = {
    github: jobGithub,
    inputs: scope.inputs,
    needs,
    vars: scope.options.vars ?? {},
    env: {},
    strategy: SINGLE_JOB_STRATEGY,
    matrix: {},
  };
  const status = jobStatus(workflow, id, records, scope);
  const record: JobRecord = { id, name: label, result: 'skipped', outputs: {}, steps: [], durationMs: 0 };
  for (const unsupported of ['strategy', 'services', 'container'] as const) {
    if (job[unsupported] !== undefined) {
      throw new Error(`job "${id}" uses \`${unsupported}:\`, which the local runner does not support`);
    }
  }
  let run: boolean;
  try {
    run = condition(job.if, contexts, status);
  } catch (err) {
    scope.log(`✖ ${label}: cannot evaluate if: ${job.if} (${(err as Error).message})`);
    return { ...record, result: 'failure', durationMs: Date.now() - started };
  }
  if (!run) {
    const why = job.if !== undefined ? `if: ${String(job.if).trim()}` : 'a job it needs did not succeed';
    scope.log(`⏭  ${label}: skipped (${why})`);
    return { ...record, note: `skipped (${why})` };
  }
  if (scope.options.signal?.aborted) return { ...record, result: 'cancelled' };

  const permissions = jobPermissions(job.permissions, workflow.permissions, scope.permissionsCeiling, label);
  record.permissions = permissions;
  if (job.uses) return runCalledWorkflow(id, job, contexts, status, scope, record, started);

  // Environment protection rules: pause for approval.
  if (job.environment !== undefined) {
    const env = typeof job.environment === 'string' ? { name: job.environment } : job.environment;
    const name = where(`job "${id}" environment`, () => interpolateString(env.name, contexts, status));
    const url = env.url
      ? where(`job "${id}" environment.url`, () => interpolateString(env.url, contexts, status))
      : '';
    record.environment = name;
    const rule = scope.options.environments?.[name];
    if (rule?.reviewers?.length) {
      const approve = scope.options.approve;
      if (!(Array.isArray(approve) ? approve.includes(id) : approve)) {
        scope.log(
          `⏸  ${label}: environment "${name}" requires approval from ${rule.reviewers.join(', ')}; run with --approve to approve`,
        );
        return { ...record, result: 'failure', note: `waiting for approval of environment "${name}"` };
      }
      scope.log(`✔ ${label}: environment "${name}" approved (--approve) for ${rule.reviewers.join(', ')}`);
    }
    if (url) scope.log(`   ${label}: environment ${name} → ${url}`);
  }

  scope.log(`\n━━ ${label}`);
  // The job's OIDC token, as GitHub mints it only for a job granted id-token: write.
  const identity: JobIdentity = {
    github: scope.github,
    ...(record.environment ? { environment: record.environment } : {}),
    workflowRef: scope.workflowRef,
    jobWorkflowRef: scope.jobWorkflowRef,
    jobWorkflowSha: scope.jobWorkflowSha,
  };
  const idToken =
    permissions['id-token'] === 'write'
      ? (audience: string) => ({ token: scope.oidc.mint(identity, audience), subject: oidcSubject(identity) })
      : undefined;
  // GitHub gives such a job the token request endpoint too (a run: step may ask for its own token).
  const idTokenRequest = idToken
    ? await scope.oidcEndpoint.register(
        (audience) => idToken(audience).token,
        `${String(scope.github.server_url)}/${String(scope.github.repository_owner)}`,
      )
    : undefined;
  if (idTokenRequest) scope.masks.add(idTokenRequest.ACTIONS_ID_TOKEN_REQUEST_TOKEN);
  const workspace = mkdtempSync(join(tmpdir(), 'runner-ws-'));
  const runnerTemp = mkdtempSync(join(tmpdir(), 'runner-temp-'));
  const toolCache = join(runnerTemp, '_tool');
  mkdirSync(toolCache);
  jobGithub.workspace = workspace;
  const actionNames = new Map<string, number>();
  const jobEnv: Record<string, string> = {};
  const addedEnv: Record<string, string> = {};
  const steps: Record<string, { outputs: Record<string, string>; outcome: Result; conclusion: Result }> = {};
  const posts: (() => Promise<void>)[] = [];
  const processGroups: number[] = [];
  let failed = false;
  let cancelled = false;
  const stepStatus: Status = {
    success: () => !failed && !cancelled,
    failure: () => failed,
    cancelled: () => cancelled || Boolean(scope.options.signal?.aborted),
  };
  const runner = {
    name: 'local-runner',
    os: 'Linux',
    arch: 'X64',
    temp: runnerTemp,
    tool_cache: toolCache,
    debug: '',
    environment: 'github-hosted',
  };
  // Jobs with containers or services are refused (runJob), so both are empty, as GitHub gives them.
  const stepContexts = (github: Record<string, unknown> = jobGithub): Contexts => ({
    ...contexts,
    github,
    env: { ...jobEnv, ...addedEnv },
    steps,
    runner,
    job: { status: failed ? 'failure' : cancelled ? 'cancelled' : 'success', container: {}, services: {} },
    secrets: scope.secrets,
  });
  try {
    where("the workflow's env", () =>
      Object.assign(jobEnv, stringMap(workflow.env, stepContexts(), stepStatus)),
    );
    where(`job "${id}" env`, () => Object.assign(jobEnv, stringMap(job.env, stepContexts(), stepStatus)));
    for (const [index, step] of (job.steps ?? []).entries()) {
      const name = step.name ?? (step.uses ? `Run ${step.uses}` : `Run ${String(step.run).split('\n')[0]}`);
      const files = createFileCommands(mkdtempSync(join(runnerTemp, `step-${index}-`)));
      const stepGithub = {
        ...jobGithub,
        ...stepIdentity(step, actionNames),
        env: files.GITHUB_ENV,
        path: files.GITHUB_PATH,
      };
      const ctx = stepContexts(stepGithub);
      let go: boolean;
      try {
        go = condition(step.if, ctx, stepStatus);
      } catch (err) {
        scope.log(`  ✖ ${name}: cannot evaluate if: ${step.if} (${(err as Error).message})`);
        failed = true;
        continue;
      }
      if (scope.options.signal?.aborted) cancelled = true;
      if (!go) {
        const rec: StepRecord = {
          name,
          id: step.id,
          outcome: 'skipped',
          conclusion: 'skipped',
          outputs: {},
          summary: '',
          durationMs: 0,
        };
        record.steps.push(rec);
        if (step.id) steps[step.id] = { outputs: {}, outcome: 'skipped', conclusion: 'skipped' };
        scope.log(`  ⏭  ${name} (skipped${step.if !== undefined ? `: if ${String(step.if).trim()}` : ''})`);
        continue;
      }
      scope.log(`  ▶ ${name}`);
      const rec = await runStep(step, name, files, {
        scope,
        ctx,
        github: stepGithub,
        status: stepStatus,
        workspace,
        runnerTemp,
        env: { ...jobEnv, ...addedEnv },
        addEnv: (k, v) => (addedEnv[k] = v),
        addPost: (fn) => posts.push(fn),
        processGroups,
        jobTimeoutMs: (job['timeout-minutes'] ?? 360) * 60_000 - (Date.now() - started),
        jobId: id,
        idToken,
        ...(idTokenRequest ? { idTokenRequest } : {}),
        onAssumed: (assumed) => (record.credentials ??= []).push(assumed),
      });
      rec.name = name;
      record.steps.push(rec);
      if (step.id)
        steps[step.id] = { outputs: rec.outputs, outcome: rec.outcome, conclusion: rec.conclusion };
      if (rec.conclusion === 'failure') failed = true;
      if (rec.outcome === 'cancelled') cancelled = true;
      scope.log(
        `  ${rec.conclusion === 'success' ? '✔' : '✖'} ${name} (${(rec.durationMs / 1000).toFixed(1)}s)`,
      );
    }
  } finally {
    for (const post of posts.reverse()) await post();
    if (idTokenRequest) scope.oidcEndpoint.unregister(idTokenRequest.ACTIONS_ID_TOKEN_REQUEST_TOKEN);
    // As the runner does at the end of a job: end what steps left running in the background.
    for (const group of processGroups) {
      try {
        process.kill(-group, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    rmSync(workspace, { recursive: true, force: true });
    rmSync(runnerTemp, { recursive: true, force: true });
  }
  const final = stepContexts();
  try {
    record.outputs = stringMap(job.outputs, final, stepStatus);
  } catch (err) {
    scope.log(`  ✖ ${label}: cannot evaluate outputs (${(err as Error).message})`);
    failed = true;
  }
  record.result = cancelled ? 'cancelled' : failed && !job['continue-on-error'] ? 'failure' : 'success';
  record.durationMs = Date.now() - started;
  scope.log(`━━ ${label}: ${record.result} (${(record.durationMs / 1000).toFixed(1)}s)`);
  return record;
}

async function runCalledWorkflow(
  id: string,
  job: Job,
  contexts: Contexts,
  status: Status,
  scope: Scope,
  record: JobRecord,
  started: number,
): Promise<JobRecord> {
  const uses = job.uses!;
  const { file, source, path } = calledWorkflowFile(id, uses, scope);
  const called = loadWorkflow(file);
  const on = triggers(called);
  if (!('workflow_call' in on)) {
    throw new Error(
      `job "${id}" calls ${uses}, which is not a reusable workflow (it has no on: workflow_call)`,
    );
  }
  const spec = (on.workflow_call ?? {}) as WorkflowCallSpec;
  const withValues = { ...contexts, secrets: scope.secrets };
  const inputs: Record<string, unknown> = {};
  for (const [name, input] of Object.entries(spec.inputs ?? {})) {
    const given = job.with?.[name];
    let value =
      given !== undefined
        ? where(`job "${id}" with.${name}`, () => interpolate(given, withValues, status))
        : input.default;
    if (value === undefined && input.required) throw new Error(`${uses} requires input "${name}"`);
    if (input.type === 'number' && value !== undefined) value = Number(value);
    if (input.type === 'boolean' && typeof value === 'string') value = value === 'true';
    inputs[name] = value ?? (input.type === 'boolean' ? false : input.type === 'number' ? 0 : '');
  }
  for (const name of Object.keys(job.with ?? {})) {
    if (!(name in (spec.inputs ?? {}))) throw new Error(`${uses} has no input "${name}"`);
  }
  const given = job.secrets;
  const secrets =
    given === 'inherit'
      ? scope.secrets
      : where(`job "${id}" secrets`, () => stringMap(given, withValues, status));
  scope.log(`\n══ ${record.name}: calls ${uses}`);
  const inner: Scope = {
    ...scope,
    inputs,
    secrets,
    prefix: `${scope.prefix}${job.name ?? id} / `,
    // job_workflow_ref names the called file in its repository at the ref it was called at (a local
    // call: the caller's repository and ref); the github context stays the caller's, as on GitHub.
    jobWorkflowRef: workflowRefOf(source.repository, path, source.ref),
    jobWorkflowSha: source.sha,
    source,
    permissionsCeiling: record.permissions,
  };
  const run = await runJobs(file, called, inner);
  const jobsContext = Object.fromEntries(
    run.jobs.map((j) => [j.id, { result: j.result, outputs: j.outputs }]),
  );
  const outputs: Record<string, string> = {};
  for (const [name, output] of Object.entries(spec.outputs ?? {})) {
    outputs[name] = interpolateString(output.value, { ...contexts, jobs: jobsContext }, status);
  }
  run.outputs = outputs;
  return {
    ...record,
    result: run.conclusion,
    outputs,
    called: run,
    durationMs: Date.now() - started,
  };
}

/** strategy of a job without a matrix, as GitHub gives it. */
const SINGLE_JOB_STRATEGY = { 'fail-fast': true, 'job-index': 0, 'job-total': 1, 'max-parallel': 1 };

/**
 * github.action and the action's repository and ref for one step: the step's
 * id, else `__run` for scripts and `__OWNER_REPO` for actions, `_2`, `_3`...
 * when the name repeats in the job (as the runner names them).
 */
function stepIdentity(step: Step, seen: Map<string, number>): Record<string, string> {
  const remote = step.uses && isRemoteUses(step.uses) && !step.uses.startsWith('docker://');
  const parsed = remote ? parseRemoteUses(step.uses!) : undefined;
  let action = step.id;
  if (!action) {
    const base = step.uses
      ? `__${(parsed?.repository ?? step.uses).replace(/[^A-Za-z0-9]+/g, '_').replace(/^_+|_+$/g, '')}`
      : '__run';
    const count = (seen.get(base) ?? 0) + 1;
    seen.set(base, count);
    action = count === 1 ? base : `${base}_${count}`;
  }
  return {
    action,
    action_path: '',
    action_ref: parsed?.ref ?? '',
    action_repository: parsed?.repository ?? '',
    action_status: '',
  };
}

/**
 * The file a `jobs.<id>.uses:` names and the repository it is read from:
 * `./.github/workflows/…` in the calling workflow's repository and commit,
 * `OWNER/REPO/.github/workflows/<file>@<ref>` in that repository's mapped checkout.
 */
function calledWorkflowFile(
  id: string,
  uses: string,
  scope: Scope,
): { file: string; source: WorkflowSource; path: string } {
  const what = `job "${id}" (uses: ${uses})`;
  let source: WorkflowSource;
  let path: string;
  if (uses.startsWith('./')) {
    source = scope.source;
    path = uses.slice(2);
  } else {
    const remote = parseRemoteUses(uses);
    const resolved: ResolvedRepository = scope.remotes.at(remote.repository, remote.ref, what);
    scope.log(`   ${uses} → ${scope.remotes.describe(resolved)}`);
    source = {
      root: resolved.dir,
      repository: resolved.repository,
      ref: resolved.fullRef,
      sha: resolved.sha,
    };
    path = remote.path;
  }
  if (!/^\.github\/workflows\/[^/]+\.ya?ml$/.test(path)) {
    throw new Error(`${what}: a reusable workflow is a file in .github/workflows/ (got "${path}")`);
  }
  const file = join(source.root, path);
  if (!existsSync(file)) throw new Error(`${what}: no file ${path} in ${source.repository} (${source.root})`);
  return { file, source, path };
}

interface StepContext {
  scope: Scope;
  ctx: Contexts;
  /** The step's github context (ctx.github): action_path is set once the action is found. */
  github: Record<string, unknown>;
  status: Status;
  workspace: string;
  runnerTemp: string;
  env: Record<string, string>;
  addEnv: (name: string, value: string) => void;
  addPost: (fn: () => Promise<void>) => void;
  /** Each step runs in a process group of its own, ended with the job. */
  processGroups: number[];
  jobTimeoutMs: number;
  jobId: string;
  /** The job's OIDC token minter; undefined without id-token: write. */
  idToken?: (audience: string) => { token: string; subject: string };
  /** ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN of the job; undefined without id-token: write. */
  idTokenRequest?: Record<string, string>;
  onAssumed: (assumed: AssumedRole) => void;
  /** The injected fault of this step's main process (RunnerOptions.killStep), if it is the one named. */
  onOutput?: HostProcessOptions['onOutput'];
}

/** RunnerOptions.killStep as an onOutput hook, for the step it names. */
function injectedKill(step: Step, sc: StepContext): HostProcessOptions['onOutput'] {
  const kill = sc.scope.options.killStep;
  if (!kill || kill.job !== sc.jobId || kill.step !== step.id) return undefined;
  let sent = false;
  return (log, send) => {
    if (sent || !kill.when.test(log)) return;
    sent = true;
    sc.scope.log(`    ✖ ${kill.signal} sent to the step (injected fault)`);
    send(kill.signal);
  };
}

async function runStep(
  step: Step,
  name: string,
  files: FileCommandFiles,
  sc: StepContext,
): Promise<StepRecord> {
  const started = Date.now();
  const record: StepRecord = {
    name: '',
    id: step.id,
    outcome: 'success',
    conclusion: 'success',
    outputs: {},
    summary: '',
    durationMs: 0,
  };
  let emulatedOutputs: Record<string, string> = {};
  try {
    const stepEnv = stringMap(step.env, sc.ctx, sc.status);
    const env = { ...baseEnv(sc), ...sc.env, ...stepEnv, ...files };
    const timeoutMs = Math.min(sc.jobTimeoutMs, (step['timeout-minutes'] ?? 360) * 60_000);
    const main = { ...sc, onOutput: injectedKill(step, sc) };
    let exitCode: number;
    if (step.run !== undefined) {
      exitCode = await runShell(step, env, main, timeoutMs);
    } else if (step.uses?.startsWith('./')) {
      const dir = resolve(sc.workspace, step.uses);
      exitCode = await runUsesAction(step, dir, { env, stepEnv, sc: main, timeoutMs, files });
    } else if (step.uses && isEmulated(step.uses)) {
      const withValues = stringMap(step.with, sc.ctx, sc.status);
      const effect = await emulate(step.uses, withValues, {
        repoRoot: sc.scope.options.repoRoot,
        workspace: sc.workspace,
        github: sc.github,
        remotes: sc.scope.remotes,
        env,
        ...(sc.idToken ? { idToken: sc.idToken } : {}),
        staticAwsCredentials: Boolean(sc.scope.options.staticAwsCredentials),
      });
      for (const secret of effect.masks) if (secret) sc.scope.masks.add(secret);
      for (const line of effect.log) sc.scope.log(`    ${mask(line, sc.scope.masks)}`);
      for (const [k, v] of Object.entries(effect.env)) sc.addEnv(k, v);
      if (effect.assumed) sc.onAssumed(effect.assumed);
      emulatedOutputs = effect.outputs ?? {};
      exitCode = effect.ok ? 0 : 1;
      record.note = mask(effect.log.join(' '), sc.scope.masks);
    } else if (step.uses && isRemoteUses(step.uses)) {
      const uses = parseRemoteUses(step.uses);
      const resolved = sc.scope.remotes.at(uses.repository, uses.ref, `step "${name}" (uses: ${step.uses})`);
      sc.scope.log(`    ${step.uses} → ${sc.scope.remotes.describe(resolved)}`);
      const dir = join(resolved.dir, uses.path);
      exitCode = await runUsesAction(step, dir, { env, stepEnv, sc: main, timeoutMs, files });
    } else {
      sc.scope.log(
        `    ✖ ${step.uses}: not supported by the local runner (it runs JavaScript actions, run: steps and the emulated actions listed in runner/README.md)`,
      );
      exitCode = 1;
    }
    const written = readFileCommands(files);
    record.outputs = { ...emulatedOutputs, ...written.outputs };
    for (const [k, v] of Object.entries(written.env)) sc.addEnv(k, v);
    const path = written.path.reverse();
    // Prepended to the PATH the job's steps get (the runner's own PATH, any `env` PATH and npm stand-in).
    if (path.length) sc.addEnv('PATH', [...path, sc.env.PATH ?? baseEnv(sc).PATH].join(':'));
    record.summary = mask(written.summary, sc.scope.masks);
    if (exitCode === 130 || sc.scope.options.signal?.aborted) record.outcome = 'cancelled';
    else if (exitCode !== 0) record.outcome = 'failure';
    record.conclusion =
      record.outcome === 'failure' && step['continue-on-error'] ? 'success' : record.outcome;
  } catch (err) {
    sc.scope.log(`    ✖ ${name}: ${(err as Error).message}`);
    record.outcome = 'failure';
    record.conclusion = step['continue-on-error'] ? 'success' : 'failure';
  }
  record.durationMs = Date.now() - started;
  return record;
}

function baseEnv(sc: StepContext): Record<string, string> {
  const g = sc.github;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('INPUT_') && !k.startsWith('GITHUB_') && !k.startsWith('STATE_'))
      env[k] = v;
  }
  return {
    ...env,
    // Each job is a fresh runner: its own Docker client configuration (registry logins), so jobs
    // and runs on one machine never share or race on ~/.docker/config.json (an explicit env wins).
    DOCKER_CONFIG: join(sc.runnerTemp, '.docker'),
    ...sc.scope.options.env,
    ...(sc.scope.npmStandIn
      ? { PATH: `${sc.scope.npmStandIn}:${sc.scope.options.env?.PATH ?? process.env.PATH ?? ''}` }
      : {}),
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: sc.workspace,
    GITHUB_REPOSITORY: String(g.repository),
    GITHUB_REPOSITORY_OWNER: String(g.repository_owner),
    GITHUB_SHA: String(g.sha),
    GITHUB_REF: String(g.ref),
    GITHUB_REF_NAME: String(g.ref_name),
    GITHUB_EVENT_NAME: String(g.event_name),
    GITHUB_RUN_ID: String(g.run_id),
    GITHUB_RUN_NUMBER: String(g.run_number),
    GITHUB_RUN_ATTEMPT: String(g.run_attempt),
    GITHUB_ACTOR: String(g.actor),
    GITHUB_SERVER_URL: String(g.server_url),
    GITHUB_API_URL: String(g.api_url),
    GITHUB_WORKFLOW: String(g.workflow),
    GITHUB_WORKFLOW_REF: String(g.workflow_ref),
    GITHUB_WORKFLOW_SHA: String(g.workflow_sha),
    GITHUB_JOB: String(g.job),
    GITHUB_ACTION: String(g.action),
    GITHUB_ACTION_REPOSITORY: String(g.action_repository),
    GITHUB_ACTION_REF: String(g.action_ref),
    // A JavaScript action's is set where it starts (action-host.ts); a composite action's steps get theirs here.
    ...(g.action_path ? { GITHUB_ACTION_PATH: String(g.action_path) } : {}),
    GITHUB_EVENT_PATH: String(g.event_path),
    GITHUB_REF_TYPE: String(g.ref_type),
    GITHUB_REF_PROTECTED: String(g.ref_protected),
    GITHUB_BASE_REF: String(g.base_ref),
    GITHUB_HEAD_REF: String(g.head_ref),
    GITHUB_TRIGGERING_ACTOR: String(g.triggering_actor),
    GITHUB_GRAPHQL_URL: String(g.graphql_url),
    GITHUB_RETENTION_DAYS: String(g.retention_days),
    ...(g.repository_id ? { GITHUB_REPOSITORY_ID: String(g.repository_id) } : {}),
    ...(g.repository_owner_id ? { GITHUB_REPOSITORY_OWNER_ID: String(g.repository_owner_id) } : {}),
    ...(g.actor_id ? { GITHUB_ACTOR_ID: String(g.actor_id) } : {}),
    RUNNER_TEMP: sc.runnerTemp,
    RUNNER_TOOL_CACHE: String(sc.ctx.runner && (sc.ctx.runner as { tool_cache: string }).tool_cache),
    RUNNER_NAME: 'local-runner',
    RUNNER_ENVIRONMENT: 'github-hosted',
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    ...sc.idTokenRequest,
  };
}

function runShell(
  step: Step,
  env: Record<string, string>,
  sc: StepContext,
  timeoutMs: number,
): Promise<number> {
  const shell = step.shell ?? 'bash';
  if (shell !== 'bash' && shell !== 'sh') {
    throw new Error(`shell "${shell}" is not supported by the local runner (bash and sh are)`);
  }
  const script = interpolateString(step.run, sc.ctx, sc.status);
  const file = join(sc.runnerTemp, `script-${Date.now()}.sh`);
  writeFileSync(file, script);
  const cwd = step['working-directory']
    ? resolve(sc.workspace, interpolateString(step['working-directory'], sc.ctx, sc.status))
    : sc.workspace;
  // GitHub's default for bash: fail on the first error, including inside pipes.
  const args = shell === 'bash' ? ['--noprofile', '--norc', '-eo', 'pipefail', file] : ['-e', file];
  return runStepProcess(sc, timeoutMs, (options) => hostProcess(shell, args, { ...options, env, cwd }));
}

interface ActionRun {
  /** The step's process environment (file commands included). */
  env: Record<string, string>;
  /** The step's own `env:`, evaluated. */
  stepEnv: Record<string, string>;
  sc: StepContext;
  timeoutMs: number;
  files: FileCommandFiles;
}

/** The action in `dir`, by its kind: JavaScript (node20/node24) or composite; others are refused. */
async function runUsesAction(step: Step, dir: string, run: ActionRun): Promise<number> {
  const label = step.uses!;
  const metadata = readActionMetadata(dir, label);
  if (metadata.runs.using === 'composite') {
    return runComposite(step, dir, metadata as CompositeMetadata, run);
  }
  return runAction(step, loadNodeAction(dir, label), run.env, run.sc, run.timeoutMs, run.files);
}

/**
 * A composite action: its steps run in the job as the runner runs them, with
 * their own `inputs` (given or default) and `steps` contexts, github.action_path
 * (and GITHUB_ACTION_PATH) the action's folder, `run:` steps with the shell
 * they must name; GITHUB_ENV/GITHUB_PATH writes reach the job's later steps;
 * the action's outputs are its `outputs.*.value` evaluated at the end.
 */
async function runComposite(
  step: Step,
  dir: string,
  metadata: CompositeMetadata,
  run: ActionRun,
): Promise<number> {
  const { sc, files } = run;
  const label = step.uses!;
  sc.github.action_path = dir;
  const declared = metadata.inputs ?? {};
  const inputs: Record<string, string> = {};
  for (const [name, spec] of Object.entries(declared)) {
    const value = step.with?.[name] ?? spec.default;
    inputs[name] = value === undefined ? '' : interpolateString(value, sc.ctx, sc.status);
  }
  for (const name of Object.keys(step.with ?? {}))
    if (!(name in declared)) sc.scope.log(`    ⚠ Unexpected input '${name}' for ${label}`);
  const env: Record<string, string> = { ...sc.env, ...run.stepEnv };
  const steps: Record<string, { outputs: Record<string, string>; outcome: Result; conclusion: Result }> = {};
  let failed = false;
  const status: Status = {
    success: () => !failed && sc.status.success(),
    failure: () => failed || sc.status.failure(),
    cancelled: () => sc.status.cancelled(),
  };
  const github: Record<string, unknown> = { ...sc.github, action_path: dir };
  // A composite action sees no secrets and no needs (GitHub gives it neither).
  const contexts = (g: Record<string, unknown>): Contexts => ({
    github: g,
    env: { ...env },
    inputs,
    steps,
    runner: sc.ctx.runner,
    job: sc.ctx.job,
    strategy: sc.ctx.strategy,
    matrix: sc.ctx.matrix,
  });
  const names = new Map<string, number>();
  for (const [index, raw] of (metadata.runs.steps ?? []).entries()) {
    const inner = raw as Step;
    const name = inner.name ?? (inner.uses ? `Run ${inner.uses}` : `Run ${String(inner.run).split('\n')[0]}`);
    if (inner.run !== undefined && !inner.shell) {
      throw new Error(
        `${label}: its step "${name}" has run: without shell: (a composite action's run steps name their shell)`,
      );
    }
    github.action_status = failed ? 'failure' : 'success';
    if (!condition(inner.if, contexts(github), status)) {
      if (inner.id) steps[inner.id] = { outputs: {}, outcome: 'skipped', conclusion: 'skipped' };
      sc.scope.log(
        `    ⏭  ${name} (skipped${inner.if !== undefined ? `: if ${String(inner.if).trim()}` : ''})`,
      );
      continue;
    }
    sc.scope.log(`    ▶ ${name}`);
    const innerFiles = createFileCommands(mkdtempSync(join(sc.runnerTemp, `composite-${index}-`)));
    const innerGithub: Record<string, unknown> = {
      ...github,
      ...stepIdentity(inner, names),
      action_path: dir,
      env: innerFiles.GITHUB_ENV,
      path: innerFiles.GITHUB_PATH,
    };
    const rec = await runStep(inner, name, innerFiles, {
      ...sc,
      ctx: contexts(innerGithub),
      github: innerGithub,
      status,
      env: { ...env },
      addEnv: (k, v) => {
        env[k] = v;
        sc.addEnv(k, v);
      },
    });
    if (inner.id)
      steps[inner.id] = { outputs: rec.outputs, outcome: rec.outcome, conclusion: rec.conclusion };
    if (rec.summary) appendFileSync(files.GITHUB_STEP_SUMMARY, rec.summary);
    if (rec.conclusion === 'failure') failed = true;
    sc.scope.log(`    ${rec.conclusion === 'success' ? '✔' : '✖'} ${name}`);
  }
  github.action_status = failed ? 'failure' : 'success';
  for (const [name, output] of Object.entries(metadata.outputs ?? {})) {
    const value = interpolateString(output.value ?? '', contexts(github), status);
    const delimiter = `ghadelimiter_${randomUUID()}`;
    appendFileSync(files.GITHUB_OUTPUT, `${name}<<${delimiter}\n${value}\n${delimiter}\n`);
  }
  return failed ? 1 : 0;
}

/** A JavaScript action's main step now, and its post step at the end of the job. */
async function runAction(
  step: Step,
  action: NodeAction,
  env: Record<string, string>,
  sc: StepContext,
  timeoutMs: number,
  files: FileCommandFiles,
): Promise<number> {
  sc.github.action_path = action.dir;
  const { inputs, unexpected } = stepInputs(action, step.with ?? {}, (value) =>
    interpolateString(value, sc.ctx, sc.status),
  );
  for (const name of unexpected) sc.scope.log(`    ⚠ Unexpected input '${name}' for ${step.uses}`);
  const code = await runStepProcess(sc, timeoutMs, (options) =>
    runActionStep(action, 'main', { ...options, env, inputs }),
  );
  if (action.post) {
    const { state } = readFileCommands(files);
    const postIf = action.metadata.runs['post-if'] ?? 'always()';
    sc.addPost(async () => {
      if (!condition(postIf, sc.ctx, sc.status)) return;
      sc.scope.log(`  ▶ Post ${step.name ?? step.uses}`);
      await runStepProcess({ ...sc, onOutput: undefined }, 60_000, (options) =>
        runActionStep(action, 'post', { ...options, env, inputs, state }),
      );
    });
  }
  return code;
}

/**
 * Runs a step's process through the action host as the runner does: in a
 * process group of its own, cancelled (SIGINT, then SIGTERM, then SIGKILL) on
 * Ctrl-C or at its timeout, its workflow commands (::group::, ::add-mask::, ...)
 * rendered into the log.
 */
async function runStepProcess(
  sc: StepContext,
  timeoutMs: number,
  start: (options: Omit<HostProcessOptions, 'env'>) => Promise<ProcessResult>,
): Promise<number> {
  const timeout = new AbortController();
  const timer = setTimeout(
    () => {
      sc.scope.log(`    ✖ timed out after ${Math.round(timeoutMs / 1000)}s: cancelling`);
      timeout.abort();
    },
    Math.max(1, timeoutMs),
  );
  // A step that runs after Ctrl-C (if: always(), post steps) runs to its end, as on GitHub.
  const ctrlC = sc.scope.options.signal;
  const cancel = ctrlC && !ctrlC.aborted ? AbortSignal.any([ctrlC, timeout.signal]) : timeout.signal;
  try {
    const { exitCode, signal } = await start({
      cwd: sc.workspace,
      cancel,
      detached: true,
      onSpawn: (pid) => sc.processGroups.push(pid),
      onLine: (line) => renderLine(line, sc.scope),
      onOutput: sc.onOutput,
    });
    // Killed by a signal: the shell's 128 + its number (SIGINT 130 is a cancellation, SIGKILL 137 a failure).
    return exitCode ?? (signal ? 128 + (osConstants.signals[signal] ?? 2) : 1);
  } finally {
    clearTimeout(timer);
  }
}

/** One line of a step's output as the job log shows it: workflow commands rendered, secrets masked. */
function renderLine(line: string, scope: Scope): void {
  const cmd = /^::([a-z-]+)(?: [^:]*)?::(.*)$/.exec(line);
  if (!cmd) return scope.log(`    ${mask(line, scope.masks)}`);
  const [, name, value] = cmd;
  if (name === 'add-mask') return void scope.masks.add(value!);
  if (name === 'debug' || name === 'endgroup') return;
  if (name === 'group') return scope.log(`    ▸ ${mask(value!, scope.masks)}`);
  const icon = name === 'error' ? '✖ Error:' : name === 'warning' ? '⚠ Warning:' : 'ℹ';
  scope.log(`    ${icon} ${mask(decode(value!), scope.masks)}`);
}

function decode(value: string): string {
  return value.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
}

export function workflowPath(repoRoot: string, file: string): string {
  const path = resolve(repoRoot, file);
  if (!existsSync(path)) throw new Error(`no workflow file at ${path}`);
  return path;
}
