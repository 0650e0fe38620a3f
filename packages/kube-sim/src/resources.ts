/**
 * The resource registry: which group/version/resources exist, their kinds, scope, short names, verbs and
 * subresources. Discovery, routing and the store all read it; CRDs add entries at run time.
 *
 * A resource is named by a "gvr" string: `v1/pods` for the core group, `apps/v1/deployments` otherwise
 * (`<group>/<version>/<plural>`), or by an object `{ group, version, resource }`.
 */

export interface ResourceType {
  group: string;
  version: string;
  /** Plural, lower case: `deployments`. */
  resource: string;
  kind: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  verbs: string[];
  categories: string[];
  /** Subresources served: `status`, `scale`, `log`, `proxy`. */
  subresources: string[];
  /** Objects of this kind bump metadata.generation when their spec changes. */
  hasSpec: boolean;
  /** Registered by a CRD (stored generically; no strategic merge patch). */
  custom: boolean;
  /**
   * An older version served from the same storage (batch/v1beta1 CronJobs share batch/v1's objects).
   * Discovery shows it only to clients that predate the newer version.
   */
  storage?: ResourceType;
  /** For /scale: where the replica count and selector live (paths in the object). */
  scale?: { specReplicas: string; statusReplicas: string; labelSelector?: string };
}

export type Gvr = string | { group: string; version: string; resource: string };

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export function apiVersionOf(t: { group: string; version: string }): string {
  return t.group ? `${t.group}/${t.version}` : t.version;
}

export function gvrKey(t: { group: string; version: string; resource: string }): string {
  return t.group ? `${t.group}/${t.version}/${t.resource}` : `${t.version}/${t.resource}`;
}

function builtin(
  apiVersion: string,
  resource: string,
  kind: string,
  opts: Partial<
    Pick<ResourceType, 'namespaced' | 'shortNames' | 'verbs' | 'categories' | 'subresources' | 'hasSpec'>
  > & {
    scale?: ResourceType['scale'];
  } = {},
): ResourceType {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  return {
    group,
    version,
    resource,
    kind,
    singular: kind.toLowerCase(),
    namespaced: opts.namespaced ?? true,
    shortNames: opts.shortNames ?? [],
    verbs: opts.verbs ?? ALL_VERBS,
    categories: opts.categories ?? [],
    subresources: opts.subresources ?? [],
    hasSpec: opts.hasSpec ?? true,
    custom: false,
    ...(opts.scale ? { scale: opts.scale } : {}),
  };
}

const replicaScale = {
  specReplicas: 'spec.replicas',
  statusReplicas: 'status.replicas',
  labelSelector: 'status.selector',
};

export function builtinResources(): ResourceType[] {
  const types = currentResources();
  const cronJobs = types.find((t) => t.group === 'batch' && t.resource === 'cronjobs')!;
  // kubectl 1.20 (Debian's) only knows CronJob as batch/v1beta1; Kubernetes 1.21 to 1.24 served both.
  types.push({ ...cronJobs, version: 'v1beta1', storage: cronJobs });
  return types;
}

