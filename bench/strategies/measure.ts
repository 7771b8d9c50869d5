/**
 * Rolling vs blue/green with the release gate, on the same four services
 * (issue #18's benchmark; a section of `npm run bench:deploy`).
 *
 * Two simulator worlds built from the CDK app (sim/assembly scenarioFromApp):
 *  - rolling: infra/ as synthesized for staging (every service rolls);
 *  - blue/green: infra/ with context `deployments=*=blue-green` (an alternate
 *    target group, weighted production and test listener rules, bake 5 min, and
 *    the release-gate hook of infra/lambda/release-gate that ships, run by the
 *    simulator as ECS would run it, reading the gate's SSM parameter).
 * Both at the same speed and timing (the staging overlay's). Each release is
 * driven through the bundles (dist/) with the runner's action host, as the
 * pipeline's jobs run them (.github/workflows/ecs-deploy.yml), while a steady
 * client load hits the production listener:
 *  - rolling: deploy-services (wait-for: healthy) → verify (production);
 *  - blue/green (release-gate-parameter set): release-gate `pending` →
 *    deploy-services `wait-for: test-traffic` (every green held at
 *    POST_TEST_TRAFFIC_SHIFT) → verify `traffic: test` → release-gate `open`
 *    (deployments) → deploy-services again (adopts, follows to SUCCESSFUL after
 *    bake) → verify (production); verify failing → release-gate `closed` (the
 *    hook answers FAILED, ECS shifts every green back; that is the rollback);
 *  - rolling, verify failing → the rollback job: deploy-services `rollback-to`
 *    each service's previous revision.
 * The bad release: alva-api's new image passes its health checks but answers
 * every request 500 (only a check of its traffic finds it).
 *
 * Times are simulated (the simulator's clock, sim.now() and its event log);
 * production exposure comes from the ALB data plane's own request log
 * (GET /_sim/alb-requests): which revision answered each production request.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { INFRA_DIR, STAGING_OVERLAY, scenarioFromApp } from '../../sim/assembly/index.js';
import { startSim, type Scenario, type Sim } from '../../sim/index.js';
import {
  OFFLINE_AWS_ENV,
  repositoryAction,
  runNodeAction,
  standaloneEnv,
  type NodeActionRun,
} from '../../runner/action-host.js';
import { cutOverAt, exposure, median, type Exposure, type ServedRequest } from './exposure.js';
import { serviceStates, settled } from './settle.js';

const root = resolve(import.meta.dirname, '..', '..');
const CLUSTER = 'alva-staging-cluster';
const GATE = '/alva-staging/release-gate';
const SERVICES = ['alva-web', 'alva-api', 'alva-auth', 'alva-admin'];
const BAD = 'alva-api';
/** Each service's path on the listeners (its listener rule; web is the default). */
const PATHS = ['/', '/api/health', '/auth/health', '/admin/health'];
const CHECKS = PATHS.map((p) => `GET ${p} 200`).join('\n');
const PRODUCTION_PORT = 80;
const TEST_PORT = 9000;
const REGISTRY = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
/** Container name → image (deploy-services' `images`); alva-api's may be the bad one. */
const images = (tag: string, apiTag = tag) => ({
  web: `${REGISTRY}/alva-web:${tag}`,
  api: `${REGISTRY}/alva-api:${apiTag}`,
  auth: `${REGISTRY}/alva-auth:${tag}`,
  admin: `${REGISTRY}/alva-admin:${tag}`,
});
/** Healthy for the target group's health checks, but every request gets an error page. */
const BAD_IMAGE = { '*:bad-*': { http: { status: 500, body: 'Internal Server Error' } } };

export interface StrategiesOptions {
  runs: number;
  /** Simulator speed (× real time), the same for both worlds. */
  speed: number;
  /** verify's timeout-seconds, in simulated seconds (how long a failing check is retried). */
  verifyTimeoutS: number;
  /** Gap between two production requests of the client load, real ms. */
  loadGapMs: number;
  log: (line: string) => void;
  /** The commit measured (what the bundles in dist/, sim/ and infra/ are), for the report. */
  commit: string;
  /** Where the bundles come from, for the report (committed, or built from the commit). */
  bundles: string;
  /** When set, every step's log is written here (`<run>-<n>-<action>.log`). */
  logsDir?: string;
}

