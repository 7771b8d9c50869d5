/**
 * Scale benchmark: deploy-services' library (lib/ecs/deploy.ts, as the action
 * runs it: plan, then every service at once, `wait-for: healthy`) releasing
 * 4, 10, 25, 50 and 100 services of staging's shapes (sim/scale.ts), and two
 * releases of 25 at once in one account of 50, against the simulator with
 * AWS's rate limits on (sim/throttle.ts, the documented defaults).
 *
 * Each case gets a fresh simulator in a process of its own (`sim/cli.ts`, as
 * `npm run sim` runs it), and each release a process of its own running the
 * library, so the peak memory of each is its own (Linux VmHWM / maxRSS).
 * Measured per release: wall time; AWS calls (every HTTP attempt its SDK
 * clients sent, throttled ones included) for the whole deploy and per poll of
 * the follow loop (a poll: the calls between two of its sleeps); throttled
 * answers; detection delay (the release's return minus the simulator's
 * ground-truth moment the last new task turned healthy); peak RSS. Per case,
 * from the simulator: every call it answered, the throttled ones, calls that
 * failed otherwise, and its peak RSS.
 *
 * Speed: the simulator runs `speed` times faster than real time and the
 * library's poll intervals and timeout are divided by it, as bench/deploy.ts
 * does. The rate limits refill in simulated time, but the SDK's retry back-off
 * and each call's latency are real time, so above speed 1 a throttled call
 * waits `speed` times longer in simulated terms than it would on AWS. The
 * default, speed 1, keeps both in AWS's proportions. The deploy's timeout is
 * 240 s simulated by default (`--timeout`; the action's default is 30 min),
 * and a release still running 10 s after it is stopped and reported as such,
 * so a failing case cannot hold the run for an hour.
 *
 *   npx tsx bench/scale.ts [--speed 1] [--sizes 4,10,25,50,100] [--concurrent 25] [--timeout 240] [--out bench/results/scale.md]
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { SimCall, SimEvent } from '../sim/index.js';
import { loadScenario } from '../sim/index.js';
import { scaleScenario, scaleServiceName } from '../sim/scale.js';
import type { ThrottlingSummary } from '../sim/throttle.js';
import { createEcsClients } from '../lib/ecs/clients.js';
import { executeDeploy, planImageDeploy } from '../lib/ecs/deploy.js';
import { DETAIL_CALLS_PER_POLL, minimumIntervalMs, pollCallBudget } from '../lib/ecs/follow/poll-budget.js';
import type { Log } from '../lib/log.js';
import { systemClock, type Clock } from '../lib/time.js';

const root = resolve(import.meta.dirname, '..');
const CLUSTER = 'alva-staging-cluster';
const REGISTRY = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
/** The action's defaults (lib/ecs/rollout.ts): 1–2 s between polls, a heartbeat every 30 s, a 30 min timeout. */
const MIN_INTERVAL_MS = 1000;
const MAX_INTERVAL_MS = 2000;
/**
 * The deploy's default timeout, simulated s (the action's default is 30 min).
 * A release of 100 services needs two minutes at AWS's rates (registering
 * alone: 80 s); one still running past this (a rollback gets a timeout of its
 * own) is stopped.
 */
const DEFAULT_DEPLOY_TIMEOUT_S = 240;

// ---------------------------------------------------------------- worker: one release, in a process of its own

interface WorkerArgs {
  services: string[];
  tag: string;
  speed: number;
  /** The deploy's timeout, simulated ms. */
  timeoutMs: number;
}

/** One HTTP attempt an SDK client sent. */
interface Attempt {
  operation: string;
  throttled: boolean;
  failed: boolean;
}

interface WorkerResult {
  ok: boolean;
  verdict: string;
  startedAt: number;
  endedAt: number;
  taskDefinitions: string[];
  attempts: Attempt[];
  /** Index into `attempts` where each sleep of the follow loop began. */
  sleeps: number[];
  /** Index into `attempts` after the last UpdateService: where following begins. */
  followFrom: number;
  rssBeforeMB: number;
  peakRssMB: number;
}

