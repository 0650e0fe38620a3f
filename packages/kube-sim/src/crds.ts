/** CustomResourceDefinitions: a CRD that is created (or changed) registers its kinds for generic storage. */

import type { ResourceType } from './resources';
import type { KubeObject, ObjectStore } from './store';

function typesOf(crd: KubeObject): ResourceType[] {
  const spec = crd.spec ?? {};
  const names = spec.names ?? {};
  return (spec.versions ?? [])
    .filter((v: KubeObject) => v.served !== false)
    .map(
      (v: KubeObject): ResourceType => ({
        group: spec.group,
        version: v.name,
        resource: names.plural,
        kind: names.kind,
        singular: names.singular ?? String(names.kind).toLowerCase(),
        namespaced: spec.scope !== 'Cluster',
        shortNames: names.shortNames ?? [],
        verbs: ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch'],
        categories: names.categories ?? [],
        subresources: [...(v.subresources?.status ? ['status'] : []), ...(v.subresources?.scale ? ['scale'] : [])],
        hasSpec: true,
        custom: true,
        ...(v.subresources?.scale
          ? {
              scale: {
                specReplicas: String(v.subresources.scale.specReplicasPath ?? '.spec.replicas').replace(/^\./, ''),
                statusReplicas: String(v.subresources.scale.statusReplicasPath ?? '.status.replicas').replace(
                  /^\./,
                  '',
                ),
              },
            }
          : {}),
      }),
    );
}

/** Keep the registry in step with the stored CRDs, and mark each one Established as the real server does. */
export function watchCustomResourceDefinitions(store: ObjectStore): () => void {
  const registered = new Map<string, ResourceType[]>();
  const gvr = 'apiextensions.k8s.io/v1/customresourcedefinitions';
  return store.watch(gvr, undefined, undefined, (e) => {
    const crd = e.object;
    const name = crd.metadata.name as string;
    if (e.type === 'DELETED') {
      // Deleting a CRD deletes its objects (the real server's customresourcecleanup finalizer).
      for (const t of registered.get(name) ?? []) {
        if (store.count(t) > 0) store.deleteCollection(t, undefined);
        store.registry.remove(t);
      }
      registered.delete(name);
      return;
    }
    for (const t of registered.get(name) ?? []) store.registry.remove(t);
    registered.delete(name);
    const types = typesOf(crd);
    for (const t of types) store.registry.add(t);
    registered.set(name, types);
    const established = (crd.status?.conditions ?? []).some(
      (c: KubeObject) => c.type === 'Established' && c.status === 'True',
    );
    if (!established) {
      const now = new Date(store.clock.now()).toISOString().replace(/\.\d+Z$/, 'Z');
      const next = structuredClone(crd);
      next.status = {
        conditions: [
          {
            type: 'NamesAccepted',
            status: 'True',
            lastTransitionTime: now,
            reason: 'NoConflicts',
            message: 'no conflicts found',
          },
          {
            type: 'Established',
            status: 'True',
            lastTransitionTime: now,
            reason: 'InitialNamesAccepted',
            message: 'the initial names have been accepted',
          },
        ],
        acceptedNames: crd.spec?.names ?? {},
        storedVersions: (crd.spec?.versions ?? []).filter((v: KubeObject) => v.storage).map((v: KubeObject) => v.name),
      };
      store.updateIn(gvr, undefined, next, { subresource: 'status', fieldManager: 'apiextensions-apiserver' });
    }
  });
}
