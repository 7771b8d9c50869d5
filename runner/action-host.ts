/**
 * The action host: how GitHub's runner starts a JavaScript action, in one
 * place for the local workflow runner (run.ts), the e2e harness
 * (test/e2e/run-action.ts) and the benchmarks (bench/startup.ts, bench/build.ts).
 *
 * A step of a node action is a Node 24 process running `runs.main` of its
 * action.yml, with each input as an INPUT_<NAME> variable and five files it
 * appends file commands to (GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH,
 * GITHUB_STATE, GITHUB_STEP_SUMMARY). Its post step (`runs.post`) gets what the
 * main step saved to GITHUB_STATE as STATE_<name>. Cancelling a step sends
 * SIGINT, SIGTERM 7.5 s later, then SIGKILL.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parse as parseYaml } from 'yaml';
import { repositoryRoot } from './repo.js';

/** The Node 24 binary: the one running this code when it is 24+, else the project's. */
export function node24(): string {
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= 24) return process.execPath;
  const local = resolve(repositoryRoot, 'node_modules', '.bin', 'node');
  if (existsSync(local)) return local;
  throw new Error(
    'Node.js 24 is needed to run node24 actions: run `npm ci` (it installs one) or use Node 24',
  );
}

// ------------------------------------------------------------------ action.yml

export interface ActionMetadata {
  inputs?: Record<string, { default?: string; required?: boolean }>;
  runs: { using: string; main: string; post?: string; 'post-if'?: string; pre?: string };
}

/** A node action as the host runs it: its folder, its action.yml, and its entry files resolved. */
export interface NodeAction {
  dir: string;
  metadata: ActionMetadata;
  main: string;
  post?: string;
}

/** A composite action's action.yml: its steps run in the job, its outputs map their outputs. */
export interface CompositeMetadata {
  inputs?: Record<string, { default?: string; required?: boolean }>;
  outputs?: Record<string, { value?: string; description?: string }>;
  runs: { using: 'composite'; steps: Record<string, unknown>[] };
}

/** The action.yml (or action.yaml) in `dir`, parsed; an error when there is none. */
export function readActionMetadata(dir: string, label = dir): ActionMetadata | CompositeMetadata {
  const file = ['action.yml', 'action.yaml'].map((f) => join(dir, f)).find((f) => existsSync(f));
  if (!file) throw new Error(`${label}: no action.yml there (is the repository checked out?)`);
  const metadata = parseYaml(readFileSync(file, 'utf8')) as ActionMetadata | CompositeMetadata;
  if (!metadata?.runs?.using) throw new Error(`${label}: its action.yml has no runs.using`);
  return metadata;
}

/** Reads the action.yml (or action.yaml) in `dir`; refuses what the host cannot run. */
export function loadNodeAction(dir: string, label = dir): NodeAction {
  const metadata = readActionMetadata(dir, label) as ActionMetadata;
  if (!/^node(20|24)$/.test(metadata.runs.using)) {
    throw new Error(
      `${label} runs with "${metadata.runs.using}"; the local runner runs node20/node24 JavaScript actions and (in workflows) composite actions, not Docker ones`,
    );
  }
  if (metadata.runs.pre) throw new Error(`${label} has a pre step, which the local runner does not run`);
  return {
    dir,
    metadata,
    main: resolve(dir, metadata.runs.main),
    ...(metadata.runs.post ? { post: resolve(dir, metadata.runs.post) } : {}),
  };
}

/** The action in actions/<name> of this repository. */
export function repositoryAction(name: string): NodeAction {
  return loadNodeAction(join(repositoryRoot, 'actions', name), `actions/${name}`);
}

/**
 * The inputs a workflow step passes its action: each input action.yml declares,
 * from the step's `with:` or else its default, through `evaluate` (expressions).
 * `unexpected` names what `with:` gives that action.yml does not declare (GitHub warns).
 */
export function stepInputs(
  action: NodeAction,
  given: Record<string, unknown>,
  evaluate: (value: unknown) => string,
): { inputs: Record<string, string>; unexpected: string[] } {
  const declared = action.metadata.inputs ?? {};
  const inputs: Record<string, string> = {};
  for (const [name, spec] of Object.entries(declared)) {
    const value = given[name] ?? spec.default;
    if (value !== undefined) inputs[name] = evaluate(value);
  }
  return { inputs, unexpected: Object.keys(given).filter((name) => !(name in declared)) };
}

