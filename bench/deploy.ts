/**
 * Deploy benchmark: the four staging services, on the same simulated
 * scenario, deployed
 *  - by this suite's lib (lib/ecs/deploy.ts: all at once, wait-for healthy), and
 *  - by the policy of today's official action (amazon-ecs-deploy-task-definition):
 *    one service after another, each RegisterTaskDefinition + UpdateService and
 *    then the SDK's waitUntilServicesStable with minDelay 15 s (maxDelay 120 s).
 * The simulator runs `speed` times faster than real time, and every delay of
 * both policies (poll intervals, waiter delays, timeouts) is divided by the
 * same speed, so the ratio of wall times is the ratio in real time.
 *
 * Detection delay: the moment the policy returned minus the simulator's
 * ground-truth moment it was done (GET /_sim/events), times speed (real-time
 * equivalent). For this suite, done = every new task healthy in its target
 * group (wait-for healthy); for the official policy, done = the last service
 * steady. Call latency is not scaled, so the equivalent delay is an upper bound.
 *
 *   npx tsx bench/deploy.ts [--runs 3] [--speed 20] [--out bench/results/deploy.md]
 */
import { DescribeServicesCommand, UpdateServiceCommand, waitUntilServicesStable } from '@aws-sdk/client-ecs';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startSim, type Sim, type SimEvent } from '../sim/index.js';
import { createEcsClients, type EcsClients } from '../lib/ecs/clients.js';
import { executeDeploy, planImageDeploy } from '../lib/ecs/deploy.js';
import { planClone, registerClone } from '../lib/ecs/taskdef.js';
import type { Log } from '../lib/log.js';

const root = resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    speed: { type: 'string', default: '20' },
    out: { type: 'string', default: 'bench/results/deploy.md' },
  },
});
const runs = Number(args.runs);
const speed = Number(args.speed);
const cluster = 'alva-staging-cluster';
const services = ['alva-web', 'alva-api', 'alva-auth', 'alva-admin'];
const registry = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const images = (tag: string, apiTag = tag) => ({
  web: `${registry}/alva-web:${tag}`,
  api: `${registry}/alva-api:${apiTag}`,
  auth: `${registry}/alva-auth:${tag}`,
  admin: `${registry}/alva-admin:${tag}`,
});

const quietLog: Log = {
  info: () => undefined,
  warning: () => undefined,
  error: (m) => console.error(m),
  debug: () => undefined,
  group: (_name, fn) => fn(),
};

interface Measure {
  wallMs: number;
  /** Real-time-equivalent ms between ground truth "done" and the policy noticing. */
  detectionMs: number;
  calls: Record<string, number>;
  totalCalls: number;
}

function lastSeq(sim: Sim): number {
  return sim.calls().at(-1)?.seq ?? 0;
}

function countCalls(sim: Sim, since: number): { calls: Record<string, number>; totalCalls: number } {
  const calls: Record<string, number> = {};
  const list = sim.calls(since);
  for (const c of list) calls[c.operation] = (calls[c.operation] ?? 0) + 1;
  return { calls, totalCalls: list.length };
}

/** Real ms when every task of `taskDefinitions` was last seen becoming healthy. */
function allNewTargetsHealthyAt(events: SimEvent[], taskDefinitions: Set<string>): number {
  const newTasks = new Set(
    events
      .filter((e) => e.kind === 'task.provisioning' && taskDefinitions.has(String(e.detail.taskDefinition)))
      .map((e) => String(e.detail.taskArn)),
  );
  const healthy = events.filter(
    (e) =>
      e.kind === 'target.health' && e.detail.state === 'healthy' && newTasks.has(String(e.detail.taskArn)),
  );
  return Math.max(...healthy.map((e) => e.realMs));
}

async function suitePolicy(sim: Sim, clients: EcsClients, tag: string): Promise<Measure> {
  const since = lastSeq(sim);
  const eventsSince = sim.events().at(-1)?.seq ?? 0;
  const started = Date.now();
  const plan = await planImageDeploy(clients, cluster, services, images(tag));
  const report = await executeDeploy(clients, plan, {
    waitFor: 'healthy',
    timeoutMs: (1800 * 1000) / speed,
    rollbackOnFailure: true,
    forceNewDeployment: false,
    log: quietLog,
    minIntervalMs: 1000 / speed, // the action's defaults (lib/ecs/rollout.ts), scaled
    maxIntervalMs: 2000 / speed,
    heartbeatMs: 30_000 / speed,
  });
  const ended = Date.now();
  if (!report.ok)
    throw new Error(`suite deploy failed: ${JSON.stringify(report.services.map((s) => s.reason))}`);
  const truth = allNewTargetsHealthyAt(
    sim.events(eventsSince),
    new Set(report.services.map((s) => s.taskDefinition)),
  );
  return { wallMs: ended - started, detectionMs: (ended - truth) * speed, ...countCalls(sim, since) };
}

