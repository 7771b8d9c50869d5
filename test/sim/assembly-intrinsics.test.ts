/**
 * The assembly loader's intrinsic resolution and physical ids, on small
 * hand-written cloud assemblies: failures first (an unresolvable Ref names
 * the logical id; a missing export; a dependency cycle), then each function,
 * the Ref/GetAtt return values of the modelled types, and determinism.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAssembly, readAssembly } from '../../sim/assembly/index.js';
import type { CfnTemplate } from '../../sim/assembly/manifest.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface StackDef {
  name: string;
  template: CfnTemplate;
  dependencies?: string[];
  environment?: string;
}

/** Writes a cloud assembly (manifest.json and one template per stack) to a fresh directory. */
function assembly(...stacks: StackDef[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'assembly-'));
  dirs.push(dir);
  const artifacts: Record<string, unknown> = {};
  for (const stack of stacks) {
    writeFileSync(join(dir, `${stack.name}.template.json`), JSON.stringify(stack.template));
    artifacts[stack.name] = {
      type: 'aws:cloudformation:stack',
      environment: stack.environment ?? 'aws://123456789012/us-east-1',
      dependencies: stack.dependencies ?? [],
      properties: { templateFile: `${stack.name}.template.json` },
    };
  }
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ version: '48.0.0', artifacts }));
  return dir;
}

/** One stack whose single log group carries `value` as its name; returns the resolved name. */
function resolveName(value: unknown, extra: Partial<CfnTemplate> = {}): unknown {
  const dir = assembly({
    name: 'S',
    template: {
      ...extra,
      Resources: {
        ...(extra.Resources ?? {}),
        Subject: { Type: 'AWS::Logs::LogGroup', Properties: { LogGroupName: value } },
      },
    },
  });
  return loadAssembly({ assembly: dir }).scenario.logGroups!.find((g) => g.arn.includes('log-group'))!.name;
}

describe('failures', () => {
  it('an unresolvable Ref names the logical id and the stack', () => {
    expect(() => resolveName({ Ref: 'NoSuchThing' })).toThrow(
      /stack S \(Subject\.LogGroupName\): unresolvable Ref "NoSuchThing"/,
    );
  });

  it('a GetAtt of a missing resource, an import nobody exports, a condition that does not exist', () => {
    expect(() => resolveName({ 'Fn::GetAtt': ['Ghost', 'Arn'] })).toThrow(
      /Fn::GetAtt "Ghost\.Arn": no such resource/,
    );
    expect(() => resolveName({ 'Fn::ImportValue': 'Other:Thing' })).toThrow(
      /Fn::ImportValue "Other:Thing": no stack before it exports that name/,
    );
    expect(() => resolveName({ 'Fn::If': ['Missing', 'a', 'b'] })).toThrow(/no condition "Missing"/);
    expect(() => resolveName({ 'Fn::Select': [5, ['a']] })).toThrow(/index 5 outside a list of 1/);
  });

  it('a parameter without a value, an unknown function, and a dependency cycle are errors', () => {
    expect(() => resolveName({ Ref: 'Env' }, { Parameters: { Env: { Type: 'String' } } })).toThrow(
      /parameter "Env" has no value/,
    );
    expect(() => resolveName({ 'Fn::Frobnicate': [] })).toThrow(/Fn::Frobnicate is not supported/);
    const cycle = assembly(
      { name: 'A', template: { Resources: {} }, dependencies: ['B'] },
      { name: 'B', template: { Resources: {} }, dependencies: ['A'] },
    );
    expect(() => readAssembly(cycle)).toThrow(/stack dependency cycle: A -> B -> A/);
  });

  it('a resource the simulator only lists keeps what it cannot resolve (listed with why); a modelled one fails', () => {
    const listedOnly = assembly({
      name: 'S',
      template: {
        Resources: {
          Helper: { Type: 'Custom::Thing', Properties: { ServiceToken: { 'Fn::Frobnicate': [] } } },
          Logs: { Type: 'AWS::Logs::LogGroup', Properties: { LogGroupName: 'ok' } },
        },
      },
    });
    const { unmodelled, scenario } = loadAssembly({ assembly: listedOnly });
    expect(scenario.logGroups!.map((g) => g.name)).toEqual(['ok']);
    expect(unmodelled).toEqual([
      {
        stack: 'S',
        logicalId: 'Helper',
        type: 'Custom::Thing',
        reason: expect.stringMatching(/^properties not resolved: .*Fn::Frobnicate is not supported/),
      },
    ]);
    const modelled = assembly({
      name: 'S',
      template: {
        Resources: {
          Logs: { Type: 'AWS::Logs::LogGroup', Properties: { LogGroupName: { 'Fn::Frobnicate': [] } } },
        },
      },
    });
    expect(() => loadAssembly({ assembly: modelled })).toThrow(
      /stack S \(Logs\.LogGroupName\): intrinsic function Fn::Frobnicate/,
    );
  });

  it('a directory without a manifest is not a cloud assembly', () => {
    const dir = mkdtempSync(join(tmpdir(), 'assembly-'));
    dirs.push(dir);
    expect(() => loadAssembly({ assembly: dir })).toThrow(
      /is not a cloud assembly: it has no manifest\.json/,
    );
  });
});