function currentResources(): ResourceType[] {
  return [
    builtin('v1', 'namespaces', 'Namespace', {
      namespaced: false,
      shortNames: ['ns'],
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
      subresources: ['status'],
    }),
    builtin('v1', 'pods', 'Pod', { shortNames: ['po'], categories: ['all'], subresources: ['status', 'log'] }),
    builtin('v1', 'services', 'Service', {
      shortNames: ['svc'],
      categories: ['all'],
      subresources: ['status', 'proxy'],
      verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
    }),
    builtin('v1', 'endpoints', 'Endpoints', { shortNames: ['ep'], hasSpec: false }),
    builtin('v1', 'configmaps', 'ConfigMap', { shortNames: ['cm'], hasSpec: false }),
    builtin('v1', 'secrets', 'Secret', { hasSpec: false }),
    builtin('v1', 'serviceaccounts', 'ServiceAccount', { shortNames: ['sa'], hasSpec: false }),
    builtin('v1', 'events', 'Event', { shortNames: ['ev'], hasSpec: false }),
    builtin('v1', 'nodes', 'Node', { namespaced: false, shortNames: ['no'], subresources: ['status'] }),
    builtin('v1', 'persistentvolumeclaims', 'PersistentVolumeClaim', { shortNames: ['pvc'], subresources: ['status'] }),
    builtin('apps/v1', 'deployments', 'Deployment', {
      shortNames: ['deploy'],
      categories: ['all'],
      subresources: ['status', 'scale'],
      scale: replicaScale,
    }),
    builtin('apps/v1', 'replicasets', 'ReplicaSet', {
      shortNames: ['rs'],
      categories: ['all'],
      subresources: ['status', 'scale'],
      scale: replicaScale,
    }),
    builtin('apps/v1', 'statefulsets', 'StatefulSet', {
      shortNames: ['sts'],
      categories: ['all'],
      subresources: ['status', 'scale'],
      scale: replicaScale,
    }),
    builtin('apps/v1', 'daemonsets', 'DaemonSet', {
      shortNames: ['ds'],
      categories: ['all'],
      subresources: ['status'],
    }),
    builtin('apps/v1', 'controllerrevisions', 'ControllerRevision', { hasSpec: false }),
    builtin('batch/v1', 'jobs', 'Job', { categories: ['all'], subresources: ['status'] }),
    builtin('batch/v1', 'cronjobs', 'CronJob', { shortNames: ['cj'], categories: ['all'], subresources: ['status'] }),
    builtin('networking.k8s.io/v1', 'ingresses', 'Ingress', { shortNames: ['ing'], subresources: ['status'] }),
    builtin('networking.k8s.io/v1', 'ingressclasses', 'IngressClass', { namespaced: false }),
    // Their registry strategies never set metadata.generation (no observedGeneration to compare with).
    builtin('coordination.k8s.io/v1', 'leases', 'Lease', { hasSpec: false }),
    builtin('autoscaling/v2', 'horizontalpodautoscalers', 'HorizontalPodAutoscaler', {
      hasSpec: false,
      shortNames: ['hpa'],
      categories: ['all'],
      subresources: ['status'],
    }),
    builtin('policy/v1', 'poddisruptionbudgets', 'PodDisruptionBudget', {
      shortNames: ['pdb'],
      subresources: ['status'],
    }),
    builtin('networking.k8s.io/v1', 'networkpolicies', 'NetworkPolicy', { shortNames: ['netpol'] }),
    builtin('discovery.k8s.io/v1', 'endpointslices', 'EndpointSlice', { hasSpec: false }),
    builtin('rbac.authorization.k8s.io/v1', 'roles', 'Role', { hasSpec: false }),
    builtin('rbac.authorization.k8s.io/v1', 'rolebindings', 'RoleBinding', { hasSpec: false }),
    builtin('rbac.authorization.k8s.io/v1', 'clusterroles', 'ClusterRole', { namespaced: false, hasSpec: false }),
    builtin('rbac.authorization.k8s.io/v1', 'clusterrolebindings', 'ClusterRoleBinding', {
      namespaced: false,
      hasSpec: false,
    }),
    // Answered, never stored: every caller is a cluster-admin here (see server.ts).
    builtin('authorization.k8s.io/v1', 'selfsubjectaccessreviews', 'SelfSubjectAccessReview', {
      namespaced: false,
      verbs: ['create'],
    }),
    builtin('apiextensions.k8s.io/v1', 'customresourcedefinitions', 'CustomResourceDefinition', {
      namespaced: false,
      shortNames: ['crd', 'crds'],
      subresources: ['status'],
    }),
  ];
}

/** Lookup tables over the registered resource types. */
export class ResourceRegistry {
  private readonly byKey = new Map<string, ResourceType>();
  /** Bumped on every change so discovery caches can be invalidated. */
  generation = 0;

  constructor(types: ResourceType[] = builtinResources()) {
    for (const t of types) this.add(t);
  }

  add(t: ResourceType): void {
    this.byKey.set(gvrKey(t), t);
    this.generation++;
  }

  remove(t: { group: string; version: string; resource: string }): void {
    if (this.byKey.delete(gvrKey(t))) this.generation++;
  }

  all(): ResourceType[] {
    return [...this.byKey.values()];
  }

  get(group: string, version: string, resource: string): ResourceType | undefined {
    return this.byKey.get(group ? `${group}/${version}/${resource}` : `${version}/${resource}`);
  }

  /** Resolve a gvr string (`apps/v1/deployments`, `v1/pods`) or object. Throws on unknown resources. */
  resolve(gvr: Gvr | ResourceType): ResourceType {
    if (typeof gvr !== 'string') {
      const t = this.get(gvr.group, gvr.version, gvr.resource);
      if (!t) throw new Error(`kube-sim: unknown resource ${gvrKey(gvr)}`);
      return t;
    }
    const t = this.byKey.get(gvr);
    if (!t) throw new Error(`kube-sim: unknown resource ${gvr} (write 'v1/pods' or 'apps/v1/deployments')`);
    return t;
  }

  byKind(apiVersion: string, kind: string): ResourceType | undefined {
    for (const t of this.byKey.values()) if (t.kind === kind && apiVersionOf(t) === apiVersion) return t;
    return undefined;
  }

  /** Group → versions (in registration order), for discovery. */
  groups(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const t of this.byKey.values()) {
      const versions = out.get(t.group) ?? [];
      if (!versions.includes(t.version)) versions.push(t.version);
      out.set(t.group, versions);
    }
    return out;
  }

  inGroupVersion(group: string, version: string): ResourceType[] {
    return this.all().filter((t) => t.group === group && t.version === version);
  }
}