type WorldId = 'rolling' | 'blue-green';
const WORLDS: { id: WorldId; label: string; context: Record<string, string> }[] = [
  { id: 'rolling', label: 'rolling', context: {} },
  { id: 'blue-green', label: 'blue/green + release gate', context: { deployments: '*=blue-green' } },
];

/** One action step as the runner runs it, timed on the simulator's clock. */
interface Step {
  ok: boolean;
  run: NodeActionRun;
  startedSim: number;
  endedSim: number;
}

interface Pipeline {
  sim: Sim;
  speed: number;
  runId: string;
  opts: StrategiesOptions;
  addresses: Record<number, string>;
  /** Steps run so far (names the logs). */
  steps: number;
  /** The blue/green services' bake time (ECS's bakeTimeInMinutes, from the world). */
  bakeMs: number;
}

async function step(p: Pipeline, action: string, inputs: Record<string, string>): Promise<Step> {
  const runnerTemp = mkdtempSync(join(tmpdir(), `bench-${action}-`));
  try {
    const startedSim = p.sim.now();
    const run = await runNodeAction(repositoryAction(action), {
      inputs,
      env: {
        ...standaloneEnv({ workspace: root, runnerTemp }),
        ...OFFLINE_AWS_ENV,
        AWS_ENDPOINT_URL: p.sim.url,
        GITHUB_RUN_ID: p.runId,
      },
      cwd: root,
      killAfterMs: 600_000,
    });
    const endedSim = p.sim.now();
    if (p.opts.logsDir)
      writeFileSync(
        join(p.opts.logsDir, `${p.runId}-${++p.steps}-${action}.log`),
        `${JSON.stringify(inputs)}\n\n${run.log}`,
      );
    return { ok: run.exitCode === 0, run, startedSim, endedSim };
  } finally {
    rmSync(runnerTemp, { recursive: true, force: true });
  }
}

const deployInputs = (p: Pipeline, tag: string, apiTag?: string) => ({
  cluster: CLUSTER,
  services: SERVICES.join(','),
  images: JSON.stringify(images(tag, apiTag)),
  'wait-for': 'healthy',
  // The action's 1800 s, in simulated time.
  'timeout-seconds': String(Math.ceil(1800 / p.speed)),
});

const verifyInputs = (p: Pipeline, traffic: 'production' | 'test', deployments?: string) => ({
  cluster: CLUSTER,
  services: SERVICES.join(','),
  checks: CHECKS,
  traffic,
  'base-url': `http://${p.addresses[traffic === 'test' ? TEST_PORT : PRODUCTION_PORT]}`,
  'timeout-seconds': String(Math.max(1, Math.round(p.opts.verifyTimeoutS / p.speed))),
  ...(deployments ? { deployments } : {}),
});

interface DeploymentsEntry {
  taskDefinition: string;
  previousTaskDefinition: string;
  rollback?: { trafficShiftBackMs?: number; status?: string };
}
const deploymentsOf = (s: Step): Record<string, DeploymentsEntry> =>
  JSON.parse(s.run.outputs.deployments || '{}') as Record<string, DeploymentsEntry>;

/** The rollback job of ecs-deploy.yml: deploy-services `rollback-to` each service's previous revision. */
function rollbackJob(p: Pipeline, deployed: Record<string, DeploymentsEntry>): Promise<Step> {
  const previous = Object.fromEntries(
    Object.entries(deployed).map(([s, d]) => [s, d.previousTaskDefinition]),
  );
  return step(p, 'deploy-services', {
    cluster: CLUSTER,
    services: SERVICES.join(','),
    'rollback-to': JSON.stringify(previous),
    'wait-for': 'healthy',
    'timeout-seconds': String(Math.ceil(1800 / p.speed)),
  });
}

