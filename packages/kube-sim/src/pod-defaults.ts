/**
 * The defaults the API server writes into every pod spec it decodes (k8s.io/kubernetes pkg/apis/core/v1
 * defaults.go), in Pods and in the pod templates of workloads, on create and on update: code comparing a live
 * template with a manifest sees what it would see on a real cluster. Pods also get the admission plugins'
 * additions (priority, the not-ready/unreachable tolerations of DefaultTolerationSeconds).
 */
import type { KubeObject } from './types';

const isObject = (v: unknown): v is KubeObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `latest` or no tag: Always; a tag or digest: IfNotPresent (SetDefaults_Container). */
function pullPolicy(image: unknown): string {
  if (typeof image !== 'string') return 'IfNotPresent';
  if (image.includes('@')) return 'IfNotPresent';
  const last = image.slice(image.lastIndexOf('/') + 1);
  const tag = last.includes(':') ? last.slice(last.indexOf(':') + 1) : '';
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function probe(p: unknown): void {
  if (!isObject(p)) return;
  p.timeoutSeconds ??= 1;
  p.periodSeconds ??= 10;
  p.successThreshold ??= 1;
  p.failureThreshold ??= 3;
  if (isObject(p.httpGet)) p.httpGet.scheme ??= 'HTTP';
}

function container(c: unknown): void {
  if (!isObject(c)) return;
  c.imagePullPolicy ??= pullPolicy(c.image);
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  c.resources ??= {};
  for (const port of Array.isArray(c.ports) ? c.ports : []) if (isObject(port)) port.protocol ??= 'TCP';
  for (const env of Array.isArray(c.env) ? c.env : []) {
    if (isObject(env) && isObject(env.valueFrom) && isObject(env.valueFrom.fieldRef)) {
      env.valueFrom.fieldRef.apiVersion ??= 'v1';
    }
  }
  probe(c.livenessProbe);
  probe(c.readinessProbe);
  probe(c.startupProbe);
}

/** SetDefaults_PodSpec and what it implies for containers and volumes. */
export function defaultPodSpec(spec: unknown): void {
  if (!isObject(spec)) return;
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  spec.terminationGracePeriodSeconds ??= 30;
  for (const list of [spec.containers, spec.initContainers]) {
    for (const c of Array.isArray(list) ? list : []) container(c);
  }
  for (const v of Array.isArray(spec.volumes) ? spec.volumes : []) {
    if (!isObject(v)) continue;
    if (isObject(v.configMap)) v.configMap.defaultMode ??= 420;
    if (isObject(v.secret)) v.secret.defaultMode ??= 420;
    if (isObject(v.projected)) v.projected.defaultMode ??= 420;
  }
}

const NOT_READY_TOLERATIONS = ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'];

/** A Pod's spec defaults plus admission's (Priority, DefaultTolerationSeconds). */
export function defaultPod(pod: KubeObject): void {
  const spec = pod.spec;
  if (!isObject(spec)) return;
  defaultPodSpec(spec);
  spec.enableServiceLinks ??= true;
  spec.priority ??= 0;
  spec.preemptionPolicy ??= 'PreemptLowerPriority';
  const tolerations: KubeObject[] = Array.isArray(spec.tolerations) ? spec.tolerations : [];
  for (const key of NOT_READY_TOLERATIONS) {
    const tolerated = tolerations.some(
      (t) =>
        isObject(t) &&
        (t.key === key || (t.operator === 'Exists' && !t.key)) &&
        (!t.effect || t.effect === 'NoExecute'),
    );
    if (!tolerated) tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
  }
  spec.tolerations = tolerations;
}

/** The pod template of a workload kind, wherever it sits. */
export function templateOf(kind: string, obj: KubeObject): KubeObject | undefined {
  switch (kind) {
    case 'apps/Deployment':
    case 'apps/ReplicaSet':
    case 'apps/StatefulSet':
    case 'apps/DaemonSet':
    case 'batch/Job':
    case '/ReplicationController':
    case '/PodTemplate':
      return kind === '/PodTemplate' ? obj.template : obj.spec?.template;
    case 'batch/CronJob':
      return obj.spec?.jobTemplate?.spec?.template;
    default:
      return undefined;
  }
}

/** SetDefaults_Job and SetDefaults_CronJob. */
export function defaultJobSpec(spec: unknown): void {
  if (!isObject(spec)) return;
  spec.completionMode ??= 'NonIndexed';
  // A non-parallel Job leaves both unset: both become 1.
  if (spec.completions === undefined && spec.parallelism === undefined) spec.completions = 1;
  spec.parallelism ??= 1;
  spec.backoffLimit ??= 6;
  spec.suspend ??= false;
  if (spec.podFailurePolicy === undefined) spec.podReplacementPolicy ??= 'TerminatingOrFailed';
}

export function defaultCronJobSpec(spec: unknown): void {
  if (!isObject(spec)) return;
  spec.concurrencyPolicy ??= 'Allow';
  spec.suspend ??= false;
  spec.successfulJobsHistoryLimit ??= 3;
  spec.failedJobsHistoryLimit ??= 1;
  if (isObject(spec.jobTemplate)) defaultJobSpec(spec.jobTemplate.spec);
}
