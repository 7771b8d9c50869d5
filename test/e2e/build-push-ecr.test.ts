/**
 * The simulator's ECR, through the real AWS SDK, fronting the real registry:
 * images pushed with docker are what DescribeImages and BatchGetImage report.
 * Its tag rules: an immutable tag that exists is refused both by PutImage and
 * by the registry front docker pushes through.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DescribeImageScanFindingsCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
  ImageAlreadyExistsException,
  ImageNotFoundException,
  ImageTagAlreadyExistsException,
  PutImageCommand,
  RepositoryAlreadyExistsException,
  RepositoryNotFoundException,
} from '@aws-sdk/client-ecr';
import type { EcrRepositorySpec } from '../../sim/scenario.js';
import { startSim, type Sim } from '../../sim/index.js';
import {
  REGISTRY,
  REGISTRY_PASSWORD,
  REGISTRY_USER,
  ecrScenario,
  ensureDocker,
  registryDigest,
} from '../../runner/docker.js';

const repository = `e2e-ecr-${Date.now().toString(36)}/web`;
const docker = (args: string[], env: Record<string, string>, input?: string) =>
  execFileSync('/usr/bin/docker', args, {
    env: { ...process.env, ...env },
    input,
    stdio: ['pipe', 'pipe', 'pipe'],
  });

describe("simulator's ECR over a real registry", () => {
  let sim: Sim;
  let ecr: ECRClient;
  let digest: string;

  beforeAll(async () => {
    await ensureDocker();
    const config = mkdtempSync(join(tmpdir(), 'ecr-docker-'));
    try {
      const env = { DOCKER_CONFIG: config };
      docker(['login', '-u', REGISTRY_USER, '--password-stdin', REGISTRY], env, REGISTRY_PASSWORD);
      docker(['tag', 'ecs-ship/node:24', `${REGISTRY}/${repository}:v1`], env);
      docker(['tag', 'ecs-ship/node:24', `${REGISTRY}/${repository}:latest`], env);
      docker(['push', `${REGISTRY}/${repository}:v1`], env);
      docker(['push', `${REGISTRY}/${repository}:latest`], env);
      docker(['image', 'rm', `${REGISTRY}/${repository}:v1`, `${REGISTRY}/${repository}:latest`], env);
    } finally {
      rmSync(config, { recursive: true, force: true });
    }
    digest = (await registryDigest(repository, 'v1'))!;
    sim = await startSim({
      scenario: ecrScenario([repository], {
        scanFindings: {
          [repository]: [{ name: 'CVE-2099-7', severity: 'HIGH', uri: 'https://example.invalid/7' }],
        },
      }),
      speed: 20,
      port: 0,
    });
    ecr = new ECRClient({
      region: 'us-east-1',
      endpoint: sim.url,
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    });
  }, 320_000);

  afterAll(async () => {
    ecr?.destroy();
    await sim?.close();
  });

  test('GetAuthorizationToken: AWS:<password>, proxy endpoint at the registry front (not the registry behind it), 12 hours', async () => {
    const out = await ecr.send(new GetAuthorizationTokenCommand({}));
    const data = out.authorizationData![0]!;
    expect(Buffer.from(data.authorizationToken!, 'base64').toString()).toBe(`AWS:${REGISTRY_PASSWORD}`);
    expect(data.proxyEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(data.proxyEndpoint).not.toBe(`http://${REGISTRY}`);
    // The front serves what the registry holds, with the same login.
    const served = await fetch(`${data.proxyEndpoint}/v2/${repository}/manifests/v1`, {
      method: 'HEAD',
      headers: {
        authorization: `Basic ${data.authorizationToken}`,
        accept: 'application/vnd.docker.distribution.manifest.v2+json',
      },
    });
    expect(served.headers.get('docker-content-digest')).toBe(digest);
    const anonymous = await fetch(`${data.proxyEndpoint}/v2/`);
    expect(anonymous.status).toBe(401);
    expect(data.expiresAt).toBeInstanceOf(Date);
    expect(data.expiresAt!.getTime() - sim.now()).toBeGreaterThan(11 * 3600 * 1000);
  });

  test('DescribeRepositories: the scenario repositories; a missing one is RepositoryNotFoundException', async () => {
    const out = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [repository] }));
    const token = await ecr.send(new GetAuthorizationTokenCommand({}));
    const front = token.authorizationData![0]!.proxyEndpoint!.replace('http://', '');
    expect(out.repositories![0]).toMatchObject({
      repositoryName: repository,
      registryId: '123456789012',
      repositoryUri: `${front}/${repository}`,
      repositoryArn: `arn:aws:ecr:us-east-1:123456789012:repository/${repository}`,
      imageTagMutability: 'MUTABLE',
    });
    await expect(
      ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['nope'] })),
    ).rejects.toBeInstanceOf(RepositoryNotFoundException);
  });

  test('DescribeImages: what the registry holds, both tags on one digest; a missing tag is ImageNotFoundException', async () => {
    const all = await ecr.send(new DescribeImagesCommand({ repositoryName: repository }));
    expect(all.imageDetails).toHaveLength(1);
    expect(all.imageDetails![0]).toMatchObject({ imageDigest: digest, repositoryName: repository });
    expect(all.imageDetails![0]!.imageTags!.sort()).toEqual(['latest', 'v1']);
    expect(all.imageDetails![0]!.imageSizeInBytes).toBeGreaterThan(1_000_000);
    expect(all.imageDetails![0]!.imagePushedAt).toBeInstanceOf(Date);
    const one = await ecr.send(
      new DescribeImagesCommand({ repositoryName: repository, imageIds: [{ imageTag: 'v1' }] }),
    );
    expect(one.imageDetails![0]!.imageDigest).toBe(digest);
    await expect(
      ecr.send(new DescribeImagesCommand({ repositoryName: repository, imageIds: [{ imageTag: 'v2' }] })),
    ).rejects.toBeInstanceOf(ImageNotFoundException);
  });

  test('BatchGetImage: the manifest bytes and media type; misses are failures, not errors', async () => {
    const out = await ecr.send(
      new BatchGetImageCommand({
        repositoryName: repository,
        imageIds: [
          { imageTag: 'v1' },
          { imageTag: 'v2' },
          { imageTag: 'latest', imageDigest: `sha256:${'0'.repeat(64)}` },
        ],
      }),
    );
    expect(out.images).toHaveLength(1);
    expect(out.images![0]!.imageId).toEqual({ imageDigest: digest, imageTag: 'v1' });
    expect(out.images![0]!.imageManifestMediaType).toBe(
      'application/vnd.docker.distribution.manifest.v2+json',
    );
    expect(JSON.parse(out.images![0]!.imageManifest!)).toHaveProperty('layers');
    expect(out.failures!.map((f) => [f.imageId!.imageTag, f.failureCode])).toEqual([
      ['v2', 'ImageNotFound'],
      ['latest', 'ImageNotFound'],
    ]);
  });

  test('DescribeImageScanFindings: IN_PROGRESS while the scan runs, then COMPLETE with the scenario findings', async () => {
    const ask = () =>
      ecr.send(
        new DescribeImageScanFindingsCommand({
          repositoryName: repository,
          imageId: { imageDigest: digest },
        }),
      );
    let out = await ask();
    for (let i = 0; i < 50 && out.imageScanStatus?.status !== 'COMPLETE'; i++) {
      expect(out.imageScanStatus?.status).toBe('IN_PROGRESS');
      await new Promise((r) => setTimeout(r, 50));
      out = await ask();
    }
    expect(out.imageScanStatus?.status).toBe('COMPLETE');
    expect(out.imageScanFindings?.findingSeverityCounts).toEqual({ HIGH: 1 });
    expect(out.imageScanFindings?.findings).toEqual([
      expect.objectContaining({ name: 'CVE-2099-7', severity: 'HIGH', uri: 'https://example.invalid/7' }),
    ]);
    expect(out.imageScanFindings?.imageScanCompletedAt).toBeInstanceOf(Date);
  });
});

/** docker, without blocking the event loop: the simulator runs in this process. */
function dockerAsync(
  args: string[],
  env: Record<string, string>,
  input = '',
): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/docker', args, { env: { ...process.env, ...env } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
    child.stdin.end(input);
  });
}

