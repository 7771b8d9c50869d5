/**
 * ECR, fronting a real OCI registry (the scenario's `ecr.registry`):
 * GetAuthorizationToken hands out that registry's login, and image questions
 * (DescribeImages, BatchGetImage) are answered from what the registry really
 * holds, through its HTTP API v2. Scan findings come from the scenario; a scan
 * completes a few simulated seconds after the image is first seen, as
 * scan-on-push does.
 * Shapes: https://docs.aws.amazon.com/AmazonECR/latest/APIReference/
 */
import { AwsError, type SimContext, type SimService } from '../service.js';
import type { EcrSpec } from '../scenario.js';

const ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');
/** Simulated time from an image's first sighting to its scan being COMPLETE. */
const SCAN_MS = 5000;
const SEVERITIES = ['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL', 'UNDEFINED'];

interface ImageId {
  imageDigest?: string;
  imageTag?: string;
}

interface Manifest {
  digest: string;
  mediaType: string;
  body: string;
}

export class EcrService implements SimService {
  readonly name = 'ecr';
  readonly jsonTargetPrefix = 'AmazonEC2ContainerRegistry_V20150921';
  readonly mutating = new Set<string>();
  /** Simulated time each digest was first seen: its push time, as far as the simulator can tell. */
  private readonly firstSeen = new Map<string, number>();
  private readonly created: number;

  constructor(private readonly ctx: SimContext) {
    this.created = ctx.now();
  }

  /** The account's repository names (the scenario lists a name or the repository's settings). */
  private repositoryNames(): string[] {
    return this.spec().repositories.map((r) => (typeof r === 'string' ? r : r.name));
  }

  private spec(): EcrSpec {
    const spec = this.ctx.scenario.ecr;
    if (!spec) throw new AwsError('ServerException', 'the simulator scenario has no `ecr` registry', 500);
    return spec;
  }

  private username(): string {
    return this.spec().username ?? 'AWS';
  }

  private repository(params: Record<string, unknown>): string {
    const name = params.repositoryName;
    if (typeof name !== 'string' || !name)
      throw new AwsError('InvalidParameterException', 'repositoryName is required');
    this.checkRegistryId(params);
    if (!this.repositoryNames().includes(name)) {
      throw new AwsError(
        'RepositoryNotFoundException',
        `The repository with name '${name}' does not exist in the registry with id '${this.ctx.accountId}'`,
      );
    }
    return name;
  }

  private checkRegistryId(params: Record<string, unknown>): void {
    if (params.registryId !== undefined && params.registryId !== this.ctx.accountId) {
      throw new AwsError(
        'RepositoryNotFoundException',
        `No registry with id '${String(params.registryId)}' in this account`,
      );
    }
  }