async function worker(args: WorkerArgs): Promise<WorkerResult> {
  // The action's log, kept only for its first errors: a release stopped by the benchmark says what went wrong.
  const errors: string[] = [];
  const quiet: Log = {
    info: () => undefined,
    warning: () => undefined,
    error: (message) =>
      void (errors.length < 3 && errors.push(String(message).split('\n')[0]!.slice(0, 160))),
    debug: () => undefined,
    group: (_name, fn) => fn(),
  };
  const clients = createEcsClients();
  const attempts: Attempt[] = [];
  let followFrom = 0;
  // Inside the SDK's retry loop: one entry per attempt, throttled or not.
  const count = {
    step: 'deserialize' as const,
    priority: 'high' as const,
    name: 'benchScaleCount',
  };
  const counter =
    (next: (a: unknown) => Promise<unknown>, context: { commandName?: string }) => async (a: unknown) => {
      const operation = (context.commandName ?? '?').replace(/Command$/, '');
      try {
        const out = await next(a);
        attempts.push({ operation, throttled: false, failed: false });
        if (operation === 'UpdateService') followFrom = attempts.length;
        return out;
      } catch (err) {
        const throttled = /Throttl/.test((err as Error).name ?? '');
        attempts.push({ operation, throttled, failed: !throttled });
        throw err;
      }
    };
  clients.ecs.middlewareStack.add(counter as never, count);
  (await clients.elbv2()).middlewareStack.add(counter as never, count);
  const sleeps: number[] = [];
  const clock: Clock = {
    now: () => Date.now(),
    sleep: (ms, signal) => {
      sleeps.push(attempts.length);
      return systemClock.sleep(ms, signal);
    },
  };
  const rssBeforeMB = Math.round(process.memoryUsage().rss / 1e6);
  const startedAt = Date.now();
  const images = Object.fromEntries(args.services.map((s) => [s, `${REGISTRY}/${s}:${args.tag}`]));
  let ok = false;
  let verdict = 'running';
  let taskDefinitions: string[] = [];
  const result = (): WorkerResult => ({
    ok,
    verdict,
    startedAt,
    endedAt: Date.now(),
    taskDefinitions,
    attempts,
    sleeps,
    followFrom,
    rssBeforeMB,
    peakRssMB: Math.round((process.resourceUsage().maxRSS * 1024) / 1e6),
  });
  // Stopped by the orchestrator (past its time limit): what it did so far.
  process.once('SIGTERM', () => {
    verdict = `still running after ${Math.round((Date.now() - startedAt) / 1000)} s: stopped by the benchmark${
      errors.length ? `; it had logged: ${errors.join(' / ')}` : ''
    }`;
    process.stdout.write(`\n${JSON.stringify(result())}\n`, () => process.exit(0));
  });
  try {
    const plan = await planImageDeploy(clients, CLUSTER, args.services, images);
    const report = await executeDeploy(clients, plan, {
      waitFor: 'healthy',
      timeoutMs: args.timeoutMs / args.speed,
      rollbackOnFailure: true,
      forceNewDeployment: false,
      log: quiet,
      clock,
      minIntervalMs: MIN_INTERVAL_MS / args.speed,
      maxIntervalMs: MAX_INTERVAL_MS / args.speed,
      heartbeatMs: 30_000 / args.speed,
    });
    ok = report.ok;
    taskDefinitions = report.services.map((s) => s.taskDefinition);
    const failures = report.services.filter((s) => s.status !== 'deployed');
    verdict = ok
      ? 'success'
      : `failure: ${failures.length} of ${report.services.length} (${[
          ...new Set(failures.map((s) => `${s.status}${s.reason ? `: ${s.reason.slice(0, 120)}` : ''}`)),
        ].join('; ')})`;
  } catch (err) {
    verdict = `error: ${(err as Error).message.slice(0, 300)}`;
  }
  return result();
}

// ---------------------------------------------------------------- orchestrator

interface Case {
  label: string;
  /** Services in the account. */
  account: number;
  /** One list of services per release, all started at once. */
  releases: string[][];
}

interface ReleaseMeasure {
  services: number;
  result: WorkerResult;
  wallMs: number;
  detectionMs: number;
  totalCalls: number;
  throttled: number;
  failedCalls: number;
  polls: number;
  callsPerPollMean: number;
  callsPerPollMax: number;
  /** Mean per poll, by operation. */
  perPoll: Record<string, number>;
}

