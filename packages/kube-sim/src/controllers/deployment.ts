/**
 * The Deployment controller, after kube-controller-manager's: one ReplicaSet per pod template (named
 * `<deployment>-<pod-template-hash>`), revisions in `deployment.kubernetes.io/revision` (an old template coming
 * back reuses its ReplicaSet and takes the next number), RollingUpdate and Recreate, `paused`, the Progressing
 * and Available conditions with the progress deadline, revisionHistoryLimit and the status fields
 * `kubectl rollout status` reads.
 */
import { copyJson } from '../frozen';
import type { KubeObject } from '../store';
import {
  condition,
  controllerRef,
  DEPLOYMENTS,
  enqueueOwner,
  isPodUnfinished,
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
import { podTemplateHash, sameTemplate } from './hash';
import { WorkQueue } from './queue';
import { newReplicaSetReplicas, resolveFenceposts, scaleDownOld } from './rollout-math';

export const REVISION = 'deployment.kubernetes.io/revision';
const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
const DESIRED = 'deployment.kubernetes.io/desired-replicas';
const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
/** Deployment annotations that are not copied onto its ReplicaSets (as in deployment_util.go). */
const SKIP_COPY = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION,
  REVISION_HISTORY,
  DESIRED,
  MAX_REPLICAS,
  'deprecated.deployment.rollback.to',
]);

export function revisionOf(obj: KubeObject): number {
  const n = Number(obj.metadata?.annotations?.[REVISION] ?? 0);
  return Number.isFinite(n) ? n : 0;
}

const replicasOf = (obj: KubeObject): number => obj.spec?.replicas ?? 1;

export class DeploymentController {
  readonly queue: WorkQueue;

  constructor(private readonly ctx: ControllerContext) {
    this.queue = new WorkQueue('deployment', (k) => this.sync(k), ctx.clock, ctx.signal, ctx.budget);
  }

  start(): () => void {
    const { store } = this.ctx;
    const stops = [
      store.watch(DEPLOYMENTS, undefined, undefined, (e) =>
        this.queue.add(key(e.object.metadata.namespace, e.object.metadata.name)),
      ),
      store.watch(REPLICASETS, undefined, undefined, enqueueOwner('Deployment', this.queue)),
      // Recreate waits for the old pods to be gone.
      store.watch(PODS, undefined, undefined, (e) => {
        if (e.type !== 'DELETED') return;
        const ref = controllerRef(e.object);
        const hash = e.object.metadata.labels?.['pod-template-hash'];
        if (ref?.kind === 'ReplicaSet' && hash && ref.name.endsWith(`-${hash}`)) {
          this.queue.add(key(e.object.metadata.namespace, ref.name.slice(0, -hash.length - 1)));
        }
      }),
    ];
    return () => {
      for (const stop of stops) stop();
    };
  }

  private sync(k: string): void {
    const { store, clock } = this.ctx;
    const [ns, name] = splitKey(k);
    const d = store.find(DEPLOYMENTS, ns, name);
    if (!d || d.metadata.deletionTimestamp) return;
    const now = clock.now();
    const desired = replicasOf(d);
    const owned = this.ctx.replicaSets.owned(d.metadata.uid);
    const template = d.spec?.template ?? {};
    let newRs = owned.find((rs) => sameTemplate(rs.spec?.template, template));
    const old = owned
      .filter((rs) => rs !== newRs)
      .sort(
        (a, b) =>
          a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp) || revisionOf(a) - revisionOf(b),
      );
    const maxOldRevision = old.reduce((m, rs) => Math.max(m, revisionOf(rs)), 0);
    const paused = d.spec?.paused === true;
    const strategy = d.spec?.strategy?.type ?? 'RollingUpdate';
    const [maxSurge, maxUnavailable] =
      strategy === 'Recreate'
        ? [0, 0]
        : resolveFenceposts(
            d.spec?.strategy?.rollingUpdate?.maxSurge,
            d.spec?.strategy?.rollingUpdate?.maxUnavailable,
            desired,
          );
    let created = false;

    if (newRs) newRs = this.syncRevision(d, newRs, maxOldRevision + 1, desired + maxSurge);