// ---------------------------------------------------------------- the client load

/** Requests to the production listener, one service path after another, until stopped. */
function productionLoad(address: string, gapMs: number): { stop(): Promise<number> } {
  let running = true;
  let sent = 0;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      try {
        await (await fetch(`http://${address}${PATHS[i % PATHS.length]}`)).text();
        sent++;
      } catch {
        // A refused connection is the data plane's business; the request log is what counts.
      }
      await new Promise((r) => setTimeout(r, gapMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return sent;
    },
  };
}

interface AlbLog {
  listeners: { port: number; address?: string }[];
  requests: (ServedRequest & { seq: number })[];
}
async function albLog(sim: Sim, since = 0): Promise<AlbLog> {
  return (await (await fetch(`${sim.url}/_sim/alb-requests?since=${since}`)).json()) as AlbLog;
}

// ---------------------------------------------------------------- one release

/** One release, as simulated times (ms) and what the ALB served. */
export interface ReleaseMeasure {
  ok: boolean;
  /** Pipeline start → good: the last deploy-services step's end (the release live, followed to its end); bad: the rollback job's end. */
  pipelineMs: number;
  /** Good, blue/green: ECS's bake time (the services' bakeTimeInMinutes), part of pipelineMs. */
  bakeMs?: number;
  /** Good: verify on production passed after the release. */
  productionVerified?: boolean;
  /** Once ECS settled: how many of the four services run the release's revision (PRIMARY), and how many their previous one. */
  endOnNew: number;
  endOnPrevious: number;
  /** Good: pipeline start → the last production request answered by a previous revision. */
  cutOverMs?: number;
  /** Bad: pipeline start → the failing verdict (verify failed). */
  verdictMs?: number;
  /** Bad: verdict → the rollback job's end (deploy-services `rollback-to`: every service confirmed on its previous revision). */
  rollbackMs?: number;
  /** Bad, blue/green: verdict → the release-gate `closed` step's end. */
  gateClosedMs?: number;
  /** Bad: verdict → ECS has every service back on its previous revision (simulator events: rolling, the rollback deployments COMPLETED; blue/green, ROLLBACK_SUCCESSFUL, green stopped). */
  ecsBackMs?: number;
  /** Bad: verdict → the last production request answered by a revision of the release (0: none after it). */
  productionBackMs?: number;
  /** Bad, blue/green: verdict → ECS shifted the last service's traffic back (the simulator's traffic-restored events). */
  trafficRestoredMs?: number;
  /** Bad: production requests answered by the bad alva-api revision, and by any revision of the release. */
  badExposure?: Exposure;
  releaseExposure?: Exposure;
  productionRequests: number;
  productionErrors: number;
  verdict: string;
}

