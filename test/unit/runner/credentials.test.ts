/**
 * The configure-aws-credentials emulation against a small STS on 127.0.0.1
 * that admits one OIDC subject (as a role's trust policy would), and against
 * an endpoint that does not serve STS (the simulator before sim/services/sts.ts
 * answered such calls 400 InvalidAction "Could not route").
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { configureAwsCredentials } from '../../../runner/credentials.js';
import { OidcIssuer, decodeJwtPayload, oidcSubject, type JobIdentity } from '../../../runner/oidc.js';

const ROLE = 'arn:aws:iam::123456789012:role/deploy';
const ADMITTED = 'repo:acme/alva:environment:staging';

interface StsCall {
  action: string;
  params: Record<string, string>;
  accessKeyId?: string;
}

/** Query-protocol STS with one role whose trust admits ADMITTED with aud sts.amazonaws.com. */
function fakeSts(calls: StsCall[]): Server {
  // One IAM user's access key besides the sessions STS issues.
  const sessions = new Map<string, string>([['AKIASTATICUSER', 'arn:aws:iam::123456789012:user/ci']]);
  return createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const params = Object.fromEntries(new URLSearchParams(body)) as Record<string, string>;
      const accessKeyId = /Credential=([^/]+)\//.exec(req.headers.authorization ?? '')?.[1];
      calls.push({ action: params.Action ?? '', params, ...(accessKeyId ? { accessKeyId } : {}) });
      const reply = (status: number, xml: string) => {
        res.writeHead(status, { 'content-type': 'text/xml' });
        res.end(xml);
      };
      const error = (status: number, code: string, message: string) =>
        reply(
          status,
          `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>r</RequestId></ErrorResponse>`,
        );
      if (params.Action === 'AssumeRoleWithWebIdentity') {
        const claims = decodeJwtPayload(params.WebIdentityToken ?? '');
        if (params.RoleArn !== ROLE || claims.sub !== ADMITTED || claims.aud !== 'sts.amazonaws.com') {
          return error(403, 'AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity');
        }
        const key = `ASIASESSION${sessions.size}`;
        const arn = `arn:aws:sts::123456789012:assumed-role/deploy/${params.RoleSessionName}`;
        sessions.set(key, arn);
        return reply(
          200,
          `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult>` +
            `<SubjectFromWebIdentityToken>${String(claims.sub)}</SubjectFromWebIdentityToken><Audience>sts.amazonaws.com</Audience>` +
            `<AssumedRoleUser><Arn>${arn}</Arn><AssumedRoleId>AROADEPLOY:${params.RoleSessionName}</AssumedRoleId></AssumedRoleUser>` +
            `<Credentials><AccessKeyId>${key}</AccessKeyId><SecretAccessKey>secret-of-${key}</SecretAccessKey><SessionToken>token-of-${key}</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration></Credentials>` +
            `</AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>`,
        );
      }
      if (params.Action === 'GetCallerIdentity') {
        const arn = sessions.get(accessKeyId ?? '');
        if (!arn)
          return error(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
        return reply(
          200,
          `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>` +
            `<Arn>${arn}</Arn><UserId>AROADEPLOY:x</UserId><Account>123456789012</Account>` +
            `</GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
        );
      }
      return error(400, 'InvalidAction', `Could not find operation ${params.Action}`);
    });
  });
}

const github = {
  repository: 'acme/alva',
  ref: 'refs/heads/staging',
  sha: 'c0ffee0000000000000000000000000000000000',
  event_name: 'push',
  run_id: '1',
  run_number: '1',
  run_attempt: '1',
  actor: 'octocat',
  workflow: 'Deploy staging',
};
const issuer = new OidcIssuer();
const minter = (environment?: string) => {
  const identity: JobIdentity = {
    github,
    ...(environment ? { environment } : {}),
    workflowRef: 'acme/alva/.github/workflows/deploy-staging.yml@refs/heads/staging',
    jobWorkflowRef: 'acme/alva/.github/workflows/ecs-deploy.yml@refs/heads/staging',
  };
  return (audience: string) => ({ token: issuer.mint(identity, audience), subject: oidcSubject(identity) });
};

let server: Server;
let endpoint: string;
const calls: StsCall[] = [];
beforeAll(async () => {
  server = fakeSts(calls);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe('configure-aws-credentials with role-to-assume', () => {
  it('fails with AWS’s refusal when the trust does not admit the subject the job presents', async () => {
    calls.length = 0;
    const effect = await configureAwsCredentials(
      { 'role-to-assume': ROLE, 'aws-region': 'us-east-1' },
      { env: { AWS_ENDPOINT_URL: endpoint }, idToken: minter() },
    );
    expect(effect.ok).toBe(false);
    expect(effect.log).toContain(
      'Error: Could not assume role with OIDC: Not authorized to perform sts:AssumeRoleWithWebIdentity',
    );
    expect(effect.log).toContain(
      'OIDC token for the job: sub repo:acme/alva:ref:refs/heads/staging, aud sts.amazonaws.com',
    );
    expect(effect.env.AWS_ACCESS_KEY_ID).toBeUndefined();
    expect(calls.map((c) => c.action)).toEqual(['AssumeRoleWithWebIdentity']);
  });

  it('assumes the role with the job’s token, exports the session and reads the account with it', async () => {
    calls.length = 0;
    const effect = await configureAwsCredentials(
      { 'role-to-assume': ROLE, 'aws-region': 'eu-west-1', 'role-duration-seconds': '900' },
      { env: { AWS_ENDPOINT_URL: endpoint }, idToken: minter('staging') },
    );
    expect(effect.log.join('\n')).not.toContain('Error');
    expect(effect.ok).toBe(true);
    const [assume, whoami] = calls;
    expect(assume?.action).toBe('AssumeRoleWithWebIdentity');
    // Unsigned, as the SDK sends it: the token is the credential.
    expect(assume?.accessKeyId).toBeUndefined();
    expect(assume?.params).toMatchObject({
      RoleArn: ROLE,
      RoleSessionName: 'GitHubActions',
      DurationSeconds: '900',
    });
    expect(decodeJwtPayload(assume!.params.WebIdentityToken!)).toMatchObject({
      sub: ADMITTED,
      aud: 'sts.amazonaws.com',
      iss: 'https://token.actions.githubusercontent.com',
    });
    // GetCallerIdentity signed with the session just exported.
    expect(whoami).toMatchObject({ action: 'GetCallerIdentity', accessKeyId: effect.env.AWS_ACCESS_KEY_ID });
    expect(effect.env).toMatchObject({
      AWS_REGION: 'eu-west-1',
      AWS_DEFAULT_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: expect.stringMatching(/^ASIASESSION/),
      AWS_SECRET_ACCESS_KEY: expect.stringMatching(/^secret-of-/),
      AWS_SESSION_TOKEN: expect.stringMatching(/^token-of-/),
    });
    expect(effect.masks).toEqual(
      expect.arrayContaining([
        effect.env.AWS_ACCESS_KEY_ID,
        effect.env.AWS_SECRET_ACCESS_KEY,
        effect.env.AWS_SESSION_TOKEN,
        assume!.params.WebIdentityToken,
      ]),
    );
    expect(effect.outputs).toEqual({ 'aws-account-id': '123456789012' });
    expect(effect.assumed).toEqual({
      role: ROLE,
      sessionName: 'GitHubActions',
      subject: ADMITTED,
      audience: 'sts.amazonaws.com',
      callerArn: 'arn:aws:sts::123456789012:assumed-role/deploy/GitHubActions',
      via: 'oidc',
    });
  });

  it('presents the audience and session name it is given', async () => {
    calls.length = 0;
    const effect = await configureAwsCredentials(
      {
        'role-to-assume': ROLE,
        'aws-region': 'us-east-1',
        audience: 'other',
        'role-session-name': 'release-7',
      },
      { env: { AWS_ENDPOINT_URL: endpoint }, idToken: minter('staging') },
    );
    expect(effect.ok).toBe(false);
    expect(calls[0]?.params.RoleSessionName).toBe('release-7');
    expect(decodeJwtPayload(calls[0]!.params.WebIdentityToken!).aud).toBe('other');
  });

  it('without id-token: write and no keys anywhere, fails as the action does on a hosted runner', async () => {
    calls.length = 0;
    const effect = await configureAwsCredentials(
      { 'role-to-assume': ROLE, 'aws-region': 'us-east-1' },
      { env: { AWS_ENDPOINT_URL: endpoint } },
    );
    expect(effect.ok).toBe(false);
    expect(effect.log[0]).toMatch(/Did you mean to set the `id-token` permission\?/);
    expect(effect.log).toContain(
      'Error: Credentials could not be loaded, please check your action inputs: Could not load credentials from any providers',
    );
    expect(calls).toEqual([]);
  });

  it('refuses inputs it does not emulate and warns of unknown ones', async () => {
    const chained = await configureAwsCredentials(
      { 'role-to-assume': ROLE, 'aws-region': 'us-east-1', 'role-chaining': 'true', 'role-arn': 'x' },
      { env: { AWS_ENDPOINT_URL: endpoint }, idToken: minter('staging') },
    );
    expect(chained.ok).toBe(false);
    expect(chained.log[0]).toMatch(
      /^Warning: Unexpected input\(s\) 'role-arn', valid inputs are \['audience'/,
    );
    expect(chained.log).toContain(
      'Error: the local runner does not emulate the input "role-chaining": role chaining is not emulated',
    );
    const noRegion = await configureAwsCredentials({ 'role-to-assume': ROLE }, { env: {} });
    expect(noRegion.log).toEqual(['Error: Input required and not supplied: aws-region']);
  });
});

describe('configure-aws-credentials with access keys', () => {
  it('exports the keys given, masked, and reads the account with them', async () => {
    calls.length = 0;
    const effect = await configureAwsCredentials(
      {
        'aws-access-key-id': 'AKIASTATICUSER',
        'aws-secret-access-key': 'user-secret',
        'aws-region': 'us-east-1',
      },
      { env: { AWS_ENDPOINT_URL: endpoint } },
    );
    expect(effect.ok).toBe(true);
    expect(effect.log).toContain('Proceeding with IAM user credentials');
    expect(effect.env).toMatchObject({
      AWS_ACCESS_KEY_ID: 'AKIASTATICUSER',
      AWS_SECRET_ACCESS_KEY: 'user-secret',
    });
    expect(effect.masks).toEqual(expect.arrayContaining(['AKIASTATICUSER', 'user-secret']));
    expect(calls).toEqual([
      expect.objectContaining({ action: 'GetCallerIdentity', accessKeyId: 'AKIASTATICUSER' }),
    ]);
    expect(effect.outputs).toEqual({ 'aws-account-id': '123456789012' });
  });

  it('fails with AWS’s answer when the keys are not valid, and asks for the secret with the key id', async () => {
    const invalid = await configureAwsCredentials(
      { 'aws-access-key-id': 'AKIAUNKNOWN', 'aws-secret-access-key': 's', 'aws-region': 'us-east-1' },
      { env: { AWS_ENDPOINT_URL: endpoint } },
    );
    expect(invalid.ok).toBe(false);
    expect(invalid.log.at(-1)).toBe('Error: The security token included in the request is invalid.');
    const half = await configureAwsCredentials(
      { 'aws-access-key-id': 'AKIASTATICUSER', 'aws-region': 'us-east-1' },
      { env: { AWS_ENDPOINT_URL: endpoint } },
    );
    expect(half.log.at(-1)).toBe(
      "Error: 'aws-secret-access-key' must be provided if 'aws-access-key-id' is provided",
    );
  });
});

describe('an endpoint that does not serve STS', () => {
  let noSts: Server;
  let url: string;
  beforeAll(async () => {
    noSts = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(400, { 'content-type': 'text/xml' });
        res.end(
          `<ErrorResponse><Error><Code>InvalidAction</Code><Message>Could not route ${req.method} ${req.url}</Message></Error><RequestId>r</RequestId></ErrorResponse>`,
        );
      });
    });
    await new Promise<void>((resolve) => noSts.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(noSts.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => noSts.close(resolve));
  });

  it('fails the step, naming the fix, instead of handing out static keys', async () => {
    const effect = await configureAwsCredentials(
      { 'role-to-assume': ROLE, 'aws-region': 'us-east-1' },
      {
        env: { AWS_ENDPOINT_URL: url, AWS_ACCESS_KEY_ID: 'AKIARUNNER', AWS_SECRET_ACCESS_KEY: 's' },
        idToken: minter('staging'),
      },
    );
    expect(effect.ok).toBe(false);
    expect(effect.log.at(-1)).toMatch(
      new RegExp(
        `^Error: the AWS endpoint ${url} does not serve STS AssumeRoleWithWebIdentity .*staticAwsCredentials`,
      ),
    );
    expect(effect.env.AWS_ACCESS_KEY_ID).toBeUndefined();
  });

  it('with staticAwsCredentials, exports the runner’s keys for the role and says so', async () => {
    const effect = await configureAwsCredentials(
      { 'role-to-assume': ROLE, 'aws-region': 'us-east-1' },
      {
        env: {
          AWS_ENDPOINT_URL: url,
          AWS_ACCESS_KEY_ID: 'AKIARUNNER',
          AWS_SECRET_ACCESS_KEY: 'runner-secret',
        },
        idToken: minter('staging'),
        staticAwsCredentials: true,
      },
    );
    expect(effect.ok).toBe(true);
    expect(effect.env).toMatchObject({
      AWS_ACCESS_KEY_ID: 'AKIARUNNER',
      AWS_SECRET_ACCESS_KEY: 'runner-secret',
    });
    expect(effect.masks).toContain('runner-secret');
    expect(effect.log.join('\n')).toContain(
      `role ${ROLE} NOT assumed: the runner's static credentials stand in`,
    );
    expect(effect.assumed).toMatchObject({ role: ROLE, subject: ADMITTED, via: 'runner-static' });
  });
});
