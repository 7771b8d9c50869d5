/**
 * The AWS simulator, started in-process:
 *
 *   const sim = await startSim({ scenario: 'sim/scenarios/staging.json', speed: 20, port: 0 });
 *   process.env.AWS_ENDPOINT_URL = sim.url;   // every service on one port
 *   …
 *   await sim.close();
 *
 * See sim/README.md for what is modelled, the scenario format and the control API.
 *
 * Plug-in modules (written beside the core, loaded here when present):
 * - sim/services/ecr.ts, sim/services/cloudformation.ts: export a factory
 *   `create<Name>Service(ctx: SimContext): SimService` (see sim/service.ts).
 *   It is called once per loaded scenario (load and reset make a new one).
 * - sim/alb.ts, the ALB data plane: exports
 *   `startAlbDataPlane({ elb, toReal }): Promise<{ ports, close() }>`. It gets
 *   the ELB engine of the loaded scenario (sim/elb-engine.ts: `loadBalancers`
 *   with their listeners and rules, `targetGroups` with their targets, each
 *   target's health state, task ARN, task definition ARN, image and image
 *   behaviour) and sets each load balancer's `dnsName` to "127.0.0.1:<port>".
 *   It is started after every load and closed before the next.
 */
import { readFileSync } from 'node:fs';
import type { FaultSpec, Scenario } from './scenario.js';
import type { SimContext, SimService } from './service.js';
import { SimServer, type SimCall } from './server.js';
import type { ElbEngine } from './elb-engine.js';
import type { ServiceFactory, SimEvent, World } from './world.js';

export type { Scenario } from './scenario.js';
export type { SimCall } from './server.js';
export type { SimEvent } from './world.js';
export type {
  ElbEngine,
  LoadBalancerRecord,
  ListenerRecord,
  RuleRecord,
  TargetGroupRecord,
  TargetRecord,
} from './elb-engine.js';

export interface StartSimOptions {
  /** A Scenario object, or the path of a scenario JSON file. */
  scenario: Scenario | string;
  /** How many times faster than real time the clock runs (default 1). */
  speed?: number;
  /** 0 (default) picks a free port. */
  port?: number;
}

export interface Sim {
  /** "http://127.0.0.1:<port>": the value for AWS_ENDPOINT_URL. */
  readonly url: string;
  readonly port: number;
  readonly speed: number;
  /** The loaded account (engines, clock); replaced by load() and reset(). */
  readonly world: World;
  close(): Promise<void>;
  calls(since?: number): SimCall[];
  events(since?: number): SimEvent[];
  state(): Record<string, unknown>;
  load(scenario: Scenario | string): Promise<void>;
  reset(): Promise<void>;
  addFaults(faults: FaultSpec | FaultSpec[]): void;
  /** Simulated epoch milliseconds. */
  now(): number;
  /** Real milliseconds for a simulated duration (scale waits in tests by speed). */
  toReal(simMs: number): number;
}

export function loadScenario(scenario: Scenario | string): Scenario {
  return typeof scenario === 'string'
    ? (JSON.parse(readFileSync(scenario, 'utf8')) as Scenario)
    : structuredClone(scenario);
}

/** Whether `err` says that `specifier` itself is missing (not something it imports). */
function isMissingModule(err: unknown, specifier: string): boolean {
  const e = err as { code?: string; message?: string };
  const file = specifier.slice(specifier.lastIndexOf('/') + 1).replace(/\.js$/, '');
  const missing =
    e?.code === 'ERR_MODULE_NOT_FOUND' || /Cannot find module|Could not locate module/.test(e?.message ?? '');
  return missing && (e?.message ?? '').includes(file);
}

async function optionalModule(specifier: string): Promise<Record<string, unknown> | undefined> {
  try {
    return (await import(specifier)) as Record<string, unknown>;
  } catch (err) {
    if (isMissingModule(err, specifier)) return undefined;
    throw err;
  }
}

/** The service factories of the plug-in service modules that exist. */
async function pluginFactories(): Promise<ServiceFactory[]> {
  const factories: ServiceFactory[] = [];
  for (const specifier of ['./services/ecr.js', './services/cloudformation.js']) {
    const mod = await optionalModule(specifier);
    if (!mod) continue;
    const entry = Object.entries(mod).find(
      ([name, value]) => /^create\w*Service$/.test(name) && typeof value === 'function',
    );
    if (entry) factories.push(entry[1] as (ctx: SimContext) => SimService);
  }
  return factories;
}

type AlbStarter = (deps: {
  elb: ElbEngine;
  toReal(simMs: number): number;
}) => Promise<{ close(): Promise<void> }>;

export async function startSim(options: StartSimOptions): Promise<Sim> {
  const speed = options.speed ?? 1;
  const server = new SimServer(loadScenario(options.scenario), speed, await pluginFactories());
  const alb = await optionalModule('./alb.js');
  const startAlb = alb?.startAlbDataPlane as AlbStarter | undefined;
  let dataPlane: { close(): Promise<void> } | undefined;
  server.onLoad = async (world) => {
    await dataPlane?.close();
    dataPlane = startAlb
      ? await startAlb({ elb: world.elb, toReal: (ms) => world.clock.toReal(ms) })
      : undefined;
  };
  await server.onLoad(server.world);
  let port: number;
  try {
    port = await server.listen(options.port ?? 0);
  } catch (err) {
    await dataPlane?.close();
    server.world.close();
    throw err;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    speed,
    get world() {
      return server.world;
    },
    close: async () => {
      await dataPlane?.close();
      await server.close();
    },
    calls: (since) => server.callLog(since),
    events: (since) => server.world.events(since),
    state: () => server.world.state(),
    load: (scenario) => server.load(loadScenario(scenario)),
    reset: () => server.reset(),
    addFaults: (faults) => server.addFaults(Array.isArray(faults) ? faults : [faults]),
    now: () => server.world.clock.now(),
    toReal: (ms) => server.world.clock.toReal(ms),
  };
}
