import { beforeEach, describe, expect, it, jest } from '@jest/globals';
import * as core from '../../../actions/__fixtures__/core.js';

jest.unstable_mockModule('@actions/core', () => core);
const { getInputs } = await import('../../../actions/migrate/src/inputs.js');
const { InputError } = await import('../../../lib/errors.js');

let inputs: Record<string, string> = {};
beforeEach(() => {
  inputs = { cluster: 'alva-staging-cluster', 'task-definition': 'alva-migrations' };
  core.getInput.mockImplementation((name: string) => inputs[name] ?? '');
});

function failure(): InstanceType<typeof InputError> {
  try {
    getInputs({});
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return err as InstanceType<typeof InputError>;
  }
  throw new Error('expected an InputError');
}

describe('migrate inputs', () => {
  it('reads a full set of inputs into Inputs', () => {
    Object.assign(inputs, {
      images: '{"api":"1.dkr.ecr.us-east-1.amazonaws.com/api@sha256:aa","web":"web@sha256:bb"}',
      'container-images': 'migrations=api',
      container: 'migrations',
      command: 'pnpm db:migrate --verbose',
      'network-from-service': 'alva-api',
      'capacity-provider-strategy': 'FARGATE_SPOT:1,FARGATE:0:1',
      'timeout-seconds': '900',
    });
    expect(getInputs({ GITHUB_RUN_ID: '42', GITHUB_RUN_ATTEMPT: '2' })).toEqual({
      cluster: 'alva-staging-cluster',
      taskDefinition: 'alva-migrations',
      images: { api: '1.dkr.ecr.us-east-1.amazonaws.com/api@sha256:aa', web: 'web@sha256:bb' },
      containerImages: { migrations: 'api' },
      container: 'migrations',
      command: ['pnpm', 'db:migrate', '--verbose'],
      network: { fromService: 'alva-api' },
      capacityProviderStrategy: [
        { capacityProvider: 'FARGATE_SPOT', weight: 1 },
        { capacityProvider: 'FARGATE', weight: 0, base: 1 },
      ],
      timeoutSeconds: 900,
      startedBy: 'migrate-42-2',
    });
  });

  it('defaults: no launch type or strategy, 600 s, explicit network', () => {
    Object.assign(inputs, {
      image: 'api:1',
      subnets: 'subnet-1\nsubnet-2',
      'security-groups': 'sg-1',
      'assign-public-ip': 'false',
    });
    const parsed = getInputs({});
    expect(parsed.launchType).toBeUndefined();
    expect(parsed.capacityProviderStrategy).toBeUndefined();
    expect(parsed.timeoutSeconds).toBe(600);
    expect(parsed.network).toEqual({
      subnets: ['subnet-1', 'subnet-2'],
      securityGroups: ['sg-1'],
      assignPublicIp: 'DISABLED',
    });
    expect(parsed.startedBy).toBe('migrate-local-1');
  });

  it.each([
    [{ cluster: '' }, 'cluster'],
    [{ 'task-definition': '' }, 'task-definition'],
    [{ images: '{"api":"a"}', image: 'b' }, 'image'],
    [{ images: '{bad' }, 'images'],
    [{ 'container-images': 'migrations=api' }, 'container-images'],
    [{ command: 'migrate && seed' }, 'command'],
    [{ 'network-from-service': 'alva-api', subnets: 'subnet-1' }, 'network-from-service'],
    [{ 'security-groups': 'sg-1' }, 'subnets'],
    [{ 'launch-type': 'FARGATE', 'capacity-provider-strategy': 'FARGATE' }, 'capacity-provider-strategy'],
    [{ 'launch-type': 'LAMBDA' }, 'launch-type'],
    [{ 'timeout-seconds': '0' }, 'timeout-seconds'],
    [{ 'started-by': 'a b' }, 'started-by'],
    [{ subnets: 's', 'assign-public-ip': 'sometimes' }, 'assign-public-ip'],
    [{ command: 'pnpm db:migrate "add users' }, 'command'],
    [{ command: 'pnpm db:migrate\npnpm db:seed' }, 'command'],
    [{ cluster: 'arn:aws:ecs:us-east-1:123456789012:service/alva/web' }, 'cluster'],
  ])('names the bad input %o', (override, input) => {
    Object.assign(inputs, override);
    expect(failure().input).toBe(input);
  });
});

describe('subnets and security groups', () => {
  it('are refused when separated by spaces (one id to AWS), with the comma-separated fix', () => {
    Object.assign(inputs, { subnets: 'subnet-1 subnet-2' });
    expect(failure().message).toBe(
      'Input "subnets": "subnet-1 subnet-2" is several ids separated by spaces, which AWS would read as one id. Fix: separate them with commas or newlines: subnet-1,subnet-2',
    );
    Object.assign(inputs, { subnets: 'subnet-1', 'security-groups': 'sg-1\tsg-2' });
    expect(failure().input).toBe('security-groups');
  });
});

describe('ARNs', () => {
  const arn = (resource: string, region = 'us-east-1', account = '123456789012') =>
    `arn:aws:ecs:${region}:${account}:${resource}`;

  it('refuses a cluster of another region than AWS_REGION', () => {
    Object.assign(inputs, { cluster: arn('cluster/alva', 'eu-west-1') });
    expect(() => getInputs({ AWS_REGION: 'us-east-1' })).toThrow(
      /^Input "cluster": .* is in region eu-west-1/,
    );
  });

  it('refuses a task definition of another account than the cluster', () => {
    Object.assign(inputs, {
      cluster: arn('cluster/alva'),
      'task-definition': arn('task-definition/alva-migrations:3', 'us-east-1', '210987654321'),
    });
    expect(() => getInputs({ AWS_REGION: 'us-east-1' })).toThrow(
      /^Input "task-definition": .* is in account 210987654321, but `cluster`/,
    );
  });

  it("accepts ARNs of the step's region and one account", () => {
    Object.assign(inputs, {
      cluster: arn('cluster/alva'),
      'task-definition': arn('task-definition/alva-migrations:3'),
      'network-from-service': arn('service/alva/alva-api'),
    });
    expect(getInputs({ AWS_REGION: 'us-east-1' }).taskDefinition).toBe(
      arn('task-definition/alva-migrations:3'),
    );
  });
});