async function release(p: Pipeline, world: WorldId, tag: string, bad: boolean): Promise<ReleaseMeasure> {
  const { sim } = p;
  const since = (await albLog(sim)).requests.at(-1)?.seq ?? 0;
  const eventsSince = sim.events().at(-1)?.seq ?? 0;
  const load = productionLoad(p.addresses[PRODUCTION_PORT]!, p.opts.loadGapMs);
  const apiTag = bad ? `bad-${tag}` : tag;
  const started = sim.now();
  let outcome: Omit<
    ReleaseMeasure,
    | 'productionRequests'
    | 'productionErrors'
    | 'badExposure'
    | 'releaseExposure'
    | 'endOnNew'
    | 'endOnPrevious'
  >;
  let deployed: Record<string, DeploymentsEntry>;
  let verdictAt: number | undefined;
  try {
    if (world === 'rolling') {
      const deploy = await step(p, 'deploy-services', deployInputs(p, tag, apiTag));
      if (!deploy.ok) throw new Error(`rolling deploy failed:\n${deploy.run.log.slice(-2000)}`);
      deployed = deploymentsOf(deploy);
      const verify = await step(p, 'verify', verifyInputs(p, 'production', deploy.run.outputs.deployments));
      if (verify.ok) {
        outcome = {
          ok: true,
          pipelineMs: deploy.endedSim - started,
          productionVerified: true,
          verdict: 'deployed, verified on production',
        };
      } else {
        verdictAt = verify.endedSim;
        const rollback = await rollbackJob(p, deployed);
        outcome = {
          ok: false,
          pipelineMs: rollback.endedSim - started,
          verdictMs: verdictAt - started,
          rollbackMs: rollback.endedSim - verdictAt,
          verdict: `verify failed on production; the rollback job ${rollback.ok ? 'put every service back' : 'FAILED'}`,
        };
      }
    } else {
      // The gated chain of ecs-deploy.yml's deploy job (release-gate-parameter set).
      const release = `bench-${p.runId}`;
      const gate = (state: string, more: Record<string, string> = {}) =>
        step(p, 'release-gate', { parameter: GATE, state, release, ...more });
      const pending = await gate('pending');
      if (!pending.ok) throw new Error(`release-gate pending failed:\n${pending.run.log.slice(-2000)}`);
      const deploy = await step(p, 'deploy-services', {
        ...deployInputs(p, tag, apiTag),
        'wait-for': 'test-traffic',
      });
      if (!deploy.ok) throw new Error(`deploy to test traffic failed:\n${deploy.run.log.slice(-2000)}`);
      deployed = deploymentsOf(deploy);
      const verify = await step(p, 'verify', verifyInputs(p, 'test', deploy.run.outputs.deployments));
      if (verify.ok) {
        const open = await gate('open', { deployments: deploy.run.outputs.deployments! });
        if (!open.ok) throw new Error(`release-gate open failed:\n${open.run.log.slice(-2000)}`);
        const follow = await step(p, 'deploy-services', deployInputs(p, tag, apiTag));
        if (!follow.ok) throw new Error(`the follow run failed:\n${follow.run.log.slice(-2000)}`);
        const production = await step(
          p,
          'verify',
          verifyInputs(p, 'production', follow.run.outputs.deployments),
        );
        outcome = {
          ok: true,
          pipelineMs: follow.endedSim - started,
          bakeMs: p.bakeMs,
          productionVerified: production.ok,
          verdict: `deployed after bake; verify on production ${production.ok ? 'passed' : 'FAILED'}`,
        };
      } else {
        verdictAt = verify.endedSim;
        const closed = await gate('closed', { reason: 'verify failed on test traffic' });
        if (!closed.ok) throw new Error(`release-gate closed failed:\n${closed.run.log.slice(-2000)}`);
        // ECS's own rollback: the hook answers FAILED at its next call, ECS shifts test traffic back (production
        // never left blue) and stops green. No rollback job for these services: see bench/README.md.
        await settled(sim, CLUSTER, SERVICES, (1800 * 1000) / p.speed);
        outcome = {
          ok: false,
          pipelineMs: sim.now() - started,
          verdictMs: verdictAt - started,
          gateClosedMs: closed.endedSim - verdictAt,
          verdict: 'verify failed on test traffic, gate closed; ECS shifted every green back',
        };
      }
    }
  } finally {
    await load.stop();
  }
  const requests = (await albLog(sim, since)).requests.filter((r) => r.listenerPort === PRODUCTION_PORT);
  const newRevisions = Object.fromEntries(Object.entries(deployed).map(([s, d]) => [s, d.taskDefinition]));
  const previousRevisions = Object.fromEntries(
    Object.entries(deployed).map(([s, d]) => [s, d.previousTaskDefinition]),
  );
  // Where each service ends, once ECS has nothing left to do (ground truth).
  await settled(sim, CLUSTER, SERVICES, (1800 * 1000) / p.speed);
  const end = serviceStates(sim, CLUSTER);
  const endOn = (revisions: Record<string, string>) =>
    SERVICES.filter((service) => end.get(service)?.taskDefinition === revisions[service]).length;
  const measure: ReleaseMeasure = {
    ...outcome,
    endOnNew: endOn(newRevisions),
    endOnPrevious: endOn(previousRevisions),
    productionRequests: requests.length,
    productionErrors: requests.filter((r) => r.status >= 500).length,
  };
  if (!bad) {
    const at = cutOverAt(requests, PRODUCTION_PORT, newRevisions);
    if (at !== undefined) measure.cutOverMs = at - started;
  } else {
    measure.ecsBackMs = ecsBackAt(sim, eventsSince, world, previousRevisions, verdictAt!);
    // Blue/green: the rollback is ECS's, confirmed by its ROLLBACK_SUCCESSFUL (no deploy-services follows it).
    if (world === 'blue-green') measure.rollbackMs = measure.ecsBackMs;
    const restored = sim
      .events(eventsSince)
      .filter((e) => e.kind === 'deployment.traffic-restored' && Date.parse(e.simTime) >= verdictAt!);
    if (world === 'blue-green' && restored.length)
      measure.trafficRestoredMs = Math.max(...restored.map((e) => Date.parse(e.simTime))) - verdictAt!;
    measure.badExposure = exposure(requests, PRODUCTION_PORT, [newRevisions[BAD]!]);
    measure.releaseExposure = exposure(requests, PRODUCTION_PORT, Object.values(newRevisions));
    const afterVerdict = requests.filter((r) => r.time >= verdictAt!);
    const back = cutOverAt(afterVerdict, PRODUCTION_PORT, previousRevisions);
    measure.productionBackMs =
      measure.releaseExposure.lastMs !== undefined && measure.releaseExposure.lastMs >= verdictAt!
        ? (back ?? measure.releaseExposure.lastMs) - verdictAt!
        : 0;
  }
  return measure;
}

