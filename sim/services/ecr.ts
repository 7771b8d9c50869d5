/**
 * ECR, fronting a real OCI registry (the scenario's `ecr.registry`):
 * GetAuthorizationToken hands out that registry's login, and image questions
 * (DescribeImages, BatchGetImage) are answered from what the registry really
 * holds, through its HTTP API v2. Scan findings come from the scenario; a scan
 * completes a few simulated seconds after the image is first seen, as
 * scan-on-push does.
 *
 * Tag rules (sim/ecr-tag-rules.ts): PutImage refuses to move an immutable tag
 * (ImageTagAlreadyExistsException), and so does the registry front that
 * docker pushes through (sim/ecr-front.ts): once it runs, GetAuthorizationToken's
 * proxyEndpoint and each repositoryUri name the front, not the registry behind it.
 * Shapes: https://docs.aws.amazon.com/AmazonECR/latest/APIReference/
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  EXCLUSION_FILTER,
  TAG_MUTABILITIES,
  isTagImmutable,
  tagAlreadyExistsMessage,
  type ExclusionFilter,
  type TagMutability,
  type TagRules,
} from '../ecr-tag-rules.js';
import { iamAccountOf, type Session } from '../iam/account.js';
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

/** One repository of the account: from the scenario, or made by CreateRepository. */
interface RepositoryRecord extends TagRules {
  name: string;
  createdAt: number;
  scanOnPush: boolean;
}

/** How long a registry login from GetAuthorizationToken lasts (simulated ms). */
const TOKEN_MS = 12 * 3600 * 1000;
/** Registry logins kept for IAM sessions at most. */
const MAX_SESSION_TOKENS = 1000;

/**
 * What the registry front makes of a request's login: the registry's own
 * (no IAM, passed through), a session's token (authorize, then log in to the
 * registry as the simulator), or a token that is no longer valid.
 */
export type RegistryLogin =
  { kind: 'registry' } | { kind: 'session'; session: Session } | { kind: 'expired' } | { kind: 'none' };