interface CaseMeasure {
  c: Case;
  releases: ReleaseMeasure[];
  simCalls: number;
  simThrottled: number;
  simFailed: number;
  throttling: ThrottlingSummary;
  simRssStartMB: number;
  simPeakRssMB: number;
}

function procStatusMB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return line ? Math.round((Number(line.split(/\s+/)[1]) * 1024) / 1e6) : NaN;
}

/** The simulators and releases running now: an interrupted benchmark stops them (they would outlive it). */
const children = new Set<ChildProcess>();

function tsxNode(args: string[], env: NodeJS.ProcessEnv, nodeFlags: string[] = []): ChildProcess {
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function startSimProcess(
  scenarioFile: string,
  speed: number,
): Promise<{ child: ChildProcess; url: string }> {
  // As `npm run sim` starts it (package.json: NODE_OPTIONS=--max-semi-space-size=2).
  const child = tsxNode(
    ['sim/cli.ts', '--scenario', scenarioFile, '--port', '0', '--speed', String(speed)],
    {},
    ['--max-semi-space-size=2'],
  );
  const url = await new Promise<string>((resolveUrl, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (match) resolveUrl(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`simulator exited (${code}) before listening: ${out}`)));
  });
  return { child, url };
}

function runWorker(url: string, args: WorkerArgs): Promise<WorkerResult> {
  const child = tsxNode(['bench/scale.ts', '--worker', JSON.stringify(args)], {
    AWS_ENDPOINT_URL: url,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDBENCHSCALE',
    AWS_SECRET_ACCESS_KEY: 'bench-scale',
  });
  // The deploy's timeout and a margin: past it (timed out, or rolling back) the release is stopped; it reports what it did.
  const limit = setTimeout(() => child.kill('SIGTERM'), args.timeoutMs / args.speed + 10_000);
  const startedAt = Date.now();
  return new Promise((resolveResult) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    // 'close', not 'exit': the result is the last thing on stdout, read only once the pipe closed.
    child.once('close', (code) => {
      clearTimeout(limit);
      const line = out.trim().split('\n').at(-1) ?? '';
      try {
        resolveResult(JSON.parse(line) as WorkerResult);
      } catch {
        // A release that left no result is a failed row, not the end of the benchmark.
        resolveResult({
          ok: false,
          verdict: `the release's process exited ${code} without a result: ${out.slice(-200)}`,
          startedAt,
          endedAt: Date.now(),
          taskDefinitions: [],
          attempts: [],
          sleeps: [],
          followFrom: 0,
          rssBeforeMB: NaN,
          peakRssMB: NaN,
        });
      }
    });
  });
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  return (await res.json()) as T;
}

/** Real ms when the last new task of `taskDefinitions` turned healthy in its target group. */
function lastNewTaskHealthyAt(events: SimEvent[], taskDefinitions: Set<string>): number {
  const newTasks = new Set(
    events
      .filter((e) => e.kind === 'task.provisioning' && taskDefinitions.has(String(e.detail.taskDefinition)))
      .map((e) => String(e.detail.taskArn)),
  );
  const healthy = events.filter(
    (e) =>
      e.kind === 'target.health' && e.detail.state === 'healthy' && newTasks.has(String(e.detail.taskArn)),
  );
  return healthy.length ? Math.max(...healthy.map((e) => e.realMs)) : NaN;
}

function measureRelease(
  services: number,
  result: WorkerResult,
  events: SimEvent[],
  speed: number,
): ReleaseMeasure {
  const { attempts, sleeps } = result;
  // Polls: from following's start to the first sleep, between sleeps, and after the last one.
  const bounds = [result.followFrom, ...sleeps.filter((s) => s >= result.followFrom), attempts.length];
  const polls: Attempt[][] = [];
  for (let i = 0; i + 1 < bounds.length; i++) polls.push(attempts.slice(bounds[i], bounds[i + 1]));
  const counted = polls.filter((p) => p.length > 0);
  const perPoll: Record<string, number> = {};
  for (const poll of counted)
    for (const a of poll) perPoll[a.operation] = (perPoll[a.operation] ?? 0) + 1 / counted.length;
  const truth = lastNewTaskHealthyAt(events, new Set(result.taskDefinitions));
  return {
    services,
    result,
    wallMs: result.endedAt - result.startedAt,
    detectionMs: (result.endedAt - truth) * speed,
    totalCalls: attempts.length,
    throttled: attempts.filter((a) => a.throttled).length,
    failedCalls: attempts.filter((a) => a.failed).length,
    polls: counted.length,
    callsPerPollMean: counted.reduce((s, p) => s + p.length, 0) / Math.max(1, counted.length),
    callsPerPollMax: Math.max(0, ...counted.map((p) => p.length)),
    perPoll,
  };
}

