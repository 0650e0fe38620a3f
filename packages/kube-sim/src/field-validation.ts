/**
 * Server-side field validation (fieldValidation=Strict|Warn|Ignore; Warn when absent, as since 1.27): fields a
 * kind's schema does not declare are refused (Strict), dropped with a `Warning` header each (Warn), or dropped
 * silently (Ignore). The schema is the published Kubernetes OpenAPI as @kubernetes/client-node generates its
 * models from it (each model's attributeTypeMap: field names and types), loaded per kind on first use.
 * Custom resources are not checked (kube-sim does not prune against CRD schemas).
 */
import { holdVirtualTime } from '@deploy-actions/core/clock';
import { type ApiError, badRequest, invalid } from './errors';
import type { ResourceType } from './resources';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

/** A model's fields: JSON name → client-node type string (`V1PodSpec`, `Array<V1Container>`, `string`, ...). */
type Fields = Map<string, string>;

const models = new Map<string, Fields | null>();
const loading = new Map<string, Promise<void>>();

/** Model names a type string refers to. */
function refsOf(t: string): string[] {
  return [...t.matchAll(/\b(V\d\w*|Core\w+|Storage\w+|Events\w+|Discovery\w+|Rbac\w+)\b/g)].map((m) => m[1]!);
}

/** Loads one model's fields (null when client-node has no model of that name). */
function loadOne(name: string): Promise<void> {
  let pending = loading.get(name);
  if (!pending) {
    // Held: an auto-advancing virtual clock would otherwise see a quiet process and jump while the import runs.
    pending = holdVirtualTime(import(`@kubernetes/client-node/dist/gen/models/${name}.js`)).then(
      (module: Record<string, { attributeTypeMap?: { baseName: string; type: string }[] }>) => {
        const map = module[name]?.attributeTypeMap;
        models.set(name, map ? new Map(map.map((a) => [a.baseName, a.type])) : null);
      },
      () => {
        models.set(name, null);
      },
    );
    loading.set(name, pending);
  }
  return pending;
}

/** Loads a model and every model it refers to, breadth first (schemas refer to themselves: JSONSchemaProps). */
async function load(name: string): Promise<void> {
  const seen = new Set([name]);
  let wave = [name];
  while (wave.length > 0) {
    await Promise.all(wave.map(loadOne));
    const next: string[] = [];
    for (const n of wave) {
      for (const t of models.get(n)?.values() ?? []) {
        for (const ref of refsOf(t)) {
          if (!seen.has(ref)) {
            seen.add(ref);
            next.push(ref);
          }
        }
      }
    }
    wave = next;
  }
}

/** client-node's model name of a built-in kind: V1Deployment, V2HorizontalPodAutoscaler. */
function modelName(type: ResourceType): string | undefined {
  if (type.custom) return undefined;
  return `${type.version.charAt(0).toUpperCase()}${type.version.slice(1)}${type.kind}`;
}

/** The kind's schema ready for `unknownFields` (loaded once per process). */
export async function loadSchema(type: ResourceType): Promise<void> {
  const name = modelName(type);
  if (name) await load(name);
}

/**
 * Paths of the fields `value` has and its schema does not declare (`spec.template.spec.containers[0].imagee`),
 * removed from `value` when `drop`. Strategic-merge directives (`$patch`, `$setElementOrder/...`) pass.
 */
export function unknownFields(type: ResourceType, value: unknown, drop: boolean): string[] {
  const name = modelName(type);
  const out: string[] = [];
  if (name && models.get(name)) walk(value, name, '', out, drop);
  return out;
}

function walk(value: unknown, t: string, path: string, out: string[], drop: boolean): void {
  if (value === null || typeof value !== 'object') return;
  if (t.startsWith('Array<')) {
    if (!Array.isArray(value)) return;
    const inner = t.slice(6, -1);
    for (const [i, v] of value.entries()) walk(v, inner, `${path}[${i}]`, out, drop);
    return;
  }
  const map = /^\{ \[key: string\]: (.*); \}$/.exec(t);
  if (map) {
    if (Array.isArray(value)) return;
    for (const [k, v] of Object.entries(value)) walk(v, map[1]!, path ? `${path}.${k}` : k, out, drop);
    return;
  }
  const fields = models.get(t);
  if (!fields || Array.isArray(value)) return;
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const at = path ? `${path}.${key}` : key;
    const fieldType = fields.get(key);
    if (fieldType === undefined) {
      if (key.startsWith('$')) continue;
      out.push(at);
      if (drop) delete record[key];
    } else walk(record[key], fieldType, at, out, drop);
  }
}

