/**
 * CloudFormation on the simulator with the real @aws-sdk/client-cloudformation:
 * change sets that change the simulated world. A small two-stack app written
 * here (Base: cluster, target group, ALB and listener, exporting them; App:
 * task definition, service, listener rule, IAM roles, importing them) is
 * deployed to an empty account by CREATE change sets, then updated. Failure
 * cases first: a change set without changes, a missing capability, an export
 * still imported, a resource ELB refuses (the stack rolls back, the world stays).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CloudFormationClient,
  CreateChangeSetCommand,
  DescribeChangeSetCommand,
  DescribeStackEventsCommand,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
  GetTemplateCommand,
  ListExportsCommand,
  ListImportsCommand,
  ListStacksCommand,
  DeleteStackCommand,
  waitUntilChangeSetCreateComplete,
  waitUntilStackCreateComplete,
  waitUntilStackUpdateComplete,
  waitUntilStackDeleteComplete,
  type StackEvent,
} from '@aws-sdk/client-cloudformation';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, ECSClient } from '@aws-sdk/client-ecs';
import {
  DescribeRulesCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { loadAssembly, startSim, type Sim } from '../../sim/index.js';
import { IamAuthorizer } from '../../sim/iam/authorizer.js';
import type { Scenario } from '../../sim/scenario.js';
import { clientConfig, withOperator } from './helpers.js';

const ACCOUNT = '123456789012';
const SPEED = 40;
const TIMING = {
  provisionMs: 1000,
  pullMs: 1000,
  stopMs: 500,
  jitter: 0.1,
  schedulerTickMs: 1000,
  registrationMs: 500,
};

type Template = Record<string, unknown>;

interface BaseOptions {
  interval?: number;
  timeout?: number;
  matcher?: string;
  delay?: number;
  exportTargetGroup?: boolean;
}

function baseTemplate(o: BaseOptions = {}): Template {
  return {
    Resources: {
      Cluster: { Type: 'AWS::ECS::Cluster', Properties: { ClusterName: 'demo' } },
      WebTargetGroup: {
        Type: 'AWS::ElasticLoadBalancingV2::TargetGroup',
        Properties: {
          Name: 'demo-web',
          Port: 8080,
          Protocol: 'HTTP',
          TargetType: 'ip',
          HealthCheckPath: '/health',
          HealthCheckIntervalSeconds: o.interval ?? 10,
          HealthCheckTimeoutSeconds: o.timeout ?? 5,
          HealthyThresholdCount: 2,
          UnhealthyThresholdCount: 2,
          Matcher: { HttpCode: o.matcher ?? '200' },
          TargetGroupAttributes: [
            { Key: 'deregistration_delay.timeout_seconds', Value: String(o.delay ?? 30) },
          ],
        },
      },
      Alb: {
        Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer',
        Properties: { Name: 'demo-alb', Type: 'application' },
      },
      Listener: {
        Type: 'AWS::ElasticLoadBalancingV2::Listener',
        Properties: {
          LoadBalancerArn: { Ref: 'Alb' },
          Port: 80,
          Protocol: 'HTTP',
          DefaultActions: [{ Type: 'forward', TargetGroupArn: { Ref: 'WebTargetGroup' } }],
        },
      },
      Topic: { Type: 'AWS::SNS::Topic', Properties: {} },
    },
    Outputs: {
      ClusterName: { Value: { Ref: 'Cluster' }, Export: { Name: 'demo-cluster' } },
      ListenerArn: { Value: { Ref: 'Listener' }, Export: { Name: 'demo-listener' } },
      ...(o.exportTargetGroup === false
        ? {}
        : { TargetGroupArn: { Value: { Ref: 'WebTargetGroup' }, Export: { Name: 'demo-target-group' } } }),
    },
  };
}

interface AppOptions {
  greeting?: string;
  desiredCount?: number;
  callerActions?: string[];
  rulePath?: string;
  image?: string;
}

function appTemplate(o: AppOptions = {}): Template {
  return {
    Resources: {
      TaskDefinition: {
        Type: 'AWS::ECS::TaskDefinition',
        Properties: {
          Family: 'demo-web',
          Cpu: '256',
          Memory: '512',
          NetworkMode: 'awsvpc',
          RequiresCompatibilities: ['FARGATE'],
          ContainerDefinitions: [
            {
              Name: 'web',
              Image: o.image ?? 'demo/web:v1',
              Essential: true,
              PortMappings: [{ ContainerPort: 8080 }],
              Environment: [{ Name: 'GREETING', Value: o.greeting ?? 'hello' }],
            },
          ],
        },
      },
      Service: {
        Type: 'AWS::ECS::Service',
        Properties: {
          ServiceName: 'demo-web',
          Cluster: { 'Fn::ImportValue': 'demo-cluster' },
          TaskDefinition: { Ref: 'TaskDefinition' },
          DesiredCount: o.desiredCount ?? 2,
          LaunchType: 'FARGATE',
          DeploymentConfiguration: {
            MinimumHealthyPercent: 100,
            MaximumPercent: 200,
            DeploymentCircuitBreaker: { Enable: true, Rollback: true },
          },
          NetworkConfiguration: { AwsvpcConfiguration: { Subnets: ['subnet-0a1b2c3d4e5f60718'] } },
          LoadBalancers: [
            {
              TargetGroupArn: { 'Fn::ImportValue': 'demo-target-group' },
              ContainerName: 'web',
              ContainerPort: 8080,
            },
          ],
        },
      },
      ApiRule: {
        Type: 'AWS::ElasticLoadBalancingV2::ListenerRule',
        Properties: {
          ListenerArn: { 'Fn::ImportValue': 'demo-listener' },
          Priority: 10,
          Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: [o.rulePath ?? '/api/*'] } }],
          Actions: [{ Type: 'forward', TargetGroupArn: { 'Fn::ImportValue': 'demo-target-group' } }],
        },
      },
      CallerRole: {
        Type: 'AWS::IAM::Role',
        Properties: {
          RoleName: 'demo-caller',
          AssumeRolePolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
                Action: 'sts:AssumeRole',
              },
            ],
          },
          Policies: [
            {
              PolicyName: 'read',
              PolicyDocument: {
                Version: '2012-10-17',
                Statement: [
                  { Effect: 'Allow', Action: o.callerActions ?? ['ecs:DescribeServices'], Resource: '*' },
                ],
              },
            },
          ],
        },
      },
    },
  };
}

/** The account before anything is deployed: no stacks, IAM enforced (the test's operator role only). */
function emptyAccount(): Scenario {
  return withOperator({
    name: 'empty-account',
    accountId: ACCOUNT,
    region: 'us-east-1',
    clusters: [],
    taskDefinitions: [],
    timing: TIMING,
    images: { '*:broken-*': { start: 'crash', exitCode: 1, reason: 'Essential container in task exited' } },
    iam: { roles: [], mode: 'enforce' },
    stacks: [],
  });
}