describe('ECR tag rules: PutImage and the registry front docker pushes through', () => {
  const run = Date.now().toString(36);
  const repos = {
    immutable: `e2e-tags-${run}/immutable`,
    excluded: `e2e-tags-${run}/excluded`,
    mutable: `e2e-tags-${run}/mutable`,
    guarded: `e2e-tags-${run}/guarded`,
  };
  const settings: EcrRepositorySpec[] = [
    { name: repos.immutable, imageTagMutability: 'IMMUTABLE' },
    {
      name: repos.excluded,
      imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
      imageTagMutabilityExclusionFilters: [
        { filterType: 'WILDCARD', filter: 'buildcache' },
        { filterType: 'WILDCARD', filter: 'latest-*' },
      ],
    },
    {
      name: repos.guarded,
      imageTagMutability: 'MUTABLE_WITH_EXCLUSION',
      imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'v*' }],
    },
  ];
  // Two different local images (their labels differ, so their configs and digests do).
  const images = { a: `e2e-tags-${run}-a:local`, b: `e2e-tags-${run}-b:local` };
  let sim: Sim;
  let ecr: ECRClient;
  let front: string;
  let env: Record<string, string>;
  let config: string;

  const push = async (image: string, repository: string, tag: string) => {
    const target = `${front}/${repository}:${tag}`;
    const tagged = await dockerAsync(['tag', image, target], env);
    if (tagged.code !== 0) throw new Error(tagged.output);
    return dockerAsync(['push', target], env);
  };
  const refusal = (repository: string, tag: string) =>
    `tag invalid: The image tag '${tag}' already exists in the '${repository}' repository and cannot be overwritten because the tag is immutable.`;
  const digestOf = async (repository: string, tag: string) =>
    (await ecr.send(new DescribeImagesCommand({ repositoryName: repository, imageIds: [{ imageTag: tag }] })))
      .imageDetails![0]!.imageDigest!;

  beforeAll(async () => {
    await ensureDocker();
    config = mkdtempSync(join(tmpdir(), 'ecr-tags-docker-'));
    env = { DOCKER_CONFIG: config };
    for (const [variant, image] of Object.entries(images)) {
      docker(['build', '--label', `variant=${variant}`, '--tag', image, '-'], env, 'FROM ecs-ship/node:24\n');
    }
    const base = ecrScenario([repos.mutable]);
    sim = await startSim({
      scenario: { ...base, ecr: { ...base.ecr!, repositories: [repos.mutable, ...settings] } },
      speed: 20,
      port: 0,
    });
    ecr = new ECRClient({
      region: 'us-east-1',
      endpoint: sim.url,
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    });
    const token = (await ecr.send(new GetAuthorizationTokenCommand({}))).authorizationData![0]!;
    front = token.proxyEndpoint!.replace('http://', '');
    const [user, password] = Buffer.from(token.authorizationToken!, 'base64').toString().split(':');
    const login = await dockerAsync(['login', '-u', user!, '--password-stdin', front], env, password);
    if (login.code !== 0) throw new Error(login.output);
  }, 320_000);

  afterAll(async () => {
    ecr?.destroy();
    await sim?.close();
    if (config) rmSync(config, { recursive: true, force: true });
    try {
      docker(['image', 'rm', '--force', images.a, images.b], {});
    } catch {
      // Best effort: the images are small and named per run.
    }
  });

  test('DescribeRepositories describes the tag mutability and exclusion filters of each repository as AWS does', async () => {
    const out = await ecr.send(
      new DescribeRepositoriesCommand({ repositoryNames: [repos.immutable, repos.excluded, repos.mutable] }),
    );
    expect(
      out.repositories!.map((r) => [
        r.repositoryName,
        r.imageTagMutability,
        r.imageTagMutabilityExclusionFilters,
      ]),
    ).toEqual([
      [repos.immutable, 'IMMUTABLE', undefined],
      [
        repos.excluded,
        'IMMUTABLE_WITH_EXCLUSION',
        [
          { filterType: 'WILDCARD', filter: 'buildcache' },
          { filterType: 'WILDCARD', filter: 'latest-*' },
        ],
      ],
      [repos.mutable, 'MUTABLE', undefined],
    ]);
    expect(out.repositories![0]!.repositoryUri).toBe(`${front}/${repos.immutable}`);
  });

  test('docker push: an existing tag of an IMMUTABLE repository is refused, even with the same image; a new tag is not', async () => {
    expect((await push(images.a, repos.immutable, 'v1')).code).toBe(0);
    const first = await digestOf(repos.immutable, 'v1');

    const other = await push(images.b, repos.immutable, 'v1');
    expect(other.code).not.toBe(0);
    expect(other.output).toContain(refusal(repos.immutable, 'v1'));
    const again = await push(images.a, repos.immutable, 'v1');
    expect(again.code).not.toBe(0);
    expect(again.output).toContain(refusal(repos.immutable, 'v1'));
    expect(await digestOf(repos.immutable, 'v1')).toBe(first);

    expect((await push(images.b, repos.immutable, 'v2')).code).toBe(0);
    expect(await digestOf(repos.immutable, 'v2')).not.toBe(first);
    const refused = sim.events().filter((e) => e.kind === 'ecr.push.refused');
    expect(refused.map((e) => [e.detail.repository, e.detail.tag, e.detail.via])).toEqual([
      [repos.immutable, 'v1', 'registry'],
      [repos.immutable, 'v1', 'registry'],
    ]);
  }, 120_000);

  test('docker push: IMMUTABLE_WITH_EXCLUSION moves the excluded tags only', async () => {
    expect((await push(images.a, repos.excluded, 'buildcache')).code).toBe(0);
    expect((await push(images.b, repos.excluded, 'buildcache')).code).toBe(0);
    expect((await push(images.a, repos.excluded, 'latest-main')).code).toBe(0);
    expect((await push(images.b, repos.excluded, 'latest-main')).code).toBe(0);
    expect(await digestOf(repos.excluded, 'buildcache')).toBe(await digestOf(repos.excluded, 'latest-main'));

    expect((await push(images.a, repos.excluded, 'release-1')).code).toBe(0);
    const moved = await push(images.b, repos.excluded, 'release-1');
    expect(moved.code).not.toBe(0);
    expect(moved.output).toContain(refusal(repos.excluded, 'release-1'));
  }, 120_000);

  test('docker push: MUTABLE moves every tag; MUTABLE_WITH_EXCLUSION keeps the excluded ones', async () => {
    expect((await push(images.a, repos.mutable, 'v1')).code).toBe(0);
    const first = await digestOf(repos.mutable, 'v1');
    expect((await push(images.b, repos.mutable, 'v1')).code).toBe(0);
    expect(await digestOf(repos.mutable, 'v1')).not.toBe(first);

    expect((await push(images.a, repos.guarded, 'latest')).code).toBe(0);
    expect((await push(images.b, repos.guarded, 'latest')).code).toBe(0);
    expect((await push(images.a, repos.guarded, 'v1')).code).toBe(0);
    const kept = await push(images.b, repos.guarded, 'v1');
    expect(kept.code).not.toBe(0);
    expect(kept.output).toContain(refusal(repos.guarded, 'v1'));
  }, 120_000);

  test('docker push to a repository the account does not have: NAME_UNKNOWN, as ECR answers', async () => {
    const missing = await push(images.a, `e2e-tags-${run}/missing`, 'v1');
    expect(missing.code).not.toBe(0);
    expect(missing.output).toContain(
      `The repository with name 'e2e-tags-${run}/missing' does not exist in the registry with id '123456789012'`,
    );
  }, 120_000);

  test('PutImage: another image under an existing immutable tag is ImageTagAlreadyExistsException; the same image under the same tag is ImageAlreadyExistsException', async () => {
    expect((await push(images.a, repos.immutable, 'api-a')).code).toBe(0);
    // Image b's layers and config are in the repository too (pushed as v2 above): only its manifest is put.
    const manifestOf = async (tag: string) => {
      const out = await ecr.send(
        new BatchGetImageCommand({ repositoryName: repos.immutable, imageIds: [{ imageTag: tag }] }),
      );
      return out.images![0]!;
    };
    const a = await manifestOf('api-a');
    const b = await manifestOf('v2');
    const putImage = (manifest: typeof a, tag: string, repositoryName = repos.immutable) =>
      ecr.send(
        new PutImageCommand({
          repositoryName,
          imageTag: tag,
          imageManifest: manifest.imageManifest,
          imageManifestMediaType: manifest.imageManifestMediaType,
        }),
      );

    const refused = putImage(b, 'api-a');
    await expect(refused).rejects.toBeInstanceOf(ImageTagAlreadyExistsException);
    await expect(refused).rejects.toThrow(
      `The image tag 'api-a' already exists in the '${repos.immutable}' repository and cannot be overwritten because the tag is immutable.`,
    );
    await expect(putImage(a, 'api-a')).rejects.toBeInstanceOf(ImageAlreadyExistsException);
    expect(await digestOf(repos.immutable, 'api-a')).toBe(a.imageId!.imageDigest);

    const put = await putImage(b, 'api-b');
    expect(put.image!.imageId).toEqual({ imageDigest: b.imageId!.imageDigest, imageTag: 'api-b' });
    expect(await digestOf(repos.immutable, 'api-b')).toBe(b.imageId!.imageDigest);
    expect(
      sim
        .calls()
        .filter((c) => c.operation === 'PutImage')
        .map((c) => c.errorCode ?? null),
    ).toEqual(['ImageTagAlreadyExistsException', 'ImageAlreadyExistsException', null]);
  }, 120_000);

  test('CreateRepository answers the repository with its tag rules, and they apply at once', async () => {
    const name = `e2e-tags-${run}/created`;
    const out = await ecr.send(
      new CreateRepositoryCommand({
        repositoryName: name,
        imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
        imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'cache-*' }],
      }),
    );
    expect(out.repository).toMatchObject({
      repositoryName: name,
      repositoryUri: `${front}/${name}`,
      imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
      imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'cache-*' }],
    });
    await expect(ecr.send(new CreateRepositoryCommand({ repositoryName: name }))).rejects.toBeInstanceOf(
      RepositoryAlreadyExistsException,
    );
    expect((await push(images.a, name, 'r1')).code).toBe(0);
    expect((await push(images.b, name, 'r1')).output).toContain(refusal(name, 'r1'));
    expect((await push(images.a, name, 'cache-x')).code).toBe(0);
    expect((await push(images.b, name, 'cache-x')).code).toBe(0);
  }, 120_000);
});

