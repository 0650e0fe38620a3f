/**
 * A Docker Registry HTTP API v2 / OCI distribution client over the platform `fetch`.
 *
 * Auth as registries ask for it: an anonymous first request, then the
 * `WWW-Authenticate` challenge decides. `Bearer` (GHCR, Docker Hub, ECR
 * public, Harbor): a token from the realm for the scopes this call needs,
 * with the user name and password as Basic credentials when given; tokens are
 * cached by the scopes they grant. `Basic` (a plain `htpasswd` registry): the
 * credentials on every request. Once a registry has challenged, later calls
 * authenticate up front, which saves a round trip per call.
 *
 * Manifests travel as bytes: what is read is what is written, so a manifest
 * list or OCI index keeps its digest (re-serialising JSON would change it).
 */
import { UserError } from '../errors';
import { retry } from '../retry';
import type { Clock } from '../runtime/port';
import { type Challenge, parseChallenge } from './challenge';
import { MANIFEST_ACCEPT, sha256Digest } from './media';
import { apiHost, defaultScheme, formatReference, type ImageReference, parseImageReference } from './reference';

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface RegistryCredentials {
  username: string;
  password: string;
}

export interface RegistryClientOptions {
  /** Credentials for a registry (as written in image names, e.g. `ghcr.io`), or undefined for anonymous. */
  credentials?: (registry: string) => RegistryCredentials | undefined;
  /** `http` or `https` per registry; default: http for loopback, https elsewhere. */
  scheme?: (registry: string) => 'http' | 'https';
  fetch?: FetchLike;
  signal?: AbortSignal;
  clock?: Clock;
  /** Per-request limit in milliseconds (default 60 s). */
  timeoutMs?: number;
  /** Attempts for 5xx, 429 and network errors (default 3). */
  attempts?: number;
}

/** What a manifest HEAD tells: enough to compare tags without downloading. */
export interface ManifestHead {
  digest: string;
  mediaType: string;
  size: number;
}

export interface Manifest extends ManifestHead {
  bytes: Uint8Array;
}

/** Counters a benchmark or summary reports: every HTTP request and every byte moved. */
export interface RegistryStats {
  requests: number;
  tokenRequests: number;
  manifestBytesUp: number;
  manifestBytesDown: number;
  blobBytesUp: number;
  blobBytesDown: number;
  mounts: number;
}

/** A registry answer that was not a success, with the registry's own error codes when it sent them. */
/**
 * A request that got no answer (connection refused, unknown host, TLS, no answer in time), as an error that
 * names the registry and the cause instead of fetch's bare "fetch failed"; still retryable. A cancelled run's
 * abort passes through as it is.
 */
function unreachable(url: string, error: unknown): unknown {
  const name = (error as { name?: string }).name;
  if (name === 'AbortError') return error;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const why =
    name === 'TimeoutError'
      ? 'no answer in time'
      : (cause?.message ?? cause?.code ?? (error as Error).message ?? String(error));
  const { origin } = new URL(url);
  return Object.assign(
    new RegistryError(`Registry ${origin} cannot be reached: ${why}`, 0, [], {
      hint: 'Check the registry host and port in the image names (images, promote-from) and that the runner can reach it.',
    }),
    { retryable: true },
  );
}

export class RegistryError extends UserError {
  constructor(
    message: string,
    readonly status: number,
    readonly codes: string[],
    options?: { hint?: string },
  ) {
    super(message, options);
  }
}

interface CachedToken {
  scopes: Map<string, Set<string>>;
  token: string;
  expiresAt: number;
}

interface SendOptions {
  scopes: string[];
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** Statuses returned to the caller instead of thrown (2xx always are). */
  accept?: number[];
  what: string;
}

export function pullScope(repository: string): string {
  return `repository:${repository}:pull`;
}

export function pushScope(repository: string): string {
  return `repository:${repository}:pull,push`;
}

export class RegistryClient {
  readonly stats: RegistryStats = {
    requests: 0,
    tokenRequests: 0,
    manifestBytesUp: 0,
    manifestBytesDown: 0,
    blobBytesUp: 0,
    blobBytesDown: 0,
    mounts: 0,
  };
  private readonly challenges = new Map<string, Challenge>();
  private readonly tokens = new Map<string, CachedToken[]>();
  /** Scopes a caller announced it will need on a registry: asked for in every token, so one token serves a whole job. */
  private readonly planned = new Map<string, Set<string>>();
  private readonly fetchImpl: FetchLike;