let sim: Sim;
let cfn: CloudFormationClient;
let ecs: ECSClient;
let elb: ElasticLoadBalancingV2Client;
let changeSetSeq = 0;

// The SDK's own waiters, polling every 50-200 ms of real time (the simulated clock runs faster).
const waitOptions = () => ({ client: cfn, maxWaitTime: 120, minDelay: 0.05, maxDelay: 0.2 });

async function createChangeSet(
  stack: string,
  template: Template,
  type: 'CREATE' | 'UPDATE',
  capabilities?: string[],
) {
  const name = `cs-${++changeSetSeq}`;
  const out = await cfn.send(
    new CreateChangeSetCommand({
      StackName: stack,
      ChangeSetName: name,
      ChangeSetType: type,
      TemplateBody: JSON.stringify(template),
      ...(capabilities ? { Capabilities: capabilities as never } : {}),
    }),
  );
  return { name, id: out.Id!, stackId: out.StackId! };
}

/** Creates, waits for, and executes a change set; resolves once the stack operation ends (any outcome). */
async function deploy(stack: string, template: Template, type: 'CREATE' | 'UPDATE') {
  const cs = await createChangeSet(stack, template, type, ['CAPABILITY_NAMED_IAM']);
  await waitUntilChangeSetCreateComplete(waitOptions(), { StackName: stack, ChangeSetName: cs.name });
  await cfn.send(new ExecuteChangeSetCommand({ StackName: stack, ChangeSetName: cs.name }));
  await until(async () => {
    const status = await stackStatus(stack);
    return status && !status.endsWith('_IN_PROGRESS') ? status : undefined;
  });
  return cs;
}

async function stackStatus(stack: string): Promise<string | undefined> {
  const out = await cfn.send(new DescribeStacksCommand({ StackName: stack }));
  return out.Stacks?.[0]?.StackStatus;
}

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function events(stack: string): Promise<StackEvent[]> {
  return (await cfn.send(new DescribeStackEventsCommand({ StackName: stack }))).StackEvents ?? [];
}

async function targetGroup() {
  const out = await elb.send(new DescribeTargetGroupsCommand({ Names: ['demo-web'] }));
  return out.TargetGroups![0];
}

beforeAll(async () => {
  sim = await startSim({ scenario: emptyAccount(), speed: SPEED, port: 0 });
  const config = clientConfig(sim);
  cfn = new CloudFormationClient(config);
  ecs = new ECSClient(config);
  elb = new ElasticLoadBalancingV2Client(config);
});

afterAll(async () => {
  cfn?.destroy();
  ecs?.destroy();
  elb?.destroy();
  await sim?.close();
});

