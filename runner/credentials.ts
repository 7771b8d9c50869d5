/**
 * aws-actions/configure-aws-credentials (v4), replaced by what it does, against
 * the AWS endpoint the job is given (the simulator):
 * - `role-to-assume` with the job's OIDC token (the job has `id-token: write`):
 *   sts:AssumeRoleWithWebIdentity with the token the runner mints for the job
 *   (runner/oidc.ts), `role-session-name` (GitHubActions) and
 *   `role-duration-seconds` (3600); the trust policy of the role decides.
 * - `role-to-assume` without a token: the action falls back to credentials
 *   already in the environment and fails when there are none, as it does on a
 *   GitHub-hosted runner whose job lacks `id-token: write`.
 * - `aws-access-key-id` / `aws-secret-access-key`: exported as given (and used
 *   for sts:AssumeRole when a role is named too).
 * Then AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION
 * and AWS_DEFAULT_REGION for the job's later steps, the keys masked, and the
 * `aws-account-id` output from sts:GetCallerIdentity with those credentials.
 * Error texts are the action's, so a log reads as it would on GitHub.
 *
 * A simulator that does not serve STS fails the step: the runner's own static
 * keys stand in for a role only when the runner is told so (staticAwsCredentials).
 */
import {
  AssumeRoleCommand,
  AssumeRoleWithWebIdentityCommand,
  GetCallerIdentityCommand,
  STSClient,
  type Credentials,
} from '@aws-sdk/client-sts';

/** One role assumption of a job, for the run's report. */
export interface AssumedRole {
  /** The role-to-assume ARN ('' for static keys without a role). */
  role: string;
  sessionName: string;
  /** The OIDC subject presented (when a token was used). */
  subject?: string;
  audience?: string;
  /** sts:GetCallerIdentity's Arn with the exported credentials (the session's assumed-role ARN). */
  callerArn?: string;
  /** How the credentials were had (or asked for). */
  via: 'oidc' | 'access-keys' | 'runner-static';
  /** Why the step got no credentials, when it failed. */
  refused?: string;
}

export interface CredentialsEffect {
  ok: boolean;
  log: string[];
  env: Record<string, string>;
  masks: string[];
  outputs: Record<string, string>;
  assumed?: AssumedRole;
}

export interface CredentialsContext {
  /** The environment the step would run with (AWS_ENDPOINT_URL, any AWS_* credentials). */
  env: Record<string, string>;
  /** The job's OIDC token for an audience; undefined when the job lacks `id-token: write`. */
  idToken?: (audience: string) => { token: string; subject: string };
  /** Let the runner's own keys stand in for any role, without STS (explicitly asked for: tests, worlds without IAM). */
  staticAwsCredentials?: boolean;
}

/** The inputs of configure-aws-credentials v4 (its action.yml). */
const V4_INPUTS = [
  'audience',
  'aws-access-key-id',
  'aws-secret-access-key',
  'aws-session-token',
  'aws-region',
  'mask-aws-account-id',
  'role-to-assume',
  'web-identity-token-file',
  'role-duration-seconds',
  'role-session-name',
  'role-external-id',
  'role-skip-session-tagging',
  'inline-session-policy',
  'managed-session-policies',
  'output-credentials',
  'unset-current-credentials',
  'disable-retry',
  'retry-max-attempts',
  'special-characters-workaround',
  'role-chaining',
  'http-proxy',
];

/** v4 inputs whose effect this emulation does not reproduce: asking for one fails the step, never passes silently. */
const NOT_EMULATED: Record<string, string> = {
  'web-identity-token-file': 'a token file (EKS) is not how a GitHub job gets its token',
  'role-chaining': 'role chaining is not emulated',
  'http-proxy': 'the runner reaches the simulator directly',
};

const DEFAULT_SESSION_NAME = 'GitHubActions';
const DEFAULT_ROLE_DURATION_S = 3600;
const REGION = /^[a-z0-9-]+$/;

