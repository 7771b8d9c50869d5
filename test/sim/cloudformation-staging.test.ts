/**
 * "Deploy this assembly to an empty account": the staging world's own stacks
 * (sim/scenarios/staging.json, generated from infra/), deployed one by one in
 * dependency order with CREATE change sets through the real CloudFormation
 * client, give the world the assembly loader gives directly: the same target
 * groups and health checks, load balancers, listeners and rules, task
 * definitions, services running their desired count, and IAM roles.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import {
  CloudFormationClient,
  CreateChangeSetCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
  waitUntilChangeSetCreateComplete,
  waitUntilStackCreateComplete,
  waitUntilStackUpdateComplete,
} from '@aws-sdk/client-cloudformation';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, ECSClient } from '@aws-sdk/client-ecs';
import {
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { loadScenario, startSim, type Sim } from '../../sim/index.js';
import { IamAuthorizer } from '../../sim/iam/authorizer.js';
import type { Scenario } from '../../sim/scenario.js';
import { clientConfig, STAGING, withOperator } from './helpers.js';

const SPEED = 100;
let loaded: Sim;
let empty: Sim;
let cfn: CloudFormationClient;
const staging = loadScenario(STAGING);

beforeAll(async () => {
  loaded = await startSim({ scenario: withOperator(staging), speed: SPEED, port: 0 });
  // The same account before anything is deployed: what the overlay says (images, timing, registry), no resources.
  const account: Scenario = {
    name: 'staging-empty',
    region: staging.region,
    accountId: staging.accountId,
    seed: staging.seed,
    timing: staging.timing,
    images: staging.images,
    ecr: { ...staging.ecr!, repositories: [] },
    clusters: [],
    taskDefinitions: [],
    iam: { roles: [], mode: 'enforce' },
    stacks: [],
  };
  empty = await startSim({ scenario: withOperator(account), speed: SPEED, port: 0 });
  cfn = new CloudFormationClient(clientConfig(empty));
});

afterAll(async () => {
  cfn?.destroy();
  await empty?.close();
  await loaded?.close();
});

function shape(s: Sim): Record<string, unknown> {
  const w = s.world;
  const iam = w.gates.find((g): g is IamAuthorizer => g instanceof IamAuthorizer)?.account.spec;
  const byArn = <T extends { arn: string }>(xs: T[]) => xs.sort((a, b) => a.arn.localeCompare(b.arn));
  return {
    targetGroups: byArn(
      [...w.elb.targetGroups.values()].map((tg) => ({
        arn: tg.arn,
        port: tg.port,
        healthCheck: tg.healthCheck,
        delay: tg.deregistrationDelaySeconds,
        loadBalancers: tg.loadBalancerArns,
      })),
    ),
    loadBalancers: byArn(
      [...w.elb.loadBalancers.values()].map((lb) => ({
        arn: lb.arn,
        listeners: lb.listeners.map((l) => ({
          arn: l.arn,
          port: l.port,
          defaultRuleArn: l.defaultRuleArn,
          defaultAction: l.defaultAction,
          rules: l.rules,
        })),
      })),
    ),
    // capacityUnavailableSubnets is the overlay's (a fact of the machine, not of a template): not deployed.
    clusters: [...w.ecs.clusters.values()].map((c) => ({
      name: c.name,
      spec: { ...c.spec, capacityUnavailableSubnets: undefined },
    })),
    taskDefinitions: [...w.ecs.taskDefinitions.values()]
      .flat()
      .map((td) => ({ arn: td.arn, status: td.status, body: { ...td.body, registeredAt: undefined } })),
    services: [...w.ecs.clusters.values()].flatMap((c) =>
      [...c.services.values()].map((svc) => ({
        arn: svc.arn,
        status: svc.status,
        taskDefinition: svc.taskDefinitionArn,
        desiredCount: svc.desiredCount,
        loadBalancers: svc.loadBalancers,
        networkConfiguration: svc.networkConfiguration,
        deploymentConfiguration: svc.deploymentConfiguration,
        running: [...c.tasks.values()].filter((t) => t.service === svc && t.lastStatus === 'RUNNING').length,
      })),
    ),
    roles: byArn((iam?.roles ?? []).filter((r) => r.name !== 'sim-test-operator')),
    managedPolicies: byArn([...(iam?.managedPolicies ?? [])]),
    oidcProviders: byArn([...(iam?.oidcProviders ?? [])]),
  };
}

it('CREATE change sets of every staging stack, in order, give the loaded staging world', async () => {
  // The SDK's own waiters, polling every 50-200 ms of real time (the simulated clock runs faster).
  const waiter = { client: cfn, maxWaitTime: 300, minDelay: 0.05, maxDelay: 0.2 };
  for (const stack of staging.stacks!) {
    await cfn.send(
      new CreateChangeSetCommand({
        StackName: stack.name,
        ChangeSetName: 'initial',
        ChangeSetType: 'CREATE',
        TemplateBody: JSON.stringify(stack.template),
        Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'],
      }),
    );
    await waitUntilChangeSetCreateComplete(waiter, { StackName: stack.name, ChangeSetName: 'initial' });
    await cfn.send(new ExecuteChangeSetCommand({ StackName: stack.name, ChangeSetName: 'initial' }));
    await waitUntilStackCreateComplete(waiter, { StackName: stack.name });
  }
  const stacks = (await cfn.send(new DescribeStacksCommand({}))).Stacks ?? [];
  expect(stacks.map((s) => s.StackStatus)).toEqual(staging.stacks!.map(() => 'CREATE_COMPLETE'));
  const deployed = shape(empty);
  expect(
    (deployed.services as { running: number; desiredCount: number }[]).every(
      (s) => s.running === s.desiredCount,
    ),
  ).toBe(true);
  expect(deployed).toEqual(shape(loaded));
}, 300_000);

it('an update of the loaded staging world: a health check reaches the live target group, an environment variable deploys the service on a new revision', async () => {
  const client = new CloudFormationClient(clientConfig(loaded));
  const elb = new ElasticLoadBalancingV2Client(clientConfig(loaded));
  const ecs = new ECSClient(clientConfig(loaded));
  const waiter = { client, maxWaitTime: 300, minDelay: 0.05, maxDelay: 0.2 };
  try {
    const templateOf = (name: string) =>
      structuredClone(staging.stacks!.find((s) => s.name === name)!.template) as {
        Resources: Record<string, { Properties: Record<string, unknown> }>;
      };
    const alb = templateOf('AlvaStagingAlb');
    alb.Resources.webTargetGroupEBBAA673.Properties.HealthCheckIntervalSeconds = 15;
    const update = async (stack: string, template: unknown, name: string) => {
      await client.send(
        new CreateChangeSetCommand({
          StackName: stack,
          ChangeSetName: name,
          ChangeSetType: 'UPDATE',
          TemplateBody: JSON.stringify(template),
          Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'],
        }),
      );
      await waitUntilChangeSetCreateComplete(waiter, { StackName: stack, ChangeSetName: name });
      await client.send(new ExecuteChangeSetCommand({ StackName: stack, ChangeSetName: name }));
      await waitUntilStackUpdateComplete(waiter, { StackName: stack });
    };
    await update('AlvaStagingAlb', alb, 'health-check');
    const groups = (
      await elb.send(new DescribeTargetGroupsCommand({ Names: ['alva-staging-web', 'alva-staging-api'] }))
    ).TargetGroups!;
    expect(groups.find((g) => g.TargetGroupName === 'alva-staging-web')?.HealthCheckIntervalSeconds).toBe(15);
    expect(groups.find((g) => g.TargetGroupName === 'alva-staging-api')?.HealthCheckIntervalSeconds).toBe(5);

    const before = (
      await ecs.send(new DescribeServicesCommand({ cluster: 'alva-staging-cluster', services: ['alva-api'] }))
    ).services![0];
    const ecsTemplate = templateOf('AlvaStagingEcs');
    const containers = ecsTemplate.Resources.apiTaskDefinition7C6D485D.Properties.ContainerDefinitions as {
      Environment?: { Name: string; Value: string }[];
    }[];
    containers[0].Environment = [...(containers[0].Environment ?? []), { Name: 'FEATURE_FLAG', Value: 'on' }];
    await update('AlvaStagingEcs', ecsTemplate, 'env');
    const after = (
      await ecs.send(new DescribeServicesCommand({ cluster: 'alva-staging-cluster', services: ['alva-api'] }))
    ).services![0];
    expect(after.taskDefinition).not.toBe(before.taskDefinition);
    expect(after.deployments).toEqual([
      expect.objectContaining({ rolloutState: 'COMPLETED', taskDefinition: after.taskDefinition }),
    ]);
    const td = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: after.taskDefinition }));
    expect(td.taskDefinition?.containerDefinitions?.[0]?.environment).toContainEqual({
      name: 'FEATURE_FLAG',
      value: 'on',
    });
    // The other services did not move.
    const web = (
      await ecs.send(new DescribeServicesCommand({ cluster: 'alva-staging-cluster', services: ['alva-web'] }))
    ).services![0];
    expect(web.deployments).toHaveLength(1);
    expect(web.taskDefinition).toMatch(/alva-web:1$/);
  } finally {
    client.destroy();
    elb.destroy();
    ecs.destroy();
  }
}, 300_000);
