import { beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Match } from 'aws-cdk-lib/assertions';
import { appSecretNames, environment, names, services } from '../lib/config/services.js';
import { targetGroupTiming } from '../lib/stacks/alb-stack.js';
import { type SynthesizedStaging, synthStaging } from './synth.js';

const repositoryRoot = join(dirname(fileURLToPath(import.meta.url)), '../..');

let staging: SynthesizedStaging;
beforeAll(() => {
  staging = synthStaging();
});

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;
function resourcesOf(key: keyof SynthesizedStaging['templates'], type: string) {
  return Object.values(staging.templates[key].findResources(type) as Resources);
}

describe('config', () => {
  it('defines the four services with unique names, ports and rule priorities', () => {
    expect(services.map((s) => [s.name, s.port])).toEqual([
      ['web', 3000],
      ['api', 3001],
      ['auth', 3002],
      ['admin', 3003],
    ]);
    expect(new Set(services.map((s) => s.priority).filter((p) => p !== undefined)).size).toBe(3);
    expect(services.filter((s) => !s.pathPatterns).map((s) => s.name)).toEqual(['web']);
  });
});

describe('NetworkStack', () => {
  it('spans two AZs with public and private subnets and one NAT gateway', () => {
    const t = staging.templates.network;
    t.resourceCountIs('AWS::EC2::VPC', 1);
    t.resourceCountIs('AWS::EC2::NatGateway', 1);
    const subnets = resourcesOf('network', 'AWS::EC2::Subnet');
    expect(subnets).toHaveLength(4);
    expect(new Set(subnets.map((s) => s.Properties!['AvailabilityZone']))).toEqual(
      new Set(['us-east-1a', 'us-east-1b']),
    );
    expect(subnets.filter((s) => s.Properties!['MapPublicIpOnLaunch'] === true)).toHaveLength(2);
  });

  it('logs rejected flows', () => {
    staging.templates.network.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'REJECT' });
  });
});

describe('SecretsStack', () => {
  it('creates every application secret with a generated value and no literal one', () => {
    const secrets = resourcesOf('secrets', 'AWS::SecretsManager::Secret');
    expect(secrets.map((s) => s.Properties!['Name']).sort()).toEqual(Object.values(appSecretNames).sort());
    for (const secret of secrets) {
      expect(secret.Properties!['GenerateSecretString']).toBeDefined();
      expect(secret.Properties!['SecretString']).toBeUndefined();
    }
  });
});

describe('DatabaseStack', () => {
  it('is PostgreSQL db.t3.micro, 20 GB gp2, single AZ, 7-day backups, encrypted and private', () => {
    staging.templates.database.hasResourceProperties('AWS::RDS::DBInstance', {
      Engine: 'postgres',
      DBInstanceClass: 'db.t3.micro',
      AllocatedStorage: '20',
      StorageType: 'gp2',
      MultiAZ: false,
      BackupRetentionPeriod: 7,
      StorageEncrypted: true,
      PubliclyAccessible: false,
      DeletionProtection: true,
      Port: '5432',
    });
  });

  it('keeps the credentials in a generated secret named alva-staging-database', () => {
    staging.templates.database.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'alva-staging-database',
      GenerateSecretString: Match.objectLike({ GenerateStringKey: 'password' }),
    });
  });

  it('sits in the private subnets', () => {
    const [group] = resourcesOf('database', 'AWS::RDS::DBSubnetGroup');
    expect(JSON.stringify(group!.Properties!['SubnetIds'])).toMatch(/privateSubnet1.*privateSubnet2/);
  });
});

describe('CacheStack', () => {
  it('is one cache.t3.micro Redis node in the private subnets, encrypted', () => {
    staging.templates.cache.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      Engine: 'redis',
      CacheNodeType: 'cache.t3.micro',
      NumCacheClusters: 1,
      Port: 6379,
      AtRestEncryptionEnabled: true,
      TransitEncryptionEnabled: true,
    });
    const [group] = resourcesOf('cache', 'AWS::ElastiCache::SubnetGroup');
    expect(JSON.stringify(group!.Properties!['SubnetIds'])).toMatch(/privateSubnet1.*privateSubnet2/);
  });
});