    if (paused) {
      // A paused Deployment only follows scaling, and only when one ReplicaSet is active.
      const active = owned.filter((rs) => replicasOf(rs) > 0);
      const only = newRs && active.every((rs) => rs === newRs) ? newRs : active.length === 1 ? active[0] : undefined;
      if (only && replicasOf(only) !== desired) this.scale(d, only, desired, desired + maxSurge);
    } else if (strategy === 'Recreate') {
      for (const rs of old) if (replicasOf(rs) > 0) this.scale(d, rs, 0, desired);
      // oldPodsRunning: any old pod not Succeeded or Failed, Terminating ones included, holds the new ones back.
      const oldPodsLeft = old.some((rs) => this.ctx.pods.owned(rs.metadata.uid).some(isPodUnfinished));
      if (!oldPodsLeft) {
        if (!newRs) {
          newRs = this.createReplicaSet(d, desired, maxOldRevision + 1, desired);
          created = true;
        } else if (replicasOf(newRs) !== desired) newRs = this.scale(d, newRs, desired, desired);
      }
    } else {
      const counts = (rs: KubeObject) => ({ replicas: replicasOf(rs), available: rs.status?.availableReplicas ?? 0 });
      const oldCounts = old.map(counts);
      if (!newRs) {
        const replicas = newReplicaSetReplicas(desired, maxSurge, { replicas: 0, available: 0 }, oldCounts);
        newRs = this.createReplicaSet(d, replicas, maxOldRevision + 1, desired + maxSurge);
        created = true;
      } else {
        const replicas = newReplicaSetReplicas(desired, maxSurge, counts(newRs), [...oldCounts, counts(newRs)]);
        if (replicas !== replicasOf(newRs)) newRs = this.scale(d, newRs, replicas, desired + maxSurge);
      }
      const next = scaleDownOld(desired, maxUnavailable, counts(newRs), oldCounts);
      old.forEach((rs, i) => {
        if (next[i] !== replicasOf(rs)) old[i] = this.scale(d, rs, next[i]!, desired + maxSurge);
      });
    }

