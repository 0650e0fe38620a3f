/**
 * Is a workload's rollout finished? The same rules and messages as
 * `kubectl rollout status` (k8s.io/kubectl/pkg/polymorphichelpers/rollout_status.go),
 * so what users read in our logs matches what they know from kubectl.
 * Pure: the waiter feeds it every version of the object a watch delivers.
 */
import type { DaemonSet, Deployment, KubeObject, StatefulSet } from './types';

export type RolloutState = 'done' | 'waiting' | 'failed';

export interface RolloutStatus {
  state: RolloutState;
  message: string;
}

export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';

export const ROLLOUT_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet'] as const;
export type RolloutKind = (typeof ROLLOUT_KINDS)[number];

const waiting = (message: string): RolloutStatus => ({ state: 'waiting', message });

/**
 * @param revision when given (> 0), a Deployment whose revision annotation differs
 *   fails, as `kubectl rollout status --revision` does.
 */
export function deploymentRolloutStatus(deployment: Deployment, revision?: number): RolloutStatus {
  const name = deployment.metadata?.name ?? '';
  if (revision !== undefined && revision > 0) {
    const running = Number(deployment.metadata?.annotations?.[REVISION_ANNOTATION] ?? Number.NaN);
    if (!Number.isInteger(running)) {
      return { state: 'failed', message: `cannot get the revision of deployment "${name}"` };
    }
    if (running !== revision) {
      return {
        state: 'failed',
        message: `desired revision (${revision}) is different from the running revision (${running})`,
      };
    }
  }
  const generation = deployment.metadata?.generation ?? 0;
  const status = deployment.status ?? {};
  if (generation > (status.observedGeneration ?? 0))
    return waiting('Waiting for deployment spec update to be observed...');

  const progressing = status.conditions?.find((condition) => condition.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return { state: 'failed', message: `deployment "${name}" exceeded its progress deadline` };
  }
  const desired = deployment.spec?.replicas;
  const updated = status.updatedReplicas ?? 0;
  if (desired !== undefined && updated < desired) {
    return waiting(
      `Waiting for deployment "${name}" rollout to finish: ${updated} out of ${desired} new replicas have been updated...`,
    );
  }
  const total = status.replicas ?? 0;
  if (total > updated) {
    return waiting(
      `Waiting for deployment "${name}" rollout to finish: ${total - updated} old replicas are pending termination...`,
    );
  }
  const available = status.availableReplicas ?? 0;
  if (available < updated) {
    return waiting(
      `Waiting for deployment "${name}" rollout to finish: ${available} of ${updated} updated replicas are available...`,
    );
  }
  return { state: 'done', message: `deployment "${name}" successfully rolled out` };
}

export function statefulSetRolloutStatus(statefulSet: StatefulSet): RolloutStatus {
  const spec = statefulSet.spec ?? {};
  const status = statefulSet.status ?? {};
  const strategy = spec.updateStrategy?.type ?? 'RollingUpdate';
  if (strategy !== 'RollingUpdate') {
    return { state: 'failed', message: 'rollout status is only available for RollingUpdate strategy type' };
  }
  const observed = status.observedGeneration ?? 0;
  if (observed === 0 || (statefulSet.metadata?.generation ?? 0) > observed) {
    return waiting('Waiting for statefulset spec update to be observed...');
  }
  const ready = status.readyReplicas ?? 0;
  if (spec.replicas !== undefined && ready < spec.replicas) {
    return waiting(`Waiting for ${spec.replicas - ready} pods to be ready...`);
  }
  const updated = status.updatedReplicas ?? 0;
  const partition = spec.updateStrategy?.rollingUpdate?.partition;
  if (partition !== undefined) {
    if (spec.replicas !== undefined && updated < spec.replicas - partition) {
      return waiting(
        `Waiting for partitioned roll out to finish: ${updated} out of ${spec.replicas - partition} new pods have been updated...`,
      );
    }
    return { state: 'done', message: `partitioned roll out complete: ${updated} new pods have been updated...` };
  }
  if (status.updateRevision !== status.currentRevision) {
    return waiting(
      `waiting for statefulset rolling update to complete ${updated} pods at revision ${status.updateRevision}...`,
    );
  }
  return {
    state: 'done',
    message: `statefulset rolling update complete ${status.currentReplicas ?? 0} pods at revision ${status.currentRevision}...`,
  };
}

export function daemonSetRolloutStatus(daemonSet: DaemonSet): RolloutStatus {
  const name = daemonSet.metadata?.name ?? '';
  const status = daemonSet.status ?? {};
  const strategy = daemonSet.spec?.updateStrategy?.type ?? 'RollingUpdate';
  if (strategy !== 'RollingUpdate') {
    return { state: 'failed', message: 'rollout status is only available for RollingUpdate strategy type' };
  }
  if ((daemonSet.metadata?.generation ?? 0) > (status.observedGeneration ?? 0)) {
    return waiting('Waiting for daemon set spec update to be observed...');
  }
  const desired = status.desiredNumberScheduled ?? 0;
  const updated = status.updatedNumberScheduled ?? 0;
  if (updated < desired) {
    return waiting(
      `Waiting for daemon set "${name}" rollout to finish: ${updated} out of ${desired} new pods have been updated...`,
    );
  }
  const available = status.numberAvailable ?? 0;
  if (available < desired) {
    return waiting(
      `Waiting for daemon set "${name}" rollout to finish: ${available} of ${desired} updated pods are available...`,
    );
  }
  return { state: 'done', message: `daemon set "${name}" successfully rolled out` };
}

export function isRolloutKind(kind: string | undefined): kind is RolloutKind {
  return (ROLLOUT_KINDS as readonly string[]).includes(kind ?? '');
}

/** Dispatch on `kind`; the revision check applies to Deployments only, as in kubectl. */
export function rolloutStatus(object: KubeObject, kind: RolloutKind, revision?: number): RolloutStatus {
  switch (kind) {
    case 'Deployment':
      return deploymentRolloutStatus(object as Deployment, revision);
    case 'StatefulSet':
      return statefulSetRolloutStatus(object as StatefulSet);
    case 'DaemonSet':
      return daemonSetRolloutStatus(object as DaemonSet);
  }
}
