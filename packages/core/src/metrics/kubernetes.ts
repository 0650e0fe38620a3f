/**
 * Built-in Kubernetes signals of the canary pods. The signals are pure
 * functions of the pods; `PodCache` keeps the pods current through the kube
 * module's informer (one list + watch per selector) so checks cost no request.
 */
import type { KubeClient } from '../kube/client';
import { Informer } from '../kube/informer';
import type { Clock } from '../runtime/port';

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

/**
 * The pods of some label selectors, each from one informer (list, then watch)
 * opened at the first read and shared by every later read: an analysis makes
 * one list and one watch per selector whatever its length and number of checks
 * and metrics (a list per check before). A read sees the pods as of the last
 * watch event, milliseconds behind the server. close() when the analysis ends.
 */
export class PodCache {
  private readonly informers = new Map<string, Informer>();
  private closed = false;

  constructor(
    private readonly client: KubeClient,
    private readonly options: { namespace: string; clock: Clock; onChange?: () => void },
  ) {}

  /** The pods of every selector, in the order given (a pod two selectors match is there twice, as two lists gave it). */
  async pods(selectors: readonly string[], signal?: AbortSignal): Promise<PodLike[]> {
    if (this.closed) throw new Error('PodCache is closed');
    const pods: PodLike[] = [];
    for (const selector of selectors) {
      pods.push(...((await this.informer(selector).items(signal)) as PodLike[]));
      signal?.throwIfAborted();
    }
    return pods;
  }

  /** A source for the analysis: `selectors` is asked at every check (it may change, e.g. after promotion). */
  source(selectors: () => readonly string[]): CanaryPodSource {
    return (signal) => this.pods(selectors(), signal);
  }

  /** Ends every watch. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.informers.values()].map((informer) => informer.close()));
    this.informers.clear();
  }

  private informer(labelSelector: string): Informer {
    let informer = this.informers.get(labelSelector);
    if (informer === undefined) {
      const { namespace, clock, onChange } = this.options;
      informer = new Informer(this.client, 'Pod', {
        clock,
        namespace,
        ...(labelSelector === '' ? {} : { labelSelector }),
        ...(onChange ? { onChange } : {}),
      });
      this.informers.set(labelSelector, informer);
    }
    return informer;
  }
}
