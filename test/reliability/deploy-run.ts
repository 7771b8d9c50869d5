/**
 * One deploy-services run of the fault matrix: the four staging services, the
 * matrix's extra image behaviours, faults from the start, and something done
 * mid-run once the simulator has accepted the four UpdateService calls.
 * Shared by deploy-services.faults.test.ts and partial-failure.faults.test.ts.
 */
import type { Sim } from '../../sim/index.js';
import type { FaultSpec, ImageBehaviour, Scenario } from '../../sim/scenario.js';
import { runAction, type ActionRun, type RunOptions } from '../e2e/run-action.js';
import {
  CLUSTER,
  SERVICES,
  callsOf,
  images,
  primaryRevisions,
  simEnv,
  startStaging,
  until,
} from './harness.js';

export const ACTION = 'deploy-services';

/** Image behaviours the matrix adds in front of the staging ones (first match wins). */
export const EXTRA_IMAGES: Record<string, ImageBehaviour> = {
  // Slow to pull: keeps a rollout in progress long enough to act on it mid-run.
  '*:slow-*': { pullMs: 120_000 },
  // Starts, passes nothing, dies after 3 s: a crash loop.
  '*:crashfast-*': {
    start: 'ok',
    crashAfterMs: 3000,
    exitCode: 137,
    reason: 'OutOfMemoryError: Container killed due to memory usage',
    logLines: ['Server listening on 0.0.0.0', 'FATAL ERROR: JavaScript heap out of memory'],
  },
};

export function withExtraImages(s: Scenario): void {
  s.images = { ...EXTRA_IMAGES, ...s.images };
}

export interface DeployOptions {
  faults?: FaultSpec[];
  change?: (s: Scenario) => void;
  images?: string;
  inputs?: Record<string, string>;
  run?: Partial<RunOptions>;
  /** Runs while the action runs, once the simulator has accepted its four UpdateService calls. */
  midRun?: (sim: Sim) => Promise<string>;
}

export async function deploy(options: DeployOptions): Promise<{
  sim: Sim;
  run: ActionRun;
  before: Record<string, string>;
  /** The last simulator event before the action started: what came after is the action's doing. */
  eventsBefore: number;
  midRun?: string;
}> {
  const sim = await startStaging((s) => {
    s.faults = options.faults ?? [];
    withExtraImages(s);
    options.change?.(s);
  });
  try {
    const before = primaryRevisions(sim);
    const eventsBefore = sim.events().at(-1)?.seq ?? 0;
    const running = runAction(ACTION, {
      inputs: {
        cluster: CLUSTER,
        services: SERVICES.join('\n'),
        images: options.images ?? images('v2'),
        'timeout-seconds': '60',
        ...options.inputs,
      },
      env: simEnv(sim),
      timeoutMs: 120_000,
      ...options.run,
    });
    let midRun: string | undefined;
    if (options.midRun) {
      const mid = options.midRun;
      const started = await until(
        () => callsOf(sim, 'UpdateService').filter((c) => c.status === 200).length >= SERVICES.length,
        60_000,
      );
      midRun = started ? await mid(sim) : 'the action never updated the four services';
    }
    return { sim, run: await running, before, eventsBefore, ...(midRun ? { midRun } : {}) };
  } catch (err) {
    await sim.close();
    throw err;
  }
}

export function acceptedCount(sim: Sim, operation: string): number {
  return callsOf(sim, operation).filter((c) => c.status === 200).length;
}
