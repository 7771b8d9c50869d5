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
    });
  });

  it.each([
    [{ cluster: '' }, 'Input "cluster": is required but empty'],
    [{ services: ' , ' }, 'Input "services": is required but empty'],
    [{ services: 'a,b,a' }, 'Input "services": "a" is listed twice'],
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