describe('RegistryStack', () => {
  it('has one repository per service with scan on push, immutable tags but the build cache tag, and a lifecycle rule', () => {
    const repositories = resourcesOf('registry', 'AWS::ECR::Repository');
    expect(repositories.map((r) => r.Properties!['RepositoryName'])).toEqual([
      'alva-web',
      'alva-api',
      'alva-auth',
      'alva-admin',
    ]);
    for (const repository of repositories) {
      expect(repository.Properties).toMatchObject({
        ImageScanningConfiguration: { ScanOnPush: true },
        ImageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
        ImageTagMutabilityExclusionFilters: [
          {
            ImageTagMutabilityExclusionFilterType: 'WILDCARD',
            ImageTagMutabilityExclusionFilterValue: 'buildcache',
          },
        ],
      });
      const policy = JSON.parse(
        (repository.Properties!['LifecyclePolicy'] as { LifecyclePolicyText: string }).LifecyclePolicyText,
      ) as { rules: { selection: { countType: string; countNumber: number } }[] };
      expect(policy.rules.map((r) => r.selection.countType)).toEqual([
        'sinceImagePushed',
        'imageCountMoreThan',
      ]);
    }
  });
});

describe('EcsStack', () => {
  it('is the Fargate cluster alva-staging-cluster with Container Insights and the alva-staging.local namespace', () => {
    staging.templates.ecs.hasResourceProperties('AWS::ECS::Cluster', {
      ClusterName: 'alva-staging-cluster',
      ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }],
    });
    staging.templates.ecs.hasResourceProperties('AWS::ServiceDiscovery::PrivateDnsNamespace', {
      Name: 'alva-staging.local',
    });
  });

  it('runs a task started without a launch type (the migration) on Fargate: the default capacity provider strategy', () => {
    staging.templates.ecs.hasResourceProperties('AWS::ECS::ClusterCapacityProviderAssociations', {
      CapacityProviders: Match.arrayWith(['FARGATE']),
      DefaultCapacityProviderStrategy: [{ CapacityProvider: 'FARGATE', Weight: 1 }],
    });
  });

  it.each(services.map((s) => [s.name, s] as const))(
    'runs %s with the configured size, port and rollout',
    (_, service) => {
      const t = staging.templates.ecs;
      t.hasResourceProperties('AWS::ECS::TaskDefinition', {
        Family: `alva-${service.name}`,
        Cpu: '512',
        Memory: '1024',
        RequiresCompatibilities: ['FARGATE'],
        ContainerDefinitions: [
          Match.objectLike({
            Name: service.name,
            PortMappings: [Match.objectLike({ ContainerPort: service.port })],
            Environment: Match.arrayWith([{ Name: 'PORT', Value: String(service.port) }]),
            StopTimeout: 10,
            LogConfiguration: Match.objectLike({
              LogDriver: 'awslogs',
              Options: Match.objectLike({ 'awslogs-stream-prefix': service.name }),
            }),
          }),
        ],
      });
      t.hasResourceProperties('AWS::ECS::Service', {
        ServiceName: `alva-${service.name}`,
        DesiredCount: 1,
        LaunchType: 'FARGATE',
        DeploymentConfiguration: Match.objectLike({
          DeploymentCircuitBreaker: { Enable: true, Rollback: true },
          MinimumHealthyPercent: 100,
          MaximumPercent: 200,
        }),
        LoadBalancers: [Match.objectLike({ ContainerName: service.name, ContainerPort: service.port })],
        NetworkConfiguration: {
          AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: 'DISABLED' }),
        },
      });
      t.hasResourceProperties('AWS::ServiceDiscovery::Service', { Name: service.name });
      t.hasResourceProperties('AWS::Logs::LogGroup', {
        LogGroupName: `/ecs/alva-staging/${service.name}`,
        RetentionInDays: environment.logRetentionDays,
      });
    },
  );

  it('passes exactly the secrets the plan lists per service, as ECS secrets', () => {
    const definitions = resourcesOf('ecs', 'AWS::ECS::TaskDefinition');
    const secretsOf = (family: string) => {
      const definition = definitions.find((d) => d.Properties!['Family'] === family)!;
      const [container] = definition.Properties!['ContainerDefinitions'] as {
        Secrets?: { Name: string }[];
      }[];
      return (container!.Secrets ?? []).map((s) => s.Name).sort();
    };
    expect(secretsOf('alva-web')).toEqual([]);
    expect(secretsOf('alva-admin')).toEqual([]);
    expect(secretsOf('alva-api')).toEqual(['JWT_PUBLIC_KEY', 'PGPASSWORD', 'PGUSER']);
    expect(secretsOf('alva-auth')).toEqual([
      'JWT_PRIVATE_KEY',
      'JWT_PUBLIC_KEY',
      'PGPASSWORD',
      'PGUSER',
      'RESEND_API_KEY',
    ]);
    expect(secretsOf('alva-migrations')).toEqual(['PGPASSWORD', 'PGUSER']);
  });

  it('connects api, auth and the migrations to RDS over verified TLS, with the CA bundle their image carries', () => {
    const environmentOf = (family: string) => {
      const [definition] = resourcesOf('ecs', 'AWS::ECS::TaskDefinition').filter(
        (r) => r.Properties!['Family'] === family,
      );
      const [container] = definition!.Properties!['ContainerDefinitions'] as {
        Environment: { Name: string; Value: unknown }[];
      }[];
      return Object.fromEntries(container!.Environment.map((e) => [e.Name, e.Value]));
    };
    const bundle = '/etc/ssl/certs/rds-global-bundle.pem';
    for (const family of ['alva-api', 'alva-auth', 'alva-migrations']) {
      expect({ family, ...environmentOf(family) }).toMatchObject({
        family,
        PGSSLMODE: 'verify-full',
        PGSSLROOTCERT: bundle,
        // node-postgres verifies against Node's trust store, not PGSSLROOTCERT.
        NODE_EXTRA_CA_CERTS: bundle,
      });
    }
    for (const family of ['alva-web', 'alva-admin']) {
      expect(Object.keys(environmentOf(family)).filter((name) => name.startsWith('PG'))).toEqual([]);
    }
    // The images that run those tasks put the bundle at that path.
    for (const example of ['api', 'auth']) {
      const dockerfile = readFileSync(join(repositoryRoot, 'examples', example, 'Dockerfile'), 'utf8');
      expect(dockerfile).toContain(bundle);
      expect(dockerfile).toMatch(/ARG RDS_CA_BUNDLE_URL/);
    }
  });

  it('points web and admin at api and auth through Cloud Map', () => {
    staging.templates.ecs.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Family: 'alva-web',
      ContainerDefinitions: [
        Match.objectLike({
          Environment: Match.arrayWith([
            { Name: 'NEXT_PUBLIC_API_URL', Value: 'http://api.alva-staging.local:3001' },
            { Name: 'NEXT_PUBLIC_AUTH_URL', Value: 'http://auth.alva-staging.local:3002' },
          ]),
        }),
      ],
    });
  });

  it('defines the alva-migrations task (256 CPU / 512 MB) with the migrations container', () => {
    staging.templates.ecs.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Family: 'alva-migrations',
      Cpu: '256',
      Memory: '512',
      ContainerDefinitions: [Match.objectLike({ Name: 'migrations', Command: ['pnpm', 'db:migrate'] })],
    });
  });
});