function failure(log: string[], message: string, env: Record<string, string> = {}): CredentialsEffect {
  return { ok: false, log: [...log, `Error: ${message}`], env, masks: [], outputs: {} };
}

function isTrue(value: string | undefined): boolean {
  return (value ?? '').trim().toLowerCase() === 'true';
}

/** The simulator (or any endpoint) answering STS as a service it does not know. */
function stsUnknown(err: unknown): boolean {
  const e = err as {
    name?: string;
    Code?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const code = e.name ?? e.Code ?? '';
  return (
    code === 'InvalidAction' ||
    code === 'UnknownOperationException' ||
    /Could not route/.test(e.message ?? '') ||
    e.$metadata?.httpStatusCode === 404
  );
}

function errorText(err: unknown): string {
  return (err as Error).message ?? String(err);
}

function stsClient(region: string, endpoint: string, credentials?: Credentials): STSClient {
  return new STSClient({
    region,
    endpoint,
    // configure-aws-credentials retries on its own (12 times by default); here one try tells.
    maxAttempts: 1,
    ...(credentials
      ? {
          credentials: {
            accessKeyId: credentials.AccessKeyId!,
            secretAccessKey: credentials.SecretAccessKey!,
            ...(credentials.SessionToken ? { sessionToken: credentials.SessionToken } : {}),
          },
        }
      : {}),
  });
}

/** Runs the action's effect. Never throws: a failure is an effect with ok false and the action's message. */
export async function configureAwsCredentials(
  inputs: Record<string, string>,
  ctx: CredentialsContext,
): Promise<CredentialsEffect> {
  const log: string[] = [];
  const unexpected = Object.keys(inputs).filter((name) => !V4_INPUTS.includes(name));
  if (unexpected.length) {
    // GitHub's runner warns, then runs the action, which ignores them.
    log.push(
      `Warning: Unexpected input(s) '${unexpected.join("', '")}', valid inputs are ['${V4_INPUTS.join("', '")}']`,
    );
  }
  for (const [name, why] of Object.entries(NOT_EMULATED)) {
    if (inputs[name]) return failure(log, `the local runner does not emulate the input "${name}": ${why}`);
  }
  const region = inputs['aws-region'] ?? '';
  if (!region) return failure(log, 'Input required and not supplied: aws-region');
  if (!REGION.test(region)) return failure(log, `Region is not valid: ${region}`);
  const env: Record<string, string> = { AWS_REGION: region, AWS_DEFAULT_REGION: region };
  const roleToAssume = inputs['role-to-assume'] ?? '';
  const accessKeyId = inputs['aws-access-key-id'] ?? '';
  const secretAccessKey = inputs['aws-secret-access-key'] ?? '';
  const sessionToken = inputs['aws-session-token'] || undefined;
  const audience = inputs.audience || 'sts.amazonaws.com';
  const sessionName = inputs['role-session-name'] || DEFAULT_SESSION_NAME;
  const duration = Number.parseInt(inputs['role-duration-seconds'] ?? '', 10) || DEFAULT_ROLE_DURATION_S;
  const maskAccountId = isTrue(inputs['mask-aws-account-id']);
  const outputCredentials = isTrue(inputs['output-credentials']);
  const endpoint = ctx.env.AWS_ENDPOINT_URL_STS || ctx.env.AWS_ENDPOINT_URL || '';
  const masks: string[] = [];
  const outputs: Record<string, string> = {};

  const exportCredentials = (creds: Credentials) => {
    env.AWS_ACCESS_KEY_ID = creds.AccessKeyId!;
    env.AWS_SECRET_ACCESS_KEY = creds.SecretAccessKey!;
    masks.push(creds.AccessKeyId!, creds.SecretAccessKey!);
    if (creds.SessionToken) {
      env.AWS_SESSION_TOKEN = creds.SessionToken;
      masks.push(creds.SessionToken);
    } else {
      // The action clears a session token left by an earlier step when the new keys have none.
      env.AWS_SESSION_TOKEN = '';
    }
    if (outputCredentials) {
      outputs['aws-access-key-id'] = creds.AccessKeyId!;
      outputs['aws-secret-access-key'] = creds.SecretAccessKey!;
      if (creds.SessionToken) outputs['aws-session-token'] = creds.SessionToken;
    }
  };

  if (ctx.staticAwsCredentials) {
    // Explicitly asked for: no STS, the runner's keys stand in (the token is still minted, to report its subject).
    const subject = roleToAssume && ctx.idToken ? ctx.idToken(audience).subject : undefined;
    if (roleToAssume && !ctx.idToken && !accessKeyId) {
      return failure(
        [...log, oidcHint()],
        'Credentials could not be loaded, please check your action inputs: Could not load credentials from any providers',
        env,
      );
    }
    exportCredentials({
      AccessKeyId: accessKeyId || ctx.env.AWS_ACCESS_KEY_ID || 'ASIALOCALRUNNER00000',
      SecretAccessKey: secretAccessKey || ctx.env.AWS_SECRET_ACCESS_KEY || 'local-runner-secret-access-key',
      SessionToken: sessionToken ?? 'local-runner-session-token',
      Expiration: undefined,
    });
    log.push(
      `${roleToAssume ? `role ${roleToAssume} NOT assumed` : 'no role'}: the runner's static credentials stand in (staticAwsCredentials), region ${region}`,
    );
    return {
      ok: true,
      log,
      env,
      masks,
      outputs,
      assumed: {
        role: roleToAssume,
        sessionName,
        ...(subject ? { subject, audience } : {}),
        via: 'runner-static',
      },
    };
  }

  if (!endpoint) {
    return failure(
      log,
      'no AWS endpoint for STS (AWS_ENDPOINT_URL): the local runner assumes roles only through the simulator',
      env,
    );
  }

  const notServed = (operation: string, err: unknown) =>
    failure(
      log,
      `the AWS endpoint ${endpoint} does not serve STS ${operation} (${errorText(err)}): ` +
        'a simulator without STS cannot assume roles; run the runner with staticAwsCredentials to let its own keys stand in',
      env,
    );

  let credentials: Credentials | undefined;
  let assumed: AssumedRole | undefined;
  /** A failure that still tells the report what was asked for and why it was refused. */
  const refusedAs = (attempt: AssumedRole, effect: CredentialsEffect): CredentialsEffect => ({
    ...effect,
    assumed: { ...attempt, refused: effect.log.at(-1)!.replace(/^Error: /, '') },
  });
  const useOidc = Boolean(roleToAssume) && !accessKeyId && Boolean(ctx.idToken);
  if (roleToAssume && !accessKeyId && !ctx.idToken) log.push(oidcHint());

  if (useOidc) {
    const { token, subject } = ctx.idToken!(audience);
    masks.push(token);
    // Not the action's line: the runner says which identity the job presented, as GitHub's token would carry it.
    log.push(`OIDC token for the job: sub ${subject}, aud ${audience}`);
    const client = stsClient(region, endpoint);
    try {
      const out = await client.send(
        new AssumeRoleWithWebIdentityCommand({
          RoleArn: roleToAssume,
          RoleSessionName: sessionName,
          DurationSeconds: duration,
          WebIdentityToken: token,
          ...(inputs['inline-session-policy'] ? { Policy: inputs['inline-session-policy'] } : {}),
          ...managedPolicies(inputs),
        }),
      );
      credentials = out.Credentials;
      log.push(`Authenticated as assumedRoleId ${out.AssumedRoleUser?.AssumedRoleId ?? '?'}`);
      assumed = { role: roleToAssume, sessionName, subject, audience, via: 'oidc' };
    } catch (err) {
      const attempt: AssumedRole = { role: roleToAssume, sessionName, subject, audience, via: 'oidc' };
      if (stsUnknown(err)) return refusedAs(attempt, notServed('AssumeRoleWithWebIdentity', err));
      return refusedAs(attempt, failure(log, `Could not assume role with OIDC: ${errorText(err)}`, env));
    } finally {
      client.destroy();
    }
  } else {
    // Keys given as inputs, else the environment's (the action's default provider chain).
    const source: Credentials | undefined = accessKeyId
      ? {
          AccessKeyId: accessKeyId,
          SecretAccessKey: secretAccessKey,
          SessionToken: sessionToken,
          Expiration: undefined,
        }
      : !isTrue(inputs['unset-current-credentials']) &&
          ctx.env.AWS_ACCESS_KEY_ID &&
          ctx.env.AWS_SECRET_ACCESS_KEY
        ? {
            AccessKeyId: ctx.env.AWS_ACCESS_KEY_ID,
            SecretAccessKey: ctx.env.AWS_SECRET_ACCESS_KEY,
            SessionToken: ctx.env.AWS_SESSION_TOKEN || undefined,
            Expiration: undefined,
          }
        : undefined;
    if (accessKeyId && !secretAccessKey) {
      return failure(log, "'aws-secret-access-key' must be provided if 'aws-access-key-id' is provided", env);
    }
    if (!source) {
      return refusedAs(
        { role: roleToAssume, sessionName, via: roleToAssume ? 'oidc' : 'access-keys' },
        failure(
          log,
          'Credentials could not be loaded, please check your action inputs: Could not load credentials from any providers',
          env,
        ),
      );
    }
    if (accessKeyId) exportCredentials(source);
    if (roleToAssume) {
      const client = stsClient(region, endpoint, source);
      try {
        const out = await client.send(
          new AssumeRoleCommand({
            RoleArn: roleToAssume,
            RoleSessionName: sessionName,
            DurationSeconds: duration,
            ...(inputs['role-external-id'] ? { ExternalId: inputs['role-external-id'] } : {}),
            ...(inputs['inline-session-policy'] ? { Policy: inputs['inline-session-policy'] } : {}),
            ...managedPolicies(inputs),
          }),
        );
        credentials = out.Credentials;
        log.push(`Authenticated as assumedRoleId ${out.AssumedRoleUser?.AssumedRoleId ?? '?'}`);
        assumed = { role: roleToAssume, sessionName, via: 'access-keys' };
      } catch (err) {
        const attempt: AssumedRole = { role: roleToAssume, sessionName, via: 'access-keys' };
        if (stsUnknown(err)) return refusedAs(attempt, notServed('AssumeRole', err));
        return refusedAs(
          attempt,
          failure(log, `Could not assume role with user credentials: ${errorText(err)}`, env),
        );
      } finally {
        client.destroy();
      }
    } else {
      credentials = source;
      log.push('Proceeding with IAM user credentials');
      assumed = { role: '', sessionName: '', via: 'access-keys' };
    }
  }

  exportCredentials(credentials!);
  // The account id, read with the credentials just exported (as the action's exportAccountId does).
  const client = stsClient(region, endpoint, credentials);
  try {
    const identity = await client.send(new GetCallerIdentityCommand({}));
    outputs['aws-account-id'] = identity.Account ?? '';
    if (maskAccountId && identity.Account) masks.push(identity.Account);
    assumed = { ...assumed!, ...(identity.Arn ? { callerArn: identity.Arn } : {}) };
  } catch (err) {
    if (stsUnknown(err)) return notServed('GetCallerIdentity', err);
    return failure(log, errorText(err), env);
  } finally {
    client.destroy();
  }
  return { ok: true, log, env, masks, outputs, assumed };
}

function managedPolicies(inputs: Record<string, string>): { PolicyArns?: { arn: string }[] } {
  const arns = (inputs['managed-session-policies'] ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return arns.length ? { PolicyArns: arns.map((arn) => ({ arn })) } : {};
}

/** What the action prints when a role is named but the job has no OIDC token. */
function oidcHint(): string {
  return (
    'It looks like you might be trying to authenticate with OIDC. Did you mean to set the `id-token` permission? ' +
    'If you are not trying to authenticate with OIDC and the action is working successfully, you can ignore this message.'
  );
}
