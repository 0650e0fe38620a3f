/**
 * Field ownership (metadata.managedFields, FieldsV1) and server-side apply.
 *
 * A field set is a Set of paths; a path is FieldsV1 segments joined by '\n': `f:spec\nf:replicas`,
 * `f:spec\nf:template\nf:spec\nf:containers\nk:{"name":"web"}\nf:image`. Maps are tracked key by key,
 * lists with a merge key element by element, `finalizers` value by value, other lists as one field.
 */
import { ApiError } from './errors';
import { copyJson, deepFreeze } from './frozen';
import { isObject, isSetList, type Json, type JsonObject, mergeKeyOf } from './patch';

export type FieldSet = Set<string>;

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: JsonObject;
  subresource?: string;
}

const SKIP_TOP = new Set(['apiVersion', 'kind']);
const SKIP_METADATA = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'managedFields',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'selfLink',
]);

/** Which part of an object a write may own: everything but status, or only status (the /status subresource). */
export type Scope = 'main' | 'status' | 'all';

export function collectFields(obj: JsonObject, scope: Scope): FieldSet {
  const out: FieldSet = new Set();
  for (const [k, v] of Object.entries(obj)) {
    if (SKIP_TOP.has(k)) continue;
    if (scope === 'main' && k === 'status') continue;
    if (scope === 'status' && k !== 'status') continue;
    if (k === 'metadata' && isObject(v)) {
      for (const [mk, mv] of Object.entries(v)) {
        if (!SKIP_METADATA.has(mk)) walk(mv, `f:metadata\nf:${mk}`, mk, out);
      }
      continue;
    }
    walk(v, `f:${k}`, k, out);
  }
  return out;
}

function walk(v: Json, path: string, field: string, out: FieldSet): void {
  if (isObject(v)) {
    const keys = Object.keys(v);
    if (keys.length === 0) out.add(path);
    for (const k of keys) walk(v[k]!, `${path}\nf:${k}`, k, out);
    return;
  }
  if (Array.isArray(v)) {
    if (isSetList(field) && v.every((x) => !isObject(x))) {
      for (const x of v) out.add(`${path}\nv:${JSON.stringify(x)}`);
      return;
    }
    const key = mergeKeyOf(field, v);
    if (key && v.length > 0 && v.every((x) => isObject(x) && x[key] !== undefined)) {
      for (const item of v as JsonObject[]) {
        const elem = `${path}\nk:${JSON.stringify({ [key]: item[key] })}`;
        out.add(elem);
        for (const [k, x] of Object.entries(item)) walk(x, `${elem}\nf:${k}`, k, out);
      }
      return;
    }
  }
  out.add(path);
}

/** Leaf paths of a value (as `walk`, into an array). */
function leaves(v: Json, path: string, field: string, out: string[]): void {
  const set: FieldSet = new Set();
  walk(v, path, field, set);
  for (const p of set) out.push(p);
}

function keyedBy(field: string, a: Json[], b: Json[]): string | undefined {
  const key = mergeKeyOf(field, a, b);
  if (!key) return undefined;
  const keyed = (l: Json[]) => l.every((x) => isObject(x) && x[key] !== undefined);
  return (a.length > 0 || b.length > 0) && keyed(a) && keyed(b) ? key : undefined;
}

