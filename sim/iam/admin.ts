/**
 * Credentials for a role handed out as an administrator would (the control
 * API's POST /_sim/sessions, Sim.session()): no trust policy is evaluated,
 * and the session is marked `admin` in the event log and in the call log
 * of every call it makes. Tests and the local runner use it where no job
 * presents an OIDC token.
 */
import type { CallGate } from '../service.js';
import { IamAuthorizer } from './authorizer.js';

export interface AdminSessionRequest {
  /** The role's name or ARN. */
  role?: string;
  roleName?: string;
  roleArn?: string;
  sessionName?: string;
  /** Default 12 hours (AWS's longest role session), so a long test at a high speed does not see it expire. */
  durationSeconds?: number;
}

export interface SimCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** Simulated time. */
  expiration: Date;
  /** arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION */
  arn: string;
  roleArn: string;
}

export function adminSession(gates: readonly CallGate[], request: AdminSessionRequest): SimCredentials {
  const gate = gates.find((g): g is IamAuthorizer => g instanceof IamAuthorizer);
  const ref = request.role ?? request.roleArn ?? request.roleName;
  if (!gate?.account.modelled)
    throw new Error('the loaded scenario has no iam: every call is served without credentials');
  if (!ref) throw new Error('name the role: {"roleName": …} or {"roleArn": …}');
  const role = gate.account.role(ref);
  if (!role) throw new Error(`no role ${ref} in the scenario's iam`);
  const session = gate.account.issue(
    role,
    request.sessionName ?? 'sim-admin',
    request.durationSeconds ?? 43200,
    'admin',
  );
  return {
    accessKeyId: session.accessKeyId,
    secretAccessKey: session.secretAccessKey,
    sessionToken: session.sessionToken,
    expiration: new Date(session.expiration),
    arn: session.arn,
    roleArn: role.arn,
  };
}