    const all = newRs ? [...old, newRs] : old;
    const status = this.syncStatus(d, newRs, all, maxUnavailable, created, now);
    if (!paused && isComplete(d, status)) this.cleanup(d, old);
  }

  /** Give a reused ReplicaSet the next revision (a rollback) and copy the Deployment's annotations onto it. */
  private syncRevision(d: KubeObject, rs: KubeObject, nextRevision: number, maxReplicas: number): KubeObject {
    const annotations = this.annotationsFor(d, rs, nextRevision, maxReplicas);
    const current = rs.metadata.annotations ?? {};
    const same =
      Object.keys(annotations).length === Object.keys(current).length &&
      Object.entries(annotations).every(([k, v]) => current[k] === v);
    const updated = same
      ? rs
      : this.ctx.store.modify(
          REPLICASETS,
          rs.metadata.namespace,
          rs.metadata.name,
          (draft) => {
            draft.metadata.annotations = this.annotationsFor(d, draft, nextRevision, maxReplicas);
          },
          { fieldManager: MANAGER },
        );
    this.setDeploymentRevision(d, String(revisionOf(updated)));
    return updated;
  }

  private annotationsFor(
    d: KubeObject,
    rs: KubeObject,
    nextRevision: number,
    maxReplicas: number,
  ): Record<string, string> {
    const current: Record<string, string> = { ...(rs.metadata.annotations ?? {}) };
    for (const [k, v] of Object.entries((d.metadata.annotations ?? {}) as Record<string, string>)) {
      if (!SKIP_COPY.has(k)) current[k] = v;
    }
    const had = revisionOf(rs);
    if (had < nextRevision) {
      current[REVISION] = String(nextRevision);
      if (had > 0) {
        const history = current[REVISION_HISTORY] ? current[REVISION_HISTORY].split(',') : [];
        history.push(String(had));
        current[REVISION_HISTORY] = history.join(',');
      }
    }
    current[DESIRED] = String(replicasOf(d));
    current[MAX_REPLICAS] = String(maxReplicas);
    return current;
  }

  private setDeploymentRevision(d: KubeObject, revision: string): void {
    if (d.metadata.annotations?.[REVISION] === revision) return;
    this.ctx.store.modify(
      DEPLOYMENTS,
      d.metadata.namespace,
      d.metadata.name,
      (draft) => {
        draft.metadata.annotations = { ...(draft.metadata.annotations ?? {}), [REVISION]: revision };
      },
      { fieldManager: MANAGER },
    );
  }

  private createReplicaSet(d: KubeObject, replicas: number, revision: number, maxReplicas: number): KubeObject {
    const { store } = this.ctx;
    const collisionCount = d.status?.collisionCount ?? 0;
    const hash = podTemplateHash(d.spec.template, collisionCount);
    const template = copyJson(d.spec.template ?? {});
    template.metadata = { ...(template.metadata ?? {}) };
    template.metadata.labels = { ...(template.metadata.labels ?? {}), 'pod-template-hash': hash };
    const selector = copyJson(d.spec.selector ?? {});
    selector.matchLabels = { ...(selector.matchLabels ?? {}), 'pod-template-hash': hash };
    const rs: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        namespace: d.metadata.namespace,
        labels: template.metadata.labels,
        annotations: {},
        ownerReferences: [ownerReference(d)],
      },
      spec: {
        replicas,
        minReadySeconds: d.spec.minReadySeconds ?? 0,
        selector,
        template,
      },
    };
    rs.metadata.annotations = this.annotationsFor(d, rs, revision, maxReplicas);
    const stored = store.create(rs, { fieldManager: MANAGER });
    this.setDeploymentRevision(store.get(DEPLOYMENTS, d.metadata.namespace, d.metadata.name), String(revision));
    if (replicas > 0) this.scaledEvent(d, stored, 0, replicas);
    return stored;
  }

  private scale(d: KubeObject, rs: KubeObject, replicas: number, maxReplicas: number): KubeObject {
    const from = replicasOf(rs);
    const updated = this.ctx.store.modify(
      REPLICASETS,
      rs.metadata.namespace,
      rs.metadata.name,
      (draft) => {
        draft.spec.replicas = replicas;
        draft.metadata.annotations = {
          ...(draft.metadata.annotations ?? {}),
          [DESIRED]: String(replicasOf(d)),
          [MAX_REPLICAS]: String(maxReplicas),
        };
      },
      { fieldManager: MANAGER },
    );
    if (from !== replicas) this.scaledEvent(d, updated, from, replicas);
    return updated;
  }

  private scaledEvent(d: KubeObject, rs: KubeObject, from: number, to: number): void {
    const direction = to > from ? 'up' : 'down';
    this.ctx.events.record(
      d,
      'Normal',
      'ScalingReplicaSet',
      `Scaled ${direction} replica set ${rs.metadata.name} from ${from} to ${to}`,
      {
        component: 'deployment-controller',
      },
    );
  }

  private syncStatus(
    d: KubeObject,
    newRs: KubeObject | undefined,
    all: KubeObject[],
    maxUnavailable: number,
    created: boolean,
    now: number,
  ): KubeObject {
    const { store } = this.ctx;
    const desired = replicasOf(d);
    const sum = (f: (rs: KubeObject) => number) => all.reduce((n, rs) => n + f(rs), 0);
    const available = sum((rs) => rs.status?.availableReplicas ?? 0);
    const specTotal = sum(replicasOf);
    const prev = d.status ?? {};
    const status: KubeObject = {
      observedGeneration: d.metadata.generation,
      replicas: sum((rs) => rs.status?.replicas ?? 0),
      updatedReplicas: newRs?.status?.replicas ?? 0,
      readyReplicas: sum((rs) => rs.status?.readyReplicas ?? 0),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, specTotal - available),
    };
    if (prev.collisionCount !== undefined) status.collisionCount = prev.collisionCount;
    let conditions: KubeObject[] = prev.conditions ?? [];
    conditions =
      available >= desired - maxUnavailable
        ? setCondition(
            conditions,
            {
              type: 'Available',
              status: 'True',
              reason: 'MinimumReplicasAvailable',
              message: 'Deployment has minimum availability.',
            },
            now,
            { withUpdateTime: true },
          )
        : setCondition(
            conditions,
            {
              type: 'Available',
              status: 'False',
              reason: 'MinimumReplicasUnavailable',
              message: 'Deployment does not have minimum availability.',
            },
            now,
            { withUpdateTime: true },
          );

    const deadline = d.spec?.progressDeadlineSeconds ?? 600;
    const progressing = condition({ status: { conditions } }, 'Progressing');
    const rsName = newRs?.metadata.name;
    const set = (s: string, reason: string, message: string, touch = false) => {
      conditions = setCondition(conditions, { type: 'Progressing', status: s, reason, message }, now, {
        withUpdateTime: true,
        touch,
      });
    };
    if (d.spec?.paused) {
      set('Unknown', 'DeploymentPaused', 'Deployment is paused');
    } else if (progressing?.reason === 'DeploymentPaused') {
      set('Unknown', 'DeploymentResumed', 'Deployment is resumed');
    } else if (created && rsName) {
      set('True', 'NewReplicaSetCreated', `Created new replica set "${rsName}"`, true);
    } else if (rsName && isComplete(d, status)) {
      set('True', 'NewReplicaSetAvailable', `ReplicaSet "${rsName}" has successfully progressed.`);
    } else if (rsName && madeProgress(prev, status)) {
      set('True', 'ReplicaSetUpdated', `ReplicaSet "${rsName}" is progressing.`, true);
    } else if (rsName && !progressing) {
      set('True', 'FoundNewReplicaSet', `Found new replica set "${rsName}"`, true);
    } else if (rsName && progressing && progressing.reason !== 'NewReplicaSetAvailable') {
      const from = parseTime(progressing.lastUpdateTime) ?? now;
      if (progressing.reason === 'ProgressDeadlineExceeded' || from + deadline * 1000 < now) {
        set('False', 'ProgressDeadlineExceeded', `ReplicaSet "${rsName}" has timed out progressing.`);
      }
    }
    // A ReplicaSet's pods refused (FailedCreate) show on the Deployment as ReplicaFailure, until they are not.
    const failure = all.map((rs) => condition(rs, 'ReplicaFailure')).find((c) => c?.status === 'True');
    conditions = failure
      ? setCondition(
          conditions,
          { type: 'ReplicaFailure', status: 'True', reason: failure.reason, message: failure.message },
          now,
          {
            withUpdateTime: true,
          },
        )
      : conditions.filter((c) => c.type !== 'ReplicaFailure');
    status.conditions = conditions;

    const written =
      JSON.stringify(prev) === JSON.stringify(status) ? d : writeStatus(store, DEPLOYMENTS, d, status, MANAGER);

    // Look again once the deadline has passed, since nothing else may happen until then.
    const cond = condition({ status }, 'Progressing');
    if (!d.spec?.paused && cond?.status === 'True' && cond.reason !== 'NewReplicaSetAvailable') {
      const from = parseTime(cond.lastUpdateTime) ?? now;
      this.queue.addAfter(key(d.metadata.namespace, d.metadata.name), from + deadline * 1000 - now + 1000);
    }
    return written.status ?? status;
  }

  /** Delete old ReplicaSets with no pods beyond revisionHistoryLimit, oldest revisions first. */
  private cleanup(d: KubeObject, old: KubeObject[]): void {
    const limit = d.spec?.revisionHistoryLimit ?? 10;
    const idle = old
      .filter((rs) => replicasOf(rs) === 0 && (rs.status?.replicas ?? 0) === 0 && !rs.metadata.deletionTimestamp)
      .sort((a, b) => revisionOf(a) - revisionOf(b));
    const excess = idle.length - limit;
    for (let i = 0; i < excess; i++) {
      const rs = idle[i]!;
      if (this.ctx.store.find(REPLICASETS, rs.metadata.namespace, rs.metadata.name)) {
        this.ctx.store.delete(REPLICASETS, rs.metadata.namespace, rs.metadata.name);
      }
    }
  }
}

/** The rollout is done: every pod is of the new template and available (what NewReplicaSetAvailable means). */
function isComplete(d: KubeObject, status: KubeObject): boolean {
  const desired = replicasOf(d);
  return (
    status.updatedReplicas === desired &&
    status.replicas === desired &&
    status.availableReplicas === desired &&
    status.observedGeneration >= d.metadata.generation
  );
}

/** The same test as deploymentutil.DeploymentProgressing: more updated, ready or available pods, or fewer old ones. */
function madeProgress(prev: KubeObject, next: KubeObject): boolean {
  const oldOld = (prev.replicas ?? 0) - (prev.updatedReplicas ?? 0);
  const newOld = next.replicas - next.updatedReplicas;
  return (
    next.updatedReplicas > (prev.updatedReplicas ?? 0) ||
    newOld < oldOld ||
    next.readyReplicas > (prev.readyReplicas ?? 0) ||
    next.availableReplicas > (prev.availableReplicas ?? 0)
  );
}

/** A label matcher for a Deployment's pods (for callers that look at them). */
export function deploymentSelector(d: KubeObject) {
  return labelSelectorFromObject(d.spec?.selector ?? {});
}
