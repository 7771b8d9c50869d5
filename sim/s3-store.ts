/**
 * The simulator's S3 objects, in memory: one store per loaded scenario, shared
 * by the S3 API (sim/services/s3.ts) and CloudFormation, which reads a change
 * set's TemplateURL from it as CloudFormation reads S3.
 */
import { createHash } from 'node:crypto';
import type { SimContext } from './service.js';

export interface S3Object {
  body: Buffer;
  /** The quoted MD5 of the body, as S3 gives a single-part upload. */
  etag: string;
  lastModified: Date;
  contentType?: string;
}

export interface S3Bucket {
  name: string;
  region: string;
  createdAt: Date;
  objects: Map<string, S3Object>;
}

export class S3Store {
  readonly buckets = new Map<string, S3Bucket>();

  constructor(
    private readonly region: string,
    private readonly now: () => number,
    specs: readonly { name: string }[] = [],
  ) {
    for (const spec of specs) this.createBucket(spec.name);
  }

  createBucket(name: string, region = this.region): S3Bucket {
    const bucket: S3Bucket = { name, region, createdAt: new Date(this.now()), objects: new Map() };
    this.buckets.set(name, bucket);
    return bucket;
  }

  put(bucket: S3Bucket, key: string, body: Buffer, contentType?: string): S3Object {
    const object: S3Object = {
      body,
      etag: `"${createHash('md5').update(body).digest('hex')}"`,
      lastModified: new Date(this.now()),
      ...(contentType ? { contentType } : {}),
    };
    bucket.objects.set(key, object);
    return object;
  }

  /** The object at bucket/key, if both exist. */
  object(bucket: string, key: string): S3Object | undefined {
    return this.buckets.get(bucket)?.objects.get(key);
  }
}

const stores = new WeakMap<SimContext, S3Store>();

/** The S3 store of one loaded scenario (the services of a load share its parts). */
export function s3StoreOf(parts: SimContext): S3Store {
  let store = stores.get(parts);
  if (!store) {
    store = new S3Store(parts.region, () => parts.now(), parts.scenario.s3Buckets ?? []);
    stores.set(parts, store);
  }
  return store;
}

/**
 * Where an S3 object URL points (a CloudFormation TemplateURL): path style
 * (https://s3.REGION.amazonaws.com/BUCKET/KEY, https://s3.amazonaws.com/…,
 * https://s3-REGION.amazonaws.com/…, or the simulator's own endpoint) or
 * virtual-hosted (https://BUCKET.s3.REGION.amazonaws.com/KEY).
 */
export function parseS3Url(url: string): { bucket: string; key: string } | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const path = decodeURIComponent(parsed.pathname.slice(1));
  const virtual = /^(.+)\.s3[.-]/.exec(parsed.hostname);
  if (virtual) return path ? { bucket: virtual[1]!, key: path } : undefined;
  const slash = path.indexOf('/');
  if (slash <= 0 || slash === path.length - 1) return undefined;
  return { bucket: path.slice(0, slash), key: path.slice(slash + 1) };
}