  constructor(private readonly options: RegistryClientOptions = {}) {
    const send: FetchLike = options.fetch ?? ((input, init) => fetch(input, init));
    this.fetchImpl = (input, init) =>
      send(input, init).catch((error: unknown) => Promise.reject(unreachable(input, error)));
  }

  /**
   * Announce the scopes a job will need on a registry (e.g. push to the target and pull from the source of a
   * promotion), so the first token covers them all instead of one token request per new scope.
   */
  planScopes(registry: string, scopes: string[]): void {
    const set = this.planned.get(registry) ?? new Set<string>();
    for (const scope of scopes) set.add(scope);
    this.planned.set(registry, set);
  }

  /** HEAD a manifest by tag or digest: its digest, type and size, or undefined when the registry has none. */
  async manifestExists(image: ImageReference | string): Promise<ManifestHead | undefined> {
    const ref = toReference(image);
    const response = await this.send(ref.registry, 'HEAD', manifestPath(ref), {
      scopes: [pullScope(ref.repository)],
      headers: { accept: MANIFEST_ACCEPT },
      accept: [404],
      what: `HEAD manifest ${formatReference(ref)}`,
    });
    if (response.status === 404) return undefined;
    const digest = response.headers.get('docker-content-digest');
    const mediaType = response.headers.get('content-type') ?? '';
    // A registry that keeps the digest to itself on HEAD: read the manifest instead.
    if (!digest) {
      const manifest = await this.getManifest(ref);
      return manifest && { digest: manifest.digest, mediaType: manifest.mediaType, size: manifest.size };
    }
    return { digest, mediaType, size: Number(response.headers.get('content-length') ?? 0) };
  }

  /** GET a manifest's exact bytes, or undefined when absent. The digest is computed and checked against the registry's. */
  async getManifest(image: ImageReference | string): Promise<Manifest | undefined> {
    const ref = toReference(image);
    const response = await this.send(ref.registry, 'GET', manifestPath(ref), {
      scopes: [pullScope(ref.repository)],
      headers: { accept: MANIFEST_ACCEPT },
      accept: [404],
      what: `GET manifest ${formatReference(ref)}`,
    });
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    this.stats.manifestBytesDown += bytes.length;
    const digest = sha256Digest(bytes);
    const expected = ref.digest ?? response.headers.get('docker-content-digest');
    if (expected?.startsWith('sha256:') && expected !== digest) {
      throw new RegistryError(
        `${formatReference(ref)}: the registry sent a manifest whose digest is ${digest}, not ${expected}`,
        0,
        [],
      );
    }
    return { bytes, digest, size: bytes.length, mediaType: response.headers.get('content-type') ?? '' };
  }

  /** PUT a manifest's bytes under a tag or its digest; returns the digest the registry stored. */
  async putManifest(
    registry: string,
    repository: string,
    reference: string,
    manifest: { bytes: Uint8Array; mediaType: string },
  ): Promise<string> {
    const ref = {
      registry,
      repository,
      tag: reference.includes(':') ? undefined : reference,
      digest: reference.includes(':') ? reference : undefined,
    };
    const response = await this.send(registry, 'PUT', `${repository}/manifests/${reference}`, {
      scopes: [pushScope(repository)],
      headers: { 'content-type': manifest.mediaType },
      body: manifest.bytes,
      what: `PUT manifest ${formatReference(ref)}`,
    });
    await response.body?.cancel();
    this.stats.manifestBytesUp += manifest.bytes.length;
    return response.headers.get('docker-content-digest') ?? sha256Digest(manifest.bytes);
  }

  async blobExists(registry: string, repository: string, digest: string): Promise<boolean> {
    const response = await this.send(registry, 'HEAD', `${repository}/blobs/${digest}`, {
      scopes: [pullScope(repository)],
      accept: [404],
      what: `HEAD blob ${digest} in ${registry}/${repository}`,
    });
    return response.status !== 404;
  }

  /**
   * Mount a blob from another repository of the same registry (no bytes move). Returns false when the
   * registry declined (it then opened an upload session, which is cancelled) so the caller can copy instead.
   */
  async mountBlob(registry: string, repository: string, digest: string, fromRepository: string): Promise<boolean> {
    const query = new URLSearchParams({ mount: digest, from: fromRepository });
    const response = await this.send(registry, 'POST', `${repository}/blobs/uploads/?${query}`, {
      scopes: [pushScope(repository), pullScope(fromRepository)],
      headers: { 'content-length': '0' },
      what: `mount blob ${digest} from ${fromRepository} into ${registry}/${repository}`,
    });
    await response.body?.cancel();
    if (response.status === 201) {
      this.stats.mounts++;
      return true;
    }
    const location = response.headers.get('location');
    if (location) {
      const cancel = await this.send(registry, 'DELETE', this.relative(registry, location), {
        scopes: [pushScope(repository)],
        accept: [404, 405],
        what: 'cancel upload',
      });
      await cancel.body?.cancel();
    }
    return false;
  }

