/** Label and field selectors in their query-string form, as `?labelSelector=` and `?fieldSelector=` carry them. */
import { badRequest } from './errors';

type LabelRequirement =
  | { op: 'in' | 'notin'; key: string; values: string[] }
  | { op: 'exists' | '!'; key: string }
  | { op: 'gt' | 'lt'; key: string; value: number };

export type LabelMatcher = (labels: Record<string, string> | undefined) => boolean;

/** Split on commas that are not inside parentheses: `a in (x,y),b` → [`a in (x,y)`, `b`]. */
function splitTop(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

const KEY = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function checkKey(key: string, whole: string): string {
  if (!KEY.test(key)) throw badRequest(`unable to parse requirement: invalid label key "${key}" in "${whole}"`);
  return key;
}

function checkValue(value: string, whole: string): string {
  if (!VALUE.test(value) || value.length > 63) {
    throw badRequest(`unable to parse requirement: invalid label value: "${value}" in "${whole}"`);
  }
  return value;
}

export function parseLabelSelector(text: string | undefined): LabelMatcher {
  if (!text?.trim()) return () => true;
  const reqs: LabelRequirement[] = [];
  for (const part of splitTop(text)) {
    let m = /^(\S+?)\s+(in|notin)\s*\(([^)]*)\)$/.exec(part);
    if (m) {
      const values = m[3]!
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '' || m![3]!.trim() === '');
      reqs.push({
        op: m[2] as 'in' | 'notin',
        key: checkKey(m[1]!, text),
        values: values.map((v) => checkValue(v, text)),
      });
      continue;
    }
    m = /^(\S+?)\s*(==|!=|=|>|<)\s*(\S*)$/.exec(part);
    if (m) {
      const key = checkKey(m[1]!, text);
      const op = m[2]!;
      if (op === '>' || op === '<') {
        const value = Number(m[3]);
        if (!Number.isInteger(value)) throw badRequest(`unable to parse requirement: invalid integer value "${m[3]}"`);
        reqs.push({ op: op === '>' ? 'gt' : 'lt', key, value });
      } else {
        const value = checkValue(m[3]!, text);
        reqs.push({ op: op === '!=' ? 'notin' : 'in', key, values: [value] });
      }
      continue;
    }
    m = /^(!?)\s*(\S+)$/.exec(part);
    if (m) {
      reqs.push({ op: m[1] ? '!' : 'exists', key: checkKey(m[2]!, text) });
      continue;
    }
    throw badRequest(`unable to parse requirement: found '${part}', expected: key, key=value or key in (values)`);
  }
  return (labels) => {
    for (const r of reqs) {
      const v = labels?.[r.key];
      switch (r.op) {
        case 'in':
          if (v === undefined || !r.values.includes(v)) return false;
          break;
        case 'notin':
          if (v !== undefined && r.values.includes(v)) return false;
          break;
        case 'exists':
          if (v === undefined) return false;
          break;
        case '!':
          if (v !== undefined) return false;
          break;
        case 'gt':
        case 'lt': {
          const n = Number(v);
          if (v === undefined || !Number.isInteger(n)) return false;
          if (r.op === 'gt' ? !(n > r.value) : !(n < r.value)) return false;
        }
      }
    }
    return true;
  };
}

/** A structured label selector (`matchLabels` / `matchExpressions`, as in a Deployment) as a matcher. */
export function labelSelectorFromObject(sel: {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}): LabelMatcher {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) parts.push(`${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) {
    const op = e.operator.toLowerCase();
    if (op === 'in' || op === 'notin') parts.push(`${e.key} ${op} (${(e.values ?? []).join(',')})`);
    else if (op === 'exists') parts.push(e.key);
    else if (op === 'doesnotexist') parts.push(`!${e.key}`);
  }
  return parseLabelSelector(parts.join(','));
}

/**
 * The string form of a structured selector as LabelSelectorAsSelector(...).String() gives it (requirements sorted
 * by key, `in`/`notin` values sorted): the SELECTOR column of `kubectl get -o wide`.
 */
export function labelSelectorToString(
  sel:
    | {
        matchLabels?: Record<string, string>;
        matchExpressions?: { key: string; operator: string; values?: string[] }[];
      }
    | undefined,
): string {
  const parts: [string, string][] = Object.entries(sel?.matchLabels ?? {}).map(([k, v]) => [k, `${k}=${v}`]);
  for (const e of sel?.matchExpressions ?? []) {
    const values = `(${[...(e.values ?? [])].sort().join(',')})`;
    const op = e.operator.toLowerCase();
    if (op === 'in' || op === 'notin') parts.push([e.key, `${e.key} ${op} ${values}`]);
    else if (op === 'exists') parts.push([e.key, e.key]);
    else if (op === 'doesnotexist') parts.push([e.key, `!${e.key}`]);
  }
  return parts
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map((p) => p[1])
    .join(',');
}

export type FieldMatcher = (obj: Record<string, unknown>) => boolean;

/** Read a dotted field path (`status.phase`) from an object; absent values read as ''. */
function fieldValue(obj: Record<string, unknown>, path: string): string {
  let cur: unknown = obj;
  for (const seg of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as Record<string, unknown>)[seg];
  }
  if (cur === undefined || cur === null) return '';
  return String(cur);
}

/** Fields every kind supports, plus per-kind extras (the real server rejects others with 400). */
const FIELDS_BY_KIND: Record<string, string[]> = {
  Pod: [
    'spec.nodeName',
    'spec.restartPolicy',
    'spec.schedulerName',
    'spec.serviceAccountName',
    'status.phase',
    'status.podIP',
    'status.nominatedNodeName',
  ],
  Event: [
    'involvedObject.kind',
    'involvedObject.namespace',
    'involvedObject.name',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
    'reason',
    'reportingComponent',
    'source',
    'type',
  ],
  Secret: ['type'],
  Node: ['spec.unschedulable'],
  Namespace: ['status.phase'],
  Job: ['status.successful'],
  ReplicaSet: ['status.replicas'],
};

export function parseFieldSelector(text: string | undefined, kind: string): FieldMatcher {
  if (!text?.trim()) return () => true;
  const reqs: { path: string; value: string; negate: boolean }[] = [];
  for (const part of splitTop(text)) {
    const m = /^([^=!\s]+)\s*(==|!=|=)\s*(.*)$/.exec(part);
    if (!m) throw badRequest(`invalid selector: '${text}'; can't understand '${part}'`);
    const path = m[1]!;
    const allowed = path === 'metadata.name' || path === 'metadata.namespace' || FIELDS_BY_KIND[kind]?.includes(path);
    if (!allowed) throw badRequest(`field label not supported: ${path}`);
    reqs.push({ path, value: m[3]!.trim(), negate: m[2] === '!=' });
  }
  return (obj) => {
    for (const r of reqs) {
      const v = r.path === 'source' ? fieldValue(obj, 'source.component') : fieldValue(obj, r.path);
      if ((v === r.value) === r.negate) return false;
    }
    return true;
  };
}
