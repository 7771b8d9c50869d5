/**
 * A minimal S3 (REST-XML): what the CDK CLI's asset publishing and
 * CloudFormation's TemplateURL need, objects in memory (sim/s3-store.ts).
 * The HTTP front (sim/server.ts) maps a REST request to an operation name and
 * parameters (s3Operation below); replies carry their own status, headers and
 * body. Operations, headers and errors follow the S3 API reference
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/): an unknown bucket is a
 * 404 NoSuchBucket, an unknown key 404 NoSuchKey; HEAD errors have no body.
 * Not modelled: versioning, multipart uploads, ACLs and bucket policies,
 * encryption (GetBucketEncryption answers S3's default SSE-S3).
 */
import type { ServiceParts } from '../registry.js';
import { s3StoreOf, type S3Bucket, type S3Store } from '../s3-store.js';
import { AwsError, type SimService } from '../service.js';

type Params = Record<string, unknown>;

/** What an S3 operation answers: the front writes it as is. */
export interface S3Reply {
  status?: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

const XML_HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n';
const NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function xml(root: string, inner: string): S3Reply {
  return {
    headers: { 'content-type': 'application/xml' },
    body: `${XML_HEADER}<${root} xmlns="${NAMESPACE}">${inner}</${root}>`,
  };
}

const el = (name: string, value: string | number | boolean) =>
  `<${name}>${escapeXml(String(value))}</${name}>`;

/** An S3 error's XML body (S3 has no ErrorResponse wrapper). */
export function s3ErrorBody(code: string, message: string, requestId: string): string {
  return `${XML_HEADER}<Error>${el('Code', code)}${el('Message', message)}${el('RequestId', requestId)}</Error>`;
}

/**
 * The operation a REST request names (S3 API reference, each operation's
 * "Request Syntax"), or undefined for one the simulator does not serve.
 */
export function s3Operation(
  method: string,
  bucket: string | undefined,
  key: string | undefined,
  query: URLSearchParams,
): string | undefined {
  if (!bucket) return method === 'GET' ? 'ListBuckets' : undefined;
  if (!key) {
    switch (method) {
      case 'HEAD':
        return 'HeadBucket';
      case 'PUT':
        return query.size === 0 ? 'CreateBucket' : undefined;
      case 'GET':
        if (query.has('location')) return 'GetBucketLocation';
        if (query.has('encryption')) return 'GetBucketEncryption';
        if (query.has('versioning')) return 'GetBucketVersioning';
        if (query.get('list-type') === '2') return 'ListObjectsV2';
        return undefined;
      default:
        return undefined;
    }
  }
  if (query.has('uploads') || query.has('uploadId') || query.has('tagging') || query.has('acl'))
    return undefined;
  switch (method) {
    case 'PUT':
      return 'PutObject';
    case 'GET':
      return 'GetObject';
    case 'HEAD':
      return 'HeadObject';
    case 'DELETE':
      return 'DeleteObject';
    default:
      return undefined;
  }
}

/**
 * A body sent with `Content-Encoding: aws-chunked` (the SDK's streaming
 * uploads with a trailing checksum): `SIZE[;chunk-signature=…]\r\nDATA\r\n`
 * chunks up to a zero-size one, then trailers.
 */
export function decodeAwsChunked(raw: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', at);
    if (lineEnd < 0)
      throw new AwsError('IncompleteBody', 'The request body is not valid aws-chunked encoding.');
    const size = parseInt(raw.subarray(at, lineEnd).toString('latin1').split(';')[0]!, 16);
    if (!Number.isFinite(size))
      throw new AwsError('IncompleteBody', 'The request body is not valid aws-chunked encoding.');
    if (size === 0) return Buffer.concat(parts);
    parts.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}

export class S3Service implements SimService {
  readonly name = 's3';
  readonly mutating = new Set(['CreateBucket', 'PutObject', 'DeleteObject']);
  private readonly store: S3Store;

  constructor(private readonly parts: ServiceParts) {
    this.store = s3StoreOf(parts);
  }

