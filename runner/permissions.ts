/**
 * The GITHUB_TOKEN permissions a job gets, as GitHub computes them. The runner
 * needs one of them: `id-token: write`, without which a job gets no OIDC token
 * and configure-aws-credentials cannot assume a role.
 * - `permissions:` on the job wins over the workflow's; either replaces the
 *   default, and every scope it does not name is `none` (`{}`: all `none`;
 *   `read-all` / `write-all`: every scope).
 * - Neither: the repository's default, here the restricted one (contents and
 *   packages read; no id-token).
 * - A reusable workflow runs under its caller job's permissions as a ceiling:
 *   the called workflow may lower them, never raise them; a called job that
 *   declares nothing inherits the ceiling.
 */

export type Access = 'none' | 'read' | 'write';
export type Permissions = Readonly<Record<string, Access>>;

/** The scopes of GITHUB_TOKEN (GitHub's "permissions" workflow syntax). */
export const SCOPES = [
  'actions',
  'attestations',
  'checks',
  'contents',
  'deployments',
  'discussions',
  'id-token',
  'issues',
  'models',
  'packages',
  'pages',
  'pull-requests',
  'repository-projects',
  'security-events',
  'statuses',
] as const;

const RANK: Record<Access, number> = { none: 0, read: 1, write: 2 };

function all(access: Access): Permissions {
  return Object.fromEntries(SCOPES.map((s) => [s, access]));
}

/** The repository default when nothing is declared ("restricted", GitHub's default for new repositories). */
export const DEFAULT_PERMISSIONS: Permissions = { ...all('none'), contents: 'read', packages: 'read' };

/** A `permissions:` value as a full map, or undefined when absent; an invalid value is an error. */
export function declaredPermissions(value: unknown, where: string): Permissions | undefined {
  if (value === undefined || value === null) return undefined;
  if (value === 'read-all') return all('read');
  if (value === 'write-all') return all('write');
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(
      `${where}: permissions must be read-all, write-all or a map of scopes, not ${JSON.stringify(value)}`,
    );
  }
  const out: Record<string, Access> = { ...all('none') };
  for (const [scope, access] of Object.entries(value as Record<string, unknown>)) {
    if (!(SCOPES as readonly string[]).includes(scope)) {
      throw new Error(`${where}: unknown permission scope "${scope}"`);
    }
    if (access !== 'none' && access !== 'read' && access !== 'write') {
      throw new Error(
        `${where}: permission ${scope} must be read, write or none, not ${JSON.stringify(access)}`,
      );
    }
    out[scope] = access;
  }
  return out;
}

/** Each scope at most what the ceiling grants. */
export function capPermissions(own: Permissions, ceiling: Permissions | undefined): Permissions {
  if (!ceiling) return own;
  return Object.fromEntries(
    SCOPES.map((s) => {
      const a = own[s] ?? 'none';
      const c = ceiling[s] ?? 'none';
      return [s, RANK[a] <= RANK[c] ? a : c];
    }),
  );
}

/**
 * A job's effective permissions: its own declaration, else its workflow's,
 * else the ceiling its caller set (a called workflow), else the default;
 * then capped by that ceiling.
 */
export function jobPermissions(
  job: unknown,
  workflow: unknown,
  ceiling: Permissions | undefined,
  where: string,
): Permissions {
  const own =
    declaredPermissions(job, `${where} (job)`) ??
    declaredPermissions(workflow, `${where} (workflow)`) ??
    ceiling ??
    DEFAULT_PERMISSIONS;
  return capPermissions(own, ceiling);
}
