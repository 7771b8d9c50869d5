/**
 * IAM of one loaded world: the scenario's roles, policies and OIDC providers,
 * the STS sessions issued so far, and the identity-policy decisions made for
 * them. STS (sim/services/sts.ts) issues sessions, the authorization gate
 * (sim/iam/authorizer.ts) reads them: both get this one object for their
 * world through iamAccountOf(parts).
 */
import { randomBytes } from 'node:crypto';
import type { SimContext } from '../service.js';
import type { IamSpec, OidcProviderSpec, RoleSpec } from './model.js';
import {
  evaluateIdentityPolicies,
  type AuthorizationRequest,
  type Decision,
  type NamedPolicy,
} from './policy-eval.js';

/** How a session came to be: through STS, or handed out by the control API as an administrator would. */
export type SessionSource = 'AssumeRoleWithWebIdentity' | 'AssumeRole' | 'admin';

export interface Session {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** Simulated epoch ms. */
  expiration: number;
  role: RoleSpec;
  sessionName: string;
  /** arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION */
  arn: string;
  /** ROLEID:SESSION */
  assumedRoleId: string;
  source: SessionSource;
  /** For web identities: the token's subject. */
  subject?: string;
}

/** The caller of the call being served (set by the gate just before the service sees it). */
export type Caller = { session: Session } | { accessKeyId?: string };

/** Cached decisions per world. */
const MAX_DECISIONS = 10_000;

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function randomId(prefix: string, length: number): string {
  const bytes = randomBytes(length - prefix.length);
  return prefix + [...bytes].map((b) => ALNUM[b % ALNUM.length]).join('');
}

export class IamAccount {
  private readonly sessions = new Map<string, Session>();
  private readonly roleIds = new Map<string, string>();
  private readonly policiesByRole = new Map<string, NamedPolicy[]>();
  /** role ARN + request → decision; dropped when a CloudFormation update changes IAM (replaceSpec). */
  private readonly decisions = new Map<string, Decision>();
  /** Who makes the call being served; STS GetCallerIdentity answers it. */
  caller: Caller = {};

  constructor(
    /** Replaced only by replaceSpec (a CloudFormation update, sim/cfn). */
    public spec: IamSpec | undefined,
    readonly accountId: string,
    private readonly now: () => number,
    private readonly event: (kind: string, detail: Record<string, unknown>) => void = () => {},
  ) {}

  /**
   * The account's IAM after a CloudFormation update changed roles or policies (sim/cfn):
   * sessions keep their role by ARN and read its new policies (a role that is gone grants
   * nothing), and every cached policy set and decision is dropped. Enforcement keeps its mode.
   */
  replaceSpec(next: IamSpec): void {
    if (!this.spec) return;
    this.spec = { ...next, mode: this.spec.mode };
    for (const session of this.sessions.values()) {
      const role = next.roles.find((r) => r.arn === session.role.arn);
      session.role = role ?? { ...session.role, policies: [], managedPolicyArns: [] };
    }
    this.policiesByRole.clear();
    this.decisions.clear();
  }

  /** Whether the scenario models IAM at all (no `iam`: every call is served, as before). */
  get modelled(): boolean {
    return this.spec !== undefined;
  }

  get mode(): 'enforce' | 'permissive' {
    return this.spec?.mode ?? 'enforce';
  }

  role(ref: string): RoleSpec | undefined {
    return this.spec?.roles.find((r) => r.arn === ref || r.name === ref);
  }

  oidcProviderFor(issuer: string): OidcProviderSpec | undefined {
    const host = (url: string) => url.replace(/^https:\/\//, '').replace(/\/$/, '');
    return this.spec?.oidcProviders?.find((p) => host(p.url) === host(issuer));
  }

  issue(
    role: RoleSpec,
    sessionName: string,
    durationSeconds: number,
    source: SessionSource,
    subject?: string,
  ): Session {
    let roleId = this.roleIds.get(role.arn);
    if (!roleId) {
      roleId = randomId('AROA', 21);
      this.roleIds.set(role.arn, roleId);
    }
    const session: Session = {
      accessKeyId: randomId('ASIA', 20),
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(96).toString('base64'),
      expiration: this.now() + durationSeconds * 1000,
      role,
      sessionName,
      arn: `arn:aws:sts::${this.accountId}:assumed-role/${role.name}/${sessionName}`,
      assumedRoleId: `${roleId}:${sessionName}`,
      source,
      ...(subject !== undefined && { subject }),
    };
    this.sessions.set(session.accessKeyId, session);
    this.event('sts.session', {
      role: role.arn,
      session: session.arn,
      source,
      ...(subject !== undefined && { subject }),
    });
    return session;
  }

  session(accessKeyId: string): Session | undefined {
    return this.sessions.get(accessKeyId);
  }

  expired(session: Session): boolean {
    return this.now() >= session.expiration;
  }

  /** The role's identity-based policies: inline and attached (AWS::IAM::Policy), then customer managed ones. */
  policiesOf(role: RoleSpec): NamedPolicy[] {
    let policies = this.policiesByRole.get(role.arn);
    if (!policies) {
      const managed = (role.managedPolicyArns ?? []).flatMap((arn) => {
        const found = this.spec?.managedPolicies?.find((p) => p.arn === arn);
        // An AWS managed policy is only named in a template: its statements are unknown here, so it grants nothing.
        return found ? [{ name: found.name, document: found.document }] : [];
      });
      policies = [...role.policies.map((p) => ({ name: p.name, document: p.document })), ...managed];
      this.policiesByRole.set(role.arn, policies);
    }
    return policies;
  }

  /** Identity-based evaluation of one request for a session's role (the session's principal is its assumed-role ARN). */
  decide(session: Session, request: Omit<AuthorizationRequest, 'principal'>): Decision {
    const key = JSON.stringify([session.role.arn, request.action, request.resource, request.context]);
    let decision = this.decisions.get(key);
    if (!decision) {
      decision = evaluateIdentityPolicies(
        this.policiesOf(session.role),
        { ...request, principal: session.arn },
        this.accountId,
      );
      // Task and deployment ARNs make keys without end: start over rather than grow.
      if (this.decisions.size >= MAX_DECISIONS) this.decisions.clear();
      this.decisions.set(key, decision);
    }
    return decision;
  }
}

const accounts = new WeakMap<object, IamAccount>();

/**
 * The IAM account of one world. `parts` is the object sim/world.ts builds
 * once per load and hands to every service and gate factory, so a reload
 * starts with no session, as a fresh account would.
 */
export function iamAccountOf(parts: SimContext): IamAccount {
  let account = accounts.get(parts);
  if (!account) {
    account = new IamAccount(
      parts.scenario.iam,
      parts.accountId,
      () => parts.now(),
      (kind, detail) => parts.event(kind, detail),
    );
    accounts.set(parts, account);
  }
  return account;
}