async function runCase(
  c: Case,
  speed: number,
  timeoutMs: number,
  dir: string,
  tag: string,
): Promise<CaseMeasure> {
  const scenario = scaleScenario(loadScenario(resolve(root, 'sim/scenarios/staging.json')), c.account);
  // Every release would deploy as the same role: authorization is not what this measures (as bench/deploy.ts).
  delete scenario.iam;
  const file = join(dir, `scale-${c.account}.json`);
  writeFileSync(file, JSON.stringify(scenario));
  const { child, url } = await startSimProcess(file, speed);
  try {
    const simRssStartMB = procStatusMB(child.pid!, 'VmRSS');
    const results = await Promise.all(
      c.releases.map((services) => runWorker(url, { services, tag, speed, timeoutMs })),
    );
    const [calls, events, throttling] = await Promise.all([
      getJson<SimCall[]>(`${url}/_sim/calls`),
      getJson<SimEvent[]>(`${url}/_sim/events`),
      getJson<ThrottlingSummary>(`${url}/_sim/throttling`),
    ]);
    const simPeakRssMB = procStatusMB(child.pid!, 'VmHWM');
    return {
      c,
      releases: results.map((r, i) => measureRelease(c.releases[i]!.length, r, events, speed)),
      simCalls: calls.length,
      simThrottled: calls.filter((x) => /Throttl/.test(x.errorCode ?? '')).length,
      simFailed: calls.filter((x) => x.status !== 200 && !/Throttl/.test(x.errorCode ?? '')).length,
      throttling,
      simRssStartMB,
      simPeakRssMB,
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

// ---------------------------------------------------------------- report

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '—');
const seconds = (ms: number) => fmt(ms / 1000);

function budgetArithmetic(sizes: number[], concurrent: number): string {
  const rate = (n: number) => {
    const describe = Math.ceil(n / 10);
    const intervalS = minimumIntervalMs(MIN_INTERVAL_MS, n) / 1000;
    return { describe, intervalS, budget: pollCallBudget(n) };
  };
  const rows = sizes.map((n) => {
    const { describe, intervalS, budget } = rate(n);
    return `| ${n} | ${describe} | ${DETAIL_CALLS_PER_POLL} | ${budget} | ${fmt(intervalS)} | ${fmt(describe / intervalS)} | ${fmt(DETAIL_CALLS_PER_POLL / intervalS)} | ${fmt(budget / intervalS)} |`;
  });
  const most = Math.max(...sizes.map((n) => rate(n).describe / rate(n).intervalS));
  const two = rate(concurrent);
  const registerSeconds = (n: number) => Math.max(0, n - 20);
  const updateSeconds = (n: number) => Math.max(0, (n - 50) / 5);
  const biggest = Math.max(...sizes);
  return [
    '## The poll budget, in arithmetic',
    '',
    'One poll of n pending services (lib/ecs/follow/poll-budget.ts, as committed): ceil(n / 10) DescribeServices',
    `(10 services a call) plus at most ${DETAIL_CALLS_PER_POLL} detail reads (ListServiceDeployments, DescribeServiceDeployments`,
    '(20 a call), ListTasks, DescribeTasks (100 a call), DescribeTargetHealth (one target group a call)), shared',
    "by the services longest waiting; polls are at least minimumIntervalMs apart (the action's 1 s, grown with",
    'the DescribeServices calls a poll needs). At the shortest interval, from those functions:',
    '',
    '| services | DescribeServices / poll | detail calls / poll (max) | calls / poll (max) | shortest interval (s) | DescribeServices / s | detail calls / s (max) | calls / s (max) |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    'Against the account\'s buckets (sim/README.md, "Rate limits"): DescribeServices draws on *Service read*',
    `(100, refilled 20/s): at most ${fmt(most)}/s per release above. The detail reads spread over four ECS buckets`,
    "of 50–100 (refilled 20/s each) and ELBv2's account-level bucket (40, refilled 10/s), which every ELBv2 call",
    `of the account shares. Two releases of ${concurrent} at once poll at most ${fmt((2 * two.describe) / two.intervalS)} DescribeServices/s and`,
    `${fmt((2 * DETAIL_CALLS_PER_POLL) / two.intervalS)} detail calls/s: if every detail read were a DescribeTargetHealth, that is over ELBv2's`,
    '10/s, the first bucket two releases can empty (its 40-token burst absorbs a few such polls). What no poll',
    'budget changes: a release starts with one RegisterTaskDefinition per service (*Task definition modify*: 20,',
    'refilled 1/s) and one UpdateService per service (*Service modify*: 50, refilled 5/s), so registering takes',
    `about (n − 20) s past 20 services (${registerSeconds(biggest)} s for ${biggest}) and updating about (n − 50) / 5 s past 50`,
    `(${fmt(updateSeconds(biggest))} s for ${biggest}), however the calls are paced: on AWS as here.`,
  ].join('\n');
}

function report(
  measures: CaseMeasure[],
  speed: number,
  timeoutMs: number,
  commit: string,
  totalMs: number,
): string {
  const rows: string[] = [];
  for (const m of measures) {
    m.releases.forEach((r, i) => {
      const label = m.releases.length > 1 ? `${m.c.label}, release ${i + 1}` : m.c.label;
      rows.push(
        `| ${label} | ${r.result.ok ? 'yes' : `**no**: ${r.result.verdict}`} | ${seconds(r.wallMs)} | ${seconds(r.wallMs * speed)} | ${r.totalCalls} | ${fmt(r.totalCalls / r.services)} | ${r.polls} | ${fmt(r.callsPerPollMean)} | ${r.callsPerPollMax} | ${r.throttled} | ${r.failedCalls} | ${fmt(r.detectionMs / 1000, 2)} | ${r.result.peakRssMB} (${r.result.rssBeforeMB} before) |`,
      );
    });
  }
  const simRows = measures.map(
    (m) =>
      `| ${m.c.label} | ${m.c.account} | ${m.simCalls} | ${m.simThrottled} | ${m.simFailed} | ${
        Object.entries(m.throttling.throttledByOperation)
          .map(([op, n]) => `${op} ${n}`)
          .join(', ') || '—'
      } | ${m.simPeakRssMB} (${m.simRssStartMB} at start) |`,
  );
  const perPollRows = measures.flatMap((m) =>
    m.releases.map((r, i) => {
      const label = m.releases.length > 1 ? `${m.c.label}, release ${i + 1}` : m.c.label;
      const ops = Object.entries(r.perPoll)
        .sort((a, b) => b[1] - a[1])
        .map(([op, n]) => `${op} ${fmt(n, 2)}`)
        .join(', ');
      return `| ${label} | ${ops} |`;
    }),
  );
  const byLabel = new Map(measures.map((m) => [m.c.label, m.releases[0]!]));
  const four = byLabel.get('4 services');
  const fifty = byLabel.get('50 services');
  const ratio = four && fifty ? fifty.wallMs / four.wallMs : NaN;
  return [
    '# Scale benchmark: one release of 4 to 100 services, and two at once, under ECS and ELBv2 rate limits',
    '',
    `Generated by \`npm run bench:scale\` (bench/scale.ts) on commit ${commit}, simulator speed ${speed}×`,
    `(${speed === 1 ? "real time: the SDK's retry back-off and call latency keep their proportion to the rate limits" : "the SDK's retry back-off is real time, so a throttled call waits speed× longer in simulated terms"}); total run ${fmt(totalMs / 60000)} min.`,
    "Services are generated from staging's four shapes by sim/scale.ts (svc-001…: their own task-definition",
    'family, target group and listener rule, one task each); each release deploys a new image tag to every one',
    "of its services with the deploy-services library (`wait-for: healthy`, the action's default intervals",
    'divided by the speed), in a process of its own, against a fresh simulator process with the documented',
    "rate limits on (sim/throttle.ts). Wall time × speed is the real-time equivalent. The deploy's timeout is",
    `${timeoutMs / 1000} s simulated (the action's default: 30 min); a release still running 10 s after it is stopped`,
    'and reported with what it did until then.',
    '',
    '## Per release',
    '',
    '| case | succeeded | wall (s) | × speed (s) | AWS calls | calls / service | polls | calls / poll (mean) | calls / poll (max) | throttled answers | other failed calls | detection delay (s) | peak RSS of the action, MB |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    "AWS calls: every HTTP attempt of the release's ECS and ELBv2 clients, retries of throttled calls included.",
    'A poll: the calls between two sleeps of the follow loop (following the release, or its rollback).',
    "Detection delay: the release's return minus the simulator's ground-truth moment its last new task turned",
    "healthy, × speed. Peak RSS: the release's process (Node with tsx loading the TypeScript library, not the",
    'ncc bundle), and its RSS before the deploy began.',
    '',
    `50 services against 4: wall time ${fmt(ratio, 2)}× (acceptance: at most 1.5×); calls per poll for 50`,
    `services at most ${fifty ? fifty.callsPerPollMax : '—'} (acceptance: at most 12).`,
    '',
    '## Calls per poll, by operation (mean)',
    '',
    '| case | operations |',
    '| --- | --- |',
    ...perPollRows,
    '',
    '## The simulator',
    '',
    '| case | services in the account | calls answered | throttled | other errors | throttled, by operation | peak RSS, MB |',
    '| --- | ---: | ---: | ---: | ---: | --- | ---: |',
    ...simRows,
    '',
    budgetArithmetic(
      measures.filter((m) => m.releases.length === 1).map((m) => m.c.account),
      measures.find((m) => m.releases.length > 1)?.releases[0]?.services ?? 25,
    ),
    '',
  ].join('\n');
}

// ---------------------------------------------------------------- main

const { values: args } = parseArgs({
  options: {
    worker: { type: 'string' },
    speed: { type: 'string', default: '1' },
    sizes: { type: 'string', default: '4,10,25,50,100' },
    concurrent: { type: 'string', default: '25' },
    timeout: { type: 'string', default: String(DEFAULT_DEPLOY_TIMEOUT_S) },
    out: { type: 'string', default: 'bench/results/scale.md' },
  },
});

if (args.worker) {
  const result = await worker(JSON.parse(args.worker) as WorkerArgs);
  // Exit (the SDK's keep-alive sockets would hold the process) once the result is written: a pipe takes a large write in parts.
  process.stdout.write(`\n${JSON.stringify(result)}\n`, () => process.exit(0));
}

for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    for (const child of children) child.kill('SIGTERM');
    process.exit(130);
  });
