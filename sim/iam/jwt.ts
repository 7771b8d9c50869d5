/**
 * A JSON Web Token's claims, as STS reads an OIDC ID token. The signature is
 * not verified (the simulator holds no issuer keys): whoever can write a
 * token can present any claims, so trust policies are judged on the claims
 * alone.
 */
export type Claims = Record<string, unknown>;

/** The token's payload, or undefined when it is not a JWT (three base64url parts, JSON header and payload). */
export function jwtClaims(token: string): Claims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')) as unknown;
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as unknown;
    if (!isObject(header) || !isObject(payload)) return undefined;
    return payload;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Claims {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A token carrying these claims, its signature a placeholder: for tests and the local runner. */
export function mintJwt(claims: Claims): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT', kid: 'sim' })}.${part(claims)}.${Buffer.from('not-signed').toString('base64url')}`;
}
