import { beforeEach, describe, expect, it, jest } from '@jest/globals';
import * as core from '../../../actions/__fixtures__/core.js';

jest.unstable_mockModule('@actions/core', () => core);
const { awsInputError, idList, stepRegion } = await import('../../../actions/_common/inputs.js');

let inputs: Record<string, string> = {};
beforeEach(() => {
  inputs = {};
  core.getInput.mockImplementation((name: string) => inputs[name] ?? '');
});

describe('idList', () => {
  it('reads ids one per line or comma-separated', () => {
    inputs.subnets = 'subnet-1, subnet-2\nsubnet-3\n';
    expect(idList('subnets')).toEqual(['subnet-1', 'subnet-2', 'subnet-3']);
  });

  it('refuses ids separated by spaces, which AWS would take as one id', () => {
    inputs.subnets = 'subnet-1 subnet-2, subnet-3';
    expect(() => idList('subnets')).toThrow(
      'Input "subnets": "subnet-1 subnet-2" is several ids separated by spaces, which AWS would read as one id. Fix: separate them with commas or newlines: subnet-1,subnet-2',
    );
  });
});

describe('stepRegion', () => {
  it('is AWS_REGION, else AWS_DEFAULT_REGION, else unknown', () => {
    expect(stepRegion({ AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'us-east-1' })).toBe('eu-west-1');
    expect(stepRegion({ AWS_DEFAULT_REGION: 'us-east-1' })).toBe('us-east-1');
    expect(stepRegion({ AWS_REGION: '' })).toBeUndefined();
  });
});

describe('awsInputError', () => {
  it('names `cluster` for ClusterNotFoundException, and nothing for other errors', () => {
    const notFound = Object.assign(new Error('Cluster not found.'), { name: 'ClusterNotFoundException' });
    const err = awsInputError(notFound);
    expect(err?.input).toBe('cluster');
    expect(err?.message).toMatch(/^Input "cluster": names no cluster ECS has .*\. Fix: /);
    expect(awsInputError(Object.assign(new Error('x'), { name: 'ThrottlingException' }))).toBeUndefined();
    expect(awsInputError('Cluster not found.')).toBeUndefined();
  });
});
