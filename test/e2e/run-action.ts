/**
 * Runs a committed bundle, dist/<name>/index.js, as the GitHub runner does: a
 * separate Node 24 process with INPUT_* variables and the file commands
 * (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_ENV, GITHUB_STATE), then its
 * post step when action.yml declares one.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { node24, parseFileCommands } from '../../runner/protocol.js';

const root = resolve(import.meta.dirname, '..', '..');

export interface RunOptions {
  inputs?: Record<string, string | undefined>;
  /** Extra environment (AWS_ENDPOINT_URL, ...). */
  env?: Record<string, string | undefined>;
  /** Kill with SIGKILL after this long (default 120 s). */
  timeoutMs?: number;
  /** Send this signal once stdout matches `when` (cancellation tests). */
  signal?: { name: NodeJS.Signals; when: RegExp };
  /** Run the post step (default: when action.yml has one). */
  post?: boolean;
}

export interface ActionRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr interleaved, as the job log shows them. */
  log: string;
  outputs: Record<string, string>;
  summary: string;
  /** The post step's log, when it ran. */
  postLog?: string;
  durationMs: number;
}

function inputEnv(inputs: Record<string, string | undefined>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(inputs)) {
    if (value !== undefined) env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
  }
  return env;
}

interface ProcessResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  log: string;
}

function runProcess(
  entry: string,
  env: Record<string, string>,
  timeoutMs: number,
  signal?: RunOptions['signal'],
): Promise<ProcessResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(node24(), [entry], { env, cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    let signalled = false;
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      if (signal && !signalled && signal.when.test(log)) {
        signalled = true;
        child.kill(signal.name);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (exitCode, sig) => {
      clearTimeout(timer);
      resolvePromise({ exitCode, signal: sig, log });
    });
  });
}

export async function runAction(name: string, options: RunOptions = {}): Promise<ActionRun> {
  const dir = mkdtempSync(join(tmpdir(), `action-${name}-`));
  const files = {
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary'),
    GITHUB_ENV: join(dir, 'env'),
    GITHUB_STATE: join(dir, 'state'),
    GITHUB_PATH: join(dir, 'path'),
  };
  for (const file of Object.values(files)) writeFileSync(file, '');
  const base: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? dir,
    RUNNER_TEMP: dir,
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: root,
    GITHUB_REPOSITORY: 'acme/alva',
    GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
    GITHUB_RUN_ID: '1',
    GITHUB_SERVER_URL: 'https://github.com',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    AWS_EC2_METADATA_DISABLED: 'true',
    ...files,
  };
  const env = { ...base, ...inputEnv(options.inputs ?? {}) };
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const started = Date.now();
  try {
    const main = await runProcess(
      join(root, 'dist', name, 'index.js'),
      env,
      options.timeoutMs ?? 120_000,
      options.signal,
    );
    const run: ActionRun = {
      ...main,
      outputs: parseFileCommands(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
      summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
      durationMs: Date.now() - started,
    };
    const meta = parseYaml(readFileSync(join(root, 'actions', name, 'action.yml'), 'utf8')) as {
      runs: { post?: string };
    };
    if (meta.runs.post && options.post !== false) {
      const state = parseFileCommands(readFileSync(files.GITHUB_STATE, 'utf8'));
      const stateEnv = Object.fromEntries(Object.entries(state).map(([k, v]) => [`STATE_${k}`, v]));
      const post = await runProcess(
        resolve(root, 'actions', name, meta.runs.post),
        { ...env, ...stateEnv },
        options.timeoutMs ?? 120_000,
      );
      run.postLog = post.log;
    }
    return run;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
