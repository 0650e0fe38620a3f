/**
 * An OpenAPI v3 of paths, operations and the kinds' schemas (field names and types). kubectl reads it to learn that the server
 * validates fields itself (the `fieldValidation` query parameter on PATCH), so it skips client-side schema
 * validation, which would need the full OpenAPI v2 document. Without strategic-merge request bodies listed,
 * kubectl's client-side apply computes its patches from its own compiled-in types.
 */
import { openApiSchemas } from './field-validation';
import type { ResourceRegistry, ResourceType } from './resources';

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

/** GET /openapi/v3: the index of group/version documents. */
export function openApiIndex(registry: ResourceRegistry): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const [group, versions] of registry.groups()) {
    for (const v of versions) {
      const p = gvPath(group, v);
      paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${registry.generation}` };
    }
  }
  return { paths };
}

const validationParam = {
  name: 'fieldValidation',
  in: 'query',
  description: 'how the server handles unknown or duplicate fields',
  schema: { type: 'string', uniqueItems: true },
};

function operations(t: ResourceType, action: string[]): Record<string, unknown> {
  const gvk = { group: t.group, version: t.version, kind: t.kind };
  const out: Record<string, unknown> = {};
  for (const method of action) {
    out[method] = {
      operationId: `${method}${t.kind}`,
      'x-kubernetes-action': method === 'post' ? 'post' : method === 'put' ? 'put' : method,
      'x-kubernetes-group-version-kind': gvk,
      parameters: method === 'get' || method === 'delete' ? [] : [validationParam],
      responses: { '200': { description: 'OK' } },
    };
  }
  return out;
}

/**
 * GET /openapi/v3/<api/v1 | apis/group/version>, with the kinds' schemas from the published OpenAPI
 * (field-validation.ts) so that `kubectl explain` works. Undefined for an unknown group/version.
 */
export async function openApiGroupVersion(
  registry: ResourceRegistry,
  path: string,
): Promise<Record<string, unknown> | undefined> {
  const m = /^(?:api\/([^/]+)|apis\/([^/]+)\/([^/]+))$/.exec(path);
  if (!m) return undefined;
  const group = m[2] ?? '';
  const version = m[1] ?? m[3]!;
  const types = registry.inGroupVersion(group, version);
  if (types.length === 0) return undefined;
  const paths: Record<string, unknown> = {};
  for (const t of types) {
    const base = `/${gvPath(group, version)}${t.namespaced ? '/namespaces/{namespace}' : ''}/${t.resource}`;
    paths[base] = operations(t, ['get', 'post']);
    paths[`${base}/{name}`] = operations(t, ['get', 'put', 'patch', 'delete']);
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.31.0' },
    paths,
    components: { schemas: await openApiSchemas(types) },
  };
}

// ---------- OpenAPI v2 ----------

/** Protobuf wire format: a length-delimited field. */
function field(num: number, payload: Buffer): Buffer {
  const head: number[] = [(num << 3) | 2];
  let n = payload.length;
  while (n >= 0x80) {
    head.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  head.push(n);
  return Buffer.concat([Buffer.from(head), payload]);
}

/**
 * GET /openapi/v2 as the gnostic openapi_v2.Document protobuf older kubectl (1.20) insists on: swagger "2.0",
 * info, and empty paths and definitions. With no definitions kubectl finds no schema for any kind, so it skips
 * client-side validation and builds strategic patches from its compiled-in types.
 */
export function openApiV2Protobuf(): Buffer {
  const info = Buffer.concat([field(1, Buffer.from('Kubernetes')), field(2, Buffer.from('v1.31.0'))]);
  return Buffer.concat([
    field(1, Buffer.from('2.0')),
    field(2, info),
    field(8, Buffer.alloc(0)),
    field(9, Buffer.alloc(0)),
  ]);
}

export function openApiV2Json(): Record<string, unknown> {
  return { swagger: '2.0', info: { title: 'Kubernetes', version: 'v1.31.0' }, paths: {}, definitions: {} };
}
