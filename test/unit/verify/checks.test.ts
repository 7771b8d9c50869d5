import { describe, expect, it } from '@jest/globals';
import {
  CheckSyntaxError,
  allowedMethods,
  formatStatuses,
  parseChecks,
  statusMatches,
} from '../../../lib/verify/checks.js';

/** The CheckSyntaxError `fn` throws; fails the test when it throws anything else or nothing. */
function syntaxError(fn: () => unknown): CheckSyntaxError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CheckSyntaxError);
    return err as CheckSyntaxError;
  }
  throw new Error('expected a CheckSyntaxError');
}

describe('parseChecks', () => {
  it('reads METHOD PATH STATUS and an optional body substring, skipping blanks and comments', () => {
    const checks = parseChecks(
      'GET /api/health 200 ok\n\n# the web app\nget /web/ 200-399\n  HEAD /x?y=1 200,204  \n',
    );
    expect(checks).toEqual([
      {
        line: 'GET /api/health 200 ok',
        method: 'GET',
        path: '/api/health',
        statuses: [[200, 200]],
        bodyContains: 'ok',
      },
      { line: 'get /web/ 200-399', method: 'GET', path: '/web/', statuses: [[200, 399]] },
      {
        line: 'HEAD /x?y=1 200,204',
        method: 'HEAD',
        path: '/x?y=1',
        statuses: [
          [200, 200],
          [204, 204],
        ],
      },
    ]);
  });

  it('keeps an unquoted substring with spaces as written, and unquotes a quoted one', () => {
    expect(parseChecks('GET / 200 Welcome to Alva')[0]!.bodyContains).toBe('Welcome to Alva');
    expect(parseChecks('GET / 200 " padded "')[0]!.bodyContains).toBe(' padded ');
    expect(parseChecks(`GET / 200 '"status":"ok"'`)[0]!.bodyContains).toBe('"status":"ok"');
    expect(parseChecks('GET / 200 "say \\"hi\\" \\\\ bye"')[0]!.bodyContains).toBe('say "hi" \\ bye');
    // Not one quoted string: JSON and stray quotes are taken as written.
    expect(parseChecks('GET / 200 "status":"ok"')[0]!.bodyContains).toBe('"status":"ok"');
    expect(parseChecks('GET / 200 "open')[0]!.bodyContains).toBe('"open');
    // Not one quoted string: JSON and stray quotes are taken as written.
    expect(parseChecks('GET / 200 "status":"ok"')[0]!.bodyContains).toBe('"status":"ok"');
    expect(parseChecks('GET / 200 "open')[0]!.bodyContains).toBe('"open');
  });

  it.each([
    ['GET /api/health', /expected `METHOD PATH STATUS/],
    ['FETCH /api 200', /"FETCH" is not an HTTP method/],
    ['GET api/health 200', /must start with "\/"/],
    ['GET /api 2000', /"2000" is not a status/],
    ['GET /api 299-200', /is not a status/],
    ['GET /api 700', /is not a status/],
    ['GET /api 200 ""', /body substring is empty/],
  ])('rejects %s', (line, message) => {
    expect(() => parseChecks(`GET /ok 200\n${line}`)).toThrow(message);
    expect(() => parseChecks(`GET /ok 200\n${line}`)).toThrow(CheckSyntaxError);
    expect(() => parseChecks(`GET /ok 200\n${line}`)).toThrow(/^line 2 /);
  });

  it('matches statuses against codes, ranges and lists', () => {
    const [check] = parseChecks('GET / 200,301-302');
    expect([200, 301, 302, 303, 500].map((s) => statusMatches(check!, s))).toEqual([
      true,
      true,
      true,
      false,
      false,
    ]);
    expect(formatStatuses(check!)).toBe('200,301-302');
  });

  it('refuses a HEAD check with a body substring: a HEAD response has no body', () => {
    const error = syntaxError(() => parseChecks('HEAD /api/health 200 ok'));
    expect(error.message).toBe(
      'line 1 "HEAD /api/health 200 ok": a HEAD response has no body, so the body substring `ok` can never be found',
    );
    expect(error.fix).toBe('check the body with GET, or drop the substring');
    expect(parseChecks('HEAD /api/health 200')[0]!.method).toBe('HEAD');
  });

  it('sends only GET and HEAD unless other methods are allowed', () => {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      expect(() => parseChecks(`GET / 200\n${method} /api/cache 204`)).toThrow(
        new RegExp(`^line 2 "${method} /api/cache 204": ${method} may change the service`),
      );
    }
    expect(syntaxError(() => parseChecks('delete /api/cache 204')).fix).toContain('`allow-methods: DELETE`');
    expect(parseChecks('POST /api/echo 200', allowedMethods(['post']).allowed)[0]!.method).toBe('POST');
  });
});

describe('allowedMethods', () => {
  it('adds the methods named to GET and HEAD, case-insensitively, and returns unknown names apart', () => {
    expect(allowedMethods([])).toEqual({ allowed: ['GET', 'HEAD'], unknown: [] });
    expect(allowedMethods(['post', 'GET', 'Fetch'])).toEqual({
      allowed: ['GET', 'HEAD', 'POST'],
      unknown: ['Fetch'],
    });
  });
});
