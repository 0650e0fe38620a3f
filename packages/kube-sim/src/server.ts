/** The REST front of the store: routing, content types, query parameters, watches over HTTP, faults and stats. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { parse as parseYaml } from 'yaml';
import { coreVersions, group, groupList, resourceList, versionInfo } from './discovery';
import { ApiError, badRequest, invalid, methodNotAllowed, notFound, type StatusCause } from './errors';
import type { FaultInjector, RequestInfo } from './faults';
import {
  type FieldValidation,
  fieldValidationOf,
  loadSchema,
  strictError,
  unknownFields,
  warningHeaders,
} from './field-validation';
import { parseGracePeriod } from './graceful-deletion';
import { openApiGroupVersion, openApiIndex, openApiV2Json, openApiV2Protobuf } from './openapi';
import { protobufBodyToJson } from './protobuf/body';
import { apiVersionOf, type ResourceType } from './resources';
import type { RequestStats } from './stats';
import type { KubeObject, ObjectStore, PatchType, PropagationPolicy, WatchEvent } from './store';
import { rowObjectFor, toTable, wantsTable } from './tables';
import { checkIntegerFields } from './validation';

export interface ProxyRequest {
  namespace: string;
  service: string;
  port: string;
  path: string;
  method: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface ProxyResponse {
  status: number;
  headers?: Record<string, string>;
  body: string | Buffer;
}

export type ProxyHandler = (req: ProxyRequest) => Promise<ProxyResponse | undefined>;

export interface LogRequest {
  namespace: string;
  pod: KubeObject;
  container: string;
  previous: boolean;
}

/** Returns the log text of a container, or undefined to let the next handler answer. */
export type LogHandler = (req: LogRequest) => string | undefined;

export interface ServerContext {
  store: ObjectStore;
  stats: RequestStats;
  faults: FaultInjector;
  proxyHandlers: ProxyHandler[];
  logHandlers: LogHandler[];
  serverAddress: () => string;
  sleep: (ms: number) => Promise<void>;
  /** How often BOOKMARK events go to watches that allow them (real time, ms). */
  bookmarkIntervalMs: number;
}

interface Route {
  type: ResourceType;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
  /** For the service proxy: the path after /proxy. */
  rest: string;
}

interface OpenWatch {
  type: ResourceType;
  close(): void;
}

const JSON_TYPE = 'application/json';
/** Text kept for gets, lists and watch replays of current objects (the 2 000 pods of the bench take 7 MB). */
const JSON_CACHE_BYTES = 16 * 1024 * 1024;

function send(res: ServerResponse, code: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': JSON_TYPE, 'Cache-Control': 'no-cache, private', ...headers });
  res.end(text);
}

function sendError(res: ServerResponse, error: ApiError, headers: Record<string, string> = {}): void {
  send(res, error.code, error.toStatus(), headers);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw badRequest(`the body of the request could not be decoded as JSON: ${(error as Error).message}`);
  }
}

