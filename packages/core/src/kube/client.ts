/**
 * A small REST client for the Kubernetes API: plain JSON in and out, every
 * patch type, list with paging, watches as async iterators, and retries of
 * throttled or failed calls on the injected clock. Authentication (tokens,
 * client certificates, exec plugins, TLS) is client-node's, through its
 * KubeConfig; the typed model classes are not used, so objects keep every
 * field the server sent.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { systemClock } from '../clock/system';
import { UserError } from '../errors';
import { retry } from '../retry';
import type { Clock } from '../runtime/port';
import { type ClientNode, importClientNode, type KubeConfigSource, loadKubeConfig } from './config';
import { isConnectionError, isTransient, KubeApiError } from './errors';
import { type KnownKind, type ObjectRef, type ResourceType, resourcePath } from './resources';
import type { KubeList, KubeObject } from './types';

export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
};

/** The field manager the suite's writes are recorded under (managedFields). */
export const FIELD_MANAGER = 'deploy-actions';

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  contentType?: string;
  /** Retry on 429/5xx/connection errors (default: yes, except POST which only retries 429). */
  retry?: boolean;
}

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
}

export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  /** Ask the server to end the watch after this many seconds (it may end it sooner). */
  timeoutSeconds?: number;
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Page size; all pages are fetched and joined. */
  limit?: number;
}

export interface KubeClientOptions {
  clock?: Clock;
  signal?: AbortSignal;
  /** Attempts per call for transient failures (default 5). */
  attempts?: number;
  /** Called before each retry, e.g. to log it. */
  onRetry?: (message: string) => void;
  /**
   * Retry transient failures (429, 5xx, connection errors) for this long per call instead of `attempts` times:
   * an API server outage shorter than this is ridden out (exponential backoff with jitter, Retry-After honoured).
   */
  retryBudgetMs?: number;
  /** Run before every write (not reads, not dry runs): a fence that throws when the run may no longer write. */
  beforeWrite?: () => Promise<void>;
}

export class KubeClient {
  /** API calls made (each attempt counts), for summaries and benchmarks. */
  requests = 0;
  private readonly clock: Clock;

  constructor(
    readonly config: KubeConfig,
    private readonly lib: ClientNode,
    private readonly options: KubeClientOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }

  static async connect(source: KubeConfigSource, options: KubeClientOptions = {}): Promise<KubeClient> {
    const { config } = await loadKubeConfig(source);
    return new KubeClient(config, await importClientNode(), options);
  }

  /**
   * The same client (cluster, credentials, clock, counting into `requests`) but not tied to the run's signal:
   * its calls end when `timeoutMs` has passed instead. For the clean-up a run owes even after a timeout or a
   * cancel aborted its signal (a Lease handed back); nothing else should use it.
   */
  detached(timeoutMs: number): KubeClient {
    const client = new KubeClient(this.config, this.lib, { ...this.options, signal: AbortSignal.timeout(timeoutMs) });
    client.count = () => this.count();
    return client;
  }

  /**
   * The same client, but every write (POST, PUT, PATCH, DELETE; not dry runs) first runs `check`, which throws
   * when the run may no longer change anything (it lost its Lease).
   */
  fenced(check: () => Promise<void>): KubeClient {
    const client = new KubeClient(this.config, this.lib, { ...this.options, beforeWrite: check });
    client.count = () => this.count();
    return client;
  }

  /** The same client with another retry budget per call (ms), e.g. the `api-retry-budget` input. */
  withRetryBudget(retryBudgetMs: number): KubeClient {
    const client = new KubeClient(this.config, this.lib, { ...this.options, retryBudgetMs });
    client.count = () => this.count();
    return client;
  }

  /** Count one API request (a detached client counts into the client it came from). */
  private count(): void {
    this.requests++;
  }

  /** The API server's URL. */
  get server(): string {
    return this.config.getCurrentCluster()?.server ?? '';
  }