describe('intrinsic functions', () => {
  it('pseudo parameters, Join, Select, Split, Sub (both forms), GetAZs, FindInMap, Base64', () => {
    expect(
      resolveName({
        'Fn::Join': [
          '/',
          [
            { Ref: 'AWS::Region' },
            { Ref: 'AWS::AccountId' },
            { Ref: 'AWS::Partition' },
            { Ref: 'AWS::URLSuffix' },
            { Ref: 'AWS::StackName' },
          ],
        ],
      }),
    ).toBe('us-east-1/123456789012/aws/amazonaws.com/S');
    expect(resolveName({ 'Fn::Select': [1, { 'Fn::Split': [',', 'a,b,c'] }] })).toBe('b');
    expect(resolveName({ 'Fn::Sub': '${AWS::Region}-${!Literal}' })).toBe('us-east-1-${Literal}');
    expect(
      resolveName({ 'Fn::Sub': ['${Who}@${AWS::AccountId}', { Who: { 'Fn::Join': ['', ['o', 'k']] } }] }),
    ).toBe('ok@123456789012');
    expect(resolveName({ 'Fn::Select': [2, { 'Fn::GetAZs': '' }] })).toBe('us-east-1c');
    expect(
      resolveName(
        { 'Fn::FindInMap': ['Sizes', 'small', 'name'] },
        { Mappings: { Sizes: { small: { name: 'tiny' } } } },
      ),
    ).toBe('tiny');
    expect(resolveName({ 'Fn::Base64': 'hi' })).toBe('aGk=');
  });

  it('Fn::If over Conditions (Equals, And, Or, Not, Condition), parameters with defaults', () => {
    const extra: Partial<CfnTemplate> = {
      Parameters: { Stage: { Type: 'String', Default: 'prod' } },
      Conditions: {
        IsProd: { 'Fn::Equals': [{ Ref: 'Stage' }, 'prod'] },
        NotProd: { 'Fn::Not': [{ Condition: 'IsProd' }] },
        Both: { 'Fn::And': [{ Condition: 'IsProd' }, { 'Fn::Or': [{ Condition: 'NotProd' }, true] }] },
      },
    };
    expect(resolveName({ 'Fn::If': ['IsProd', 'p', 'd'] }, extra)).toBe('p');
    expect(resolveName({ 'Fn::If': ['NotProd', 'p', 'd'] }, extra)).toBe('d');
    expect(resolveName({ 'Fn::If': ['Both', 'yes', 'no'] }, extra)).toBe('yes');
  });

  it('AWS::NoValue removes the property or list element that holds it; a false Condition removes the resource', () => {
    const dir = assembly({
      name: 'S',
      template: {
        Conditions: { Never: { 'Fn::Equals': ['a', 'b'] } },
        Resources: {
          Groups: {
            Type: 'AWS::Logs::LogGroup',
            Properties: {
              LogGroupName: 'kept',
              RetentionInDays: { 'Fn::If': ['Never', 7, { Ref: 'AWS::NoValue' }] },
            },
          },
          Gone: { Type: 'AWS::Logs::LogGroup', Condition: 'Never', Properties: { LogGroupName: 'gone' } },
          Role: {
            Type: 'AWS::IAM::Role',
            Properties: {
              RoleName: 'r',
              AssumeRolePolicyDocument: { Statement: [] },
              ManagedPolicyArns: ['arn:aws:iam::aws:policy/A', { Ref: 'AWS::NoValue' }],
            },
          },
        },
      },
    });
    const { scenario } = loadAssembly({ assembly: dir });
    expect(scenario.logGroups).toEqual([
      { name: 'kept', arn: 'arn:aws:logs:us-east-1:123456789012:log-group:kept:*' },
    ]);
    expect(scenario.iam!.roles[0]!.managedPolicyArns).toEqual(['arn:aws:iam::aws:policy/A']);
  });

  it('Fn::ImportValue resolves against an earlier stack export, whatever the manifest order', () => {
    const dir = assembly(
      {
        name: 'Consumer',
        dependencies: ['Producer'],
        template: {
          Resources: {
            Logs: {
              Type: 'AWS::Logs::LogGroup',
              Properties: {
                LogGroupName: { 'Fn::Join': ['', ['/from/', { 'Fn::ImportValue': 'Producer:RepoUri' }]] },
              },
            },
          },
        },
      },
      {
        name: 'Producer',
        template: {
          Resources: { Repo: { Type: 'AWS::ECR::Repository', Properties: { RepositoryName: 'shop' } } },
          Outputs: {
            Uri: { Value: { 'Fn::GetAtt': ['Repo', 'RepositoryUri'] }, Export: { Name: 'Producer:RepoUri' } },
          },
        },
      },
    );
    expect(readAssembly(dir).map((s) => s.stackName)).toEqual(['Producer', 'Consumer']);
    expect(loadAssembly({ assembly: dir }).scenario.logGroups![0]!.name).toBe(
      '/from/123456789012.dkr.ecr.us-east-1.amazonaws.com/shop',
    );
  });
});

