/**
 * The simulator's world from a CDK app: synthesize (synth.ts, cached), read
 * the cloud assembly (manifest.ts), resolve intrinsics (intrinsics.ts) against
 * the ids the simulator assigns (physical-ids.ts), map resources into a
 * Scenario (load.ts) and merge the overlay (overlay.ts).
 */
import { join } from 'node:path';
import { loadAssembly, type AssemblyLoad } from './load.js';
import { readOverlay, type Overlay } from './overlay.js';
import { repositoryRoot, synthesize } from './synth.js';

export { loadAssembly, camel, IntrinsicError, type AssemblyLoad } from './load.js';
export { readOverlay, type Overlay } from './overlay.js';
export { assemblyKey, synthesize, type SynthOptions } from './synth.js';
export { readAssembly, type AssemblyStack } from './manifest.js';

/** This repository's CDK app and the overlay that makes it the staging world. */
export const INFRA_DIR = join(repositoryRoot, 'infra');
export const STAGING_OVERLAY = join(repositoryRoot, 'sim', 'scenarios', 'staging.overlay.json');
/** Generated from INFRA_DIR + STAGING_OVERLAY by `npm run world`. */
export const STAGING_SCENARIO = join(repositoryRoot, 'sim', 'scenarios', 'staging.json');

/**
 * Synthesizes the CDK app in `appDir` with the overlay's context (cached) and loads it with the overlay.
 * `context` adds to or overrides the overlay's, e.g. infra/'s `{ deployments: '*=blue-green' }` for a
 * world whose services deploy blue/green.
 */
export function scenarioFromApp(options: {
  appDir: string;
  overlay?: Overlay | string;
  context?: Record<string, string>;
}): AssemblyLoad {
  const overlay = readOverlay(options.overlay);
  const assembly = synthesize({
    appDir: options.appDir,
    context: { ...overlay.context, ...options.context },
  });
  return loadAssembly({ assembly, overlay });
}