/**
 * Verdict → the moment ECS had every service back on its previous revision, from the simulator's
 * events: a rolling service's rollback deployment COMPLETED, a blue/green one's deployment rolled back
 * (ROLLBACK_SUCCESSFUL: production on blue, green's tasks stopped). Undefined when a service has none.
 */
function ecsBackAt(
  sim: Sim,
  eventsSince: number,
  world: WorldId,
  previous: Record<string, string>,
  verdictAt: number,
): number | undefined {
  const events = sim.events(eventsSince).filter((e) => Date.parse(e.simTime) >= verdictAt);
  const times = SERVICES.map((service) =>
    events.find((e) =>
      world === 'rolling'
        ? e.kind === 'deployment.completed' &&
          e.detail.service === service &&
          e.detail.taskDefinition === previous[service]
        : e.kind === 'deployment.rolled-back' && e.detail.service === service,
    ),
  );
  if (times.some((e) => !e)) return undefined;
  return Math.max(...times.map((e) => Date.parse(e!.simTime))) - verdictAt;
}

// ---------------------------------------------------------------- the section

interface WorldRuns {
  good: ReleaseMeasure[];
  bad: ReleaseMeasure[];
}

function worldScenario(context: Record<string, string>): Scenario {
  const { scenario } = scenarioFromApp({ appDir: INFRA_DIR, overlay: STAGING_OVERLAY, context });
  return {
    ...scenario,
    images: { ...BAD_IMAGE, ...scenario.images },
    // Authorization is not what this compares: every call is served (the hook still reads the gate as its role).
    iam: { ...scenario.iam!, mode: 'permissive' },
  };
}

