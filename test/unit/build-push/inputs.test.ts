import { afterAll, beforeAll, beforeEach, describe, expect, jest, test } from '@jest/globals';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as core from '../../../actions/__fixtures__/core.js';

jest.unstable_mockModule('@actions/core', () => core);
const { getInputs } = await import('../../../actions/build-push/src/inputs.js');

const root = new URL('../../..', import.meta.url).pathname.replace(/\/$/, '');
const env = {
  GITHUB_WORKSPACE: root,
  GITHUB_SHA: 'abc123',
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_REPOSITORY: 'acme/alva',
};
const SERVICES =
  '- {name: web, context: examples/web}\n- {name: api, context: examples/api, repository: alva/api}';

function withInputs(inputs: Record<string, string>) {
  core.getInput.mockImplementation((name: string) => inputs[name] ?? '');
}

describe('build-push inputs', () => {
  beforeEach(() => {
    core.getInput.mockReset();
  });

  test('defaults: ECR, SHA tag from GITHUB_SHA, skip-existing, reuse-unchanged, push, 4 at once, absolute paths, source URL', () => {
    withInputs({ services: SERVICES });
    const inputs = getInputs(env);
    expect(inputs.registry).toEqual({ kind: 'ecr', registryId: undefined, region: undefined });
    expect(inputs.sha).toBe('abc123');
    expect(inputs.movingTags).toEqual([]);
    expect(inputs).toMatchObject({
      skipExisting: true,
      reuseUnchanged: true,
      push: true,
      maxParallel: 4,
      cacheTag: 'buildcache',
      platforms: [],
    });
    expect(inputs.source).toBe('https://github.com/acme/alva');
    expect(inputs.services[0]!.context).toBe(`${root}/examples/web`);
    expect(inputs.services[0]!.dockerfile).toBe(`${root}/examples/web/Dockerfile`);
    expect(inputs.services[1]!.repository).toBe('alva/api');
  });

  test('another registry with credentials, moving tags, platforms, severity', () => {
    withInputs({
      services: SERVICES,
      registry: 'ghcr.io',
      username: 'bot',
      password: 'tok',
      tags: 'staging, latest\nabc123',
      platforms: 'linux/amd64,linux/arm64',
      'max-parallel': '2',
      push: 'false',
      'skip-existing': 'false',
    });
    const inputs = getInputs(env);
    expect(inputs.registry).toEqual({
      kind: 'generic',
      registry: 'ghcr.io',
      username: 'bot',
      password: 'tok',
    });
    // The SHA is always the first tag; listing it again is not a moving tag.
    expect(inputs.movingTags).toEqual(['staging', 'latest']);
    expect(inputs.platforms).toEqual(['linux/amd64', 'linux/arm64']);
    expect(inputs).toMatchObject({ maxParallel: 2, push: false, skipExisting: false });
  });

  test('ECR scan gate severity is case-insensitive; NONE means no gate', () => {
    withInputs({ services: SERVICES, 'fail-on-severity': 'high' });
    expect(getInputs(env).failOnSeverity).toBe('HIGH');
    withInputs({ services: SERVICES, 'fail-on-severity': 'none' });
    expect(getInputs(env).failOnSeverity).toBeUndefined();
  });

  test('cache-tag none keeps no cache tag', () => {
    withInputs({ services: SERVICES, 'cache-tag': 'none' });
    expect(getInputs(env).cacheTag).toBeUndefined();
  });

  test.each([
    [
      { services: '- {name: web, context: examples/nope}' },
      /Input "services": context "examples\/nope" of web is not a directory/,
    ],
    [
      { services: '- {name: web, context: examples/web, dockerfile: examples/web/Nope}' },
      /dockerfile "examples\/web\/Nope" of web does not exist/,
    ],
    [
      { services: SERVICES, registry: 'ghcr.io', username: 'bot' },
      /Input "password": is required when the other is set/,
    ],
    [{ services: SERVICES, password: 'x' }, /Input "registry": is empty but username\/password are set/],
    [
      { services: SERVICES, 'registry-id': '1234' },
      /Input "registry-id": "1234" is not a 12-digit AWS account ID/,
    ],
    [{ services: SERVICES, tags: 'ok, not ok' }, /Input "tags": "not ok" is not a valid image tag/],
    [{ services: SERVICES, sha: '-bad' }, /Input "sha": "-bad" is not a valid image tag/],
    [{ services: SERVICES, 'cache-tag': 'staging', tags: 'staging' }, /Input "cache-tag"/],
    [{ services: SERVICES, platforms: 'amd64' }, /Input "platforms": "amd64" is not os\/arch/],
    [
      { services: SERVICES, 'fail-on-severity': 'SEVERE' },
      /Input "fail-on-severity": "SEVERE" is not a severity. Fix: use one of INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL/,
    ],
    [
      { services: SERVICES, 'fail-on-severity': 'HIGH', registry: 'ghcr.io' },
      /fail-on-severity.*needs ECR image scanning/,
    ],
    [{ services: SERVICES, 'fail-on-severity': 'HIGH', push: 'false' }, /fail-on-severity.*push is false/],
    [
      { services: SERVICES, 'max-parallel': '0' },
      /Input "max-parallel": "0" is not a whole number between 1 and 32/,
    ],
    [{ services: SERVICES, push: 'maybe' }, /Input "push": "maybe" is not a boolean/],
    [
      { services: SERVICES, docker: '/no/such/docker' },
      /Input "docker": "\/no\/such\/docker" does not exist/,
    ],
  ])('%j is rejected before anything runs', (inputs, message) => {
    withInputs(inputs as Record<string, string>);
    expect(() => getInputs(env)).toThrow(message);
  });

  test('no SHA anywhere', () => {
    withInputs({ services: SERVICES });
    expect(() => getInputs({ GITHUB_WORKSPACE: root })).toThrow(
      /Input "sha": is empty and GITHUB_SHA is not set/,
    );
  });
});

