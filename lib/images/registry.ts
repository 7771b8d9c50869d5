/**
 * The OCI distribution (registry HTTP API v2) calls build-push needs: is a
 * tag there and what digest does the registry hold for it, and move a tag to
 * an existing manifest. Basic auth, and the bearer-token challenge that
 * Docker Hub, GHCR and others answer with.
 */

/** Every manifest kind a tag can point at; the registry must not convert (and re-digest) it. */
export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export interface RegistryImage {
  digest: string;
  /** Compressed size: config plus layers (for an index, of its manifests' first entry is unknown: undefined). */
  sizeBytes?: number;
  mediaType?: string;
}

export interface RegistryCredentials {
  username: string;
  password: string;
}

/** "127.0.0.1:5000", "http://127.0.0.1:5000", "ghcr.io" -> base URL; plain HTTP only for loopback, as Docker does. */
export function registryBaseUrl(registry: string): string {
  if (/^https?:\/\//.test(registry)) return registry.replace(/\/+$/, '');
  const host = registry.replace(/\/.*$/, '');
  const loopback = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/.test(host);
  return `${loopback ? 'http' : 'https'}://${host}`;
}

/** The host[:port] Docker uses in image references and `docker login`. */
export function registryHost(registry: string): string {
  return registry.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
}

export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

function parseChallenge(header: string): Record<string, string> | undefined {
  if (!/^bearer /i.test(header)) return undefined;
  const params: Record<string, string> = {};
  for (const m of header.slice(7).matchAll(/(\w+)="([^"]*)"/g)) params[m[1]!] = m[2]!;
  return params;
}

export class RegistryClient {
  private readonly base: string;
  private readonly tokens = new Map<string, string>();

  constructor(
    registry: string,
    private readonly credentials?: RegistryCredentials,
  ) {
    this.base = registryBaseUrl(registry);
  }

  private basic(): string | undefined {
    if (!this.credentials) return undefined;
    const { username, password } = this.credentials;
    return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  }

  private async request(
    method: string,
    repository: string,
    path: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<Response> {
    const url = `${this.base}/v2/${repository}/${path}`;
    const send = (authorization?: string) =>
      fetch(url, {
        method,
        headers: { ...headers, ...(authorization ? { authorization } : {}) },
        body,
        signal: AbortSignal.timeout(30_000),
      });
    const cached = this.tokens.get(repository);
    let res = await send(cached ? `Bearer ${cached}` : this.basic());
    if (res.status !== 401) return res;
    const challenge = parseChallenge(res.headers.get('www-authenticate') ?? '');
    if (!challenge?.realm) return res;
    const tokenUrl = new URL(challenge.realm);
    if (challenge.service) tokenUrl.searchParams.set('service', challenge.service);
    tokenUrl.searchParams.set('scope', `repository:${repository}:pull,push`);
    const basic = this.basic();
    const tokenRes = await fetch(tokenUrl, {
      headers: basic ? { authorization: basic } : {},
      signal: AbortSignal.timeout(30_000),
    });
    if (!tokenRes.ok) return res;
    const json = (await tokenRes.json()) as { token?: string; access_token?: string };
    const token = json.token ?? json.access_token;
    if (!token) return res;
    this.tokens.set(repository, token);
    res = await send(`Bearer ${token}`);
    return res;
  }

  /** The manifest a tag (or digest) points at, or undefined when the registry has none. */
  async lookup(repository: string, reference: string): Promise<RegistryImage | undefined> {
    const res = await this.request('GET', repository, `manifests/${reference}`, { accept: MANIFEST_ACCEPT });
    if (res.status === 404) return undefined;
    if (!res.ok) {
      throw new RegistryError(
        `registry ${this.base} answered ${res.status} for ${repository}:${reference}${
          res.status === 401 || res.status === 403 ? ' (credentials rejected or no pull permission)' : ''
        }`,
        res.status,
      );
    }
    const body = await res.text();
    const digest = res.headers.get('docker-content-digest') ?? undefined;
    if (!digest)
      throw new RegistryError(
        `registry ${this.base} sent no Docker-Content-Digest for ${repository}:${reference}`,
      );
    const mediaType = res.headers.get('content-type') ?? undefined;
    return { digest, mediaType, sizeBytes: manifestSize(body) };
  }

  /** The digest the registry serves for a tag, from a HEAD request, as `docker pull` would see it. */
  async headDigest(repository: string, reference: string): Promise<string | undefined> {
    const res = await this.request('HEAD', repository, `manifests/${reference}`, { accept: MANIFEST_ACCEPT });
    if (res.status === 404) return undefined;
    if (!res.ok)
      throw new RegistryError(
        `registry ${this.base} answered ${res.status} for HEAD ${repository}:${reference}`,
        res.status,
      );
    return res.headers.get('docker-content-digest') ?? undefined;
  }

  /**
   * The image's labels (its config's `Labels`), or undefined when the
   * reference is not there; for an index, those of its first image.
   */
  async labels(repository: string, reference: string): Promise<Record<string, string> | undefined> {
    const read = async (ref: string): Promise<Record<string, unknown> | undefined> => {
      const res = await this.request('GET', repository, `manifests/${ref}`, { accept: MANIFEST_ACCEPT });
      if (res.status === 404) return undefined;
      if (!res.ok)
        throw new RegistryError(
          `registry ${this.base} answered ${res.status} for ${repository}:${ref}`,
          res.status,
        );
      return (await res.json()) as Record<string, unknown>;
    };
    let manifest = await read(reference);
    const first = (manifest?.manifests as { digest?: string }[] | undefined)?.[0]?.digest;
    if (first) manifest = await read(first);
    const config = (manifest?.config as { digest?: string } | undefined)?.digest;
    if (!config) return undefined;
    const blob = await this.request('GET', repository, `blobs/${config}`, {});
    if (!blob.ok) {
      throw new RegistryError(
        `registry ${this.base} answered ${blob.status} for the config of ${repository}:${reference}`,
        blob.status,
      );
    }
    const image = (await blob.json()) as { config?: { Labels?: Record<string, string> | null } };
    return image.config?.Labels ?? {};
  }

  /** Points `tag` at the manifest `digest` already in the repository (same bytes, so the same digest). */
  async retag(repository: string, digest: string, tag: string): Promise<void> {
    const get = await this.request('GET', repository, `manifests/${digest}`, { accept: MANIFEST_ACCEPT });
    if (!get.ok)
      throw new RegistryError(
        `cannot read ${repository}@${digest} to tag it ${tag}: ${get.status}`,
        get.status,
      );
    const mediaType = get.headers.get('content-type') ?? 'application/vnd.oci.image.manifest.v1+json';
    const body = await get.text();
    const put = await this.request(
      'PUT',
      repository,
      `manifests/${tag}`,
      { 'content-type': mediaType },
      body,
    );
    if (!put.ok) {
      const detail = (await put.text()).slice(0, 300);
      throw new RegistryError(
        `cannot tag ${repository}@${digest} as ${tag}: ${put.status} ${detail}`,
        put.status,
      );
    }
  }
}

/** Config plus layer sizes of an image manifest; undefined for an index (one size per platform). */
export function manifestSize(body: string): number | undefined {
  try {
    const manifest = JSON.parse(body) as { config?: { size?: number }; layers?: { size?: number }[] };
    if (!manifest.layers) return undefined;
    return (manifest.config?.size ?? 0) + manifest.layers.reduce((sum, l) => sum + (l.size ?? 0), 0);
  } catch {
    return undefined;
  }
}