describe('AlbStack', () => {
  it('is the internet-facing alva-staging-alb in the public subnets, with access logs', () => {
    staging.templates.alb.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Name: 'alva-staging-alb',
      Scheme: 'internet-facing',
      LoadBalancerAttributes: Match.arrayWith([{ Key: 'access_logs.s3.enabled', Value: 'true' }]),
    });
  });

  it.each(services.map((s) => [s.name, s] as const))('has a fast target group for %s', (_, service) => {
    staging.templates.alb.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Name: names.targetGroup(service),
      Port: service.port,
      TargetType: 'ip',
      HealthCheckPath: service.healthCheckPath,
      HealthCheckIntervalSeconds: 5,
      HealthCheckTimeoutSeconds: 4,
      HealthyThresholdCount: 2,
      UnhealthyThresholdCount: 2,
      TargetGroupAttributes: Match.arrayWith([
        {
          Key: 'deregistration_delay.timeout_seconds',
          Value: String(targetGroupTiming.deregistrationDelaySeconds),
        },
      ]),
    });
  });

  it('routes /api/*, /auth/* and /admin/* by path on HTTP 80 and sends the rest to web', () => {
    const t = staging.templates.alb;
    t.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 1);
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80,
      Protocol: 'HTTP',
      DefaultActions: [
        Match.objectLike({
          Type: 'forward',
          TargetGroupArn: { Ref: Match.stringLikeRegexp('^webTargetGroup') },
        }),
      ],
    });
    const rules = resourcesOf('alb', 'AWS::ElasticLoadBalancingV2::ListenerRule').map((rule) => ({
      priority: rule.Properties!['Priority'],
      path: (
        rule.Properties!['Conditions'] as { Field: string; PathPatternConfig: { Values: string[] } }[]
      )[0]!.PathPatternConfig.Values,
      target: JSON.stringify(rule.Properties!['Actions']).match(/"Ref":"(\w+?)TargetGroup/)![1],
    }));
    expect(rules).toEqual([
      { priority: 10, path: ['/api/*'], target: 'api' },
      { priority: 20, path: ['/auth/*'], target: 'auth' },
      { priority: 30, path: ['/admin/*'], target: 'admin' },
    ]);
  });
});

