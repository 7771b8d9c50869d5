/**
 * The simulator's S3 (sim/services/s3.ts) through the real SDK v3 client with
 * the simulator as its endpoint: what it refuses first (unknown bucket, key),
 * then buckets and objects, streamed (aws-chunked) uploads, IAM on bucket and
 * object ARNs, and the call log's operation names.
 */
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  CreateBucketCommand,
  GetBucketLocationCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { startSim, type Sim } from '../../sim/index.js';
import type { Scenario } from '../../sim/scenario.js';
import { parseS3Url } from '../../sim/s3-store.js';

const ACCOUNT = '123456789012';
const ASSETS = 'cdk-hnb659fds-assets-123456789012-us-east-1';

function world(): Scenario {
  const trust = {
    Statement: [
      {
        Effect: 'Allow' as const,
        Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
        Action: 'sts:AssumeRole',
      },
    ],
  };
  return {
    name: 's3',
    clusters: [],
    taskDefinitions: [],
    s3Buckets: [{ name: ASSETS }],
    iam: {
      roles: [
        {
          name: 'admin',
          arn: `arn:aws:iam::${ACCOUNT}:role/admin`,
          trust,
          policies: [
            { name: 'all', document: { Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] } },
          ],
        },
        {
          name: 'reader',
          arn: `arn:aws:iam::${ACCOUNT}:role/reader`,
          trust,
          policies: [
            {
              name: 'read-assets',
              document: {
                Statement: [
                  {
                    Effect: 'Allow',
                    Action: ['s3:GetObject', 's3:ListBucket'],
                    Resource: [`arn:aws:s3:::${ASSETS}`, `arn:aws:s3:::${ASSETS}/*`],
                  },
                ],
              },
            },
          ],
        },
      ],
    },
  };
}

async function session(sim: Sim, roleName: string) {
  const res = await fetch(`${sim.url}/_sim/sessions`, { method: 'POST', body: JSON.stringify({ roleName }) });
  const body = (await res.json()) as { accessKeyId: string; secretAccessKey: string; sessionToken: string };
  return {
    accessKeyId: body.accessKeyId,
    secretAccessKey: body.secretAccessKey,
    sessionToken: body.sessionToken,
  };
}