  /** Upload a blob in one request (POST for a session, PUT with the bytes); returns its digest. */
  async uploadBlob(registry: string, repository: string, bytes: Uint8Array): Promise<string> {
    const digest = sha256Digest(bytes);
    const start = await this.send(registry, 'POST', `${repository}/blobs/uploads/`, {
      scopes: [pushScope(repository)],
      headers: { 'content-length': '0' },
      what: `start upload to ${registry}/${repository}`,
    });
    await start.body?.cancel();
    const location = start.headers.get('location');
    if (!location)
      throw new RegistryError(`${registry}/${repository}: upload started without a Location header`, start.status, []);
    const path = this.relative(registry, location);
    const put = await this.send(
      registry,
      'PUT',
      `${path}${path.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`,
      {
        scopes: [pushScope(repository)],
        headers: { 'content-type': 'application/octet-stream' },
        body: bytes,
        what: `upload blob ${digest} to ${registry}/${repository}`,
      },
    );
    await put.body?.cancel();
    this.stats.blobBytesUp += bytes.length;
    return digest;
  }

  async getBlob(registry: string, repository: string, digest: string): Promise<Uint8Array> {
    const response = await this.send(registry, 'GET', `${repository}/blobs/${digest}`, {
      scopes: [pullScope(repository)],
      what: `GET blob ${digest} from ${registry}/${repository}`,
    });
    const bytes = new Uint8Array(await response.arrayBuffer());
    this.stats.blobBytesDown += bytes.length;
    return bytes;
  }

  /** A `Location` header (absolute or `/v2/...`) as a path below `/v2/`. */
  private relative(registry: string, location: string): string {
    const url = new URL(location, this.base(registry));
    return `${url.pathname.replace(/^\/v2\//, '')}${url.search}`;
  }

  private base(registry: string): string {
    const scheme = this.options.scheme?.(registry) ?? defaultScheme(registry);
    return `${scheme}://${apiHost(registry)}/v2/`;
  }

  private async send(registry: string, method: string, path: string, request: SendOptions): Promise<Response> {
    const url = `${this.base(registry)}${path}`;
    let authorization = await this.authorization(registry, request.scopes, false);
    let response = await this.fetchOnce(method, url, request, authorization);
    if (response.status === 401) {
      const challenge = parseChallenge(response.headers.get('www-authenticate'));
      await response.body?.cancel();
      if (!challenge) throw await this.failure(registry, response, request.what);
      this.challenges.set(registry, challenge);
      authorization = await this.authorization(registry, request.scopes, true);
      response = await this.fetchOnce(method, url, request, authorization);
    }
    if (response.ok || request.accept?.includes(response.status) || (response.status >= 300 && response.status < 400))
      return response;
    throw await this.failure(registry, response, request.what);
  }

  private async fetchOnce(
    method: string,
    url: string,
    request: SendOptions,
    authorization: string | undefined,
  ): Promise<Response> {
    return retry(
      async () => {
        this.stats.requests++;
        const headers: Record<string, string> = { ...request.headers };
        if (authorization) headers.authorization = authorization;
        const response = await this.fetchImpl(url, {
          method,
          headers,
          body: request.body,
          redirect: 'follow',
          signal: this.signal(),
        });
        if (response.status >= 500 || response.status === 429) {
          await response.body?.cancel();
          throw Object.assign(new Error(`${request.what}: HTTP ${response.status}`), { retryable: true });
        }
        return response;
      },
      {
        attempts: this.options.attempts ?? 3,
        baseMs: 200,
        clock: this.options.clock,
        signal: this.options.signal,
        isRetryable: (error) => (error as { retryable?: boolean }).retryable === true || error instanceof TypeError,
      },
    );
  }

