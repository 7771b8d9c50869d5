/**
 * The gated staging world of the release-gate e2e tests (test/e2e/release-gate.test.ts,
 * test/e2e/rollback-through-gate.test.ts): the simulator on a scenario synthesized from
 * infra/ (runner/gated-world.ts), and the pipeline's actions run through the bundles as
 * its jobs run them, with the reads of ECS the tests judge from.
 */
import { expect } from '@jest/globals';
import {
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  ECSClient,
  ListServiceDeploymentsCommand,
  type ServiceDeployment,
} from '@aws-sdk/client-ecs';
import type { DeployedService } from '../../lib/contracts/deployments.js';
import { RELEASE_GATE_PARAMETER } from '../../runner/gated-world.js';
import { startSim, type Scenario, type Sim } from '../../sim/index.js';
import { clientConfig, withOperator } from '../sim/helpers.js';
import { runAction, type ActionRun } from './run-action.js';

export const CLUSTER = 'alva-staging-cluster';
export const ECR = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
export const SERVICES = ['alva-web', 'alva-api', 'alva-auth', 'alva-admin'];

/** The simulator on `scenario` (with the operator's identity, clock ×30) and an ECS client on it. */
export async function startGatedSim(scenario: Scenario): Promise<{ sim: Sim; ecs: ECSClient }> {
  const sim = await startSim({ scenario: withOperator(scenario), speed: 30, port: 0 });
  return { sim, ecs: new ECSClient(clientConfig(sim)) };
}

/** The images input of a release: every container at `tag`, unless `overrides` names its image. */
export const images = (tag: string, overrides: Record<string, string> = {}) =>
  JSON.stringify(
    Object.fromEntries(
      ['web', 'api', 'auth', 'admin'].map((c) => [c, overrides[c] ?? `${ECR}/alva-${c}:${tag}`]),
    ),
  );

export const deploymentsOf = (run: ActionRun) =>
  JSON.parse(run.outputs.deployments!) as Record<string, DeployedService>;

/** The run ended 0 with no refusal by IAM; otherwise the assertion shows its log. */
export function expectSucceeded(run: ActionRun): void {
  expect({
    exitCode: run.exitCode,
    refused: run.refused ?? [],
    log: run.exitCode === 0 ? '' : run.log,
  }).toEqual({
    exitCode: 0,
    refused: [],
    log: '',
  });
}

/**
 * release-gate and deploy-services against the simulator `world` gives once started (the
 * test file's beforeAll), deploy-services as run `runId`; and ECS's record of the services.
 */
export function gatedPipeline(world: { sim: () => Sim; ecs: () => ECSClient }, runId: string) {
  const env = () => ({ AWS_ENDPOINT_URL: world.sim().url });

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
      env: { ...env(), GITHUB_RUN_ID: runId },
      timeoutMs: 300_000,
    });
  }

  /** Each service's task definition, as DescribeServices gives it. */
  async function running(): Promise<Record<string, string>> {
    const { services = [] } = await world
      .ecs()
      .send(new DescribeServicesCommand({ cluster: CLUSTER, services: SERVICES }));
    return Object.fromEntries(services.map((s) => [s.serviceName!, s.taskDefinition!]));
  }

  /** The service's latest service deployment, as DescribeServiceDeployments gives it. */
  async function latestDeployment(service: string): Promise<ServiceDeployment | undefined> {
    const ecs = world.ecs();
    const listed = await ecs.send(new ListServiceDeploymentsCommand({ cluster: CLUSTER, service }));
    const arn = listed.serviceDeployments?.[0]?.serviceDeploymentArn;
    if (!arn) return undefined;
    return (await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] })))
      .serviceDeployments?.[0];
  }

  return { env, releaseGate, deployServices, running, latestDeployment };
}