describe('deploying to an empty account', () => {
  it('refuses a template with named IAM resources without CAPABILITY_NAMED_IAM, and creates no stack', async () => {
    const err = await createChangeSet('App', appTemplate(), 'CREATE').catch((e: Error) => e);
    expect(err).toMatchObject({
      name: 'InsufficientCapabilitiesException',
      message: 'Requires capabilities : [CAPABILITY_NAMED_IAM]',
    });
    const err2 = await createChangeSet('App', appTemplate(), 'CREATE', ['CAPABILITY_IAM']).catch(
      (e: Error) => e,
    );
    expect(err2).toMatchObject({ name: 'InsufficientCapabilitiesException' });
    const stacks = await cfn.send(new ListStacksCommand({}));
    expect(stacks.StackSummaries ?? []).toEqual([]);
  });

  it('a CREATE change set lists every resource as Add, and executing it creates the world (exports, imports, services)', async () => {
    const cs = await createChangeSet('Base', baseTemplate(), 'CREATE');
    expect(await stackStatus('Base')).toBe('REVIEW_IN_PROGRESS');
    await waitUntilChangeSetCreateComplete(waitOptions(), { StackName: 'Base', ChangeSetName: cs.name });
    const described = await cfn.send(
      new DescribeChangeSetCommand({ StackName: 'Base', ChangeSetName: cs.name }),
    );
    expect(described).toMatchObject({ Status: 'CREATE_COMPLETE', ExecutionStatus: 'AVAILABLE' });
    expect(
      described.Changes?.map((c) => [c.ResourceChange?.Action, c.ResourceChange?.LogicalResourceId]).sort(),
    ).toEqual([
      ['Add', 'Alb'],
      ['Add', 'Cluster'],
      ['Add', 'Listener'],
      ['Add', 'Topic'],
      ['Add', 'WebTargetGroup'],
    ]);
    await cfn.send(new ExecuteChangeSetCommand({ ChangeSetName: cs.id }));
    expect(await stackStatus('Base')).toBe('CREATE_IN_PROGRESS');
    await waitUntilStackCreateComplete(waitOptions(), { StackName: 'Base' });

    expect(await deploy('App', appTemplate(), 'CREATE')).toBeDefined();
    expect(await stackStatus('App')).toBe('CREATE_COMPLETE');

    const tg = await targetGroup();
    expect(tg).toMatchObject({
      HealthCheckIntervalSeconds: 10,
      HealthCheckPath: '/health',
      Matcher: { HttpCode: '200' },
    });
    const service = (await ecs.send(new DescribeServicesCommand({ cluster: 'demo', services: ['demo-web'] })))
      .services![0];
    expect(service).toMatchObject({ status: 'ACTIVE', desiredCount: 2, runningCount: 2 });
    expect(service.taskDefinition).toBe(`arn:aws:ecs:us-east-1:${ACCOUNT}:task-definition/demo-web:1`);
    const health = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: tg.TargetGroupArn }));
    expect(health.TargetHealthDescriptions?.map((t) => t.TargetHealth?.State)).toEqual([
      'healthy',
      'healthy',
    ]);

    const exports = (await cfn.send(new ListExportsCommand({}))).Exports ?? [];
    expect(exports.map((e) => e.Name).sort()).toEqual(['demo-cluster', 'demo-listener', 'demo-target-group']);
    expect(exports.find((e) => e.Name === 'demo-target-group')?.Value).toBe(tg.TargetGroupArn);
    expect((await cfn.send(new ListImportsCommand({ ExportName: 'demo-target-group' }))).Imports).toEqual([
      'App',
    ]);

    // Events newest first, as CloudFormation reports them; an unmodelled type says so.
    const baseEvents = await events('Base');
    expect(baseEvents[0]).toMatchObject({ LogicalResourceId: 'Base', ResourceStatus: 'CREATE_COMPLETE' });
    expect(baseEvents.at(-1)).toMatchObject({
      LogicalResourceId: 'Base',
      ResourceStatus: 'REVIEW_IN_PROGRESS',
    });
    const topic = baseEvents.find(
      (e) => e.LogicalResourceId === 'Topic' && e.ResourceStatus === 'CREATE_COMPLETE',
    );
    expect(topic?.ResourceStatusReason).toMatch(/^Not modelled by the simulator: AWS::SNS::Topic/);
    const resources =
      (await cfn.send(new DescribeStackResourcesCommand({ StackName: 'App' }))).StackResources ?? [];
    expect(resources.find((r) => r.LogicalResourceId === 'TaskDefinition')?.PhysicalResourceId).toBe(
      service.taskDefinition,
    );
  }, 120_000);
});

