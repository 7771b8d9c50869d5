/** One HTTP check request through the load balancer, and the streak of passes it builds. */
import { formatStatuses, statusMatches, type HttpCheck } from './checks.js';

export interface HttpAttempt {
  ok: boolean;
  /** Absent when no response came (timeout, connection refused). */
  status?: number;
  latencyMs: number;
  /** Why it failed, for humans: "got 503, expected 200; body: …". */
  problem?: string;
  /** The start of the body, on failure. */
  bodyExcerpt?: string;
}

export const BODY_EXCERPT_CHARS = 300;

/**
 * Joins the base URL ("http://host:port" or with a path prefix) and the
 * check's path, without the base URL's credentials: this is the URL logs,
 * errors, the summary and the report show.
 */
export function checkUrl(baseUrl: string, path: string): string {
  return withoutCredentials(baseUrl).replace(/\/+$/, '') + path;
}

// The userinfo of a URL runs to its last "@" before the path, query or fragment.
const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i;

/** `url` without its `user:password@`. */
export function withoutCredentials(url: string): string {
  return url.replace(USERINFO, '$1');
}

/**
 * The Authorization header for a base URL with `user:password@`: fetch refuses
 * a URL with credentials, and a browser would send them as Basic auth.
 */
export function basicAuthorization(baseUrl: string): string | undefined {
  if (!USERINFO.test(baseUrl)) return undefined;
  const url = new URL(baseUrl);
  const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  return `Basic ${Buffer.from(credentials).toString('base64')}`;
}

export function excerpt(body: string, max = BODY_EXCERPT_CHARS): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

export async function attemptCheck(
  check: HttpCheck,
  baseUrl: string,
  requestTimeoutMs: number,
  signal?: AbortSignal,
): Promise<HttpAttempt> {
  const started = performance.now();
  const latency = () => Math.round(performance.now() - started);
  const timeout = AbortSignal.timeout(requestTimeoutMs);
  const authorization = basicAuthorization(baseUrl);
  try {
    const response = await fetch(checkUrl(baseUrl, check.path), {
      method: check.method,
      // A redirect is an answer to check, not to follow.
      redirect: 'manual',
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      headers: { 'user-agent': 'ecs-ship-verify', ...(authorization ? { authorization } : {}) },
    });
    const body = await response.text();
    const latencyMs = latency();
    const problems: string[] = [];
    if (!statusMatches(check, response.status)) {
      problems.push(`got ${response.status}, expected ${formatStatuses(check)}`);
    }
    if (check.bodyContains !== undefined && !body.includes(check.bodyContains)) {
      problems.push(`body does not contain \`${check.bodyContains}\``);
    }
    if (problems.length === 0) return { ok: true, status: response.status, latencyMs };
    const bodyExcerpt = excerpt(body);
    return {
      ok: false,
      status: response.status,
      latencyMs,
      problem: `${problems.join('; ')}; ${bodyExcerpt ? `body: ${bodyExcerpt}` : 'empty body'}`,
      bodyExcerpt,
    };
  } catch (err) {
    if (signal?.aborted) throw err;
    const latencyMs = latency();
    const problem = timeout.aborted
      ? `no response within ${requestTimeoutMs} ms`
      : `request failed: ${describeFetchError(err)}`;
    return { ok: false, latencyMs, problem };
  }
}

/** fetch wraps the socket error (ECONNREFUSED, …) in `cause`. */
function describeFetchError(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
    return err.message;
  }
  return String(err);
}

/** Consecutive passes of one check; a failure starts the count again. */
export interface CheckProgress {
  check: string;
  method: string;
  url: string;
  expectedStatus: string;
  bodyContains?: string;
  ok: boolean;
  /** Passes in a row so far. */
  passes: number;
  required: number;
  attempts: number;
  /** Of the last attempt. */
  status?: number;
  latencyMs?: number;
  /** Over all attempts. */
  minLatencyMs?: number;
  maxLatencyMs?: number;
  /** The last failure, kept after later passes so the report shows flakiness. */
  lastProblem?: string;
  bodyExcerpt?: string;
}

export function newProgress(check: HttpCheck, baseUrl: string, required: number): CheckProgress {
  return {
    check: check.line,
    method: check.method,
    url: checkUrl(baseUrl, check.path),
    expectedStatus: formatStatuses(check),
    ...(check.bodyContains !== undefined ? { bodyContains: check.bodyContains } : {}),
    ok: false,
    passes: 0,
    required,
    attempts: 0,
  };
}

export function recordAttempt(progress: CheckProgress, attempt: HttpAttempt): void {
  progress.attempts++;
  progress.latencyMs = attempt.latencyMs;
  progress.minLatencyMs = Math.min(progress.minLatencyMs ?? Infinity, attempt.latencyMs);
  progress.maxLatencyMs = Math.max(progress.maxLatencyMs ?? 0, attempt.latencyMs);
  if (attempt.status !== undefined) progress.status = attempt.status;
  else delete progress.status;
  if (attempt.ok) {
    progress.passes++;
  } else {
    progress.passes = 0;
    progress.lastProblem = attempt.problem;
    if (attempt.bodyExcerpt !== undefined) progress.bodyExcerpt = attempt.bodyExcerpt;
  }
  progress.ok = progress.passes >= progress.required;
}
