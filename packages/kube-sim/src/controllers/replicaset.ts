/**
 * The ReplicaSet controller: keeps `spec.replicas` active pods (named `<rs>-<5 chars>`, owned by the
 * ReplicaSet), deletes the least valuable pods first when scaling down (unscheduled, pending, not ready,
 * recently ready, most restarts, newest, as controller.ActivePods ranks them), and reports replicas,
 * readyReplicas and availableReplicas (Ready for minReadySeconds).
 */
import { ApiError } from '../errors';
import { copyJson } from '../frozen';
import type { KubeObject } from '../store';
import {
  availableAt,
  condition,
  enqueueOwner,
  isPodActive,
  isPodReady,
  key,
  labelSelectorFromObject,
  MANAGER,
  ownerReference,
  PODS,
  parseTime,
  REPLICASETS,
  setCondition,
  splitKey,
  writeStatus,
} from './common';
import type { ControllerContext } from './context';
import { WorkQueue } from './queue';
import { randomSuffix } from './random';

/** Build a pod from a template, owned by `owner`. */
export function podFromTemplate(
  owner: KubeObject,
  template: KubeObject,
  name: string,
  extraLabels: Record<string, string> = {},
): KubeObject {
  const spec = copyJson(template.spec ?? {});
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.terminationGracePeriodSeconds ??= 30;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: owner.metadata.namespace,
      labels: { ...(template.metadata?.labels ?? {}), ...extraLabels },
      ...(template.metadata?.annotations ? { annotations: copyJson(template.metadata.annotations) } : {}),
      ownerReferences: [ownerReference(owner)],
    },
    spec,
  };
}

/** Create a pod named `<prefix><5 random chars>`, trying another suffix if the name is taken. */
export function createPodWithGeneratedName(
  ctx: ControllerContext,
  owner: KubeObject,
  prefix: string,
  build: (name: string) => KubeObject,
): KubeObject {
  for (let attempt = 0; ; attempt++) {
    const suffix = randomSuffix(ctx.random);
    if (ctx.store.find(PODS, owner.metadata.namespace, `${prefix}${suffix}`) && attempt < 10) continue;
    // Named by the API server from generateName (as controllers do), so a refusal names the prefix.
    const pod = build(`${prefix}${suffix}`);
    pod.metadata = { ...pod.metadata, generateName: prefix };
    delete pod.metadata.name;
    return ctx.store.create(pod, { fieldManager: MANAGER, nameSuffix: suffix });
  }
}

/** How soon a ReplicaSet whose pod was refused tries again. */
const FAILED_CREATE_RETRY_MS = 10_000;

/** Lower ranks are deleted first (controller.ActivePods ordering). */
const PHASE_RANK: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };
const scheduledRank = (p: KubeObject) => (p.spec?.nodeName ? 1 : 0);
const phaseRank = (p: KubeObject) => PHASE_RANK[p.status?.phase as string] ?? 0;
const readyRank = (p: KubeObject) => (isPodReady(p) ? 1 : 0);
const readySince = (p: KubeObject) => parseTime(condition(p, 'Ready')?.lastTransitionTime) ?? 0;
const restartsOf = (p: KubeObject) =>
  (p.status?.containerStatuses ?? []).reduce((n: number, c: KubeObject) => n + (c.restartCount ?? 0), 0);
const createdAt = (p: KubeObject) => parseTime(p.metadata.creationTimestamp) ?? 0;

/**
 * The helpers are module-level: declared inside the comparator they were made anew for every comparison
 * (and named by tsx's keepNames, a defineProperty each), 2% of kube-sim's CPU in a rollout.
 */
function deletionRank(a: KubeObject, b: KubeObject): number {
  if (scheduledRank(a) !== scheduledRank(b)) return scheduledRank(a) - scheduledRank(b);
  if (phaseRank(a) !== phaseRank(b)) return phaseRank(a) - phaseRank(b);
  if (readyRank(a) !== readyRank(b)) return readyRank(a) - readyRank(b);
  if (readyRank(a) && readyRank(b)) {
    if (readySince(a) !== readySince(b)) return readySince(b) - readySince(a); // ready more recently goes first
  }
  if (restartsOf(a) !== restartsOf(b)) return restartsOf(b) - restartsOf(a);
  if (createdAt(a) !== createdAt(b)) return createdAt(b) - createdAt(a);
  return a.metadata.name < b.metadata.name ? 1 : -1;
}

