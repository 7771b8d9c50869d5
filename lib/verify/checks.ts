/**
 * HTTP checks, one per line: `METHOD PATH STATUS [body substring]`.
 *
 *   GET /api/health 200 ok
 *   GET /login 200-399
 *   HEAD /web/ 200,204
 *   GET / 200 " Alva "              (a fully quoted substring keeps its spaces; \" and \\ escape)
 *   GET /api 200 "status":"ok"      (not one quoted string: taken as written)
 *
 * Blank lines and lines starting with `#` are skipped.
 *
 * Verify changes nothing: only GET and HEAD are sent, unless the user lists
 * another method in `allow-methods` (a check is repeated until it passes
 * several times in a row, so a POST would be sent again and again). A HEAD
 * check with a body substring is refused: a HEAD response has no body, so it
 * could never pass.
 */

export const CHECK_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export type CheckMethod = (typeof CHECK_METHODS)[number];
/** The methods sent without `allow-methods`: the safe ones, which change nothing. */
export const SAFE_METHODS: readonly CheckMethod[] = ['GET', 'HEAD'];

export interface HttpCheck {
  /** The line as written (trimmed), used to name the check in logs and the report. */
  line: string;
  method: CheckMethod;
  /** Starts with "/"; may carry a query string. */
  path: string;
  /** Accepted statuses as inclusive ranges; "200" is [[200, 200]]. */
  statuses: [number, number][];
  /** The response body must contain this, when given. */
  bodyContains?: string;
}

/** A line that is not a check (or not one verify may send); `lineNumber` is 1-based. */
export class CheckSyntaxError extends Error {
  constructor(
    readonly lineNumber: number,
    readonly text: string,
    problem: string,
    /** How to fix it, when the general "one check per line" advice does not say. */
    readonly fix?: string,
  ) {
    super(`line ${lineNumber} "${text}": ${problem}`);
  }
}

/** The checks of `text`; a method outside `allowed` (default GET and HEAD) is refused. */
export function parseChecks(text: string, allowed: readonly CheckMethod[] = SAFE_METHODS): HttpCheck[] {
  const checks: HttpCheck[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    checks.push(parseCheck(line, index + 1, allowed));
  });
  return checks;
}

export function parseCheck(
  line: string,
  lineNumber = 1,
  allowed: readonly CheckMethod[] = SAFE_METHODS,
): HttpCheck {
  const fail = (problem: string, fix?: string) => new CheckSyntaxError(lineNumber, line, problem, fix);
  const match = /^(\S+)\s+(\S+)\s+(\S+)(?:\s+(.*))?$/.exec(line);
  if (!match) throw fail('expected `METHOD PATH STATUS [body substring]`, e.g. `GET /api/health 200 ok`');
  const [, rawMethod, path, rawStatus, rest] = match as unknown as [string, string, string, string, string?];

  const method = rawMethod.toUpperCase();
  if (!(CHECK_METHODS as readonly string[]).includes(method)) {
    throw fail(`"${rawMethod}" is not an HTTP method (use one of ${CHECK_METHODS.join(', ')})`);
  }
  if (!allowed.includes(method as CheckMethod)) {
    throw fail(
      `${method} may change the service, and verify sends only ${allowed.join(' and ')} unless told otherwise (a check is repeated until it passes several times)`,
      `check with GET or HEAD, or, if this request is safe to repeat, add \`allow-methods: ${method}\``,
    );
  }
  if (!path.startsWith('/')) throw fail(`path "${path}" must start with "/"`);

  const statuses = parseStatuses(rawStatus);
  if (!statuses) {
    throw fail(`"${rawStatus}" is not a status: use a code (200), a range (200-299) or a list (200,204)`);
  }

  const check: HttpCheck = { line, method: method as CheckMethod, path, statuses };
  if (rest !== undefined) {
    const body = unquote(rest);
    if (body === '') throw fail('the body substring is empty; drop the quotes or give some text');
    if (method === 'HEAD') {
      throw fail(
        `a HEAD response has no body, so the body substring \`${body}\` can never be found`,
        'check the body with GET, or drop the substring',
      );
    }
    check.bodyContains = body;
  }
  return check;
}

function parseStatuses(text: string): [number, number][] | undefined {
  const ranges: [number, number][] = [];
  for (const part of text.split(',')) {
    const m = /^(\d{3})(?:-(\d{3}))?$/.exec(part);
    if (!m) return undefined;
    const low = Number(m[1]);
    const high = m[2] ? Number(m[2]) : low;
    if (low < 100 || high > 599 || high < low) return undefined;
    ranges.push([low, high]);
  }
  return ranges;
}

/**
 * The text between quotes (with \" and \\ unescaped) when the whole text is one
 * quoted string; otherwise the text as written, so `"status":"ok"` stays JSON.
 */
function unquote(text: string): string {
  const quote = text[0];
  if ((quote !== '"' && quote !== "'") || text.length < 2) return text;
  let out = '';
  for (let i = 1; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length && (text[i + 1] === quote || text[i + 1] === '\\')) {
      out += text[++i];
    } else if (c === quote) {
      return i === text.length - 1 ? out : text;
    } else {
      out += c;
    }
  }
  return text;
}

export function statusMatches(check: HttpCheck, status: number): boolean {
  return check.statuses.some(([low, high]) => status >= low && status <= high);
}

export function formatStatuses(check: HttpCheck): string {
  return check.statuses.map(([low, high]) => (low === high ? `${low}` : `${low}-${high}`)).join(',');
}

/** `allow-methods`: methods verify may send besides GET and HEAD; unknown names are returned apart. */
export function allowedMethods(names: string[]): { allowed: CheckMethod[]; unknown: string[] } {
  const upper = names.map((n) => n.toUpperCase());
  const unknown = names.filter((_, i) => !(CHECK_METHODS as readonly string[]).includes(upper[i]!));
  const extra = upper.filter((n): n is CheckMethod => (CHECK_METHODS as readonly string[]).includes(n));
  return { allowed: [...new Set([...SAFE_METHODS, ...extra])], unknown };
}
