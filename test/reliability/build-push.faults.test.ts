/**
 * Fault matrix, build-push: dist/build-push/index.js against a real Docker
 * engine and a real registry (scripts/docker-up.sh, via the e2e support),
 * logging in through the simulator's ECR. Faults on the ECR calls, wrong
 * registry credentials and cancellation mid-build. "Nothing lost" is read
 * from the registry itself: the digest the action outputs is the one the
 * registry serves, and a failed or cancelled run leaves no tag behind.
 */
import { afterAll, beforeAll, describe, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSim, type Sim } from '../../sim/index.js';
import type { FaultSpec } from '../../sim/scenario.js';
import { runAction, type ActionRun, type RunOptions } from '../e2e/run-action.js';
import {
  REGISTRY,
  REGISTRY_PASSWORD,
  REGISTRY_USER,
  ecrHost,
  ecrScenario,
  ensureDocker,
  registryDigest,
  sampleServices,
} from '../e2e/build-push-support.js';
import { AWS_SECRET, SPEED, Verdict, exitDescribe, errorText, mutatingCalls, until } from './harness.js';

const ACTION = 'build-push';
const SHA = 'fedcba9876543210fedcba9876543210fedcba98';
// Unique per run: a first build really builds, and runs never see each other's tags.
const prefix = `reliability-${Date.now().toString(36)}`;
const WRONG_PASSWORD = 'not-the-registry-password-7d1f';

