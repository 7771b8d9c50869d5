/**
 * Deploy benchmark: the four staging services, on the same simulated scenario,
 * deployed by
 *  - this suite's lib (lib/ecs/deploy.ts, as deploy-services runs it: all four
 *    at once), with `wait-for: healthy` (every new task healthy in its target
 *    groups) and with `wait-for: steady` (every deployment COMPLETED, which
 *    includes the old tasks' deregistration delay, as the official action's
 *    waiter must wait), and
 *  - an emulation of the official action, aws-actions/amazon-ecs-deploy-task-definition
 *    v2.6.3 (bench/official-action.ts, with its sources), in the three ways a
 *    workflow runs it: four sequential steps with default options, the same with
 *    `wait-max-delay-seconds: 15`, and four parallel matrix jobs (default options,
 *    and with `wait-max-delay-seconds: 15`: the official best case).
 * The simulator runs `speed` times faster than real time, and every delay of
 * every policy (poll intervals, waiter delays, timeouts) is divided by the same
 * speed, so wall times × speed are real-time equivalents.
 *
 * Detection delay: the moment the policy returned minus the simulator's
 * ground-truth moment its criterion held for the last service (GET /_sim/events),
 * times speed. `healthy`: the last new task healthy in its target group; `steady`
 * and the official action: the last of the new deployments COMPLETED (the
 * waiter's "one deployment, running = desired"). For the official action the
 * table also sums, over the services, how long each step kept waiting after its
 * service was done: in a sequential job that time delays every later service.
 * Call latency is not scaled, so the real-time-equivalent delays are upper bounds.
 *
 * Failure case: alva-api's new image crashes at start; the circuit breaker fails
 * the deployment and ECS rolls it back. Reported per policy: the verdict, the
 * time from the breaker firing (ground truth) to the policy's verdict on
 * alva-api, and each service's end state read from the simulator once ECS has
 * settled: new, rolled back (by the circuit breaker or by the action), or untouched.
 *
 * Five runs by default: the official waiter's jitter spreads its figures widely.
 *
 * Then the strategies section (bench/strategies/measure.ts): rolling vs blue/green with the release gate on
 * the same four services, release and rollback wall time and a bad revision's production exposure.
 *
 *   npx tsx bench/deploy.ts [--runs 5] [--speed 20] [--out bench/results/deploy.md]
 *     [--sections policies,strategies] [--strategy-runs 5] [--strategy-speed 10] [--verify-timeout 60]
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadScenario, startSim, type Sim, type SimEvent } from '../sim/index.js';
import { createEcsClients } from '../lib/ecs/clients.js';
import { executeDeploy, planImageDeploy } from '../lib/ecs/deploy.js';
import { DEFAULT_MAX_INTERVAL_MS, DEFAULT_MIN_INTERVAL_MS, type WaitFor } from '../lib/ecs/rollout.js';
import { shortTaskDefinition } from '../lib/ecs/taskdef.js';
import type { Log } from '../lib/log.js';
import {
  officialClient,
  officialMatrixJobs,
  officialSequentialJob,
  type OfficialConfig,
  type OfficialStep,
} from './official-action.js';
import { median } from './strategies/exposure.js';
import { strategiesSection } from './strategies/measure.js';
import { serviceStates, settled } from './strategies/settle.js';

const root = resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    speed: { type: 'string', default: '20' },
    out: { type: 'string', default: 'bench/results/deploy.md' },
    // Which sections to run and write: policies (the table above), strategies (bench/strategies/measure.ts).
    sections: { type: 'string', default: 'policies,strategies' },
    'strategy-runs': { type: 'string', default: '5' },
    'strategy-speed': { type: 'string', default: '10' },
    /** verify's timeout-seconds in the strategies section, simulated seconds. */
    'verify-timeout': { type: 'string', default: '60' },
    /** What dist/ holds, as the report states it (e.g. "built from this commit by node scripts/bundle.mjs"). */
    bundles: { type: 'string', default: 'as committed' },
    /** The commit to name (a run from an export of it, which has no .git). */
    commit: { type: 'string' },
    /** A directory for every step's log in the strategies section. */
    'strategy-logs': { type: 'string' },
  },
});
const runs = Number(args.runs);
const speed = Number(args.speed);
const cluster = 'alva-staging-cluster';
const services = ['alva-web', 'alva-api', 'alva-auth', 'alva-admin'];
const failing = 'alva-api';
const registry = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
/** Container name → image, for every service (deploy-services' `images` input). */
const images = (tag: string, apiTag = tag) => ({
  web: `${registry}/alva-web:${tag}`,
  api: `${registry}/alva-api:${apiTag}`,
  auth: `${registry}/alva-auth:${tag}`,
  admin: `${registry}/alva-admin:${tag}`,
});