describe('parameters', () => {
  const logsTemplate = {
    Parameters: { Retention: { Type: 'Number' } },
    Resources: {
      Logs: {
        Type: 'AWS::Logs::LogGroup',
        Properties: { LogGroupName: '/demo/params', RetentionInDays: { Ref: 'Retention' } },
      },
    },
  };
  const create = (
    parameters: { ParameterKey: string; ParameterValue?: string; UsePreviousValue?: boolean }[],
    type: 'CREATE' | 'UPDATE',
    name: string,
  ) =>
    cfn.send(
      new CreateChangeSetCommand({
        StackName: 'Params',
        ChangeSetName: name,
        ChangeSetType: type,
        TemplateBody: JSON.stringify(logsTemplate),
        Parameters: parameters,
      }),
    );

  it('a parameter without a value or default is refused; a changed value modifies what refers to it, said as not modelled when the world does not apply it', async () => {
    const missing = await create([], 'CREATE', 'p0').catch((e: Error) => e);
    expect(missing).toMatchObject({
      name: 'ValidationError',
      message: 'Parameters: [Retention] must have values',
    });

    await create([{ ParameterKey: 'Retention', ParameterValue: '7' }], 'CREATE', 'p1');
    await waitUntilChangeSetCreateComplete(waitOptions(), { StackName: 'Params', ChangeSetName: 'p1' });
    await cfn.send(new ExecuteChangeSetCommand({ StackName: 'Params', ChangeSetName: 'p1' }));
    await waitUntilStackCreateComplete(waitOptions(), { StackName: 'Params' });
    const stack = (await cfn.send(new DescribeStacksCommand({ StackName: 'Params' }))).Stacks![0];
    expect(stack.Parameters).toEqual([{ ParameterKey: 'Retention', ParameterValue: '7' }]);
    expect(sim.world.logs.groups.has('/demo/params')).toBe(true);

    await create([{ ParameterKey: 'Retention', UsePreviousValue: true }], 'UPDATE', 'p2');
    const same = await waitUntilChangeSetCreateComplete(waitOptions(), {
      StackName: 'Params',
      ChangeSetName: 'p2',
    }).catch((e: Error) => e);
    expect(same).toBeInstanceOf(Error);

    await create([{ ParameterKey: 'Retention', ParameterValue: '14' }], 'UPDATE', 'p3');
    await waitUntilChangeSetCreateComplete(waitOptions(), { StackName: 'Params', ChangeSetName: 'p3' });
    const described = await cfn.send(
      new DescribeChangeSetCommand({ StackName: 'Params', ChangeSetName: 'p3' }),
    );
    expect(described.Changes?.[0]?.ResourceChange).toMatchObject({
      Action: 'Modify',
      LogicalResourceId: 'Logs',
      Replacement: 'False',
      Details: [
        {
          Target: { Attribute: 'Properties', Name: 'RetentionInDays', RequiresRecreation: 'Never' },
          Evaluation: 'Dynamic',
          ChangeSource: 'ParameterReference',
          CausingEntity: 'Retention',
        },
      ],
    });
    await cfn.send(new ExecuteChangeSetCommand({ StackName: 'Params', ChangeSetName: 'p3' }));
    await waitUntilStackUpdateComplete(waitOptions(), { StackName: 'Params' });
    // Executing a change set deletes the stack's others; the executed one is still described.
    const other = await cfn
      .send(new DescribeChangeSetCommand({ StackName: 'Params', ChangeSetName: 'p2' }))
      .catch((e: Error) => e);
    expect(other).toMatchObject({
      name: 'ChangeSetNotFoundException',
      message: 'ChangeSet [p2] does not exist',
    });
    const executed = await cfn.send(
      new DescribeChangeSetCommand({ StackName: 'Params', ChangeSetName: 'p3' }),
    );
    expect(executed.ExecutionStatus).toBe('EXECUTE_COMPLETE');
    const updated = (await events('Params')).find(
      (e) => e.LogicalResourceId === 'Logs' && e.ResourceStatus === 'UPDATE_COMPLETE',
    );
    expect(updated?.ResourceStatusReason).toMatch(/^Not modelled by the simulator: log group settings/);

    await cfn.send(new DeleteStackCommand({ StackName: 'Params' }));
    await waitUntilStackDeleteComplete(waitOptions(), { StackName: 'Params' });
    expect(sim.world.logs.groups.has('/demo/params')).toBe(false);
  }, 60_000);
});

