/** Shared set-up for the simulator's acceptance tests: real SDK clients pointed at an in-process simulator. */
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { loadScenario, startSim, type Sim, type StartSimOptions } from '../../sim/index.js';
import type { Scenario, ServiceSpec } from '../../sim/scenario.js';
import { createServer } from 'node:net';

export const STAGING = 'sim/scenarios/staging.json';
export const CLUSTER = 'alva-staging-cluster';
export const SERVICES = ['alva-web', 'alva-api', 'alva-auth', 'alva-admin'];

/**
 * The test itself, as the account's administrator: it arranges the world and
 * reads what happened, never the identity an action runs as (actions run as
 * their pipeline role, test/e2e/run-action.ts). A role no template has, so a
 * test adds it to its scenario with withOperator(); it trusts nobody (its
 * sessions come only from the control API).
 */
export const OPERATOR_ROLE = 'sim-test-operator';

/** `scenario` (or the staging world) with the OPERATOR_ROLE added to its IAM, when it models IAM. */
export function withOperator(scenario: Scenario | string = STAGING): Scenario {
  const loaded = loadScenario(scenario);
  if (!loaded.iam || loaded.iam.roles.some((r) => r.name === OPERATOR_ROLE)) return loaded;
  const account = loaded.accountId ?? '123456789012';
  loaded.iam.roles.push({
    name: OPERATOR_ROLE,
    arn: `arn:aws:iam::${account}:role/${OPERATOR_ROLE}`,
    trust: { Version: '2012-10-17', Statement: [] },
    policies: [
      {
        name: 'administrator',
        document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
      },
    ],
  });
  return loaded;
}

/**
 * startSim with the OPERATOR_ROLE in every world it loads (the first, and each
 * sim.load()), so operatorCredentials(sim) work whatever scenario a test loads.
 */
export async function startTestSim(options: StartSimOptions): Promise<Sim> {
  const sim = await startSim(
    options.scenario === undefined ? options : { ...options, scenario: withOperator(options.scenario) },
  );
  const load = sim.load.bind(sim);
  return Object.assign(sim, { load: (scenario: Scenario | string) => load(withOperator(scenario)) });
}

/**
 * Credentials of the OPERATOR_ROLE for an SDK client of the test's own (plain
 * keys when the scenario models no IAM). sim.reset() and sim.load() forget
 * every session, so the provider asks for a new one once the world changed;
 * the expiration it reports is now, so the SDK asks the provider before each
 * request instead of keeping a session the simulator no longer knows.
 */
export function operatorCredentials(sim: Sim): AwsCredentialIdentityProvider {
  let world: Sim['world'] | undefined;
  let identity: AwsCredentialIdentity | undefined;
  return () => {
    if (world !== sim.world || !identity) {
      world = sim.world;
      const iam = sim.world.scenario.iam;
      if (iam && !iam.roles.some((r) => r.name === OPERATOR_ROLE))
        throw new Error(
          `the loaded world has no ${OPERATOR_ROLE}: start it with startTestSim or withOperator()`,
        );
      identity = iam
        ? sim.session({ role: OPERATOR_ROLE, sessionName: 'test-operator' })
        : { accessKeyId: 'AKIDSIMULATOR', secretAccessKey: 'simulator' };
    }
    return Promise.resolve({ ...identity, expiration: new Date() });
  };
}

export interface Clients {
  sim: Sim;
  ecs: ECSClient;
  elb: ElasticLoadBalancingV2Client;
  logs: CloudWatchLogsClient;
}

/** An SDK client's configuration for `sim`: the operator's credentials (a bare URL: plain keys, for a world without IAM). */
export function clientConfig(sim: Sim | string, maxAttempts = 3) {
  return {
    endpoint: typeof sim === 'string' ? sim : sim.url,
    region: 'us-east-1',
    credentials:
      typeof sim === 'string'
        ? { accessKeyId: 'AKIDSIMULATOR', secretAccessKey: 'simulator' }
        : operatorCredentials(sim),
    maxAttempts,
  };
}

/** The simulator on `scenario` (the staging world by default, IAM enforced) with the operator's clients. */
export async function startWithClients(scenario: Scenario | string = STAGING, speed = 40): Promise<Clients> {
  const sim = await startSim({ scenario: withOperator(scenario), speed, port: 0 });
  const config = clientConfig(sim);
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

/** The error `promise` is refused with (name, message, HTTP status); throws if the call was served. */
export async function refusal(
  promise: Promise<unknown>,
): Promise<{ name: string; message: string; status?: number }> {
  try {
    await promise;
  } catch (err) {
    const e = err as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('the call was served');
}

/**
 * The frame of the blue/green tests' small worlds: fixed timing (no jitter, a few simulated
 * seconds a step), no throttling, one cluster.
 */
export function smallWorld(
  name: string,
  seed: number,
  cluster: string,
): Pick<Scenario, 'name' | 'seed' | 'timing' | 'throttling' | 'clusters'> {
  return {
    name,
    seed,
    timing: {
      provisionMs: 1000,
      pullMs: 1000,
      stopMs: 500,
      jitter: 0,
      schedulerTickMs: 1000,
      registrationMs: 500,
    },
    throttling: { enabled: false },
    clusters: [{ name: cluster }],
  };
}

/** The role ECS assumes to shift a blue/green service's traffic (advancedConfiguration.roleArn). */
export const ECS_INFRASTRUCTURE_ROLE = 'arn:aws:iam::123456789012:role/ecs-infrastructure';

/**
 * A blue/green service's load balancer: container `name`:3000 behind `${name}-blue`, `${name}-green`
 * the alternate, production on `alb`:80 and test traffic on `alb`:`testPort`.
 */
export function blueGreenLoadBalancer(
  name: string,
  alb: string,
  testPort = 8080,
): NonNullable<ServiceSpec['loadBalancers']>[number] {
  return {
    targetGroup: `${name}-blue`,
    containerName: name,
    containerPort: 3000,
    advancedConfiguration: {
      alternateTargetGroup: `${name}-green`,
      productionListenerRule: { loadBalancer: alb, port: 80 },
      testListenerRule: { loadBalancer: alb, port: testPort },
      roleArn: ECS_INFRASTRUCTURE_ROLE,
    },
  };
}

/**
 * The source of a lifecycle-hook Lambda that asks ECS (through the SDK, as Lambda's runtime
 * provides it) which images the green revision runs; `verdict` is the handler's last statements,
 * over `images`, one a line.
 */
export const imageCheckHook = (...verdict: string[]) => `
import { DescribeServiceRevisionsCommand, DescribeTaskDefinitionCommand, ECSClient } from '@aws-sdk/client-ecs';
const ecs = new ECSClient({});
export const handler = async (event) => {
  const { serviceRevisions } = await ecs.send(
    new DescribeServiceRevisionsCommand({ serviceRevisionArns: [event.executionDetails.targetServiceRevisionArn] }),
  );
  const { taskDefinition } = await ecs.send(
    new DescribeTaskDefinitionCommand({ taskDefinition: serviceRevisions[0].taskDefinition }),
  );
  const images = taskDefinition.containerDefinitions.map((c) => c.image);
  ${verdict.join('\n  ')}
};
`;