const quietLog: Log = {
  info: () => undefined,
  warning: () => undefined,
  error: () => undefined,
  debug: () => undefined,
  group: (_name, fn) => fn(),
};

// ---------------------------------------------------------------- policies

/** What a policy did on one release, in real ms (Date.now). */
interface PolicyRun {
  startedAt: number;
  endedAt: number;
  ok: boolean;
  /** One line: what the policy said. */
  verdict: string;
  /** Per service: when the policy was done with it (its step's end, or the run's end), what it registered, and its own verdict. */
  services: { service: string; endedAt: number; taskDefinition?: string; verdict: string }[];
}

interface Policy {
  id: string;
  label: string;
  /** The criterion detection delay is measured against. */
  done: 'healthy' | 'completed';
  official: boolean;
  run(sim: Sim, tag: string, apiTag?: string): Promise<PolicyRun>;
}

function suitePolicy(waitFor: WaitFor): Policy {
  return {
    id: `suite-${waitFor}`,
    label: `deploy-services lib, wait-for: ${waitFor} (all four at once)`,
    done: waitFor === 'healthy' ? 'healthy' : 'completed',
    official: false,
    async run(_sim, tag, apiTag) {
      const clients = createEcsClients();
      let firstErrorAt = 0;
      const log: Log = { ...quietLog, error: () => void (firstErrorAt ||= Date.now()) };
      const startedAt = Date.now();
      const plan = await planImageDeploy(clients, cluster, services, images(tag, apiTag));
      const report = await executeDeploy(clients, plan, {
        waitFor,
        timeoutMs: (1800 * 1000) / speed,
        rollbackOnFailure: true,
        forceNewDeployment: false,
        log,
        // The action's defaults (lib/ecs/rollout.ts: the poll interval's bounds, a heartbeat every 30 s), scaled.
        minIntervalMs: DEFAULT_MIN_INTERVAL_MS / speed,
        maxIntervalMs: DEFAULT_MAX_INTERVAL_MS / speed,
        heartbeatMs: 30_000 / speed,
      });
      const endedAt = Date.now();
      const verdictAt = firstErrorAt || endedAt;
      return {
        startedAt,
        endedAt,
        ok: report.ok,
        verdict: report.ok
          ? 'success'
          : `failure${report.rolledBack ? '; every service it changed put back on its previous revision' : ''}`,
        services: report.services.map((s) => ({
          service: s.service,
          endedAt: s.status === 'deployed' ? endedAt : verdictAt,
          taskDefinition: s.taskDefinition,
          verdict: s.status + (s.reason ? `: ${s.reason}` : ''),
        })),
      };
    },
  };
}

function officialPolicy(id: string, label: string, matrix: boolean, config: OfficialConfig): Policy {
  return {
    id,
    label,
    done: 'completed',
    official: true,
    async run(_sim, tag, apiTag) {
      const imagesOf = (service: string) => {
        const all = images(tag, apiTag) as Record<string, string>;
        const container = service.replace(/^alva-/, '');
        return { [container]: all[container]! };
      };
      const startedAt = Date.now();
      const steps: OfficialStep[] = matrix
        ? await officialMatrixJobs(cluster, services, imagesOf, config)
        : await officialSequentialJob(officialClient(), cluster, services, imagesOf, config);
      const endedAt = Date.now();
      const failed = steps.filter((s) => !s.ok);
      const skipped = services.filter((s) => !steps.some((step) => step.service === s));
      const verdict = failed.length
        ? [
            ...failed.map((s) => `${s.service} ${matrix ? 'job' : 'step'} failed: "${s.error}"`),
            ...(skipped.length ? [`the job stopped: ${skipped.join(', ')} skipped`] : []),
            ...(matrix
              ? [
                  `${steps
                    .filter((s) => s.ok)
                    .map((s) => s.service)
                    .join(', ')} jobs succeeded`,
                ]
              : []),
          ].join('; ')
        : 'success';
      return {
        startedAt,
        endedAt,
        ok: failed.length === 0,
        verdict,
        services: services.map((service) => {
          const step = steps.find((s) => s.service === service);
          return step
            ? {
                service,
                endedAt: step.endedAt,
                ...(step.taskDefinition ? { taskDefinition: step.taskDefinition } : {}),
                verdict: step.ok ? 'step succeeded' : `step failed: ${step.error}`,
              }
            : { service, endedAt, verdict: 'skipped (the job stopped)' };
        }),
      };
    },
  };
}