  handle(operation: string, params: Params): S3Reply {
    const bucketName = String(params.Bucket ?? '');
    const key = String(params.Key ?? '');
    switch (operation) {
      case 'ListBuckets':
        return xml(
          'ListAllMyBucketsResult',
          `<Buckets>${[...this.store.buckets.values()]
            .map(
              (b) => `<Bucket>${el('Name', b.name)}${el('CreationDate', b.createdAt.toISOString())}</Bucket>`,
            )
            .join('')}</Buckets>`,
        );
      case 'CreateBucket': {
        const existing = this.store.buckets.get(bucketName);
        if (existing)
          throw new AwsError(
            'BucketAlreadyOwnedByYou',
            'Your previous request to create the named bucket succeeded and you already own it.',
            409,
          );
        this.store.createBucket(bucketName);
        this.parts.event('s3-bucket-created', { bucket: bucketName });
        return { headers: { location: `/${bucketName}` } };
      }
      case 'HeadBucket':
        return { headers: { 'x-amz-bucket-region': this.bucket(bucketName).region } };
      case 'GetBucketLocation': {
        const region = this.bucket(bucketName).region;
        // us-east-1 buckets have an empty LocationConstraint (API reference).
        return {
          headers: { 'content-type': 'application/xml' },
          body: `${XML_HEADER}<LocationConstraint xmlns="${NAMESPACE}">${region === 'us-east-1' ? '' : escapeXml(region)}</LocationConstraint>`,
        };
      }
      case 'GetBucketEncryption':
        this.bucket(bucketName);
        return xml(
          'ServerSideEncryptionConfiguration',
          `<Rule><ApplyServerSideEncryptionByDefault>${el('SSEAlgorithm', 'AES256')}</ApplyServerSideEncryptionByDefault>${el('BucketKeyEnabled', false)}</Rule>`,
        );
      case 'GetBucketVersioning':
        this.bucket(bucketName);
        return xml('VersioningConfiguration', '');
      case 'ListObjectsV2':
        return this.listObjectsV2(this.bucket(bucketName), params);
      case 'PutObject': {
        const bucket = this.bucket(bucketName);
        const body = Buffer.isBuffer(params.Body) ? params.Body : Buffer.from(String(params.Body ?? ''));
        const object = this.store.put(bucket, key, body, params.ContentType as string | undefined);
        this.parts.event('s3-object-put', { bucket: bucketName, key, bytes: body.length });
        return { headers: { etag: object.etag } };
      }
      case 'GetObject':
      case 'HeadObject': {
        const object = this.bucket(bucketName).objects.get(key);
        if (!object) throw new AwsError('NoSuchKey', 'The specified key does not exist.', 404);
        const headers = {
          etag: object.etag,
          'last-modified': object.lastModified.toUTCString(),
          'content-type': object.contentType ?? 'binary/octet-stream',
          'content-length': String(object.body.length),
        };
        return operation === 'GetObject' ? { headers, body: object.body } : { headers };
      }
      case 'DeleteObject':
        this.bucket(bucketName).objects.delete(key);
        return { status: 204 };
      default:
        throw new AwsError('NotImplemented', `${operation} is not served by the simulator's S3`, 501);
    }
  }

  private bucket(name: string): S3Bucket {
    const bucket = this.store.buckets.get(name);
    if (!bucket) throw new AwsError('NoSuchBucket', 'The specified bucket does not exist', 404);
    return bucket;
  }

  private listObjectsV2(bucket: S3Bucket, params: Params): S3Reply {
    const prefix = String(params.prefix ?? '');
    const startAfter = String(params['continuation-token'] ?? params['start-after'] ?? '');
    const maxKeys = Math.min(Number(params['max-keys'] ?? 1000) || 1000, 1000);
    const keys = [...bucket.objects.keys()].filter((k) => k.startsWith(prefix) && k > startAfter).sort();
    const page = keys.slice(0, maxKeys);
    const truncated = keys.length > page.length;
    const contents = page
      .map((k) => {
        const o = bucket.objects.get(k)!;
        return `<Contents>${el('Key', k)}${el('LastModified', o.lastModified.toISOString())}${el('ETag', o.etag)}${el('Size', o.body.length)}${el('StorageClass', 'STANDARD')}</Contents>`;
      })
      .join('');
    return xml(
      'ListBucketResult',
      el('Name', bucket.name) +
        el('Prefix', prefix) +
        el('KeyCount', page.length) +
        el('MaxKeys', maxKeys) +
        el('IsTruncated', truncated) +
        (truncated ? el('NextContinuationToken', page[page.length - 1]!) : '') +
        contents,
    );
  }
}
