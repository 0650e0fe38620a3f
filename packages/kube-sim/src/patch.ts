/**
 * The three classic patch types: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and Kubernetes'
 * strategic merge patch, where lists of containers, env, ports, volumes... merge by their key.
 */
import { ApiError, badRequest } from './errors';
import { copyJson } from './frozen';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---------- JSON merge patch ----------

export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

// ---------- JSON patch ----------

function unescapePointer(seg: string): string {
  return seg.replace(/~1/g, '/').replace(/~0/g, '~');
}

function parsePointer(pointer: unknown): string[] {
  if (typeof pointer !== 'string') throw badRequest('json patch: path must be a string');
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw badRequest(`json patch: invalid path "${pointer}"`);
  return pointer.slice(1).split('/').map(unescapePointer);
}

function patchFailed(message: string): ApiError {
  return new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: ${message}`);
}

function getAt(doc: Json, path: string[]): Json | undefined {
  let cur: Json | undefined = doc;
  for (const seg of path) {
    if (Array.isArray(cur)) cur = cur[Number(seg)];
    else if (isObject(cur)) cur = cur[seg];
    else return undefined;
  }
  return cur;
}

function parentOf(doc: Json, path: string[], pointer: string): { parent: Json; key: string } {
  if (path.length === 0) throw patchFailed(`cannot operate on the root with "${pointer}"`);
  const parent = getAt(doc, path.slice(0, -1));
  if (parent === undefined || parent === null || typeof parent !== 'object') {
    throw patchFailed(`doc is missing path: "${pointer}": missing value`);
  }
  return { parent, key: path[path.length - 1]! };
}

function arrayIndex(arr: Json[], key: string, pointer: string, forInsert: boolean): number {
  if (forInsert && key === '-') return arr.length;
  const i = Number(key);
  const max = forInsert ? arr.length : arr.length - 1;
  if (!/^\d+$/.test(key) || i > max) throw patchFailed(`unable to access invalid index: ${key} in "${pointer}"`);
  return i;
}

function addAt(doc: Json, path: string[], value: Json, pointer: string): Json {
  if (path.length === 0) return value;
  const { parent, key } = parentOf(doc, path, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, pointer, true), 0, value);
  else (parent as JsonObject)[key] = value;
  return doc;
}

function removeAt(doc: Json, path: string[], pointer: string): Json {
  const { parent, key } = parentOf(doc, path, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, pointer, false), 1);
  else {
    if (!(key in (parent as JsonObject))) throw patchFailed(`unable to remove nonexistent key: ${key}: missing value`);
    delete (parent as JsonObject)[key];
  }
  return doc;
}

export function jsonPatch(target: Json, ops: unknown): Json {
  if (!Array.isArray(ops)) throw badRequest('json patch must be a JSON array of operations');
  let doc: Json = copyJson(target);
  for (const op of ops) {
    if (!isObject(op) || typeof op.op !== 'string') throw badRequest('json patch: every operation needs an "op"');
    const path = parsePointer(op.path);
    const pointer = op.path as string;
    switch (op.op) {
      case 'add':
        doc = addAt(doc, path, copyJson(op.value as Json), pointer);
        break;
      case 'remove':
        doc = removeAt(doc, path, pointer);
        break;
      case 'replace': {
        if (getAt(doc, path) === undefined)
          throw patchFailed(`replace operation does not apply: doc is missing key: ${pointer}`);
        if (path.length === 0) doc = copyJson(op.value as Json);
        else {
          const { parent, key } = parentOf(doc, path, pointer);
          if (Array.isArray(parent)) parent[arrayIndex(parent, key, pointer, false)] = copyJson(op.value as Json);
          else (parent as JsonObject)[key] = copyJson(op.value as Json);
        }
        break;
      }
      case 'move':
      case 'copy': {
        const from = parsePointer(op.from);
        const value = getAt(doc, from);
        if (value === undefined)
          throw patchFailed(`${op.op} operation does not apply: doc is missing from path: ${op.from}`);
        if (op.op === 'move') doc = removeAt(doc, from, op.from as string);
        doc = addAt(doc, path, copyJson(value), pointer);
        break;
      }
      case 'test': {
        const value = getAt(doc, path);
        if (JSON.stringify(value) !== JSON.stringify(op.value)) {
          throw patchFailed(`testing value ${pointer} failed: test failed`);
        }
        break;
      }
      default:
        throw badRequest(`json patch: unknown operation "${op.op}"`);
    }
  }
  return doc;
}

// ---------- strategic merge patch ----------

/** Lists that merge element-wise by a key field (patchMergeKey in the Kubernetes API types). */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  imagePullSecrets: 'name',
  conditions: 'type',
  ownerReferences: 'uid',
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
  resourceClaims: 'name',
  schedulingGates: 'name',
  ports: 'port',
};

/** Primitive lists that merge as sets (patchStrategy: merge). */
const SET_LISTS = new Set(['finalizers']);

/** Fields whose contents are free-form maps: never treat their entries as API fields. */
const OPAQUE = new Set(['labels', 'annotations', 'data', 'binaryData', 'stringData', 'matchLabels', 'selector']);

/** The merge key of a list field, or undefined when the list is atomic. */
export function mergeKeyOf(field: string, items: Json[] | undefined, other?: Json[] | undefined): string | undefined {
  const key = MERGE_KEYS[field];
  if (field === 'ports') {
    // Container ports merge by containerPort, Service ports by port.
    const sample = [...(items ?? []), ...(other ?? [])].find(isObject);
    if (sample && 'containerPort' in sample) return 'containerPort';
  }
  return key;
}

export function isSetList(field: string): boolean {
  return SET_LISTS.has(field);
}

function sameKey(a: Json, b: Json, key: string): boolean {
  return isObject(a) && isObject(b) && a[key] === b[key];
}

/** Drop `$patch`, `$retainKeys`, ... directives from a value that is added as a whole. */
function stripDirectives(v: Json): Json {
  if (Array.isArray(v))
    return v
      .filter((x) => !(isObject(x) && x.$patch !== undefined && Object.keys(x).length === 1))
      .map(stripDirectives);
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) if (!k.startsWith('$')) out[k] = stripDirectives(x);
  return out;
}

function mergeList(field: string, original: Json[] | undefined, patch: Json[]): Json[] {
  const orig = original ?? [];
  if (patch.some((x) => isObject(x) && x.$patch === 'replace')) {
    return stripDirectives(patch.filter((x) => !(isObject(x) && x.$patch === 'replace'))) as Json[];
  }
  if (isSetList(field)) {
    const out = [...orig];
    for (const v of patch) if (!out.some((o) => JSON.stringify(o) === JSON.stringify(v))) out.push(v);
    return out;
  }
  const key = mergeKeyOf(field, patch, orig);
  if (!key || !patch.every(isObject)) return stripDirectives(patch) as Json[];
  const out = [...orig];
  for (const item of patch) {
    const idx = out.findIndex((o) => sameKey(o, item, key));
    if (isObject(item) && item.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) out[idx] = strategicMerge(out[idx], item);
    else out.push(stripDirectives(item));
  }
  return out;
}

function reorder(list: Json[], order: Json[], field: string): Json[] {
  const key = mergeKeyOf(field, list);
  const matches = (item: Json, o: Json) =>
    key && isObject(o) ? sameKey(item, o, key) : JSON.stringify(item) === JSON.stringify(o);
  const ordered: Json[] = [];
  for (const o of order) {
    const found = list.find((item) => matches(item, o));
    if (found !== undefined && !ordered.includes(found)) ordered.push(found);
  }
  for (const item of list) if (!ordered.includes(item)) ordered.push(item);
  return ordered;
}

/**
 * Apply a strategic merge patch. Maps merge recursively; lists with a merge key merge element by element;
 * `$patch: replace | delete`, `$retainKeys`, `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>`
 * directives are honoured.
 */
export function strategicMerge(original: Json | undefined, patch: Json, field = ''): Json {
  if (!isObject(patch)) return patch;
  if (patch.$patch === 'replace') return stripDirectives(patch);
  if (patch.$patch === 'delete') return {};
  const out: JsonObject = isObject(original) ? { ...original } : {};
  const opaque = OPAQUE.has(field);
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set(patch.$retainKeys as string[]);
    for (const k of Object.keys(out)) if (!keep.has(k) && !(k in patch)) delete out[k];
  }
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$') && !opaque) continue;
    if (v === null) {
      delete out[k];
    } else if (Array.isArray(v) && !opaque) {
      out[k] = mergeList(k, Array.isArray(out[k]) ? (out[k] as Json[]) : undefined, v);
    } else if (isObject(v)) {
      if (v.$patch === 'delete') delete out[k];
      else out[k] = opaque ? mergePatch(out[k], v) : strategicMerge(out[k], v, k);
    } else {
      out[k] = v;
    }
  }
  if (!opaque) {
    for (const [k, v] of Object.entries(patch)) {
      if (k.startsWith('$deleteFromPrimitiveList/') && Array.isArray(v)) {
        const f = k.slice('$deleteFromPrimitiveList/'.length);
        const list = out[f];
        if (Array.isArray(list)) out[f] = list.filter((x) => !v.some((d) => JSON.stringify(d) === JSON.stringify(x)));
      } else if (k.startsWith('$setElementOrder/') && Array.isArray(v)) {
        const f = k.slice('$setElementOrder/'.length);
        const list = out[f];
        if (Array.isArray(list)) out[f] = reorder(list, v, f);
      }
    }
  }
  return out;
}
