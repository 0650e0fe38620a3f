/**
 * The apps/v1 defaults a real API server writes on every Deployment, StatefulSet and DaemonSet (kubectl
 * reads some of them: `rollout status` refuses a StatefulSet without `updateStrategy.type`). Registered as
 * an admission step on the store by the controllers.
 */
import type { ResourceType } from '../resources';
import type { KubeObject } from '../store';

export function appsDefaults(type: ResourceType, obj: KubeObject): void {
  if (type.group !== 'apps' || !obj.spec) return;
  const spec = obj.spec;
  if (type.kind === 'Deployment') {
    spec.replicas ??= 1;
    spec.revisionHistoryLimit ??= 10;
    spec.progressDeadlineSeconds ??= 600;
    spec.strategy ??= {};
    spec.strategy.type ??= 'RollingUpdate';
    if (spec.strategy.type === 'RollingUpdate') {
      spec.strategy.rollingUpdate ??= {};
      spec.strategy.rollingUpdate.maxSurge ??= '25%';
      spec.strategy.rollingUpdate.maxUnavailable ??= '25%';
    }
  } else if (type.kind === 'StatefulSet') {
    spec.replicas ??= 1;
    spec.revisionHistoryLimit ??= 10;
    spec.podManagementPolicy ??= 'OrderedReady';
    spec.updateStrategy ??= {};
    spec.updateStrategy.type ??= 'RollingUpdate';
    if (spec.updateStrategy.type === 'RollingUpdate') {
      spec.updateStrategy.rollingUpdate ??= {};
      spec.updateStrategy.rollingUpdate.partition ??= 0;
    }
  } else if (type.kind === 'DaemonSet') {
    spec.revisionHistoryLimit ??= 10;
    spec.updateStrategy ??= {};
    spec.updateStrategy.type ??= 'RollingUpdate';
    if (spec.updateStrategy.type === 'RollingUpdate') {
      spec.updateStrategy.rollingUpdate ??= {};
      spec.updateStrategy.rollingUpdate.maxUnavailable ??= 1;
      spec.updateStrategy.rollingUpdate.maxSurge ??= 0;
    }
  } else if (type.kind === 'ReplicaSet') {
    spec.replicas ??= 1;
  }
}
