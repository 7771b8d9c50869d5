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
  AUTHORIZED_BY_SERVICE,
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

/** A refused call: AWS's error, and what the call log records of it (who, what, and why). */
export class IamRefusal extends AwsError {
  constructor(
    code: string,
    message: string,
    status: number,
    readonly gate: Record<string, unknown>,
  ) {
    super(code, message, status);
  }
}

type RefusalKind = 'unsigned' | 'unknown' | 'expired' | 'denied';

/** Errors of authentication and authorization, as each protocol's services word them. */
function refusal(
  protocol: 'json' | 'query',
  kind: RefusalKind,
  gate: Record<string, unknown>,
  message = '',
): IamRefusal {
  const json = protocol === 'json';
  const invalid = 'The security token included in the request is invalid.';
  const expired = 'The security token included in the request is expired';
  const [code, text, status]: [string, string, number] =
    kind === 'unsigned'
      ? json
        ? ['MissingAuthenticationTokenException', 'Missing Authentication Token', 403]
        : ['MissingAuthenticationToken', 'Request is missing Authentication Token', 403]
      : kind === 'unknown'
        ? json
          ? ['UnrecognizedClientException', invalid, 400]
          : ['InvalidClientTokenId', invalid, 403]
        : kind === 'expired'
          ? json
            ? ['ExpiredTokenException', expired, 400]
            : ['ExpiredToken', expired, 403]
          : json
            ? ['AccessDeniedException', message, 400]
            : ['AccessDenied', message, 403];
  return new IamRefusal(code, text, status, { ...gate, decision: kind === 'denied' ? gate.decision : kind });
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
      latestActiveRevision: (family) =>
        parts.ecs.taskDefinitions.get(family)?.findLast((td) => td.status === 'ACTIVE')?.revision ?? 0,
      taskDefinitionRoles: (ref) => {
        const body = parts.ecs.findTaskDefinition(ref)?.body ?? {};
        const role = (value: unknown) => (typeof value === 'string' ? value : undefined);
        return { taskRoleArn: role(body.taskRoleArn), executionRoleArn: role(body.executionRoleArn) };
      },
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
      throw refusal(protocol, 'unsigned', { principal: 'anonymous', action: operation });
    }
    if (!found) {
      if (account.mode === 'permissive')
        return { principal: accessKeyId, action: operation, decision: 'not-authorized' };
      throw refusal(protocol, 'unknown', { principal: accessKeyId, action: operation });
    }
    const who = { principal: found.arn, action: operation };
    if (header(call.headers, 'x-amz-security-token') !== found.sessionToken)
      throw refusal(protocol, 'unknown', who);
    if (account.expired(found)) throw refusal(protocol, 'expired', who);
    if (AUTHORIZED_BY_SERVICE.has(operation))
      return {
        principal: found.arn,
        action: operation,
        decision: operation === 'sts:GetCallerIdentity' ? 'Allowed' : 'by-service',
      };

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
    throw refusal(
      protocol,
      'denied',
      { principal: session.arn, action: needs.action, resource: needs.resource, decision },
      message,
    );
  }
}
