/**
 * The IAM call gate: every call is authorized against the calling session's
 * role before its service sees it, as AWS authorizes a request before the
 * API acts (sim/service.ts CallGate).
 *
 * The caller is the access key in the SigV4 `authorization` header
 * (`Credential=AKID/date/region/service/aws4_request`) with its
 * `x-amz-security-token`; the signature itself is not verified. Each
 * authorization the operation needs (sim/iam/operations.ts) is evaluated
 * against the role's identity-based policies; the first one not allowed
 * refuses the call in AWS's words, naming principal, action and resource.
 */
import type { ServiceParts } from '../registry.js';
import { AwsError, type CallGate, type GatedCall } from '../service.js';
import { iamAccountOf, type IamAccount, type Session } from './account.js';
import {
  authorizationsFor,
  SERVICE_PROTOCOL,
  UNAUTHORIZED_OPERATIONS,
  UNSIGNED_OPERATIONS,
  IAM_PREFIX,
  type Authorization,
  type OperationScope,
} from './operations.js';

/** The access key of a SigV4 `authorization` header, or undefined for an unsigned request. */
export function accessKeyOf(headers: GatedCall['headers']): string | undefined {
  const header = headers.authorization;
  const value = Array.isArray(header) ? header[0] : header;
  return value?.match(/Credential=([^/,\s]+)\//)?.[1];
}

function header(headers: GatedCall['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Errors of authentication and authorization, as each protocol's services word them. */
function refusal(
  protocol: 'json' | 'query',
  kind: 'unsigned' | 'unknown' | 'expired' | 'denied',
  message?: string,
): AwsError {
  const json = protocol === 'json';
  switch (kind) {
    case 'unsigned':
      return json
        ? new AwsError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403)
        : new AwsError('MissingAuthenticationToken', 'Request is missing Authentication Token', 403);
    case 'unknown':
      return json
        ? new AwsError(
            'UnrecognizedClientException',
            'The security token included in the request is invalid.',
            400,
          )
        : new AwsError('InvalidClientTokenId', 'The security token included in the request is invalid.', 403);
    case 'expired':
      return json
        ? new AwsError('ExpiredTokenException', 'The security token included in the request is expired', 400)
        : new AwsError('ExpiredToken', 'The security token included in the request is expired', 403);
    case 'denied':
      return json
        ? new AwsError('AccessDeniedException', message ?? '', 400)
        : new AwsError('AccessDenied', message ?? '', 403);
  }
}

export class IamAuthorizer implements CallGate {
  readonly account: IamAccount;
  private readonly scope: OperationScope;

  constructor(private readonly parts: ServiceParts) {
    this.account = iamAccountOf(parts);
    this.scope = {
      region: parts.region,
      accountId: parts.accountId,
      latestRevision: (family) => parts.ecs.taskDefinitions.get(family)?.length ?? 0,
    };
  }

  check(call: GatedCall): Record<string, unknown> | void {
    const account = this.account;
    const accessKeyId = accessKeyOf(call.headers);
    const found = accessKeyId ? account.session(accessKeyId) : undefined;
    account.caller = found ? { session: found } : { accessKeyId };
    if (!account.modelled) return;

    const protocol = SERVICE_PROTOCOL[call.service] ?? 'json';
    const operation = `${IAM_PREFIX[call.service] ?? call.service}:${call.operation}`;
    if (UNSIGNED_OPERATIONS.has(operation))
      return { principal: 'web-identity', action: operation, decision: 'unsigned' };
    if (!accessKeyId) {
      if (account.mode === 'permissive')
        return { principal: 'anonymous', action: operation, decision: 'not-authorized' };
      throw refusal(protocol, 'unsigned');
    }
    if (!found) {
      if (account.mode === 'permissive')
        return { principal: accessKeyId, action: operation, decision: 'not-authorized' };
      throw refusal(protocol, 'unknown');
    }
    if (header(call.headers, 'x-amz-security-token') !== found.sessionToken)
      throw refusal(protocol, 'unknown');
    if (account.expired(found)) throw refusal(protocol, 'expired');
    if (UNAUTHORIZED_OPERATIONS.has(operation))
      return { principal: found.arn, action: operation, decision: 'Allowed' };

    const needed = authorizationsFor(call.service, call.operation, call.params, this.scope);
    for (const needs of needed) this.authorize(found, needs, protocol);
    return {
      principal: found.arn,
      ...(found.source === 'admin' && { via: 'admin' }),
      action: needed[0]?.action ?? operation,
      resource: needed[0]?.resource,
      ...(needed.length > 1 && { also: needed.slice(1).map((n) => `${n.action} ${n.resource}`) }),
      decision: 'Allowed',
    };
  }

  private authorize(session: Session, needs: Authorization, protocol: 'json' | 'query'): void {
    const context = {
      'aws:PrincipalArn': session.role.arn,
      'aws:PrincipalAccount': this.parts.accountId,
      'aws:PrincipalType': 'AssumedRole',
      'aws:userid': session.assumedRoleId,
      'aws:RequestedRegion': this.parts.region,
      ...needs.context,
    };
    const decision = this.account.decide(session, { ...needs, context });
    if (decision === 'Allowed') return;
    const why =
      decision === 'ExplicitlyDenied'
        ? 'with an explicit deny in an identity-based policy'
        : `because no identity-based policy allows the ${needs.action} action`;
    const message = `User: ${session.arn} is not authorized to perform: ${needs.action} on resource: ${needs.resource} ${why}`;
    this.parts.event('iam.denied', {
      principal: session.arn,
      action: needs.action,
      resource: needs.resource,
      decision,
    });
    throw refusal(protocol, 'denied', message);
  }
}
