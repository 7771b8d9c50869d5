/**
 * The ECR registry front: the data plane docker pushes and pulls through, an
 * HTTP reverse proxy on 127.0.0.1 in front of the real registry (the
 * scenario's `ecr.registry`). It passes every request through unchanged
 * (authentication stays the registry's own: Basic against its htpasswd), and
 * answers as ECR's registry endpoint would where ECR's rules differ:
 * - `PUT /v2/<repository>/manifests/<tag>` of a tag that exists and is
 *   immutable in the repository (sim/ecr-tag-rules.ts) is refused with
 *   400 `TAG_INVALID`, whatever the manifest (ECR refuses the same image
 *   again too), which docker prints as
 *   `tag invalid: The image tag '…' already exists in the '…' repository and cannot be overwritten because the tag is immutable.`;
 * - a repository the account does not have is 404 `NAME_UNKNOWN`;
 * - with IAM modelled, a login from GetAuthorizationToken is the calling
 *   session's: each request is authorized as the registry action ECR
 *   authorizes it as (ecr:InitiateLayerUpload, ecr:PutImage, ecr:BatchGetImage, …)
 *   on the repository, a denial is 403 `DENIED` naming action and resource,
 *   and the request goes on with the simulator's own registry login.
 * Once it listens, the ECR API's GetAuthorizationToken and repositoryUri
 * name it, so clients that log in through ECR push through it.
 * Error shape: https://distribution.github.io/distribution/spec/api/#errors
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { DataPlaneDeps } from './registry.js';
import { EcrService } from './services/ecr.js';
import { closeServer, listen } from './listen.js';

/** `/v2/<name>/manifests/<reference>`, `/v2/<name>/blobs/…`, `/v2/<name>/tags/list`. */
const REPOSITORY_PATH = /^\/v2\/(.+?)\/(manifests|blobs|tags)\/(.*)$/;

/**
 * The IAM action ECR authorizes a registry request as
 * (https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-push-iam.html,
 *  .../security_iam_id-based-policy-examples.html).
 */
export function registryAction(method: string, kind: string, rest: string): string {
  if (kind === 'manifests') {
    if (method === 'PUT') return 'ecr:PutImage';
    if (method === 'DELETE') return 'ecr:BatchDeleteImage';
    return 'ecr:BatchGetImage';
  }
  if (kind === 'tags') return 'ecr:ListImages';
  if (rest.startsWith('uploads/')) {
    if (method === 'POST') return 'ecr:InitiateLayerUpload';
    if (method === 'PUT') return 'ecr:CompleteLayerUpload';
    return 'ecr:UploadLayerPart';
  }
  return method === 'HEAD' ? 'ecr:BatchCheckLayerAvailability' : 'ecr:GetDownloadUrlForLayer';
}

/**
 * The port each registry's front last listened on in this process: a reload
 * (sim.load, reset) listens there again when it can, so the registry's host,
 * which image references name, stays the same, as ECR's does.
 */
const lastPorts = new Map<string, number>();

export interface EcrFront {
  /** host:port it listens on; undefined when the scenario has no ECR. */
  readonly host?: string;
  close(): Promise<void>;
}

export async function startEcrFront(deps: DataPlaneDeps): Promise<EcrFront> {
  const ecr = deps.services.find((s): s is EcrService => s instanceof EcrService);
  const upstream = ecr?.registryAddress;
  if (!ecr || !upstream) return { close: async () => undefined };
  const [upstreamHost, upstreamPort] = splitHost(upstream);
  // Manifest PUTs of one tag, one at a time: the tag check and the write are one step.
  const tagLocks = new Map<string, Promise<void>>();

  const forward = (req: IncomingMessage, res: ServerResponse, onAnswer?: (answer: IncomingMessage) => void) =>
    new Promise<void>((resolve) => {
      const out = request(
        { host: upstreamHost, port: upstreamPort, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          onAnswer?.(answer);
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          answer.on('end', resolve);
          answer.on('error', () => resolve());
        },
      );
      out.on('error', (err) => {
        if (!res.headersSent) registryError(res, 502, 'UNAVAILABLE', `registry ${upstream}: ${err.message}`);
        else res.destroy();
        resolve();
      });
      req.pipe(out);
    });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const match = REPOSITORY_PATH.exec(new URL(req.url ?? '/', 'http://front').pathname);
    const login = ecr.registryLogin(req.headers.authorization);
    if (login.kind === 'expired') {
      req.resume();
      return registryError(
        res,
        403,
        'DENIED',
        'Your authorization token has expired. Reauthenticate and try again.',
      );
    }
    if (login.kind === 'session') {
      if (match) {
        const [, name, kind, rest] = match as unknown as [string, string, string, string];
        const denial = ecr.registryDenial(
          login.session,
          registryAction(req.method ?? 'GET', kind, rest),
          name,
        );
        if (denial) {
          req.resume();
          return registryError(res, 403, 'DENIED', denial);
        }
      }
      // Authorized: the registry behind sees the simulator's own login.
      req.headers.authorization = ecr.registryAuthorization();
    }
    // Unauthenticated requests get the registry's own challenge first, as ECR's do.
    if (!match || login.kind === 'none') return forward(req, res);
    const [, repository, kind, reference] = match as unknown as [string, string, string, string];
    if (!ecr.hasRepository(repository)) {
      return registryError(
        res,
        404,
        'NAME_UNKNOWN',
        `The repository with name '${repository}' does not exist in the registry with id '${ecr.accountId}'`,
      );
    }
    if (req.method !== 'PUT' || kind !== 'manifests' || reference.startsWith('sha256:')) {
      return forward(req, res);
    }
    const key = `${repository}:${reference}`;
    const before = tagLocks.get(key) ?? Promise.resolve();
    const turn = before.then(async () => {
      const refusal = await ecr.tagPushRefusal(repository, reference, 'registry').catch((err: Error) => {
        registryError(res, 500, 'UNKNOWN', err.message);
        return null;
      });
      if (refusal === null) return;
      if (refusal) {
        req.resume();
        return registryError(res, 400, 'TAG_INVALID', refusal);
      }
      await forward(req, res, (answer) => {
        const digest = answer.headers['docker-content-digest'];
        if (answer.statusCode === 201 && typeof digest === 'string') ecr.recordPush(digest);
      });
    });
    const settled = turn.catch(() => undefined);
    tagLocks.set(key, settled);
    await settled;
    if (tagLocks.get(key) === settled) tagLocks.delete(key);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) registryError(res, 500, 'UNKNOWN', err.message);
    });
  });
  // Without this a keep-alive client would hold close() open.
  server.keepAliveTimeout = 1000;
  const port = await listen(server, lastPorts.get(upstream) ?? 0).catch(() => listen(server, 0));
  lastPorts.set(upstream, port);
  const host = `127.0.0.1:${port}`;
  ecr.useFront(host);
  return {
    host,
    close: async () => {
      ecr.useFront(undefined);
      await closeServer(server);
    },
  };
}

/** The registry API's error body, as ECR's registry endpoint sends it. */
function registryError(res: ServerResponse, status: number, code: string, message: string): void {
  const body = JSON.stringify({ errors: [{ code, message }] });
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'docker-distribution-api-version': 'registry/2.0',
  });
  res.end(body);
}

function splitHost(address: string): [string, number] {
  const url = new URL(/^https?:\/\//.test(address) ? address : `http://${address}`);
  return [url.hostname, Number(url.port || 80)];
}