  private async registry(method: string, path: string): Promise<Response> {
    const spec = this.spec();
    const auth = Buffer.from(`${this.username()}:${spec.password ?? ''}`).toString('base64');
    try {
      return await fetch(`http://${spec.registry}/v2/${path}`, {
        method,
        headers: { authorization: `Basic ${auth}`, accept: ACCEPT },
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      throw new AwsError(
        'ServerException',
        `registry ${spec.registry} unreachable: ${(err as Error).message}`,
        500,
      );
    }
  }

  private async manifest(repository: string, reference: string): Promise<Manifest | undefined> {
    const res = await this.registry('GET', `${repository}/manifests/${reference}`);
    if (res.status === 404) return undefined;
    if (!res.ok)
      throw new AwsError(
        'ServerException',
        `registry answered ${res.status} for ${repository}:${reference}`,
        500,
      );
    const digest = res.headers.get('docker-content-digest');
    if (!digest) throw new AwsError('ServerException', 'registry sent no Docker-Content-Digest', 500);
    if (!this.firstSeen.has(digest)) this.firstSeen.set(digest, this.ctx.now());
    return { digest, mediaType: res.headers.get('content-type') ?? '', body: await res.text() };
  }

  private async tags(repository: string): Promise<string[]> {
    const res = await this.registry('GET', `${repository}/tags/list`);
    if (res.status === 404) return [];
    if (!res.ok)
      throw new AwsError('ServerException', `registry answered ${res.status} listing ${repository}`, 500);
    return ((await res.json()) as { tags?: string[] | null }).tags ?? [];
  }

  /** Resolves an ImageIdentifier; a tag and digest that disagree do not match. */
  private async resolve(repository: string, id: ImageId): Promise<Manifest | undefined> {
    const found = await this.manifest(repository, id.imageTag ?? id.imageDigest ?? '');
    if (found && id.imageTag && id.imageDigest && found.digest !== id.imageDigest) return undefined;
    return found;
  }

  private detail(repository: string, manifest: Manifest, tags: string[]) {
    let size: number | undefined;
    let artifactMediaType: string | undefined;
    try {
      const parsed = JSON.parse(manifest.body) as {
        config?: { size?: number; mediaType?: string };
        layers?: { size?: number }[];
      };
      if (parsed.layers)
        size = (parsed.config?.size ?? 0) + parsed.layers.reduce((s, l) => s + (l.size ?? 0), 0);
      artifactMediaType = parsed.config?.mediaType;
    } catch {
      // Not JSON: leave size unknown.
    }
    return {
      registryId: this.ctx.accountId,
      repositoryName: repository,
      imageDigest: manifest.digest,
      imageTags: tags.length ? tags : undefined,
      imageSizeInBytes: size,
      imagePushedAt: new Date(this.firstSeen.get(manifest.digest) ?? this.ctx.now()),
      imageManifestMediaType: manifest.mediaType,
      artifactMediaType,
    };
  }

  async handle(operation: string, params: Record<string, unknown>): Promise<unknown> {
    switch (operation) {
      case 'GetAuthorizationToken':
        return this.getAuthorizationToken(params);
      case 'DescribeRepositories':
        return this.describeRepositories(params);
      case 'DescribeImages':
        return this.describeImages(params);
      case 'BatchGetImage':
        return this.batchGetImage(params);
      case 'DescribeImageScanFindings':
        return this.describeImageScanFindings(params);
      default:
        throw new AwsError('UnknownOperationException', `ECR operation ${operation} is not simulated`);
    }
  }

  private getAuthorizationToken(params: Record<string, unknown>) {
    const spec = this.spec();
    const ids = (params.registryIds as string[] | undefined) ?? [this.ctx.accountId];
    for (const id of ids) {
      if (id !== this.ctx.accountId)
        throw new AwsError('InvalidParameterException', `Invalid registry id '${id}'`);
    }
    return {
      authorizationData: ids.map(() => ({
        authorizationToken: Buffer.from(`${this.username()}:${spec.password ?? ''}`).toString('base64'),
        // Tokens are valid for 12 hours.
        expiresAt: new Date(this.ctx.now() + 12 * 3600 * 1000),
        proxyEndpoint: `http://${spec.registry}`,
      })),
    };
  }

  private repositoryShape(name: string) {
    const { region, accountId } = this.ctx;
    return {
      repositoryArn: `arn:aws:ecr:${region}:${accountId}:repository/${name}`,
      registryId: accountId,
      repositoryName: name,
      repositoryUri: `${this.spec().registry}/${name}`,
      createdAt: new Date(this.created),
      imageTagMutability: 'MUTABLE',
      imageScanningConfiguration: { scanOnPush: true },
      encryptionConfiguration: { encryptionType: 'AES256' },
    };
  }

  private describeRepositories(params: Record<string, unknown>) {
    this.checkRegistryId(params);
    const names = params.repositoryNames as string[] | undefined;
    const all = this.repositoryNames();
    if (names) {
      const missing = names.find((n) => !all.includes(n));
      if (missing) {
        throw new AwsError(
          'RepositoryNotFoundException',
          `The repository with name '${missing}' does not exist in the registry with id '${this.ctx.accountId}'`,
        );
      }
    }
    return { repositories: (names ?? all).map((n) => this.repositoryShape(n)) };
  }

  private async describeImages(params: Record<string, unknown>) {
    const repository = this.repository(params);
    const ids = params.imageIds as ImageId[] | undefined;
    const tagsByDigest = new Map<string, { manifest: Manifest; tags: string[] }>();
    for (const tag of await this.tags(repository)) {
      const manifest = await this.manifest(repository, tag);
      if (!manifest) continue;
      const entry = tagsByDigest.get(manifest.digest) ?? { manifest, tags: [] };
      entry.tags.push(tag);
      tagsByDigest.set(manifest.digest, entry);
    }
    if (ids) {
      const details = [];
      for (const id of ids) {
        const manifest = await this.resolve(repository, id);
        if (!manifest) {
          throw new AwsError(
            'ImageNotFoundException',
            `The image with imageId {imageDigest:'${id.imageDigest ?? 'null'}', imageTag:'${id.imageTag ?? 'null'}'} does not exist within the repository with name '${repository}' in the registry with id '${this.ctx.accountId}'`,
          );
        }
        details.push(this.detail(repository, manifest, tagsByDigest.get(manifest.digest)?.tags ?? []));
      }
      return { imageDetails: details };
    }
    const tagStatus = (params.filter as { tagStatus?: string } | undefined)?.tagStatus ?? 'ANY';
    // The registry API lists tags only, so every image it can show is tagged.
    const entries = tagStatus === 'UNTAGGED' ? [] : [...tagsByDigest.values()];
    return { imageDetails: entries.map((e) => this.detail(repository, e.manifest, e.tags)) };
  }

  private async batchGetImage(params: Record<string, unknown>) {
    const repository = this.repository(params);
    const ids = (params.imageIds as ImageId[] | undefined) ?? [];
    if (ids.length === 0)
      throw new AwsError('InvalidParameterException', 'imageIds must contain at least 1 item');
    const accepted = params.acceptedMediaTypes as string[] | undefined;
    const images = [];
    const failures = [];
    for (const id of ids) {
      const manifest = await this.resolve(repository, id);
      if (!manifest) {
        failures.push({
          imageId: id,
          failureCode: 'ImageNotFound',
          failureReason: 'Requested image not found',
        });
      } else if (accepted && !accepted.includes(manifest.mediaType)) {
        failures.push({
          imageId: id,
          failureCode: 'UnsupportedImageType',
          failureReason: `Image manifest media type ${manifest.mediaType} is not accepted`,
        });
      } else {
        images.push({
          registryId: this.ctx.accountId,
          repositoryName: repository,
          imageId: { imageDigest: manifest.digest, ...(id.imageTag ? { imageTag: id.imageTag } : {}) },
          imageManifest: manifest.body,
          imageManifestMediaType: manifest.mediaType,
        });
      }
    }
    return { images, failures };
  }

  private async describeImageScanFindings(params: Record<string, unknown>) {
    const repository = this.repository(params);
    const id = (params.imageId as ImageId | undefined) ?? {};
    const manifest = await this.resolve(repository, id);
    if (!manifest) {
      throw new AwsError(
        'ImageNotFoundException',
        `The image with imageId {imageDigest:'${id.imageDigest ?? 'null'}', imageTag:'${id.imageTag ?? 'null'}'} does not exist within the repository with name '${repository}' in the registry with id '${this.ctx.accountId}'`,
      );
    }
    const seen = this.firstSeen.get(manifest.digest) ?? this.ctx.now();
    const imageId = { imageDigest: manifest.digest, ...(id.imageTag ? { imageTag: id.imageTag } : {}) };
    const base = { registryId: this.ctx.accountId, repositoryName: repository, imageId };
    if (this.ctx.now() - seen < SCAN_MS) {
      return { ...base, imageScanStatus: { status: 'IN_PROGRESS', description: 'The scan is in progress.' } };
    }
    const findings = (this.spec().scanFindings?.[repository] ?? []).map((f) => ({
      name: f.name,
      severity: SEVERITIES.includes(f.severity) ? f.severity : 'UNDEFINED',
      uri: f.uri,
      description: f.description,
      attributes: [],
    }));
    const counts: Record<string, number> = {};
    for (const f of findings) counts[f.severity] = (counts[f.severity] ?? 0) + 1;
    return {
      ...base,
      imageScanStatus: { status: 'COMPLETE', description: 'The scan was completed successfully.' },
      imageScanFindings: {
        imageScanCompletedAt: new Date(seen + SCAN_MS),
        vulnerabilitySourceUpdatedAt: new Date(this.created),
        findingSeverityCounts: counts,
        findings,
      },
    };
  }
}
