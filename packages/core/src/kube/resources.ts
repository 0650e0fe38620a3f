/**
 * REST paths of the kinds the suite touches. A fixed table rather than API
 * discovery: one request fewer per run, and these paths have not moved since
 * apps/v1 went GA. Other kinds (routers' custom resources) pass a `ResourceType`.
 */

export interface ResourceType {
  /** '' for the core group. */
  group: string;
  version: string;
  /** Lower-case plural, as in the URL. */
  plural: string;
  namespaced: boolean;
}

const type = (group: string, version: string, plural: string, namespaced = true): ResourceType => ({
  group,
  version,
  plural,
  namespaced,
});

export const RESOURCES = {
  Namespace: type('', 'v1', 'namespaces', false),
  Pod: type('', 'v1', 'pods'),
  Service: type('', 'v1', 'services'),
  ConfigMap: type('', 'v1', 'configmaps'),
  Secret: type('', 'v1', 'secrets'),
  Event: type('', 'v1', 'events'),
  Deployment: type('apps', 'v1', 'deployments'),
  ReplicaSet: type('apps', 'v1', 'replicasets'),
  StatefulSet: type('apps', 'v1', 'statefulsets'),
  DaemonSet: type('apps', 'v1', 'daemonsets'),
  ControllerRevision: type('apps', 'v1', 'controllerrevisions'),
  Job: type('batch', 'v1', 'jobs'),
  CronJob: type('batch', 'v1', 'cronjobs'),
  Ingress: type('networking.k8s.io', 'v1', 'ingresses'),
  Lease: type('coordination.k8s.io', 'v1', 'leases'),
  HorizontalPodAutoscaler: type('autoscaling', 'v2', 'horizontalpodautoscalers'),
} as const satisfies Record<string, ResourceType>;

export type KnownKind = keyof typeof RESOURCES;

export interface ObjectRef {
  namespace?: string | undefined;
  name?: string | undefined;
  /** e.g. 'status', 'scale' */
  subresource?: string | undefined;
}

/** `/apis/apps/v1/namespaces/prod/deployments/web/status` and its list/collection forms. */
export function resourcePath(resource: ResourceType | KnownKind, ref: ObjectRef = {}): string {
  const kind = typeof resource === 'string' ? RESOURCES[resource] : resource;
  let path = kind.group === '' ? `/api/${kind.version}` : `/apis/${kind.group}/${kind.version}`;
  if (kind.namespaced && ref.namespace !== undefined) path += `/namespaces/${encodeURIComponent(ref.namespace)}`;
  path += `/${kind.plural}`;
  if (ref.name !== undefined) path += `/${encodeURIComponent(ref.name)}`;
  if (ref.subresource !== undefined) path += `/${ref.subresource}`;
  return path;
}
