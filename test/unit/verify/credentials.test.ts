/** A base-url with `user:password@`: the checks send the credentials, every URL shown is without them. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseChecks } from '../../../lib/verify/checks.js';
import {
  attemptCheck,
  basicAuthorization,
  checkUrl,
  newProgress,
  withoutCredentials,
} from '../../../lib/verify/http.js';

describe('withoutCredentials', () => {
  it('drops user:password@ and keeps the rest of the URL', () => {
    expect(withoutCredentials('https://ci:s3cret@staging.example.com/app')).toBe(
      'https://staging.example.com/app',
    );
    expect(withoutCredentials('http://ci@127.0.0.1:8080')).toBe('http://127.0.0.1:8080');
    // The userinfo runs to the last "@" before the path.
    expect(withoutCredentials('https://ci:p@ss@host/x@y')).toBe('https://host/x@y');
    expect(withoutCredentials('https://staging.example.com/a@b')).toBe('https://staging.example.com/a@b');
  });

  it('is what checkUrl and a check progress show', () => {
    const [check] = parseChecks('GET /api/health 200');
    expect(checkUrl('https://ci:s3cret@host/', '/api/health')).toBe('https://host/api/health');
    expect(newProgress(check!, 'https://ci:s3cret@host', 3).url).toBe('https://host/api/health');
  });
});

describe('basicAuthorization', () => {
  it('is Basic base64(user:password), percent-decoded, and nothing without credentials', () => {
    expect(basicAuthorization('https://ci:s%40cret@host')).toBe(
      `Basic ${Buffer.from('ci:s@cret').toString('base64')}`,
    );
    expect(basicAuthorization('https://host')).toBeUndefined();
  });
});

describe('attemptCheck with credentials in the base URL', () => {
  let server: Server;
  let base: string;
  const seen: { url?: string; authorization?: string }[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ url: req.url, authorization: req.headers.authorization });
      res.statusCode = req.headers.authorization ? 200 : 401;
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('sends them as Basic auth (fetch refuses a URL with credentials)', async () => {
    const [check] = parseChecks('GET /ok 200');
    const url = base.replace('http://', 'http://ci:s3cret@');
    const attempt = await attemptCheck(check!, url, 5000);
    expect(attempt).toMatchObject({ ok: true, status: 200 });
    expect(seen.at(-1)).toEqual({
      url: '/ok',
      authorization: `Basic ${Buffer.from('ci:s3cret').toString('base64')}`,
    });
  });
});
