import { beforeEach, describe, expect, it, jest } from '@jest/globals';
import * as core from '../../../actions/__fixtures__/core.js';

jest.unstable_mockModule('@actions/core', () => core);
const { getInputs } = await import('../../../actions/verify/src/inputs.js');

const TD = (family: string, rev: number) =>
  `arn:aws:ecs:us-east-1:123456789012:task-definition/${family}:${rev}`;
/** The shape deploy-services writes (fields verify does not read included). */
const deployments = JSON.stringify({
  'alva-web': {
    service: 'alva-web',
    cluster: 'alva',
    previousTaskDefinition: TD('alva-web', 4),
    taskDefinition: TD('alva-web', 5),
    registered: true,
    status: 'deployed',
    finalTaskDefinition: TD('alva-web', 5),
  },
  'alva-api': {
    previousTaskDefinition: TD('alva-api', 2),
    taskDefinition: TD('alva-api', 2),
    status: 'unchanged',
  },
});

let inputs: Record<string, string> = {};
beforeEach(() => {
  inputs = { cluster: 'alva', services: 'alva-web\nalva-api' };
  core.getInput.mockImplementation((name: string) => inputs[name] ?? '');
});

describe('getInputs', () => {
  it('parses a full set of inputs', () => {
    inputs = {
      ...inputs,
      deployments,
      'base-url': 'https://staging.example.com/',
      checks: 'GET /api/health 200 ok\n# comment\nHEAD / 200-399',
      'consecutive-successes': '5',
      'timeout-seconds': '120',
    };
    const parsed = getInputs();
    expect(parsed).toMatchObject({
      cluster: 'alva',
      services: ['alva-web', 'alva-api'],
      baseUrl: 'https://staging.example.com',
      consecutiveSuccesses: 5,
      timeoutSeconds: 120,
    });
    expect(parsed.checks.map((c) => c.line)).toEqual(['GET /api/health 200 ok', 'HEAD / 200-399']);
    expect(Object.fromEntries(parsed.deployments!)).toEqual({
      'alva-web': { newTaskDefinitionArn: TD('alva-web', 5), previousTaskDefinitionArn: TD('alva-web', 4) },
      'alva-api': { newTaskDefinitionArn: TD('alva-api', 2), previousTaskDefinitionArn: TD('alva-api', 2) },
    });
  });

  it('defaults: no checks, 3 passes in a row, 300 s', () => {
    expect(getInputs()).toEqual({
      cluster: 'alva',
      services: ['alva-web', 'alva-api'],
      checks: [],
      consecutiveSuccesses: 3,
      timeoutSeconds: 300,
      traffic: 'production',
    });
  });

  it('traffic: test is taken; anything but production or test is an input error naming both', () => {
    inputs = { ...inputs, traffic: 'green' };
    expect(() => getInputs()).toThrow(
      'Input "traffic": "green" is neither "production" nor "test". Fix: give `production` (the default) or `test`',
    );
    inputs = { ...inputs, traffic: 'test' };
    expect(getInputs().traffic).toBe('test');
  });

  it.each([
    [{ cluster: '' }, 'Input "cluster": is required but empty'],
    [{ services: ' , ' }, 'Input "services": is required but empty'],
    [{ services: 'a,b,a' }, 'Input "services": lists a more than once'],
    [
      { services: 'alva-web,arn:aws:ecs:us-east-1:123456789012:service/alva/alva-web' },
      'Input "services": lists alva-web more than once ("alva-web" and "arn:',
    ],
    [{ checks: 'HEAD / 200 ok' }, 'Input "checks": line 1 "HEAD / 200 ok": a HEAD response has no body'],
    [
      { checks: 'POST /cache 204' },
      'Fix: check with GET or HEAD, or, if this request is safe to repeat, add `allow-methods: POST`',
    ],
    [{ 'allow-methods': 'POST, FETCH' }, 'Input "allow-methods": "FETCH" is not an HTTP method'],
    [{ deployments: '[1]' }, 'Input "deployments": must be a JSON object keyed by service name'],
    [{ deployments: '{"alva-web": 3}' }, 'Input "deployments": the entry for "alva-web" is not an object'],
    [
      { deployments: '{"alva-web": {"status": "deployed"}}' },
      'the entry for "alva-web" has no "taskDefinition"',
    ],
    [
      { deployments: JSON.stringify({ 'alva-web': { taskDefinition: 'alva-web:5' } }) },
      'Input "deployments": has no entry for "alva-api" (it has "alva-web")',
    ],
    [{ 'base-url': 'ftp://x' }, 'Input "base-url": "ftp://x" is not an http(s) URL'],
    [{ 'base-url': 'https://x/?a=1' }, 'is not an http(s) URL without query'],
    [{ checks: 'GET / OK' }, 'Input "checks": line 1 "GET / OK": "OK" is not a status'],
    [
      { 'consecutive-successes': '0' },
      'Input "consecutive-successes": "0" is not a whole number between 1 and 100',
    ],
    [{ 'timeout-seconds': '1.5' }, 'Input "timeout-seconds": "1.5" is not a whole number'],
  ])('rejects %j', (bad, message) => {
    inputs = { ...inputs, ...bad };
    expect(() => getInputs()).toThrow(message);
  });
});

describe('checks that change something', () => {
  it('are sent only when allow-methods names their method', () => {
    inputs = { ...inputs, checks: 'GET / 200\nPOST /api/echo 200', 'allow-methods': 'post' };
    expect(getInputs().checks.map((c) => c.method)).toEqual(['GET', 'POST']);
  });
});

describe('credentials in base-url', () => {
  beforeEach(() => {
    core.setSecret.mockClear();
  });

  it('are kept for the requests and masked in the log from the start', () => {
    inputs = { ...inputs, 'base-url': 'https://ci:p%40ss-w0rd@staging.example.com/' };
    expect(getInputs().baseUrl).toBe('https://ci:p%40ss-w0rd@staging.example.com');
    expect(core.setSecret.mock.calls.map(([s]) => s)).toEqual(['p%40ss-w0rd', 'p@ss-w0rd']);
  });

  it('are never printed in an error', () => {
    inputs = { ...inputs, 'base-url': 'https://ci:hunter2@staging.example.com/?x=1' };
    expect(() => getInputs()).toThrow(
      'Input "base-url": "https://staging.example.com/?x=1" is not an http(s) URL without query',
    );
    expect(core.setSecret).toHaveBeenCalledWith('hunter2');
  });
});

describe('ARNs', () => {
  const arn = (resource: string, region = 'us-east-1', account = '123456789012') =>
    `arn:aws:ecs:${region}:${account}:${resource}`;

  it('refuses a cluster of another region than AWS_REGION', () => {
    inputs = { ...inputs, cluster: arn('cluster/alva', 'eu-west-1') };
    expect(() => getInputs({ AWS_REGION: 'us-east-1' })).toThrow(
      /^Input "cluster": ".*" is in region eu-west-1, but this step's AWS region is us-east-1/,
    );
    expect(getInputs({ AWS_REGION: 'eu-west-1' }).cluster).toBe(arn('cluster/alva', 'eu-west-1'));
  });

  it('refuses deployments of another account than the cluster', () => {
    inputs = {
      cluster: arn('cluster/alva'),
      services: 'alva-web',
      deployments: JSON.stringify({
        'alva-web': { taskDefinition: arn('task-definition/alva-web:5', 'us-east-1', '210987654321') },
      }),
    };
    expect(() => getInputs({ AWS_REGION: 'us-east-1' })).toThrow(
      /^Input "deployments": ".*" is in account 210987654321, but `cluster`/,
    );
  });
});
