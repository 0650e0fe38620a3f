/**
 * The default scheduler's filters, simplified: which nodes a pod fits, and the message a real scheduler
 * writes when none does. Filters run in the default profile's order and stop at a node's first failure:
 * NodeUnschedulable (`spec.unschedulable`), TaintToleration (NoSchedule and NoExecute taints),
 * NodeAffinity (`nodeSelector` and required node affinity), NodeResourcesFit (cpu and memory requests
 * against allocatable minus the requests of the pods already bound there). The Kubelet runs the flow.
 */
import { parseQuantity } from '@deploy-actions/core/quantity';
import type { KubeObject } from '../store';

export { parseQuantity };

/** cpu in millicores, memory in bytes. */
export interface Requests {
  cpu: number;
  memory: number;
}

/** Rounded up, as Quantity.MilliValue() and Value() do (tolerating binary floating point noise). */
function ceil(x: number): number {
  return Math.ceil(Math.round(x * 1e6) / 1e6);
}

/** Millicores of a cpu quantity (`250m` → 250, `1` → 1000); 0 when absent or malformed. */
export function milliCpu(value: unknown): number {
  const q = parseQuantity(value);
  return q === undefined || q <= 0 ? 0 : ceil(q * 1000);
}

/** Bytes of a memory quantity (`128Mi` → 134217728); 0 when absent or malformed. */
export function bytes(value: unknown): number {
  const q = parseQuantity(value);
  return q === undefined || q <= 0 ? 0 : ceil(q);
}

function containerRequests(c: KubeObject): Requests {
  // The API server defaults a missing request to the limit.
  const req = c.resources?.requests ?? {};
  const lim = c.resources?.limits ?? {};
  return { cpu: milliCpu(req.cpu ?? lim.cpu), memory: bytes(req.memory ?? lim.memory) };
}

/**
 * What the scheduler counts for a pod: the sum over its containers, or the largest init container when that
 * is more, plus `spec.overhead`.
 */
export function podRequests(pod: KubeObject): Requests {
  const total: Requests = { cpu: 0, memory: 0 };
  for (const c of pod.spec?.containers ?? []) {
    const r = containerRequests(c);
    total.cpu += r.cpu;
    total.memory += r.memory;
  }
  for (const c of pod.spec?.initContainers ?? []) {
    const r = containerRequests(c);
    total.cpu = Math.max(total.cpu, r.cpu);
    total.memory = Math.max(total.memory, r.memory);
  }
  total.cpu += milliCpu(pod.spec?.overhead?.cpu);
  total.memory += bytes(pod.spec?.overhead?.memory);
  return total;
}

/** status.qosClass as the API server computes it from requests and limits. */
export function qosClass(pod: KubeObject): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const containers: KubeObject[] = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    for (const r of ['cpu', 'memory']) {
      const l = lim[r];
      const q = req[r] ?? l;
      if (q !== undefined || l !== undefined) any = true;
      if (l === undefined || parseQuantity(q) !== parseQuantity(l)) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/** Why one node does not fit; `resolvable` when preemption could help in principle (resources). */
export interface NodeFailure {
  reasons: string[];
  resolvable: boolean;
}

function tolerates(pod: KubeObject, taint: KubeObject): boolean {
  return (pod.spec?.tolerations ?? []).some((t: KubeObject) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (t.operator === 'Exists') return !t.key || t.key === taint.key;
    return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
  });
}

function matchesRequirement(values: Record<string, string>, req: KubeObject): boolean {
  const v = values[req.key];
  const list: string[] = req.values ?? [];
  switch (req.operator) {
    case 'In':
      return v !== undefined && list.includes(v);
    case 'NotIn':
      return v === undefined || !list.includes(v);
    case 'Exists':
      return v !== undefined;
    case 'DoesNotExist':
      return v === undefined;
    case 'Gt':
    case 'Lt': {
      const n = Number.parseInt(v ?? '', 10);
      const bound = Number.parseInt(list[0] ?? '', 10);
      if (Number.isNaN(n) || Number.isNaN(bound)) return false;
      return req.operator === 'Gt' ? n > bound : n < bound;
    }
    default:
      return false;
  }
}

/** nodeSelector and requiredDuringSchedulingIgnoredDuringExecution: terms ORed, expressions ANDed. */
export function matchesNodeAffinity(pod: KubeObject, node: KubeObject): boolean {
  const labels: Record<string, string> = node.metadata?.labels ?? {};
  for (const [k, v] of Object.entries<string>(pod.spec?.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const required = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (!required) return true;
  const fields = { 'metadata.name': node.metadata?.name as string };
  return (required.nodeSelectorTerms ?? []).some((term: KubeObject) => {
    const exprs: KubeObject[] = term.matchExpressions ?? [];
    const fieldExprs: KubeObject[] = term.matchFields ?? [];
    // An empty term selects no node.
    if (exprs.length === 0 && fieldExprs.length === 0) return false;
    return exprs.every((r) => matchesRequirement(labels, r)) && fieldExprs.every((r) => matchesRequirement(fields, r));
  });
}

/** The filters for one node; undefined when the pod fits. `used` is what bound pods already request there. */
export function filterNode(
  pod: KubeObject,
  requests: Requests,
  node: KubeObject,
  used: Requests,
): NodeFailure | undefined {
  if (node.spec?.unschedulable && !tolerates(pod, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }))
    return { reasons: ['node(s) were unschedulable'], resolvable: false };
  const taint = (node.spec?.taints ?? []).find(
    (t: KubeObject) => (t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !tolerates(pod, t),
  );
  if (taint)
    return { reasons: [`node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`], resolvable: false };
  if (!matchesNodeAffinity(pod, node))
    return { reasons: ["node(s) didn't match Pod's node affinity/selector"], resolvable: false };
  if (requests.cpu === 0 && requests.memory === 0) return undefined;
  const allocatable = node.status?.allocatable ?? {};
  const reasons: string[] = [];
  if (requests.cpu > 0 && requests.cpu > milliCpu(allocatable.cpu) - used.cpu) reasons.push('Insufficient cpu');
  if (requests.memory > 0 && requests.memory > bytes(allocatable.memory) - used.memory)
    reasons.push('Insufficient memory');
  return reasons.length > 0 ? { reasons, resolvable: true } : undefined;
}

/** "3 Insufficient cpu, 1 node(s) ..." : each reason counted over the nodes, sorted as strings. */
function histogram(entries: string[]): string {
  const counts = new Map<string, number>();
  for (const e of entries) counts.set(e, (counts.get(e) ?? 0) + 1);
  return [...counts]
    .map(([reason, n]) => `${n} ${reason}`)
    .sort()
    .join(', ');
}

/**
 * The scheduler's FitError text, with the default preemption plugin's part (no pod here has a lower
 * priority to evict): `0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available:
 * 2 No preemption victims found for incoming pod.`
 */
export function fitErrorMessage(failures: NodeFailure[]): string {
  if (failures.length === 0) return 'no nodes available to schedule pods';
  const n = failures.length;
  const filters = histogram(failures.flatMap((f) => f.reasons));
  const preemption = histogram(
    failures.map((f) =>
      f.resolvable ? 'No preemption victims found for incoming pod' : 'Preemption is not helpful for scheduling',
    ),
  );
  return `0/${n} nodes are available: ${filters}. preemption: 0/${n} nodes are available: ${preemption}.`;
}