const policies: Policy[] = [
  suitePolicy('healthy'),
  suitePolicy('steady'),
  officialPolicy('official-seq', 'official v2.6.3, 4 sequential steps, default options', false, { speed }),
  officialPolicy(
    'official-seq-15',
    'official v2.6.3, 4 sequential steps, `wait-max-delay-seconds: 15`',
    false,
    { speed, waitMaxDelaySeconds: 15 },
  ),
  officialPolicy('official-matrix', 'official v2.6.3, 4 parallel matrix jobs, default options', true, {
    speed,
  }),
  officialPolicy(
    'official-matrix-15',
    'official v2.6.3, 4 parallel matrix jobs, `wait-max-delay-seconds: 15` (its best case)',
    true,
    { speed, waitMaxDelaySeconds: 15 },
  ),
];

// ---------------------------------------------------------------- ground truth

/** Real ms when the last task of `taskDefinition` started since `eventsSince` turned healthy in a target group. */
function healthyAt(events: SimEvent[], taskDefinition: string): number | undefined {
  const tasks = new Set(
    events
      .filter((e) => e.kind === 'task.provisioning' && e.detail.taskDefinition === taskDefinition)
      .map((e) => String(e.detail.taskArn)),
  );
  const healthy = events.filter(
    (e) => e.kind === 'target.health' && e.detail.state === 'healthy' && tasks.has(String(e.detail.taskArn)),
  );
  return healthy.length ? Math.max(...healthy.map((e) => e.realMs)) : undefined;
}

/** Real ms when the deployment of `taskDefinition` on `service` COMPLETED (not a rollback). */
function completedAt(events: SimEvent[], service: string, taskDefinition: string): number | undefined {
  return events.find(
    (e) =>
      e.kind === 'deployment.completed' &&
      e.detail.service === service &&
      e.detail.taskDefinition === taskDefinition &&
      !e.detail.rollback,
  )?.realMs;
}

// ---------------------------------------------------------------- measures

interface Measure {
  wallMs: number;
  detectionMs: number;
  /** Official only: Σ over services of (its step's end − its deployment COMPLETED), real-time equivalent. */
  waitedAfterDoneMs?: number;
  calls: Record<string, number>;
  totalCalls: number;
  throttled: number;
}

const lastCallSeq = (sim: Sim) => sim.calls().at(-1)?.seq ?? 0;
const lastEventSeq = (sim: Sim) => sim.events().at(-1)?.seq ?? 0;

function countCalls(sim: Sim, since: number): Pick<Measure, 'calls' | 'totalCalls' | 'throttled'> {
  const calls: Record<string, number> = {};
  const list = sim.calls(since);
  for (const c of list) calls[c.operation] = (calls[c.operation] ?? 0) + 1;
  const throttled = list.filter((c) => /Throttl/.test(c.errorCode ?? '')).length;
  return { calls, totalCalls: list.length, throttled };
}