export class ReplicaSetController {
  readonly queue: WorkQueue;

  constructor(private readonly ctx: ControllerContext) {
    this.queue = new WorkQueue('replicaset', (k) => this.sync(k), ctx.clock, ctx.signal, ctx.budget);
  }

  start(): () => void {
    const { store } = this.ctx;
    const stops = [
      store.watch(REPLICASETS, undefined, undefined, (e) =>
        this.queue.add(key(e.object.metadata.namespace, e.object.metadata.name)),
      ),
      store.watch(PODS, undefined, undefined, enqueueOwner('ReplicaSet', this.queue)),
    ];
    return () => {
      for (const stop of stops) stop();
    };
  }

  /** Pods a controller owns, found through the owner's selector and checked by controller uid. */
  /** Pods a controller owns that still match its selector. */
  static ownedPods(ctx: ControllerContext, owner: KubeObject): KubeObject[] {
    const matches = labelSelectorFromObject(owner.spec?.selector ?? {});
    return ctx.pods.owned(owner.metadata.uid).filter((p) => matches(p.metadata.labels));
  }

  private sync(k: string): void {
    const { store, clock } = this.ctx;
    const [ns, name] = splitKey(k);
    const rs = store.find(REPLICASETS, ns, name);
    if (!rs) return;
    const now = clock.now();
    let active = ReplicaSetController.ownedPods(this.ctx, rs).filter(isPodActive);
    const want = rs.spec?.replicas ?? 1;
    let failure: ApiError | undefined;
    if (!rs.metadata.deletionTimestamp) {
      if (active.length < want) {
        const created: KubeObject[] = [];
        for (let i = active.length; i < want; i++) {
          try {
            created.push(
              createPodWithGeneratedName(this.ctx, rs, `${name}-`, (podName) =>
                podFromTemplate(rs, rs.spec.template, podName),
              ),
            );
          } catch (error) {
            // Refused by admission or validation (a missing ServiceAccount, say): stop this pass, as the
            // controller's slow-start batches do, and tell the owner.
            if (!(error instanceof ApiError)) throw error;
            failure = error;
            break;
          }
        }
        active = [...active, ...created];
      } else if (active.length > want) {
        const doomed = [...active].sort(deletionRank).slice(0, active.length - want);
        for (const pod of doomed) {
          if (store.find(PODS, ns, pod.metadata.name)) store.delete(PODS, ns, pod.metadata.name);
        }
        const gone = new Set(doomed);
        active = active.filter((p) => !gone.has(p));
      }
    }

    const minReady = rs.spec?.minReadySeconds ?? 0;
    let available = 0;
    let nextAvailable = Number.POSITIVE_INFINITY;
    for (const pod of active) {
      const at = availableAt(pod, minReady);
      if (at === undefined) continue;
      if (at <= now) available++;
      else nextAvailable = Math.min(nextAvailable, at);
    }
    const labels = rs.spec?.template?.metadata?.labels ?? {};
    const status: KubeObject = {
      replicas: active.length,
      fullyLabeledReplicas: active.filter((p) => Object.entries(labels).every(([l, v]) => p.metadata.labels?.[l] === v))
        .length,
      readyReplicas: active.filter(isPodReady).length,
      availableReplicas: available,
      observedGeneration: rs.metadata.generation,
    };
    let conditions: KubeObject[] = (rs.status?.conditions ?? []).filter((c: KubeObject) => c.type !== 'ReplicaFailure');
    if (failure) {
      this.ctx.events.record(rs, 'Warning', 'FailedCreate', `Error creating: ${failure.message}`, {
        component: 'replicaset-controller',
      });
      conditions = setCondition(
        rs.status?.conditions ?? [],
        { type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: failure.message },
        now,
      );
      // The work queue's rate limit, simplified: try again in 10 s.
      this.queue.addAfter(k, FAILED_CREATE_RETRY_MS);
    }
    if (conditions.length > 0) status.conditions = conditions;
    if (JSON.stringify(rs.status ?? {}) !== JSON.stringify(status)) {
      writeStatus(store, REPLICASETS, rs, status, MANAGER);
    }
    if (Number.isFinite(nextAvailable)) this.queue.addAfter(k, nextAvailable - now);
  }
}
