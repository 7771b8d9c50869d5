/**
 * GitHub Actions' OIDC provider, as the local runner plays it: per job, a JWT
 * with the claims GitHub documents ("OpenID Connect reference": iss, aud, sub
 * and the custom claims), signed RS256 with a key made for the run. Cloud
 * providers judge the job by these claims (an IAM role's trust policy reads
 * `token.actions.githubusercontent.com:sub` and `:aud`), so they must be the
 * ones GitHub would put in the token, environment and reusable workflow included.
 */
import { createPrivateKey, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';

export const GITHUB_OIDC_ISSUER = 'https://token.actions.githubusercontent.com';

/** What GitHub knows of a job when it mints the job's token. */
export interface JobIdentity {
  /** github.* of the run: repository, ref, sha, event_name, run_id, run_number, run_attempt, actor, workflow. */
  github: Record<string, unknown>;
  /** The job's environment name after expression evaluation, if it has one. */
  environment?: string;
  /** OWNER/REPO/.github/workflows/<file>@<ref> of the workflow the run started from. */
  workflowRef: string;
  /** The same for the workflow file that holds the job (a called reusable workflow's, or workflowRef). */
  jobWorkflowRef: string;
  /** The commit of that file (a called workflow of another repository: its commit there); default github.sha. */
  jobWorkflowSha?: string;
}

/**
 * The subject GitHub puts in a job's token (default template): the environment
 * when the job has one, else `pull_request` for pull request events, else the ref.
 */
export function oidcSubject(identity: Pick<JobIdentity, 'github' | 'environment'>): string {
  const repository = String(identity.github.repository);
  if (identity.environment) return `repo:${repository}:environment:${identity.environment}`;
  // pull_request_target runs in the base branch's context: its subject is that ref.
  if (identity.github.event_name === 'pull_request') return `repo:${repository}:pull_request`;
  return `repo:${repository}:ref:${String(identity.github.ref)}`;
}

/** Every claim of the job's token but the times and the token's id. */
export function oidcClaims(identity: JobIdentity, audience: string): Record<string, unknown> {
  const g = identity.github;
  const ref = String(g.ref ?? '');
  const event = (g.event ?? {}) as { pull_request?: { head?: { ref?: string }; base?: { ref?: string } } };
  const [owner] = String(g.repository).split('/');
  return {
    iss: GITHUB_OIDC_ISSUER,
    aud: audience,
    sub: oidcSubject(identity),
    ...(identity.environment ? { environment: identity.environment } : {}),
    ref,
    ref_type: ref.startsWith('refs/tags/') ? 'tag' : 'branch',
    sha: String(g.sha),
    repository: String(g.repository),
    repository_owner: String(g.repository_owner ?? owner),
    repository_visibility: 'private',
    run_id: String(g.run_id),
    run_number: String(g.run_number),
    run_attempt: String(g.run_attempt),
    runner_environment: 'github-hosted',
    actor: String(g.actor),
    workflow: String(g.workflow),
    event_name: String(g.event_name),
    head_ref: event.pull_request?.head?.ref ?? '',
    base_ref: event.pull_request?.base?.ref ?? '',
    workflow_ref: identity.workflowRef,
    workflow_sha: String(g.sha),
    job_workflow_ref: identity.jobWorkflowRef,
    job_workflow_sha: identity.jobWorkflowSha || String(g.sha),
  };
}

/** `OWNER/REPO/<path>@<ref>`, the form of workflow_ref and job_workflow_ref. */
export function workflowRefOf(repository: string, path: string, ref: string): string {
  return `${repository}/${path.replace(/^\.\//, '')}@${ref}`;
}

function base64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

/** Decodes a JWT's payload (no verification: for the runner's report and tests). */
export function decodeJwtPayload(token: string): Record<string, unknown> {
  const payload = token.split('.')[1];
  if (!payload) throw new Error('not a JWT');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Token lifetime GitHub gives a job's OIDC token (about 5 minutes, as observed in tokens it issues). */
const TOKEN_LIFETIME_S = 300;

/** The run's token issuer: one RSA key per run, tokens signed RS256 as GitHub's are. */
export class OidcIssuer {
  readonly keyId: string;
  private readonly privateKey: KeyObject;
  readonly publicKeyPem: string;

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.privateKey = createPrivateKey(privateKey.export({ format: 'pem', type: 'pkcs8' }));
    this.publicKeyPem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
    this.keyId = randomUUID();
  }

  /** A token for the job; `now` in epoch seconds. */
  mint(identity: JobIdentity, audience: string, now = Math.floor(Date.now() / 1000)): string {
    const header = { typ: 'JWT', alg: 'RS256', kid: this.keyId };
    const payload = {
      jti: randomUUID(),
      ...oidcClaims(identity, audience),
      nbf: now - 5,
      iat: now,
      exp: now + TOKEN_LIFETIME_S,
    };
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
    const signature = sign('sha256', Buffer.from(signingInput), this.privateKey);
    return `${signingInput}.${base64url(signature)}`;
  }
}
