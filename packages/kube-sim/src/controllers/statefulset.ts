/**
 * StatefulSet, simplified: pods `<name>-0 .. <name>-(n-1)` created in order (the next once the previous is
 * Ready, OrderedReady) and replaced from the highest ordinal down when the template changes (RollingUpdate,
 * honouring `partition`). Revisions are `<name>-<hash>` in currentRevision / updateRevision and the pods'
 * `controller-revision-hash` label. No ControllerRevision objects and no volumes.
 */
import type { KubeObject } from '../store';
import {
  enqueueOwner,
  isPodActive,
  isPodReady,
  isPodTerminating,
  key,
  MANAGER,
  PODS,
  STATEFULSETS,
  splitKey,
  writeStatus,
} from './common';
import type { ControllerContext } from './context';
import { podTemplateHash } from './hash';
import { WorkQueue } from './queue';
import { podFromTemplate } from './replicaset';

export class StatefulSetController {
  readonly queue: WorkQueue;

  constructor(private readonly ctx: ControllerContext) {
    this.queue = new WorkQueue('statefulset', (k) => this.sync(k), ctx.clock, ctx.signal, ctx.budget);
  }

  start(): () => void {
    const { store } = this.ctx;
    const stops = [
      store.watch(STATEFULSETS, undefined, undefined, (e) =>
        this.queue.add(key(e.object.metadata.namespace, e.object.metadata.name)),
      ),
      store.watch(PODS, undefined, undefined, enqueueOwner('StatefulSet', this.queue)),
    ];
    return () => {
      for (const stop of stops) stop();
    };
  }

  private sync(k: string): void {
    const { store } = this.ctx;
    const [ns, name] = splitKey(k);
    const sts = store.find(STATEFULSETS, ns, name);
    if (!sts || sts.metadata.deletionTimestamp) return;
    const replicas: number = sts.spec?.replicas ?? 1;
    const updateRevision = `${name}-${podTemplateHash(sts.spec?.template)}`;
    const revisionOf = (p: KubeObject) => p.metadata.labels?.['controller-revision-hash'];
    const pods = new Map<number, KubeObject>();
    /** Ordinals whose pod is still terminating: its name is taken until it is gone. */
    const terminating = new Set<number>();
    for (const p of this.ctx.pods.owned(sts.metadata.uid)) {
      const ordinal = Number(p.metadata.name.slice(name.length + 1));
      if (isPodActive(p)) pods.set(ordinal, p);
      else if (isPodTerminating(p)) terminating.add(ordinal);
    }
    const parallel = sts.spec?.podManagementPolicy === 'Parallel';
    // OrderedReady is monotonic: while a pod terminates, no other is created, deleted or replaced.
    const waiting = !parallel && terminating.size > 0;

    // Remove pods beyond the replica count, highest first, one at a time (unless Parallel).
    const extra = waiting ? [] : [...pods.keys()].filter((o) => o >= replicas).sort((a, b) => b - a);
    for (const ordinal of parallel ? extra : extra.slice(0, 1)) {
      store.delete(PODS, ns, pods.get(ordinal)!.metadata.name);
      pods.delete(ordinal);
    }
    if (extra.length === 0 && !waiting) {
      for (let ordinal = 0; ordinal < replicas; ordinal++) {
        const pod = pods.get(ordinal);
        if (pod) {
          if (!parallel && !isPodReady(pod)) break;
          continue;
        }
        if (terminating.has(ordinal)) continue;
        const created = store.create(
          podFromTemplate(sts, sts.spec.template, `${name}-${ordinal}`, {
            'controller-revision-hash': updateRevision,
            'statefulset.kubernetes.io/pod-name': `${name}-${ordinal}`,
            'apps.kubernetes.io/pod-index': String(ordinal),
          }),
          { fieldManager: MANAGER },
        );
        pods.set(ordinal, created);
        if (!parallel) break;
      }
    }

    // RollingUpdate: when every pod is Ready, replace the highest-ordinal pod still on an old revision.
    const strategy = sts.spec?.updateStrategy?.type ?? 'RollingUpdate';
    const partition: number = sts.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
    const all = [...pods.values()];
    if (strategy === 'RollingUpdate' && terminating.size === 0 && all.length === replicas && all.every(isPodReady)) {
      const stale = [...pods.entries()]
        .filter(([o, p]) => o >= partition && revisionOf(p) !== updateRevision)
        .sort((a, b) => b[0] - a[0])[0];
      if (stale) {
        store.delete(PODS, ns, stale[1].metadata.name);
        pods.delete(stale[0]);
      }
    }

    const current = [...pods.values()];
    const updated = current.filter((p) => revisionOf(p) === updateRevision).length;
    const prevCurrent: string = sts.status?.currentRevision ?? updateRevision;
    const done = updated === replicas && current.length === replicas;
    const currentRevision = done ? updateRevision : prevCurrent;
    const status: KubeObject = {
      observedGeneration: sts.metadata.generation,
      replicas: current.length,
      readyReplicas: current.filter(isPodReady).length,
      availableReplicas: current.filter(isPodReady).length,
      currentReplicas: current.filter((p) => revisionOf(p) === currentRevision).length,
      updatedReplicas: updated,
      currentRevision,
      updateRevision,
      collisionCount: 0,
    };
    if (JSON.stringify(sts.status ?? {}) === JSON.stringify(status)) return;
    writeStatus(store, STATEFULSETS, sts, status, MANAGER);
  }
}