/** The leaf paths that differ between two values: set or changed in `b` (changed), gone from `a` (removed). */
function diff(
  a: Json | undefined,
  b: Json | undefined,
  path: string,
  field: string,
  changed: string[],
  removed: string[],
): void {
  if (a === b) return;
  if (a === undefined) {
    leaves(b!, path, field, changed);
    return;
  }
  if (b === undefined) {
    leaves(a, path, field, removed);
    return;
  }
  if (isObject(a) && isObject(b)) {
    const bk = Object.keys(b);
    const ak = Object.keys(a);
    if (bk.length === 0 || ak.length === 0) {
      if (bk.length !== ak.length) {
        leaves(a, path, field, removed);
        leaves(b, path, field, changed);
      }
      return;
    }
    // Equal values (most of an object on a write: shared frozen parts, unchanged scalars) are skipped before
    // their path is built: building it for every key visited was most of this walk's allocation.
    for (const k of bk) if (a[k] !== b[k]) diff(a[k], b[k], `${path}\nf:${k}`, k, changed, removed);
    for (const k of ak) if (!(k in b)) leaves(a[k]!, `${path}\nf:${k}`, k, removed);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (isSetList(field) && [...a, ...b].every((x) => !isObject(x))) {
      const as = new Set(a.map((x) => JSON.stringify(x)));
      const bs = new Set(b.map((x) => JSON.stringify(x)));
      for (const x of bs) if (!as.has(x)) changed.push(`${path}\nv:${x}`);
      for (const x of as) if (!bs.has(x)) removed.push(`${path}\nv:${x}`);
      return;
    }
    const key = keyedBy(field, a, b);
    if (key) {
      const byKey = new Map((a as JsonObject[]).map((x) => [JSON.stringify(x[key]), x]));
      const seen = new Set<string>();
      for (const item of b as JsonObject[]) {
        const id = JSON.stringify(item[key]);
        seen.add(id);
        const elem = `${path}\nk:${JSON.stringify({ [key]: item[key] })}`;
        const old = byKey.get(id);
        if (!old) {
          changed.push(elem);
          for (const [k, x] of Object.entries(item)) leaves(x, `${elem}\nf:${k}`, k, changed);
        } else {
          for (const k of Object.keys(item)) {
            if (old[k] !== item[k]) diff(old[k], item[k], `${elem}\nf:${k}`, k, changed, removed);
          }
          for (const k of Object.keys(old)) if (!(k in item)) leaves(old[k]!, `${elem}\nf:${k}`, k, removed);
        }
      }
      for (const [id, old] of byKey) {
        if (seen.has(id)) continue;
        const elem = `${path}\nk:${JSON.stringify({ [key]: old[key] })}`;
        removed.push(elem);
        for (const [k, x] of Object.entries(old)) leaves(x, `${elem}\nf:${k}`, k, removed);
      }
      return;
    }
    if (JSON.stringify(a) !== JSON.stringify(b)) {
      if (a.length === 0 || b.length === 0) {
        leaves(a, path, field, removed);
        leaves(b, path, field, changed);
      } else changed.push(path);
    }
    return;
  }
  // A leaf, or a change of shape (map <-> list <-> scalar).
  if (isObject(a) || Array.isArray(a) || isObject(b) || Array.isArray(b)) {
    leaves(a, path, field, removed);
    leaves(b, path, field, changed);
  } else changed.push(path);
}

/** diff() over the owned part of two whole objects. */
function diffObjects(prev: JsonObject, next: JsonObject, scope: Scope, changed: string[], removed: string[]): void {
  const keys = new Set([...Object.keys(prev), ...Object.keys(next)]);
  for (const k of keys) {
    if (SKIP_TOP.has(k)) continue;
    if (scope === 'main' && k === 'status') continue;
    if (scope === 'status' && k !== 'status') continue;
    if (k === 'metadata') {
      const pm = isObject(prev.metadata) ? prev.metadata : {};
      const nm = isObject(next.metadata) ? next.metadata : {};
      for (const mk of new Set([...Object.keys(pm), ...Object.keys(nm)])) {
        if (!SKIP_METADATA.has(mk) && pm[mk] !== nm[mk])
          diff(pm[mk], nm[mk], `f:metadata\nf:${mk}`, mk, changed, removed);
      }
      continue;
    }
    if (prev[k] !== next[k]) diff(prev[k], next[k], `f:${k}`, k, changed, removed);
  }
}

// ---------- FieldsV1 <-> FieldSet ----------

export function toFieldsV1(set: FieldSet): JsonObject {
  const root: JsonObject = {};
  const owned: JsonObject[] = [];
  for (const path of set) {
    let node = root;
    for (const seg of path.split('\n')) {
      let child = node[seg] as JsonObject | undefined;
      if (!child) {
        child = {};
        node[seg] = child;
      }
      node = child;
    }
    owned.push(node);
  }
  // A node that is itself owned and also has owned children gets a '.' marker.
  for (const node of owned) if (Object.keys(node).length > 0 && !('.' in node)) node['.'] = {};
  return root;
}

export function fromFieldsV1(fields: JsonObject | undefined): FieldSet {
  const out: FieldSet = new Set();
  const visit = (node: JsonObject, prefix: string) => {
    const keys = Object.keys(node);
    if (keys.length === 0 && prefix) out.add(prefix);
    for (const k of keys) {
      if (k === '.') {
        out.add(prefix);
        continue;
      }
      const child = node[k];
      visit(isObject(child) ? child : {}, prefix ? `${prefix}\n${k}` : k);
    }
  };
  if (fields) visit(fields, '');
  return out;
}