  /** The namespace the current context names, if any. */
  get contextNamespace(): string | undefined {
    return this.config.getContextObject(this.config.getCurrentContext())?.namespace;
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const retryAll = options.retry ?? method !== 'POST';
    if (method !== 'GET' && this.options.beforeWrite && options.query?.['dryRun'] !== 'All')
      await this.options.beforeWrite();
    const budget = this.options.retryBudgetMs;
    // An outage is said once (the first failure) and summed up at its end, not a warning per attempt.
    const started = this.clock.now();
    let failed = 0;
    const lasted = () => `${failed + 1} attempts over ${Math.round((this.clock.now() - started) / 1000)} s`;
    return retry(() => this.send<T>(method, path, options), {
      attempts:
        options.retry === false ? 1 : budget !== undefined ? Number.POSITIVE_INFINITY : (this.options.attempts ?? 5),
      ...(budget !== undefined ? { budgetMs: budget } : {}),
      baseMs: 200,
      maxMs: 5_000,
      clock: this.clock,
      ...(this.options.signal ? { signal: this.options.signal } : {}),
      isRetryable: (error) => (retryAll ? isTransient(error) : error instanceof KubeApiError && error.code === 429),
      onRetry: ({ attempt, delayMs, error }) => {
        failed = attempt;
        if (attempt > 1) return;
        const until = budget !== undefined ? `, for up to ${Math.round(budget / 1000)} s` : '';
        this.options.onRetry?.(
          `${method} ${path} failed (attempt 1): ${this.unreachable(error) ?? (error as Error).message}; retrying in ${delayMs} ms${until} (further failures are summed up when it ends)`,
        );
      },
    })
      .then((value) => {
        if (failed > 0) this.options.onRetry?.(`${method} ${path} answered after ${lasted()}`);
        return value;
      })
      .catch((error: unknown) => {
        if (failed > 0) this.options.onRetry?.(`${method} ${path} gave up after ${lasted()}`);
        // "fetch failed" says nothing: name the server, and what the connection said, once the retries are over.
        const why = this.options.signal?.aborted ? undefined : this.unreachable(error);
        if (why === undefined) throw error;
        throw new UserError(`${why} (${method} ${path})`, {
          hint: "check the kubeconfig's cluster server and context, and that the runner can reach it",
          cause: error,
        });
      });
  }

  /** `Kubernetes API server https://host:6443 could not be reached: connect ECONNREFUSED ...` for a connection error. */
  private unreachable(error: unknown): string | undefined {
    if (!isConnectionError(error)) return undefined;
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const detail = cause?.message ?? cause?.code ?? (error as Error).message;
    return `Kubernetes API server ${this.server} could not be reached: ${detail}`;
  }

  get<T extends KubeObject>(kind: KnownKind | ResourceType, ref: ObjectRef): Promise<T> {
    return this.request<T>('GET', resourcePath(kind, ref));
  }