describe('MonitoringStack', () => {
  it('alarms on ALB 5xx, unhealthy hosts per target group, service CPU and memory, RDS CPU and storage', () => {
    const alarms = resourcesOf('monitoring', 'AWS::CloudWatch::Alarm');
    const byMetric = (metric: string) => alarms.filter((a) => a.Properties!['MetricName'] === metric);
    expect(byMetric('HTTPCode_ELB_5XX_Count')).toHaveLength(1);
    expect(byMetric('HTTPCode_Target_5XX_Count')).toHaveLength(1);
    expect(byMetric('UnHealthyHostCount')).toHaveLength(services.length);
    expect(byMetric('CPUUtilization').filter((a) => a.Properties!['Namespace'] === 'AWS/ECS')).toHaveLength(
      services.length,
    );
    expect(byMetric('MemoryUtilization')).toHaveLength(services.length);
    expect(byMetric('CPUUtilization').filter((a) => a.Properties!['Namespace'] === 'AWS/RDS')).toHaveLength(
      1,
    );
    expect(byMetric('FreeStorageSpace')).toHaveLength(1);
    for (const alarm of alarms) {
      expect(JSON.stringify(alarm.Properties!['AlarmActions'])).toMatch(/AlarmTopic/);
    }
  });

  it("alarms when a service has no healthy target: its own target group's HealthyHostCount below 1 for 2 minutes", () => {
    const alarms = resourcesOf('monitoring', 'AWS::CloudWatch::Alarm').filter(
      (a) => a.Properties!['MetricName'] === 'HealthyHostCount',
    );
    // The target group each alarm watches, by the logical id the ALB stack exports it under.
    const watched = alarms.map((alarm) => {
      const dimensions = alarm.Properties!['Dimensions'] as { Name: string; Value: unknown }[];
      const targetGroup = JSON.stringify(dimensions.find((d) => d.Name === 'TargetGroup')!.Value);
      expect(dimensions.map((d) => d.Name).sort()).toEqual(['LoadBalancer', 'TargetGroup']);
      return /(web|api|auth|admin)TargetGroup/.exec(targetGroup)![1];
    });
    expect(watched.sort()).toEqual(services.map((s) => s.name).sort());
    for (const alarm of alarms) {
      expect(alarm.Properties).toMatchObject({
        Namespace: 'AWS/ApplicationELB',
        Statistic: 'Minimum',
        Period: 60,
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        EvaluationPeriods: 2,
        TreatMissingData: 'breaching',
      });
      expect(JSON.stringify(alarm.Properties!['AlarmActions'])).toMatch(/AlarmTopic/);
    }
  });
});