async function officialPolicy(sim: Sim, clients: EcsClients, tag: string): Promise<Measure> {
  const since = lastSeq(sim);
  const eventsSince = sim.events().at(-1)?.seq ?? 0;
  const started = Date.now();
  for (const service of services) {
    const described = await clients.ecs.send(new DescribeServicesCommand({ cluster, services: [service] }));
    const clone = await planClone(clients.ecs, described.services![0]!.taskDefinition!, images(tag));
    // The official action always registers, changed or not.
    const taskDefinition = await registerClone(clients.ecs, clone);
    await clients.ecs.send(new UpdateServiceCommand({ cluster, service, taskDefinition }));
    const result = await waitUntilServicesStable(
      { client: clients.ecs, minDelay: 15 / speed, maxDelay: 120 / speed, maxWaitTime: 1800 / speed },
      { cluster, services: [service] },
    );
    if (result.state !== 'SUCCESS') throw new Error(`official policy: ${service} ${result.state}`);
  }
  const ended = Date.now();
  const steady = sim
    .events(eventsSince)
    .filter((e) => e.kind === 'service.steady' && e.detail.service === services.at(-1));
  const truth = Math.max(...steady.map((e) => e.realMs));
  return { wallMs: ended - started, detectionMs: (ended - truth) * speed, ...countCalls(sim, since) };
}

interface FailureMeasure {
  /** Real-time-equivalent ms from the circuit breaker firing to the policy's verdict. */
  verdictAfterMs: number;
  verdict: string;
  /** Real-time-equivalent ms from start until every service runs its previous revision again and the policy returned. */
  wallMs: number;
}

/** Real ms of the first circuit-breaker failure the simulator recorded since `eventsSince`. */
function circuitBreakerAt(sim: Sim, eventsSince: number): number {
  const failed = sim.events(eventsSince).find((e) => e.kind === 'deployment.failed');
  if (!failed) throw new Error('the circuit breaker never fired');
  return failed.realMs;
}

/** alva-api's new image crashes at start: the circuit breaker rolls it back. */
async function suiteOnFailure(sim: Sim, clients: EcsClients, tag: string): Promise<FailureMeasure> {
  const eventsSince = sim.events().at(-1)?.seq ?? 0;
  let failedAt = 0;
  const log: Log = { ...quietLog, error: () => void (failedAt ||= Date.now()) };
  const started = Date.now();
  const plan = await planImageDeploy(clients, cluster, services, images(tag, `broken-${tag}`));
  const report = await executeDeploy(clients, plan, {
    waitFor: 'healthy',
    timeoutMs: (1800 * 1000) / speed,
    rollbackOnFailure: true,
    forceNewDeployment: false,
    log,
    minIntervalMs: 1000 / speed,
    maxIntervalMs: 2000 / speed,
    heartbeatMs: 30_000 / speed,
  });
  const ended = Date.now();
  return {
    verdictAfterMs: (failedAt - circuitBreakerAt(sim, eventsSince)) * speed,
    verdict: report.ok ? 'success (wrong)' : `failure${report.rolledBack ? ', all four rolled back' : ''}`,
    wallMs: (ended - started) * speed,
  };
}