/** The job log as the runner shows it: it consumes ::add-mask:: commands, never prints them. */
/** Process ids whose command line contains `text` (the test's unique markers only). */
function pids(text: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', text], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** The action process that runs the docker client building `context`: that client's parent. */
function actionPid(context: string): number | undefined {
  for (const pid of pids(context)) {
    try {
      const ppid = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
      if (readFileSync(`/proc/${ppid}/cmdline`, 'utf8').includes('dist/build-push/index.js')) return ppid;
    } catch {
      // The process ended meanwhile.
    }
  }
  return undefined;
}

const visible = (run: ActionRun) =>
  (run.log + (run.postLog ?? ''))
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::'))
    .join('\n');

function leaked(run: ActionRun, secrets: string[]): string[] {
  const shown = visible(run);
  return secrets.filter((s) => shown.includes(s));
}

describe('fault matrix: build-push', () => {
  let sim: Sim;
  let dockerConfig: string;
  let scratch: string;
  let webDigest: string | undefined;

  beforeAll(async () => {
    await ensureDocker();
    dockerConfig = mkdtempSync(join(tmpdir(), 'reliability-docker-config-'));
    scratch = mkdtempSync(join(tmpdir(), 'reliability-build-'));
    sim = await startSim({
      scenario: ecrScenario([`${prefix}/web`, `${prefix}/slow`]),
      speed: SPEED,
      port: 0,
    });
  }, 320_000);

  afterAll(async () => {
    await sim?.close();
    rmSync(dockerConfig, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  });

  async function build(
    services: object[],
    options: {
      faults?: FaultSpec[];
      inputs?: Record<string, string>;
      run?: Partial<RunOptions>;
      password?: string;
      /** Extra environment, e.g. GITHUB_WORKSPACE for a context outside the repository. */
      env?: Record<string, string>;
    } = {},
  ): Promise<ActionRun> {
    await sim.load(
      ecrScenario(
        [`${prefix}/web`, `${prefix}/slow`],
        options.password ? { password: options.password } : {},
      ),
    );
    if (options.faults) sim.addFaults(options.faults);
    return runAction(ACTION, {
      inputs: { network: 'host', services: JSON.stringify(services), ...options.inputs },
      env: { AWS_ENDPOINT_URL: sim.url, DOCKER_CONFIG: dockerConfig, GITHUB_SHA: SHA, ...options.env },
      timeoutMs: 240_000,
      ...options.run,
    });
  }

  test('throttling and HTTP 500 on GetAuthorizationToken and DescribeRepositories: builds, pushes the digest the registry holds', async () => {
    const run = await build(sampleServices(prefix, ['web']), {
      faults: [
        { service: 'ecr', operation: 'GetAuthorizationToken', kind: 'throttle', count: 3 },
        { service: 'ecr', operation: 'DescribeRepositories', kind: 'http500', count: 2 },
      ],
    });
    const v = new Verdict(
      ACTION,
      'throttling on GetAuthorizationToken, HTTP 500 burst on DescribeRepositories',
      'exit 0; output digest = the digest the registry serves for the SHA tag; no secret in the log',
    );
    v.check(run.exitCode === 0, `${exitDescribe(run)}${run.exitCode ? `: ${errorText(run)}` : ''}`);
    const faulted = sim.calls().filter((c) => c.fault).length;
    v.check(faulted === 5, `${faulted} faulted calls`);
    webDigest = await registryDigest(`${prefix}/web`, SHA);
    const output = run.outputs.images
      ? (JSON.parse(run.outputs.images) as Record<string, string>).web
      : undefined;
    v.check(
      !!webDigest && output === `${await ecrHost(sim)}/${prefix}/web@${webDigest}`,
      `output ${output ?? 'none'}, registry ${webDigest ?? 'no tag'}`,
    );
    v.check(leaked(run, [REGISTRY_PASSWORD, AWS_SECRET]).length === 0, 'no secret in the log');
    v.finish(run);
  }, 240_000);

  test('HTTP 500 and a dropped connection on DescribeImages: the second run skips, same digest, no rebuild', async () => {
    const run = await build(sampleServices(prefix, ['web']), {
      faults: [
        { service: 'ecr', operation: 'DescribeImages', kind: 'http500', count: 2 },
        { service: 'ecr', operation: 'DescribeImages', kind: 'reset', after: 2, count: 1 },
      ],
    });
    const v = new Verdict(
      ACTION,
      'second run, DescribeImages answers 500 twice then drops the connection',
      'exit 0; web skipped (not rebuilt); output digest unchanged and served by the registry',
    );
    v.check(run.exitCode === 0, `${exitDescribe(run)}${run.exitCode ? `: ${errorText(run)}` : ''}`);
    const faulted = sim.calls().filter((c) => c.fault).length;
    v.check(faulted === 3, `${faulted} faulted calls`);
    v.check(
      /0 built, 1 skipped/.test(run.log),
      /0 built, 1 skipped/.test(run.log) ? 'skipped, not rebuilt' : 'rebuilt',
    );
    const served = await registryDigest(`${prefix}/web`, SHA);
    const output = run.outputs.images
      ? (JSON.parse(run.outputs.images) as Record<string, string>).web
      : undefined;
    v.check(
      !!webDigest && served === webDigest && output === `${await ecrHost(sim)}/${prefix}/web@${webDigest}`,
      `output ${output ?? 'none'}, registry ${served ?? 'no tag'} (first run ${webDigest ?? 'none'})`,
    );
    v.finish(run);
  }, 240_000);

  test('wrong password for a registry given as input: fails the login, no password in the log, nothing pushed', async () => {
    const run = await build(sampleServices(`${prefix}-creds`, ['web']), {
      inputs: { registry: REGISTRY, username: REGISTRY_USER, password: WRONG_PASSWORD },
    });
    const v = new Verdict(
      ACTION,
      'wrong registry password (registry, username, password inputs)',
      'exit 1 saying the login failed; the password never shown; no tag pushed; no AWS call',
    );
    v.check(run.exitCode === 1, exitDescribe(run));
    v.check(/login/i.test(errorText(run, 400)), `message: ${errorText(run, 100)}`);
    const shown = leaked(run, [
      WRONG_PASSWORD,
      Buffer.from(`${REGISTRY_USER}:${WRONG_PASSWORD}`).toString('base64'),
      AWS_SECRET,
    ]);
    v.check(
      shown.length === 0,
      shown.length ? `log shows ${shown.length} secret(s)` : 'no secret in the log',
    );
    const tag = await registryDigest(`${prefix}-creds/web`, SHA);
    v.check(tag === undefined, tag ? `registry has ${tag}` : 'registry has no tag for the SHA');
    v.check(sim.calls().length === 0, `${sim.calls().length} AWS calls`);
    v.finish(run);
  }, 240_000);

  test('ECR hands out a password the registry rejects: fails, no token in the log, nothing pushed', async () => {
    const run = await build(
      sampleServices(prefix, ['slow']).map((s) => ({ ...s, context: 'examples/api' })),
      {
        password: WRONG_PASSWORD,
      },
    );
    const v = new Verdict(
      ACTION,
      'wrong registry credentials from ECR GetAuthorizationToken',
      'exit 1 naming the rejected ECR login; the token never shown; no tag pushed; no mutating ECR call',
    );
    v.check(run.exitCode === 1, exitDescribe(run));
    v.check(/login/i.test(errorText(run, 400)), `message: ${errorText(run, 100)}`);
    const shown = leaked(run, [
      WRONG_PASSWORD,
      Buffer.from(`AWS:${WRONG_PASSWORD}`).toString('base64'),
      AWS_SECRET,
    ]);
    v.check(
      shown.length === 0,
      shown.length ? `log shows ${shown.length} secret(s)` : 'no secret in the log',
    );
    const tag = await registryDigest(`${prefix}/slow`, SHA);
    v.check(tag === undefined, tag ? `registry has ${tag}` : 'registry has no tag for the SHA');
    const mutating = mutatingCalls(sim);
    v.check(
      mutating.length === 0,
      mutating.length ? `mutating: ${mutating.join(', ')}` : 'no mutating ECR call',
    );
    v.finish(run);
  }, 240_000);

  test('SIGINT while a docker build step runs: exits non-zero, no tag pushed, no build left running', async () => {
    // A service whose RUN step waits a minute (exec form: the base image has no shell).
    const marker = `reliability-slow-${Date.now().toString(36)}`;
    const context = join(scratch, marker);
    mkdirSync(context, { recursive: true });
    writeFileSync(
      join(context, 'Dockerfile'),
      [
        'ARG BASE_IMAGE=ecs-ship/node:24',
        'FROM ${BASE_IMAGE}',
        `RUN ["node", "-e", "console.log('${marker} waiting'); setTimeout(() => {}, 60000)"]`,
        'CMD ["node", "-e", "0"]',
        '',
      ].join('\n'),
    );
    const running = build([{ name: 'slow', context, repository: `${prefix}/slow` }], {
      inputs: { 'skip-existing': 'false' },
      // build-push builds only inside the workspace: the scratch folder is this job's workspace.
      env: { GITHUB_WORKSPACE: scratch },
    });
    // The action buffers build output, so its log cannot say when the step runs: watch the
    // processes instead. Once the RUN step's process exists, SIGINT the action (the parent
    // of the docker client building our context), as the runner does on cancel.
    const stepRunning = await until(() => pids(`${marker} waiting`).length > 0, 120_000, 200);
    const action = stepRunning ? actionPid(context) : undefined;
    const signalledAt = Date.now();
    if (action) process.kill(action, 'SIGINT');
    const run = await running;
    const exitAfterMs = Date.now() - signalledAt;
    // Give the engine a moment to wind the build down, then look for leftovers.
    await new Promise((r) => setTimeout(r, 2000));
    const leftovers = pids(marker);
    const v = new Verdict(
      ACTION,
      'cancelled (SIGINT) while a docker build RUN step runs',
      'exits non-zero by itself; no tag for the SHA in the registry; no build process left running',
    );
    v.check(
      action !== undefined,
      action ? 'SIGINT sent while the RUN step ran' : 'never saw the RUN step and the action together',
    );
    v.check(run.exitCode !== 0, exitDescribe(run));
    // Not a timed assertion (speed is for bench/): the figure is recorded; a run that never
    // ended by itself would have been killed by runAction and fail the exit check above.
    v.check(run.signal === null, `exited by itself ${(exitAfterMs / 1000).toFixed(1)} s after SIGINT`);
    const tag = await registryDigest(`${prefix}/slow`, SHA);
    v.check(tag === undefined, tag ? `registry has ${tag}` : 'registry has no tag for the SHA');
    v.check(
      leftovers.length === 0,
      leftovers.length
        ? `still running: ${leftovers.length} build process(es)`
        : 'no build process left running',
    );
    v.check(leaked(run, [REGISTRY_PASSWORD, AWS_SECRET]).length === 0, 'no secret in the log');
    v.finish(run);
  }, 240_000);
});
