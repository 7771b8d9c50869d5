/**
 * The gated release through the local runner: deploy-staging.yml with the
 * release gate on (RELEASE_GATE_PARAMETER), on the staging world synthesized
 * with api and auth deploying blue/green (web and admin roll), IAM enforced,
 * and the gate's hook the one the assembly ships (infra/lambda/release-gate),
 * run by the simulator. Judged from the simulator: the services' deployments,
 * the gate's SSM parameter and the ALB data plane's own request log, while
 * production traffic flows throughout the run.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ListServiceDeploymentsCommand, type ServiceDeploymentBrief } from '@aws-sdk/client-ecs';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { ECSClient } from '@aws-sdk/client-ecs';
import { startSim } from '../../sim/index.js';
import { gatedStagingScenario, RELEASE_GATE_PARAMETER } from '../../runner/gated-world.js';
import { clientConfig, withOperator } from '../sim/helpers.js';
import { expectRunSucceeded } from './run-outcome.js';
import {
  CLUSTER,
  ECR,
  SERVICES,
  jobResults,
  primaryTaskDefinitions,
  runStagingWorkflow,
  stagingImages,
  type StagingWorld,
  type WorkflowRun,
} from './staging-world.js';
import type { AlbRequestRecord } from '../../sim/elb-engine.js';

const BLUE_GREEN = ['alva-api', 'alva-auth'];
const ROLLING = ['alva-web', 'alva-admin'];
/**
 * The gate on, and only the blue/green services' checks through the test listener (it routes no
 * other path). verify and the bake wait in real seconds, which the simulator's clock (×30) does not
 * shorten: a short verify on test traffic and bake, as the demo has.
 */
const GATE_VARS = {
  RELEASE_GATE_PARAMETER,
  RELEASE_GATE_CHECKS: 'GET /api/health 200\nGET /auth/health 200',
  RELEASE_GATE_VERIFY_SECONDS: '15',
  BAKE_SECONDS: '1',
};
const PRODUCTION_PATHS = ['/', '/api/health', '/auth/health', '/admin/health'];

const world = {} as StagingWorld;
let ssm: SSMClient;
let testListenerPort: number;

beforeAll(async () => {
  const scenario = await gatedStagingScenario();
  testListenerPort = scenario.loadBalancers![0]!.listeners.find((l) => l.port !== 80)!.port;
  world.sim = await startSim({ scenario: withOperator(scenario), speed: 30, port: 0 });
  world.ecs = new ECSClient(clientConfig(world.sim));
  ssm = new SSMClient(clientConfig(world.sim));
}, 180_000);

afterAll(async () => {
  world.ecs?.destroy();
  ssm?.destroy();
  await world.sim?.close();
});

beforeEach(async () => {
  await world.sim.reset();
});

async function albLog(since = 0): Promise<{
  listeners: { port: number; address?: string }[];
  requests: AlbRequestRecord[];
}> {
  const response = await fetch(`${world.sim.url}/_sim/alb-requests?since=${since}`);
  return (await response.json()) as {
    listeners: { port: number; address?: string }[];
    requests: AlbRequestRecord[];
  };
}

/**
 * Runs deploy-staging.yml with the gate on while users keep sending production requests to
 * every service; returns the run and the ALB requests made during it.
 */