async function officialOnFailure(sim: Sim, clients: EcsClients, tag: string): Promise<FailureMeasure> {
  const eventsSince = sim.events().at(-1)?.seq ?? 0;
  const started = Date.now();
  let verdict = 'waiter SUCCESS for all four: alva-api is stable again, on its old revision';
  let verdictAt = 0;
  for (const service of services) {
    const described = await clients.ecs.send(new DescribeServicesCommand({ cluster, services: [service] }));
    const clone = await planClone(
      clients.ecs,
      described.services![0]!.taskDefinition!,
      images(tag, `broken-${tag}`),
    );
    const taskDefinition = await registerClone(clients.ecs, clone);
    await clients.ecs.send(new UpdateServiceCommand({ cluster, service, taskDefinition }));
    const result = await waitUntilServicesStable(
      { client: clients.ecs, minDelay: 15 / speed, maxDelay: 120 / speed, maxWaitTime: 1800 / speed },
      { cluster, services: [service] },
    ).catch((err: unknown) => ({ state: `error: ${(err as Error).message.slice(0, 80)}` }));
    if (service === 'alva-api') verdictAt = Date.now();
    if (result.state !== 'SUCCESS') {
      verdict = `${service}: ${result.state}`;
      break;
    }
  }
  const ended = Date.now();
  return {
    verdictAfterMs: (verdictAt - circuitBreakerAt(sim, eventsSince)) * speed,
    verdict,
    wallMs: (ended - started) * speed,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function main(): Promise<void> {
  const sim = await startSim({ scenario: resolve(root, 'sim/scenarios/staging.json'), speed, port: 0 });
  process.env.AWS_ENDPOINT_URL = sim.url;
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID ??= 'AKIDEXAMPLE';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'bench-secret';
  const suite: Measure[] = [];
  const official: Measure[] = [];
  let suiteFailure: FailureMeasure;
  let officialFailure: FailureMeasure;
  try {
    for (let i = 0; i < runs; i++) {
      // Interleaved, each on a freshly reset scenario.
      await sim.reset();
      suite.push(await suitePolicy(sim, createEcsClients(), `bench-${i}-a`));
      await sim.reset();
      official.push(await officialPolicy(sim, createEcsClients(), `bench-${i}-b`));
      console.log(
        `run ${i + 1}/${runs}: suite ${seconds(suite.at(-1)!.wallMs * speed)}, official ${seconds(official.at(-1)!.wallMs * speed)} (real-time equivalent)`,
      );
    }
    await sim.reset();
    suiteFailure = await suiteOnFailure(sim, createEcsClients(), 'fail-a');
    await sim.reset();
    officialFailure = await officialOnFailure(sim, createEcsClients(), 'fail-b');
  } finally {
    await sim.close();
  }

  const suiteWall = median(suite.map((m) => m.wallMs)) * speed;
  const officialWall = median(official.map((m) => m.wallMs)) * speed;
  const ratio = suiteWall / officialWall;
  const suiteDetection = median(suite.map((m) => m.detectionMs));
  const officialDetection = median(official.map((m) => m.detectionMs));
  const operations = [...new Set([...suite, ...official].flatMap((m) => Object.keys(m.calls)))].sort();
  const medianCalls = (ms: Measure[], op: string) => median(ms.map((m) => m.calls[op] ?? 0));
  const lines = [
    '# Deploy benchmark: four staging services',
    '',
    `Written by \`npm run bench:deploy\` (bench/deploy.ts) on ${new Date().toISOString().slice(0, 10)}.`,
    `Simulator speed ×${speed}; every delay of both policies divided by ${speed}; times below are real-time equivalents`,
    `(measured wall time × ${speed}). Median of ${runs} interleaved runs, each on a freshly reset \`sim/scenarios/staging.json\`.`,
    '',
    '| Policy | Wall time | Detection delay | AWS calls |',
    '| --- | ---: | ---: | ---: |',
    `| deploy-services lib (all at once, wait-for healthy) | ${seconds(suiteWall)} | ${seconds(suiteDetection)} | ${median(suite.map((m) => m.totalCalls))} |`,
    `| official action policy (sequential, waitUntilServicesStable, minDelay 15 s) | ${seconds(officialWall)} | ${seconds(officialDetection)} | ${median(official.map((m) => m.totalCalls))} |`,
    '',
    `**Ratio of wall times: ${ratio.toFixed(2)}** (target ≤ 0.30: ${ratio <= 0.3 ? 'met' : 'NOT met'}).`,
    `**Median detection delay of the suite: ${seconds(suiteDetection)}** (target < 2 s: ${suiteDetection < 2000 ? 'met' : 'NOT met'}).`,
    '',
    "Detection delay is the policy's return minus the simulator's ground-truth moment it was done: for the suite, the",
    'last new task becoming healthy in its target group; for the official policy, the last service reaching a steady',
    "state (which also waits out the old tasks' deregistration delay). HTTP latency is not scaled by the speed, so the",
    'real-time-equivalent delays are upper bounds.',
    '',
    'Per run (real-time equivalent):',
    '',
    '| Run | Suite wall | Suite detection | Official wall | Official detection |',
    '| ---: | ---: | ---: | ---: | ---: |',
    ...suite.map(
      (m, i) =>
        `| ${i + 1} | ${seconds(m.wallMs * speed)} | ${seconds(m.detectionMs)} | ${seconds(official[i]!.wallMs * speed)} | ${seconds(official[i]!.detectionMs)} |`,
    ),
    '',
    "## When alva-api's new image crashes at start",
    '',
    'One run each: the circuit breaker fires and ECS rolls alva-api back. "Verdict after" is the real-time-equivalent',
    "time from the circuit breaker firing (simulator ground truth) to the policy's verdict on alva-api.",
    '',
    '| Policy | Verdict | Verdict after | Wall time |',
    '| --- | --- | ---: | ---: |',
    `| deploy-services lib | ${suiteFailure.verdict} | ${seconds(suiteFailure.verdictAfterMs)} | ${seconds(suiteFailure.wallMs)} |`,
    `| official action policy | ${officialFailure.verdict} | ${seconds(officialFailure.verdictAfterMs)} | ${seconds(officialFailure.wallMs)} |`,
    '',
    'AWS calls per deploy (median), by operation:',
    '',
    '| Operation | Suite | Official |',
    '| --- | ---: | ---: |',
    ...operations.map((op) => `| ${op} | ${medianCalls(suite, op)} | ${medianCalls(official, op)} |`),
    '',
  ];
  writeFileSync(resolve(root, args.out!), lines.join('\n'));
  console.log(lines.join('\n'));
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