/** Repository names as ECR accepts them (CreateRepository's repositoryName pattern). */
const REPOSITORY_NAME = /^(?=.{2,256}$)(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

export class EcrService implements SimService {
  readonly name = 'ecr';
  readonly jsonTargetPrefix = 'AmazonEC2ContainerRegistry_V20150921';
  readonly mutating = new Set<string>(['CreateRepository', 'PutImage']);
  /** Simulated time each digest was first seen: its push time, as far as the simulator can tell. */
  private readonly firstSeen = new Map<string, number>();
  private readonly created: number;
  private readonly repositories = new Map<string, RepositoryRecord>();
  /** The registry front's host:port once it listens (sim/ecr-front.ts): where clients are sent to push. */
  private frontHost: string | undefined;
  /** Registry passwords handed to IAM sessions by GetAuthorizationToken: password -> session and expiry. */
  private readonly sessionTokens = new Map<string, { session: Session; expiresAt: number }>();

  constructor(private readonly ctx: SimContext) {
    this.created = ctx.now();
    for (const entry of ctx.scenario.ecr?.repositories ?? []) {
      const spec = typeof entry === 'string' ? { name: entry } : entry;
      this.repositories.set(spec.name, {
        name: spec.name,
        createdAt: this.created,
        imageTagMutability: spec.imageTagMutability ?? 'MUTABLE',
        imageTagMutabilityExclusionFilters: spec.imageTagMutabilityExclusionFilters ?? [],
        scanOnPush: spec.scanOnPush ?? true,
      });
    }
  }

  /** The account's repository names. */
  private repositoryNames(): string[] {
    return [...this.repositories.keys()];
  }

  /** The real registry behind ECR ("127.0.0.1:5000"), or undefined when the scenario has no ECR. */
  get registryAddress(): string | undefined {
    return this.ctx.scenario.ecr?.registry;
  }

  get accountId(): string {
    return this.ctx.accountId;
  }

  /** The registry front listens at host:port: clients are sent there from now on. */
  useFront(host: string | undefined): void {
    this.frontHost = host;
  }

  /** The Authorization header the simulator itself logs in to the registry with. */
  registryAuthorization(): string {
    return `Basic ${Buffer.from(`${this.username()}:${this.spec().password ?? ''}`).toString('base64')}`;
  }

  /** Whose login a request's `authorization` header carries (see RegistryLogin). */
  registryLogin(authorization: string | undefined): RegistryLogin {
    const basic = /^Basic\s+(.+)$/i.exec(authorization ?? '')?.[1];
    if (!basic) return { kind: 'none' };
    const decoded = Buffer.from(basic, 'base64').toString('utf8');
    const password = decoded.slice(decoded.indexOf(':') + 1);
    const issued = this.sessionTokens.get(password);
    if (!issued) return { kind: 'registry' };
    if (this.ctx.now() >= issued.expiresAt) return { kind: 'expired' };
    return { kind: 'session', session: issued.session };
  }

  /**
   * Authorizes a registry request made with a session's token as ECR does:
   * the registry action on the repository, against the session's role.
   * Returns AWS's denial message, or undefined when allowed.
   */
  registryDenial(session: Session, action: string, repository: string): string | undefined {
    const resource = `arn:aws:ecr:${this.ctx.region}:${this.ctx.accountId}:repository/${repository}`;
    const context = {
      'aws:PrincipalArn': session.role.arn,
      'aws:PrincipalAccount': this.ctx.accountId,
      'aws:PrincipalType': 'AssumedRole',
      'aws:userid': session.assumedRoleId,
      'aws:RequestedRegion': this.ctx.region,
    };
    const decision = iamAccountOf(this.ctx).decide(session, { action, resource, context });
    if (decision === 'Allowed') return undefined;
    this.ctx.event('iam.denied', { principal: session.arn, action, resource, decision, via: 'registry' });
    const why =
      decision === 'ExplicitlyDenied'
        ? 'with an explicit deny in an identity-based policy'
        : `because no identity-based policy allows the ${action} action`;
    return `User: ${session.arn} is not authorized to perform: ${action} on resource: ${resource} ${why}`;
  }

  hasRepository(name: string): boolean {
    return this.repositories.has(name);
  }

  /**
   * Why pushing `tag` to `repository` must be refused (the tag exists and is
   * immutable there), or undefined when the push may go ahead. Refusals are
   * recorded as `ecr.push.refused` events.
   */
  async tagPushRefusal(
    repository: string,
    tag: string,
    via: 'registry' | 'PutImage',
  ): Promise<string | undefined> {
    const record = this.repositories.get(repository);
    if (!record || !isTagImmutable(record, tag)) return undefined;
    const existing = await this.manifest(repository, tag);
    if (!existing) return undefined;
    const message = tagAlreadyExistsMessage(repository, tag);
    this.ctx.event('ecr.push.refused', {
      repository,
      tag,
      via,
      existingDigest: existing.digest,
      imageTagMutability: record.imageTagMutability,
    });
    return message;
  }

  /** A manifest the registry accepted through the front: its push time. */
  recordPush(digest: string): void {
    if (!this.firstSeen.has(digest)) this.firstSeen.set(digest, this.ctx.now());
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

  private async registry(
    method: string,
    path: string,
    body?: { text: string; contentType: string },
  ): Promise<Response> {
    const spec = this.spec();
    const auth = Buffer.from(`${this.username()}:${spec.password ?? ''}`).toString('base64');
    try {
      return await fetch(`http://${spec.registry}/v2/${path}`, {
        method,
        headers: {
          authorization: `Basic ${auth}`,
          accept: ACCEPT,
          ...(body ? { 'content-type': body.contentType } : {}),
        },
        body: body?.text,
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
      case 'CreateRepository':
        return this.createRepository(params);
      case 'PutImage':
        return this.putImage(params);
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
    // With IAM modelled, the login is the caller's: the front authorizes each push and pull as that session.
    const iam = iamAccountOf(this.ctx);
    const caller = iam.modelled && 'session' in iam.caller ? iam.caller.session : undefined;
    const expiresAt = this.ctx.now() + TOKEN_MS;
    let password = spec.password ?? '';
    if (caller && this.frontHost) {
      password = `ecr-session-${randomBytes(24).toString('base64url')}`;
      // Bounded: expired logins go, and past the bound the oldest does (a long run logs in many times).
      for (const [token, issued] of this.sessionTokens) {
        if (issued.expiresAt <= this.ctx.now() || this.sessionTokens.size >= MAX_SESSION_TOKENS)
          this.sessionTokens.delete(token);
      }
      this.sessionTokens.set(password, { session: caller, expiresAt });
    }
    return {
      authorizationData: ids.map(() => ({
        authorizationToken: Buffer.from(`${this.username()}:${password}`).toString('base64'),
        // Tokens are valid for 12 hours.
        expiresAt: new Date(expiresAt),
        proxyEndpoint: `http://${this.frontHost ?? spec.registry}`,
      })),
    };
  }

  /** https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_Repository.html */
  private repositoryShape(name: string) {
    const { region, accountId } = this.ctx;
    const record = this.repositories.get(name)!;
    return {
      repositoryArn: `arn:aws:ecr:${region}:${accountId}:repository/${name}`,
      registryId: accountId,
      repositoryName: name,
      repositoryUri: `${this.frontHost ?? this.spec().registry}/${name}`,
      createdAt: new Date(record.createdAt),
      imageTagMutability: record.imageTagMutability,
      ...(record.imageTagMutabilityExclusionFilters.length
        ? { imageTagMutabilityExclusionFilters: record.imageTagMutabilityExclusionFilters }
        : {}),
      imageScanningConfiguration: { scanOnPush: record.scanOnPush },
      encryptionConfiguration: { encryptionType: 'AES256' },
    };
  }

  /** https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html */
  private createRepository(params: Record<string, unknown>) {
    this.spec();
    this.checkRegistryId(params);
    const name = params.repositoryName;
    if (typeof name !== 'string' || !REPOSITORY_NAME.test(name)) {
      throw new AwsError(
        'InvalidParameterException',
        `Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*''`,
      );
    }
    if (this.repositories.has(name)) {
      throw new AwsError(
        'RepositoryAlreadyExistsException',
        `The repository with name '${name}' already exists in the registry with id '${this.ctx.accountId}'`,
      );
    }
    const mutability = (params.imageTagMutability as TagMutability | undefined) ?? 'MUTABLE';
    if (!TAG_MUTABILITIES.includes(mutability)) {
      throw new AwsError(
        'InvalidParameterException',
        `Invalid parameter at 'imageTagMutability' failed to satisfy constraint: 'Member must satisfy enum value set: [${TAG_MUTABILITIES.join(', ')}]'`,
      );
    }
    const filters = (params.imageTagMutabilityExclusionFilters as ExclusionFilter[] | undefined) ?? [];
    for (const f of filters) {
      if (f?.filterType !== 'WILDCARD' || typeof f.filter !== 'string' || !EXCLUSION_FILTER.test(f.filter)) {
        throw new AwsError(
          'InvalidParameterException',
          `Invalid image tag mutability exclusion filter: filterType must be WILDCARD and filter must satisfy ${EXCLUSION_FILTER.source}`,
        );
      }
    }
    if (filters.length > 5) {
      throw new AwsError(
        'InvalidParameterException',
        `imageTagMutabilityExclusionFilters may hold at most 5 filters, got ${filters.length}`,
      );
    }
    const withExclusion = mutability.endsWith('_WITH_EXCLUSION');
    if (withExclusion !== filters.length > 0) {
      throw new AwsError(
        'InvalidParameterException',
        withExclusion
          ? `imageTagMutabilityExclusionFilters are required when imageTagMutability is ${mutability}`
          : `imageTagMutabilityExclusionFilters may only be given with IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION`,
      );
    }
    const scanning = params.imageScanningConfiguration as { scanOnPush?: boolean } | undefined;
    this.repositories.set(name, {
      name,
      createdAt: this.ctx.now(),
      imageTagMutability: mutability,
      imageTagMutabilityExclusionFilters: filters.map((f) => ({ filterType: 'WILDCARD', filter: f.filter })),
      scanOnPush: scanning?.scanOnPush ?? false,
    });
    this.ctx.event('ecr.repository.created', { repository: name, imageTagMutability: mutability });
    return { repository: this.repositoryShape(name) };
  }

  /**
   * https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_PutImage.html
   * The same manifest under the same tag again is ImageAlreadyExistsException
   * (in any repository); another manifest under an immutable tag that exists is
   * ImageTagAlreadyExistsException.
   */
  private async putImage(params: Record<string, unknown>) {
    const repository = this.repository(params);
    const body = params.imageManifest;
    if (typeof body !== 'string' || !body)
      throw new AwsError('InvalidParameterException', 'imageManifest is required');
    let declared: string | undefined;
    try {
      declared = (JSON.parse(body) as { mediaType?: string }).mediaType;
    } catch {
      throw new AwsError(
        'InvalidParameterException',
        'Invalid parameter at imageManifest: the manifest is not valid JSON',
      );
    }
    const mediaType =
      (params.imageManifestMediaType as string | undefined) ??
      declared ??
      'application/vnd.docker.distribution.manifest.v2+json';
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    if (params.imageDigest !== undefined && params.imageDigest !== digest) {
      throw new AwsError(
        'InvalidParameterException',
        `Invalid parameter at 'imageDigest': the digest of the manifest is ${digest}`,
      );
    }
    const tag = params.imageTag as string | undefined;
    if (tag !== undefined) {
      const existing = await this.manifest(repository, tag);
      if (existing?.digest === digest) {
        throw new AwsError(
          'ImageAlreadyExistsException',
          `Image with digest '${digest}' and tag '${tag}' already exists in the repository with name '${repository}' in registry with id '${this.ctx.accountId}'`,
        );
      }
      const refusal = existing ? await this.tagPushRefusal(repository, tag, 'PutImage') : undefined;
      if (refusal) throw new AwsError('ImageTagAlreadyExistsException', refusal);
    }
    const res = await this.registry('PUT', `${repository}/manifests/${tag ?? digest}`, {
      text: body,
      contentType: mediaType,
    });
    if (!res.ok) {
      const text = await res.text();
      if (/BLOB_UNKNOWN/.test(text)) {
        throw new AwsError(
          'LayersNotFoundException',
          `The image manifest references layers or a config that are not in the repository '${repository}'`,
        );
      }
      throw new AwsError(
        'ServerException',
        `registry answered ${res.status} to the manifest: ${text.slice(0, 200)}`,
        500,
      );
    }
    this.recordPush(digest);
    return {
      image: {
        registryId: this.ctx.accountId,
        repositoryName: repository,
        imageId: { imageDigest: digest, ...(tag !== undefined ? { imageTag: tag } : {}) },
        imageManifest: body,
        imageManifestMediaType: mediaType,
      },
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
