/**
 * The lean profile (`-c profile=lean`): Fargate Spot, ARM64, no NAT gateway,
 * the smallest Graviton database and cache, Container Insights off, shorter
 * log retention; both profiles pass cdk-nag; an unknown profile fails
 * synthesis. The standard profile's synthesis is unchanged (checked against
 * the committed world by `npm run world -- --check` and test/sim/assembly-world.test.ts).
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { App, Validations } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildStaging } from '../lib/staging.js';
import { committedContext, synthStaging, type SynthesizedStaging } from './synth.js';

type Resources = Record<string, { Properties: Record<string, unknown> }>;
const resources = (template: Template, type: string): Resources => template.findResources(type) as Resources;

let lean: SynthesizedStaging;
let standard: SynthesizedStaging;
beforeAll(() => {
  lean = synthStaging({ profile: 'lean' });
  standard = synthStaging();
}, 120_000);

describe('context "profile"', () => {
  it('an unknown profile fails synthesis naming the key and the allowed values', () => {
    const app = new App({ context: { ...committedContext(), profile: 'cheap' } });
    expect(() => buildStaging(app)).toThrow(
      'Context "profile" must be one of "standard", "lean", got "cheap"',
    );
  });

  it('absent means standard: the same templates as -c profile=standard', () => {
    const explicit = synthStaging({ profile: 'standard' });
    for (const key of Object.keys(standard.templates) as (keyof SynthesizedStaging['templates'])[]) {
      expect(explicit.templates[key].toJSON()).toEqual(standard.templates[key].toJSON());
    }
  });
});

describe('the lean profile', () => {
  it('runs every service on FARGATE_SPOT, without a launch type, in public subnets with a public IP', () => {
    const services = Object.values(resources(lean.templates.ecs, 'AWS::ECS::Service'));
    expect(services).toHaveLength(4);
    const network = lean.templates.network.toJSON() as { Resources: Record<string, { Type: string }> };
    for (const { Properties: service } of services) {
      expect(service.CapacityProviderStrategy).toEqual([{ CapacityProvider: 'FARGATE_SPOT', Weight: 1 }]);
      expect(service.LaunchType).toBeUndefined();
      const vpc = (service.NetworkConfiguration as { AwsvpcConfiguration: Record<string, unknown> })
        .AwsvpcConfiguration;
      expect(vpc.AssignPublicIp).toBe('ENABLED');
      expect(JSON.stringify(vpc.Subnets)).toMatch(/publicSubnet1.*publicSubnet2/);
    }
    expect(Object.keys(network.Resources).some((id) => /publicSubnet1Subnet/.test(id))).toBe(true);
  });

  it('keeps the migration task (RunTask through the cluster default) on on-demand FARGATE', () => {
    lean.templates.ecs.hasResourceProperties('AWS::ECS::ClusterCapacityProviderAssociations', {
      DefaultCapacityProviderStrategy: [{ CapacityProvider: 'FARGATE', Weight: 1 }],
    });
  });

  it('tasks stay reachable only from the ALB and each other: no ingress from an address range', () => {
    const ingress = Object.values(resources(lean.templates.network, 'AWS::EC2::SecurityGroupIngress'));
    const toTasks = ingress.filter((rule) =>
      JSON.stringify(rule.Properties.GroupId).includes('EcsSecurityGroup'),
    );
    expect(toTasks.length).toBeGreaterThan(0);
    for (const rule of toTasks) {
      expect(rule.Properties.CidrIp).toBeUndefined();
      expect(JSON.stringify(rule.Properties.SourceSecurityGroupId)).toMatch(
        /AlbSecurityGroup|EcsSecurityGroup/,
      );
    }
  });

  it('declares ARM64 for the four services and the migration task', () => {
    const definitions = Object.values(resources(lean.templates.ecs, 'AWS::ECS::TaskDefinition'));
    expect(definitions).toHaveLength(5);
    for (const { Properties: definition } of definitions) {
      expect(definition.RuntimePlatform).toEqual({
        CpuArchitecture: 'ARM64',
        OperatingSystemFamily: 'LINUX',
      });
    }
  });

  it('has no NAT gateway, no Elastic IP and no private subnet with a default route', () => {
    lean.templates.network.resourceCountIs('AWS::EC2::NatGateway', 0);
    lean.templates.network.resourceCountIs('AWS::EC2::EIP', 0);
    // The only default route is the public subnets' route to the internet gateway.
    for (const { Properties: route } of Object.values(resources(lean.templates.network, 'AWS::EC2::Route'))) {
      expect(route.GatewayId).toBeDefined();
      expect(route.NatGatewayId).toBeUndefined();
    }
  });

  it('puts the database and cache in isolated subnets on the smallest Graviton classes', () => {
    lean.templates.database.hasResourceProperties('AWS::RDS::DBInstance', {
      DBInstanceClass: 'db.t4g.micro',
      PubliclyAccessible: false,
    });
    lean.templates.cache.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      CacheNodeType: 'cache.t4g.micro',
    });
    const isolated = /isolatedSubnet/;
    lean.templates.database.hasResourceProperties('AWS::RDS::DBSubnetGroup', {
      SubnetIds: Match.arrayWith([{ 'Fn::ImportValue': Match.stringLikeRegexp(isolated.source) }]),
    });
    lean.templates.cache.hasResourceProperties('AWS::ElastiCache::SubnetGroup', {
      SubnetIds: Match.arrayWith([{ 'Fn::ImportValue': Match.stringLikeRegexp(isolated.source) }]),
    });
  });

  it('turns Container Insights off and keeps logs a week', () => {
    lean.templates.ecs.hasResourceProperties('AWS::ECS::Cluster', {
      ClusterSettings: [{ Name: 'containerInsights', Value: 'disabled' }],
    });
    const retentions = [lean.templates.ecs, lean.templates.network, lean.templates.database].flatMap((t) =>
      Object.values(resources(t, 'AWS::Logs::LogGroup')).map((g) => g.Properties.RetentionInDays),
    );
    expect(retentions.length).toBeGreaterThanOrEqual(7);
    expect(new Set(retentions)).toEqual(new Set([7]));
  });

  it('tells RunTask the public subnets through the TaskSubnetIds output', () => {
    const outputs = lean.templates.ecs.findOutputs('TaskSubnetIds');
    expect(JSON.stringify(outputs)).toMatch(/publicSubnet1.*publicSubnet2/);
    expect(JSON.stringify(outputs)).not.toMatch(/privateSubnet|isolatedSubnet/);
  });
});

describe('the standard profile keeps the seed', () => {
  it('x86_64 services on the FARGATE launch type in private subnets, a NAT gateway, t3 classes, Container Insights on', () => {
    for (const { Properties: service } of Object.values(
      resources(standard.templates.ecs, 'AWS::ECS::Service'),
    )) {
      expect(service.CapacityProviderStrategy).toBeUndefined();
      expect(service.LaunchType).toBe('FARGATE');
    }
    standard.templates.network.resourceCountIs('AWS::EC2::NatGateway', 1);
    standard.templates.database.hasResourceProperties('AWS::RDS::DBInstance', {
      DBInstanceClass: 'db.t3.micro',
    });
    standard.templates.cache.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      CacheNodeType: 'cache.t3.micro',
    });
    standard.templates.ecs.hasResourceProperties('AWS::ECS::Cluster', {
      ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }],
    });
  });
});

describe('cdk-nag AwsSolutions on each profile', () => {
  it.each(['standard', 'lean'])('%s: no unacknowledged finding', (profile) => {
    const app = new App({ context: { ...committedContext(), profile } });
    buildStaging(app);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  });

  it('lean acknowledges Container Insights off with a reason; standard has nothing to acknowledge there', () => {
    const ecs4 = (synth: SynthesizedStaging) =>
      synth.stacks.ecs.cluster.node.metadata.filter(
        (entry) =>
          entry.type === 'aws:cdk:acknowledged-rules' &&
          Object.keys(entry.data as Record<string, string>).some((id) => id.endsWith('AwsSolutions-ECS4')),
      );
    expect(ecs4(lean)).toHaveLength(1);
    expect(ecs4(standard)).toHaveLength(0);
  });
});
