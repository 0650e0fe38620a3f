/**
 * A skeletal OpenAPI v3 (paths and operations, no schemas). kubectl reads it to learn that the server
 * validates fields itself (the `fieldValidation` query parameter on PATCH), so it skips client-side schema
 * validation, which would need the full OpenAPI v2 document. Without strategic-merge request bodies listed,
 * kubectl's client-side apply computes its patches from its own compiled-in types.
 */
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

/** GET /openapi/v3/<api/v1 | apis/group/version>. Undefined for an unknown group/version. */
export function openApiGroupVersion(registry: ResourceRegistry, path: string): Record<string, unknown> | undefined {
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
    components: { schemas: {} },
  };
}
