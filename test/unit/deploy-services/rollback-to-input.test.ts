/** deploy-services' rollback-to input: previous, a revision number for every service, or a JSON map. */
import { beforeEach, describe, expect, it, jest } from '@jest/globals';
import * as core from '../../../actions/__fixtures__/core.js';

jest.unstable_mockModule('@actions/core', () => core);
const { getInputs } = await import('../../../actions/deploy-services/src/inputs.js');

let inputs: Record<string, string> = {};
beforeEach(() => {
  inputs = { cluster: 'alva', services: 'alva-web, alva-api' };
  core.getInput.mockImplementation((name: string) => inputs[name] ?? '');
});

describe('rollback-to', () => {
  it('a revision number means that revision of every listed service (each of its own family)', () => {
    inputs['rollback-to'] = '3';
    expect({ ...(getInputs().rollbackTo as object) }).toEqual({ 'alva-web': 3, 'alva-api': 3 });
  });

  it('accepts revision numbers, "family:revision" and task-definition ARNs in the JSON object', () => {
    inputs['rollback-to'] = JSON.stringify({
      'alva-web': '7',
      'alva-api': 'arn:aws:ecs:us-east-1:123456789012:task-definition/alva-api:12',
    });
    expect({ ...(getInputs().rollbackTo as object) }).toEqual({
      'alva-web': '7',
      'alva-api': 'arn:aws:ecs:us-east-1:123456789012:task-definition/alva-api:12',
    });
  });

  it('reads a JSON object given over several lines', () => {
    inputs['rollback-to'] = '{\n  "alva-web": 2,\n  "alva-api": "alva-api:4"\n}';
    expect({ ...(getInputs().rollbackTo as object) }).toEqual({ 'alva-web': 2, 'alva-api': 'alva-api:4' });
  });

  const bad: [string, string, RegExp][] = [
    ['revision 0', '0', /Input "rollback-to": "0" is not a revision number/],
    [
      'a tag (rollback.yml turns tags into images)',
      'tag:abc',
      /"tag:abc" is neither "previous" nor a JSON object nor a revision number/,
    ],
    ['a negative number', '-3', /is neither "previous" nor a JSON object nor a revision number/],
    [
      'an ARN that is not a task definition',
      '{"alva-web": "arn:aws:ecs:us-east-1:123456789012:service/alva/alva-web"}',
      /the revision for "alva-web"/,
    ],
    [
      'an ARN without its revision',
      '{"alva-web": "arn:aws:ecs:us-east-1:123456789012:task-definition/alva-web"}',
      /the revision for "alva-web"/,
    ],
    ['a family without revision', '{"alva-web": "alva-web"}', /the revision for "alva-web"/],
    ['a revision with leading zero', '{"alva-web": "007"}', /the revision for "alva-web"/],
    ['a fractional revision', '{"alva-web": 2.5}', /the revision for "alva-web"/],
  ];
  it.each(bad)('refuses %s, naming the input and the fix', (_label, raw, message) => {
    inputs['rollback-to'] = raw;
    expect(() => getInputs()).toThrow(message);
    expect(() => getInputs()).toThrow(/Fix: /);
  });
});
