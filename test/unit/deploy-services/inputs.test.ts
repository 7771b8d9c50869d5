import { beforeEach, describe, expect, it, jest } from '@jest/globals';
import * as core from '../../../actions/__fixtures__/core.js';

jest.unstable_mockModule('@actions/core', () => core);
const { getInputs } = await import('../../../actions/deploy-services/src/inputs.js');

let inputs: Record<string, string> = {};
beforeEach(() => {
  inputs = { cluster: 'alva', services: 'alva-web\nalva-api', images: '{"web":"repo/web:2"}' };
  core.getInput.mockImplementation((name: string) => inputs[name] ?? '');
});

describe('getInputs', () => {
  it('parses a full set of inputs', () => {
    inputs = {
      ...inputs,
      services: 'alva-web, alva-api\n alva-auth',
      'wait-for': 'steady',
      'timeout-seconds': '600',
      'rollback-on-failure': 'false',
      'force-new-deployment': 'true',
      'if-in-progress': 'wait',
      'bake-seconds': '30',
    };
    expect(getInputs()).toEqual({
      cluster: 'alva',
      services: ['alva-web', 'alva-api', 'alva-auth'],
      images: { web: 'repo/web:2' },
      waitFor: 'steady',
      timeoutSeconds: 600,
      rollbackOnFailure: false,
      forceNewDeployment: true,
      ifInProgress: 'wait',
      bakeSeconds: 30,
    });
  });

  it('defaults: healthy, 1800 s, rollback on, not forced', () => {
    expect(getInputs()).toMatchObject({
      waitFor: 'healthy',
      timeoutSeconds: 1800,
      rollbackOnFailure: true,
      forceNewDeployment: false,
      ifInProgress: 'fail',
      bakeSeconds: 0,
    });
  });

  it('wait-for test-traffic: the release gate mode, named in the fix of an unknown wait-for', () => {
    inputs = { ...inputs, 'wait-for': 'test-traffic' };
    expect(getInputs().waitFor).toBe('test-traffic');
    inputs = { ...inputs, 'wait-for': 'test' };
    expect(() => getInputs()).toThrow(/Input "wait-for": "test" is not a known condition.*or test-traffic/);
  });

  it('refuses an unknown if-in-progress and a negative bake-seconds, naming the input', () => {
    inputs = { ...inputs, 'if-in-progress': 'queue' };
    expect(() => getInputs()).toThrow(
      /Input "if-in-progress": "queue" is not a known choice. Fix: use fail .* or wait/,
    );
    inputs = { ...inputs, 'if-in-progress': 'fail', 'bake-seconds': '-5' };
    expect(() => getInputs()).toThrow(/Input "bake-seconds"/);
  });

  it('reads rollback-to previous and as a JSON object', () => {
    inputs = { cluster: 'alva', services: 'alva-web,alva-api', 'rollback-to': 'previous' };
    expect(getInputs().rollbackTo).toBe('previous');
    inputs['rollback-to'] = '{"alva-web": 4, "alva-api": "alva-api:2"}';
    expect(getInputs().rollbackTo).toEqual({ 'alva-web': 4, 'alva-api': 'alva-api:2' });
  });

  const bad: [string, Record<string, string>, RegExp][] = [
    ['missing cluster', { cluster: '' }, /Input "cluster": is required/],
    ['empty services', { services: ' , \n' }, /Input "services": is empty/],
    [
      'duplicate services',
      { services: 'alva-web,alva-web' },
      /Input "services": lists alva-web more than once/,
    ],
    ['malformed images JSON', { images: '{web: repo}' }, /Input "images": is not valid JSON.*Fix:/],
    [
      'images not an object',
      { images: '["repo/web:2"]' },
      /Input "images": must be a JSON object, got an array/,
    ],
    ['empty images', { images: '{}' }, /Input "images": is an empty object/],
    [
      'non-string image',
      { images: '{"web": 3}' },
      /Input "images": the image of container "web" must be a non-empty string/,
    ],
    [
      'unknown wait-for',
      { 'wait-for': 'stable' },
      /Input "wait-for": "stable" is not a known condition.*healthy.*steady/,
    ],
    ['negative timeout', { 'timeout-seconds': '-5' }, /Input "timeout-seconds": "-5" is not a whole number/],
    [
      'non-numeric timeout',
      { 'timeout-seconds': 'ten' },
      /Input "timeout-seconds": "ten" is not a whole number/,
    ],
    [
      'bad boolean',
      { 'rollback-on-failure': 'maybe' },
      /Input "rollback-on-failure": "maybe" is not a boolean/,
    ],
    ['nothing to deploy', { images: '' }, /Input "images": is required \(nothing to deploy\)/],
    [
      'images with rollback-to',
      { 'rollback-to': 'previous' },
      /Input "rollback-to": cannot be combined with `images`/,
    ],
    [
      'rollback-to word',
      { images: '', 'rollback-to': 'last' },
      /Input "rollback-to": "last" is neither "previous" nor a JSON object/,
    ],
    [
      'rollback-to bad JSON',
      { images: '', 'rollback-to': '{"alva-web": }' },
      /Input "rollback-to": is not valid JSON/,
    ],
    [
      'rollback-to unknown service',
      { images: '', 'rollback-to': '{"alva-x": 3}' },
      /Input "rollback-to": names service "alva-x", which is not in `services`/,
    ],
    [
      'rollback-to bad revision',
      { images: '', 'rollback-to': '{"alva-web": -1}' },
      /Input "rollback-to": the revision for "alva-web" \(-1\)/,
    ],
  ];
  it.each(bad)('rejects %s, naming the input and the fix', (_label, override, message) => {
    inputs = { ...inputs, ...override };
    expect(() => getInputs()).toThrow(message);
    try {
      getInputs();
    } catch (err) {
      expect((err as Error).message).toMatch(/Fix: /);
    }
  });
});

describe('services and cluster as ARNs', () => {
  const arn = (resource: string, region = 'us-east-1', account = '123456789012') =>
    `arn:aws:ecs:${region}:${account}:${resource}`;

  it('refuses one service named by name and by ARN: it would be deployed twice', () => {
    inputs = { ...inputs, services: `alva-web\nalva-api\n${arn('service/alva/alva-web')}` };
    expect(() => getInputs()).toThrow(
      `Input "services": lists alva-web more than once ("alva-web" and "${arn('service/alva/alva-web')}" are one service)`,
    );
  });

  it('refuses a service ARN of another cluster', () => {
    inputs = { ...inputs, services: arn('service/other/alva-web') };
    expect(() => getInputs()).toThrow(/is a service of cluster "other", not of `cluster` \("alva"\)/);
  });

  it('refuses a cluster ARN of another region than AWS_REGION', () => {
    inputs = { ...inputs, cluster: arn('cluster/alva', 'eu-west-1') };
    expect(() => getInputs({ AWS_REGION: 'us-east-1' })).toThrow(
      /^Input "cluster": ".*" is in region eu-west-1, but this step's AWS region is us-east-1/,
    );
    expect(() => getInputs({ AWS_DEFAULT_REGION: 'eu-west-1' })).not.toThrow();
  });

  it('refuses a rollback-to ARN of another account than the cluster', () => {
    inputs = {
      cluster: arn('cluster/alva'),
      services: 'alva-web',
      'rollback-to': JSON.stringify({
        'alva-web': arn('task-definition/alva-web:3', 'us-east-1', '210987654321'),
      }),
    };
    expect(() => getInputs({ AWS_REGION: 'us-east-1' })).toThrow(
      /^Input "rollback-to": ".*" is in account 210987654321, but `cluster`/,
    );
  });
});
