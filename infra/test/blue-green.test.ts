import { beforeAll, describe, expect, it } from '@jest/globals';
import { App, Validations } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import {
  alternateTargetGroupName,
  environment,
  names,
  resolveDeployments,
  services,
} from '../lib/config/services.js';
import { buildStaging } from '../lib/staging.js';
import { committedContext, type SynthesizedStaging, synthStaging } from './synth.js';

// A template's properties are untyped JSON; the assertions below check their shapes.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Resource = { Type: string; Properties: Record<string, any> };
const resources = (staging: SynthesizedStaging, key: keyof SynthesizedStaging['templates'], type: string) =>
  Object.entries(staging.templates[key].findResources(type) as Record<string, Resource>);

/** The statements of the deploy role's policy. */
function deployStatements(
  staging: SynthesizedStaging,
): { Sid?: string; Action: unknown; Resource: unknown }[] {
  const policy = resources(staging, 'ciIdentity', 'AWS::IAM::Policy').find(
    ([, p]) => p.Properties.PolicyName === `${environment.prefix}-github-deploy`,
  );
  return policy![1].Properties.PolicyDocument.Statement;
}

describe('deployment strategies in config/services.ts', () => {
  it('keeps every service rolling by default (the seed)', () => {
    expect(Object.values(resolveDeployments(undefined)).map((d) => d.strategy)).toEqual([
      'rolling',
      'rolling',
      'rolling',
      'rolling',
    ]);
  });

  it('takes the context override per service and for all (*)', () => {
    const chosen = resolveDeployments('*=blue-green, auth=canary');
    expect(Object.fromEntries(Object.entries(chosen).map(([n, d]) => [n, d.strategy]))).toEqual({
      web: 'blue-green',
      api: 'blue-green',
      auth: 'canary',
      admin: 'blue-green',
    });
    expect(resolveDeployments({ api: 'linear' })['api']).toEqual({ strategy: 'linear' });
  });

  it('refuses an unknown service or strategy instead of ignoring it', () => {
    expect(() => resolveDeployments('payments=blue-green')).toThrow(/"payments", which is no service/);
    expect(() => resolveDeployments('api=bluegreen')).toThrow(/"bluegreen" for api is no strategy/);
    expect(() => resolveDeployments('api')).toThrow(/is not service=strategy/);
  });
});

describe('the seed (all rolling)', () => {
  let staging: SynthesizedStaging;
  beforeAll(() => {
    staging = synthStaging();
  });

  it('has no alternate target group, test listener, gate or strategy', () => {
    expect(resources(staging, 'alb', 'AWS::ElasticLoadBalancingV2::TargetGroup')).toHaveLength(4);
    expect(
      resources(staging, 'alb', 'AWS::ElasticLoadBalancingV2::Listener').map(([, l]) => l.Properties.Port),
    ).toEqual([80]);
    expect(resources(staging, 'ecs', 'AWS::Lambda::Function')).toHaveLength(0);
    expect(resources(staging, 'ecs', 'AWS::SSM::Parameter')).toHaveLength(0);
    for (const [, service] of resources(staging, 'ecs', 'AWS::ECS::Service')) {
      expect(service.Properties.DeploymentConfiguration.Strategy).toBeUndefined();
      expect(service.Properties.LoadBalancers[0].AdvancedConfiguration).toBeUndefined();
    }
    expect(deployStatements(staging).map((s) => s.Sid)).not.toContain('ReleaseGate');
    expect(Object.keys(staging.templates.alb.findOutputs('TestListenerPort'))).toEqual([]);
  });
});

