import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RegistryClient, manifestSize, registryBaseUrl, registryHost } from '../../../lib/images/registry.js';

const MANIFEST = JSON.stringify({
  schemaVersion: 2,
  mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
  config: { size: 100, digest: 'sha256:c' },
  layers: [{ size: 1000 }, { size: 24 }],
});
const DIGEST = `sha256:${'1'.repeat(64)}`;

/** A registry that demands a bearer token (Docker Hub / GHCR style). */
let server: Server;
let base: string;
const requests: string[] = [];
const puts: { path: string; type?: string; body: string }[] = [];

const body = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => resolve(data));
  });

beforeAll(async () => {
  server = createServer(async (req, res) => {
    requests.push(`${req.method} ${req.url} ${req.headers.authorization ?? '-'}`);
    if (req.url!.startsWith('/token')) {
      const ok = req.headers.authorization === `Basic ${Buffer.from('bot:pw').toString('base64')}`;
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
      return res.end(ok ? JSON.stringify({ token: 'T0K' }) : '{}');
    }
    if (req.headers.authorization !== 'Bearer T0K') {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${base}/token",service="reg"` });
      return res.end();
    }
    if (req.method === 'PUT') {
      puts.push({ path: req.url!, type: req.headers['content-type'], body: await body(req) });
      res.writeHead(201);
      return res.end();
    }
    if (req.url === '/v2/alva/web/manifests/v1' || req.url === `/v2/alva/web/manifests/${DIGEST}`) {
      res.writeHead(200, {
        'docker-content-digest': DIGEST,
        'content-type': 'application/vnd.docker.distribution.manifest.v2+json',
      });
      return res.end(req.method === 'HEAD' ? undefined : MANIFEST);
    }
    if (req.url === '/v2/alva/web/blobs/sha256:c') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      return res.end(JSON.stringify({ config: { Labels: { 'org.opencontainers.image.revision': 'abc' } } }));
    }
    if (req.url === '/v2/alva/multi/manifests/v1') {
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' });
      return res.end(JSON.stringify({ manifests: [{ digest: DIGEST }] }));
    }
    if (req.url === `/v2/alva/multi/manifests/${DIGEST}`) {
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
      return res.end(MANIFEST.replace('sha256:c', 'sha256:multi-config'));
    }
    if (req.url === '/v2/alva/multi/blobs/sha256:multi-config') {
      res.writeHead(200);
      return res.end(JSON.stringify({ config: { Labels: null } }));
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('RegistryClient', () => {
  test('bearer challenge: token fetched with the basic credentials and reused', async () => {
    const client = new RegistryClient(base, { username: 'bot', password: 'pw' });
    expect(await client.lookup('alva/web', 'v1')).toEqual({
      digest: DIGEST,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      sizeBytes: 1124,
    });
    expect(await client.headDigest('alva/web', 'v1')).toBe(DIGEST);
    expect(await client.lookup('alva/web', 'missing')).toBeUndefined();
    expect(requests.filter((r) => r.startsWith('GET /token'))).toHaveLength(1);
    expect(requests.find((r) => r.startsWith('GET /token'))).toContain(
      'scope=repository%3Aalva%2Fweb%3Apull%2Cpush',
    );
  });

  test('retag puts the same manifest bytes and media type under the new tag', async () => {
    const client = new RegistryClient(base, { username: 'bot', password: 'pw' });
    await client.retag('alva/web', DIGEST, 'staging');
    expect(puts).toEqual([
      {
        path: '/v2/alva/web/manifests/staging',
        type: 'application/vnd.docker.distribution.manifest.v2+json',
        body: MANIFEST,
      },
    ]);
  });

  test('rejected credentials say so', async () => {
    const client = new RegistryClient(base, { username: 'bot', password: 'wrong' });
    await expect(client.lookup('alva/web', 'v1')).rejects.toThrow(
      /answered 401 for alva\/web:v1 \(credentials rejected/,
    );
  });
});

test('registry URLs: plain HTTP only for loopback, as Docker does', () => {
  expect(registryBaseUrl('127.0.0.1:5000')).toBe('http://127.0.0.1:5000');
  expect(registryBaseUrl('localhost:5000')).toBe('http://localhost:5000');
  expect(registryBaseUrl('ghcr.io')).toBe('https://ghcr.io');
  expect(registryBaseUrl('https://123456789012.dkr.ecr.us-east-1.amazonaws.com/')).toBe(
    'https://123456789012.dkr.ecr.us-east-1.amazonaws.com',
  );
  expect(registryHost('https://123456789012.dkr.ecr.us-east-1.amazonaws.com')).toBe(
    '123456789012.dkr.ecr.us-east-1.amazonaws.com',
  );
  expect(registryHost('http://127.0.0.1:5000')).toBe('127.0.0.1:5000');
});

test('manifestSize: config + layers; undefined for an index', () => {
  expect(manifestSize(MANIFEST)).toBe(1124);
  expect(manifestSize(JSON.stringify({ manifests: [] }))).toBeUndefined();
  expect(manifestSize('nope')).toBeUndefined();
});

describe('RegistryClient.labels', () => {
  test("an image's config labels; undefined when the reference is not there", async () => {
    const client = new RegistryClient(base, { username: 'bot', password: 'pw' });
    expect(await client.labels('alva/web', 'v1')).toEqual({ 'org.opencontainers.image.revision': 'abc' });
    expect(await client.labels('alva/web', 'nope')).toBeUndefined();
  });

  test("an index: its first image's labels (none: an empty map)", async () => {
    const client = new RegistryClient(base, { username: 'bot', password: 'pw' });
    expect(await client.labels('alva/multi', 'v1')).toEqual({});
  });
});
