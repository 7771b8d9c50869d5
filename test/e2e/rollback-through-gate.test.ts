/**
 * The pipeline's rollback job through the release gate, through the bundles: the
 * gated staging world synthesized from infra/ (api and auth blue/green behind the
 * POST_TEST_TRAFFIC_SHIFT hook the assembly ships, web and admin rolling), IAM
 * enforced. After a release whose gate had opened, the rollback job runs
 *
 *   release-gate pending → deploy-services rollback-to (wait-for test-traffic)
 *   → release-gate open → deploy-services rollback-to again
 *
 * (.github/workflows/ecs-deploy.yml, job rollback). The second run must adopt the
 * traffic shifts of the rollback revisions the gate held and follow them to
 * SUCCESSFUL; reporting them "unchanged" would end the job while ECS is still
 * shifting or baking. Judged from the simulator: DescribeServices,
 * DescribeServiceDeployments and the call log.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  ECSClient,
  ListServiceDeploymentsCommand,
  type ServiceDeployment,
} from '@aws-sdk/client-ecs';
import type { DeployedService } from '../../lib/contracts/deployments.js';
import { gatedStagingScenario, RELEASE_GATE_PARAMETER } from '../../runner/gated-world.js';
import { startSim, type Sim } from '../../sim/index.js';
import { clientConfig, withOperator } from '../sim/helpers.js';
import { runAction, type ActionRun } from './run-action.js';

const CLUSTER = 'alva-staging-cluster';
const ECR = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const SERVICES = ['alva-web', 'alva-api', 'alva-auth', 'alva-admin'];
const SHIFTING = ['alva-api', 'alva-auth'];

let sim: Sim;
let ecs: ECSClient;

beforeAll(async () => {
  sim = await startSim({ scenario: withOperator(await gatedStagingScenario()), speed: 30, port: 0 });
  ecs = new ECSClient(clientConfig(sim));
}, 180_000);

afterAll(async () => {
  ecs?.destroy();
  await sim?.close();
});

const env = () => ({ AWS_ENDPOINT_URL: sim.url });

function releaseGate(
  release: string,
  state: string,
  inputs: Record<string, string> = {},
): Promise<ActionRun> {
  return runAction('release-gate', {
    inputs: { parameter: RELEASE_GATE_PARAMETER, state, release, ...inputs },
    env: env(),
    timeoutMs: 60_000,
  });
}

function deployServices(inputs: Record<string, string>): Promise<ActionRun> {
  return runAction('deploy-services', {
    inputs: { cluster: CLUSTER, services: SERVICES.join(','), 'timeout-seconds': '240', ...inputs },
    env: { ...env(), GITHUB_RUN_ID: '7101' },
    timeoutMs: 300_000,
  });
}

const images = (tag: string) =>
  JSON.stringify(
    Object.fromEntries(['web', 'api', 'auth', 'admin'].map((c) => [c, `${ECR}/alva-${c}:${tag}`])),
  );

async function running(): Promise<Record<string, string>> {
  const { services = [] } = await ecs.send(
    new DescribeServicesCommand({ cluster: CLUSTER, services: SERVICES }),
  );
  return Object.fromEntries(services.map((s) => [s.serviceName!, s.taskDefinition!]));
}

async function latestDeployment(service: string): Promise<ServiceDeployment | undefined> {
  const listed = await ecs.send(new ListServiceDeploymentsCommand({ cluster: CLUSTER, service }));
  const arn = listed.serviceDeployments?.[0]?.serviceDeploymentArn;
  if (!arn) return undefined;
  return (await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] })))
    .serviceDeployments?.[0];
}

const deploymentsOf = (run: ActionRun) =>
  JSON.parse(run.outputs.deployments!) as Record<string, DeployedService>;

function expectSucceeded(run: ActionRun): void {
  expect({
    exitCode: run.exitCode,
    refused: run.refused ?? [],
    log: run.exitCode === 0 ? '' : run.log,
  }).toEqual({ exitCode: 0, refused: [], log: '' });
}

/** A release through the gate, as the deploy job runs it: every service ends on its new revision. */
async function gatedRelease(release: string, tag: string): Promise<void> {
  expectSucceeded(await releaseGate(release, 'pending'));
  const held = await deployServices({ images: images(tag), 'wait-for': 'test-traffic' });
  expectSucceeded(held);
  expectSucceeded(await releaseGate(release, 'open', { deployments: held.outputs.deployments! }));
  expectSucceeded(await deployServices({ images: images(tag) }));
}

describe('the rollback job through the release gate (bundles, gated staging world from infra/)', () => {
  it('rollback-to again after the gate opened adopts the held traffic shifts and ends only when they are SUCCESSFUL on the previous revisions', async () => {
    const before = await running();
    await gatedRelease('e2e-rollback-1', 'rollback-me');
    const released = await running();
    for (const service of SERVICES) expect(released[service]).not.toBe(before[service]);
    const rollbackTo = JSON.stringify(before);

    expectSucceeded(await releaseGate('e2e-rollback-1-back', 'pending'));
    const first = await deployServices({ 'rollback-to': rollbackTo, 'wait-for': 'test-traffic' });
    expectSucceeded(first);
    for (const service of SHIFTING)
      expect(await latestDeployment(service)).toMatchObject({
        status: 'IN_PROGRESS',
        lifecycleStage: 'POST_TEST_TRAFFIC_SHIFT',
      });
    expectSucceeded(
      await releaseGate('e2e-rollback-1-back', 'open', { deployments: first.outputs.deployments! }),
    );

    const since = sim.calls().at(-1)?.seq ?? 0;
    const second = await deployServices({ 'rollback-to': rollbackTo });
    expectSucceeded(second);
    // Where ECS says each traffic shift stands the moment the step ended: done, not still shifting or baking.
    for (const service of SHIFTING)
      expect({ service, ...(await latestDeployment(service)) }).toMatchObject({
        service,
        status: 'SUCCESSFUL',
      });
    expect(sim.calls(since).filter((c) => c.operation === 'UpdateService')).toEqual([]);
    const followed = deploymentsOf(second);
    for (const service of SHIFTING) {
      expect(followed[service]).toMatchObject({
        status: 'deployed',
        strategy: 'BLUE_GREEN',
        taskDefinition: before[service],
      });
      expect(second.log).toContain(`${service}: adopted deployment`);
    }
    expect(await running()).toEqual(before);
  }, 600_000);
});
