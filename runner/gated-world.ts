/**
 * The staging world with some services deploying blue/green behind the release
 * gate, for the demo and the workflow tests: infra/ synthesized with context
 * `deployments` (sim/assembly; cached in .tmp/assemblies), so the gate hook the
 * simulator runs is the one the assembly ships (infra/lambda/release-gate), and
 * IAM is enforced as in the staging world.
 */
import { createServer } from 'node:net';
import { INFRA_DIR, STAGING_OVERLAY, scenarioFromApp } from '../sim/assembly/index.js';
import type { Scenario } from '../sim/index.js';

/** Which services deploy blue/green in the gated world (infra/'s context `deployments`). */
export const GATED_DEPLOYMENTS = 'api=blue-green,auth=blue-green';

/** The AlvaStagingEcs output ReleaseGateParameterName: what RELEASE_GATE_PARAMETER holds. */
export const RELEASE_GATE_PARAMETER = '/alva-staging/release-gate';

/**
 * infra/ with `deployments` (default GATED_DEPLOYMENTS) and any other context (e.g. `profile: 'lean'`)
 * as the simulator's world.
 *
 * verify (`traffic: test`) reaches the test listener at the load balancer's DNS host and the
 * listener's port, as on AWS. The simulator serves each listener on a port of 127.0.0.1 of its
 * own, so each listener besides the load balancer's front one is declared on a free port and
 * served there: infra's 9000 would collide with any other world on this machine.
 */
export async function gatedStagingScenario(context: Record<string, string> = {}): Promise<Scenario> {
  const { scenario } = scenarioFromApp({
    appDir: INFRA_DIR,
    overlay: STAGING_OVERLAY,
    context: { deployments: GATED_DEPLOYMENTS, ...context },
  });
  for (const lb of scenario.loadBalancers ?? []) {
    const front = lb.listeners.find((l) => (l.protocol ?? 'HTTP') === 'HTTP') ?? lb.listeners[0];
    for (const listener of lb.listeners) {
      if (listener === front) continue;
      const port = await freePort();
      listener.port = port;
      listener.httpPort = port;
    }
  }
  return scenario;
}

/** A port on 127.0.0.1 that nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