async function errorOf(promise: Promise<unknown>): Promise<{ name: string; status?: number }> {
  try {
    await promise;
  } catch (err) {
    return {
      name: (err as Error).name,
      status: (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode,
    };
  }
  throw new Error('the call succeeded');
}

describe('S3', () => {
  let sim: Sim;
  let admin: S3Client;
  let reader: S3Client;
  beforeAll(async () => {
    sim = await startSim({ scenario: world(), port: 0, speed: 1 });
    const client = async (role: string) =>
      new S3Client({
        endpoint: sim.url,
        region: 'us-east-1',
        credentials: await session(sim, role),
        maxAttempts: 1,
      });
    admin = await client('admin');
    reader = await client('reader');
  });
  afterAll(async () => {
    admin.destroy();
    reader.destroy();
    await sim.close();
  });

  it('refuses an unknown bucket and an unknown key as S3 does', async () => {
    expect(await errorOf(admin.send(new ListObjectsV2Command({ Bucket: 'no-such-bucket' })))).toEqual({
      name: 'NoSuchBucket',
      status: 404,
    });
    expect(await errorOf(admin.send(new HeadObjectCommand({ Bucket: ASSETS, Key: 'missing.json' })))).toEqual(
      {
        name: 'NotFound',
        status: 404,
      },
    );
    expect(await errorOf(admin.send(new GetObjectCommand({ Bucket: ASSETS, Key: 'missing.json' })))).toEqual({
      name: 'NoSuchKey',
      status: 404,
    });
  });

  it('stores objects, put whole or streamed, and lists them by prefix', async () => {
    await admin.send(new HeadBucketCommand({ Bucket: ASSETS }));
    const location = await admin.send(new GetBucketLocationCommand({ Bucket: ASSETS }));
    expect(location.LocationConstraint ?? '').toBe('');
    const template = JSON.stringify({ Resources: {} });
    const put = await admin.send(new PutObjectCommand({ Bucket: ASSETS, Key: 'abc.json', Body: template }));
    expect(put.ETag).toMatch(/^"[0-9a-f]{32}"$/);
    // A stream of unknown length goes aws-chunked with a trailing checksum.
    const zip = Buffer.from([0x50, 0x4b, 0x03, 0x04, 0xff, 0x00, 0x0d, 0x0a]);
    await admin.send(
      new PutObjectCommand({
        Bucket: ASSETS,
        Key: 'code/fn.zip',
        Body: Readable.from([zip]),
        ContentLength: zip.length,
      }),
    );
    const got = await admin.send(new GetObjectCommand({ Bucket: ASSETS, Key: 'abc.json' }));
    expect(await got.Body!.transformToString()).toBe(template);
    const code = await admin.send(new GetObjectCommand({ Bucket: ASSETS, Key: 'code/fn.zip' }));
    expect(Buffer.from(await code.Body!.transformToByteArray())).toEqual(zip);
    const listed = await admin.send(new ListObjectsV2Command({ Bucket: ASSETS, Prefix: 'code/' }));
    expect(listed.Contents?.map((c) => [c.Key, c.Size])).toEqual([['code/fn.zip', zip.length]]);

    await admin.send(new CreateBucketCommand({ Bucket: 'second' }));
    expect(await errorOf(admin.send(new CreateBucketCommand({ Bucket: 'second' })))).toEqual({
      name: 'BucketAlreadyOwnedByYou',
      status: 409,
    });
  });

  it('authorizes on the bucket and object ARNs', async () => {
    await reader.send(new HeadObjectCommand({ Bucket: ASSETS, Key: 'abc.json' }));
    expect(
      await errorOf(reader.send(new PutObjectCommand({ Bucket: ASSETS, Key: 'x.json', Body: '{}' }))),
    ).toEqual({
      name: 'AccessDenied',
      status: 403,
    });
    const calls = (await (await fetch(`${sim.url}/_sim/calls`)).json()) as {
      service: string;
      operation: string;
      status: number;
      params: Record<string, unknown>;
      gate?: Record<string, unknown>;
    }[];
    const denied = calls.find((c) => c.service === 's3' && c.status === 403);
    expect(denied?.operation).toBe('PutObject');
    expect(denied?.gate).toMatchObject({ action: 's3:PutObject', resource: `arn:aws:s3:::${ASSETS}/x.json` });
    // The call log names the operations and keeps no object bodies.
    expect(calls.some((c) => c.operation === 'PutObject' && 'Body' in c.params)).toBe(false);
    expect(new Set(calls.filter((c) => c.service === 's3').map((c) => c.operation))).toEqual(
      new Set([
        'ListObjectsV2',
        'HeadObject',
        'GetObject',
        'HeadBucket',
        'GetBucketLocation',
        'PutObject',
        'CreateBucket',
      ]),
    );
  });

  it('leaves Query services routed as before', async () => {
    const sts = new STSClient({
      endpoint: sim.url,
      region: 'us-east-1',
      credentials: await session(sim, 'reader'),
    });
    const me = await sts.send(new GetCallerIdentityCommand({}));
    sts.destroy();
    expect(me.Arn).toContain(':assumed-role/reader/');
  });

  it('reads S3 object URLs path-style and virtual-hosted', () => {
    expect(parseS3Url(`https://s3.us-east-1.amazonaws.com/${ASSETS}/a/b.json`)).toEqual({
      bucket: ASSETS,
      key: 'a/b.json',
    });
    expect(parseS3Url(`https://${ASSETS}.s3.us-east-1.amazonaws.com/b.json`)).toEqual({
      bucket: ASSETS,
      key: 'b.json',
    });
    expect(parseS3Url(`http://127.0.0.1:4566/${ASSETS}/b.json`)).toEqual({ bucket: ASSETS, key: 'b.json' });
    expect(parseS3Url('https://s3.amazonaws.com/only-a-bucket')).toBeUndefined();
  });
});