describe('updates that fail change nothing', () => {
  it('a change set without changes is FAILED with CloudFormation reason, and cannot be executed', async () => {
    const cs = await createChangeSet('Base', baseTemplate(), 'UPDATE');
    const waited = await waitUntilChangeSetCreateComplete(waitOptions(), {
      StackName: 'Base',
      ChangeSetName: cs.name,
    }).catch((e: Error) => e);
    expect(waited).toBeInstanceOf(Error);
    const described = await cfn.send(
      new DescribeChangeSetCommand({ StackName: 'Base', ChangeSetName: cs.name }),
    );
    expect(described).toMatchObject({
      Status: 'FAILED',
      ExecutionStatus: 'UNAVAILABLE',
      StatusReason:
        "The submitted information didn't contain changes. Submit different information to create a change set.",
    });
    const err = await cfn
      .send(new ExecuteChangeSetCommand({ StackName: 'Base', ChangeSetName: cs.name }))
      .catch((e: Error) => e);
    expect(err).toMatchObject({ name: 'InvalidChangeSetStatusException' });
    expect(await stackStatus('Base')).toBe('CREATE_COMPLETE');
  }, 60_000);

  it('an export another stack imports cannot be removed: UPDATE_ROLLBACK_COMPLETE with the reason, exports unchanged', async () => {
    await deploy('Base', baseTemplate({ exportTargetGroup: false }), 'UPDATE');
    expect(await stackStatus('Base')).toBe('UPDATE_ROLLBACK_COMPLETE');
    const stackEvents = await events('Base');
    const rollback = stackEvents.find((e) => e.ResourceStatus === 'UPDATE_ROLLBACK_IN_PROGRESS');
    expect(rollback).toMatchObject({
      LogicalResourceId: 'Base',
      ResourceStatusReason: 'Export demo-target-group cannot be deleted as it is in use by App',
    });
    const exports = (await cfn.send(new ListExportsCommand({}))).Exports ?? [];
    expect(exports.map((e) => e.Name)).toContain('demo-target-group');
    const template = await cfn.send(new GetTemplateCommand({ StackName: 'Base' }));
    expect(JSON.parse(template.TemplateBody!).Outputs.TargetGroupArn).toBeDefined();
  }, 60_000);

  it('a resource ELB refuses rolls the stack back with ELB reason; the target group keeps its health check', async () => {
    await deploy('Base', baseTemplate({ interval: 5, timeout: 5 }), 'UPDATE');
    expect(await stackStatus('Base')).toBe('UPDATE_ROLLBACK_COMPLETE');
    const stackEvents = await events('Base');
    const failed = stackEvents.find((e) => e.ResourceStatus === 'UPDATE_FAILED');
    expect(failed?.LogicalResourceId).toBe('WebTargetGroup');
    expect(failed?.ResourceStatusReason).toContain('Health check interval must be greater than the timeout.');
    expect(failed?.ResourceStatusReason).toMatch(
      /^Resource handler returned message: .*Service: ElasticLoadBalancingV2, Status Code: 400/,
    );
    expect(
      stackEvents.find((e) => e.ResourceStatus === 'UPDATE_ROLLBACK_IN_PROGRESS')?.ResourceStatusReason,
    ).toBe('The following resource(s) failed to update: [WebTargetGroup].');
    expect(await targetGroup()).toMatchObject({
      HealthCheckIntervalSeconds: 10,
      HealthCheckTimeoutSeconds: 5,
    });
  }, 60_000);
});

