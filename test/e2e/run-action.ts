/**
 * Runs a committed bundle, dist/<name>/index.js, through the action host
 * (runner/action-host.ts) as the GitHub runner does, with what tests add on
 * top: a standalone job environment with offline AWS credentials, environment
 * overrides that can also remove a variable, a signal sent when the log
 * matches (cancellation tests), and a hard time limit.
 *
 * Credentials: when AWS_ENDPOINT_URL points at a simulator whose scenario
 * models IAM, the action runs with a session of the role that runs it in the
 * pipeline (PIPELINE_ROLES, as infra/'s CI identity and the workflows assign
 * them), so every e2e run also proves that role allows what the action calls.
 */
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
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

/**
 * The role each action runs as in the pipeline (deploy-staging.yml and
 * rollback.yml, infra/lib/stacks/ci-identity-stack.ts): deploy-services
 * (deploy and rollback jobs) the deploy role, migrate the migrate role,
 * verify the read role, build-push the build role. cdk-diff.yml runs cdk-diff
 * with no AWS credentials (it diffs two syntheses); with `deployed: true` it
 * reads CloudFormation, which only the read role could be given.
 */
export const PIPELINE_ROLES: Record<string, string> = {
  'deploy-services': 'alva-staging-github-deploy',
  // The deploy job writes the release gate (ssm:PutParameter/GetParameter on that parameter only).
  'release-gate': 'alva-staging-github-deploy',
  migrate: 'alva-staging-github-migrate',
  verify: 'alva-staging-github-read',
  'cdk-diff': 'alva-staging-github-read',
  'build-push': 'alva-staging-github-build',
};

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
  /**
   * The role whose session the action runs with when the simulator models IAM
   * (default: PIPELINE_ROLES[name]); null keeps the static keys of the
   * environment (a test of what a caller without a session gets).
   */
  role?: string | null;
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
  /** The role session the action ran as (undefined: the static keys, the simulator modelling no IAM). */
  session?: { arn: string; secretAccessKey: string; sessionToken: string };
  /** The session's calls IAM refused ("OPERATION ACTION RESOURCE"), from the simulator's call log. */
  refused?: string[];
}

interface LoggedCall {
  seq: number;
  operation: string;
  errorCode?: string;
  gate?: { principal?: string; action?: string; resource?: string; also?: unknown };
}

async function lastCallSeq(endpoint: string): Promise<number> {
  const calls = (await (await fetch(new URL('/_sim/calls', endpoint))).json()) as LoggedCall[];
  return calls.at(-1)?.seq ?? 0;
}

/**
 * The calls of `sessionArn` since `since` that IAM refused. With E2E_REFUSED_LOG
 * naming a file, each is also appended there as a JSON line: running the e2e
 * suites so lists every permission a pipeline role lacks for what its action
 * does (the fidelity audit of issue 15), refusals a test expects included.
 */
async function refusedCalls(
  endpoint: string,
  since: number,
  sessionArn: string,
  action: string,
): Promise<string[]> {
  const calls = (await (await fetch(new URL(`/_sim/calls?since=${since}`, endpoint))).json()) as LoggedCall[];
  const refused = calls
    .filter((c) => c.gate?.principal === sessionArn && /AccessDenied/.test(c.errorCode ?? ''))
    .map(
      (c) =>
        `${c.operation} ${c.gate?.action ?? '?'} ${c.gate?.resource ?? '?'}${c.gate?.also ? ` also ${JSON.stringify(c.gate.also)}` : ''}`,
    );
  const file = process.env.E2E_REFUSED_LOG;
  if (file && refused.length)
    appendFileSync(
      file,
      refused.map((r) => `${JSON.stringify({ action, session: sessionArn, refused: r })}\n`).join(''),
    );
  return refused;
}

export interface SessionAnswer {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  arn: string;
  error?: string;
}

/**
 * A session of `role` from the simulator at `endpoint`, as an administrator
 * hands it out (POST /_sim/sessions); undefined when its scenario models no IAM
 * (every call is served there, whatever the keys).
 */
export async function simSession(
  endpoint: string,
  role: string,
  sessionName = 'e2e',
): Promise<SessionAnswer | undefined> {
  const response = await fetch(new URL('/_sim/sessions', endpoint), {
    method: 'POST',
    body: JSON.stringify({ role, sessionName }),
  });
  const answer = (await response.json()) as SessionAnswer;
  if (response.ok) return answer;
  if (answer.error?.includes('has no iam')) return undefined;
  throw new Error(`simulator at ${endpoint} gave no session for ${role}: ${answer.error ?? response.status}`);
}

/** The environment variables that give a process `session`'s credentials, as configure-aws-credentials exports them. */
export function sessionEnv(session: SessionAnswer): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: session.accessKeyId,
    AWS_SECRET_ACCESS_KEY: session.secretAccessKey,
    AWS_SESSION_TOKEN: session.sessionToken,
  };
}

/** sessionEnv of the pipeline role of `action` at `endpoint`; no variables when the simulator models no IAM. */
export async function pipelineSessionEnv(endpoint: string, action: string): Promise<Record<string, string>> {
  const role = PIPELINE_ROLES[action];
  if (!role) throw new Error(`no pipeline role for action ${action}`);
  const session = await simSession(endpoint, role, `e2e-${action}`);
  return session ? sessionEnv(session) : {};
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
  const role = options.role === undefined ? PIPELINE_ROLES[name] : options.role;
  const session =
    role && env.AWS_ENDPOINT_URL ? await simSession(env.AWS_ENDPOINT_URL, role, `e2e-${name}`) : undefined;
  if (session) Object.assign(env, sessionEnv(session));
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
  const since = session ? await lastCallSeq(env.AWS_ENDPOINT_URL!) : 0;
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
      ...(session
        ? {
            session: {
              arn: session.arn,
              secretAccessKey: session.secretAccessKey,
              sessionToken: session.sessionToken,
            },
            refused: await refusedCalls(env.AWS_ENDPOINT_URL!, since, session.arn, name),
          }
        : {}),
    };
  } finally {
    rmSync(runnerTemp, { recursive: true, force: true });
  }
}
