import { describe, expect, it } from '@jest/globals';
import {
  imageReferenceProblem,
  parseImageReference,
  parseImages,
  serializeImages,
} from '../../../lib/contracts/images.js';
import { inputError } from './input-error.js';

const ECR = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const DIGEST = `sha256:${'9b2c'.repeat(16)}`;

describe('images: what it refuses, naming the input and the fix', () => {
  it.each([
    ['not JSON', '{web: repo}', /^Input "images": is not valid JSON .*Fix: give a JSON object such as/],
    ['an array', '["repo/web:2"]', /^Input "images": must be a JSON object, got an array\. Fix: /],
    ['a string', '"repo/web:2"', /^Input "images": must be a JSON object, got string\. Fix: /],
    ['null', 'null', /^Input "images": must be a JSON object, got null\. Fix: /],
    ['an empty object', '{}', /^Input "images": is an empty object\. Fix: name at least one container/],
    ['a number', '{"web": 3}', /the image of container "web" must be a non-empty string \(got 3\)\. Fix: /],
    ['null value', '{"web": null}', /the image of container "web" must be a non-empty string/],
    ['an empty string', '{"web": " "}', /the image of container "web" must be a non-empty string/],
    [
      'an object without image',
      '{"web": {"tag": "2"}}',
      /the image of container "web" must be a non-empty string/,
    ],
    [
      'whitespace',
      '{"web": "repo/web: v2"}',
      /the image of container "web" contains whitespace \("repo\/web: v2"\)\. Fix: /,
    ],
    [
      'a URL',
      '{"web": "https://ghcr.io/o/web:1"}',
      /the image of container "web" is a URL: an image reference has no scheme/,
    ],
    ['a leading slash', '{"web": "/web:1"}', /"web" does not start with a registry or repository name/],
    ['a trailing colon', '{"web": "web:"}', /"web" ends with ":"/],
    [
      'a digest that is not one',
      '{"web": "web@latest"}',
      /"web" has a digest "latest" that is not algorithm:hex/,
    ],
    ['two digests', `{"web": "web@${DIGEST}@${DIGEST}"}`, /"web" has a digest/],
    ['an empty name', '{"": "web:1"}', /^Input "images": has an entry with an empty name\. Fix: /],
    [
      '__proto__',
      '{"__proto__": "web:1"}',
      /names "__proto__", a name every JavaScript object already has\. Fix: /,
    ],
    [
      'constructor',
      '{"constructor": "web:1"}',
      /names "constructor", a name every JavaScript object already has/,
    ],
    ['toString', '{"web": "web:1", "toString": "web:1"}', /names "toString"/],
  ])('refuses %s', (_label, raw, message) => {
    const err = inputError(() => parseImages(raw));
    expect(err.input).toBe('images');
    expect(err.message).toMatch(message);
    expect(err.message).toMatch(/\. Fix: \S/);
  });

  it('names the input it was given', () => {
    expect(inputError(() => parseImages('[]', 'needs.build.outputs.images')).message).toMatch(
      /^Input "needs\.build\.outputs\.images": must be a JSON object/,
    );
  });

  it('names the input and the entry on bad values', () => {
    // Moved from test/unit/migrate/parse.test.ts with its assertions.
    expect(inputError(() => parseImages('not json')).input).toBe('images');
    expect(inputError(() => parseImages('["a"]')).message).toContain('JSON object');
    expect(inputError(() => parseImages('{"api":""}')).message).toContain('"api"');
    expect(inputError(() => parseImages('{"api":"has space"}')).message).toContain('"api"');
    expect(inputError(() => parseImages('{}')).message).toContain('empty');
  });
});

describe('images: what it accepts', () => {
  it('reads the build-push output', () => {
    // Moved from test/unit/migrate/parse.test.ts with its assertions.
    expect(
      parseImages('{"api":"1.dkr.ecr.us-east-1.amazonaws.com/api@sha256:abc","web":{"image":"web:1"}}'),
    ).toEqual({ api: '1.dkr.ecr.us-east-1.amazonaws.com/api@sha256:abc', web: 'web:1' });
  });

  it.each([
    ['digest-pinned ECR (build-push)', `${ECR}/alva/web@${DIGEST}`],
    ['repo:sha (build-push with push: false)', `${ECR}/alva/web:0123abc`],
    ['a bare name and tag', 'web:1'],
    ['a bare name', 'nginx'],
    ['a registry with a port', '127.0.0.1:5000/alva/web:v2'],
    ['a registry with a port, digest-pinned', `localhost:5000/alva/web@${DIGEST}`],
    ['tag and digest', `ghcr.io/org/web:1.2@${DIGEST}`],
    ['the README example', `${ECR}/frontend@${DIGEST}`],
  ])('accepts %s', (_label, reference) => {
    expect(parseImages(JSON.stringify({ web: reference }))).toEqual({ web: reference });
    expect(imageReferenceProblem(reference)).toBeUndefined();
  });

  it('trims the whitespace around a value, and reads {"image"} or {"uri"} objects', () => {
    expect(parseImages('{"web": "  web:1\\n", "api": {"uri": "api:2"}}')).toEqual({
      web: 'web:1',
      api: 'api:2',
    });
  });

  it('returns a map without a prototype: only the given names are in it', () => {
    const images = parseImages('{"web": "web:1"}');
    expect(Object.getPrototypeOf(images)).toBeNull();
    expect(images['constructor']).toBeUndefined();
    expect(images['toString']).toBeUndefined();
  });
});

describe('images: one reference (migrate `image`)', () => {
  it('refuses what images refuses, naming the input and the fix', () => {
    const err = inputError(() => parseImageReference('not an image!'));
    expect(err.input).toBe('image');
    expect(err.message).toBe(
      'Input "image": "not an image!" is not an image reference: it contains whitespace. ' +
        "Fix: give registry/repository:tag or registry/repository@sha256:digest (build-push's `images` output)",
    );
    expect(inputError(() => parseImageReference('http://web:1')).message).toContain('no scheme');
  });

  it('accepts a reference', () => {
    expect(parseImageReference(`${ECR}/alva/api@${DIGEST}`)).toBe(`${ECR}/alva/api@${DIGEST}`);
  });
});

describe('images: round trip', () => {
  it('parses back exactly what build-push writes', () => {
    const written = {
      'alva-web': `${ECR}/alva/web@${DIGEST}`,
      'alva-api': `${ECR}/alva/api:0123abc`,
      worker: `127.0.0.1:5000/alva/worker@${DIGEST}`,
    };
    const parsed = parseImages(serializeImages(written));
    expect(parsed).toEqual(written);
    expect(Object.keys(parsed)).toEqual(Object.keys(written));
    expect(serializeImages(parsed)).toBe(serializeImages(written));
  });
});