/** Runs the releases (interleaved: good and bad, rolling and blue/green, each on a freshly reset world) and returns the section's markdown. */
export async function strategiesSection(opts: StrategiesOptions): Promise<string[]> {
  const sims = new Map<WorldId, Sim>();
  const bakeMs = new Map<WorldId, number>();
  const results = new Map<WorldId, WorldRuns>(WORLDS.map((w) => [w.id, { good: [], bad: [] }]));
  const began = Date.now();
  if (opts.logsDir) mkdirSync(opts.logsDir, { recursive: true });
  try {
    for (const w of WORLDS) {
      const scenario = worldScenario(w.context);
      const bakes = new Set(scenario.services!.map((x) => x.deploymentConfiguration?.bakeTimeInMinutes ?? 0));
      if (bakes.size !== 1)
        throw new Error(`the ${w.id} world's services bake differently: ${[...bakes].join(', ')} min`);
      bakeMs.set(w.id, [...bakes][0]! * 60_000);
      sims.set(w.id, await startSim({ scenario, speed: opts.speed, port: 0 }));
    }
    for (let i = 0; i < opts.runs; i++) {
      for (const bad of [false, true]) {
        for (const w of WORLDS) {
          const sim = sims.get(w.id)!;
          await sim.reset();
          const { listeners } = await albLog(sim);
          const addresses = Object.fromEntries(listeners.map((l) => [l.port, l.address!]));
          const runId = `${i + 1}${bad ? 'b' : 'g'}${w.id === 'rolling' ? 'r' : 'bg'}`;
          const m = await release(
            { sim, speed: opts.speed, runId, opts, addresses, steps: 0, bakeMs: bakeMs.get(w.id)! },
            w.id,
            `bench-${runId}`,
            bad,
          );
          results.get(w.id)![bad ? 'bad' : 'good'].push(m);
          opts.log(
            `strategies run ${i + 1}/${opts.runs} ${w.id} ${bad ? 'bad api' : 'good'}: ${m.verdict}, pipeline ${s(m.pipelineMs)}, end: ${m.endOnNew} new / ${m.endOnPrevious} previous` +
              (bad
                ? `, rollback ${s(m.rollbackMs!)}, bad api served ${m.badExposure!.served}/${m.productionRequests} production requests`
                : `, production cut over at ${m.cutOverMs === undefined ? '—' : s(m.cutOverMs)}`),
          );
        }
      }
    }
  } finally {
    for (const sim of sims.values()) await sim.close();
  }
  return render(results, opts, Math.round((Date.now() - began) / 1000));
}

const s = (ms: number | undefined) =>
  ms === undefined || Number.isNaN(ms) ? '—' : `${(ms / 1000).toFixed(1)} s`;