describe('physical ids and return values', () => {
  const template: CfnTemplate = {
    Resources: {
      Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.1.0.0/16' } },
      Subnet: { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: 'Vpc' }, CidrBlock: '10.1.0.0/24' } },
      Sg: { Type: 'AWS::EC2::SecurityGroup', Properties: { GroupDescription: 'd', VpcId: { Ref: 'Vpc' } } },
      Cluster: { Type: 'AWS::ECS::Cluster', Properties: {} },
      Tg: {
        Type: 'AWS::ElasticLoadBalancingV2::TargetGroup',
        Properties: {
          Name: 'shop-tg',
          Port: 8080,
          Protocol: 'HTTP',
          TargetType: 'ip',
          VpcId: { Ref: 'Vpc' },
        },
      },
      Lb: { Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer', Properties: { Name: 'shop-lb' } },
      Td: {
        Type: 'AWS::ECS::TaskDefinition',
        Properties: { Family: 'shop', ContainerDefinitions: [{ Name: 'c', Image: 'nginx' }] },
      },
      Svc: {
        Type: 'AWS::ECS::Service',
        Properties: { Cluster: { Ref: 'Cluster' }, ServiceName: 'shop', TaskDefinition: { Ref: 'Td' } },
      },
      Secret: { Type: 'AWS::SecretsManager::Secret', Properties: { Name: 'shop/key' } },
      Role: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: { Statement: [] } } },
      Refs: {
        // A custom resource takes any property and is not modelled (an SSM parameter now is).
        Type: 'Custom::Refs',
        Properties: {
          Value: {
            'Fn::Join': [
              '|',
              [
                { Ref: 'Vpc' },
                { Ref: 'Subnet' },
                { 'Fn::GetAtt': ['Sg', 'GroupId'] },
                { Ref: 'Cluster' },
                { Ref: 'Tg' },
                { 'Fn::GetAtt': ['Tg', 'TargetGroupFullName'] },
                { Ref: 'Lb' },
                { 'Fn::GetAtt': ['Lb', 'LoadBalancerFullName'] },
                { Ref: 'Td' },
                { Ref: 'Svc' },
                { 'Fn::GetAtt': ['Svc', 'Name'] },
                { Ref: 'Secret' },
                { 'Fn::GetAtt': ['Role', 'Arn'] },
              ],
            ],
          },
        },
      },
    },
  };

  function refs(stackName = 'Shop'): string[] {
    const dir = assembly({ name: stackName, template });
    const { scenario } = loadAssembly({ assembly: dir });
    const stack = scenario.stacks![0]!;
    expect(stack.name).toBe(stackName);
    // The ids as the scenario holds them.
    return [
      scenario.network!.vpcs[0]!.id,
      scenario.network!.subnets[0]!.id,
      scenario.network!.securityGroups[0]!.id,
      scenario.clusters[0]!.name,
      scenario.targetGroups![0]!.arn!,
      scenario.loadBalancers![0]!.arn!,
      scenario.services![0]!.taskDefinition,
      scenario.secrets![0]!.arn,
      scenario.iam!.roles[0]!.arn,
    ];
  }

  it('EC2 ids are <prefix>-<17 hex>, ARNs follow each service, names are explicit or derived from stack and logical id', () => {
    const [vpc, subnet, sg, cluster, tg, lb, td, secret, role] = refs();
    expect(vpc).toMatch(/^vpc-[0-9a-f]{17}$/);
    expect(subnet).toMatch(/^subnet-[0-9a-f]{17}$/);
    expect(sg).toMatch(/^sg-[0-9a-f]{17}$/);
    expect(cluster).toMatch(/^Shop-Cluster-[A-Z0-9]{13}$/);
    expect(tg).toMatch(
      /^arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup\/shop-tg\/[0-9a-f]{16}$/,
    );
    expect(lb).toMatch(
      /^arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer\/app\/shop-lb\/[0-9a-f]{16}$/,
    );
    expect(td).toBe('shop:1');
    expect(secret).toMatch(/^arn:aws:secretsmanager:us-east-1:123456789012:secret:shop\/key-[A-Za-z0-9]{6}$/);
    expect(role).toMatch(/^arn:aws:iam::123456789012:role\/Shop-Role-[A-Z0-9]{13}$/);
  });

  it('the same assembly loads to the same ids every time; another stack name gives other ids', () => {
    expect(refs()).toEqual(refs());
    const other = refs('Other');
    expect(other[0]).not.toBe(refs()[0]);
    expect(other[4]).not.toBe(refs()[4]);
  });

  it('Ref of a service, task definition and target group is its ARN; GetAtt gives full names (CloudFormation return values)', () => {
    const dir = assembly({ name: 'Shop', template });
    const { scenario } = loadAssembly({ assembly: dir });
    const value = (
      scenario.stacks![0]!.template.Resources as Record<string, { Properties: { Value: unknown } }>
    ).Refs!.Properties.Value;
    // The template is kept as written (cdk-diff reads it); the resolved values are checked through a log group.
    expect(value).toHaveProperty('Fn::Join');
    const resolved = String(
      resolveName((template.Resources!.Refs!.Properties as { Value: unknown }).Value, {
        Resources: Object.fromEntries(Object.entries(template.Resources!).filter(([k]) => k !== 'Refs')),
      }),
    ).split('|');
    expect(resolved[4]).toMatch(/:targetgroup\/shop-tg\//);
    expect(resolved[5]).toMatch(/^targetgroup\/shop-tg\/[0-9a-f]{16}$/);
    expect(resolved[7]).toMatch(/^app\/shop-lb\/[0-9a-f]{16}$/);
    expect(resolved[8]).toMatch(/^arn:aws:ecs:us-east-1:123456789012:task-definition\/shop:1$/);
    expect(resolved[9]).toMatch(/^arn:aws:ecs:us-east-1:123456789012:service\/S-Cluster-[A-Z0-9]{13}\/shop$/);
    expect(resolved[10]).toBe('shop');
  });

  it('a type the simulator does not model still resolves, and is listed, never dropped', () => {
    const dir = assembly({ name: 'Shop', template });
    const { unmodelled, scenario } = loadAssembly({ assembly: dir });
    expect(unmodelled).toEqual([
      {
        stack: 'Shop',
        logicalId: 'Refs',
        type: 'Custom::Refs',
        reason: 'a custom resource (Lambda-backed helper): its effect is not simulated',
      },
    ]);
    expect(scenario.unmodelled).toEqual(unmodelled);
  });

  it('generated secret values come from the seed and the secret name: same seed, same value; another seed, another', () => {
    const dir = assembly({
      name: 'Sec',
      template: {
        Resources: {
          Db: {
            Type: 'AWS::SecretsManager::Secret',
            Properties: {
              Name: 'db',
              GenerateSecretString: {
                SecretStringTemplate: '{"username":"app"}',
                GenerateStringKey: 'password',
                PasswordLength: 24,
                ExcludeCharacters: '"@/\\',
              },
            },
          },
          Plain: {
            Type: 'AWS::SecretsManager::Secret',
            Properties: { Name: 'plain', SecretString: 'as-written' },
          },
        },
      },
    });
    const values = (seed: number) =>
      loadAssembly({ assembly: dir, overlay: { seed } }).scenario.secrets!.map((s) => s.value);
    const [db, plain] = values(1);
    const parsed = JSON.parse(db!) as { username: string; password: string };
    expect(parsed.username).toBe('app');
    expect(parsed.password).toHaveLength(24);
    expect(parsed.password).not.toMatch(/["@/\\]/);
    expect(plain).toBe('as-written');
    expect(values(1)).toEqual([db, plain]);
    expect(values(2)[0]).not.toBe(db);
    expect(values(2)[1]).toBe('as-written');
  });
});