describe('updates change the world', () => {
  it('a health-check change reaches DescribeTargetGroups and the health checks (a matcher the app does not answer turns targets unhealthy)', async () => {
    const cs = await createChangeSet(
      'Base',
      baseTemplate({ interval: 6, matcher: '201', delay: 12 }),
      'UPDATE',
    );
    await waitUntilChangeSetCreateComplete(waitOptions(), { StackName: 'Base', ChangeSetName: cs.name });
    const described = await cfn.send(
      new DescribeChangeSetCommand({ StackName: 'Base', ChangeSetName: cs.name }),
    );
    expect(described.Changes).toEqual([
      expect.objectContaining({
        ResourceChange: expect.objectContaining({
          Action: 'Modify',
          LogicalResourceId: 'WebTargetGroup',
          Replacement: 'False',
          Scope: ['Properties'],
        }),
      }),
    ]);
    const since = sim.events().at(-1)?.seq ?? 0;
    await cfn.send(new ExecuteChangeSetCommand({ StackName: 'Base', ChangeSetName: cs.name }));
    await waitUntilStackUpdateComplete(waitOptions(), { StackName: 'Base' });
    const tg = await targetGroup();
    expect(tg).toMatchObject({ HealthCheckIntervalSeconds: 6, Matcher: { HttpCode: '201' } });
    const attributes = await elb.send(
      new DescribeTargetGroupAttributesCommand({ TargetGroupArn: tg.TargetGroupArn }),
    );
    expect(attributes.Attributes?.find((a) => a.Key === 'deregistration_delay.timeout_seconds')?.Value).toBe(
      '12',
    );
    // ECS replaces an unhealthy task at once (no grace period): the event log holds what the checks found.
    const unhealthy = await until(async () =>
      sim.events(since).find((e) => e.kind === 'target.health' && e.detail.state === 'unhealthy'),
    );
    expect(unhealthy.detail).toMatchObject({
      targetGroup: 'demo-web',
      reason: 'Target.ResponseCodeMismatch',
    });
    const health = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: tg.TargetGroupArn }));
    expect(health.TargetHealthDescriptions?.some((t) => t.TargetHealth?.State === 'healthy')).toBe(false);
    // Back to a matcher the app answers before the next tests (ECS replaces the unhealthy tasks).
    await deploy('Base', baseTemplate(), 'UPDATE');
    expect(await stackStatus('Base')).toBe('UPDATE_COMPLETE');
  }, 120_000);

  it('a new environment variable registers a revision and starts an ECS deployment; the stack completes once the service is steady', async () => {
    const cs = await createChangeSet(
      'App',
      appTemplate({ greeting: 'bonjour', rulePath: '/v2/*' }),
      'UPDATE',
      ['CAPABILITY_NAMED_IAM'],
    );
    await waitUntilChangeSetCreateComplete(waitOptions(), { StackName: 'App', ChangeSetName: cs.name });
    const described = await cfn.send(
      new DescribeChangeSetCommand({ StackName: 'App', ChangeSetName: cs.name }),
    );
    const change = (id: string) =>
      described.Changes?.find((c) => c.ResourceChange?.LogicalResourceId === id)?.ResourceChange;
    expect(change('TaskDefinition')).toMatchObject({ Action: 'Modify', Replacement: 'True' });
    expect(change('Service')).toMatchObject({
      Action: 'Modify',
      Replacement: 'False',
      Details: [
        expect.objectContaining({
          Evaluation: 'Dynamic',
          ChangeSource: 'ResourceReference',
          CausingEntity: 'TaskDefinition',
        }),
      ],
    });
    expect(change('ApiRule')).toMatchObject({ Action: 'Modify', Replacement: 'False' });
    await cfn.send(new ExecuteChangeSetCommand({ StackName: 'App', ChangeSetName: cs.name }));
    const deploying = await until(async () => {
      const s = (await ecs.send(new DescribeServicesCommand({ cluster: 'demo', services: ['demo-web'] })))
        .services![0];
      return s.deployments!.length > 1 ? s : undefined;
    });
    expect(deploying.taskDefinition).toMatch(/task-definition\/demo-web:2$/);
    expect(deploying.deployments?.find((d) => d.status === 'PRIMARY')?.taskDefinition).toMatch(/demo-web:2$/);
    await waitUntilStackUpdateComplete(waitOptions(), { StackName: 'App' });
    const steady = (await ecs.send(new DescribeServicesCommand({ cluster: 'demo', services: ['demo-web'] })))
      .services![0];
    expect(steady.deployments).toHaveLength(1);
    expect(steady.deployments?.[0]).toMatchObject({ rolloutState: 'COMPLETED', runningCount: 2 });
    const td = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'demo-web:2' }));
    expect(td.taskDefinition?.containerDefinitions?.[0]?.environment).toEqual([
      { name: 'GREETING', value: 'bonjour' },
    ]);
    const old = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'demo-web:1' }));
    expect(old.taskDefinition?.status).toBe('INACTIVE');
    const rule = await elb.send(
      new DescribeRulesCommand({
        ListenerArn: (await cfn.send(new ListExportsCommand({}))).Exports!.find(
          (e) => e.Name === 'demo-listener',
        )!.Value,
      }),
    );
    expect(rule.Rules?.find((r) => r.Priority === '10')?.Conditions?.[0]?.PathPatternConfig?.Values).toEqual([
      '/v2/*',
    ]);
    const resources =
      (await cfn.send(new DescribeStackResourcesCommand({ StackName: 'App' }))).StackResources ?? [];
    expect(resources.find((r) => r.LogicalResourceId === 'TaskDefinition')?.PhysicalResourceId).toMatch(
      /demo-web:2$/,
    );
  }, 120_000);

  it('tasks that crash trip the circuit breaker: the service resource fails with CloudFormation reason, the stack rolls back, the service stays on its revision', async () => {
    await deploy(
      'App',
      appTemplate({ greeting: 'bonjour', rulePath: '/v2/*', image: 'demo/web:broken-1' }),
      'UPDATE',
    );
    expect(await stackStatus('App')).toBe('UPDATE_ROLLBACK_COMPLETE');
    const stackEvents = await events('App');
    const failed = stackEvents.find((e) => e.ResourceStatus === 'UPDATE_FAILED');
    expect(failed).toMatchObject({
      LogicalResourceId: 'Service',
      ResourceStatusReason: expect.stringMatching(
        /^Resource handler returned message: "Error occurred during operation 'ECS Deployment Circuit Breaker was triggered'\."/,
      ),
    });
    expect(
      stackEvents.find((e) => e.ResourceStatus === 'UPDATE_ROLLBACK_IN_PROGRESS')?.ResourceStatusReason,
    ).toBe('The following resource(s) failed to update: [Service].');
    const service = (await ecs.send(new DescribeServicesCommand({ cluster: 'demo', services: ['demo-web'] })))
      .services![0];
    expect(service.taskDefinition).toMatch(/task-definition\/demo-web:2$/);
    const broken = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'demo-web:3' }));
    expect(broken.taskDefinition?.containerDefinitions?.[0]?.image).toBe('demo/web:broken-1');
    expect(broken.taskDefinition?.status).toBe('INACTIVE');
    const template = JSON.parse((await cfn.send(new GetTemplateCommand({ StackName: 'App' }))).TemplateBody!);
    expect(template.Resources.TaskDefinition.Properties.ContainerDefinitions[0].Image).toBe('demo/web:v1');
    const resources =
      (await cfn.send(new DescribeStackResourcesCommand({ StackName: 'App' }))).StackResources ?? [];
    expect(resources.find((r) => r.LogicalResourceId === 'TaskDefinition')?.PhysicalResourceId).toMatch(
      /demo-web:2$/,
    );
  }, 120_000);

  it('removing an IAM statement makes the next call AccessDenied', async () => {
    const caller = sim.session('demo-caller');
    const asCaller = new ECSClient({ ...clientConfig(sim), credentials: caller });
    try {
      await asCaller.send(new DescribeServicesCommand({ cluster: 'demo', services: ['demo-web'] }));
      await deploy(
        'App',
        appTemplate({ greeting: 'bonjour', rulePath: '/v2/*', callerActions: ['ecs:ListServices'] }),
        'UPDATE',
      );
      expect(await stackStatus('App')).toBe('UPDATE_COMPLETE');
      const err = await asCaller
        .send(new DescribeServicesCommand({ cluster: 'demo', services: ['demo-web'] }))
        .catch((e: Error) => e);
      expect(err).toMatchObject({ name: 'AccessDeniedException' });
      expect((err as Error).message).toContain('assumed-role/demo-caller/');
    } finally {
      asCaller.destroy();
    }
  }, 120_000);

  it('a stack whose export is imported cannot be deleted (DELETE_FAILED, nothing deleted, no more updates); once its importer is gone it can', async () => {
    await cfn.send(new DeleteStackCommand({ StackName: 'Base' }));
    const status = await until(async () => {
      const s = await stackStatus('Base');
      return s === 'DELETE_FAILED' ? s : undefined;
    });
    expect(status).toBe('DELETE_FAILED');
    const out = await cfn.send(new DescribeStacksCommand({ StackName: 'Base' }));
    expect(out.Stacks?.[0]?.StackStatusReason).toMatch(
      /^Export demo-(cluster|listener|target-group) cannot be deleted as it is in use by App$/,
    );
    expect(await targetGroup()).toBeDefined();
    const update = await createChangeSet('Base', baseTemplate({ interval: 20 }), 'UPDATE').catch(
      (e: Error) => e,
    );
    expect(update).toMatchObject({
      name: 'ValidationError',
      message: expect.stringMatching(/is in DELETE_FAILED state and can not be updated\.$/),
    });

    await cfn.send(new DeleteStackCommand({ StackName: 'App' }));
    await waitUntilStackDeleteComplete(waitOptions(), { StackName: 'App' });
    const service = (await ecs.send(new DescribeServicesCommand({ cluster: 'demo', services: ['demo-web'] })))
      .services![0];
    expect(['DRAINING', 'INACTIVE']).toContain(service.status);
    const err = await cfn.send(new DescribeStacksCommand({ StackName: 'App' })).catch((e: Error) => e);
    expect(err).toMatchObject({ name: 'ValidationError', message: 'Stack with id App does not exist' });
    expect((await cfn.send(new ListExportsCommand({}))).Exports?.length).toBe(3);
    const imports = await cfn
      .send(new ListImportsCommand({ ExportName: 'demo-target-group' }))
      .catch((e: Error) => e);
    expect(imports).toMatchObject({ message: "Export 'demo-target-group' is not imported by any stack." });

    await cfn.send(new DeleteStackCommand({ StackName: 'Base' }));
    await waitUntilStackDeleteComplete(waitOptions(), { StackName: 'Base' });
    expect((await cfn.send(new ListExportsCommand({}))).Exports ?? []).toEqual([]);
    const listed =
      (await cfn.send(new ListStacksCommand({ StackStatusFilter: ['DELETE_COMPLETE'] }))).StackSummaries ??
      [];
    expect(listed.map((s) => s.StackName).sort()).toEqual(['App', 'Base', 'Params']);
  }, 120_000);
});