function render(results: Map<WorldId, WorldRuns>, opts: StrategiesOptions, tookS: number): string[] {
  const r = results.get('rolling')!;
  const b = results.get('blue-green')!;
  const med = (list: ReleaseMeasure[], pick: (m: ReleaseMeasure) => number | undefined) =>
    median(list.map(pick).filter((v): v is number => v !== undefined));
  /** Median of the per-run ratios blue/green ÷ rolling (both measured in the same round). */
  const ratio = (list: 'good' | 'bad', pick: (m: ReleaseMeasure) => number | undefined) =>
    median(
      r[list]
        .map((m, i) => [pick(b[list][i]!), pick(m)] as const)
        .filter(([x, y]) => x !== undefined && y !== undefined && y > 0)
        .map(([x, y]) => x! / y!),
    ).toFixed(2);
  const row = (label: string, pick: (m: ReleaseMeasure) => number | undefined, list: 'good' | 'bad') =>
    `| ${label} | ${s(med(r[list], pick))} | ${s(med(b[list], pick))} | ${ratio(list, pick)} |`;
  const count = (label: string, pick: (m: ReleaseMeasure) => number, list: 'good' | 'bad') =>
    `| ${label} | ${med(r[list], pick)} | ${med(b[list], pick)} | |`;
  const verified = (list: ReleaseMeasure[]) =>
    `${list.filter((m) => m.productionVerified).length} of ${list.length}`;
  const minOf = (list: ReleaseMeasure[], pick: (m: ReleaseMeasure) => number) => Math.min(...list.map(pick));
  const perRun = (w: WorldRuns, i: number) =>
    `${s(w.good[i]!.pipelineMs)} / ${s(w.good[i]!.cutOverMs)} | ${s(w.bad[i]!.rollbackMs)} / ${w.bad[i]!.badExposure!.served} req, ${s(w.bad[i]!.badExposure!.spanMs)}`;
  return [
    '## Rolling vs blue/green with the release gate (issue #18)',
    '',
    `Written by the same run (bench/strategies/measure.ts) on commit ${opts.commit}, in ${tookS} s. The four services in two worlds built from the`,
    'CDK app (sim/assembly `scenarioFromApp`): **rolling**, infra/ as synthesized for staging; **blue/green**, infra/ with',
    'context `deployments=*=blue-green` (alternate target groups, weighted production and test listener rules, bake time',
    '5 min, and the POST_TEST_TRAFFIC_SHIFT hook that ships, infra/lambda/release-gate, run by the simulator and reading',
    `the gate's SSM parameter). Same staging overlay timing, simulator speed ×${opts.speed} for both. Releases run the`,
    `bundles (dist/, ${opts.bundles}) through the runner's action host, as the pipeline runs them, while a client sends`,
    `production requests one after another (${opts.loadGapMs} ms real gap, the four service paths in turn):`,
    '',
    '- rolling: deploy-services (`wait-for: healthy`, no bake) → verify (production);',
    '- blue/green, the gated chain of ecs-deploy.yml: release-gate `pending` → deploy-services `wait-for: test-traffic`',
    '  (every green held at POST_TEST_TRAFFIC_SHIFT, production on blue) → verify `traffic: test` → release-gate `open`',
    '  (the four target service revisions) → deploy-services again (adopts, follows to SUCCESSFUL after bake) → verify',
    '  (production); when verify fails on test traffic, release-gate `closed` (the hook answers FAILED, ECS shifts every',
    '  green back);',
    "- rolling, a failing verify → the rollback job: deploy-services `rollback-to` each service's previous revision;",
    "  blue/green, the rollback is ECS's own once the gate is closed (no rollback job runs for these services here: the",
    "  workflow's rollback job, started while ECS still shifts back, starts new blue/green deployments of the previous",
    '  revisions, which the closed gate fails in turn; see bench/README.md);',
    `- the bad release: alva-api's new image passes its health checks but answers every request 500. verify retries a`,
    `  failing check until its \`timeout-seconds\`, here ${opts.verifyTimeoutS} s simulated (the action's default is 300 s: with it,`,
    '  a rolling bad revision serves production 240 s longer; the gated one still serves none).',
    '',
    `Median of ${opts.runs} rounds; each round runs good then bad, rolling then blue/green, each on a freshly reset world;`,
    "ratios are blue/green ÷ rolling per round, then the median. All times are **simulated** seconds (the simulator's",
    'clock and its request log).',
    '',
    '| | Rolling | Blue/green + gate | Ratio |',
    '| --- | ---: | ---: | ---: |',
    row(
      'Good release: release wall time (first step → the last deploy-services confirmed it live)',
      (m) => m.pipelineMs,
      'good',
    ),
    row(
      "Good release: the same, less blue/green's bake time (ECS's bakeTimeInMinutes)",
      (m) => (m.bakeMs === undefined ? m.pipelineMs : m.pipelineMs - m.bakeMs),
      'good',
    ),
    row(
      'Good release: production on the new revisions (last request to an old one)',
      (m) => m.cutOverMs,
      'good',
    ),
    `| Good release: verify on production passed afterwards | ${verified(r.good)} | ${verified(b.good)} | |`,
    `| Good release: services on the new revision once ECS settled (of 4, min) | ${minOf(r.good, (m) => m.endOnNew)} | ${minOf(b.good, (m) => m.endOnNew)} | |`,
    row('Bad api: failing verdict (verify failed)', (m) => m.verdictMs, 'bad'),
    `| Bad api: verdict → release-gate \`closed\` written | — | ${s(med(b.bad, (m) => m.gateClosedMs))} | |`,
    row(
      "Bad api: rollback wall time (verdict → every service back: rolling, the rollback job's deploy-services confirmed it; blue/green, ECS's ROLLBACK_SUCCESSFUL on all four)",
      (m) => m.rollbackMs,
      'bad',
    ),
    row('Bad api: verdict → ECS had every service back (simulator events)', (m) => m.ecsBackMs, 'bad'),
    row('Bad api: verdict → last production request to the release', (m) => m.productionBackMs, 'bad'),
    `| Bad api: verdict → ECS shifted the last green's traffic back (its traffic-restored events) | — (no traffic shift) | ${s(med(b.bad, (m) => m.trafficRestoredMs))} | |`,
    count('Bad api: production requests the bad api revision served', (m) => m.badExposure!.served, 'bad'),
    row('Bad api: time span the bad api revision served production', (m) => m.badExposure!.spanMs, 'bad'),
    count('Bad api: of those, answered 500', (m) => m.badExposure!.errors, 'bad'),
    count(
      'Bad api: production requests any revision of the release served',
      (m) => m.releaseExposure!.served,
      'bad',
    ),
    count('Bad api: production requests during the release (all)', (m) => m.productionRequests, 'bad'),
    `| Bad api: services on their previous revision once ECS settled (of 4, min) | ${minOf(r.bad, (m) => m.endOnPrevious)} | ${minOf(b.bad, (m) => m.endOnPrevious)} | |`,
    '',
    `**Exposure.** Rolling, the bad api revision served ${med(r.bad, (m) => m.badExposure!.served)} production requests (median; min`,
    `${Math.min(...r.bad.map((m) => m.badExposure!.served))}) over ${s(med(r.bad, (m) => m.badExposure!.spanMs))}, from its first healthy task until the rollback job had replaced it.`,
    `Blue/green with the gate: **${Math.max(...b.bad.map((m) => m.badExposure!.served))} production requests in every run** (max over ${opts.runs}; any revision`,
    `of the release: ${Math.max(...b.bad.map((m) => m.releaseExposure!.served))}): production never moved to a green revision; ECS's shift back moved the test`,
    "listener only. deploy-services' `trafficShiftBackMs` is not in this table: it is reported when deploy-services itself",
    'sends StopServiceDeployment ROLLBACK (a failure while it follows a release); in the gated chain no deploy-services',
    "run follows the rollback, ECS does it on the hook's FAILED.",
    '',
    'Per round (good: pipeline / production cut over; bad: rollback / bad api production requests, their time span):',
    '',
    '| Round | Rolling, good | Rolling, bad api | Blue/green + gate, good | Blue/green + gate, bad api |',
    '| ---: | --- | --- | --- | --- |',
    ...r.good.map((_, i) => `| ${i + 1} | ${perRun(r, i)} | ${perRun(b, i)} |`),
    '',
    '**What is modelled.** ECS as the simulator runs it: rolling replacement with the circuit breaker; blue/green',
    'lifecycle stages, listener-rule weights, the hook invoked at POST_TEST_TRAFFIC_SHIFT with its `callBackDelay`',
    '(15 s: an open or closed gate is seen up to 15 s after it is written), bake time, rollback by shifting traffic back;',
    "target registration, health checks and deregistration delay from infra/'s target groups; the ALB answering each",
    'request from a target of the group its rule weights choose.',
    '',
    `**What is not, or is distorted.** The actions' own pacing is real time, not scaled: deploy-services polls every`,
    `1–2 s, verify waits 1 s between consecutive passes and starts as a new Node process; at ×${opts.speed} each real`,
    `second is ${opts.speed} simulated seconds, so pipeline, verdict and rollback figures carry ×${opts.speed} of that overhead (on AWS`,
    'they would be shorter by about the same absolute amount for both strategies). No job start-up, checkout or',
    'credentials steps; no network latency;',
    'the client load is sequential, so request counts depend on the machine, the time spans much less. The blue/green',
    "good release includes ECS's 5 min bake (the rolling one bakes nothing here; the staging pipeline adds",
    '`bake-seconds: 30`). The gated release runs deploy-services twice (`wait-for: test-traffic`, then',
    "again to adopt and follow), as here; job boundaries (the rollback job's runner start) take no time here.",
    '',
  ];
}
