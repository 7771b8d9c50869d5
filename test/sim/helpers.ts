/** Shared set-up for the simulator's acceptance tests: real SDK clients pointed at an in-process simulator. */
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { startSim, type Sim } from '../../sim/index.js';
import type { Scenario } from '../../sim/scenario.js';
import { createServer } from 'node:net';

export const STAGING = 'sim/scenarios/staging.json';
export const CLUSTER = 'alva-staging-cluster';
export const SERVICES = ['alva-web', 'alva-api', 'alva-auth', 'alva-admin'];

export interface Clients {
  sim: Sim;
  ecs: ECSClient;
  elb: ElasticLoadBalancingV2Client;
  logs: CloudWatchLogsClient;
}

export function clientConfig(url: string, maxAttempts = 3) {
  return {
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDSIMULATOR', secretAccessKey: 'simulator' },
    maxAttempts,
  };
}

export async function startWithClients(scenario: Scenario | string = STAGING, speed = 40): Promise<Clients> {
  const sim = await startSim({ scenario, speed, port: 0 });
  const config = clientConfig(sim.url);
  return {
    sim,
    ecs: new ECSClient(config),
    elb: new ElasticLoadBalancingV2Client(config),
    logs: new CloudWatchLogsClient(config),
  };
}

export async function stopClients(c: Clients | undefined): Promise<void> {
  if (!c) return;
  c.ecs.destroy();
  c.elb.destroy();
  c.logs.destroy();
  await c.sim.close();
}

/** Polls `probe` every 50 ms (real) until it returns a value other than undefined. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A port on 127.0.0.1 that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
