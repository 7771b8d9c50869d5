/** deploy-services and migrate read `images` through the one contract: same acceptance, same errors. */
import { beforeEach, describe, expect, it, jest } from '@jest/globals';
import * as core from '../../../actions/__fixtures__/core.js';

jest.unstable_mockModule('@actions/core', () => core);
const deployServices = await import('../../../actions/deploy-services/src/inputs.js');
const migrate = await import('../../../actions/migrate/src/inputs.js');

let inputs: Record<string, string> = {};
beforeEach(() => {
  core.getInput.mockImplementation((name: string) => inputs[name] ?? '');
});

function readBoth(images: string): [unknown, unknown] {
  const read = (base: Record<string, string>, get: () => { images?: unknown }) => {
    inputs = { ...base, images };
    try {
      return get().images;
    } catch (err) {
      return (err as Error).message;
    }
  };
  return [
    read({ cluster: 'alva', services: 'alva-web' }, () => deployServices.getInputs()),
    read({ cluster: 'alva', 'task-definition': 'alva-migrations' }, () => migrate.getInputs({})),
  ];
}

const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('images: both readers agree', () => {
  it.each([
    `{"web": "123456789012.dkr.ecr.us-east-1.amazonaws.com/alva/web@${DIGEST}"}`,
    '{"web": "127.0.0.1:5000/alva/web:v2", "api": {"image": "api:2"}}',
  ])('both accept %s, with the same map', (images) => {
    const [deployRead, migrateRead] = readBoth(images);
    expect(typeof deployRead).toBe('object');
    expect(migrateRead).toEqual(deployRead);
  });

  it.each([
    '{"web": "web: 2"}',
    '{"web": "https://ghcr.io/o/web:1"}',
    '{"web": 42}',
    '{"constructor": "web:1"}',
    '{"web": "web@latest"}',
    '{}',
    '["web:1"]',
    '{web: x}',
  ])('both refuse %s, with the same message', (images) => {
    const [deployRead, migrateRead] = readBoth(images);
    expect(deployRead).toMatch(/^Input "images": .*\. Fix: /);
    expect(migrateRead).toEqual(deployRead);
  });
});