describe('every service blue/green (context deployments=*=blue-green)', () => {
  let staging: SynthesizedStaging;
  beforeAll(() => {
    staging = synthStaging({ deployments: '*=blue-green' });
  });

  const logicalId = (
    staging: SynthesizedStaging,
    key: keyof SynthesizedStaging['templates'],
    type: string,
    match: (r: Resource) => boolean,
  ) => {
    const found = resources(staging, key, type).filter(([, r]) => match(r));
    expect(found).toHaveLength(1);
    return found[0]![0];
  };

  it('gives each service an alternate target group shaped like its own', () => {
    for (const service of services) {
      const [primary, alternate] = [names.targetGroup(service), alternateTargetGroupName(service)].map(
        (name) =>
          resources(staging, 'alb', 'AWS::ElasticLoadBalancingV2::TargetGroup').find(
            ([, tg]) => tg.Properties.Name === name,
          )![1],
      );
      expect(alternate!.Properties.Name.length).toBeLessThanOrEqual(32);
      const { Name: _a, ...alternateRest } = alternate!.Properties;
      const { Name: _p, ...primaryRest } = primary!.Properties;
      expect(alternateRest).toEqual(primaryRest);
    }
  });

  it('forwards each production rule to both groups (100/0), with a catch-all rule for the default service', () => {
    const http = logicalId(
      staging,
      'alb',
      'AWS::ElasticLoadBalancingV2::Listener',
      (l) => l.Properties.Port === 80,
    );
    const rules = resources(staging, 'alb', 'AWS::ElasticLoadBalancingV2::ListenerRule').filter(
      ([, r]) => r.Properties.ListenerArn.Ref === http,
    );
    expect(rules.map(([, r]) => r.Properties.Priority).sort((a, b) => a - b)).toEqual([10, 20, 30, 50000]);
    for (const [, rule] of rules) {
      const groups = rule.Properties.Actions[0].ForwardConfig.TargetGroups;
      expect(groups.map((g: { Weight: number }) => g.Weight)).toEqual([100, 0]);
    }
    const catchAll = rules.find(([, r]) => r.Properties.Priority === 50000)![1];
    expect(catchAll.Properties.Conditions).toEqual([
      { Field: 'path-pattern', PathPatternConfig: { Values: ['/*'] } },
    ]);
  });

  it('adds an HTTP test listener with the same rules, open to the VPC only', () => {
    const port = environment.releaseGate.testListenerPort;
    const test = logicalId(
      staging,
      'alb',
      'AWS::ElasticLoadBalancingV2::Listener',
      (l) => l.Properties.Port === port,
    );
    staging.templates.alb.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: port,
      Protocol: 'HTTP',
      DefaultActions: [Match.objectLike({ Type: 'fixed-response' })],
    });
    const rules = resources(staging, 'alb', 'AWS::ElasticLoadBalancingV2::ListenerRule').filter(
      ([, r]) => r.Properties.ListenerArn.Ref === test,
    );
    expect(rules).toHaveLength(4);
    const ingress = resources(staging, 'alb', 'AWS::EC2::SecurityGroupIngress');
    expect(ingress).toHaveLength(1);
    expect(ingress[0]![1].Properties).toMatchObject({ FromPort: port, ToPort: port, IpProtocol: 'tcp' });
    expect(JSON.stringify(ingress[0]![1].Properties.CidrIp)).toMatch(/CidrBlock/);
  });

  it('configures every service BLUE_GREEN with its alternate group, both rules, bake time and the gate hook', () => {
    const ecsServices = resources(staging, 'ecs', 'AWS::ECS::Service');
    expect(ecsServices).toHaveLength(4);
    const hookFunction = logicalId(staging, 'ecs', 'AWS::Lambda::Function', () => true);
    for (const [, service] of ecsServices) {
      const deployment = service.Properties.DeploymentConfiguration;
      expect(deployment).toMatchObject({
        Strategy: 'BLUE_GREEN',
        BakeTimeInMinutes: 5,
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
      });
      expect(deployment.LifecycleHooks).toEqual([
        {
          HookTargetArn: { 'Fn::GetAtt': [hookFunction, 'Arn'] },
          LifecycleStages: ['POST_TEST_TRAFFIC_SHIFT'],
          RoleArn: { 'Fn::GetAtt': [expect.stringMatching(/^ReleaseGateInvokeRole/), 'Arn'] },
        },
      ]);
      const advanced = service.Properties.LoadBalancers[0].AdvancedConfiguration;
      expect(Object.keys(advanced).sort()).toEqual([
        'AlternateTargetGroupArn',
        'ProductionListenerRule',
        'RoleArn',
        'TestListenerRule',
      ]);
      expect(JSON.stringify(advanced.AlternateTargetGroupArn)).toMatch(/AlternateTargetGroup/);
      expect(JSON.stringify(advanced.ProductionListenerRule)).toMatch(/AlbHttp\w+Rule/);
      expect(JSON.stringify(advanced.TestListenerRule)).toMatch(/AlbTest\w+Rule/);
    }
  });

  it('gives the infrastructure role the managed load-balancer policy, assumable by ECS only', () => {
    const role = resources(staging, 'ecs', 'AWS::IAM::Role').find(([id]) =>
      id.startsWith('LoadBalancerInfrastructureRole'),
    )![1];
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      expect.objectContaining({ Principal: { Service: 'ecs.amazonaws.com' }, Action: 'sts:AssumeRole' }),
    ]);
    expect(JSON.stringify(role.Properties.ManagedPolicyArns)).toMatch(
      /AmazonECSInfrastructureRolePolicyForLoadBalancers/,
    );
  });

  it('lets the hook read the gate parameter only, and ECS invoke the hook only', () => {
    const parameter = logicalId(staging, 'ecs', 'AWS::SSM::Parameter', () => true);
    staging.templates.ecs.hasResourceProperties('AWS::SSM::Parameter', {
      Name: environment.releaseGate.parameterName,
      Type: 'String',
      Value: Match.serializedJson(Match.objectLike({ state: 'closed' })),
    });
    const fn = resources(staging, 'ecs', 'AWS::Lambda::Function')[0]![1];
    expect(fn.Properties).toMatchObject({
      FunctionName: environment.releaseGate.functionName,
      Handler: 'index.handler',
      Runtime: 'nodejs24.x',
      Environment: {
        Variables: {
          GATE_PARAMETER: environment.releaseGate.parameterName,
          CALLBACK_DELAY_SECONDS: String(environment.releaseGate.callBackDelaySeconds),
        },
      },
    });
    const roles = Object.fromEntries(resources(staging, 'ecs', 'AWS::IAM::Role'));
    const functionRole = roles[fn.Properties.Role['Fn::GetAtt'][0]]!;
    const statements = functionRole.Properties.Policies.flatMap(
      (p: { PolicyDocument: { Statement: unknown[] } }) => p.PolicyDocument.Statement,
    );
    expect(statements).toEqual([
      expect.objectContaining({ Sid: 'ReadGate', Action: 'ssm:GetParameter', Effect: 'Allow' }),
      expect.objectContaining({ Sid: 'OwnLogs', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'] }),
    ]);
    expect(JSON.stringify(statements[0].Resource)).toContain(parameter);
    expect(functionRole.Properties.ManagedPolicyArns).toBeUndefined();
    const invokeRole = Object.entries(roles).find(([id]) => id.startsWith('ReleaseGateInvokeRole'))![1];
    expect(invokeRole.Properties.AssumeRolePolicyDocument.Statement[0].Principal).toEqual({
      Service: 'ecs.amazonaws.com',
    });
    expect(invokeRole.Properties.Policies[0].PolicyDocument.Statement).toEqual([
      {
        Sid: 'InvokeGate',
        Effect: 'Allow',
        Action: 'lambda:InvokeFunction',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^ReleaseGateFunction/), 'Arn'] },
      },
    ]);
  });

  it('lets the deploy role read and write the gate parameter and nothing else of SSM', () => {
    const gate = deployStatements(staging).filter((s) => JSON.stringify(s.Action).includes('ssm:'));
    expect(gate).toEqual([
      {
        Sid: 'ReleaseGate',
        Effect: 'Allow',
        Action: ['ssm:GetParameter', 'ssm:PutParameter'],
        Resource: `arn:aws:ssm:${environment.region}:${environment.account}:parameter${environment.releaseGate.parameterName}`,
      },
    ]);
  });

  it("watches both target groups in each service's target alarms, so a swap raises none", () => {
    const alarms = Object.fromEntries(
      resources(staging, 'monitoring', 'AWS::CloudWatch::Alarm').map(([, a]) => [
        a.Properties.AlarmName,
        a.Properties,
      ]),
    );
    for (const service of services) {
      const healthy = alarms[`${environment.prefix}-${service.name}-no-healthy-target`]!;
      const unhealthy = alarms[`${environment.prefix}-${service.name}-unhealthy-hosts`]!;
      expect(healthy.Metrics[0]).toMatchObject({ Expression: 'FILL(a, 0) + FILL(b, 0)' });
      expect(unhealthy.Metrics[0]).toMatchObject({ Expression: 'MAX([FILL(a, 0), FILL(b, 0)])' });
      for (const alarm of [healthy, unhealthy]) {
        const groups = alarm.Metrics.slice(1).map(
          (m: { MetricStat: { Metric: { Dimensions: { Name: string; Value: unknown }[] } } }) =>
            JSON.stringify(m.MetricStat.Metric.Dimensions.find((d) => d.Name === 'TargetGroup')!.Value),
        );
        expect(groups).toHaveLength(2);
        expect(groups[0]).toMatch(new RegExp(`${service.name}TargetGroup`));
        expect(groups[1]).toMatch(new RegExp(`${service.name}AlternateTargetGroup`));
      }
    }
  });

  it('tells the pipeline the test listener port and the gate parameter (stack outputs)', () => {
    staging.templates.alb.hasOutput('TestListenerPort', {
      Value: String(environment.releaseGate.testListenerPort),
    });
    staging.templates.ecs.hasOutput('ReleaseGateParameterName', { Value: Match.anyValue() });
  });

  it('passes cdk-nag AwsSolutions', () => {
    const app = new App({ context: { ...committedContext(), deployments: '*=blue-green' } });
    buildStaging(app);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  });
});

