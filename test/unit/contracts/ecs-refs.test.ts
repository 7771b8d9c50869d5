import { describe, expect, it } from '@jest/globals';
import {
  checkRegionAndAccount,
  checkServiceList,
  clusterName,
  parseArn,
} from '../../../lib/contracts/ecs-refs.js';
import { inputError } from './input-error.js';

const arn = (resource: string, region = 'us-east-1', account = '123456789012') =>
  `arn:aws:ecs:${region}:${account}:${resource}`;

describe('parseArn', () => {
  it('reads the parts of an ARN, and nothing of a name', () => {
    expect(parseArn(arn('cluster/alva'))).toEqual({
      partition: 'aws',
      service: 'ecs',
      region: 'us-east-1',
      account: '123456789012',
      resource: 'cluster/alva',
    });
    expect(parseArn('arn:aws-cn:ecs:cn-north-1:123456789012:service/alva/web')?.partition).toBe('aws-cn');
    expect(parseArn('alva')).toBeUndefined();
    expect(parseArn('arn:aws:ecs:us-east-1:12345:cluster/alva')).toBeUndefined();
  });
});

describe('clusterName', () => {
  it('is the name given, or the name in a cluster ARN', () => {
    expect(clusterName('alva')).toBe('alva');
    expect(clusterName(arn('cluster/alva'))).toBe('alva');
  });

  it('refuses an ARN that is not an ECS cluster', () => {
    const err = inputError(() => clusterName(arn('service/alva/web')));
    expect(err.input).toBe('cluster');
    expect(err.message).toMatch(/is not an ECS cluster ARN/);
    expect(inputError(() => clusterName('arn:aws:s3:::bucket')).input).toBe('cluster');
  });
});

describe('checkServiceList', () => {
  it('accepts names and ARNs of the cluster, each service once, and returns them as given', () => {
    const services = ['web', arn('service/alva/api'), arn('service/auth')];
    expect(checkServiceList(services, 'alva')).toEqual(services);
    expect(checkServiceList(services, arn('cluster/alva'))).toEqual(services);
  });

  it('refuses a service named twice, by name or by name and ARN', () => {
    expect(inputError(() => checkServiceList(['web', 'api', 'web'], 'alva')).message).toBe(
      'Input "services": lists web more than once. Fix: list each service once, by name or by ARN',
    );
    const err = inputError(() => checkServiceList(['web', arn('service/alva/web')], 'alva'));
    expect(err.message).toContain(
      `lists web more than once ("web" and "${arn('service/alva/web')}" are one service)`,
    );
    // The old ARN form (no cluster in it) is the same service too.
    expect(() => checkServiceList([arn('service/web'), 'web'], 'alva')).toThrow(/lists web more than once/);
  });

  it('refuses a service ARN of another cluster, and an ARN that is not a service', () => {
    expect(() => checkServiceList([arn('service/other/web')], 'alva')).toThrow(
      /"arn:aws:ecs:us-east-1:123456789012:service\/other\/web" is a service of cluster "other", not of `cluster` \("alva"\)/,
    );
    expect(() => checkServiceList([arn('task-definition/web:1')], 'alva')).toThrow(
      /Input "services": .* is not an ECS service ARN/,
    );
  });
});

describe('checkRegionAndAccount', () => {
  it('accepts names, and ARNs of the region and of one account', () => {
    expect(() =>
      checkRegionAndAccount(
        [
          { input: 'cluster', value: arn('cluster/alva') },
          { input: 'services', value: 'web' },
          { input: 'services', value: arn('service/alva/api') },
          { input: 'task-definition', value: arn('task-definition/migrations:3') },
        ],
        'us-east-1',
      ),
    ).not.toThrow();
  });

  it('refuses an ARN of another region than the step, naming the input and both regions', () => {
    const err = inputError(() =>
      checkRegionAndAccount([{ input: 'cluster', value: arn('cluster/alva', 'eu-west-1') }], 'us-east-1'),
    );
    expect(err.input).toBe('cluster');
    expect(err.message).toMatch(
      /is in region eu-west-1, but this step's AWS region is us-east-1\. Fix: .*us-east-1/,
    );
  });

  it('cannot judge the region when the step has none in its environment', () => {
    expect(() =>
      checkRegionAndAccount([{ input: 'cluster', value: arn('cluster/alva', 'eu-west-1') }], undefined),
    ).not.toThrow();
  });

  it('refuses ARNs of two accounts, naming the one that differs from the first', () => {
    const err = inputError(() =>
      checkRegionAndAccount(
        [
          { input: 'cluster', value: arn('cluster/alva') },
          { input: 'task-definition', value: arn('task-definition/m:1', 'us-east-1', '210987654321') },
        ],
        'us-east-1',
      ),
    );
    expect(err.input).toBe('task-definition');
    expect(err.message).toContain('is in account 210987654321, but `cluster`');
    expect(() =>
      checkRegionAndAccount(
        [
          { input: 'services', value: arn('service/alva/web') },
          { input: 'services', value: arn('service/alva/api', 'us-east-1', '210987654321') },
        ],
        'us-east-1',
      ),
    ).toThrow(/but another entry .* is in account 123456789012/);
  });
});
