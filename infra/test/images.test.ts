/**
 * Context `images` (lib/config/images.ts): the image each service runs now, which the pipeline's infra job
 * passes so that a `cdk deploy` changing a task definition keeps it instead of `image-tag`.
 */
import { describe, expect, it } from '@jest/globals';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildStaging } from '../lib/staging.js';
import { committedContext } from './synth.js';

const REGISTRY = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const DIGEST = `sha256:${'ab'.repeat(32)}`;

/** Each task definition family's container image, as the template spells it (tokens as JSON). */
function imagesByFamily(context: Record<string, unknown>): Record<string, string> {
  const app = new App({ context: { ...committedContext(), ...context } });
  const { ecs } = buildStaging(app);
  const definitions = Template.fromStack(ecs).findResources('AWS::ECS::TaskDefinition');
  return Object.fromEntries(
    Object.values(definitions).map((d) => {
      const props = d.Properties as { Family: string; ContainerDefinitions: { Image: unknown }[] };
      return [props.Family, JSON.stringify(props.ContainerDefinitions[0]!.Image)];
    }),
  );
}

describe('context images', () => {
  it('keeps each named service on its running tag or digest, the migration on its image service, the rest on image-tag', () => {
    const images = imagesByFamily({
      'image-tag': 'base',
      // As `-c images=...` passes it: JSON text.
      images: JSON.stringify({ web: `${REGISTRY}/alva-web:release7`, api: `${REGISTRY}/alva-api@${DIGEST}` }),
    });
    expect(images['alva-web']).toMatch(/:release7"/);
    expect(images['alva-api']).toMatch(new RegExp(`@${DIGEST}"`));
    expect(images['alva-migrations']).toMatch(new RegExp(`@${DIGEST}"`));
    expect(images['alva-auth']).toMatch(/:base"/);
    expect(images['alva-admin']).toMatch(/:base"/);
  });

  it('without it, every task definition starts from image-tag (initial by default)', () => {
    const images = imagesByFamily({});
    for (const family of ['alva-web', 'alva-api', 'alva-auth', 'alva-admin', 'alva-migrations'])
      expect(images[family]).toMatch(/:initial"/);
  });

  it.each([
    ['not JSON', 'web=x', /Context "images" must be a JSON object/],
    ['a list', '["web"]', /Context "images" must be a JSON object/],
    [
      'an unknown container',
      JSON.stringify({ worker: `${REGISTRY}/alva-worker:1` }),
      /names "worker", which is not a service/,
    ],
    [
      "another service's repository",
      JSON.stringify({ web: `${REGISTRY}/alva-api:1` }),
      /"web" is .*alva-api:1.*, which is not an image of 123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com\/alva-web/,
    ],
    ['another registry', JSON.stringify({ web: 'ghcr.io/acme/web:1' }), /which is not an image of/],
    ['a repository with no tag', JSON.stringify({ web: `${REGISTRY}/alva-web` }), /which is not an image of/],
    [
      'a malformed digest',
      JSON.stringify({ web: `${REGISTRY}/alva-web@sha256:abc` }),
      /which is not an image of/,
    ],
  ])('refuses %s, naming the key', (_, value, message) => {
    expect(() => imagesByFamily({ images: value })).toThrow(message);
  });
});