async function measureGood(sim: Sim, policy: Policy, tag: string): Promise<Measure> {
  await sim.reset();
  const callsSince = lastCallSeq(sim);
  const eventsSince = lastEventSeq(sim);
  const run = await policy.run(sim, tag);
  if (!run.ok) throw new Error(`${policy.label} failed on a good release: ${run.verdict}`);
  const events = sim.events(eventsSince);
  const doneAt = run.services.map((s) => {
    const at =
      policy.done === 'healthy'
        ? healthyAt(events, s.taskDefinition!)
        : completedAt(events, s.service, s.taskDefinition!);
    if (at === undefined) throw new Error(`${policy.label}: no ground truth for ${s.service}`);
    return { ...s, doneAt: at };
  });
  const lastDone = Math.max(...doneAt.map((s) => s.doneAt));
  return {
    wallMs: (run.endedAt - run.startedAt) * speed,
    detectionMs: (run.endedAt - lastDone) * speed,
    ...(policy.official
      ? { waitedAfterDoneMs: doneAt.reduce((sum, s) => sum + (s.endedAt - s.doneAt) * speed, 0) }
      : {}),
    ...countCalls(sim, callsSince),
  };
}

interface FailureMeasure {
  verdict: string;
  /** Real-time-equivalent ms from the circuit breaker firing on alva-api to the policy's verdict on it. */
  verdictAfterMs: number;
  wallMs: number;
  /** Service → its end state once ECS settled, from the simulator. */
  endState: Record<string, string>;
}

async function measureFailure(sim: Sim, policy: Policy, tag: string): Promise<FailureMeasure> {
  await sim.reset();
  const before = serviceStates(sim, cluster);
  const callsSince = lastCallSeq(sim);
  const eventsSince = lastEventSeq(sim);
  const run = await policy.run(sim, tag, `broken-${tag}`);
  await settled(sim, cluster, services, (1800 * 1000) / speed);
  const events = sim.events(eventsSince);
  const breaker = events.find((e) => e.kind === 'deployment.failed' && e.detail.service === failing);
  if (!breaker) throw new Error(`${policy.label}: the circuit breaker never fired on ${failing}`);
  const api = run.services.find((s) => s.service === failing)!;
  const updates = sim
    .calls(callsSince)
    .filter((c) => c.operation === 'UpdateService' && c.status === 200 && !c.fault);
  const after = serviceStates(sim, cluster);
  const endState: Record<string, string> = {};
  for (const service of services) {
    const original = before.get(service)!.taskDefinition;
    const now = after.get(service)!.taskDefinition;
    const changedBy = updates.filter((c) => c.params.service === service);
    if (now !== original) endState[service] = `new (${shortTaskDefinition(now)})`;
    else if (changedBy.length === 0) endState[service] = 'untouched';
    else {
      const broke = events.some((e) => e.kind === 'deployment.failed' && e.detail.service === service);
      endState[service] = broke ? 'rolled back by the circuit breaker' : 'rolled back by the action';
    }
  }
  return {
    verdict: run.verdict,
    verdictAfterMs: (api.endedAt - breaker.realMs) * speed,
    wallMs: (run.endedAt - run.startedAt) * speed,
    endState,
  };
}

// ---------------------------------------------------------------- report

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** HEAD, and whether `paths` differ from it (what a section measured: lib/ and sim/, or the bundles in dist/). */
function committedLib(paths = ['lib', 'sim']): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', ...paths], { cwd: root })
      .toString()
      .trim();
    return dirty ? `${head} (with uncommitted changes in ${paths.map((p) => `${p}/`).join(', ')})` : head;
  } catch {
    return 'unknown';
  }
}

