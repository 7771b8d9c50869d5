/**
 * The one door to the IAM policy evaluator, @cloud-copilot/iam-simulate
 * (AGPL-3.0): only the simulator imports it, a devDependency that never
 * reaches dist/ (test/architecture/iam-evaluator-boundary.test.ts).
 *
 * It runs AWS's evaluation logic (explicit Deny wins, then any Allow, else an
 * implicit deny) with every condition operator, over policies as written.
 * The synchronous entry point is used on purpose: a call gate decides before
 * the service sees the call, and context keys the evaluator's catalogue does
 * not know (an OIDC provider's `token.actions.githubusercontent.com:sub`)
 * must reach the conditions instead of being filtered out by its validation.
 */
import { runUnsafeSimulation } from '@cloud-copilot/iam-simulate';
import type { PolicyDocument, PolicyStatement } from './model.js';

export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

/** A context key's value: a string, or a list for multivalued keys (ForAnyValue/ForAllValues). */
export type ContextValue = string | string[];

export interface AuthorizationRequest {
  /** The caller: an assumed-role session ARN, or an OIDC provider ARN for a web identity. */
  principal: string;
  /** "ecs:UpdateService" */
  action: string;
  /** The resource ARN, or "*" for an action without resource-level permissions. */
  resource: string;
  context: Record<string, ContextValue>;
}

export interface NamedPolicy {
  name: string;
  document: PolicyDocument;
}

/** Identity-based evaluation: does any of the principal's policies allow the request, and does none deny it. */
export function evaluateIdentityPolicies(
  policies: readonly NamedPolicy[],
  request: AuthorizationRequest,
  accountId: string,
): Decision {
  return runUnsafeSimulation(
    {
      identityPolicies: policies.map((p) => ({ name: p.name, policy: p.document })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      request: {
        principal: request.principal,
        action: request.action,
        resource: { resource: request.resource, accountId },
        contextVariables: request.context,
      },
    },
    {},
  );
}

/**
 * A role's trust policy for a request whose principal AWS already knows (the
 * OIDC provider for AssumeRoleWithWebIdentity): the statements whose
 * Principal (or NotPrincipal) admits it are evaluated, without that element,
 * by the same evaluator, so their Action, Resource and Condition are judged
 * exactly as in any policy. Same account only (no cross-account trust).
 */
export function evaluateTrustPolicy(
  trust: PolicyDocument,
  admitsPrincipal: (principalElement: unknown) => boolean,
  request: AuthorizationRequest,
  accountId: string,
): Decision {
  const statements: PolicyStatement[] = [];
  for (const statement of Array.isArray(trust.Statement) ? trust.Statement : [trust.Statement]) {
    const { Principal, NotPrincipal, ...rest } = statement;
    const applies =
      Principal !== undefined
        ? admitsPrincipal(Principal)
        : NotPrincipal !== undefined
          ? !admitsPrincipal(NotPrincipal)
          : false;
    // A trust policy's resource is the role itself: a statement without Resource covers it.
    if (!applies) continue;
    statements.push(
      rest.Resource === undefined && rest.NotResource === undefined ? { ...rest, Resource: '*' } : rest,
    );
  }
  if (statements.length === 0) return 'ImplicitlyDenied';
  return evaluateIdentityPolicies(
    [{ name: 'trust', document: { Version: trust.Version ?? '2012-10-17', Statement: statements } }],
    request,
    accountId,
  );
}
