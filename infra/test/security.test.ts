import { beforeAll, describe, expect, it } from '@jest/globals';
import { type SynthesizedStaging, synthStaging } from './synth.js';

let staging: SynthesizedStaging;
let templates: [string, Record<string, unknown>][];
beforeAll(() => {
  staging = synthStaging();
  templates = Object.entries(staging.templates).map(([key, template]) => [key, template.toJSON()]);
});

interface Resource {
  Type: string;
  Properties?: Record<string, unknown>;
}
const resources = (template: Record<string, unknown>) =>
  Object.entries((template['Resources'] ?? {}) as Record<string, Resource>);

/** Network-stack security groups by logical id prefix: AlbSecurityGroup86A59E99 -> alb. */
function groupName(reference: unknown): string {
  const text = JSON.stringify(reference);
  const match = text.match(/(Alb|Ecs|Database|Cache)SecurityGroup/);
  if (!match) throw new Error(`Not one of the four security groups: ${text}`);
  return match[1]!.toLowerCase();
}

interface Rule {
  group: string;
  from: string;
  ports: string;
}

function ingressRules(): Rule[] {
  const rules: Rule[] = [];
  for (const [, template] of templates) {
    for (const [id, resource] of resources(template)) {
      if (resource.Type === 'AWS::EC2::SecurityGroup') {
        for (const rule of (resource.Properties!['SecurityGroupIngress'] ?? []) as Record<
          string,
          unknown
        >[]) {
          rules.push({
            group: groupName(id),
            from:
              (rule['CidrIp'] as string | undefined) ??
              (rule['CidrIpv6'] as string | undefined) ??
              groupName(rule['SourceSecurityGroupId']),
            ports: `${String(rule['IpProtocol'])}:${String(rule['FromPort'])}-${String(rule['ToPort'])}`,
          });
        }
      }
      if (resource.Type === 'AWS::EC2::SecurityGroupIngress') {
        const p = resource.Properties!;
        rules.push({
          group: groupName(p['GroupId']),
          from: (p['CidrIp'] as string | undefined) ?? groupName(p['SourceSecurityGroupId']),
          ports: `${String(p['IpProtocol'])}:${String(p['FromPort'])}-${String(p['ToPort'])}`,
        });
      }
    }
  }
  return rules.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

describe('security groups', () => {
  it('exist only in the network stack, four of them', () => {
    for (const [key, template] of templates) {
      const groups = resources(template).filter(([, r]) => r.Type.startsWith('AWS::EC2::SecurityGroup'));
      if (key === 'network')
        expect(groups.filter(([, r]) => r.Type === 'AWS::EC2::SecurityGroup')).toHaveLength(4);
      else expect(groups.map(([id]) => id)).toEqual([]);
    }
  });

  it('have exactly these ingress rules: the ALB is the only public entry; RDS and Redis accept only the ECS tasks', () => {
    const tcp = (port: number) => `tcp:${port}-${port}`;
    const expected: Rule[] = [
      { group: 'alb', from: '0.0.0.0/0', ports: tcp(80) },
      { group: 'alb', from: '0.0.0.0/0', ports: tcp(443) },
      ...[3000, 3001, 3002, 3003].flatMap((port) => [
        { group: 'ecs', from: 'alb', ports: tcp(port) },
        { group: 'ecs', from: 'ecs', ports: tcp(port) },
      ]),
      { group: 'database', from: 'ecs', ports: tcp(5432) },
      { group: 'cache', from: 'ecs', ports: tcp(6379) },
    ];
    expect(ingressRules()).toEqual(
      expected.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    );
  });

  it('let the ALB out only to the ECS tasks on the service ports, and RDS and Redis not out at all', () => {
    const network = templates.find(([key]) => key === 'network')![1];
    const egress = resources(network)
      .filter(([, r]) => r.Type === 'AWS::EC2::SecurityGroupEgress')
      .map(
        ([, r]) =>
          `${groupName(r.Properties!['GroupId'])}->${groupName(r.Properties!['DestinationSecurityGroupId'])}:${String(r.Properties!['FromPort'])}`,
      );
    expect(egress.sort()).toEqual(['alb->ecs:3000', 'alb->ecs:3001', 'alb->ecs:3002', 'alb->ecs:3003']);
    for (const [id, r] of resources(network)) {
      if (r.Type !== 'AWS::EC2::SecurityGroup') continue;
      const rules = r.Properties!['SecurityGroupEgress'] as
        { CidrIp: string; Description: string }[] | undefined;
      const name = groupName(id);
      if (name === 'ecs') expect(rules).toEqual([expect.objectContaining({ CidrIp: '0.0.0.0/0' })]);
      // Only the separate egress resources above.
      else if (name === 'alb') expect(rules).toBeUndefined();
      // CDK's placeholder for "no egress": a rule matching nothing.
      else expect(rules).toEqual([expect.objectContaining({ CidrIp: '255.255.255.255/32' })]);
    }
  });

  it('place tasks, database and cache in private subnets without public addresses', () => {
    const text = JSON.stringify(templates);
    expect(text).not.toMatch(/"AssignPublicIp":"ENABLED"/);
    expect(text).not.toMatch(/"PubliclyAccessible":true/);
  });
});

describe('secrets', () => {
  it('no template holds a secret value', () => {
    for (const [key, template] of templates) {
      const text = JSON.stringify(template);
      expect({ key, secretString: text.includes('"SecretString"') }).toEqual({ key, secretString: false });
      expect({ key, pem: /BEGIN [A-Z ]*PRIVATE KEY/.test(text) }).toEqual({ key, pem: false });
      // OpenAI (sk-...) and Resend (re_...) key shapes.
      expect({ key, apiKey: /"(sk-[A-Za-z0-9_-]{16,}|re_[A-Za-z0-9_]{16,})"/.test(text) }).toEqual({
        key,
        apiKey: false,
      });
      // The only Secrets Manager dynamic references are RDS's master credentials.
      if (text.includes('resolve:secretsmanager')) expect(key).toBe('database');
    }
  });

  it('hands RDS its master password only as a dynamic reference to the generated secret', () => {
    const database = templates.find(([key]) => key === 'database')![1];
    const [, instance] = resources(database).find(([, r]) => r.Type === 'AWS::RDS::DBInstance')!;
    expect(JSON.stringify(instance.Properties!['MasterUserPassword'])).toMatch(
      /resolve:secretsmanager:.*PostgresSecret.*SecretString:password/,
    );
  });

  it('no container receives a secret as plain environment', () => {
    for (const [, template] of templates) {
      for (const [, resource] of resources(template)) {
        if (resource.Type !== 'AWS::ECS::TaskDefinition') continue;
        for (const container of resource.Properties!['ContainerDefinitions'] as {
          Environment?: { Name: string; Value: unknown }[];
        }[]) {
          for (const variable of container.Environment ?? []) {
            expect(variable.Name).not.toMatch(/KEY|SECRET|PASSWORD|TOKEN|PGUSER/);
            expect(JSON.stringify(variable.Value)).not.toMatch(/secretsmanager|Secret/);
          }
        }
      }
    }
  });
});

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}
const list = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

function policyStatements(key?: string): Statement[] {
  return templates
    .filter(([k]) => key === undefined || k === key)
    .flatMap(([, template]) => resources(template))
    .filter(([, r]) => r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy')
    .flatMap(([, r]) => (r.Properties!['PolicyDocument'] as { Statement: Statement[] }).Statement);
}

// The CI roles (trust, and the calls each job makes) are tested in ci-identity.test.ts.

describe('every IAM policy in the app', () => {
  it('has no "*" action', () => {
    for (const statement of policyStatements()) {
      for (const action of list(statement.Action)) expect(action).not.toMatch(/(^\*$|:\*$)/);
    }
  });
});
