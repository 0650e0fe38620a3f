/** Shared pieces of the simulated controllers: resource names, owner references, conditions and timestamps. */
import { formatTime, type KubeObject, type ObjectStore } from '../store';

export const PODS = 'v1/pods';
export const NODES = 'v1/nodes';
export const SERVICES = 'v1/services';
export const ENDPOINTS = 'v1/endpoints';
export const EVENTS = 'v1/events';
export const DEPLOYMENTS = 'apps/v1/deployments';
export const REPLICASETS = 'apps/v1/replicasets';
export const STATEFULSETS = 'apps/v1/statefulsets';
export const DAEMONSETS = 'apps/v1/daemonsets';
export const CONTROLLERREVISIONS = 'apps/v1/controllerrevisions';
export const JOBS = 'batch/v1/jobs';
export const CRONJOBS = 'batch/v1/cronjobs';

export const MANAGER = 'kube-controller-manager';

export function key(ns: string | undefined, name: string): string {
  return `${ns ?? ''}/${name}`;
}

export function splitKey(k: string): [string, string] {
  const slash = k.indexOf('/');
  return [k.slice(0, slash), k.slice(slash + 1)];
}

/** RFC 3339 at second precision, as the API server writes times. */
export const timestamp = formatTime;

export function parseTime(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

export function controllerRef(obj: KubeObject): KubeObject | undefined {
  return (obj.metadata?.ownerReferences ?? []).find((r: KubeObject) => r.controller === true);
}

/** A watch handler that queues the owner (of kind `ownerKind`) of each changed object: how a controller hears of its children. */
export function enqueueOwner(ownerKind: string, queue: { add(key: string): void }) {
  return (event: { object: KubeObject }): void => {
    const ref = controllerRef(event.object);
    if (ref?.kind === ownerKind) queue.add(key(event.object.metadata.namespace, ref.name));
  };
}

export function ownerReference(owner: KubeObject): KubeObject {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function isTerminating(obj: KubeObject): boolean {
  return !!obj.metadata?.deletionTimestamp;
}

export function condition(obj: KubeObject, type: string): KubeObject | undefined {
  return (obj.status?.conditions ?? []).find((c: KubeObject) => c.type === type);
}

export function isPodReady(pod: KubeObject): boolean {
  return condition(pod, 'Ready')?.status === 'True';
}

/** Pods not Succeeded or Failed, Terminating ones included: still holding their node's resources and names. */
export function isPodUnfinished(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed';
}

/** Terminating pods that are not finished: what Jobs report as `terminating`. */
export function isPodTerminating(pod: KubeObject): boolean {
  return isTerminating(pod) && isPodUnfinished(pod);
}

/** Active pods: not terminating and not finished (what ReplicaSets and Jobs count). */
export function isPodActive(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return !isTerminating(pod) && phase !== 'Succeeded' && phase !== 'Failed';
}

/**
 * When a Ready pod becomes available (Ready for minReadySeconds), or undefined when not Ready.
 * Ready pods with minReadySeconds 0 are available at once.
 */
export function availableAt(pod: KubeObject, minReadySeconds: number): number | undefined {
  const ready = condition(pod, 'Ready');
  if (ready?.status !== 'True') return undefined;
  if (minReadySeconds <= 0) return 0;
  return (parseTime(ready.lastTransitionTime) ?? 0) + minReadySeconds * 1000;
}

/**
 * Set a condition the way Kubernetes helpers do: lastTransitionTime moves only when the status changes;
 * lastUpdateTime (for the kinds that have it) moves on every change of reason or message, or when asked.
 */
export function setCondition(
  conditions: KubeObject[],
  next: { type: string; status: string; reason?: string; message?: string },
  now: number,
  options: { withUpdateTime?: boolean; touch?: boolean } = {},
): KubeObject[] {
  const old = conditions.find((c) => c.type === next.type);
  const time = timestamp(now);
  const cond: KubeObject = { type: next.type, status: next.status };
  if (options.withUpdateTime) {
    const changed = !old || old.status !== next.status || old.reason !== next.reason || old.message !== next.message;
    cond.lastUpdateTime = changed || options.touch ? time : old.lastUpdateTime;
  }
  cond.lastTransitionTime = old && old.status === next.status ? old.lastTransitionTime : time;
  if (next.reason !== undefined) cond.reason = next.reason;
  if (next.message !== undefined) cond.message = next.message;
  const out = conditions.filter((c) => c.type !== next.type);
  const index = conditions.findIndex((c) => c.type === next.type);
  if (index < 0) out.push(cond);
  else out.splice(index, 0, cond);
  return out;
}

/**
 * Write an object's status subresource without a read-modify-write round: only its controller writes this
 * status, so no resourceVersion precondition is needed, and the store copies just the status.
 */
export function writeStatus(
  store: ObjectStore,
  gvr: string,
  obj: KubeObject,
  status: KubeObject,
  manager: string,
): KubeObject {
  return store.updateIn(
    gvr,
    obj.metadata.namespace,
    { apiVersion: obj.apiVersion, kind: obj.kind, metadata: { name: obj.metadata.name }, status },
    { subresource: 'status', fieldManager: manager },
  );
}

/** Labels match a structured selector's matchLabels and matchExpressions. */
export { labelSelectorFromObject } from '../selectors';
