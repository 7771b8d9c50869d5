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
 * driven through the committed bundles (dist/) with the runner's action host,
 * as the pipeline runs them, while a steady client load hits the production
 * listener:
 *  - rolling: deploy-services (wait-for: healthy) → verify (production); a
 *    failed verify → deploy-services `rollback-to` the previous revisions (the
 *    rollback job);
 *  - blue/green: gate `pending` → deploy-services (followed in the background)
 *    → every deployment held at POST_TEST_TRAFFIC_SHIFT → verify `traffic: test`
 *    → gate `open` for the four target service revisions (or `closed`, ECS
 *    rolls all four back) → deploy-services ends (SUCCESSFUL after bake, or
 *    rolled back) → verify (production). The gate is written with the SSM SDK
 *    as the documented JSON (/work/helpers/gate-spec.md, infra/lambda/release-gate).
 * The bad release: alva-api's new image passes its health checks but answers
 * every request 500 (only a check of its traffic finds it).
 *
 * Times are simulated (the simulator's clock, sim.now() and its event log);
 * production exposure comes from the ALB data plane's own request log
 * (GET /_sim/alb-requests): which revision answered each production request.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  DescribeServiceDeploymentsCommand,
  ECSClient,
  ListServiceDeploymentsCommand,
  type ServiceDeployment,
} from '@aws-sdk/client-ecs';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
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
    return { ok: run.exitCode === 0, run, startedSim, endedSim: p.sim.now() };
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

// ---------------------------------------------------------------- the gate and ECS reads

function clients(sim: Sim) {
  const config = {
    endpoint: sim.url,
    region: OFFLINE_AWS_ENV.AWS_REGION,
    credentials: {
      accessKeyId: OFFLINE_AWS_ENV.AWS_ACCESS_KEY_ID,
      secretAccessKey: OFFLINE_AWS_ENV.AWS_SECRET_ACCESS_KEY,
    },
  };
  return { ecs: new ECSClient(config), ssm: new SSMClient(config) };
}

/** Writes the gate's value as the release-gate protocol defines it; returns the simulated time of the write. */
async function writeGate(sim: Sim, ssm: SSMClient, value: Record<string, unknown>): Promise<number> {
  await ssm.send(
    new PutParameterCommand({ Name: GATE, Type: 'String', Overwrite: true, Value: JSON.stringify(value) }),
  );
  return sim.now();
}

async function latestDeployment(ecs: ECSClient, service: string): Promise<ServiceDeployment | undefined> {
  const listed = await ecs.send(new ListServiceDeploymentsCommand({ cluster: CLUSTER, service }));
  const arn = listed.serviceDeployments?.[0]?.serviceDeploymentArn;
  if (!arn) return undefined;
  return (await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] })))
    .serviceDeployments?.[0];
}

