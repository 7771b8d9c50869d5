/**
 * ECR's tag rules and its registry front, against a small registry double
 * (the registry HTTP API v2 for manifests, with Basic auth): what ECR refuses
 * and how it says it, judged from what reached the registry behind the front.
 * The docker tests (test/e2e/build-push-ecr.test.ts) do the same with a real
 * engine and registry.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CreateRepositoryCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
  ImageAlreadyExistsException,
  ImageTagAlreadyExistsException,
  InvalidParameterException,
  PutImageCommand,
  RepositoryAlreadyExistsException,
} from '@aws-sdk/client-ecr';
import { registryAction } from '../../sim/ecr-front.js';
import { isTagImmutable } from '../../sim/ecr-tag-rules.js';
import { startSim, type Sim } from '../../sim/index.js';
import type { EcrRepositorySpec, Scenario } from '../../sim/scenario.js';
import { clientConfig } from './helpers.js';

const PASSWORD = 'registry-double-password';
const BASIC = `Basic ${Buffer.from(`AWS:${PASSWORD}`).toString('base64')}`;
const MEDIA = 'application/vnd.oci.image.manifest.v1+json';

/** A registry that stores manifests by repository and reference, behind Basic auth, and counts the PUTs it got. */
function registryDouble() {
  const manifests = new Map<string, { body: string; digest: string }>();
  const puts: string[] = [];
  const server: Server = createServer((req, res) => {
    if (req.headers.authorization !== BASIC) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="double"' });
      return res.end();
    }
    const url = new URL(req.url!, 'http://double');
    if (url.pathname === '/v2/') return res.end('{}');
    const match = /^\/v2\/(.+)\/manifests\/(.+)$/.exec(url.pathname);
    if (!match) {
      res.writeHead(404);
      return res.end();
    }
    const [, repository, reference] = match as unknown as [string, string, string];
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'PUT') {
        const body = Buffer.concat(chunks).toString();
        const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
        manifests.set(`${repository}:${reference}`, { body, digest });
        manifests.set(`${repository}:${digest}`, { body, digest });
        puts.push(`${repository}:${reference}`);
        res.writeHead(201, { 'docker-content-digest': digest });
        return res.end();
      }
      const found = manifests.get(`${repository}:${reference}`);
      if (!found) {
        res.writeHead(404, { 'content-type': 'application/json' });
        return res.end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}');
      }
      res.writeHead(200, { 'docker-content-digest': found.digest, 'content-type': MEDIA });
      res.end(req.method === 'HEAD' ? undefined : found.body);
    });
  });
  return { server, manifests, puts };
}

const manifest = (variant: string) =>
  JSON.stringify({ schemaVersion: 2, mediaType: MEDIA, config: { digest: variant }, layers: [] });

const repositories: EcrRepositorySpec[] = [
  { name: 'alva/immutable', imageTagMutability: 'IMMUTABLE' },
  {
    name: 'alva/cache-excluded',
    imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
    imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'buildcache' }],
  },
  {
    name: 'alva/releases-kept',
    imageTagMutability: 'MUTABLE_WITH_EXCLUSION',
    imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'v*' }],
  },
];

const ACCOUNT = '123456789012';
const REPO_ARN = `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/alva/immutable`;

let double: ReturnType<typeof registryDouble>;
let sim: Sim;
let ecr: ECRClient;
let front: string;

function scenario(iam?: Scenario['iam']): Scenario {
  const { port } = double.server.address() as AddressInfo;
  return {
    clusters: [],
    taskDefinitions: [],
    ecr: {
      registry: `127.0.0.1:${port}`,
      username: 'AWS',
      password: PASSWORD,
      repositories: ['alva/mutable', ...repositories],
    },
    ...(iam ? { iam } : {}),
  };
}

const put = (repository: string, tag: string, body: string, authorization = BASIC) =>
  fetch(`http://${front}/v2/${repository}/manifests/${tag}`, {
    method: 'PUT',
    headers: { authorization, 'content-type': MEDIA },
    body,
  });

