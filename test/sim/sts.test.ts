/**
 * STS as AWS answers it, through the real SDK client: AssumeRoleWithWebIdentity
 * evaluates the role's trust against the token's claims; GetCallerIdentity
 * names the session.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  AssumeRoleCommand,
  AssumeRoleWithWebIdentityCommand,
  GetCallerIdentityCommand,
  STSClient,
  type AssumeRoleWithWebIdentityCommandInput,
} from '@aws-sdk/client-sts';
import { startSim, type Sim } from '../../sim/index.js';
import type { RoleSpec } from '../../sim/iam/model.js';
import {
  githubToken,
  HOST,
  iamSpec,
  PROVIDER_ARN,
  ROLE_ARN,
  scenarioWith,
  STAGING_SUBJECT,
} from './iam-fixture.js';
import { refusal } from './helpers.js';

let sim: Sim;
let sts: STSClient;

const config = (
  url: string,
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
) => ({
  endpoint: url,
  region: 'us-east-1',
  maxAttempts: 1,
  ...(credentials && { credentials }),
});

beforeAll(async () => {
  sim = await startSim({ scenario: scenarioWith(iamSpec()), speed: 1, port: 0 });
  // AssumeRoleWithWebIdentity is unsigned: the client needs no credentials.
  sts = new STSClient(config(sim.url, { accessKeyId: 'unused', secretAccessKey: 'unused' }));
});

afterAll(async () => {
  sts.destroy();
  await sim.close();
});

const assume = (input: Partial<AssumeRoleWithWebIdentityCommandInput> = {}) =>
  sts.send(
    new AssumeRoleWithWebIdentityCommand({
      RoleArn: ROLE_ARN,
      RoleSessionName: 'GitHubActions',
      WebIdentityToken: githubToken(),
      ...input,
    }),
  );

describe('STS AssumeRoleWithWebIdentity', () => {
  it('refuses a subject the trust does not admit (a job outside the staging environment)', async () => {
    const since = sim.events().at(-1)?.seq ?? 0;
    const err = await refusal(
      assume({ WebIdentityToken: githubToken({ sub: 'repo:acme/alva:ref:refs/heads/staging' }) }),
    );
    expect(err).toEqual({
      name: 'AccessDenied',
      message: 'Not authorized to perform sts:AssumeRoleWithWebIdentity',
      status: 403,
    });
    expect(sim.events(since).filter((e) => e.kind === 'sts.session')).toEqual([]);
    expect(sim.events(since).find((e) => e.kind === 'sts.refused')?.detail).toMatchObject({
      role: ROLE_ARN,
      subject: 'repo:acme/alva:ref:refs/heads/staging',
    });
  });

  it('refuses another repository with the same environment name', async () => {
    const err = await refusal(
      assume({ WebIdentityToken: githubToken({ sub: 'repo:evil/alva:environment:staging' }) }),
    );
    expect(err.name).toBe('AccessDenied');
  });

  it('refuses a token for another audience', async () => {
    const err = await refusal(assume({ WebIdentityToken: githubToken({ aud: 'https://github.com/acme' }) }));
    expect(err).toEqual({
      name: 'InvalidIdentityTokenException',
      message: 'Incorrect token audience',
      status: 400,
    });
  });

  it('refuses a token from an issuer the account has no OIDC provider for', async () => {
    const err = await refusal(
      assume({ WebIdentityToken: githubToken({ iss: 'https://issuer.example.com' }) }),
    );
    expect(err.name).toBe('InvalidIdentityTokenException');
    expect(err.message).toBe(
      'No OpenIDConnect provider found in your account for https://issuer.example.com',
    );
  });

  it('refuses an expired token and something that is no JWT', async () => {
    const past = Math.floor(Date.now() / 1000) - 60;
    const expired = await refusal(assume({ WebIdentityToken: githubToken({ exp: past }) }));
    expect(expired.name).toBe('ExpiredTokenException');
    expect(expired.message).toMatch(
      /^Token expired: current date\/time \d+ must be before the expiration date\/time \d+$/,
    );
    const opaque = await refusal(assume({ WebIdentityToken: 'gho_an-access-token-not-a-jwt' }));
    expect(opaque.name).toBe('InvalidIdentityTokenException');
  });

  it('refuses a role that does not exist with the same words as a refused trust', async () => {
    const err = await refusal(assume({ RoleArn: 'arn:aws:iam::123456789012:role/no-such-role' }));
    expect(err).toMatchObject({
      name: 'AccessDenied',
      message: 'Not authorized to perform sts:AssumeRoleWithWebIdentity',
    });
  });

  it('validates its parameters as STS does', async () => {
    const name = await refusal(assume({ RoleSessionName: 'has spaces' }));
    expect(name.name).toBe('ValidationError');
    expect(name.message).toContain("at 'roleSessionName' failed to satisfy constraint");
    const long = await refusal(assume({ DurationSeconds: 7200 }));
    expect(long).toMatchObject({
      name: 'ValidationError',
      message: 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
    });
    const short = await refusal(assume({ DurationSeconds: 60 }));
    expect(short.message).toContain('Member must have value greater than or equal to 900');
  });

  it('issues session credentials for the admitted subject, and GetCallerIdentity names the session', async () => {
    const out = await assume({ DurationSeconds: 900 });
    expect(out.Credentials?.AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(out.Credentials?.SessionToken).toBeTruthy();
    expect(out.Credentials!.Expiration!.getTime()).toBeGreaterThan(sim.now() + 800_000);
    expect(out.AssumedRoleUser?.Arn).toBe(
      'arn:aws:sts::123456789012:assumed-role/alva-staging-github-deploy/GitHubActions',
    );
    expect(out.SubjectFromWebIdentityToken).toBe(STAGING_SUBJECT);
    expect(out.Provider).toBe(`https://${HOST}`);
    expect(out.Audience).toBe('sts.amazonaws.com');

    const session = new STSClient(
      config(sim.url, {
        accessKeyId: out.Credentials!.AccessKeyId!,
        secretAccessKey: out.Credentials!.SecretAccessKey!,
        sessionToken: out.Credentials!.SessionToken!,
      }),
    );
    try {
      const me = await session.send(new GetCallerIdentityCommand({}));
      expect(me).toMatchObject({ Account: '123456789012', Arn: out.AssumedRoleUser?.Arn });
      expect(me.UserId).toMatch(/^AROA[A-Z2-7]{17}:GitHubActions$/);
      const call = sim.calls().findLast((c) => c.operation === 'GetCallerIdentity');
      expect(call?.gate).toMatchObject({ principal: out.AssumedRoleUser?.Arn, decision: 'Allowed' });
    } finally {
      session.destroy();
    }
  });

  it('evaluates StringLike and ForAnyValue conditions over any claim of the provider', async () => {
    const spec = iamSpec();
    spec.roles[0].trust.Statement = [
      {
        Effect: 'Allow',
        Principal: { Federated: PROVIDER_ARN },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: {
          StringEquals: { [`${HOST}:aud`]: 'sts.amazonaws.com' },
          StringLike: { [`${HOST}:sub`]: 'repo:acme/alva:*' },
          'ForAnyValue:StringEquals': {
            [`${HOST}:job_workflow_ref`]: ['acme/alva/.github/workflows/ecs-deploy.yml@refs/heads/staging'],
          },
        },
      },
    ];
    await sim.load(scenarioWith(spec));
    const branch = await assume({
      WebIdentityToken: githubToken({ sub: 'repo:acme/alva:ref:refs/heads/staging' }),
    });
    expect(branch.SubjectFromWebIdentityToken).toBe('repo:acme/alva:ref:refs/heads/staging');
    const otherWorkflow = await refusal(
      assume({
        WebIdentityToken: githubToken({
          job_workflow_ref: 'acme/alva/.github/workflows/other.yml@refs/heads/x',
        }),
      }),
    );
    expect(otherWorkflow.name).toBe('AccessDenied');
    await sim.load(scenarioWith(iamSpec()));
  });

  it('without iam in the scenario, assumes any role without a trust check (no authorization modelled)', async () => {
    await sim.load(scenarioWith(undefined));
    try {
      const out = await assume({
        RoleArn: 'arn:aws:iam::123456789012:role/anything',
        WebIdentityToken: githubToken({ sub: 'repo:x/y:pull_request' }),
      });
      expect(out.AssumedRoleUser?.Arn).toBe('arn:aws:sts::123456789012:assumed-role/anything/GitHubActions');
    } finally {
      await sim.load(scenarioWith(iamSpec()));
    }
  });
});

describe('STS AssumeRole between roles of the account', () => {
  const role = (name: string, principal: string): RoleSpec => ({
    name,
    arn: `arn:aws:iam::123456789012:role/${name}`,
    trust: { Statement: [{ Effect: 'Allow', Principal: { AWS: principal }, Action: 'sts:AssumeRole' }] },
    policies: [],
  });

  afterAll(() => sim.load(scenarioWith(iamSpec())));

  async function assumeFromDeploy(target: string): Promise<{ name: string; message: string } | string> {
    const creds = sim.session(ROLE_ARN);
    const client = new STSClient(config(sim.url, creds));
    try {
      const out = await client.send(new AssumeRoleCommand({ RoleArn: target, RoleSessionName: 'hop' }));
      return out.AssumedRoleUser!.Arn!;
    } catch (err) {
      return { name: (err as Error).name, message: (err as Error).message };
    } finally {
      client.destroy();
    }
  }

  it("a trust naming the account needs the caller's policy to allow sts:AssumeRole; one naming the caller's role does not", async () => {
    const spec = iamSpec();
    spec.roles.push(role('by-account', 'arn:aws:iam::123456789012:root'), role('by-role', ROLE_ARN));
    await sim.load(scenarioWith(spec));
    expect(await assumeFromDeploy('arn:aws:iam::123456789012:role/by-account')).toEqual({
      name: 'AccessDenied',
      message:
        'User: arn:aws:sts::123456789012:assumed-role/alva-staging-github-deploy/sim-admin is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/by-account',
    });
    expect(await assumeFromDeploy('arn:aws:iam::123456789012:role/by-role')).toBe(
      'arn:aws:sts::123456789012:assumed-role/by-role/hop',
    );

    spec.roles[0].policies[0].document.Statement = [
      { Effect: 'Allow', Action: 'sts:AssumeRole', Resource: 'arn:aws:iam::123456789012:role/by-*' },
    ];
    await sim.load(scenarioWith(spec));
    expect(await assumeFromDeploy('arn:aws:iam::123456789012:role/by-account')).toBe(
      'arn:aws:sts::123456789012:assumed-role/by-account/hop',
    );
  });

  it("a trust naming another principal refuses, whatever the caller's policies allow", async () => {
    const spec = iamSpec([{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }]);
    spec.roles.push(role('for-someone-else', 'arn:aws:iam::123456789012:role/someone-else'));
    await sim.load(scenarioWith(spec));
    expect(await assumeFromDeploy('arn:aws:iam::123456789012:role/for-someone-else')).toMatchObject({
      name: 'AccessDenied',
    });
  });
});