const speed = Number(args.speed);
const sizes = args.sizes.split(',').map(Number);
const concurrent = Number(args.concurrent);
const timeoutMs = Number(args.timeout) * 1000;
const names = (from: number, count: number, total: number) =>
  Array.from({ length: count }, (_, i) => scaleServiceName(from + i, total));
const cases: Case[] = [
  ...sizes.map((n) => ({ label: `${n} services`, account: n, releases: [names(1, n, n)] })),
  ...(concurrent > 0
    ? [
        {
          label: `2 × ${concurrent} at once`,
          account: 2 * concurrent,
          releases: [names(1, concurrent, 2 * concurrent), names(concurrent + 1, concurrent, 2 * concurrent)],
        },
      ]
    : []),
];
const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
const dirty = execFileSync('git', ['status', '--porcelain', '--', 'lib', 'sim', 'bench/scale.ts'], {
  cwd: root,
  encoding: 'utf8',
}).trim();
const dir = mkdtempSync(join(tmpdir(), 'bench-scale-'));
const started = Date.now();
const measures: CaseMeasure[] = [];
try {
  for (const c of cases) {
    const m = await runCase(c, speed, timeoutMs, dir, `scale-${Date.now().toString(36)}`);
    measures.push(m);
    for (const r of m.releases)
      console.log(
        `${c.label}: ${r.result.verdict}, ${seconds(r.wallMs)} s, ${r.totalCalls} calls, ${fmt(r.callsPerPollMean)}/poll (max ${r.callsPerPollMax}), ${r.throttled} throttled, detection ${fmt(r.detectionMs / 1000, 2)} s`,
      );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const text = report(
  measures,
  speed,
  timeoutMs,
  dirty ? `${commit} (with uncommitted changes in lib/ or sim/)` : commit,
  Date.now() - started,
);
writeFileSync(resolve(root, args.out), text);
console.log(`wrote ${args.out}`);
