/**
 * STS (Query protocol, Version 2011-06-15, XML replies): AssumeRoleWithWebIdentity,
 * AssumeRole and GetCallerIdentity over the scenario's IAM (sim/iam/model.ts).
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html
 *
 * AssumeRoleWithWebIdentity reads the token's claims (its signature is not
 * verified, sim/iam/jwt.ts), finds the account's OIDC provider for its `iss`
 * and checks `aud` against the provider's client ids, then evaluates the
 * role's trust policy with the provider ARN as the federated principal and
 * every claim as a condition key `<provider host>:<claim>`
 * (token.actions.githubusercontent.com:sub, …:aud, …). Refusals are AWS's:
 * AccessDenied "Not authorized to perform sts:AssumeRoleWithWebIdentity"
 * (also for a role that does not exist), InvalidIdentityToken,
 * ExpiredTokenException, ValidationError.
 *
 * A scenario without `iam` authorizes nothing: any role ARN is assumed
 * without a trust check, as every call is served without one.
 */
import { iamAccountOf, type IamAccount, type Session } from '../iam/account.js';
import { jwtClaims } from '../iam/jwt.js';
import type { RoleSpec } from '../iam/model.js';
import { evaluateTrustPolicy, type ContextValue } from '../iam/policy-eval.js';
import { AwsError, type SimContext, type SimService } from '../service.js';

type Params = Record<string, unknown>;

/** AWS's default session duration; a role's MaxSessionDuration defaults to the same. */
const DEFAULT_DURATION_SECONDS = 3600;

const validation = (message: string) =>
  new AwsError('ValidationError', `1 validation error detected: ${message}`);

function required(params: Params, field: string, member: string, min: number, max: number): string {
  const value = params[field];
  if (typeof value !== 'string')
    throw validation(`Value null at '${member}' failed to satisfy constraint: Member must not be null`);
  if (value.length < min)
    throw validation(
      `Value at '${member}' failed to satisfy constraint: Member must have length greater than or equal to ${min}`,
    );
  if (value.length > max)
    throw validation(
      `Value at '${member}' failed to satisfy constraint: Member must have length less than or equal to ${max}`,
    );
  return value;
}

function sessionName(params: Params): string {
  const name = required(params, 'RoleSessionName', 'roleSessionName', 2, 64);
  if (!/^[\w+=,.@-]*$/.test(name))
    throw validation(
      `Value '${name}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`,
    );
  return name;
}

function durationSeconds(params: Params, role: RoleSpec | undefined): number {
  if (params.DurationSeconds === undefined) return DEFAULT_DURATION_SECONDS;
  const value = Number(params.DurationSeconds);
  if (!Number.isInteger(value) || value < 900)
    throw validation(
      `Value '${String(params.DurationSeconds)}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900`,
    );
  if (value > 43200)
    throw validation(
      `Value '${String(params.DurationSeconds)}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200`,
    );
  if (role && value > (role.maxSessionDurationSeconds ?? DEFAULT_DURATION_SECONDS))
    throw new AwsError(
      'ValidationError',
      'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
    );
  return value;
}

function credentials(session: Session) {
  return {
    AccessKeyId: session.accessKeyId,
    SecretAccessKey: session.secretAccessKey,
    SessionToken: session.sessionToken,
    Expiration: new Date(session.expiration),
  };
}

/** A role the scenario does not list, for a scenario without IAM: any well-formed role ARN. */
function unmodelledRole(arn: string): RoleSpec {
  const name = arn.slice(arn.lastIndexOf('/') + 1);
  return { name, arn, trust: { Statement: [] }, policies: [] };
}

export class StsService implements SimService {
  readonly name = 'sts';
  readonly queryVersion = '2011-06-15';
  readonly xmlNamespace = 'https://sts.amazonaws.com/doc/2011-06-15/';
  readonly mutating = new Set<string>([]);
  private readonly account: IamAccount;

  constructor(private readonly ctx: SimContext) {
    this.account = iamAccountOf(ctx);
  }

  handle(operation: string, params: Params): unknown {
    switch (operation) {
      case 'AssumeRoleWithWebIdentity':
        return this.assumeRoleWithWebIdentity(params);
      case 'AssumeRole':
        return this.assumeRole(params);
      case 'GetCallerIdentity':
        return this.getCallerIdentity();
      default:
        throw new AwsError('InvalidAction', `Could not find operation ${operation} for version 2011-06-15`);
    }
  }

  private roleArn(params: Params): string {
    const arn = required(params, 'RoleArn', 'roleArn', 20, 2048);
    if (!/^arn:aws[\w-]*:iam::\d{12}:role\/.+/.test(arn))
      throw new AwsError('ValidationError', `${arn} is invalid`);
    return arn;
  }