// ------------------------------------------------------------------ environment

/** The variable the runner passes an input in: spaces become `_`, letters upper case. */
export function inputVariable(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

/** INPUT_* variables of the inputs given (undefined: not given). */
export function inputEnv(inputs: Record<string, string | undefined>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(inputs))
    if (value !== undefined) env[inputVariable(name)] = value;
  return env;
}

/** STATE_* variables of a post step: what its main step saved with GITHUB_STATE. */
export function stateEnv(state: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(state).map(([k, v]) => [`STATE_${k}`, v]));
}

/**
 * The variables a runner gives every step, for a run outside any workflow (the
 * e2e tests, the benchmarks): a fixed repository, commit and run id.
 */
export function standaloneEnv(dirs: { workspace: string; runnerTemp: string }): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? dirs.runnerTemp,
    RUNNER_TEMP: dirs.runnerTemp,
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: dirs.workspace,
    GITHUB_REPOSITORY: 'acme/alva',
    GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
    GITHUB_RUN_ID: '1',
    GITHUB_SERVER_URL: 'https://github.com',
  };
}

/**
 * AWS settings for a run with no account behind it (the simulator or a stub
 * server): fixed example credentials, and no instance-metadata lookup.
 */
export const OFFLINE_AWS_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  AWS_EC2_METADATA_DISABLED: 'true',
} as const;

// ------------------------------------------------------------------ file commands

export type FileCommandFiles = Record<
  'GITHUB_OUTPUT' | 'GITHUB_ENV' | 'GITHUB_PATH' | 'GITHUB_STATE' | 'GITHUB_STEP_SUMMARY',
  string
>;

/** Creates the five empty file-command files of one step in `dir`; the result is their variables. */
export function createFileCommands(dir: string): FileCommandFiles {
  const files: FileCommandFiles = {
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_ENV: join(dir, 'env'),
    GITHUB_PATH: join(dir, 'path'),
    GITHUB_STATE: join(dir, 'state'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary'),
  };
  for (const file of Object.values(files)) writeFileSync(file, '');
  return files;
}

/** What a step wrote with its file commands. */
export interface FileCommands {
  outputs: Record<string, string>;
  /** Variables for the job's later steps (GITHUB_ENV). */
  env: Record<string, string>;
  /** Directories for the job's later steps' PATH, in the order written (GITHUB_PATH). */
  path: string[];
  state: Record<string, string>;
  summary: string;
}

export function readFileCommands(files: FileCommandFiles): FileCommands {
  const read = (file: string) => readFileSync(file, 'utf8');
  return {
    outputs: parseFileCommands(read(files.GITHUB_OUTPUT)),
    env: parseFileCommands(read(files.GITHUB_ENV)),
    path: read(files.GITHUB_PATH).split('\n').filter(Boolean),
    state: parseFileCommands(read(files.GITHUB_STATE)),
    summary: read(files.GITHUB_STEP_SUMMARY),
  };
}

/** Parses the file-command format (name=value and name<<DELIMITER heredocs). */
export function parseFileCommands(text: string): Record<string, string> {
  const result: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== heredoc[2]; i++) value.push(lines[i]!);
      result[heredoc[1]!] = value.join('\n');
    } else if (line.includes('=')) {
      result[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    }
  }
  return result;
}

// ------------------------------------------------------------------ processes

export interface HostProcessOptions {
  env: Record<string, string>;
  cwd: string;
  /** When this aborts, the runner's cancellation: SIGINT, SIGTERM 7.5 s later, SIGKILL at 10 s. */
  cancel?: AbortSignal;
  /** SIGKILL after this long: a hard limit, so that a hung process fails a test instead of hanging it. */
  killAfterMs?: number;
  /** A process group of its own (the runner ends what a job's steps leave running by group). */
  detached?: boolean;
  onSpawn?: (pid: number) => void;
  /** Each line of stdout and stderr, as it arrives (the last one at exit, even without a newline). */
  onLine?: (line: string) => void;
  /** The log so far, after each chunk, with a way to signal the process (cancellation tests). */
  onOutput?: (log: string, kill: (signal: NodeJS.Signals) => void) => void;
}

export interface ProcessResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr interleaved, as the job log shows them. */
  log: string;
  /** performance.now() just before spawn() (benchmarks time against it). */
  spawnedAt: number;
  /** spawn() to exit. */
  durationMs: number;
}