/** Requests allowed without a name: a collection verb. */
function verbOf(method: string, route: Route, watch: boolean): string {
  if (route.subresource === 'proxy') return 'proxy';
  switch (method) {
    case 'GET':
      return route.name ? 'get' : watch ? 'watch' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return route.name ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function patchTypeOf(contentType: string | undefined): PatchType {
  const ct = (contentType ?? '').split(';')[0]!.trim();
  switch (ct) {
    case 'application/json-patch+json':
      return 'json';
    case 'application/merge-patch+json':
      return 'merge';
    case 'application/strategic-merge-patch+json':
      return 'strategic';
    case 'application/apply-patch+yaml':
    case 'application/apply-patch+cbor':
      return 'apply';
    default:
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`,
      );
  }
}

export class ApiServer {
  private readonly watches = new Set<OpenWatch>();
  /** Cached JSON of stored objects: objects are frozen, so one serialisation serves every reader. */
  private readonly jsonCache = new Map<object, string>();
  private jsonCacheBytes = 0;
  private lastLine: { object: object; type: string; as: ResourceType; text: string } | undefined;
  private lastBatch: { lines: string[]; text: string } | undefined;
  private flushes: (() => void)[] = [];

  constructor(private readonly ctx: ServerContext) {
    ctx.faults.dropWatchesHook = (resource) => this.dropWatches(resource);
  }

  dropWatches(resource?: string): void {
    for (const w of [...this.watches]) if (!resource || w.type.resource === resource) w.close();
  }

  closeAll(): void {
    this.dropWatches();
  }

  /** JSON of an object as the requested version shows it (an older version served from newer storage). */
  private jsonAs(obj: KubeObject, type: ResourceType, keep = true): string {
    if (!type.storage || obj.apiVersion !== apiVersionOf(type.storage)) return this.json(obj, keep);
    return JSON.stringify({ ...obj, apiVersion: apiVersionOf(type) });
  }

  /**
   * A watch event line. Every watcher of a resource receives an event in turn, inside the same write, so the
   * last line is remembered and built once for all of them.
   */
  private eventLine(e: WatchEvent, type: ResourceType, live: boolean): string {
    const last = this.lastLine;
    if (last && last.object === e.object && last.type === e.type && last.as === type) return last.text;
    // A live event's JSON is not kept: the version is usually superseded within moments, and keeping every
    // version's text made it survive into the old generation (most of the GC work in the bench).
    const text = `{"type":"${e.type}","object":${this.jsonAs(e.object, type, !live)}}\n`;
    this.lastLine = { object: e.object, type: e.type, as: type, text };
    return text;
  }

  /**
   * Every watch with pending lines flushes in the same turn, one after the other with nothing in between, so
   * watchers of the same events hold identical bursts and share their bytes (joinLines).
   */
  private scheduleFlush(flush: () => void): void {
    this.flushes.push(flush);
    if (this.flushes.length > 1) return;
    setImmediate(() => {
      const due = this.flushes;
      this.flushes = [];
      for (const f of due) f();
    });
  }

  /**
   * The lines of one burst as one (flat) string. Watchers of a resource without selectors receive the same
   * lines and flush one after the other, so the last join is reused rather than copied per watcher. Strings,
   * not Buffers: a written string is encoded into native memory that is freed as soon as the write is done,
   * where Buffers linger as external memory until a garbage collection (they doubled peak RSS here).
   */
  private joinLines(lines: string[]): string {
    if (lines.length === 1) return lines[0]!;
    const last = this.lastBatch;
    if (last && last.lines.length === lines.length && last.lines.every((l, i) => l === lines[i])) return last.text;
    const text = lines.join('');
    this.lastBatch = { lines, text };
    return text;
  }

  /** JSON of an object; `keep` caches it for the next reader (gets, lists and watch replays read current objects). */
  private json(obj: object, keep = true): string {
    let text = this.jsonCache.get(obj);
    if (text === undefined) {
      text = JSON.stringify(obj);
      if (keep && Object.isFrozen(obj)) {
        // Bounded in bytes (oldest out): a cache over every version in the watch history would double its memory.
        for (const [old, oldText] of this.jsonCache) {
          if (this.jsonCacheBytes + text.length <= JSON_CACHE_BYTES) break;
          this.jsonCache.delete(old);
          this.jsonCacheBytes -= oldText.length;
        }
        this.jsonCache.set(obj, text);
        this.jsonCacheBytes += text.length;
      }
    }
    return text;
  }

  handle = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    let verb = 'unknown';
    let resource = 'other';
    res.on('finish', () => this.ctx.stats.record(verb, resource, performance.now() - started));
    res.on('close', () => {
      if (!res.writableFinished) this.ctx.stats.record(verb, resource, performance.now() - started);
    });
    const run = async () => {
      const url = new URL(req.url ?? '/', 'https://kube-sim');
      const path = url.pathname.replace(/\/+$/, '') || '/';
      if (this.discovery(req, res, path)) {
        verb = 'discovery';
        return;
      }
      const q = url.searchParams;
      // The deprecated watch paths (/api/v1/watch/namespaces/x/pods): a watch of the path without `watch`.
      const legacyWatch = /^\/(api\/[^/]+|apis\/[^/]+\/[^/]+)\/watch\//.exec(path);
      const route = this.route(legacyWatch ? path.replace('/watch/', '/') : path);
      const watch = legacyWatch !== null || boolParam(q, 'watch') === true;
      verb = verbOf(req.method ?? 'GET', route, watch);
      resource = route.type.group ? `${route.type.resource}.${route.type.group}` : route.type.resource;
      if (route.subresource) resource += `/${route.subresource}`;
      const info: RequestInfo = {
        verb,
        resource: route.type.resource,
        subresource: route.subresource,
        namespace: route.namespace,
        name: route.name,
      };
      const faults = this.ctx.faults.match(info);
      for (const f of faults) if (f.latencyMs) await this.ctx.sleep(f.latencyMs);
      const failing = faults.find((f) => f.status);
      if (failing) {
        this.sendFault(res, failing.status!, failing.retryAfterSeconds, route);
        return;
      }
      let body = await readBody(req);
      const contentType = req.headers['content-type'] ?? '';
      if (body.length > 0 && /protobuf|cbor/.test(contentType) && !/apply-patch/.test(contentType)) {
        // kubectl 1.32+ sends protobuf from its `create <kind>` generators: decoded to the JSON everything else reads.
        body = protobufBodyToJson(body, contentType);
      }
      await this.dispatch(
        req,
        res,
        route,
        verb,
        q,
        body,
        faults.find((f) => f.dropWatchAfterEvents !== undefined)?.dropWatchAfterEvents,
      );
    };
    run().catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof ApiError) sendError(res, error);
      else sendError(res, internalError(String((error as Error)?.message ?? error)));
    });
  };

  private sendFault(res: ServerResponse, status: number, retryAfter: number | undefined, route: Route): void {
    if (status === 429) {
      const seconds = retryAfter ?? 1;
      sendError(
        res,
        new ApiError(
          429,
          'TooManyRequests',
          'the server has received too many requests and has asked us to try again later',
          {
            retryAfterSeconds: seconds,
          },
        ),
        { 'Retry-After': String(seconds) },
      );
    } else if (status === 503) {
      sendError(res, new ApiError(503, 'ServiceUnavailable', 'the server is currently unable to handle the request'), {
        'Retry-After': String(retryAfter ?? 1),
      });
    } else if (status === 409) {
      sendError(
        res,
        new ApiError(
          409,
          'Conflict',
          `Operation cannot be fulfilled on ${route.type.resource}${route.type.group ? `.${route.type.group}` : ''} "${route.name ?? ''}": the object has been modified; please apply your changes to the latest version and try again`,
          { name: route.name ?? '', group: route.type.group, kind: route.type.resource },
        ),
      );
    } else sendError(res, internalError('injected fault'));
  }

  private discovery(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    if (req.method !== 'GET') return false;
    const reg = this.ctx.store.registry;
    const legacy = legacyKubectl(req);
    const fixed: Record<string, () => unknown> = {
      '/version': () => versionInfo(),
      '/api': () => coreVersions(this.ctx.serverAddress()),
      '/apis': () => groupList(reg, legacy),
      '/api/v1': () => resourceList(reg, '', 'v1', legacy),
    };
    const doc = fixed[path];
    if (doc) {
      send(res, 200, doc());
      return true;
    }
    if (path === '/healthz' || path === '/livez' || path === '/readyz') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
      return true;
    }
    const m = /^\/apis\/([^/]+)(?:\/([^/]+))?$/.exec(path);
    if (m) {
      const found = m[2] ? resourceList(reg, m[1]!, m[2], legacy) : group(reg, m[1]!, legacy);
      if (!found) sendError(res, new ApiError(404, 'NotFound', 'the server could not find the requested resource'));
      else send(res, 200, found);
      return true;
    }
    if (path === '/openapi/v2') {
      if (/protobuf/.test(req.headers.accept ?? '')) {
        res.writeHead(200, { 'Content-Type': 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf' });
        res.end(openApiV2Protobuf());
      } else send(res, 200, openApiV2Json());
      return true;
    }
    if (path === '/openapi/v3') {
      send(res, 200, openApiIndex(reg));
      return true;
    }
    if (path.startsWith('/openapi/v3/')) {
      void openApiGroupVersion(reg, path.slice('/openapi/v3/'.length)).then((found) => {
        if (found) send(res, 200, found);
        else sendError(res, new ApiError(404, 'NotFound', 'the server could not find the requested resource'));
      });
      return true;
    }
    if (path.startsWith('/openapi/')) {
      sendError(res, new ApiError(404, 'NotFound', 'the server could not find the requested resource'));
      return true;
    }
    return false;
  }

  private route(path: string): Route {
    const segs = path.split('/').slice(1).map(decodeURIComponent);
    let group = '';
    let version: string;
    let rest: string[];
    if (segs[0] === 'api' && segs.length >= 2) {
      version = segs[1]!;
      rest = segs.slice(2);
    } else if (segs[0] === 'apis' && segs.length >= 3) {
      group = segs[1]!;
      version = segs[2]!;
      rest = segs.slice(3);
    } else throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    const reg = this.ctx.store.registry;
    const lookup = (resource: string) => {
      const t = reg.get(group, version, resource);
      if (!t) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      return t;
    };
    let namespace: string | undefined;
    if (
      rest[0] === 'namespaces' &&
      rest.length >= 3 &&
      !(rest.length === 3 && ['status', 'finalize'].includes(rest[2]!))
    ) {
      namespace = rest[1]!;
      rest = rest.slice(2);
      const type = lookup(rest[0]!);
      if (!type.namespaced) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      return this.tail(type, namespace, rest.slice(1));
    }
    const type = lookup(rest[0]!);
    return this.tail(type, undefined, rest.slice(1));
  }

  private tail(type: ResourceType, namespace: string | undefined, rest: string[]): Route {
    const name = rest[0];
    const subresource = rest[1];
    if (subresource && !type.subresources.includes(subresource)) {
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    }
    if (rest.length > 2 && subresource !== 'proxy') {
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    }
    return { type, namespace, name, subresource, rest: rest.length > 2 ? `/${rest.slice(2).join('/')}` : '/' };
  }

  private async dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    route: Route,
    verb: string,
    q: URLSearchParams,
    body: Buffer,
    dropAfter: number | undefined,
  ): Promise<void> {
    const { store } = this.ctx;
    const { type, namespace, name, subresource } = route;
    checkDryRun(verb, q.getAll('dryRun'));
    const dryRun = q.getAll('dryRun').includes('All');
    const fieldManager = q.get('fieldManager') ?? defaultManager(req);
    if (type.namespaced && !namespace && name && verb !== 'list' && verb !== 'watch') {
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    }
    if (!type.namespaced && namespace)
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    if (type.namespaced && namespace && verb !== 'list' && verb !== 'watch' && verb !== 'deletecollection') {
      // Writes and reads in a namespace that does not exist answer 404 for the namespace, as the real server does.
      if (!store.find('v1/namespaces', undefined, namespace) && verb === 'create') {
        throw notFound('namespaces', '', namespace);
      }
    }
    if ((verb === 'update' || verb === 'patch') && !name) throw methodNotAllowed();
    if (subresource === 'proxy') return this.proxy(req, res, route, body);
    if (subresource === 'log') return this.log(res, route, q);
    switch (verb) {
      case 'get': {
        const obj = store.get(type, namespace, name!);
        if (subresource === 'scale') return send(res, 200, store.scaleOf(type, obj));
        if (wantsTable(req) && !subresource) {
          return send(res, 200, toTable(type, [obj], {}, store.clock.now(), rowObjectFor(q, type)));
        }
        return send(res, 200, this.jsonAs(obj, type));
      }
      case 'list':
        checkListOptions(q, false);
        intParam(q, 'timeoutSeconds');
        return this.list(req, res, route, q);
      case 'watch':
        checkListOptions(q, true);
        // Parsed before the 200 of the stream goes out.
        intParam(q, 'limit');
        intParam(q, 'timeoutSeconds');
        return this.watch(req, res, route, q, dropAfter);
      case 'create': {
        // POST goes to a collection; a named object cannot be created by posting to its URL.
        if (name) throw methodNotAllowed();
        const obj = parseJson(body) as KubeObject;
        if (!obj || typeof obj !== 'object') throw badRequest('the body of the request must be an object');
        checkBodyKind(store, type, obj);
        checkIntegerFields(type, obj);
        const warnings = await checkFields(type, obj, fieldValidationOf(q, verb), decodePrefix(type));
        if (type.kind === 'SelfSubjectAccessReview') return send(res, 201, accessReview(obj), warnings);
        const created = store.createIn(type, namespace, obj, { fieldManager, dryRun });
        return send(res, 201, this.jsonAs(created, type), warnings);
      }
      case 'update': {
        const obj = parseJson(body) as KubeObject;
        if (!obj || typeof obj !== 'object') throw badRequest('the body of the request must be an object');
        if (obj.metadata?.name !== undefined && obj.metadata.name !== name) {
          throw badRequest(
            `the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`,
          );
        }
        if (subresource === 'scale')
          return send(res, 200, store.updateScale(type, namespace, name!, obj, { fieldManager, dryRun }));
        checkBodyKind(store, type, obj);
        // Decoding comes before the resourceVersion check: a bad body is a 400 even when stale.
        checkIntegerFields(type, obj);
        const warnings = await checkFields(type, obj, fieldValidationOf(q, verb), decodePrefix(type));
        const opts = { fieldManager, dryRun, ...(subresource === 'status' ? { subresource: 'status' as const } : {}) };
        const updated = store.updateIn(type, namespace, { ...obj, metadata: { ...(obj.metadata ?? {}), name } }, opts);
        return send(res, 200, this.jsonAs(updated, type), warnings);
      }
      case 'patch': {
        const patchType = patchTypeOf(req.headers['content-type']);
        let patch: unknown;
        if (patchType === 'apply') {
          try {
            patch = parseYaml(body.toString('utf8'));
          } catch (error) {
            throw badRequest(`error decoding YAML: ${(error as Error).message}`);
          }
        } else patch = parseJson(body);
        if (patch === undefined) throw badRequest('the patch is empty');
        // An apply in an older version served from newer storage is stored in the newer one.
        if (patchType === 'apply' && type.storage && isRecord(patch) && patch.apiVersion === apiVersionOf(type)) {
          patch = { ...patch, apiVersion: apiVersionOf(type.storage) };
        }
        const force = boolParam(q, 'force') === true;
        const opts = {
          fieldManager: patchType === 'apply' ? (q.get('fieldManager') ?? undefined) : fieldManager,
          dryRun,
          force,
          ...(subresource === 'status' || subresource === 'scale'
            ? { subresource: subresource as 'status' | 'scale' }
            : {}),
        };
        if (patchType !== 'apply' && q.has('force')) {
          throw invalid('PatchOptions', 'meta.k8s.io', '', [
            {
              field: 'force',
              reason: 'FieldValueForbidden',
              message: 'Forbidden: may not be specified for non-apply patch',
            },
          ]);
        }
        const validation = fieldValidationOf(q, verb);
        let warnings: Record<string, string[]> = {};
        if (subresource !== 'scale' && patchType !== 'json') {
          // A merge or strategic patch is decoded strictly as a partial object; an apply configuration is typed
          // against the schema (structured-merge-diff's wording).
          const where = `${namespace ? `${namespace}/` : '/'}${name}; ${apiVersionOf(type).includes('/') ? apiVersionOf(type) : `/${apiVersionOf(type)}`}, Kind=${type.kind}`;
          warnings = await checkFields(type, patch, validation, '', patchType === 'apply' ? where : undefined);
        }
        const patched = store.patch(type, namespace, name!, patchType, patch, opts as never);
        if (subresource === 'scale' && patchType !== 'apply') return send(res, 200, patched, warnings);
        return send(res, 200, this.jsonAs(patched, type), warnings);
      }
      case 'delete': {
        const opts = deleteOptions(q, parseJson(body) as KubeObject | undefined);
        const before = store.get(type, namespace, name!);
        const result = store.delete(type, namespace, name!, { ...opts, dryRun: dryRun || opts.dryRun === true });
        const pending = store.find(type, namespace, name!) !== undefined;
        if (pending || type.kind === 'Pod' || type.kind === 'Namespace' || opts.dryRun || dryRun) {
          return send(res, pending ? 200 : 200, this.jsonAs(result, type));
        }
        return send(res, 200, {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Success',
          details: { name, group: type.group, kind: type.resource, uid: before.metadata.uid },
        });
      }
      case 'deletecollection': {
        const opts = deleteOptions(q, parseJson(body) as KubeObject | undefined);
        const deleted = store.deleteCollection(type, namespace, {
          ...opts,
          dryRun: dryRun || opts.dryRun === true,
          labelSelector: q.get('labelSelector') ?? undefined,
          fieldSelector: q.get('fieldSelector') ?? undefined,
        });
        return send(res, 200, {
          kind: `${type.kind}List`,
          apiVersion: apiVersionOf(type),
          metadata: { resourceVersion: store.resourceVersion },
          items: deleted,
        });
      }
      default:
        throw methodNotAllowed();
    }
  }

  private list(req: IncomingMessage, res: ServerResponse, route: Route, q: URLSearchParams): void {
    const { store } = this.ctx;
    // 0 or less means no limit, as on the API server.
    const limit = intParam(q, 'limit');
    const page = store.listPage(route.type, route.namespace, {
      labelSelector: q.get('labelSelector') ?? undefined,
      fieldSelector: q.get('fieldSelector') ?? undefined,
      ...(limit ? { limit } : {}),
      ...(q.get('continue') ? { continue: q.get('continue')! } : {}),
    });
    const metadata: Record<string, unknown> = { resourceVersion: page.resourceVersion };
    if (page.continue) metadata.continue = page.continue;
    if (page.remainingItemCount !== undefined) metadata.remainingItemCount = page.remainingItemCount;
    if (wantsTable(req)) {
      send(
        res,
        200,
        toTable(route.type, page.items, metadata, this.ctx.store.clock.now(), rowObjectFor(q, route.type)),
      );
      return;
    }
    const head = JSON.stringify({ kind: `${route.type.kind}List`, apiVersion: apiVersionOf(route.type), metadata });
    // Splice the cached item JSON into the list document rather than serialising every object again.
    const text = `${head.slice(0, -1)},"items":[${page.items.map((o) => this.jsonAs(o, route.type)).join(',')}]}`;
    send(res, 200, text);
  }

  private watch(
    req: IncomingMessage,
    res: ServerResponse,
    route: Route,
    q: URLSearchParams,
    dropAfter: number | undefined,
  ): void {
    const { store, stats } = this.ctx;
    // A bad includeObject is refused before the stream starts.
    const rowObject = wantsTable(req) ? rowObjectFor(q, route.type) : undefined;
    res.writeHead(200, {
      'Content-Type': JSON_TYPE,
      'Cache-Control': 'no-cache, private',
      'Transfer-Encoding': 'chunked',
    });
    res.flushHeaders();
    let sent = 0;
    let closed = false;
    let stop = () => {};
    const timers: NodeJS.Timeout[] = [];
    // Events of one burst of writes leave in one write (one syscall), not one each.
    let pending: string[] = [];
    let flushScheduled = false;
    const flush = () => {
      flushScheduled = false;
      // One chunk per burst; watchers that got the same lines share the same bytes (see joinLines).
      if (pending.length > 0 && !res.writableEnded) res.write(this.joinLines(pending));
      pending = [];
    };
    const close = () => {
      if (closed) return;
      closed = true;
      stop();
      for (const t of timers) clearTimeout(t);
      this.watches.delete(open);
      flush();
      res.end();
    };
    const open: OpenWatch = { type: route.type, close };
    const write = (line: string) => {
      if (closed) return;
      pending.push(line);
      if (!flushScheduled) {
        flushScheduled = true;
        this.scheduleFlush(flush);
      }
      stats.watchEvents++;
      sent++;
      if (dropAfter !== undefined && sent >= dropAfter) close();
    };
    // kubectl's default printer asks for Table rows: each event then carries a one-row Table, and only the
    // first one has the column definitions (as the real server sends them).
    let columnsSent = false;
    const onEvent = (e: WatchEvent) => {
      if (!rowObject) {
        write(this.eventLine(e, route.type, !replaying));
        return;
      }
      const t = toTable(route.type, [e.object], {}, store.clock.now(), rowObject);
      if (columnsSent) t.columnDefinitions = [];
      columnsSent = true;
      write(`${JSON.stringify({ type: e.type, object: t })}\n`);
    };
    // WatchList (sendInitialEvents=true, client-go's WatchListClient): the current objects whatever the
    // resourceVersion (NotOlderThan: kube-sim is never behind), then a bookmark marks their end.
    // sendInitialEvents=false starts at the given version, or now, with no initial events.
    const initialEvents = boolParam(q, 'sendInitialEvents');
    let from = q.get('resourceVersion') ?? undefined;
    if (initialEvents === true) from = undefined;
    else if (initialEvents === false && (!from || from === '0')) from = store.resourceVersion;
    // The current objects (or the history) replayed by store.watch() come first, synchronously.
    let replaying = true;
    try {
      stop = store.watch(route.type, route.namespace, from, onEvent, {
        labelSelector: q.get('labelSelector') ?? undefined,
        fieldSelector: q.get('fieldSelector') ?? undefined,
      });
      replaying = false;
    } catch (error) {
      if (error instanceof ApiError) {
        // The real server answers 200 and sends the error as an ERROR event.
        res.end(`${JSON.stringify({ type: 'ERROR', object: error.toStatus() })}\n`);
        return;
      }
      throw error;
    }
    this.watches.add(open);
    if (dropAfter === 0) {
      close();
      return;
    }
    req.on('close', close);
    res.on('close', close);
    const timeout = intParam(q, 'timeoutSeconds') ?? 0;
    if (timeout > 0) timers.push(setTimeout(close, timeout * 1000));
    if (boolParam(q, 'allowWatchBookmarks') === true) {
      const bookmark = (annotations?: Record<string, string>) => {
        write(
          JSON.stringify({
            type: 'BOOKMARK',
            object: {
              kind: route.type.kind,
              apiVersion: apiVersionOf(route.type),
              metadata: { resourceVersion: store.resourceVersion, ...(annotations ? { annotations } : {}) },
            },
          }) + '\n',
        );
        if (!closed) timers.push(setTimeout(bookmark, this.ctx.bookmarkIntervalMs).unref());
      };
      // Nothing was written since the replay (the handler runs outside any store write), so the store's
      // version is the initial list's. Sent only to watches that allow bookmarks, as the API server does.
      if (initialEvents === true) bookmark({ 'k8s.io/initial-events-end': 'true' });
      timers.push(setTimeout(bookmark, this.ctx.bookmarkIntervalMs).unref());
    }
  }

  private log(res: ServerResponse, route: Route, q: URLSearchParams): void {
    const pod = this.ctx.store.get(route.type, route.namespace, route.name!);
    const containers: string[] = (pod.spec?.containers ?? []).map((c: KubeObject) => c.name);
    const initContainers: string[] = (pod.spec?.initContainers ?? []).map((c: KubeObject) => c.name);
    let container = q.get('container') ?? undefined;
    if (!container) {
      if (containers.length !== 1) {
        throw badRequest(
          `a container name must be specified for pod ${route.name}, choose one of: [${containers.join(' ')}]`,
        );
      }
      container = containers[0]!;
    }
    if (!containers.includes(container) && !initContainers.includes(container)) {
      throw badRequest(`container ${container} is not valid for pod ${route.name}`);
    }
    let text = '';
    for (const h of this.ctx.logHandlers) {
      const out = h({ namespace: route.namespace!, pod, container, previous: boolParam(q, 'previous') === true });
      if (out !== undefined) {
        text = out;
        break;
      }
    }
    const tail = q.get('tailLines');
    if (tail !== null) {
      const lines = text.split('\n');
      const trailing = lines[lines.length - 1] === '' ? lines.pop() : undefined;
      text = lines.slice(Math.max(0, lines.length - Number(tail))).join('\n') + (trailing === '' ? '\n' : '');
    }
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(text);
  }

  private async proxy(req: IncomingMessage, res: ServerResponse, route: Route, body: Buffer): Promise<void> {
    if (route.type.kind !== 'Service' || !route.name) throw methodNotAllowed();
    // The name part may be `name`, `name:port` or `scheme:name:port`.
    const parts = route.name.split(':');
    const service = parts.length === 3 ? parts[1]! : parts[0]!;
    const service_ = this.ctx.store.get('v1/services', route.namespace, service);
    const port =
      parts.length === 3 ? parts[2]! : parts.length === 2 ? parts[1]! : String(service_.spec?.ports?.[0]?.port ?? '');
    const search = new URL(req.url ?? '/', 'https://kube-sim').search;
    const request: ProxyRequest = {
      namespace: route.namespace!,
      service,
      port,
      path: route.rest + search,
      method: req.method ?? 'GET',
      headers: req.headers,
      body,
    };
    for (const h of this.ctx.proxyHandlers) {
      const out = await h(request);
      if (out) {
        res.writeHead(out.status, out.headers ?? {});
        res.end(out.body);
        return;
      }
    }
    throw new ApiError(503, 'ServiceUnavailable', `no endpoints available for service "${service}"`);
  }
}

/** kubectl before 1.21 knows CronJob only as batch/v1beta1 (see visibleTypes in discovery.ts). */
function legacyKubectl(req: IncomingMessage): boolean {
  const m = /^kubectl\/v1\.(\d+)\./.exec(req.headers['user-agent'] ?? '');
  return m !== null && Number(m[1]) < 21;
}

function defaultManager(req: IncomingMessage): string {
  const ua = req.headers['user-agent'];
  if (typeof ua !== 'string' || ua === '') return 'unknown';
  return ua.split('/')[0]!.trim() || 'unknown';
}

function deleteOptions(q: URLSearchParams, body: KubeObject | undefined) {
  if (Array.isArray(body?.dryRun)) checkDryRun('delete', body.dryRun);
  const policy = (q.get('propagationPolicy') ?? body?.propagationPolicy) as PropagationPolicy | undefined;
  if (policy && !['Foreground', 'Background', 'Orphan'].includes(policy)) {
    throw badRequest(
      `propagationPolicy: Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan"`,
    );
  }
  const orphan = boolParam(q, 'orphanDependents') ?? body?.orphanDependents;
  const resolved: PropagationPolicy | undefined = policy ?? (orphan === true ? 'Orphan' : undefined);
  const grace = parseGracePeriod(q.get('gracePeriodSeconds') ?? body?.gracePeriodSeconds);
  return {
    ...(resolved ? { propagationPolicy: resolved } : {}),
    ...(grace !== undefined ? { gracePeriodSeconds: grace } : {}),
    ...(body?.preconditions ? { preconditions: body.preconditions } : {}),
    dryRun: Array.isArray(body?.dryRun) && body.dryRun.includes('All'),
  };
}

