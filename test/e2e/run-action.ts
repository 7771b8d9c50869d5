/**
 * Runs a committed bundle, dist/<name>/index.js, through the action host
 * (runner/action-host.ts) as the GitHub runner does, with what tests add on
 * top: a standalone job environment with offline AWS credentials, environment
 * overrides that can also remove a variable, a signal sent when the log
 * matches (cancellation tests), and a hard time limit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  OFFLINE_AWS_ENV,
  repositoryAction,
  runNodeAction,
  standaloneEnv,
  type HostProcessOptions,
} from '../../runner/action-host.js';
import { repositoryRoot } from '../../runner/repo.js';

export interface RunOptions {
  inputs?: Record<string, string | undefined>;
  /** Extra environment (AWS_ENDPOINT_URL, ...); undefined removes a variable. */
  env?: Record<string, string | undefined>;
  /** Kill with SIGKILL after this long (default 120 s). */
  timeoutMs?: number;
  /** Send this signal once stdout matches `when` (cancellation tests). */
  signal?: { name: NodeJS.Signals; when: RegExp };
  /** Run the post step (default: when action.yml has one). */
  post?: boolean;
  /** Cancel as GitHub does (SIGINT, SIGTERM 7.5 s later, SIGKILL 2.5 s after that) once stdout matches `when`. */
  cancelWhen?: { when: RegExp; onCancel?: () => void };
}

export interface ActionRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr interleaved, as the job log shows them. */
  log: string;
  outputs: Record<string, string>;
  summary: string;
  /** What the main step saved for its post step (GITHUB_STATE). */
  state: Record<string, string>;
  /** The post step's log, when it ran. */
  postLog?: string;
  durationMs: number;
  /** Real epoch ms when the cancellation began (cancelWhen); undefined if the log never matched. */
  cancelledAt?: number;
}

/** Sends `signal.name` once, the first time the log matches `signal.when`. */
function signalWhen(signal: RunOptions['signal']): HostProcessOptions['onOutput'] {
  if (!signal) return undefined;
  let sent = false;
  return (log, kill) => {
    if (!sent && signal.when.test(log)) {
      sent = true;
      kill(signal.name);
    }
  };
}

export async function runAction(name: string, options: RunOptions = {}): Promise<ActionRun> {
  const runnerTemp = mkdtempSync(join(tmpdir(), `action-${name}-`));
  const env: Record<string, string> = {
    ...standaloneEnv({ workspace: repositoryRoot, runnerTemp }),
    ...OFFLINE_AWS_ENV,
  };
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const cancel = new AbortController();
  let cancelledAt: number | undefined;
  const signal = signalWhen(options.signal);
  const onOutput: HostProcessOptions['onOutput'] = (log, kill) => {
    signal?.(log, kill);
    if (!options.cancelWhen || cancelledAt !== undefined || !options.cancelWhen.when.test(log)) return;
    cancelledAt = Date.now();
    options.cancelWhen.onCancel?.();
    cancel.abort();
  };
  try {
    const run = await runNodeAction(repositoryAction(name), {
      inputs: options.inputs ?? {},
      env,
      cwd: repositoryRoot,
      killAfterMs: options.timeoutMs ?? 120_000,
      onOutput,
      cancel: cancel.signal,
      post: options.post,
    });
    return {
      exitCode: run.exitCode,
      signal: run.signal,
      log: run.log,
      outputs: run.outputs,
      summary: run.summary,
      state: run.state,
      ...(run.postLog !== undefined ? { postLog: run.postLog } : {}),
      durationMs: run.durationMs,
      ...(cancelledAt !== undefined ? { cancelledAt } : {}),
    };
  } finally {
    rmSync(runnerTemp, { recursive: true, force: true });
  }
}