/** Runs one process of a step and collects its output. */
export function hostProcess(
  command: string,
  args: string[],
  options: HostProcessOptions,
): Promise<ProcessResult> {
  return new Promise((resolvePromise, reject) => {
    const spawnedAt = performance.now();
    const child = spawn(command, args, {
      env: options.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: options.detached ?? false,
    });
    if (child.pid) options.onSpawn?.(child.pid);
    const kill = (signal: NodeJS.Signals) => void child.kill(signal);
    let log = '';
    let pending = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      log += text;
      if (options.onLine) {
        pending += text;
        const lines = pending.split('\n');
        pending = lines.pop()!;
        lines.forEach(options.onLine);
      }
      options.onOutput?.(log, kill);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timers: NodeJS.Timeout[] = [];
    if (options.killAfterMs !== undefined)
      timers.push(setTimeout(() => kill('SIGKILL'), options.killAfterMs));
    const onCancel = () => {
      kill('SIGINT');
      timers.push(
        setTimeout(() => kill('SIGTERM'), 7_500),
        setTimeout(() => kill('SIGKILL'), 10_000),
      );
    };
    if (options.cancel?.aborted) onCancel();
    else options.cancel?.addEventListener('abort', onCancel, { once: true });
    child.on('error', reject);
    child.on('close', (exitCode, signal) => {
      const durationMs = performance.now() - spawnedAt;
      timers.forEach(clearTimeout);
      options.cancel?.removeEventListener('abort', onCancel);
      if (pending) options.onLine?.(pending);
      resolvePromise({ exitCode, signal, log, spawnedAt, durationMs });
    });
  });
}

// ------------------------------------------------------------------ action steps

export interface ActionStepOptions extends HostProcessOptions {
  /** Inputs as given (a workflow step's `with:` and action.yml's defaults are the caller's to merge). */
  inputs?: Record<string, string | undefined>;
  /** For the post step: what the main step saved with GITHUB_STATE. */
  state?: Record<string, string>;
  /** Run this file instead of action.yml's `runs.main` (the benchmarks' scratch builds). */
  entry?: string;
  /** Put before `node <entry>` (a wrapper such as GNU time). */
  wrapper?: string[];
}

/**
 * Starts one step of a node action, main or post, in `env` (which holds the
 * step's file-command variables) with its inputs, and for post its state.
 */
export function runActionStep(
  action: NodeAction,
  step: 'main' | 'post',
  options: ActionStepOptions,
): Promise<ProcessResult> {
  const entry = step === 'main' ? (options.entry ?? action.main) : action.post;
  if (!entry) throw new Error(`${action.dir} has no post step`);
  const env = {
    ...options.env,
    ...inputEnv(options.inputs ?? {}),
    GITHUB_ACTION_PATH: action.dir,
    ...(step === 'post' ? stateEnv(options.state ?? {}) : {}),
  };
  const [command, ...args] = [...(options.wrapper ?? []), node24(), entry];
  return hostProcess(command!, args, { ...options, env });
}

export interface NodeActionOptions extends ActionStepOptions {
  /** Run the post step after main (default: when action.yml declares one). */
  post?: boolean;
}

export interface NodeActionRun extends FileCommands {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The main step's log. */
  log: string;
  /** The post step's log, when it ran. */
  postLog?: string;
  /** performance.now() just before the main step's spawn(). */
  spawnedAt: number;
  /** The main step, spawn() to exit. */
  durationMs: number;
}

/**
 * A node action as one step of a job: its main step in fresh file-command files,
 * then its post step with the state main saved. The hooks (onLine, onOutput,
 * onSpawn) and the entry and wrapper apply to the main step.
 */
export async function runNodeAction(action: NodeAction, options: NodeActionOptions): Promise<NodeActionRun> {
  const dir = mkdtempSync(join(tmpdir(), 'action-step-'));
  try {
    const files = createFileCommands(dir);
    const env = { ...options.env, ...files };
    const main = await runActionStep(action, 'main', { ...options, env });
    const commands = readFileCommands(files);
    const run: NodeActionRun = { ...commands, ...main };
    if (action.post && options.post !== false) {
      const post = await runActionStep(action, 'post', {
        env,
        cwd: options.cwd,
        inputs: options.inputs,
        state: commands.state,
        cancel: options.cancel,
        killAfterMs: options.killAfterMs,
        detached: options.detached,
      });
      run.postLog = post.log;
    }
    return run;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