beforeAll(async () => {
  double = registryDouble();
  await new Promise<void>((resolve) => double.server.listen(0, '127.0.0.1', resolve));
  sim = await startSim({ scenario: scenario(), port: 0 });
  ecr = new ECRClient(clientConfig(sim.url));
});

beforeEach(async () => {
  double.manifests.clear();
  double.puts.length = 0;
  await sim.load(scenario());
  const token = await ecr.send(new GetAuthorizationTokenCommand({}));
  front = token.authorizationData![0]!.proxyEndpoint!.replace('http://', '');
});

afterAll(async () => {
  ecr?.destroy();
  await sim?.close();
  await new Promise((resolve) => double.server.close(resolve));
});

describe('tag rules', () => {
  test('which tags each mutability setting keeps', () => {
    const rules = (imageTagMutability: EcrRepositorySpec['imageTagMutability'], ...filters: string[]) => ({
      imageTagMutability: imageTagMutability!,
      imageTagMutabilityExclusionFilters: filters.map((filter) => ({
        filterType: 'WILDCARD' as const,
        filter,
      })),
    });
    expect(isTagImmutable(rules('MUTABLE'), 'v1')).toBe(false);
    expect(isTagImmutable(rules('IMMUTABLE'), 'v1')).toBe(true);
    expect(isTagImmutable(rules('IMMUTABLE_WITH_EXCLUSION', 'build*', 'x.y'), 'buildcache')).toBe(false);
    expect(isTagImmutable(rules('IMMUTABLE_WITH_EXCLUSION', 'build*', 'x.y'), 'xzy')).toBe(true);
    expect(isTagImmutable(rules('IMMUTABLE_WITH_EXCLUSION', 'build*'), 'rebuild')).toBe(true);
    expect(isTagImmutable(rules('MUTABLE_WITH_EXCLUSION', 'v*'), 'v2')).toBe(true);
    expect(isTagImmutable(rules('MUTABLE_WITH_EXCLUSION', 'v*'), 'latest')).toBe(false);
  });

  test('registry requests are authorized as the ECR actions the push and pull policies name', () => {
    expect(registryAction('HEAD', 'blobs', 'sha256:abc')).toBe('ecr:BatchCheckLayerAvailability');
    expect(registryAction('GET', 'blobs', 'sha256:abc')).toBe('ecr:GetDownloadUrlForLayer');
    expect(registryAction('POST', 'blobs', 'uploads/')).toBe('ecr:InitiateLayerUpload');
    expect(registryAction('PATCH', 'blobs', 'uploads/123')).toBe('ecr:UploadLayerPart');
    expect(registryAction('PUT', 'blobs', 'uploads/123')).toBe('ecr:CompleteLayerUpload');
    expect(registryAction('PUT', 'manifests', 'v1')).toBe('ecr:PutImage');
    expect(registryAction('HEAD', 'manifests', 'v1')).toBe('ecr:BatchGetImage');
    expect(registryAction('GET', 'tags', 'list')).toBe('ecr:ListImages');
  });
});

