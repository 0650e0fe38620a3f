/**
 * Which REST resource each manifest's apiVersion + kind is. Built-in kinds
 * come from a table (no request); anything else (custom resources, rarer
 * built-ins) is looked up once per group/version in API discovery, as
 * kubectl does. An unknown kind is an error naming the manifest before anything is applied.
 */
import { UserError } from '../errors';
import type { KubeClient } from '../kube/client';
import { isNotFound } from '../kube/errors';
import { RESOURCES, type ResourceType } from '../kube/resources';
import type { ManifestObject } from './manifests';

const type = (group: string, version: string, plural: string, namespaced = true): ResourceType => ({
  group,
  version,
  plural,
  namespaced,
});

/** apiVersion/kind → resource, for the kinds manifests usually hold. */
const BUILT_IN: Record<string, ResourceType> = {
  ...Object.fromEntries(
    Object.entries(RESOURCES).map(([kind, resource]) => [
      `${resource.group === '' ? '' : `${resource.group}/`}${resource.version}/${kind}`,
      resource,
    ]),
  ),
  'v1/ServiceAccount': type('', 'v1', 'serviceaccounts'),
  'v1/PersistentVolumeClaim': type('', 'v1', 'persistentvolumeclaims'),
  'v1/Endpoints': type('', 'v1', 'endpoints'),
  'policy/v1/PodDisruptionBudget': type('policy', 'v1', 'poddisruptionbudgets'),
  'networking.k8s.io/v1/IngressClass': type('networking.k8s.io', 'v1', 'ingressclasses', false),
  'networking.k8s.io/v1/NetworkPolicy': type('networking.k8s.io', 'v1', 'networkpolicies'),
  'rbac.authorization.k8s.io/v1/Role': type('rbac.authorization.k8s.io', 'v1', 'roles'),
  'rbac.authorization.k8s.io/v1/RoleBinding': type('rbac.authorization.k8s.io', 'v1', 'rolebindings'),
  'apiextensions.k8s.io/v1/CustomResourceDefinition': type(
    'apiextensions.k8s.io',
    'v1',
    'customresourcedefinitions',
    false,
  ),
};

interface DiscoveryList {
  resources?: Array<{ name: string; kind: string; namespaced: boolean }>;
}

/** Resolves every object's resource; throws one error listing all unknown kinds with their manifests. */
export async function resolveKinds(
  client: KubeClient,
  objects: readonly ManifestObject[],
): Promise<Map<ManifestObject, ResourceType>> {
  const resolved = new Map<ManifestObject, ResourceType>();
  const discovered = new Map<string, Promise<DiscoveryList | undefined>>();
  const discover = (apiVersion: string) => {
    let pending = discovered.get(apiVersion);
    if (pending === undefined) {
      const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      pending = client.request<DiscoveryList>('GET', path).catch((error: unknown) => {
        if (isNotFound(error)) return undefined;
        throw error;
      });
      discovered.set(apiVersion, pending);
    }
    return pending;
  };
  const problems: string[] = [];
  for (const item of objects) {
    const apiVersion = item.object.apiVersion!;
    const kind = item.object.kind!;
    const known = BUILT_IN[`${apiVersion}/${kind}`];
    if (known !== undefined) {
      resolved.set(item, known);
      continue;
    }
    const list = await discover(apiVersion);
    if (list === undefined) {
      problems.push(`${item.source}: the cluster serves no apiVersion "${apiVersion}" (kind ${kind})`);
      continue;
    }
    const resource = list.resources?.find((entry) => entry.kind === kind && !entry.name.includes('/'));
    if (resource === undefined) {
      const kinds = [...new Set((list.resources ?? []).filter((r) => !r.name.includes('/')).map((r) => r.kind))].sort();
      problems.push(
        `${item.source}: unknown kind "${kind}" in ${apiVersion} (kinds there: ${kinds.join(', ') || 'none'})`,
      );
      continue;
    }
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
    resolved.set(item, type(group!, version!, resource.name, resource.namespaced));
  }
  if (problems.length > 0) {
    throw new UserError(`Unknown kind in the manifests, nothing was applied:\n${problems.join('\n')}`, {
      hint: 'Check apiVersion and kind (e.g. apps/v1 Deployment), or install the CRD first',
    });
  }
  return resolved;
}