async function gatedRelease(
  imagesJson: string,
  killStep?: Parameters<typeof runStagingWorkflow>[2]['killStep'],
): Promise<WorkflowRun & { requests: AlbRequestRecord[] }> {
  const log = await albLog();
  const since = log.requests.at(-1)?.seq ?? 0;
  const production = log.listeners.find((l) => l.port === 80)!.address!;
  let running = true;
  const users = (async () => {
    while (running) {
      for (const path of PRODUCTION_PATHS) await (await fetch(`http://${production}${path}`)).text();
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  // Surfaced after the run (below), never as an unhandled rejection while it runs.
  users.catch(() => undefined);
  try {
    const run = await runStagingWorkflow(world, 'deploy-staging.yml', {
      inputs: { images: imagesJson },
      vars: GATE_VARS,
      ...(killStep ? { killStep } : {}),
    });
    return { ...run, requests: (await albLog(since)).requests };
  } finally {
    running = false;
    await users;
  }
}

async function gate(): Promise<{ release?: string; state?: string; revisions?: string[] }> {
  const { Parameter } = await ssm.send(new GetParameterCommand({ Name: RELEASE_GATE_PARAMETER }));
  return JSON.parse(Parameter!.Value!) as { release?: string; state?: string; revisions?: string[] };
}

async function latestDeployment(service: string): Promise<ServiceDeploymentBrief> {
  const { serviceDeployments = [] } = await world.ecs.send(
    new ListServiceDeploymentsCommand({ cluster: CLUSTER, service }),
  );
  return serviceDeployments[0]!;
}

/** Production requests (the listener on 80) to a service's target groups, by the revision that answered. */
function productionRevisions(requests: AlbRequestRecord[], service: string): Set<string | undefined> {
  const group = service.replace(/^alva-/, 'alva-staging-');
  return new Set(
    requests
      .filter((r) => r.listenerPort === 80 && (r.targetGroup === group || r.targetGroup === `${group}-alt`))
      .map((r) => r.taskDefinitionArn),
  );
}

describe('a gated release (deploy-staging.yml, RELEASE_GATE_PARAMETER set) through the local runner', () => {
  it('a green failing verify on test traffic closes the gate: every blue/green service back on blue, no production request ever served by green, the rolling ones rolled back, run failed', async () => {
    const before = await primaryTaskDefinitions(world);
    const { run, log, requests } = await gatedRelease(
      stagingImages('gated-bad', { auth: `${ECR}/alva-auth:verify-fails-gated-bad` }),
    );

    const jobs = jobResults(run);
    expect({ jobs, tail: jobs.rollback === 'success' ? '' : log.slice(-4000) }).toMatchObject({
      jobs: { migrate: 'success', deploy: 'failure', verify: 'skipped', rollback: 'success' },
      tail: '',
    });
    expect(run.conclusion).toBe('failure');
    // verify on test traffic named the service and the check that failed.
    expect(log).toMatch(/alva-auth[^\n]*\/auth\/health|\/auth\/health[^\n]*500/);

    // The gate: closed by this release; ECS rolled each blue/green deployment back by traffic shift.
    expect(await gate()).toMatchObject({ state: 'closed' });
    for (const service of BLUE_GREEN)
      expect({ service, status: (await latestDeployment(service)).status }).toEqual({
        service,
        status: 'ROLLBACK_SUCCESSFUL',
      });
    // Every service serves what it served before: the rolling ones through the rollback job.
    expect(await primaryTaskDefinitions(world)).toEqual(before);
    // The rolling ones were released and then rolled back: two revisions sent by UpdateService.
    const updates = world.sim
      .calls()
      .filter((c) => c.service === 'ecs' && c.operation === 'UpdateService' && c.status === 200);
    for (const service of ROLLING) {
      const sent = new Set(
        updates.filter((c) => c.params.service === service).map((c) => c.params.taskDefinition),
      );
      expect({ service, revisions: sent.size }).toEqual({ service, revisions: 2 });
    }

    // Green was reached on test traffic (auth answered 500 there) and never on production.
    const test = requests.filter((r) => r.listenerPort === testListenerPort);
    expect(test.some((r) => r.path === '/auth/health' && r.status === 500)).toBe(true);
    expect(test.some((r) => r.path === '/api/health' && r.status === 200)).toBe(true);
    for (const service of BLUE_GREEN) {
      const served = productionRevisions(requests, service);
      expect({ service, productionRequests: served.size > 0 }).toEqual({ service, productionRequests: true });
      expect({ service, served: [...served] }).toEqual({ service, served: [before[service]] });
    }
  }, 420_000);

  it('a good gated release opens the gate for both blue/green revisions: all four services end on the new revision, run succeeded', async () => {
    const before = await primaryTaskDefinitions(world);
    const { run, log, requests } = await gatedRelease(stagingImages('gated-good'));

    expectRunSucceeded(run, log);
    expect(jobResults(run)).toMatchObject({ deploy: 'success', verify: 'success', rollback: 'skipped' });
    const after = await primaryTaskDefinitions(world);
    for (const service of SERVICES)
      expect({ service, changed: after[service] !== before[service] }).toEqual({ service, changed: true });
    for (const service of BLUE_GREEN)
      expect({ service, status: (await latestDeployment(service)).status }).toEqual({
        service,
        status: 'SUCCESSFUL',
      });
    // The gate opened for exactly the two blue/green revisions this release verified.
    const opened = await gate();
    expect(opened).toMatchObject({ state: 'open' });
    expect(opened.revisions).toHaveLength(2);
    // The deployments output covers both runs: each service from its previous revision to its new one.
    const deployments = JSON.parse(run.jobs[0]!.outputs.deployments!) as Record<
      string,
      { previousTaskDefinition: string; taskDefinition: string }
    >;
    for (const service of SERVICES)
      expect({ service, ...deployments[service] }).toMatchObject({
        service,
        previousTaskDefinition: before[service],
        taskDefinition: after[service],
      });
    // Production moved to green only after verify passed on test traffic: the first production
    // request green answered comes after the last test-traffic check.
    for (const service of BLUE_GREEN) {
      const group = service.replace(/^alva-/, 'alva-staging-');
      const firstOnGreen = requests.find(
        (r) =>
          r.listenerPort === 80 && r.targetGroup?.startsWith(group) && r.taskDefinitionArn === after[service],
      );
      const lastTest = requests
        .filter((r) => r.listenerPort === testListenerPort && r.targetGroup?.startsWith(group))
        .at(-1);
      expect({ service, tested: Boolean(lastTest), onGreen: Boolean(firstOnGreen) }).toEqual({
        service,
        tested: true,
        onGreen: true,
      });
      expect(firstOnGreen!.seq).toBeGreaterThan(lastTest!.seq);
    }
  }, 420_000);
  it('a release killed after the gate opened is rolled back through the gate: every service back on its previous revision, run failed', async () => {
    const before = await primaryTaskDefinitions(world);
    const { run, log } = await gatedRelease(stagingImages('gated-killed'), {
      job: 'deploy',
      step: 'follow',
      when: /SUCCESSFUL at CLEAN_UP/,
      signal: 'SIGKILL',
    });
    const jobs = jobResults(run);
    expect({ jobs, tail: jobs.rollback === 'success' ? '' : log.slice(-4000) }).toMatchObject({
      jobs: { deploy: 'failure', verify: 'skipped', rollback: 'success' },
      tail: '',
    });
    expect(run.conclusion).toBe('failure');
    // Production had moved to the blue/green services' new revisions: their way back was a new
    // deployment each, which the gate held until the rollback opened it for exactly them. (The
    // rollback's second deploy-services run does not follow them to the end yet: it reports them
    // unchanged, so their bake time may still run when the run ends.)
    expect(await primaryTaskDefinitions(world)).toEqual(before);
    for (const service of BLUE_GREEN) {
      let status = (await latestDeployment(service)).status;
      for (let i = 0; i < 120 && status === 'IN_PROGRESS'; i++) {
        await new Promise((r) => setTimeout(r, 500));
        status = (await latestDeployment(service)).status;
      }
      expect({ service, status }).toEqual({ service, status: 'SUCCESSFUL' });
    }
    const gateNow = await gate();
    expect(gateNow).toMatchObject({ state: 'open' });
    expect(gateNow.revisions).toHaveLength(2);
    expect(log).toMatch(/release gate \/alva-staging\/release-gate: pending/i);
  }, 420_000);
});