/** What a world holds, independent of how it came to be (ids, settings, roles), for comparing two worlds. */
function worldShape(s: Sim): Record<string, unknown> {
  const w = s.world;
  const iam = w.gates.find((g): g is IamAuthorizer => g instanceof IamAuthorizer)?.account.spec;
  return {
    targetGroups: [...w.elb.targetGroups.values()]
      .map((tg) => ({
        arn: tg.arn,
        name: tg.name,
        port: tg.port,
        healthCheck: tg.healthCheck,
        delay: tg.deregistrationDelaySeconds,
        lbs: tg.loadBalancerArns,
      }))
      .sort((a, b) => a.arn.localeCompare(b.arn)),
    loadBalancers: [...w.elb.loadBalancers.values()].map((lb) => ({
      arn: lb.arn,
      name: lb.name,
      listeners: lb.listeners.map((l) => ({
        arn: l.arn,
        port: l.port,
        defaultAction: l.defaultAction,
        rules: l.rules,
      })),
    })),
    taskDefinitions: [...w.ecs.taskDefinitions.values()].flat().map((td) => ({
      arn: td.arn,
      status: td.status,
      containers: td.body.containerDefinitions,
    })),
    services: [...w.ecs.clusters.values()].flatMap((c) =>
      [...c.services.values()].map((svc) => ({
        cluster: c.name,
        name: svc.name,
        status: svc.status,
        taskDefinition: svc.taskDefinitionArn,
        desiredCount: svc.desiredCount,
        loadBalancers: svc.loadBalancers,
        running: [...c.tasks.values()].filter((t) => t.service === svc && t.lastStatus === 'RUNNING').length,
      })),
    ),
    roles: (iam?.roles ?? [])
      .filter((r) => r.name !== 'sim-test-operator')
      .map((r) => ({ arn: r.arn, trust: r.trust, policies: r.policies })),
  };
}