describe('the registry front', () => {
  test('an existing tag of an IMMUTABLE repository: 400 TAG_INVALID in ECR words, and the registry never sees the PUT', async () => {
    expect((await put('alva/immutable', 'v1', manifest('a'))).status).toBe(201);
    const refused = await put('alva/immutable', 'v1', manifest('b'));
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({
      errors: [
        {
          code: 'TAG_INVALID',
          message:
            "The image tag 'v1' already exists in the 'alva/immutable' repository and cannot be overwritten because the tag is immutable.",
        },
      ],
    });
    // The same image again is refused too.
    expect((await put('alva/immutable', 'v1', manifest('a'))).status).toBe(400);
    expect(double.puts).toEqual(['alva/immutable:v1']);
    expect(sim.events().filter((e) => e.kind === 'ecr.push.refused')).toHaveLength(2);
  });

  test('excluded tags move; MUTABLE moves; MUTABLE_WITH_EXCLUSION keeps its excluded tags', async () => {
    for (const [repository, tag, second] of [
      ['alva/cache-excluded', 'buildcache', 201],
      ['alva/cache-excluded', 'release-1', 400],
      ['alva/mutable', 'latest', 201],
      ['alva/releases-kept', 'latest', 201],
      ['alva/releases-kept', 'v1', 400],
    ] as const) {
      expect([repository, tag, (await put(repository, tag, manifest('a'))).status]).toEqual([
        repository,
        tag,
        201,
      ]);
      expect([repository, tag, (await put(repository, tag, manifest('b'))).status]).toEqual([
        repository,
        tag,
        second,
      ]);
    }
  });

  test('two pushes of one new immutable tag at once: one wins, the other is refused', async () => {
    const statuses = await Promise.all([
      put('alva/immutable', 'race', manifest('a')).then((r) => r.status),
      put('alva/immutable', 'race', manifest('b')).then((r) => r.status),
    ]);
    expect(statuses.sort()).toEqual([201, 400]);
    expect(double.puts).toEqual(['alva/immutable:race']);
  });

  test("a repository the account does not have is NAME_UNKNOWN; an unauthenticated request gets the registry's challenge", async () => {
    const unknown = await put('alva/nope', 'v1', manifest('a'));
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({
      errors: [
        {
          code: 'NAME_UNKNOWN',
          message: `The repository with name 'alva/nope' does not exist in the registry with id '${ACCOUNT}'`,
        },
      ],
    });
    const anonymous = await fetch(`http://${front}/v2/alva/immutable/manifests/v1`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Basic realm="double"');
  });

  test('a reload listens on the same port: image references stay valid', async () => {
    await sim.reset();
    const token = await ecr.send(new GetAuthorizationTokenCommand({}));
    expect(token.authorizationData![0]!.proxyEndpoint).toBe(`http://${front}`);
  });
});

describe('the ECR API', () => {
  test('PutImage: ImageTagAlreadyExistsException for another image, ImageAlreadyExistsException for the same one', async () => {
    const putImage = (imageManifest: string, imageTag: string, repositoryName = 'alva/immutable') =>
      ecr.send(
        new PutImageCommand({ repositoryName, imageTag, imageManifest, imageManifestMediaType: MEDIA }),
      );
    const first = await putImage(manifest('a'), 'v1');
    expect(first.image!.imageId!.imageTag).toBe('v1');
    const refused = putImage(manifest('b'), 'v1');
    await expect(refused).rejects.toBeInstanceOf(ImageTagAlreadyExistsException);
    await expect(refused).rejects.toThrow(
      "The image tag 'v1' already exists in the 'alva/immutable' repository and cannot be overwritten because the tag is immutable.",
    );
    await expect(putImage(manifest('a'), 'v1')).rejects.toBeInstanceOf(ImageAlreadyExistsException);
    // In a MUTABLE repository the tag moves, but the same image again is still ImageAlreadyExistsException.
    await putImage(manifest('a'), 'latest', 'alva/mutable');
    await expect(putImage(manifest('a'), 'latest', 'alva/mutable')).rejects.toBeInstanceOf(
      ImageAlreadyExistsException,
    );
    expect((await putImage(manifest('b'), 'latest', 'alva/mutable')).image!.imageId!.imageDigest).toBe(
      double.manifests.get('alva/mutable:latest')!.digest,
    );
  });

  test('DescribeRepositories and CreateRepository answer tag mutability and exclusion filters; bad settings are refused', async () => {
    const out = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['alva/cache-excluded'] }));
    expect(out.repositories![0]).toMatchObject({
      repositoryUri: `${front}/alva/cache-excluded`,
      imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
      imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'buildcache' }],
    });
    const created = await ecr.send(
      new CreateRepositoryCommand({ repositoryName: 'alva/new', imageTagMutability: 'IMMUTABLE' }),
    );
    expect(created.repository).toMatchObject({
      repositoryName: 'alva/new',
      repositoryArn: `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/alva/new`,
      imageTagMutability: 'IMMUTABLE',
    });
    expect((await put('alva/new', 'v1', manifest('a'))).status).toBe(201);
    expect((await put('alva/new', 'v1', manifest('b'))).status).toBe(400);
    await expect(
      ecr.send(new CreateRepositoryCommand({ repositoryName: 'alva/new' })),
    ).rejects.toBeInstanceOf(RepositoryAlreadyExistsException);
    const filters = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ filterType: 'WILDCARD' as const, filter: `t${i}*` }));
    for (const input of [
      {
        repositoryName: 'alva/a',
        imageTagMutability: 'IMMUTABLE' as const,
        imageTagMutabilityExclusionFilters: filters(1),
      },
      { repositoryName: 'alva/b', imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION' as const },
      {
        repositoryName: 'alva/c',
        imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION' as const,
        imageTagMutabilityExclusionFilters: filters(6),
      },
      { repositoryName: 'Alva/Upper' },
    ]) {
      await expect(ecr.send(new CreateRepositoryCommand(input))).rejects.toBeInstanceOf(
        InvalidParameterException,
      );
    }
  });
});