  private signal(): AbortSignal {
    const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 60_000);
    return this.options.signal ? AbortSignal.any([this.options.signal, timeout]) : timeout;
  }

  /** The Authorization header for these scopes, or undefined before the registry has asked for one. */
  private async authorization(registry: string, scopes: string[], refresh: boolean): Promise<string | undefined> {
    const challenge = this.challenges.get(registry);
    if (!challenge) return undefined;
    const credentials = this.options.credentials?.(registry);
    if (challenge.scheme === 'basic') {
      if (!credentials)
        throw new RegistryError(`Registry ${registry} asks for a user name and password and none were given`, 401, [], {
          hint: 'Set registry-username and registry-password.',
        });
      return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
    }
    const wanted = parseScopes(scopes);
    const now = Date.now();
    const cached = (this.tokens.get(registry) ?? []).find(
      (token) => token.expiresAt > now && covers(token.scopes, wanted),
    );
    if (cached && !refresh) return `Bearer ${cached.token}`;
    const asked = [...new Set([...scopes, ...(this.planned.get(registry) ?? [])])];
    return `Bearer ${await this.fetchToken(registry, challenge, asked, credentials)}`;
  }

  private async fetchToken(
    registry: string,
    challenge: Challenge,
    scopes: string[],
    credentials: RegistryCredentials | undefined,
  ): Promise<string> {
    const realm = challenge.params.realm;
    if (!realm)
      throw new RegistryError(`Registry ${registry} asked for a bearer token without naming a realm`, 401, []);
    const url = new URL(realm);
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    for (const scope of scopes) url.searchParams.append('scope', scope);
    const headers: Record<string, string> = {};
    if (credentials)
      headers.authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
    this.stats.requests++;
    this.stats.tokenRequests++;
    const response = await this.fetchImpl(url.toString(), { method: 'GET', headers, signal: this.signal() });
    if (!response.ok) {
      const body = await response.text().catch(() => '');
      const who = credentials ? `user ${JSON.stringify(credentials.username)}` : 'anonymous access';
      throw new RegistryError(
        `Registry ${registry}: the token service ${url.origin}${url.pathname} refused ${who} for ${scopes.join(' ')} (HTTP ${response.status}${body ? `: ${body.trim().slice(0, 200)}` : ''})`,
        response.status,
        [],
        {
          hint: 'Check registry-username and registry-password (the password is a token with read and write access to packages on GHCR).',
        },
      );
    }
    const body = (await response.json()) as { token?: string; access_token?: string; expires_in?: number };
    const token = body.token ?? body.access_token;
    if (!token)
      throw new RegistryError(`Registry ${registry}: the token service answered without a token`, response.status, []);
    const list = this.tokens.get(registry) ?? [];
    // Expire a little early so a token never lapses between lookup and use.
    list.push({
      token,
      scopes: parseScopes(scopes),
      expiresAt: Date.now() + Math.max(30, (body.expires_in ?? 60) - 10) * 1000,
    });
    this.tokens.set(registry, list);
    return token;
  }

  private async failure(registry: string, response: Response, what: string): Promise<RegistryError> {
    const text = await response.text().catch(() => '');
    let codes: string[] = [];
    let detail = text.trim().slice(0, 300);
    try {
      const errors = (JSON.parse(text) as { errors?: { code?: string; message?: string }[] }).errors ?? [];
      codes = errors.map((error) => error.code ?? '');
      detail = errors.map((error) => `${error.code}: ${error.message}`).join('; ');
    } catch {
      // Not the registry's JSON error shape: the raw text says it.
    }
    const denied = response.status === 401 || response.status === 403;
    return new RegistryError(
      `Registry ${registry}: ${what} failed with HTTP ${response.status}${detail ? ` (${detail})` : ''}`,
      response.status,
      codes,
      denied
        ? { hint: 'Check registry-username and registry-password and that they may push to this repository.' }
        : undefined,
    );
  }
}

function toReference(image: ImageReference | string): ImageReference {
  return typeof image === 'string' ? parseImageReference(image) : image;
}

function manifestPath(ref: ImageReference): string {
  return `${ref.repository}/manifests/${ref.digest ?? ref.tag ?? 'latest'}`;
}

function parseScopes(scopes: string[]): Map<string, Set<string>> {
  const map = new Map<string, Set<string>>();
  for (const scope of scopes) {
    const last = scope.lastIndexOf(':');
    const resource = scope.slice(0, last);
    const actions = map.get(resource) ?? new Set<string>();
    for (const action of scope.slice(last + 1).split(',')) actions.add(action);
    map.set(resource, actions);
  }
  return map;
}

function covers(granted: Map<string, Set<string>>, wanted: Map<string, Set<string>>): boolean {
  for (const [resource, actions] of wanted) {
    const have = granted.get(resource);
    if (!have) return false;
    for (const action of actions) if (!have.has(action)) return false;
  }
  return true;
}
