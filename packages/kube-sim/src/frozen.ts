/**
 * Frozen snapshots: the store hands out deep-frozen objects, and copies objects it is given. The copies are
 * plain JavaScript walks rather than structuredClone, which re-encodes every string: a walk shares the
 * (immutable) strings with the source, so versions of an object kept in the watch history cost their
 * structure only, and a copy is several times faster.
 */

export function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as object)) deepFreeze(v);
  }
  return o;
}

/** A deep, fully mutable copy of JSON-like data (plain objects, arrays, scalars). */
export function copyJson<T>(v: T): T {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(copyJson) as T;
  if (Object.getPrototypeOf(v) !== Object.prototype && Object.getPrototypeOf(v) !== null) return structuredClone(v);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) out[k] = copyJson((v as Record<string, unknown>)[k]);
  return out as T;
}

/** Like copyJson, but frozen parts (already-stored snapshots) are shared rather than copied. */
export function copySharingFrozen<T>(v: T): T {
  if (v === null || typeof v !== 'object' || Object.isFrozen(v)) return v;
  if (Array.isArray(v)) return v.map(copySharingFrozen) as T;
  if (Object.getPrototypeOf(v) !== Object.prototype && Object.getPrototypeOf(v) !== null) return structuredClone(v);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) out[k] = copySharingFrozen((v as Record<string, unknown>)[k]);
  return out as T;
}
