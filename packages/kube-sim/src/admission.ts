/**
 * The defaulting the real API server itself does on create (not the controllers): Job selectors and
 * template labels, Service cluster IPs and port defaults, the Pending phase of new Pods, namespace labels.
 */
import { forbidden } from './errors';
import { defaultCronJobSpec, defaultJobSpec, defaultPod, defaultPodSpec, templateOf } from './pod-defaults';
import type { ResourceType } from './resources';
import type { Admission, KubeObject } from './types';

/**
 * The ServiceAccount admission plugin on a new Pod: `serviceAccountName` defaults to `default`, and a pod
 * whose service account does not exist is refused (403), named as admission.NewForbidden names it.
 */
export function admitServiceAccount(
  pod: KubeObject,
  shownName: string,
  exists: (namespace: string, name: string) => boolean,
): void {
  const spec = pod.spec;
  if (!spec || typeof spec !== 'object') return;
  spec.serviceAccountName ||= spec.serviceAccount || 'default';
  spec.serviceAccount = spec.serviceAccountName;
  const ns = pod.metadata.namespace as string;
  const sa = spec.serviceAccountName as string;
  if (pod.metadata.annotations?.['kubernetes.io/config.mirror'] !== undefined) return;
  if (!exists(ns, sa)) {
    throw forbidden(
      'pods',
      '',
      shownName,
      `error looking up service account ${ns}/${sa}: serviceaccount "${sa}" not found`,
    );
  }
}

export function apiServerDefaults(): Admission {
  let nextIp = 1;
  return (type: ResourceType, obj: KubeObject, old: KubeObject | undefined) => {
    const kind = `${type.group}/${type.kind}`;
    if (kind === '/Service') {
      obj.spec ??= {};
      const spec = obj.spec;
      spec.type ??= 'ClusterIP';
      spec.sessionAffinity ??= 'None';
      if (spec.type !== 'ExternalName') {
        if (old?.spec?.clusterIP && !spec.clusterIP) spec.clusterIP = old.spec.clusterIP;
        // A changed clusterIP with the old clusterIPs carried along: the primary follows it (normalizeClusterIPs),
        // and the update validation then refuses the change.
        const oldIps = old?.spec?.clusterIPs;
        if (old && Array.isArray(spec.clusterIPs) && Array.isArray(oldIps) && spec.clusterIP !== old.spec.clusterIP) {
          if (
            spec.clusterIPs.length === oldIps.length &&
            spec.clusterIPs.every((ip: string, i: number) => ip === oldIps[i])
          ) {
            spec.clusterIPs = [spec.clusterIP, ...spec.clusterIPs.slice(1)];
          }
        }
        if (!spec.clusterIP) {
          spec.clusterIP = `10.96.${Math.floor(nextIp / 254)}.${(nextIp % 254) + 1}`;
          nextIp++;
        }
        spec.clusterIPs ??= [spec.clusterIP];
      }
      for (const p of spec.ports ?? []) {
        p.protocol ??= 'TCP';
        p.targetPort ??= p.port;
      }
      return;
    }
    // Decoding defaults, on every write: pod templates, Pods, Jobs and CronJobs.
    const template = templateOf(kind, obj);
    if (template) defaultPodSpec(template.spec);
    if (kind === '/Pod') defaultPod(obj);
    else if (kind === 'batch/Job') defaultJobSpec(obj.spec);
    else if (kind === 'batch/CronJob') defaultCronJobSpec(obj.spec);
    if (old) return;
    if (kind === 'batch/Job' && !obj.spec?.manualSelector) {
      const uid = obj.metadata.uid as string;
      const labels = { 'batch.kubernetes.io/controller-uid': uid, 'batch.kubernetes.io/job-name': obj.metadata.name };
      obj.spec ??= {};
      obj.spec.selector ??= { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
      obj.spec.template ??= {};
      const tmeta = obj.spec.template.metadata ?? {};
      obj.spec.template.metadata = tmeta;
      tmeta.labels = { ...(tmeta.labels ?? {}), ...labels, 'controller-uid': uid, 'job-name': obj.metadata.name };
    } else if (kind === '/Pod') {
      obj.status = { phase: 'Pending', qosClass: 'BestEffort' };
    } else if (kind === '/Namespace') {
      obj.metadata.labels = { ...(obj.metadata.labels ?? {}), 'kubernetes.io/metadata.name': obj.metadata.name };
      obj.spec ??= { finalizers: ['kubernetes'] };
      obj.status = { phase: 'Active' };
    }
  };
}