describe('"deploy this assembly to an empty account"', () => {
  it('CREATE change sets in dependency order give the world the loader gives directly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfn-assembly-'));
    let loaded: Sim | undefined;
    let empty: Sim | undefined;
    let client: CloudFormationClient | undefined;
    try {
      writeFileSync(join(dir, 'Base.template.json'), JSON.stringify(baseTemplate()));
      writeFileSync(join(dir, 'App.template.json'), JSON.stringify(appTemplate()));
      const env = `aws://${ACCOUNT}/us-east-1`;
      writeFileSync(
        join(dir, 'manifest.json'),
        JSON.stringify({
          version: '36.0.0',
          artifacts: {
            Base: {
              type: 'aws:cloudformation:stack',
              environment: env,
              properties: { templateFile: 'Base.template.json' },
            },
            App: {
              type: 'aws:cloudformation:stack',
              environment: env,
              properties: { templateFile: 'App.template.json' },
              dependencies: ['Base'],
            },
          },
        }),
      );
      const direct = loadAssembly({
        assembly: dir,
        overlay: { timing: TIMING, iam: { mode: 'enforce' } },
      }).scenario;
      loaded = await startSim({ scenario: withOperator(direct), speed: SPEED, port: 0 });
      empty = await startSim({ scenario: emptyAccount(), speed: SPEED, port: 0 });
      client = new CloudFormationClient(clientConfig(empty));
      for (const [stack, template] of [
        ['Base', baseTemplate()],
        ['App', appTemplate()],
      ] as const) {
        await client.send(
          new CreateChangeSetCommand({
            StackName: stack,
            ChangeSetName: 'initial',
            ChangeSetType: 'CREATE',
            TemplateBody: JSON.stringify(template),
            Capabilities: ['CAPABILITY_NAMED_IAM'],
          }),
        );
        await waitUntilChangeSetCreateComplete(
          { client, maxWaitTime: 60, minDelay: 0.05, maxDelay: 0.2 },
          { StackName: stack, ChangeSetName: 'initial' },
        );
        await client.send(new ExecuteChangeSetCommand({ StackName: stack, ChangeSetName: 'initial' }));
        await waitUntilStackCreateComplete(
          { client, maxWaitTime: 60, minDelay: 0.05, maxDelay: 0.2 },
          { StackName: stack },
        );
      }
      const deployed = worldShape(empty);
      expect((deployed.services as unknown[]).length).toBe(1);
      expect(deployed).toEqual(worldShape(loaded));
      // And the deployed templates are what GetTemplate serves, in both worlds.
      const loadedClient = new CloudFormationClient(clientConfig(loaded));
      try {
        const a = await client.send(new GetTemplateCommand({ StackName: 'App' }));
        const b = await loadedClient.send(new GetTemplateCommand({ StackName: 'App' }));
        expect(a.TemplateBody).toBe(b.TemplateBody);
        const outputs = async (c: CloudFormationClient) =>
          (await c.send(new DescribeStacksCommand({ StackName: 'Base' }))).Stacks![0].Outputs;
        expect(await outputs(client)).toEqual(await outputs(loadedClient));
      } finally {
        loadedClient.destroy();
      }
    } finally {
      client?.destroy();
      await empty?.close();
      await loaded?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
