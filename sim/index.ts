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
 * What it serves (the AWS services and the ALB data plane) is listed in
 * sim/registry.ts.
 */
import { readFileSync } from 'node:fs';
import { adminSession, type AdminSessionRequest, type SimCredentials } from './iam/admin.js';
import { loadAssembly } from './assembly/load.js';
import type { Overlay } from './assembly/overlay.js';
import { DATA_PLANES } from './registry.js';
import type { FaultSpec, Scenario } from './scenario.js';
import { SimServer, type SimCall } from './server.js';
import type { SimEvent, World } from './world.js';

export type { Scenario } from './scenario.js';
export { loadAssembly, type AssemblyLoad } from './assembly/load.js';
export type { Overlay } from './assembly/overlay.js';
export type { SimCall } from './server.js';
export type { SimEvent } from './world.js';
export type { AdminSessionRequest, SimCredentials } from './iam/admin.js';
export type {
  ElbEngine,
  LoadBalancerRecord,
  ListenerRecord,
  RuleRecord,
  TargetGroupRecord,
  TargetRecord,
} from './elb-engine.js';

export interface StartSimOptions {
  /** A Scenario object, or the path of a scenario JSON file; or give `assembly`. */
  scenario?: Scenario | string;
  /** A cloud assembly directory (cdk.out) to load as the world (sim/assembly), with `overlay`. */
  assembly?: string;
  /** The overlay (object or JSON file) merged with `assembly`: image behaviours, timing, seed, registry. */
  overlay?: Overlay | string;
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
  /** Credentials for a role of the scenario's iam, as an administrator hands them out (no trust check; marked `admin`). */
  session(role: string | AdminSessionRequest): SimCredentials;
}

export function loadScenario(scenario: Scenario | string): Scenario {
  return typeof scenario === 'string'
    ? (JSON.parse(readFileSync(scenario, 'utf8')) as Scenario)
    : structuredClone(scenario);
}

/** The scenario a StartSimOptions describes: a scenario, or a cloud assembly with its overlay. */
export function scenarioOf(options: Pick<StartSimOptions, 'scenario' | 'assembly' | 'overlay'>): Scenario {
  if (options.assembly !== undefined) {
    if (options.scenario !== undefined) throw new Error('startSim: give a scenario or an assembly, not both');
    return loadAssembly({ assembly: options.assembly, overlay: options.overlay }).scenario;
  }
  if (options.scenario === undefined) throw new Error('startSim: give a scenario or an assembly');
  return loadScenario(options.scenario);
}

export async function startSim(options: StartSimOptions): Promise<Sim> {
  const speed = options.speed ?? 1;
  const server = new SimServer(scenarioOf(options), speed);
  let dataPlanes: { close(): Promise<void> }[] = [];
  const closeDataPlanes = async () => {
    await Promise.all(dataPlanes.map((plane) => plane.close()));
    dataPlanes = [];
  };
  let endpoint: string | undefined;
  // Lambda hooks (sim/lambda.ts) call AWS here, as their execution role when IAM is modelled.
  const wireLambda = (world: World) => {
    world.ecs.lambda.endpoint = endpoint;
    world.ecs.lambda.credentials = (roleArn) => adminSession(world.gates, { roleArn, sessionName: 'lambda' });
  };
  server.onLoad = async (world) => {
    wireLambda(world);
    await closeDataPlanes();
    const deps = { elb: world.elb, services: world.services, toReal: (ms: number) => world.clock.toReal(ms) };
    for (const start of DATA_PLANES) dataPlanes.push(await start(deps));
  };
  await server.onLoad(server.world);
  let port: number;
  try {
    port = await server.listen(options.port ?? 0);
    endpoint = `http://127.0.0.1:${port}`;
    wireLambda(server.world);
  } catch (err) {
    await closeDataPlanes();
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
      await closeDataPlanes();
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
    session: (role) => adminSession(server.world.gates, typeof role === 'string' ? { role } : role),
  };
}