describe('the registry front authorizes pushes and pulls as ECR does, with IAM modelled', () => {
  const run = Date.now().toString(36);
  const repository = `e2e-iam-${run}/web`;
  const ACCOUNT = '123456789012';
  const repositoryArn = `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/${repository}`;
  const role = (name: string, actions: string[]) => ({
    name,
    arn: `arn:aws:iam::${ACCOUNT}:role/${name}`,
    trust: { Version: '2012-10-17', Statement: [] },
    policies: [
      {
        name: `${name}-ecr`,
        document: {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow' as const, Action: 'ecr:GetAuthorizationToken', Resource: '*' },
            { Effect: 'Allow' as const, Action: actions, Resource: repositoryArn },
          ],
        },
      },
    ],
  });
  // The push policy of https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-push-iam.html
  const PUSH = [
    'ecr:CompleteLayerUpload',
    'ecr:UploadLayerPart',
    'ecr:InitiateLayerUpload',
    'ecr:BatchCheckLayerAvailability',
    'ecr:PutImage',
    'ecr:BatchGetImage',
  ];
  const PULL = ['ecr:BatchGetImage', 'ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer'];
  let sim: Sim;
  let config: string;

  beforeAll(async () => {
    await ensureDocker();
    config = mkdtempSync(join(tmpdir(), 'ecr-iam-docker-'));
    const base = ecrScenario([repository]);
    sim = await startSim({
      scenario: { ...base, iam: { roles: [role('pusher', PUSH), role('reader', PULL)] } },
      speed: 20,
      port: 0,
    });
  }, 320_000);

  afterAll(async () => {
    await sim?.close();
    if (config) rmSync(config, { recursive: true, force: true });
  });

  /** docker login through ECR as a session of `roleName`, then push ecs-ship/node:24 as `tag`. */
  async function pushAs(roleName: string, tag: string) {
    const credentials = sim.session(roleName);
    const ecr = new ECRClient({ region: 'us-east-1', endpoint: sim.url, credentials });
    try {
      const token = (await ecr.send(new GetAuthorizationTokenCommand({}))).authorizationData![0]!;
      const front = token.proxyEndpoint!.replace('http://', '');
      const [user, password] = Buffer.from(token.authorizationToken!, 'base64').toString().split(':');
      // The login is the session's, not the registry's own password.
      expect(password).not.toBe(REGISTRY_PASSWORD);
      const env = { DOCKER_CONFIG: join(config, roleName) };
      const login = await dockerAsync(['login', '-u', user!, '--password-stdin', front], env, password);
      expect(login.code).toBe(0);
      const target = `${front}/${repository}:${tag}`;
      expect((await dockerAsync(['tag', 'ecs-ship/node:24', target], env)).code).toBe(0);
      return { ...(await dockerAsync(['push', target], env)), credentials };
    } finally {
      ecr.destroy();
    }
  }

  test('a role with the push policy pushes', async () => {
    const pushed = await pushAs('pusher', 'v1');
    expect(pushed.output).toMatch(/v1: digest: sha256:[0-9a-f]{64}/);
    expect(pushed.code).toBe(0);
    expect(await registryDigest(repository, 'v1')).toMatch(/^sha256:/);
  }, 120_000);

  test('a role that may only pull is refused at its first push action, naming the action and the repository', async () => {
    const refused = await pushAs('reader', 'v2');
    expect(refused.code).not.toBe(0);
    expect(refused.output).toMatch(
      new RegExp(
        `denied: User: arn:aws:sts::${ACCOUNT}:assumed-role/reader/[^ ]+ is not authorized to perform: ecr:(InitiateLayerUpload|PutImage) on resource: ${repositoryArn.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} because no identity-based policy allows the ecr:(InitiateLayerUpload|PutImage) action`,
      ),
    );
    expect(await registryDigest(repository, 'v2')).toBeUndefined();
    const denied = sim.events().filter((e) => e.kind === 'iam.denied' && e.detail.via === 'registry');
    expect(denied.length).toBeGreaterThan(0);
    expect(denied[0]!.detail).toMatchObject({ resource: repositoryArn });
  }, 120_000);
});