/** Waits until every service's deployment is held at POST_TEST_TRAFFIC_SHIFT; its target service revisions. */
async function allHeldAtGate(ecs: ECSClient, deploy: { done: boolean }): Promise<string[]> {
  const deadline = Date.now() + 300_000;
  while (Date.now() < deadline && !deploy.done) {
    const all = await Promise.all(SERVICES.map((s) => latestDeployment(ecs, s)));
    if (all.every((d) => d?.status === 'IN_PROGRESS' && d.lifecycleStage === 'POST_TEST_TRAFFIC_SHIFT'))
      return all.map((d) => d!.targetServiceRevision!.arn!);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the four deployments were never all held at POST_TEST_TRAFFIC_SHIFT');
}

// ---------------------------------------------------------------- one release

/** One release, as simulated times (ms) and what the ALB served. */
export interface ReleaseMeasure {
  ok: boolean;
  /** Pipeline start → its end (good: production verified; bad: every service back on its previous revision). */
  pipelineMs: number;
  /** Good: pipeline start → the last production request answered by a previous revision. */
  cutOverMs?: number;
  /** Bad: pipeline start → the failing verdict (verify failed). */
  verdictMs?: number;
  /** Bad: verdict → the rollback's end (rolling: the rollback job's deploy-services; blue/green: deploy-services following ECS's rollback). */
  rollbackMs?: number;
  /** Bad: verdict → ECS has every service back on its previous revision (simulator events: rolling, the rollback deployments COMPLETED; blue/green, ROLLBACK_SUCCESSFUL, green stopped). */
  ecsBackMs?: number;
  /** Bad: verdict → the last production request answered by a revision of the release (0: none after it). */
  productionBackMs?: number;
  /** Bad: deploy-services' trafficShiftBackMs (max over services), real ms × speed; absent when none reported. */
  trafficShiftBackMs?: number;
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
  const { ecs, ssm } = clients(sim);
  const started = sim.now();
  let outcome: Omit<ReleaseMeasure, 'productionRequests' | 'productionErrors' | 'badExposure' | 'releaseExposure'>;
  let deployed: Record<string, DeploymentsEntry>;
  let verdictAt: number | undefined;
  try {
    if (world === 'rolling') {
      const deploy = await step(p, 'deploy-services', deployInputs(p, tag, apiTag));
      if (!deploy.ok) throw new Error(`rolling deploy failed:\n${deploy.run.log.slice(-2000)}`);
      deployed = deploymentsOf(deploy);
      const verify = await step(p, 'verify', verifyInputs(p, 'production', deploy.run.outputs.deployments));
      if (verify.ok) {
        outcome = { ok: true, pipelineMs: verify.endedSim - started, verdict: 'deployed, verified' };
      } else {
        verdictAt = verify.endedSim;
        const previous = Object.fromEntries(
          Object.entries(deployed).map(([s, d]) => [s, d.previousTaskDefinition]),
        );
        const rollback = await step(p, 'deploy-services', {
          cluster: CLUSTER,
          services: SERVICES.join(','),
          'rollback-to': JSON.stringify(previous),
          'wait-for': 'healthy',
          'timeout-seconds': String(Math.ceil(1800 / p.speed)),
        });
        outcome = {
          ok: false,
          pipelineMs: rollback.endedSim - started,
          verdictMs: verdictAt - started,
          rollbackMs: rollback.endedSim - verdictAt,
          verdict: `verify failed on production; the rollback job ${rollback.ok ? 'put every service back' : 'FAILED'}`,
        };
      }
    } else {
      const release = `bench-${p.runId}`;
      await writeGate(sim, ssm, { release, state: 'pending' });
      const following = { done: false };
      const deploying = step(p, 'deploy-services', deployInputs(p, tag, apiTag)).finally(
        () => (following.done = true),
      );
      const revisions = await allHeldAtGate(ecs, following);
      const verify = await step(p, 'verify', verifyInputs(p, 'test'));
      if (verify.ok) {
        await writeGate(sim, ssm, { release, state: 'open', revisions });
      } else {
        verdictAt = await writeGate(sim, ssm, {
          release,
          state: 'closed',
          reason: 'verify failed on test traffic',
        });
      }
      const deploy = await deploying;
      deployed = deploymentsOf(deploy);
      if (verify.ok) {
        if (!deploy.ok) throw new Error(`blue/green deploy failed:\n${deploy.run.log.slice(-2000)}`);
        const production = await step(p, 'verify', verifyInputs(p, 'production', deploy.run.outputs.deployments));
        outcome = {
          ok: production.ok,
          pipelineMs: production.endedSim - started,
          verdict: production.ok ? 'deployed after bake, verified' : 'production verify FAILED',
        };
      } else {
        const shiftBack = Object.values(deployed)
          .map((d) => d.rollback?.trafficShiftBackMs)
          .filter((ms): ms is number => ms !== undefined);
        outcome = {
          ok: false,
          pipelineMs: deploy.endedSim - started,
          verdictMs: verdictAt! - started,
          rollbackMs: deploy.endedSim - verdictAt!,
          ...(shiftBack.length ? { trafficShiftBackMs: Math.max(...shiftBack) * p.speed } : {}),
          verdict: `verify failed on test traffic, gate closed; deploy-services ${deploy.ok ? 'SUCCEEDED (wrong)' : 'failed, every service rolled back by a traffic shift'}`,
        };
      }
    }
  } finally {
    await load.stop();
    ecs.destroy();
    ssm.destroy();
  }
  const requests = (await albLog(sim, since)).requests.filter((r) => r.listenerPort === PRODUCTION_PORT);
  const newRevisions = Object.fromEntries(Object.entries(deployed).map(([s, d]) => [s, d.taskDefinition]));
  const previousRevisions = Object.fromEntries(
    Object.entries(deployed).map(([s, d]) => [s, d.previousTaskDefinition]),
  );
  const measure: ReleaseMeasure = {
    ...outcome,
    productionRequests: requests.length,
    productionErrors: requests.filter((r) => r.status >= 500).length,
  };
  if (!bad) {
    const at = cutOverAt(requests, PRODUCTION_PORT, newRevisions);
    if (at !== undefined) measure.cutOverMs = at - started;
  } else {
    measure.ecsBackMs = ecsBackAt(sim, eventsSince, world, previousRevisions, verdictAt!);
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
  const results = new Map<WorldId, WorldRuns>(WORLDS.map((w) => [w.id, { good: [], bad: [] }]));
  const began = Date.now();
  try {
    for (const w of WORLDS)
      sims.set(w.id, await startSim({ scenario: worldScenario(w.context), speed: opts.speed, port: 0 }));
    for (let i = 0; i < opts.runs; i++) {
      for (const bad of [false, true]) {
        for (const w of WORLDS) {
          const sim = sims.get(w.id)!;
          await sim.reset();
          const { listeners } = await albLog(sim);
          const addresses = Object.fromEntries(listeners.map((l) => [l.port, l.address!]));
          const runId = `${i + 1}${bad ? 'b' : 'g'}${w.id === 'rolling' ? 'r' : 'bg'}`;
          const m = await release(
            { sim, speed: opts.speed, runId, opts, addresses },
            w.id,
            `bench-${runId}`,
            bad,
          );
          results.get(w.id)![bad ? 'bad' : 'good'].push(m);
          opts.log(
            `strategies run ${i + 1}/${opts.runs} ${w.id} ${bad ? 'bad api' : 'good'}: ${m.verdict}, pipeline ${s(m.pipelineMs)}` +
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

const s = (ms: number | undefined) => (ms === undefined || Number.isNaN(ms) ? '—' : `${(ms / 1000).toFixed(1)} s`);

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
  const perRun = (w: WorldRuns, i: number) =>
    `${s(w.good[i]!.pipelineMs)} / ${s(w.good[i]!.cutOverMs)} | ${s(w.bad[i]!.rollbackMs)} / ${w.bad[i]!.badExposure!.served} req, ${s(w.bad[i]!.badExposure!.spanMs)}`;
  return [
    '## Rolling vs blue/green with the release gate (issue #18)',
    '',
    `Written by the same run (bench/strategies/measure.ts), in ${tookS} s. The four services in two worlds built from the`,
    'CDK app (sim/assembly `scenarioFromApp`): **rolling**, infra/ as synthesized for staging; **blue/green**, infra/ with',
    'context `deployments=*=blue-green` (alternate target groups, weighted production and test listener rules, bake time',
    '5 min, and the POST_TEST_TRAFFIC_SHIFT hook that ships, infra/lambda/release-gate, run by the simulator and reading',
    `the gate's SSM parameter). Same staging overlay timing, simulator speed ×${opts.speed} for both. Releases run the`,
    'committed bundles (dist/) through the runner\'s action host, as the pipeline runs them, while a client sends',
    `production requests one after another (${opts.loadGapMs} ms real gap, the four service paths in turn):`,
    '',
    '- rolling: deploy-services (`wait-for: healthy`, no bake) → verify (production); when verify fails, the rollback',
    '  job: deploy-services `rollback-to` each service\'s previous revision;',
    '- blue/green: the gate `pending` → deploy-services (followed in the background, default `wait-for`: to',
    '  SUCCESSFUL after bake) → all four deployments held at POST_TEST_TRAFFIC_SHIFT → verify `traffic: test` → the gate',
    '  `open` for the four target service revisions, or `closed` when verify failed (the hook answers FAILED and ECS',
    '  shifts all four back) → deploy-services ends → verify (production). The gate is written with the SSM SDK as the',
    '  documented JSON (`{release, state, revisions, reason}`); the release-gate action was not in the committed tree.',
    `- the bad release: alva-api's new image passes its health checks but answers every request 500. verify retries a`,
    `  failing check until its \`timeout-seconds\`, here ${opts.verifyTimeoutS} s simulated (the action's default is 300 s: with it,`,
    '  a rolling bad revision serves production 240 s longer; the gated one still serves none).',
    '',
    `Median of ${opts.runs} rounds; each round runs good then bad, rolling then blue/green, each on a freshly reset world;`,
    'ratios are blue/green ÷ rolling per round, then the median. All times are **simulated** seconds (the simulator\'s',
    'clock and its request log).',
    '',
    '| | Rolling | Blue/green + gate | Ratio |',
    '| --- | ---: | ---: | ---: |',
    row('Good release: pipeline wall time (deploy … production verify)', (m) => m.pipelineMs, 'good'),
    row('Good release: production on the new revisions (last request to an old one)', (m) => m.cutOverMs, 'good'),
    row('Bad api: failing verdict (verify failed)', (m) => m.verdictMs, 'bad'),
    row('Bad api: rollback wall time (verdict → every service back, confirmed)', (m) => m.rollbackMs, 'bad'),
    row('Bad api: verdict → ECS reports every service back (simulator events)', (m) => m.ecsBackMs, 'bad'),
    row('Bad api: verdict → last production request to the release', (m) => m.productionBackMs, 'bad'),
    `| Bad api: deploy-services' trafficShiftBackMs (max) | — (no traffic shift) | ${s(med(b.bad, (m) => m.trafficShiftBackMs))} | |`,
    count('Bad api: production requests the bad api revision served', (m) => m.badExposure!.served, 'bad'),
    row('Bad api: time span the bad api revision served production', (m) => m.badExposure!.spanMs, 'bad'),
    count('Bad api: of those, answered 500', (m) => m.badExposure!.errors, 'bad'),
    count('Bad api: production requests any revision of the release served', (m) => m.releaseExposure!.served, 'bad'),
    count('Bad api: production requests during the release (all)', (m) => m.productionRequests, 'bad'),
    '',
    `**Exposure.** A bad api revision served ${med(r.bad, (m) => m.badExposure!.served)} production requests over`,
    `${s(med(r.bad, (m) => m.badExposure!.spanMs))} when rolling (median), and **${Math.max(...b.bad.map((m) => m.badExposure!.served))} in every`,
    `blue/green run** (max over ${opts.runs}): with the gate, production never moved to any green revision.`,
    '',
    'Per round (good: pipeline / production cut over; bad: rollback / bad api production requests, their time span):',
    '',
    '| Round | Rolling | | Blue/green + gate | |',
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
    'they would be shorter by about the same absolute amount for both strategies), and trafficShiftBackMs (a real-time',
    `figure of the action) is shown × ${opts.speed}. No job start-up, checkout or credentials steps; no network latency;`,
    'the client load is sequential, so request counts depend on the machine, the time spans much less. The blue/green',
    'good release includes ECS\'s 5 min bake (the rolling one bakes nothing here; the staging pipeline adds',
    '`bake-seconds: 30`). In the pipeline the gated release runs deploy-services twice (`wait-for: test-traffic`, then',
    'again to adopt and follow); here one run follows throughout, which leaves out one process start.',
    '',
  ];
}