// ---------- reading and removing a path ----------

function step(cur: Json | undefined, seg: string): Json | undefined {
  if (seg.startsWith('f:')) return isObject(cur) ? cur[seg.slice(2)] : undefined;
  if (!Array.isArray(cur)) return undefined;
  if (seg.startsWith('k:')) {
    const want = JSON.parse(seg.slice(2)) as JsonObject;
    return cur.find((x) => isObject(x) && Object.entries(want).every(([k, v]) => x[k] === v));
  }
  if (seg.startsWith('v:')) {
    const text = seg.slice(2);
    return cur.find((x) => JSON.stringify(x) === text);
  }
  return undefined;
}

export function valueAt(obj: Json, path: string): Json | undefined {
  let cur: Json | undefined = obj;
  for (const seg of path.split('\n')) {
    cur = step(cur, seg);
    if (cur === undefined) return undefined;
  }
  return cur;
}

export function removePath(obj: Json, path: string): void {
  const segs = path.split('\n');
  const chain: Json[] = [obj];
  for (const seg of segs.slice(0, -1)) {
    const next = step(chain[chain.length - 1], seg);
    if (next === undefined) return;
    chain.push(next);
  }
  const cur = chain[chain.length - 1];
  const last = segs[segs.length - 1]!;
  if (last.startsWith('f:') && isObject(cur)) delete cur[last.slice(2)];
  else if (Array.isArray(cur)) {
    const found = step(cur, last);
    const i = found === undefined ? -1 : cur.indexOf(found);
    if (i >= 0) cur.splice(i, 1);
    // A list emptied by the removal goes too, as the real server leaves no empty owned list behind.
    const parent = chain[chain.length - 2];
    const field = segs[segs.length - 2];
    if (cur.length === 0 && isObject(parent) && field?.startsWith('f:')) delete parent[field.slice(2)];
  }
}

// ---------- bookkeeping ----------

function entryKey(e: { manager: string; operation: string; subresource?: string | undefined }): string {
  return `${e.manager}\u0000${e.operation}\u0000${e.subresource ?? ''}`;
}

interface Owned {
  entry: ManagedFieldsEntry;
  set: FieldSet;
  /** The set changed: the entry needs a new FieldsV1. */
  dirty?: boolean;
  /** `set` is a private copy (not the parse cache's), so it may be changed. */
  own?: boolean;
}

/** Make an owner's set private before changing it (copy on write), and mark it changed. */
function editable(o: Owned): FieldSet {
  if (!o.own) {
    o.set = new Set(o.set);
    o.own = true;
  }
  o.dirty = true;
  return o.set;
}

/**
 * A cache of at most `limit` recently used keys, in two generations of half as many: a hit in the old one
 * moves to the new one, and a full new generation replaces the old. Unlike a Map kept in LRU order (delete
 * and re-insert on every hit, evict with keys().next()), nothing walks over deleted entries.
 */
function recentCache<K, V>(limit: number) {
  let young = new Map<K, V>();
  let old = new Map<K, V>();
  return {
    get(key: K): V | undefined {
      let v = young.get(key);
      if (v === undefined) {
        v = old.get(key);
        if (v !== undefined) this.set(key, v);
      }
      return v;
    },
    set(key: K, v: V): void {
      if (young.size >= limit / 2) {
        old = young;
        young = new Map();
      }
      young.set(key, v);
    },
  };
}

/**
 * Parsed FieldsV1 by identity (stored entries are frozen, so a parse stays valid). Bounded: the next write
 * of an object reads the current version's entries, so only recent ones are worth keeping.
 */
const PARSED_LIMIT = 4096;
const parsed = recentCache<object, FieldSet>(PARSED_LIMIT);

/** The owners of a stored object; their sets are the parse cache's until `editable` copies them. */
function readOwners(obj: JsonObject): Owned[] {
  const list = (obj.metadata as JsonObject | undefined)?.managedFields;
  if (!Array.isArray(list)) return [];
  return (list as unknown as ManagedFieldsEntry[]).map((entry) => {
    let set = parsed.get(entry.fieldsV1);
    if (!set) {
      set = fromFieldsV1(entry.fieldsV1);
      if (Object.isFrozen(entry.fieldsV1)) parsed.set(entry.fieldsV1, set);
    }
    return { entry, set };
  });
}

