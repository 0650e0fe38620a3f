/**
 * The object store: every object of every resource, the resourceVersion sequence, watch fan-out with a
 * replayable history, finalizers and garbage collection. The REST server and the in-process controllers
 * both go through it, so they see the same versions and the same events.
 *
 * Objects handed out (get, list, watch events) are deep-frozen snapshots shared with the store:
 * reading costs no copy, and mutating one throws. To change an object, `structuredClone` it, edit the
 * clone and pass it to `update` (or use `patch` / `apply`, or `modify`, which retries on conflicts).
 */
import type { Clock } from '@deploy-actions/core/clock';
import { admitServiceAccount, apiServerDefaults } from './admission';
import { ApiError, alreadyExists, badRequest, conflict, gone, invalid, notFound } from './errors';
import { copyJson, copySharingFrozen, deepFreeze } from './frozen';
import { podDeletionStep } from './graceful-deletion';
import { checkImmutable } from './immutable';
import { recordUpdate, serverSideApply } from './managed-fields';
import { isObject, type Json, type JsonObject, jsonPatch, mergePatch, strategicMerge } from './patch';
import { apiVersionOf, type Gvr, gvrKey, ResourceRegistry, type ResourceType } from './resources';
import { type FieldMatcher, type LabelMatcher, parseFieldSelector, parseLabelSelector } from './selectors';
import type { Admission, KubeObject } from './types';
import { newUid } from './uid';
import { validate } from './validation';

export type { Admission, KubeObject } from './types';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';
export interface WatchEvent {
  type: WatchEventType;
  object: KubeObject;
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';
export type PropagationPolicy = 'Foreground' | 'Background' | 'Orphan';

export interface WriteOptions {
  fieldManager?: string;
  dryRun?: boolean;
  subresource?: 'status' | 'scale';
  /** On create with `generateName`: the suffix to use instead of a random one (seeded controllers). */
  nameSuffix?: string;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export interface ListResult {
  items: KubeObject[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface DeleteOptions {
  propagationPolicy?: PropagationPolicy;
  /** Pods: how long the kubelet may take to stop it (see graceful-deletion.ts); 0 removes it at once. */
  gracePeriodSeconds?: number;
  dryRun?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
}

interface HistoryEntry {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
  prev: KubeObject | undefined;
}

interface Watcher {
  namespace: string | undefined;
  labels: LabelMatcher;
  fields: FieldMatcher;
  onEvent: (e: WatchEvent) => void;
}

class Table {
  readonly byNamespace = new Map<string, Map<string, KubeObject>>();
  /** Watch history in resourceVersion order; slots before `historyHead` are dropped (emptied) already. */
  history: (HistoryEntry | undefined)[] = [];
  historyHead = 0;
  /** Watches from a resourceVersion older than this get 410 Gone. */
  historyStart: number;
  readonly watchers = new Set<Watcher>();
  count = 0;
  constructor(
    readonly type: ResourceType,
    startRv: number,
  ) {
    this.historyStart = startRv;
  }
}

/** RFC 3339 at second precision, as the API server writes times. The last second's text is reused: every write asks. */
let lastSecond = Number.NaN;
let lastSecondText = '';
export function formatTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastSecondText = new Date(second * 1000).toISOString().replace('.000Z', 'Z');
  }
  return lastSecondText;
}

const NAME_SUFFIX = 'bcdfghjklmnpqrstvwxz2456789';

function depKey(t: ResourceType, ns: string, name: string): string {
  return `${gvrKey(t)}\u0000${ns}\u0000${name}`;
}

/** Equal apart from the resourceVersion and managedFields timestamps (a no-op write stores nothing, as in Kubernetes). */
function sameContent(a: KubeObject, b: KubeObject): boolean {
  const strip = (o: KubeObject) => {
    const { resourceVersion: _rv, managedFields, ...meta } = o.metadata ?? {};
    const owners = (managedFields ?? []).map(({ time: _t, ...rest }: KubeObject) => rest);
    return JSON.stringify({ ...o, metadata: { ...meta, managedFields: owners } });
  };
  return strip(a) === strip(b);
}

function specOf(type: ResourceType, o: KubeObject): string {
  if (!type.custom) return JSON.stringify(o.spec ?? null);
  const { metadata: _m, status: _s, ...rest } = o;
  return JSON.stringify(rest);
}

/** Whether a write changes the spec (which bumps generation). A status write shares the stored spec: no compare. */
function specChanged(type: ResourceType, old: KubeObject, next: KubeObject): boolean {
  if (!type.custom && old.spec === next.spec) return false;
  return specOf(type, old) !== specOf(type, next);
}

export class ObjectStore {
  readonly registry: ResourceRegistry;
  private rv = 0;
  private readonly tables = new Map<ResourceType, Table>();
  private readonly dependents = new Map<string, Set<string>>();
  private readonly admissions: Admission[] = [];
  private readonly queue: { table: Table; entry: HistoryEntry }[] = [];
  private dispatching = false;
  /** Events kept per resource for watch resume; older resume points get 410 Gone. */
  historyLimit: number;
  /** Called for every write (after it is stored): verb, resource type and object. For stats. */
  onWrite?: (verb: string, type: ResourceType) => void;