describe('with IAM modelled', () => {
  const role = (name: string, actions: string[]) => ({
    name,
    arn: `arn:aws:iam::${ACCOUNT}:role/${name}`,
    trust: { Statement: [] },
    policies: [
      {
        name: 'ecr',
        document: {
          Statement: [
            { Effect: 'Allow' as const, Action: 'ecr:GetAuthorizationToken', Resource: '*' },
            { Effect: 'Allow' as const, Action: actions, Resource: REPO_ARN },
          ],
        },
      },
    ],
  });

  /** The Authorization header of a docker login with the token GetAuthorizationToken gives `roleName`'s session. */
  async function loginAs(roleName: string): Promise<string> {
    const client = new ECRClient({ ...clientConfig(sim.url), credentials: sim.session(roleName) });
    try {
      const token = await client.send(new GetAuthorizationTokenCommand({}));
      return `Basic ${token.authorizationData![0]!.authorizationToken!}`;
    } finally {
      client.destroy();
    }
  }

  test("a session's login is its own; the front authorizes each request as the session's role, then logs in as itself", async () => {
    await sim.load(
      scenario({
        roles: [role('pusher', ['ecr:PutImage', 'ecr:BatchGetImage']), role('reader', ['ecr:BatchGetImage'])],
      }),
    );
    const pusher = await loginAs('pusher');
    expect(pusher).not.toBe(BASIC);
    expect((await put('alva/immutable', 'v1', manifest('a'), pusher)).status).toBe(201);
    const read = await fetch(`http://${front}/v2/alva/immutable/manifests/v1`, {
      headers: { authorization: pusher },
    });
    expect(read.status).toBe(200);

    const reader = await loginAs('reader');
    const denied = await put('alva/immutable', 'v2', manifest('b'), reader);
    expect(denied.status).toBe(403);
    const body = (await denied.json()) as { errors: { code: string; message: string }[] };
    expect(body.errors[0]!.code).toBe('DENIED');
    expect(body.errors[0]!.message).toMatch(
      new RegExp(
        `^User: arn:aws:sts::${ACCOUNT}:assumed-role/reader/\\S+ is not authorized to perform: ecr:PutImage on resource: ${REPO_ARN.replace(/[/.]/g, '\\$&')} because no identity-based policy allows the ecr:PutImage action$`,
      ),
    );
    expect(double.puts).toEqual(['alva/immutable:v1']);
    // A login the simulator never handed out is the registry's business: here, refused.
    const forged = `Basic ${Buffer.from('AWS:ecr-session-forged').toString('base64')}`;
    expect((await put('alva/immutable', 'v3', manifest('c'), forged)).status).toBe(401);
  });
});