/**
 * One frozen FieldsV1 per distinct field set, shared by every object that has it: the pods of a ReplicaSet,
 * every Event and each status write of the same shape own the same fields, and building a FieldsV1 tree
 * per write was the largest retained allocation in the 2 000-pod bench (62 of 193 MB live). Bounded, oldest
 * out; objects keep their trees alive after eviction.
 */
const INTERNED_LIMIT = 4096;
const interned = recentCache<string, JsonObject>(INTERNED_LIMIT);

function internedFieldsV1(set: FieldSet): JsonObject {
  const id = [...set].join('\u0000');
  let fields = interned.get(id);
  // A shape in use stays (a hit keeps it in the recent generation).
  if (fields) return fields;
  fields = deepFreeze(toFieldsV1(set));
  interned.set(id, fields);
  parsed.set(fields, new Set(set));
  return fields;
}

function writeOwners(obj: JsonObject, owners: Owned[]): void {
  if (!isObject(obj.metadata)) obj.metadata = {};
  const meta = obj.metadata as JsonObject;
  const entries = owners
    .filter((o) => o.set.size > 0)
    .map((o) => {
      if (o.dirty === false) return o.entry as unknown as Json;
      return { ...o.entry, fieldsV1: internedFieldsV1(o.set) } as unknown as Json;
    });
  if (entries.length > 0) meta.managedFields = entries;
  else delete meta.managedFields;
}

export interface WriteIdentity {
  manager: string;
  apiVersion: string;
  time: string;
  subresource?: string | undefined;
}

function scopeOf(subresource: string | undefined, hasStatus: boolean): Scope {
  if (subresource === 'status') return 'status';
  return hasStatus ? 'main' : 'all';
}

/**
 * Record an Update (create, PUT, PATCH) by `who`: the fields it set or changed move to it;
 * fields that disappeared are forgotten by every manager. `next` is modified in place.
 */
export function recordUpdate(
  prev: JsonObject | undefined,
  next: JsonObject,
  who: WriteIdentity,
  hasStatus: boolean,
): boolean {
  const scope = scopeOf(who.subresource, hasStatus);
  const changed: string[] = [];
  const removed: string[] = [];
  if (prev) diffObjects(prev, next, scope, changed, removed);
  else for (const p of collectFields(next, scope)) changed.push(p);
  const meta = (isObject(next.metadata) ? next.metadata : {}) as JsonObject;
  const prevOwners = (prev?.metadata as JsonObject | undefined)?.managedFields;
  if (changed.length === 0 && removed.length === 0) {
    if (prevOwners === undefined) delete meta.managedFields;
    else meta.managedFields = prevOwners;
    return false;
  }
  const owners = prev ? readOwners(prev) : [];
  const key = entryKey({ manager: who.manager, operation: 'Update', subresource: who.subresource });
  let mine = changed.length > 0 ? owners.find((o) => entryKey(o.entry) === key) : undefined;
  for (const o of owners) {
    o.dirty = false;
    for (const p of removed) if (o.set.has(p)) editable(o).delete(p);
    // Changed fields move to this manager; the ones it owns already stay where they are (a status writer
    // re-writing its own fields keeps its FieldsV1 as it was).
    if (o !== mine) for (const p of changed) if (o.set.has(p)) editable(o).delete(p);
  }
  if (changed.length > 0) {
    if (!mine) {
      mine = {
        entry: {
          manager: who.manager,
          operation: 'Update',
          apiVersion: who.apiVersion,
          time: who.time,
          fieldsType: 'FieldsV1',
          fieldsV1: {},
          ...(who.subresource ? { subresource: who.subresource } : {}),
        },
        set: new Set(),
        own: true,
        dirty: true,
      };
      owners.push(mine);
    }
    mine.entry = { ...mine.entry, time: who.time, apiVersion: who.apiVersion };
    for (const p of changed) if (!mine.set.has(p)) editable(mine).add(p);
  }
  writeOwners(next, owners);
  return true;
}