describe('linear and canary', () => {
  it('sets the strategy per service and leaves the others rolling', () => {
    const staging = synthStaging({ deployments: 'api=linear,auth=canary' });
    const strategies = Object.fromEntries(
      resources(staging, 'ecs', 'AWS::ECS::Service').map(([, s]) => [
        s.Properties.ServiceName,
        s.Properties.DeploymentConfiguration.Strategy ?? 'ROLLING',
      ]),
    );
    expect(strategies).toEqual({
      'alva-web': 'ROLLING',
      'alva-api': 'LINEAR',
      'alva-auth': 'CANARY',
      'alva-admin': 'ROLLING',
    });
    expect(resources(staging, 'alb', 'AWS::ElasticLoadBalancingV2::TargetGroup')).toHaveLength(6);
  });

  it('takes the steps and bake times a context object gives, and refuses settings a strategy does not take', () => {
    const staging = synthStaging({
      deployments: {
        api: { strategy: 'linear', stepPercent: 20, stepBakeTimeMinutes: 2, bakeTimeMinutes: 1 },
        auth: { strategy: 'canary', canaryPercent: 10, canaryBakeTimeMinutes: 3 },
      },
    });
    const byName = Object.fromEntries(
      resources(staging, 'ecs', 'AWS::ECS::Service').map(([, s]) => [
        s.Properties.ServiceName,
        s.Properties.DeploymentConfiguration,
      ]),
    );
    expect(byName['alva-api']).toMatchObject({
      Strategy: 'LINEAR',
      BakeTimeInMinutes: 1,
      LinearConfiguration: { StepPercent: 20, StepBakeTimeInMinutes: 2 },
    });
    expect(byName['alva-auth']).toMatchObject({
      Strategy: 'CANARY',
      BakeTimeInMinutes: 5,
      CanaryConfiguration: { CanaryPercent: 10, CanaryBakeTimeInMinutes: 3 },
    });
    expect(() => resolveDeployments({ api: { strategy: 'linear', canaryPercent: 5 } })).toThrow(
      /linear of api takes no "canaryPercent"/,
    );
    expect(() => resolveDeployments({ api: { strategy: 'linear', stepPercent: 1 } })).toThrow(
      /stepPercent of api must be a number from 3 to 100/,
    );
  });

  it('refuses a traffic-shifting service with a domain (ECS moves one production rule)', () => {
    expect(() => synthStaging({ deployments: 'api=blue-green', domain: 'alva.app' })).toThrow(
      /not offered with a domain yet/,
    );
  });
});
