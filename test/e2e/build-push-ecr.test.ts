/**
 * The simulator's ECR, through the real AWS SDK, fronting the real registry:
 * images pushed with docker are what DescribeImages and BatchGetImage report.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchGetImageCommand,
  DescribeImageScanFindingsCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
  ImageNotFoundException,
  RepositoryNotFoundException,
} from '@aws-sdk/client-ecr';
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

  test('GetAuthorizationToken: AWS:<password>, proxy endpoint at the registry, 12 hours', async () => {
    const out = await ecr.send(new GetAuthorizationTokenCommand({}));
    const data = out.authorizationData![0]!;
    expect(Buffer.from(data.authorizationToken!, 'base64').toString()).toBe(`AWS:${REGISTRY_PASSWORD}`);
    expect(data.proxyEndpoint).toBe(`http://${REGISTRY}`);
    expect(data.expiresAt).toBeInstanceOf(Date);
    expect(data.expiresAt!.getTime() - sim.now()).toBeGreaterThan(11 * 3600 * 1000);
  });

  test('DescribeRepositories: the scenario repositories; a missing one is RepositoryNotFoundException', async () => {
    const out = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [repository] }));
    expect(out.repositories![0]).toMatchObject({
      repositoryName: repository,
      registryId: '123456789012',
      repositoryUri: `${REGISTRY}/${repository}`,
      repositoryArn: `arn:aws:ecr:us-east-1:123456789012:repository/${repository}`,
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