describe('build paths outside the workspace', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'build-push-inputs-'));
  const workspace = join(scratch, 'repo');
  beforeAll(() => {
    mkdirSync(join(workspace, 'web'), { recursive: true });
    writeFileSync(join(workspace, 'web', 'Dockerfile'), 'FROM scratch\n');
    mkdirSync(join(scratch, 'outside'));
    writeFileSync(join(scratch, 'outside', 'Dockerfile'), 'FROM scratch\n');
    // A link in the repository that points out of it.
    symlinkSync(join(scratch, 'outside'), join(workspace, 'linked'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  beforeEach(() => {
    core.getInput.mockReset();
  });
  const inWorkspace = { GITHUB_WORKSPACE: workspace, GITHUB_SHA: 'abc123' };

  test.each([
    [
      'a context above the workspace',
      '[{"name": "web", "context": "../outside"}]',
      /context "\.\.\/outside" of web is .*\/outside, outside the workspace/,
    ],
    [
      'the filesystem root',
      '[{"name": "web", "context": "../../../../../../"}]',
      /context .* of web is \/, outside the workspace/,
    ],
    [
      'an absolute context elsewhere',
      `[{"name": "web", "context": "${scratch}/outside"}]`,
      /outside the workspace/,
    ],
    [
      'a context through a symlink out of it',
      '[{"name": "web", "context": "linked"}]',
      /context "linked" of web is .*\/outside, outside the workspace/,
    ],
    [
      'a Dockerfile outside',
      '[{"name": "web", "context": "web", "dockerfile": "../outside/Dockerfile"}]',
      /dockerfile "\.\.\/outside\/Dockerfile" of web is .*, outside the workspace/,
    ],
  ])('%s is refused, naming services and the fix', (_label, services, message) => {
    withInputs({ services });
    expect(() => getInputs(inWorkspace)).toThrow(message);
    expect(() => getInputs(inWorkspace)).toThrow(
      /^Input "services": .*Fix: give a path inside the repository/,
    );
  });

  test('the workspace itself and a path inside it are fine', () => {
    withInputs({ services: '[{"name": "web", "context": ".", "dockerfile": "web/Dockerfile"}]' });
    expect(getInputs(inWorkspace).services[0]!.context).toBe(realpathSync(workspace));
  });
});
