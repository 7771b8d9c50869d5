/**
 * The lean profile through the project's own CDK CLI against the simulator:
 * `cdk deploy --all -c profile=lean` (synthesized with the context, handed to
 * the CLI as its assembly) deploys every stack of a fresh bootstrapped account,
 * the services run on FARGATE_SPOT with ARM64 task definitions, and a second
 * run is a no-op. The simulator records the architecture as ECS reports it; it
 * does not check an image's architecture against it (sim/README.md, "Not
 * modelled").
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, ECSClient } from '@aws-sdk/client-ecs';
import { startSim, type Sim } from '../../sim/index.js';
import { withCdkBootstrap } from '../../sim/cfn/bootstrap.js';
import {
  SPEED,
  STACKS,
  adminCredentials,
  cdkDeploy,
  clientConfig,
  freshAccount,
  infraAssembly,
  outcome,
  type Credentials,
} from './cdk-cli.js';

const SERVICES = ['alva-web', 'alva-api', 'alva-auth', 'alva-admin'];

describe('cdk deploy --all -c profile=lean against the simulator', () => {
  let sim: Sim;
  let credentials: Credentials;
  let app: string;

  beforeAll(async () => {
    sim = await startSim({ scenario: withCdkBootstrap(freshAccount), port: 0, speed: SPEED });
    credentials = await adminCredentials(sim);
    app = infraAssembly({ profile: 'lean' });
  }, 300_000);

  afterAll(async () => {
    await sim?.close();
  });

  it('deploys every stack of a fresh account; the services run on Fargate Spot with ARM64 task definitions; a rerun is a no-op', async () => {
    const first = await cdkDeploy(sim, credentials, app);
    expect(outcome(first)).toEqual({ code: 0, tail: '' });
    const cfn = new CloudFormationClient(clientConfig(sim, credentials));
    const ecs = new ECSClient(clientConfig(sim, credentials));
    try {
      const stacks = (await cfn.send(new DescribeStacksCommand({}))).Stacks ?? [];
      const status = Object.fromEntries(stacks.map((s) => [s.StackName, s.StackStatus]));
      for (const name of STACKS) expect(`${name} ${status[name]}`).toBe(`${name} CREATE_COMPLETE`);

      const { services = [], failures } = await ecs.send(
        new DescribeServicesCommand({ cluster: 'alva-staging-cluster', services: SERVICES }),
      );
      expect(failures).toEqual([]);
      for (const service of services) {
        expect({
          name: service.serviceName,
          status: service.status,
          running: service.runningCount,
          launchType: service.launchType,
          strategy: service.capacityProviderStrategy?.map((s) => s.capacityProvider),
        }).toEqual({
          name: service.serviceName,
          status: 'ACTIVE',
          running: service.desiredCount,
          launchType: undefined,
          strategy: ['FARGATE_SPOT'],
        });
        const { taskDefinition } = await ecs.send(
          new DescribeTaskDefinitionCommand({ taskDefinition: service.taskDefinition }),
        );
        expect(`${service.serviceName} ${taskDefinition?.runtimePlatform?.cpuArchitecture}`).toBe(
          `${service.serviceName} ARM64`,
        );
      }
    } finally {
      cfn.destroy();
      ecs.destroy();
    }

    const again = await cdkDeploy(sim, credentials, app);
    expect(outcome(again)).toEqual({ code: 0, tail: '' });
    for (const name of STACKS) expect(again.output).toContain(`${name} (no changes)`);
  }, 900_000);
});
