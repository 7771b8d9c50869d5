import { describe, expect, it } from '@jest/globals';
import { createPublicKey, verify } from 'node:crypto';
import {
  OidcIssuer,
  decodeJwtPayload,
  oidcSubject,
  workflowRefOf,
  type JobIdentity,
} from '../../../runner/oidc.js';

const github = {
  repository: 'acme/alva',
  repository_owner: 'acme',
  ref: 'refs/heads/staging',
  sha: 'c0ffee0000000000000000000000000000000000',
  event_name: 'workflow_dispatch',
  run_id: '42',
  run_number: '7',
  run_attempt: '1',
  actor: 'octocat',
  workflow: 'Deploy staging',
};

const identity = (over: Partial<JobIdentity> = {}): JobIdentity => ({
  github,
  workflowRef: workflowRefOf('acme/alva', '.github/workflows/deploy-staging.yml', 'refs/heads/staging'),
  jobWorkflowRef: workflowRefOf('acme/alva', './.github/workflows/ecs-deploy.yml', 'refs/heads/staging'),
  ...over,
});

describe('oidcSubject', () => {
  it('names the environment when the job has one, whatever the event', () => {
    expect(oidcSubject({ github, environment: 'staging' })).toBe('repo:acme/alva:environment:staging');
    expect(oidcSubject({ github: { ...github, event_name: 'pull_request' }, environment: 'staging' })).toBe(
      'repo:acme/alva:environment:staging',
    );
  });

  it('is pull_request for a pull request without an environment', () => {
    expect(oidcSubject({ github: { ...github, event_name: 'pull_request', ref: 'refs/pull/3/merge' } })).toBe(
      'repo:acme/alva:pull_request',
    );
  });

  it('is the branch or tag ref otherwise', () => {
    expect(oidcSubject({ github })).toBe('repo:acme/alva:ref:refs/heads/staging');
    expect(oidcSubject({ github: { ...github, ref: 'refs/tags/v1.2.0' } })).toBe(
      'repo:acme/alva:ref:refs/tags/v1.2.0',
    );
  });
});

describe('OidcIssuer', () => {
  it('mints an RS256 JWT that verifies with the run key and carries the documented claims', () => {
    const issuer = new OidcIssuer();
    const token = issuer.mint(identity({ environment: 'staging' }), 'sts.amazonaws.com', 1_700_000_000);
    const [header, payload, signature] = token.split('.');
    expect(JSON.parse(Buffer.from(header!, 'base64url').toString())).toEqual({
      typ: 'JWT',
      alg: 'RS256',
      kid: issuer.keyId,
    });
    const ok = verify(
      'sha256',
      Buffer.from(`${header}.${payload}`),
      createPublicKey(issuer.publicKeyPem),
      Buffer.from(signature!, 'base64url'),
    );
    expect(ok).toBe(true);
    const claims = decodeJwtPayload(token);
    expect(claims).toMatchObject({
      iss: 'https://token.actions.githubusercontent.com',
      aud: 'sts.amazonaws.com',
      sub: 'repo:acme/alva:environment:staging',
      environment: 'staging',
      repository: 'acme/alva',
      repository_owner: 'acme',
      ref: 'refs/heads/staging',
      ref_type: 'branch',
      sha: github.sha,
      workflow: 'Deploy staging',
      event_name: 'workflow_dispatch',
      run_id: '42',
      run_attempt: '1',
      actor: 'octocat',
      workflow_ref: 'acme/alva/.github/workflows/deploy-staging.yml@refs/heads/staging',
      job_workflow_ref: 'acme/alva/.github/workflows/ecs-deploy.yml@refs/heads/staging',
      iat: 1_700_000_000,
      nbf: 1_699_999_995,
      exp: 1_700_000_300,
    });
    expect(typeof claims.jti).toBe('string');
  });

  it('gives each token its own id, and a job without an environment no environment claim', () => {
    const issuer = new OidcIssuer();
    const a = decodeJwtPayload(issuer.mint(identity(), 'sts.amazonaws.com'));
    const b = decodeJwtPayload(issuer.mint(identity(), 'my-audience'));
    expect(a.jti).not.toBe(b.jti);
    expect(a).not.toHaveProperty('environment');
    expect(a.sub).toBe('repo:acme/alva:ref:refs/heads/staging');
    expect(b.aud).toBe('my-audience');
  });
});