/** apimachinery's NewInternalError: the message, and the error again as the one cause. */
function internalError(message: string): ApiError {
  return new ApiError(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] });
}

/** The options kind whose validation refuses a bad dryRun, per verb. */
const OPTIONS_KIND: Record<string, string> = {
  create: 'CreateOptions',
  update: 'UpdateOptions',
  patch: 'PatchOptions',
  delete: 'DeleteOptions',
  deletecollection: 'DeleteOptions',
};

/** dryRun takes only "All" (apimachinery's ValidateDryRun); anything else is 422, and nothing is written. */
function checkDryRun(verb: string, values: string[]): void {
  const kind = OPTIONS_KIND[verb];
  if (!kind || values.every((v) => v === 'All')) return;
  // Go prints the rejected []string with %#v.
  const shown = `[]string{${values.map((v) => JSON.stringify(v)).join(', ')}}`;
  throw invalid(kind, 'meta.k8s.io', '', [
    {
      field: 'dryRun',
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${shown}: supported values: "All"`,
    },
  ]);
}

/**
 * A boolean query parameter as the API server's parameter codec reads it (Convert_Slice_string_To_bool):
 * absent is undefined; `0` and `false` (any case) are false; every other value, `True` and the empty string
 * included, is true. The official Python client sends `watch=True` and `force=True`.
 */
export function boolParam(q: URLSearchParams, key: string): boolean | undefined {
  const raw = q.get(key);
  if (raw === null) return undefined;
  return !(raw === '0' || raw.toLowerCase() === 'false');
}

/**
 * A SelfSubjectAccessReview answered as for a cluster-admin (kube-sim has no authorization): allowed, with the
 * reason RBAC gives the system:masters group. `kubectl auth can-i` prints yes.
 */
function accessReview(review: KubeObject): Record<string, unknown> {
  return {
    kind: 'SelfSubjectAccessReview',
    apiVersion: 'authorization.k8s.io/v1',
    metadata: { creationTimestamp: null },
    spec: review.spec ?? {},
    status: {
      allowed: true,
      reason:
        'RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin" to Group "system:masters"',
    },
  };
}

/** How the decoder names a body it refuses: `Deployment in version "v1" cannot be handled as a Deployment: `. */
function decodePrefix(type: ResourceType): string {
  return `${type.kind} in version ${JSON.stringify(type.version)} cannot be handled as a ${type.kind}: `;
}

/**
 * Unknown fields of a body under the request's fieldValidation: Strict refuses them (400, the decoder's
 * wording, or for an apply `failed to create typed patch object (...): .a.b: field not declared in schema`);
 * Warn and Ignore drop them, Warn with a `Warning` header each. Returns the headers for the answer.
 */
async function checkFields(
  type: ResourceType,
  body: unknown,
  validation: FieldValidation,
  prefix: string,
  applyTo?: string,
): Promise<Record<string, string[]>> {
  await loadSchema(type);
  const unknown = unknownFields(type, body, validation !== 'Strict');
  if (unknown.length === 0) return {};
  if (validation === 'Strict') {
    if (applyTo !== undefined) {
      throw badRequest(
        `failed to create typed patch object (${applyTo}): .${unknown[0]}: field not declared in schema`,
      );
    }
    throw strictError(unknown, prefix);
  }
  return validation === 'Warn' ? { Warning: warningHeaders(unknown) } : {};
}

/** An integer query parameter: one that does not parse is a 400 from the parameter codec (strconv.ParseInt). */
function intParam(q: URLSearchParams, key: string): number | undefined {
  const raw = q.get(key);
  if (raw === null) return undefined;
  if (!/^[+-]?\d+$/.test(raw)) throw badRequest(`strconv.ParseInt: parsing ${JSON.stringify(raw)}: invalid syntax`);
  return Number(raw);
}

/**
 * A body of another kind than the URL's resource fails the API server's decode (the versioned object does
 * not convert into the resource's internal type): 400 `Pod in version "v1" cannot be handled as a
 * ConfigMap: ...`. The right kind in another version is refused after decoding.
 */
function checkBodyKind(store: ObjectStore, type: ResourceType, obj: KubeObject): void {
  const expected = apiVersionOf(type);
  const apiVersion = typeof obj.apiVersion === 'string' && obj.apiVersion ? obj.apiVersion : expected;
  const kind = typeof obj.kind === 'string' && obj.kind ? obj.kind : type.kind;
  if (apiVersion === expected && kind === type.kind) return;
  const version = apiVersion.split('/').pop()!;
  const cannot = (why: string) =>
    badRequest(`${kind} in version ${JSON.stringify(version)} cannot be handled as a ${type.kind}: ${why}`);
  if (!store.registry.byKind(apiVersion, kind)) {
    throw cannot(
      `no kind ${JSON.stringify(kind)} is registered for version ${JSON.stringify(apiVersion)} in scheme "pkg/api/legacyscheme/scheme.go:30"`,
    );
  }
  if (kind !== type.kind) {
    const internal = `${type.group ? type.group.split('.')[0] : 'core'}.${type.kind}`;
    throw cannot(`converting (${version}.${kind}) to (${internal}): unknown conversion`);
  }
  throw badRequest(`the API version in the data (${apiVersion}) does not match the expected API version (${expected})`);
}

/**
 * ListOptions checks of the API server (apimachinery's ValidateListOptions, WatchList enabled): 422 Invalid
 * for kind ListOptions.meta.k8s.io with one cause per problem.
 */
function checkListOptions(q: URLSearchParams, watch: boolean): void {
  const causes: StatusCause[] = [];
  const forbidden = (field: string, detail: string) =>
    causes.push({ field, reason: 'FieldValueForbidden', message: `Forbidden: ${detail}` });
  const match = q.get('resourceVersionMatch') ?? '';
  const initialEvents = q.has('sendInitialEvents') ? q.get('sendInitialEvents') : null;
  if (watch) {
    if (initialEvents !== null && match !== 'NotOlderThan') {
      forbidden('resourceVersionMatch', 'sendInitialEvents requires setting resourceVersionMatch to NotOlderThan');
    }
    if (match) {
      if (initialEvents === null) {
        forbidden(
          'resourceVersionMatch',
          'resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided',
        );
      }
      if (match !== 'NotOlderThan') {
        causes.push({
          field: 'resourceVersionMatch',
          reason: 'FieldValueNotSupported',
          message: `Unsupported value: ${JSON.stringify(match)}: supported values: "NotOlderThan"`,
        });
      }
      if (q.get('continue'))
        forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden when continue is provided');
    }
  } else {
    const rv = q.get('resourceVersion') ?? '';
    if (match) {
      if (!rv)
        forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden unless resourceVersion is provided');
      if (q.get('continue'))
        forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden when continue is provided');
      if (match !== 'Exact' && match !== 'NotOlderThan') {
        causes.push({
          field: 'resourceVersionMatch',
          reason: 'FieldValueNotSupported',
          message: `Unsupported value: ${JSON.stringify(match)}: supported values: "Exact", "NotOlderThan", ""`,
        });
      }
      if (match === 'Exact' && rv === '0') {
        forbidden('resourceVersionMatch', 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"');
      }
    }
    if (initialEvents !== null) forbidden('sendInitialEvents', 'sendInitialEvents is forbidden for list');
  }
  if (causes.length > 0) throw invalid('ListOptions', 'meta.k8s.io', '', causes);
}