  constructor(
    readonly clock: Clock,
    options: { registry?: ResourceRegistry; historyLimit?: number } = {},
  ) {
    this.registry = options.registry ?? new ResourceRegistry();
    this.historyLimit = options.historyLimit ?? 5_000;
    this.admissions.push(apiServerDefaults());
    for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      this.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, { fieldManager: 'kube-apiserver' });
    }
  }

  /** The latest resourceVersion (as a string, as the API reports it). */
  get resourceVersion(): string {
    return String(this.rv);
  }

  addAdmission(fn: Admission): void {
    this.admissions.push(fn);
  }

  /** The resource type that holds the objects (an older version served from newer storage resolves to it). */
  type(gvr: Gvr | ResourceType): ResourceType {
    const t = typeof gvr === 'object' && 'kind' in gvr ? gvr : this.registry.resolve(gvr);
    return t.storage ?? t;
  }

  private table(type: ResourceType): Table {
    let t = this.tables.get(type);
    if (!t) {
      t = new Table(type, this.rv);
      this.tables.set(type, t);
    }
    return t;
  }

  private typeOf(obj: KubeObject): ResourceType {
    if (!isObject(obj)) throw badRequest('the object must be a JSON object');
    if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') {
      throw badRequest(`Object 'Kind' is missing in '${JSON.stringify(obj).slice(0, 200)}'`);
    }
    const t = this.registry.byKind(obj.apiVersion, obj.kind);
    if (!t)
      throw new ApiError(
        404,
        'NotFound',
        `the server could not find the requested resource (${obj.apiVersion}, Kind=${obj.kind})`,
      );
    return t.storage ?? t;
  }

  private nsOf(type: ResourceType, namespace: string | undefined): string {
    return type.namespaced ? namespace || 'default' : '';
  }

  // ---------- reads ----------

  /** The object, or undefined. */
  find(gvr: Gvr | ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const type = this.type(gvr);
    return this.tables.get(type)?.byNamespace.get(this.nsOf(type, namespace))?.get(name);
  }

  /** The object; 404 NotFound (ApiError) when absent. */
  get(gvr: Gvr | ResourceType, namespace: string | undefined, name: string): KubeObject {
    const type = this.type(gvr);
    const obj = this.find(type, namespace, name);
    if (!obj) throw notFound(type.resource, type.group, name);
    return obj;
  }

  /** Matching objects, sorted by namespace and name. */
  list(gvr: Gvr | ResourceType, namespace: string | undefined, options: ListOptions = {}): KubeObject[] {
    return this.listPage(gvr, namespace, options).items;
  }

  listPage(gvr: Gvr | ResourceType, namespace: string | undefined, options: ListOptions = {}): ListResult {
    const type = this.type(gvr);
    const labels = parseLabelSelector(options.labelSelector);
    const fields = parseFieldSelector(options.fieldSelector, type.kind);
    const table = this.tables.get(type);
    let after = '';
    if (options.continue) {
      try {
        const token = JSON.parse(Buffer.from(options.continue, 'base64url').toString('utf8')) as { start: string };
        after = token.start;
      } catch {
        throw badRequest('continue key is not valid: illegal base64 data');
      }
    }
    const keys: [string, KubeObject][] = [];
    const scan = (ns: string, objs: Map<string, KubeObject>) => {
      for (const [name, obj] of objs) {
        const key = `${ns}/${name}`;
        if (key > after && labels(obj.metadata?.labels) && fields(obj)) keys.push([key, obj]);
      }
    };
    if (table) {
      if (namespace && type.namespaced) {
        const objs = table.byNamespace.get(namespace);
        if (objs) scan(namespace, objs);
      } else for (const [ns, objs] of table.byNamespace) scan(ns, objs);
    }
    keys.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const result: ListResult = { items: [], resourceVersion: String(this.rv) };
    const limit = options.limit && options.limit > 0 ? options.limit : keys.length;
    result.items = keys.slice(0, limit).map(([, o]) => o);
    if (keys.length > limit) {
      result.continue = Buffer.from(JSON.stringify({ rv: this.rv, start: keys[limit - 1]![0] })).toString('base64url');
      result.remainingItemCount = keys.length - limit;
    }
    return result;
  }

  /** How many objects a resource holds (all namespaces). */
  count(gvr: Gvr | ResourceType): number {
    return this.tables.get(this.type(gvr))?.count ?? 0;
  }

  // ---------- writes ----------

  /** Create an object; its resource comes from apiVersion/kind. `namespace` defaults to the object's, then 'default'. */
  create(obj: KubeObject, options: WriteOptions & { namespace?: string } = {}): KubeObject {
    const type = this.typeOf(obj);
    return this.createIn(type, options.namespace ?? obj.metadata?.namespace, obj, options);
  }

  createIn(
    gvr: Gvr | ResourceType,
    namespace: string | undefined,
    input: KubeObject,
    options: WriteOptions = {},
    /** managedFields computed by a server-side apply that creates the object. */
    appliedFields?: unknown,
  ): KubeObject {
    const type = this.type(gvr);
    if (!isObject(input)) throw badRequest('the object must be a JSON object');
    const obj = copyJson(input) as KubeObject;
    obj.apiVersion = apiVersionOf(type);
    obj.kind = type.kind;
    const meta: KubeObject = isObject(obj.metadata) ? obj.metadata : {};
    obj.metadata = meta;
    const ns = this.nsOf(type, namespace);
    if (type.namespaced) {
      if (meta.namespace && meta.namespace !== ns) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = ns;
      this.requireNamespace(ns);
    } else delete meta.namespace;
    const shownName = (meta.name || meta.generateName || '') as string;
    if (!meta.name && typeof meta.generateName === 'string') {
      let suffix = options.nameSuffix ?? '';
      if (!suffix) for (let i = 0; i < 5; i++) suffix += NAME_SUFFIX[Math.floor(Math.random() * NAME_SUFFIX.length)];
      meta.name = meta.generateName + suffix;
    }
    const table = this.table(type);
    if (typeof meta.name === 'string' && table.byNamespace.get(ns)?.has(meta.name)) {
      throw alreadyExists(type.resource, type.group, meta.name);
    }
    if (type.subresources.includes('status')) delete obj.status;
    meta.uid = newUid();
    for (const admit of this.admissions) admit(type, obj, undefined);
    // Created objects of built-in kinds with a status carry one, empty until a controller writes it.
    if (!type.custom && type.subresources.includes('status') && obj.status === undefined) {
      obj.status = type.kind === 'Service' || type.kind === 'Ingress' ? { loadBalancer: {} } : {};
    }
    if (type.kind === 'Pod' && type.group === '') {
      admitServiceAccount(obj, shownName, (ns, sa) => this.find('v1/serviceaccounts', ns, sa) !== undefined);
    }
    validate(type, obj);
    meta.creationTimestamp = formatTime(this.clock.now());
    delete meta.deletionTimestamp;
    delete meta.resourceVersion;
    delete meta.managedFields;
    if (type.hasSpec) meta.generation = 1;
    else delete meta.generation;
    if (appliedFields) meta.managedFields = appliedFields;
    else recordUpdate(undefined, obj as JsonObject, this.identity(type, options), this.hasStatus(type));
    if (options.dryRun) return deepFreeze(obj);
    const created = this.commit(table, 'ADDED', obj, undefined, 'create');
    if (type.kind === 'Namespace' && type.group === '') {
      // The service account controller gives every namespace its `default` ServiceAccount (here at once).
      this.create(
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: meta.name } },
        { fieldManager: 'kube-controller-manager' },
      );
    }
    return created;
  }

  /**
   * Replace an object (PUT). A stale metadata.resourceVersion gets 409 Conflict. With subresource 'status'
   * only the status changes; otherwise status changes are ignored for kinds with a status subresource.
   */
  update(input: KubeObject, options: WriteOptions & { namespace?: string } = {}): KubeObject {
    const type = this.typeOf(input);
    return this.updateIn(type, options.namespace ?? input.metadata?.namespace, input, options);
  }

  updateIn(
    gvr: Gvr | ResourceType,
    namespace: string | undefined,
    input: KubeObject,
    options: WriteOptions = {},
    /** The caller hands `input` over (a private copy): no defensive clone. */
    handedOver = false,
  ): KubeObject {
    const type = this.type(gvr);
    if (!isObject(input) || !isObject(input.metadata)) throw badRequest('the object must have metadata');
    const ns = this.nsOf(type, namespace);
    const name = input.metadata.name as string;
    if (type.namespaced && input.metadata.namespace && input.metadata.namespace !== ns) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    const old = this.find(type, ns, name);
    if (!old) throw notFound(type.resource, type.group, name);
    const want = input.metadata.resourceVersion;
    if (want !== undefined && want !== '' && want !== old.metadata.resourceVersion) {
      throw conflict(
        type.resource,
        type.group,
        name,
        'the object has been modified; please apply your changes to the latest version and try again',
      );
    }
    let next: KubeObject;
    if (options.subresource === 'status') {
      // Only the status changes: share the rest of the stored (frozen) object.
      next = { ...old, metadata: { ...old.metadata } };
      // Frozen parts (conditions carried over from the stored object) are shared, not copied.
      next.status = handedOver ? input.status : copySharingFrozen(input.status);
      if (next.status === undefined) delete next.status;
    } else {
      next = handedOver ? input : (copyJson(input) as KubeObject);
      if (this.hasStatus(type)) {
        if (old.status === undefined) delete next.status;
        else next.status = old.status;
      }
      // Server-owned metadata cannot be changed by a client.
      for (const k of ['uid', 'creationTimestamp', 'generation', 'deletionTimestamp', 'deletionGracePeriodSeconds']) {
        if (old.metadata[k] === undefined) delete next.metadata[k];
        else next.metadata[k] = old.metadata[k];
      }
      next.metadata.managedFields = old.metadata.managedFields;
    }
    next.apiVersion = apiVersionOf(type);
    next.kind = type.kind;
    next.metadata.name = name;
    if (type.namespaced) next.metadata.namespace = ns;
    return this.replace(type, old, next, options, 'update');
  }

  private replace(
    type: ResourceType,
    old: KubeObject,
    next: KubeObject,
    options: WriteOptions,
    verb: string,
  ): KubeObject {
    if (options.subresource !== 'status') for (const admit of this.admissions) admit(type, next, old);
    validate(type, next);
    if (options.subresource !== 'status') checkImmutable(type, old, next);
    if (old.metadata.deletionTimestamp) {
      // Finalizers can only be removed while terminating.
      const added = (next.metadata.finalizers ?? []).filter(
        (f: string) => !(old.metadata.finalizers ?? []).includes(f),
      );
      if (added.length > 0) {
        throw invalid(type.kind, type.group, old.metadata.name, [
          {
            field: 'metadata.finalizers',
            message: 'Forbidden: no new finalizers can be added if the object is being deleted',
          },
        ]);
      }
    }
    next.metadata.resourceVersion = old.metadata.resourceVersion;
    // recordUpdate diffs every field a client can set: no difference means a no-op write.
    if (!recordUpdate(old as JsonObject, next as JsonObject, this.identity(type, options), this.hasStatus(type))) {
      return old;
    }
    if (type.hasSpec && old.metadata.generation !== undefined && specChanged(type, old, next)) {
      next.metadata.generation = (old.metadata.generation as number) + 1;
    }
    if (options.dryRun) return deepFreeze(next);
    const table = this.table(type);
    // The last finalizer removed from an object whose deletion is due (no grace period left) removes it.
    if (
      next.metadata.deletionTimestamp &&
      (next.metadata.finalizers ?? []).length === 0 &&
      (next.metadata.deletionGracePeriodSeconds ?? 0) === 0
    ) {
      const stored = this.commit(table, 'MODIFIED', next, old, verb);
      this.remove(table, stored);
      return stored;
    }
    return this.commit(table, 'MODIFIED', next, old, verb);
  }

  /** Patch an object. `apply` is server-side apply: creates the object when absent. */
  patch(
    gvr: Gvr | ResourceType,
    namespace: string | undefined,
    name: string,
    patchType: PatchType,
    body: unknown,
    options: WriteOptions & { force?: boolean } = {},
  ): KubeObject {
    const type = this.type(gvr);
    const ns = this.nsOf(type, namespace);
    if (patchType === 'apply') return this.applyIn(type, ns, name, body, options);
    const old = this.get(type, ns, name);
    if (options.subresource === 'scale') {
      const scale = this.scaleOf(type, old);
      const patched = this.patchDocument(type, scale, patchType, body) as KubeObject;
      return this.updateScale(type, ns, name, patched, options);
    }
    const patched = this.patchDocument(type, old as Json, patchType, body) as KubeObject;
    if (!isObject(patched) || !isObject(patched.metadata)) throw badRequest('the patch removed the object metadata');
    if (patched.metadata.name !== name) throw badRequest('the name of the object cannot be changed by a patch');
    return this.updateIn(type, ns, patched, options);
  }

  private patchDocument(type: ResourceType, doc: Json, patchType: PatchType, body: unknown): Json {
    switch (patchType) {
      case 'json':
        return jsonPatch(doc, body);
      case 'merge':
        if (!isObject(body)) throw badRequest('a merge patch must be a JSON object');
        return mergePatch(copyJson(doc), body);
      case 'strategic':
        if (type.custom) {
          throw new ApiError(
            415,
            'UnsupportedMediaType',
            `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
          );
        }
        if (!isObject(body)) throw badRequest('a strategic merge patch must be a JSON object');
        return strategicMerge(copyJson(doc), body);
      default:
        throw badRequest(`unsupported patch type ${patchType}`);
    }
  }

  /** Server-side apply of a whole (partial) object; its resource comes from apiVersion/kind. */
  apply(
    config: KubeObject,
    options: WriteOptions & { fieldManager: string; force?: boolean; namespace?: string },
  ): KubeObject {
    const type = this.typeOf(config);
    return this.applyIn(
      type,
      this.nsOf(type, options.namespace ?? config.metadata?.namespace),
      config.metadata?.name,
      config,
      options,
    );
  }

  private applyIn(
    type: ResourceType,
    ns: string,
    name: string,
    body: unknown,
    options: WriteOptions & { force?: boolean },
  ): KubeObject {
    if (!isObject(body)) throw badRequest('the applied configuration must be an object');
    if (!options.fieldManager) {
      throw badRequest('PATCH, application/apply-patch+yaml requests require fieldManager to be set');
    }
    const config = body as KubeObject;
    if (config.apiVersion !== apiVersionOf(type) || config.kind !== type.kind) {
      if (options.subresource !== 'scale') {
        throw badRequest(
          `the apiVersion and kind of the applied configuration must be ${apiVersionOf(type)}, ${type.kind}`,
        );
      }
    }
    if (config.metadata?.name !== undefined && config.metadata.name !== name) {
      throw badRequest(`the name of the object (${config.metadata.name}) does not match the name on the URL (${name})`);
    }
    const live = this.find(type, ns, name);
    const hasStatus = this.hasStatus(type);
    const who = this.identity(type, options);
    const merge = (a: Json, b: Json) => strategicMerge(a, b);
    if (!live) {
      const fresh = serverSideApply(undefined, config as JsonObject, who, {
        force: true,
        hasStatus,
        kind: type.kind,
        name,
        merge,
      }) as KubeObject;
      fresh.metadata = { ...(fresh.metadata ?? {}), name };
      // An apply that creates owns its fields as Apply (not as the Update a create records).
      return this.createIn(type, ns, fresh, { ...options, fieldManager: who.manager }, fresh.metadata.managedFields);
    }
    const want = config.metadata?.resourceVersion;
    if (want && want !== live.metadata.resourceVersion) {
      throw conflict(
        type.resource,
        type.group,
        name,
        'the object has been modified; please apply your changes to the latest version and try again',
      );
    }
    const merged = serverSideApply(live as JsonObject, config as JsonObject, who, {
      force: options.force === true,
      hasStatus,
      kind: type.kind,
      name,
      merge,
    }) as KubeObject;
    const next = copyJson(merged);
    if (options.subresource !== 'status' && hasStatus) {
      if (live.status === undefined) delete next.status;
      else next.status = copyJson(live.status);
    }
    for (const k of [
      'uid',
      'creationTimestamp',
      'generation',
      'deletionTimestamp',
      'deletionGracePeriodSeconds',
      'resourceVersion',
    ]) {
      if (live.metadata[k] === undefined) delete next.metadata[k];
      else next.metadata[k] = live.metadata[k];
    }
    const managed = next.metadata.managedFields;
    // replace() records an Update for the changes; an apply keeps the ownership computed above.
    const admitted = this.replaceKeepingOwners(type, live, next, options, managed);
    return admitted;
  }

  private replaceKeepingOwners(
    type: ResourceType,
    old: KubeObject,
    next: KubeObject,
    options: WriteOptions,
    managed: unknown,
  ): KubeObject {
    for (const admit of this.admissions) admit(type, next, old);
    validate(type, next);
    if (options.subresource !== 'status') checkImmutable(type, old, next);
    if (type.hasSpec && old.metadata.generation !== undefined && specChanged(type, old, next)) {
      next.metadata.generation = (old.metadata.generation as number) + 1;
    }
    if (managed === undefined) delete next.metadata.managedFields;
    else next.metadata.managedFields = managed;
    if (sameContent(old, next)) return old;
    if (options.dryRun) return deepFreeze(next);
    return this.commit(this.table(type), 'MODIFIED', next, old, 'patch');
  }

  // ---------- scale subresource ----------

  scaleOf(gvr: Gvr | ResourceType, obj: KubeObject): KubeObject {
    const type = this.type(gvr);
    if (!type.scale) throw notFound(type.resource, type.group, obj.metadata.name);
    const selector = obj.spec?.selector;
    const selectorText = isObject(selector)
      ? Object.entries((selector.matchLabels ?? {}) as Record<string, string>)
          .map(([k, v]) => `${k}=${v}`)
          .join(',')
      : '';
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: obj.metadata.name,
        namespace: obj.metadata.namespace,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
        creationTimestamp: obj.metadata.creationTimestamp,
      },
      spec: { replicas: obj.spec?.replicas ?? 1 },
      status: { replicas: obj.status?.replicas ?? 0, ...(selectorText ? { selector: selectorText } : {}) },
    };
  }

  updateScale(
    gvr: Gvr | ResourceType,
    namespace: string | undefined,
    name: string,
    scale: KubeObject,
    options: WriteOptions = {},
  ): KubeObject {
    const type = this.type(gvr);
    const old = this.get(type, namespace, name);
    const want = scale.metadata?.resourceVersion;
    if (want && want !== old.metadata.resourceVersion) {
      throw conflict(
        type.resource,
        type.group,
        name,
        'the object has been modified; please apply your changes to the latest version and try again',
      );
    }
    const replicas = scale.spec?.replicas;
    if (typeof replicas !== 'number' || replicas < 0 || !Number.isInteger(replicas)) {
      throw invalid('Scale', 'autoscaling', name, [
        {
          field: 'spec.replicas',
          message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
        },
      ]);
    }
    const next = copyJson(old);
    next.spec = { ...(next.spec ?? {}), replicas };
    const stored = this.replace(type, old, next, { ...options, subresource: 'scale' }, 'update');
    return this.scaleOf(type, stored);
  }

  // ---------- delete and garbage collection ----------

  delete(
    gvr: Gvr | ResourceType,
    namespace: string | undefined,
    name: string,
    options: DeleteOptions = {},
  ): KubeObject {
    const type = this.type(gvr);
    const ns = this.nsOf(type, namespace);
    const obj = this.get(type, ns, name);
    const pre = options.preconditions;
    if (pre?.uid && pre.uid !== obj.metadata.uid) {
      throw conflict(
        type.resource,
        type.group,
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${obj.metadata.uid}`,
      );
    }
    if (pre?.resourceVersion && pre.resourceVersion !== obj.metadata.resourceVersion) {
      throw conflict(
        type.resource,
        type.group,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${obj.metadata.resourceVersion}`,
      );
    }
    if (options.dryRun) return obj;
    const table = this.table(type);
    const policy = options.propagationPolicy ?? 'Background';
    if (type.kind === 'Namespace') return this.deleteNamespace(obj);
    const graceful =
      type.kind === 'Pod' && type.group === ''
        ? podDeletionStep(obj, options.gracePeriodSeconds, this.clock.now())
        : undefined;
    if (graceful?.kind === 'pending') return obj;
    const period = graceful?.kind === 'period' ? graceful : undefined;
    if (policy === 'Orphan') this.orphanDependents(obj.metadata.uid);
    const finalizers: string[] = [...(obj.metadata.finalizers ?? [])];
    const hasDependents = (this.dependents.get(obj.metadata.uid)?.size ?? 0) > 0;
    if (policy === 'Foreground' && hasDependents && !finalizers.includes('foregroundDeletion')) {
      finalizers.push('foregroundDeletion');
    }
    // A graceful period keeps the pod (Terminating) until the kubelet removes it; finalizers keep any object.
    if (finalizers.length > 0 || (period && period.seconds > 0)) {
      const unchanged = finalizers.length === (obj.metadata.finalizers ?? []).length && !period;
      if (obj.metadata.deletionTimestamp && unchanged) return obj;
      // Only metadata changes: the rest of the stored (frozen) object is shared, not copied.
      const next = { ...obj, metadata: { ...obj.metadata } };
      if (finalizers.length > 0) next.metadata.finalizers = finalizers;
      if (period) {
        next.metadata.deletionTimestamp = formatTime(period.deletionTimestamp);
        next.metadata.deletionGracePeriodSeconds = period.seconds;
      } else {
        next.metadata.deletionTimestamp ??= formatTime(this.clock.now());
        next.metadata.deletionGracePeriodSeconds ??= 0;
      }
      const stored = this.commit(table, 'MODIFIED', next, obj, 'delete');
      if (policy === 'Foreground') this.deleteDependents(obj.metadata.uid, 'Foreground');
      return stored;
    }
    return this.remove(table, obj);
  }

  /** Delete every matching object (DELETE on a collection). */
  deleteCollection(
    gvr: Gvr | ResourceType,
    namespace: string | undefined,
    options: ListOptions & DeleteOptions = {},
  ): KubeObject[] {
    const type = this.type(gvr);
    const out: KubeObject[] = [];
    for (const obj of this.list(type, namespace, options)) {
      if (!this.find(type, obj.metadata.namespace, obj.metadata.name)) continue;
      out.push(this.delete(type, obj.metadata.namespace, obj.metadata.name, options));
    }
    return out;
  }

  private deleteNamespace(ns: KubeObject): KubeObject {
    const name = ns.metadata.name as string;
    const table = this.table(this.registry.resolve('v1/namespaces'));
    const terminating = copyJson(ns);
    terminating.metadata.deletionTimestamp ??= formatTime(this.clock.now());
    terminating.status = { ...(terminating.status ?? {}), phase: 'Terminating' };
    const stored = ns.metadata.deletionTimestamp ? ns : this.commit(table, 'MODIFIED', terminating, ns, 'delete');
    for (const t of this.tables.values()) {
      if (!t.type.namespaced) continue;
      for (const obj of [...(t.byNamespace.get(name)?.values() ?? [])]) {
        if (this.find(t.type, name, obj.metadata.name)) this.delete(t.type, name, obj.metadata.name);
      }
    }
    this.finishNamespace(name);
    return stored;
  }

  private finishNamespace(name: string): void {
    const type = this.registry.resolve('v1/namespaces');
    const ns = this.find(type, undefined, name);
    if (!ns?.metadata.deletionTimestamp) return;
    for (const t of this.tables.values()) if (t.type.namespaced && (t.byNamespace.get(name)?.size ?? 0) > 0) return;
    this.remove(this.table(type), ns);
  }

  private orphanDependents(uid: string): void {
    for (const key of [...(this.dependents.get(uid) ?? [])]) {
      const dep = this.lookup(key);
      if (!dep) continue;
      const next = copyJson(dep.obj);
      next.metadata.ownerReferences = (next.metadata.ownerReferences ?? []).filter((r: KubeObject) => r.uid !== uid);
      if (next.metadata.ownerReferences.length === 0) delete next.metadata.ownerReferences;
      this.replace(dep.type, dep.obj, next, { fieldManager: 'garbage-collector' }, 'update');
    }
  }

  private deleteDependents(uid: string, policy: PropagationPolicy): void {
    for (const key of [...(this.dependents.get(uid) ?? [])]) {
      const dep = this.lookup(key);
      if (!dep) continue;
      // A dependent with another owner that still exists stays (as the garbage collector does).
      const otherOwners = (dep.obj.metadata.ownerReferences ?? []).filter((r: KubeObject) => r.uid !== uid);
      if (otherOwners.some((r: KubeObject) => this.uidExists(r.uid))) continue;
      this.delete(dep.type, dep.obj.metadata.namespace, dep.obj.metadata.name, { propagationPolicy: policy });
    }
  }

  private uidExists(uid: string): boolean {
    return this.liveUids.has(uid);
  }

  private readonly liveUids = new Map<string, string>();

  private lookup(key: string): { type: ResourceType; obj: KubeObject } | undefined {
    const [gvr, ns, name] = key.split('\u0000') as [string, string, string];
    const type = this.registry.resolve(gvr);
    const obj = this.find(type, ns, name);
    return obj ? { type, obj } : undefined;
  }

  /** Remove an object for good, emit DELETED, then collect its dependents and unblock foreground owners. */
  private remove(table: Table, obj: KubeObject): KubeObject {
    const next = { ...obj, metadata: { ...obj.metadata } };
    const stored = this.commit(table, 'DELETED', next, obj, 'delete');
    const uid = obj.metadata.uid as string;
    if (obj.metadata.finalizers?.includes('orphan')) this.orphanDependents(uid);
    this.deleteDependents(uid, 'Background');
    for (const ref of obj.metadata.ownerReferences ?? []) this.maybeFinishForeground(ref.uid);
    if (table.type.namespaced) this.finishNamespace(obj.metadata.namespace);
    return stored;
  }

  private maybeFinishForeground(ownerUid: string): void {
    if ((this.dependents.get(ownerUid)?.size ?? 0) > 0) return;
    const key = this.liveUids.get(ownerUid);
    if (!key) return;
    const owner = this.lookup(key);
    if (!owner?.obj.metadata.deletionTimestamp || !owner.obj.metadata.finalizers?.includes('foregroundDeletion'))
      return;
    const next = copyJson(owner.obj);
    next.metadata.finalizers = next.metadata.finalizers.filter((f: string) => f !== 'foregroundDeletion');
    if (next.metadata.finalizers.length === 0) delete next.metadata.finalizers;
    this.replace(owner.type, owner.obj, next, { fieldManager: 'garbage-collector' }, 'update');
  }

  // ---------- commit and watch ----------

  private commit(
    table: Table,
    type: HistoryEntry['type'],
    obj: KubeObject,
    prev: KubeObject | undefined,
    verb: string,
  ): KubeObject {
    this.rv++;
    obj.metadata.resourceVersion = String(this.rv);
    deepFreeze(obj);
    const ns = obj.metadata.namespace ?? '';
    const name = obj.metadata.name as string;
    const key = depKey(table.type, ns, name);
    let objs = table.byNamespace.get(ns);
    if (type === 'DELETED') {
      if (objs?.delete(name)) table.count--;
      this.liveUids.delete(obj.metadata.uid);
    } else {
      if (!objs) {
        objs = new Map();
        table.byNamespace.set(ns, objs);
      }
      if (!objs.has(name)) table.count++;
      objs.set(name, obj);
      this.liveUids.set(obj.metadata.uid, key);
    }
    // Keep the owner → dependents index in step.
    const before = new Set<string>((prev?.metadata.ownerReferences ?? []).map((r: KubeObject) => r.uid));
    const after = new Set<string>(
      type === 'DELETED' ? [] : (obj.metadata.ownerReferences ?? []).map((r: KubeObject) => r.uid),
    );
    for (const uid of before) {
      if (after.has(uid)) continue;
      const deps = this.dependents.get(uid);
      deps?.delete(key);
      if (deps?.size === 0) this.dependents.delete(uid);
    }
    for (const uid of after) {
      let deps = this.dependents.get(uid);
      if (!deps) {
        deps = new Set();
        this.dependents.set(uid, deps);
      }
      deps.add(key);
    }
    const entry: HistoryEntry = { rv: this.rv, type, object: obj, prev };
    table.history.push(entry);
    if (table.history.length - table.historyHead > this.historyLimit) {
      // Move the head rather than splice: shifting a 20 000-entry array on every write was O(limit) per write.
      const drop = table.history.length - table.historyHead - this.historyLimit;
      table.historyStart = table.history[table.historyHead + drop - 1]!.rv;
      for (let i = 0; i < drop; i++) table.history[table.historyHead++] = undefined;
      if (table.historyHead >= Math.max(1024, this.historyLimit)) {
        table.history = table.history.slice(table.historyHead);
        table.historyHead = 0;
      }
    }
    this.onWrite?.(verb, table.type);
    this.queue.push({ table, entry });
    this.drain();
    return obj;
  }

  private drain(): void {
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      while (this.queue.length > 0) {
        const { table, entry } = this.queue.shift()!;
        for (const w of table.watchers) this.deliver(w, entry);
      }
    } finally {
      this.dispatching = false;
    }
  }

  private deliver(w: Watcher, entry: HistoryEntry): void {
    const obj = entry.object;
    if (w.namespace !== undefined && obj.metadata.namespace !== w.namespace) return;
    const now = w.labels(obj.metadata.labels) && w.fields(obj);
    const before =
      entry.type === 'MODIFIED' && entry.prev ? w.labels(entry.prev.metadata.labels) && w.fields(entry.prev) : now;
    let type: WatchEventType | undefined = entry.type;
    if (entry.type === 'MODIFIED') {
      if (now && !before) type = 'ADDED';
      else if (!now && before) type = 'DELETED';
      else if (!now) type = undefined;
    } else if (!now) type = undefined;
    if (!type) return;
    try {
      w.onEvent({ type, object: obj });
    } catch (error) {
      // One faulty watcher must not break the store or the other watchers.
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  /**
   * Watch a resource. Without a resourceVersion (or with '0') the current objects arrive first as ADDED;
   * with one, every event after it is replayed, or 410 Gone (ApiError) is thrown when it is too old.
   * Returns the function that stops the watch.
   */
  watch(
    gvr: Gvr | ResourceType,
    namespace: string | undefined,
    fromResourceVersion: string | undefined,
    onEvent: (e: WatchEvent) => void,
    options: { labelSelector?: string; fieldSelector?: string } = {},
  ): () => void {
    const type = this.type(gvr);
    const table = this.table(type);
    const watcher: Watcher = {
      namespace: type.namespaced ? namespace || undefined : undefined,
      labels: parseLabelSelector(options.labelSelector),
      fields: parseFieldSelector(options.fieldSelector, type.kind),
      onEvent,
    };
    const replay: HistoryEntry[] = [];
    if (fromResourceVersion === undefined || fromResourceVersion === '' || fromResourceVersion === '0') {
      for (const obj of this.list(type, watcher.namespace))
        replay.push({ rv: 0, type: 'ADDED', object: obj, prev: undefined });
    } else {
      const from = Number(fromResourceVersion);
      if (!Number.isInteger(from) || from < 0) throw badRequest(`invalid resource version: ${fromResourceVersion}`);
      if (from < table.historyStart) throw gone(`too old resource version: ${from} (${table.historyStart})`);
      // Binary search for the first entry after `from` (the history is in resourceVersion order).
      let lo = table.historyHead;
      let hi = table.history.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (table.history[mid]!.rv > from) hi = mid;
        else lo = mid + 1;
      }
      for (let i = lo; i < table.history.length; i++) replay.push(table.history[i]!);
    }
    // Replay under the dispatch lock so that writes made by the callback are delivered after the replay.
    const wasDispatching = this.dispatching;
    this.dispatching = true;
    try {
      for (const e of replay) this.deliver(watcher, e);
    } finally {
      this.dispatching = wasDispatching;
    }
    table.watchers.add(watcher);
    this.drain();
    return () => {
      table.watchers.delete(watcher);
    };
  }

  /** Forget watch history older than now, as etcd compaction does: older resume points get 410 Gone. */
  compact(): void {
    for (const t of this.tables.values()) {
      t.history = [];
      t.historyHead = 0;
      t.historyStart = this.rv;
    }
  }

  /** Number of open watches (all resources). */
  get watchCount(): number {
    let n = 0;
    for (const t of this.tables.values()) n += t.watchers.size;
    return n;
  }

  /** Drop every watch of a resource (or of all resources): for server-dropped watch faults. */
  dropWatches(gvr?: Gvr | ResourceType): void {
    for (const t of this.tables.values()) if (!gvr || t.type === this.type(gvr)) t.watchers.clear();
  }

  private requireNamespace(ns: string): void {
    const nsType = this.registry.resolve('v1/namespaces');
    const found = this.find(nsType, undefined, ns);
    if (!found) throw notFound('namespaces', '', ns);
    if (found.metadata.deletionTimestamp) {
      throw new ApiError(
        403,
        'Forbidden',
        `unable to create new content in namespace ${ns} because it is being terminated`,
      );
    }
  }

  private hasStatus(type: ResourceType): boolean {
    return type.subresources.includes('status');
  }

  private identity(type: ResourceType, options: WriteOptions) {
    return {
      manager: options.fieldManager || 'kube-sim',
      apiVersion: apiVersionOf(type),
      time: formatTime(this.clock.now()),
      subresource: options.subresource,
    };
  }

  /** Read-modify-write with retries on conflict: `fn` edits a mutable copy. */
  modify(
    gvr: Gvr | ResourceType,
    namespace: string | undefined,
    name: string,
    fn: (draft: KubeObject) => void,
    options: WriteOptions = {},
  ): KubeObject {
    const type = this.type(gvr);
    for (let attempt = 0; ; attempt++) {
      const draft = copyJson(this.get(type, namespace, name));
      fn(draft);
      try {
        return this.updateIn(type, namespace, draft, options, true);
      } catch (error) {
        if (!(error instanceof ApiError && error.code === 409) || attempt >= 5) throw error;
      }
    }
  }
}
