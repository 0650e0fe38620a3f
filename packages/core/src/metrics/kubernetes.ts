/**
 * Built-in Kubernetes signals of the canary pods. Pure: the kube module lists
 * the canary's pods and hands them here; nothing in this file talks to a cluster.
 */

export const KUBERNETES_SIGNALS = ['not-ready', 'restarts', 'crashloop'] as const;
export type KubernetesSignal = (typeof KUBERNETES_SIGNALS)[number];

/** The parts of a core/v1 Pod the signals read (a V1Pod from client-node fits). */
export interface PodLike {
  metadata?: { name?: string; deletionTimestamp?: unknown };
  status?: {
    phase?: string;
    conditions?: Array<{ type?: string; status?: string }>;
    containerStatuses?: ContainerStatusLike[];
    initContainerStatuses?: ContainerStatusLike[];
  };
}

interface ContainerStatusLike {
  name?: string;
  restartCount?: number;
  state?: { waiting?: { reason?: string } };
}

/**
 * Computes one signal's value from the canary's pods; undefined (no data) when there are none: no pods is
 * not "0 restarts" but nothing measured (not started yet, scaled to 0, a wrong selector), so the
 * metric's on-no-data policy decides instead of a silent pass.
 */
export type PodSignal = (pods: readonly PodLike[]) => number | undefined;

/** Pods that should serve but are not Ready (pods being deleted are left out: they are on their way out). */
export const notReady: PodSignal = (pods) =>
  pods.length === 0
    ? undefined
    : pods.filter((pod) => {
        if (pod.metadata?.deletionTimestamp) return false;
        if (pod.status?.phase === 'Succeeded') return false;
        const ready = pod.status?.conditions?.find((condition) => condition.type === 'Ready');
        return ready?.status !== 'True';
      }).length;

/** Container restarts summed over all canary pods (init containers included). */
export const restarts: PodSignal = (pods) => {
  if (pods.length === 0) return undefined;
  let total = 0;
  for (const pod of pods) {
    for (const status of [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])]) {
      total += status.restartCount ?? 0;
    }
  }
  return total;
};

/** Pods with at least one container in CrashLoopBackOff. */
export const crashloop: PodSignal = (pods) =>
  pods.length === 0
    ? undefined
    : pods.filter((pod) =>
        [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])].some(
          (status) => status.state?.waiting?.reason === 'CrashLoopBackOff',
        ),
      ).length;

export const POD_SIGNALS: Readonly<Record<KubernetesSignal, PodSignal>> = {
  'not-ready': notReady,
  restarts,
  crashloop,
};

/** Where the engine gets the canary's pods from (the kube module provides it). */
export type CanaryPodSource = (signal?: AbortSignal) => Promise<readonly PodLike[]>;
