/** deploy-services' one-service shorthand: `image` (and `container`) instead of `images`. */
import { beforeEach, describe, expect, it, jest } from '@jest/globals';
import * as core from '../../../actions/__fixtures__/core.js';

jest.unstable_mockModule('@actions/core', () => core);
const { getInputs } = await import('../../../actions/deploy-services/src/inputs.js');

const WEB = '123456789012.dkr.ecr.us-east-1.amazonaws.com/alva-web@sha256:' + 'a'.repeat(64);
let inputs: Record<string, string> = {};
beforeEach(() => {
  inputs = { cluster: 'alva', services: 'alva-web', image: WEB };
  core.getInput.mockImplementation((name: string) => inputs[name] ?? '');
});

describe('image + container', () => {
  it('reads one image for one service, with or without its container', () => {
    expect(getInputs()).toMatchObject({ services: ['alva-web'], image: { reference: WEB } });
    expect(getInputs().images).toBeUndefined();
    inputs = { ...inputs, image: ` ${WEB} `, container: 'web' };
    expect(getInputs()).toMatchObject({ image: { reference: WEB, container: 'web' } });
  });

  it('refuses image together with images, naming both', () => {
    inputs = { ...inputs, images: `{"web": "${WEB}"}` };
    expect(() => getInputs()).toThrow(/Input "image": cannot be combined with `images`/);
  });

  it('refuses image with several services, naming the fix', () => {
    inputs = { ...inputs, services: 'alva-web\nalva-api' };
    expect(() => getInputs()).toThrow(
      /Input "image": gives one image for one service, but `services` lists 2 \(alva-web, alva-api\)\. Fix: .*`images`/,
    );
  });

  it('refuses container without image, a bad reference, and image with rollback-to', () => {
    inputs = { cluster: 'alva', services: 'alva-web', images: `{"web": "${WEB}"}`, container: 'web' };
    expect(() => getInputs()).toThrow(/Input "container": needs `image`/);
    inputs = { cluster: 'alva', services: 'alva-web', image: 'https://example.com/web:1' };
    expect(() => getInputs()).toThrow(/Input "image": .*is a URL/);
    inputs = { cluster: 'alva', services: 'alva-web', image: WEB, 'rollback-to': 'previous' };
    expect(() => getInputs()).toThrow(/Input "rollback-to": cannot be combined with `image`/);
  });
});