  private assumeRoleWithWebIdentity(params: Params): unknown {
    const denied = () =>
      new AwsError('AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity', 403);
    const roleArn = this.roleArn(params);
    const name = sessionName(params);
    const token = required(params, 'WebIdentityToken', 'webIdentityToken', 4, 20000);
    const role = this.account.modelled ? this.account.role(roleArn) : unmodelledRole(roleArn);
    const duration = durationSeconds(params, role);

    const claims = jwtClaims(token);
    if (!claims)
      throw new AwsError(
        'InvalidIdentityToken',
        'The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)',
      );
    const issuer = typeof claims.iss === 'string' ? claims.iss : '';
    const audiences =
      typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud.map(String) : [];
    // Token lifetimes are judged on the wall clock, the issuer's and STS's (the world's clock runs `speed` times faster).
    const nowSeconds = Math.floor(Date.now() / 1000);
    if (typeof claims.exp !== 'number')
      throw new AwsError('InvalidIdentityToken', 'The token has no expiration (exp) claim');
    if (claims.exp <= nowSeconds)
      throw new AwsError(
        'ExpiredTokenException',
        `Token expired: current date/time ${nowSeconds} must be before the expiration date/time ${claims.exp}`,
      );
    if (typeof claims.nbf === 'number' && claims.nbf > nowSeconds + 300)
      throw new AwsError('InvalidIdentityToken', 'The token is not yet valid (nbf)');
    const subject = typeof claims.sub === 'string' ? claims.sub : undefined;

    if (this.account.modelled) {
      const provider = this.account.oidcProviderFor(issuer);
      if (!provider)
        throw new AwsError(
          'InvalidIdentityToken',
          `No OpenIDConnect provider found in your account for ${issuer}`,
        );
      if (!audiences.some((aud) => provider.clientIds.includes(aud)))
        throw new AwsError('InvalidIdentityToken', 'Incorrect token audience');
      if (!role) throw denied();
      const host = provider.url.replace(/^https:\/\//, '').replace(/\/$/, '');
      const context: Record<string, ContextValue> = {};
      for (const [claim, value] of Object.entries(claims)) {
        if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
          context[`${host}:${claim}`] = String(value);
        else if (Array.isArray(value)) context[`${host}:${claim}`] = value.map(String);
      }
      // "aud" is the audience this provider accepted, as a single value.
      context[`${host}:aud`] = audiences.find((aud) => provider.clientIds.includes(aud)) ?? '';
      const admits = (element: unknown) =>
        federatedPrincipals(element).some((p) => p === '*' || p === provider.arn);
      const decision = evaluateTrustPolicy(
        role.trust,
        admits,
        { principal: provider.arn, action: 'sts:AssumeRoleWithWebIdentity', resource: role.arn, context },
        this.ctx.accountId,
      );
      if (decision !== 'Allowed') {
        this.ctx.event('sts.refused', { role: role.arn, subject, decision });
        throw denied();
      }
    }
    if (!role) throw denied();
    const session = this.account.issue(role, name, duration, 'AssumeRoleWithWebIdentity', subject);
    return {
      Credentials: credentials(session),
      SubjectFromWebIdentityToken: subject,
      AssumedRoleUser: { Arn: session.arn, AssumedRoleId: session.assumedRoleId },
      Provider: issuer,
      Audience: audiences[0],
    };
  }

  /**
   * AssumeRole from a session of this account, authorized here rather than by
   * the gate because trust and identity policies are weighed together: a
   * trust naming the caller's role or session is enough; a trust naming the
   * account also needs the caller's policies to allow sts:AssumeRole.
   */
  private assumeRole(params: Params): unknown {
    const roleArn = this.roleArn(params);
    const name = sessionName(params);
    const role = this.account.modelled ? this.account.role(roleArn) : unmodelledRole(roleArn);
    const duration = durationSeconds(params, role);
    const caller = 'session' in this.account.caller ? this.account.caller.session : undefined;
    const callerArn = caller?.arn ?? `arn:aws:iam::${this.ctx.accountId}:root`;
    const denied = () =>
      new AwsError(
        'AccessDenied',
        `User: ${callerArn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
        403,
      );
    if (this.account.modelled) {
      if (!role || !caller) throw denied();
      const request = { principal: caller.arn, action: 'sts:AssumeRole', resource: role.arn, context: {} };
      const trustFor = (admitted: Set<string>) =>
        evaluateTrustPolicy(
          role.trust,
          (element) => awsPrincipals(element).some((p) => p === '*' || admitted.has(p)),
          request,
          this.ctx.accountId,
        );
      // A trust naming the caller's role or session grants on its own; one naming
      // the account delegates to the caller's identity policies. A Deny anywhere wins.
      const direct = trustFor(new Set([caller.role.arn, caller.arn]));
      const viaAccount = trustFor(new Set([this.ctx.accountId, `arn:aws:iam::${this.ctx.accountId}:root`]));
      const identity = this.account.decide(caller, {
        action: request.action,
        resource: role.arn,
        context: {},
      });
      const decisions = [direct, viaAccount, identity];
      const allowed =
        !decisions.includes('ExplicitlyDenied') &&
        (direct === 'Allowed' || (viaAccount === 'Allowed' && identity === 'Allowed'));
      if (!allowed) throw denied();
    }
    if (!role) throw denied();
    const session = this.account.issue(role, name, duration, 'AssumeRole');
    return {
      Credentials: credentials(session),
      AssumedRoleUser: { Arn: session.arn, AssumedRoleId: session.assumedRoleId },
    };
  }

  private getCallerIdentity(): unknown {
    const caller = this.account.caller;
    if ('session' in caller)
      return { UserId: caller.session.assumedRoleId, Account: this.ctx.accountId, Arn: caller.session.arn };
    // Credentials that are no session (IAM not modelled, or a permissive scenario): the account's root.
    return {
      UserId: this.ctx.accountId,
      Account: this.ctx.accountId,
      Arn: `arn:aws:iam::${this.ctx.accountId}:root`,
    };
  }
}

function values(value: unknown): string[] {
  return typeof value === 'string'
    ? [value]
    : Array.isArray(value)
      ? value.filter((v) => typeof v === 'string')
      : [];
}

/** The Federated principals of a Principal element. */
function federatedPrincipals(element: unknown): string[] {
  if (element === '*') return ['*'];
  return typeof element === 'object' && element !== null
    ? values((element as { Federated?: unknown }).Federated)
    : [];
}

/** The AWS principals of a Principal element. */
function awsPrincipals(element: unknown): string[] {
  if (element === '*') return ['*'];
  return typeof element === 'object' && element !== null ? values((element as { AWS?: unknown }).AWS) : [];
}