  /** Every item, following `continue` tokens; `metadata.resourceVersion` is the last page's (a watch may start there). */
  async list<T extends KubeObject>(kind: KnownKind | ResourceType, options: ListOptions = {}): Promise<KubeList<T>> {
    const path = resourcePath(kind, { namespace: options.namespace });
    const items: T[] = [];
    let token: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const page = await this.request<KubeList<T>>('GET', path, {
        query: {
          labelSelector: options.labelSelector,
          fieldSelector: options.fieldSelector,
          limit: options.limit,
          continue: token,
        },
      });
      items.push(...page.items);
      token = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion;
    } while (token !== undefined);
    return { metadata: resourceVersion === undefined ? {} : { resourceVersion }, items };
  }

  create<T extends KubeObject>(kind: KnownKind | ResourceType, object: T, options: WriteOptions = {}): Promise<T> {
    return this.request<T>('POST', resourcePath(kind, { namespace: object.metadata?.namespace }), {
      body: object,
      query: writeQuery(options),
    });
  }

  /** PUT: fails with 409 Conflict when `object.metadata.resourceVersion` is stale. */
  replace<T extends KubeObject>(kind: KnownKind | ResourceType, object: T, options: WriteOptions = {}): Promise<T> {
    const ref = { namespace: object.metadata?.namespace, name: object.metadata?.name };
    return this.request<T>('PUT', resourcePath(kind, ref), { body: object, query: writeQuery(options) });
  }

  patch<T extends KubeObject>(
    kind: KnownKind | ResourceType,
    ref: ObjectRef,
    patch: unknown,
    type: PatchType,
    options: WriteOptions & { force?: boolean } = {},
  ): Promise<T> {
    return this.request<T>('PATCH', resourcePath(kind, ref), {
      body: patch,
      contentType: PATCH_CONTENT_TYPES[type],
      query: {
        ...writeQuery(options),
        // Server-side apply requires a field manager; `force` takes fields other managers own.
        ...(type === 'apply' ? { fieldManager: options.fieldManager ?? FIELD_MANAGER, force: options.force } : {}),
      },
    });
  }

  async delete(
    kind: KnownKind | ResourceType,
    ref: ObjectRef,
    options: { propagationPolicy?: 'Foreground' | 'Background' | 'Orphan'; dryRun?: boolean } = {},
  ): Promise<void> {
    await this.request('DELETE', resourcePath(kind, ref), {
      query: { propagationPolicy: options.propagationPolicy, dryRun: options.dryRun ? 'All' : undefined },
    });
  }

  /**
   * Events of a watch until the server ends it, the signal aborts, or the
   * consumer stops iterating. A watch that ends is not an error: callers
   * resume from the last resourceVersion they saw. An `ERROR` event (410 Gone
   * after compaction) is delivered as is.
   */
  async *watch<T extends KubeObject>(
    kind: KnownKind | ResourceType,
    options: WatchOptions = {},
    signal?: AbortSignal,
  ): AsyncGenerator<WatchEvent<T>> {
    const path = resourcePath(kind, { namespace: options.namespace });
    const query: Record<string, string | number | boolean> = {};
    for (const [key, value] of Object.entries({
      labelSelector: options.labelSelector,
      fieldSelector: options.fieldSelector,
      resourceVersion: options.resourceVersion,
      allowWatchBookmarks: options.allowWatchBookmarks,
      timeoutSeconds: options.timeoutSeconds,
    })) {
      if (value !== undefined) query[key] = value;
    }
    const queue: WatchEvent<T>[] = [];
    let finished = false;
    let failure: unknown;
    let wake: (() => void) | undefined;
    const notify = () => {
      wake?.();
      wake = undefined;
    };
    this.count();
    const controller = await new this.lib.Watch(this.config).watch(
      path,
      query,
      (type, object) => {
        queue.push({ type: type as WatchEvent['type'], object: object as T });
        notify();
      },
      (error: unknown) => {
        finished = true;
        if (error && !isAbortError(error)) failure = toApiError('GET', path, error);
        notify();
      },
    );
    const stop = () => controller.abort();
    signal?.addEventListener('abort', stop, { once: true });
    this.options.signal?.addEventListener('abort', stop, { once: true });
    // Aborted while the watch was connecting: the listeners above came too late.
    if (signal?.aborted || this.options.signal?.aborted) stop();
    try {
      for (;;) {
        const event = queue.shift();
        if (event !== undefined) {
          yield event;
          continue;
        }
        if (finished) break;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
      if (failure !== undefined) throw failure;
    } finally {
      signal?.removeEventListener('abort', stop);
      this.options.signal?.removeEventListener('abort', stop);
      controller.abort();
    }
  }

  private async send<T>(method: string, path: string, options: RequestOptions): Promise<T> {
    const url = new URL(this.server.replace(/\/+$/, '') + path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const context = new this.lib.RequestContext(url.toString(), method as never);
    await this.config.applySecurityAuthentication(context);
    context.setHeaderParam('Accept', 'application/json');
    if (options.body !== undefined) {
      context.setHeaderParam('Content-Type', options.contentType ?? 'application/json');
      context.setBody(JSON.stringify(options.body));
    }
    if (this.options.signal) context.setSignal(this.options.signal);
    this.count();
    const response = await new this.lib.IsomorphicFetchHttpLibrary().send(context).toPromise();
    const text = await response.body.text();
    if (response.httpStatusCode >= 400)
      throw statusError(method, path, response.httpStatusCode, text, response.headers);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }
}

function writeQuery(options: WriteOptions): Query {
  return { dryRun: options.dryRun ? 'All' : undefined, fieldManager: options.fieldManager };
}

function statusError(
  method: string,
  path: string,
  code: number,
  body: string,
  headers: Record<string, string>,
): KubeApiError {
  let reason = '';
  let message = body.slice(0, 300);
  try {
    const status = JSON.parse(body) as { reason?: string; message?: string };
    reason = status.reason ?? '';
    message = status.message ?? message;
  } catch {
    // Not a Status object (a proxy's HTML page, say): keep the text.
  }
  return new KubeApiError(method, path, code, reason || httpReason(code), message, headers['retry-after']);
}

function toApiError(method: string, path: string, error: unknown): unknown {
  const code = (error as { statusCode?: unknown }).statusCode;
  if (typeof code === 'number') return new KubeApiError(method, path, code, httpReason(code), (error as Error).message);
  return error;
}

function httpReason(code: number): string {
  const reasons: Record<number, string> = {
    400: 'BadRequest',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'NotFound',
    409: 'Conflict',
    410: 'Gone',
    422: 'Invalid',
    429: 'TooManyRequests',
    500: 'InternalError',
    503: 'ServiceUnavailable',
    504: 'Timeout',
  };
  return reasons[code] ?? `HTTP${code}`;
}

function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}