describe('service discovery', () => {
  it("keeps each service's Cloud Map DNS TTL within its target group's deregistration delay", () => {
    // Cloud Map services by name (web, api, ...) and their A-record TTLs.
    const ttls = Object.fromEntries(
      resourcesOf('ecs', 'AWS::ServiceDiscovery::Service').map((r) => [
        r.Properties!['Name'],
        (r.Properties!['DnsConfig'] as { DnsRecords: { Type: string; TTL: number }[] }).DnsRecords,
      ]),
    );
    const delays = Object.fromEntries(
      resourcesOf('alb', 'AWS::ElasticLoadBalancingV2::TargetGroup').map((r) => [
        r.Properties!['Name'],
        Number(
          (r.Properties!['TargetGroupAttributes'] as { Key: string; Value: string }[]).find(
            (a) => a.Key === 'deregistration_delay.timeout_seconds',
          )!.Value,
        ),
      ]),
    );
    expect(Object.keys(ttls).sort()).toEqual(services.map((s) => s.name).sort());
    for (const service of services) {
      const delay = delays[names.targetGroup(service)]!;
      expect(delay).toBe(targetGroupTiming.deregistrationDelaySeconds);
      for (const record of ttls[service.name]!) {
        expect({ service: service.name, type: record.Type, ttlWithinDelay: record.TTL <= delay }).toEqual({
          service: service.name,
          type: 'A',
          ttlWithinDelay: true,
        });
      }
    }
  });
});

describe('outputs the workflows read', () => {
  it('exports cluster, services, target groups, ALB DNS name, migration family, repositories and the CI roles', () => {
    const outputs = (key: keyof SynthesizedStaging['templates']) =>
      Object.keys(staging.templates[key].findOutputs('*')).filter(
        (name) => !name.startsWith('ExportsOutput'),
      );
    expect(outputs('ecs')).toEqual(
      expect.arrayContaining([
        'ClusterName',
        'MigrationTaskFamily',
        'WebServiceName',
        'ApiServiceName',
        'AuthServiceName',
        'AdminServiceName',
      ]),
    );
    expect(outputs('alb')).toEqual(
      expect.arrayContaining([
        'AlbDnsName',
        'WebTargetGroupArn',
        'ApiTargetGroupArn',
        'AuthTargetGroupArn',
        'AdminTargetGroupArn',
      ]),
    );
    expect(outputs('registry')).toEqual(
      expect.arrayContaining([
        'WebRepositoryUri',
        'ApiRepositoryUri',
        'AuthRepositoryUri',
        'AdminRepositoryUri',
      ]),
    );
    expect(outputs('ciIdentity').sort()).toEqual([
      'BuildRoleArn',
      'DeployRoleArn',
      'MigrateRoleArn',
      'ReadRoleArn',
    ]);
    for (const [output, role] of [
      ['BuildRoleArn', 'alva-staging-github-build'],
      ['ReadRoleArn', 'alva-staging-github-read'],
      ['MigrateRoleArn', 'alva-staging-github-migrate'],
      ['DeployRoleArn', 'alva-staging-github-deploy'],
    ] as const) {
      const [logicalId] = Object.entries(staging.templates.ciIdentity.findResources('AWS::IAM::Role')).find(
        ([, r]) => (r as { Properties: { RoleName: string } }).Properties.RoleName === role,
      )!;
      staging.templates.ciIdentity.hasOutput(output, { Value: { 'Fn::GetAtt': [logicalId, 'Arn'] } });
    }
    staging.templates.ecs.hasOutput('MigrationTaskFamily', { Value: 'alva-migrations' });
  });
});