function conflictError(conflicts: { manager: string; path: string }[], kind: string, name: string): ApiError {
  const lines = conflicts.map((c) => `conflict with "${c.manager}": ${readablePath(c.path)}`);
  const message =
    conflicts.length === 1
      ? `Apply failed with 1 conflict: ${lines[0]}`
      : `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  return new ApiError(409, 'Conflict', message, {
    name,
    kind,
    causes: conflicts.map((c) => ({
      reason: 'FieldManagerConflict',
      message: `conflict with "${c.manager}"`,
      field: readablePath(c.path),
    })),
  });
}

/** `.spec.template.spec.containers[name="web"].image`, as the real conflict messages print paths. */
function readablePath(path: string): string {
  return path
    .split('\n')
    .map((seg) => {
      if (seg.startsWith('f:')) return `.${seg.slice(2)}`;
      if (seg.startsWith('k:')) {
        const o = JSON.parse(seg.slice(2)) as Record<string, unknown>;
        return `[${Object.entries(o)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(',')}]`;
      }
      return `[${seg.slice(2)}]`;
    })
    .join('');
}

/**
 * Server-side apply of `config` onto `live` (undefined when creating). Returns the new object with its
 * managedFields updated; throws 409 Conflict when another manager owns a field the config changes,
 * unless `force`.
 */
export function serverSideApply(
  live: JsonObject | undefined,
  config: JsonObject,
  who: WriteIdentity,
  options: { force: boolean; hasStatus: boolean; kind: string; name: string; merge: (a: Json, b: Json) => Json },
): JsonObject {
  const scope = scopeOf(who.subresource, options.hasStatus);
  const applied = collectFields(config, scope);
  const owners = live ? readOwners(live) : [];
  const key = entryKey({ manager: who.manager, operation: 'Apply', subresource: who.subresource });
  const mine = owners.find((o) => entryKey(o.entry) === key);
  const others = owners.filter((o) => o !== mine);

  const conflicts: { manager: string; path: string; owner: Owned }[] = [];
  if (live) {
    for (const p of applied) {
      const want = JSON.stringify(valueAt(config, p));
      const have = valueAt(live, p);
      if (have === undefined || JSON.stringify(have) === want) continue;
      // A list element marker conflicts only through its fields.
      if (p.split('\n').pop()!.startsWith('k:')) continue;
      for (const o of others) {
        if (o.set.has(p) && o.entry.manager !== who.manager) {
          conflicts.push({ manager: o.entry.manager, path: p, owner: o });
        }
      }
    }
  }
  if (conflicts.length > 0 && !options.force) throw conflictError(conflicts, options.kind, options.name);
  for (const c of conflicts) editable(c.owner).delete(c.path);

  // Fields this manager applied before and no longer applies are removed, unless someone else owns them.
  const result = copyJson(live ?? {}) as JsonObject;
  if (mine) {
    const dropped = [...mine.set].filter((p) => !applied.has(p) && !others.some((o) => o.set.has(p)));
    // Shallowest first: a removed list element takes its fields with it.
    dropped.sort((a, b) => a.length - b.length);
    for (const p of dropped) removePath(result, p);
  }
  const merged = options.merge(result, stripForMerge(config, scope)) as JsonObject;
  const entry: ManagedFieldsEntry = {
    manager: who.manager,
    operation: 'Apply',
    apiVersion: who.apiVersion,
    time: who.time,
    fieldsType: 'FieldsV1',
    fieldsV1: {},
    ...(who.subresource ? { subresource: who.subresource } : {}),
  };
  const next: Owned[] = [...others, { entry, set: applied }];
  // Keep the previous entry order stable: this manager's entry stays where it was.
  if (mine) next.splice(owners.indexOf(mine), 0, next.pop()!);
  writeOwners(merged, next);
  return merged;
}

/** The part of an applied configuration that may change the object in this scope. */
function stripForMerge(config: JsonObject, scope: Scope): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(config)) {
    if (scope === 'main' && k === 'status') continue;
    if (scope === 'status' && k !== 'status' && k !== 'metadata' && k !== 'apiVersion' && k !== 'kind') continue;
    if (k === 'metadata' && isObject(v)) {
      const meta: JsonObject = {};
      for (const [mk, mv] of Object.entries(v))
        if (!SKIP_METADATA.has(mk) || mk === 'name' || mk === 'namespace') meta[mk] = mv;
      out[k] = meta;
    } else out[k] = v;
  }
  return out;
}
