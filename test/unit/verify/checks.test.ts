import { describe, expect, it } from '@jest/globals';
import { CheckSyntaxError, formatStatuses, parseChecks, statusMatches } from '../../../lib/verify/checks.js';

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
});