const OPTIONS_KIND: Record<string, string> = {
  create: 'CreateOptions',
  update: 'UpdateOptions',
  patch: 'PatchOptions',
};

/** The request's fieldValidation: Warn when absent; another value is the options' 422 (ValidateFieldValidation). */
export function fieldValidationOf(q: URLSearchParams, verb: string): FieldValidation {
  const raw = q.get('fieldValidation') ?? '';
  if (raw === '') return 'Warn';
  if (raw === 'Strict' || raw === 'Warn' || raw === 'Ignore') return raw;
  throw invalid(OPTIONS_KIND[verb] ?? 'CreateOptions', 'meta.k8s.io', '', [
    {
      field: 'fieldValidation',
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${JSON.stringify(raw)}: supported values: "Ignore", "Strict", "Warn"`,
    },
  ]);
}

/** `Warning` header values for dropped fields, as the API server sends them (code 299, agent "-"). */
export function warningHeaders(paths: string[]): string[] {
  return paths.map((p) => `299 - ${JSON.stringify(`unknown field ${JSON.stringify(p)}`)}`);
}

/** The strict decoder's wording: `strict decoding error: unknown field "a", unknown field "b"`. */
export function strictError(paths: string[], prefix = ''): ApiError {
  return badRequest(
    `${prefix}strict decoding error: ${paths.map((p) => `unknown field ${JSON.stringify(p)}`).join(', ')}`,
  );
}

/** The schema's name: client-node's V1Container as `io.k8s.api.v1.Container`, which kubectl shows as `Container`. */
const schemaName = (model: string) =>
  model.replace(
    /^(V\d+(?:alpha\d+|beta\d+)?)(.+)$/,
    (_, v: string, rest: string) => `io.k8s.api.${v.toLowerCase()}.${rest}`,
  );

/** An OpenAPI v3 schema for a client-node type string. */
function schemaOf(t: string): Record<string, unknown> {
  if (t.startsWith('Array<')) return { type: 'array', items: schemaOf(t.slice(6, -1)) };
  const map = /^\{ \[key: string\]: (.*); \}$/.exec(t);
  if (map) return { type: 'object', additionalProperties: schemaOf(map[1]!) };
  switch (t) {
    case 'string':
      return { type: 'string' };
    case 'number':
      return { type: 'integer' };
    case 'boolean':
      return { type: 'boolean' };
    case 'Date':
      return { type: 'string', format: 'date-time' };
    case 'IntOrString':
      return { 'x-kubernetes-int-or-string': true };
    case 'any':
      return { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
    default:
      return models.get(t) ? { allOf: [{ $ref: `#/components/schemas/${schemaName(t)}` }] } : { type: 'object' };
  }
}

/**
 * components.schemas of an OpenAPI v3 group/version document for these kinds (and every model they use), with
 * x-kubernetes-group-version-kind on each kind: enough for `kubectl explain` (field names and types; the
 * models carry no descriptions).
 */
export async function openApiSchemas(types: ResourceType[]): Promise<Record<string, unknown>> {
  await Promise.all(types.map(loadSchema));
  const schemas: Record<string, unknown> = {};
  const add = (name: string) => {
    const fields = models.get(name);
    if (!fields || schemas[schemaName(name)]) return;
    const properties: Record<string, unknown> = {};
    schemas[schemaName(name)] = { type: 'object', properties };
    for (const [field, t] of fields) {
      properties[field] = schemaOf(t);
      for (const ref of refsOf(t)) add(ref);
    }
  };
  for (const t of types) {
    const name = modelName(t);
    if (!name || !models.get(name)) continue;
    add(name);
    (schemas[schemaName(name)] as Record<string, unknown>)['x-kubernetes-group-version-kind'] = [
      { group: t.group, version: t.version, kind: t.kind },
    ];
  }
  return schemas;
}
