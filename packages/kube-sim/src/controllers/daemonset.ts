/**
 * DaemonSet, simplified: one pod per node (no node selectors, taints or affinity), replaced one at a time
 * when the template changes (RollingUpdate with maxUnavailable 1), with the status `kubectl rollout status`
 * reads.
 */
import type { KubeObject } from '../store';
import {
  DAEMONSETS,
  enqueueOwner,
  isPodActive,
  isPodReady,
  isPodTerminating,
  key,
  MANAGER,
  NODES,
  PODS,
  splitKey,
  writeStatus,
} from './common';
import type { ControllerContext } from './context';
import { podTemplateHash } from './hash';
import { WorkQueue } from './queue';
import { createPodWithGeneratedName, podFromTemplate } from './replicaset';

export class DaemonSetController {
  readonly queue: WorkQueue;

  constructor(private readonly ctx: ControllerContext) {
    this.queue = new WorkQueue('daemonset', (k) => this.sync(k), ctx.clock, ctx.signal, ctx.budget);
  }

  start(): () => void {
    const { store } = this.ctx;
    const stops = [
      store.watch(DAEMONSETS, undefined, undefined, (e) =>
        this.queue.add(key(e.object.metadata.namespace, e.object.metadata.name)),
      ),
      store.watch(PODS, undefined, undefined, enqueueOwner('DaemonSet', this.queue)),
      store.watch(NODES, undefined, undefined, () => {
        for (const ds of store.list(DAEMONSETS, undefined))
          this.queue.add(key(ds.metadata.namespace, ds.metadata.name));
      }),
    ];
    return () => {
      for (const stop of stops) stop();
    };
  }

  private sync(k: string): void {
    const { store } = this.ctx;
    const [ns, name] = splitKey(k);
    const ds = store.find(DAEMONSETS, ns, name);
    if (!ds || ds.metadata.deletionTimestamp) return;
    const hash = podTemplateHash(ds.spec?.template);
    const nodes = store.list(NODES, undefined).map((n) => n.metadata.name as string);
    const owned = this.ctx.pods.owned(ds.metadata.uid);
    const pods = owned.filter(isPodActive);
    // A node whose daemon pod is still terminating gets its new one once that is gone.
    const stopping = new Set(owned.filter(isPodTerminating).map((p) => p.spec?.nodeName as string));
    const byNode = new Map<string, KubeObject>();
    for (const p of pods) {
      const node = p.spec?.nodeName;
      if (!nodes.includes(node) || byNode.has(node)) store.delete(PODS, ns, p.metadata.name);
      else byNode.set(node, p);
    }
    for (const node of nodes) {
      if (byNode.has(node) || stopping.has(node)) continue;
      const pod = createPodWithGeneratedName(this.ctx, ds, `${name}-`, (podName) => {
        const p = podFromTemplate(ds, ds.spec.template, podName, {
          'controller-revision-hash': hash,
          'pod-template-generation': String(ds.metadata.generation ?? 1),
        });
        p.spec.nodeName = node;
        return p;
      });
      byNode.set(node, pod);
    }
    const strategy = ds.spec?.updateStrategy?.type ?? 'RollingUpdate';
    const current = [...byNode.values()];
    const isUpdated = (p: KubeObject) => p.metadata.labels?.['controller-revision-hash'] === hash;
    if (strategy === 'RollingUpdate' && stopping.size === 0 && current.every(isPodReady)) {
      const stale = current.find((p) => !isUpdated(p));
      if (stale) {
        store.delete(PODS, ns, stale.metadata.name);
        byNode.delete(stale.spec.nodeName);
      }
    }
    const live = [...byNode.values()];
    const ready = live.filter(isPodReady).length;
    const status: KubeObject = {
      observedGeneration: ds.metadata.generation,
      desiredNumberScheduled: nodes.length,
      currentNumberScheduled: live.length,
      numberMisscheduled: 0,
      numberReady: ready,
      updatedNumberScheduled: live.filter(isUpdated).length,
      numberAvailable: ready,
      ...(nodes.length - ready > 0 ? { numberUnavailable: nodes.length - ready } : {}),
    };
    if (JSON.stringify(ds.status ?? {}) === JSON.stringify(status)) return;
    writeStatus(store, DAEMONSETS, ds, status, MANAGER);
  }
}