/** The policies section: deploy-services vs the official action's emulation, good releases and a crashing one. */
async function policiesSection(): Promise<string[]> {
  const scenario = loadScenario(resolve(root, 'sim/scenarios/staging.json'));
  // Authorization is not what this compares (every policy would run under the same deploy role): no IAM model,
  // so the bench's keys are served. Rate limits stay as the scenario has them (absent: AWS's documented buckets).
  delete scenario.iam;
  const rateLimits = scenario.throttling
    ? `the scenario's \`throttling\` (${JSON.stringify(scenario.throttling)})`
    : "on, AWS's documented token buckets (the simulator's default)";
  const sim = await startSim({ scenario, speed, port: 0 });
  process.env.AWS_ENDPOINT_URL = sim.url;
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID ??= 'AKIDEXAMPLE';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'bench-secret';
  const good = new Map<string, Measure[]>(policies.map((p) => [p.id, []]));
  const failures = new Map<string, FailureMeasure>();
  const commit = args.commit ?? committedLib();
  const began = Date.now();
  try {
    for (let i = 0; i < runs; i++) {
      // Interleaved, each on a freshly reset scenario, so a slow moment of the machine spreads evenly.
      for (const policy of policies) {
        const m = await measureGood(sim, policy, `bench-${i}-${policy.id}`);
        good.get(policy.id)!.push(m);
        console.log(
          `run ${i + 1}/${runs} ${policy.id}: ${seconds(m.wallMs)}, detection ${seconds(m.detectionMs)}, ${m.totalCalls} calls`,
        );
      }
    }
    for (const policy of policies) {
      const f = await measureFailure(sim, policy, `fail-${policy.id}`);
      failures.set(policy.id, f);
      console.log(`failure ${policy.id}: ${f.verdict} (${seconds(f.verdictAfterMs)} after the breaker)`);
    }
  } finally {
    await sim.close();
  }

  const med = (id: string, pick: (m: Measure) => number) => median(good.get(id)!.map(pick));
  const healthyWall = med('suite-healthy', (m) => m.wallMs);
  const bestOfficial = med('official-matrix-15', (m) => m.wallMs);
  const defaultOfficial = med('official-seq', (m) => m.wallMs);
  const suiteDetection = med('suite-healthy', (m) => m.detectionMs);
  const suiteCalls = med('suite-healthy', (m) => m.totalCalls);
  const operations = [...new Set([...good.values()].flat().flatMap((m) => Object.keys(m.calls)))].sort();
  const lines = [
    '# Deploy benchmark: four staging services',
    '',
    `Written by \`npm run bench:deploy\` (bench/deploy.ts) on ${new Date().toISOString().slice(0, 10)}, on commit`,
    `${commit} (lib/ and sim/ as committed), in ${Math.round((Date.now() - began) / 1000)} s.`,
    `Simulator speed ×${speed}; every delay of every policy divided by ${speed}; times below are real-time equivalents`,
    `(measured wall time × ${speed}). Median of ${runs} interleaved runs, each on a freshly reset \`sim/scenarios/staging.json\`.`,
    `API rate limits: ${rateLimits}; IAM authorization: off (the scenario's \`iam\` is dropped).`,
    '',
    'The official action is emulated from its source (bench/official-action.ts; the sources are in bench/README.md):',
    "per service, the workflow's DescribeTaskDefinition, then RegisterTaskDefinition, DescribeServices, UpdateService,",
    "the SDK's `waitUntilServicesStable` (minDelay 15 s, maxDelay 600 s unless `wait-max-delay-seconds` is set, backing",
    'off exponentially with jitter), and since v2.6.2 one more DescribeServices to check the deployment was not rolled back.',
    'Every policy is timed from its first AWS call to its verdict: the runner starting a job, checkout and credential',
    'steps are left out for all of them (matrix jobs are taken to start at the same instant).',
    '',
    '| Policy | Wall time | Detection delay | Waited after done (Σ services) | AWS calls | Throttled |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...policies.map((p) => {
      const waited = p.official ? seconds(med(p.id, (m) => m.waitedAfterDoneMs ?? 0)) : '—';
      return `| ${p.label} | ${seconds(med(p.id, (m) => m.wallMs))} | ${seconds(med(p.id, (m) => m.detectionMs))} | ${waited} | ${med(p.id, (m) => m.totalCalls)} | ${med(p.id, (m) => m.throttled)} |`;
    }),
    '',
    `**Like with like.** deploy-services \`wait-for: healthy\` against the official best case (matrix jobs,`,
    `\`wait-max-delay-seconds: 15\`): ${seconds(healthyWall)} vs ${seconds(bestOfficial)}, ratio ${(healthyWall / bestOfficial).toFixed(2)}.`,
    `\`wait-for: steady\` waits out the old tasks' deregistration delay as the official waiter must:`,
    `${seconds(med('suite-steady', (m) => m.wallMs))} vs ${seconds(bestOfficial)}, ratio ${(med('suite-steady', (m) => m.wallMs) / bestOfficial).toFixed(2)}.`,
    `Against the official action as most workflows use it (sequential steps, default options): ratio ${(healthyWall / defaultOfficial).toFixed(2)}.`,
    `**Median detection delay of deploy-services (healthy): ${seconds(suiteDetection)}** (target ≤ 1 s: ${suiteDetection <= 1000 ? 'met' : 'NOT met'}).`,
    `**AWS calls of deploy-services (healthy): ${suiteCalls}** (target ≤ 49, half of the 98 before issue 20: ${suiteCalls <= 49 ? 'met' : 'NOT met'}).`,
    '',
    "Detection delay is the policy's return minus the simulator's ground-truth moment its criterion held for the last",
    'service: for `healthy`, the last new task turning healthy in its target group; for `steady` and the official',
    'action, the last new deployment COMPLETED (one deployment left, running = desired: what the waiter checks), which',
    'comes after the old tasks\' deregistration delay. "Waited after done" sums, per service, the official step\'s end',
    "minus that service's completion: in a sequential job every second of it delays the services after it. HTTP",
    'latency is not scaled by the speed, so the real-time-equivalent delays are upper bounds.',
    '',
    'Per run (real-time equivalent wall time / detection delay):',
    '',
    `| Run | ${policies.map((p) => p.id).join(' | ')} |`,
    `| ---: | ${policies.map(() => '---:').join(' | ')} |`,
    ...Array.from(
      { length: runs },
      (_, i) =>
        `| ${i + 1} | ${policies
          .map((p) => {
            const m = good.get(p.id)![i]!;
            return `${seconds(m.wallMs)} / ${seconds(m.detectionMs)}`;
          })
          .join(' | ')} |`,
    ),
    '',
    "## When alva-api's new image crashes at start",
    '',
    "One run per policy: alva-api's new tasks exit at start, the circuit breaker fails its deployment and ECS rolls it",
    'back. "Verdict after" is the real-time-equivalent time from the breaker firing (simulator ground truth) to the',
    "policy's verdict on alva-api. End states are read from the simulator once ECS has settled every service: new (the",
    "release's revision), rolled back (by the circuit breaker, or by the action putting back what it changed), or",
    'untouched (no UpdateService ever reached it).',
    '',
    `| Policy | Verdict | Verdict after | Wall time | ${services.join(' | ')} |`,
    `| --- | --- | ---: | ---: | ${services.map(() => '---').join(' | ')} |`,
    ...policies.map((p) => {
      const f = failures.get(p.id)!;
      return `| ${p.label} | ${f.verdict.replace(/\|/g, '\\|')} | ${seconds(f.verdictAfterMs)} | ${seconds(f.wallMs)} | ${services.map((s) => f.endState[s]).join(' | ')} |`;
    }),
    '',
    'AWS calls per deploy (median), by operation:',
    '',
    `| Operation | ${policies.map((p) => p.id).join(' | ')} |`,
    `| --- | ${policies.map(() => '---:').join(' | ')} |`,
    ...operations.map(
      (op) => `| ${op} | ${policies.map((p) => med(p.id, (m) => m.calls[op] ?? 0)).join(' | ')} |`,
    ),
    '',
  ];
  return lines;
}

async function main(): Promise<void> {
  const sections = args.sections!.split(',').map((x) => x.trim());
  const unknown = sections.filter((x) => x !== 'policies' && x !== 'strategies');
  if (unknown.length) throw new Error(`--sections: ${unknown.join(', ')}? (policies, strategies)`);
  const lines: string[] = [];
  if (sections.includes('policies')) lines.push(...(await policiesSection()));
  if (sections.includes('strategies'))
    lines.push(
      ...(await strategiesSection({
        runs: Number(args['strategy-runs']),
        speed: Number(args['strategy-speed']),
        verifyTimeoutS: Number(args['verify-timeout']),
        loadGapMs: 25,
        commit: args.commit ?? committedLib(['dist', 'sim', 'infra', 'runner']),
        bundles: args.bundles!,
        ...(args['strategy-logs'] ? { logsDir: resolve(args['strategy-logs']) } : {}),
        log: (line) => console.log(line),
      })),
    );
  writeFileSync(resolve(root, args.out!), lines.join('\n'));
  console.log(lines.join('\n'));
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
