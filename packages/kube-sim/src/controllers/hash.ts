/**
 * pod-template-hash: Kubernetes hashes the pod template (plus the collision count) with FNV-1a 32 and writes the
 * number in its safe alphabet. The bytes hashed here are a canonical JSON of the template, so the value differs
 * from a real cluster's for the same template, but it is stable and changes exactly when the template does.
 */
import { copyJson } from '../frozen';
import type { KubeObject } from '../store';
import { SAFE_ALPHABET } from './random';

/**
 * null, `{}`, `[]` and absent all decode to the same Go zero value, so they hash alike: kubectl sends
 * `creationTimestamp: null` and `resources: {}` in the templates it copies (rollout undo).
 */
function isZero(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && Object.values(value as object).every(isZero);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((k) => !isZero(record[k]))
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(record[k])}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

export function fnv32a(text: string): number {
  let hash = 0x811c9dc5;
  const bytes = Buffer.from(text, 'utf8');
  for (const b of bytes) {
    hash ^= b;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** Write a number's decimal digits in the safe alphabet, byte by byte, as rand.SafeEncodeString does. */
function safeEncode(n: number): string {
  let out = '';
  for (const ch of String(n)) out += SAFE_ALPHABET[ch.charCodeAt(0) % SAFE_ALPHABET.length];
  return out;
}

/** The template without the pod-template-hash label it gets once copied into a ReplicaSet. */
export function templateWithoutHash(template: unknown): unknown {
  const t = copyJson((template ?? {}) as KubeObject);
  if (t.metadata?.labels) {
    delete t.metadata.labels['pod-template-hash'];
    if (Object.keys(t.metadata.labels).length === 0) delete t.metadata.labels;
  }
  if (t.metadata && Object.keys(t.metadata).length === 0) delete t.metadata;
  return t;
}

export function podTemplateHash(template: unknown, collisionCount = 0): string {
  const text = canonical(templateWithoutHash(template)) + (collisionCount ? `#${collisionCount}` : '');
  return safeEncode(fnv32a(text));
}

/** Canonical text of templates, by object: store objects are frozen snapshots, so the text never goes stale. */
const templateTexts = new WeakMap<object, string>();

function templateText(template: unknown): string {
  if (template && typeof template === 'object') {
    const cached = templateTexts.get(template);
    if (cached !== undefined) return cached;
    const text = canonical(templateWithoutHash(template));
    if (Object.isFrozen(template)) templateTexts.set(template, text);
    return text;
  }
  return canonical(templateWithoutHash(template));
}

/** Same template, ignoring the pod-template-hash label (how the Deployment controller finds its new ReplicaSet). */
export function sameTemplate(a: unknown, b: unknown): boolean {
  return templateText(a) === templateText(b);
}

/** A short hash of any value, for controller-revision-hash and event names. */
export function shortHash(value: unknown): string {
  return safeEncode(fnv32a(canonical(value))).slice(0, 10);
}
