/**
 * How long a DELETE of a Pod waits before the object goes, as the API server decides it (the pod strategy's
 * CheckGracefulDelete and the generic registry's BeforeDelete): the period comes from DeleteOptions'
 * `gracePeriodSeconds`, else the pod's `terminationGracePeriodSeconds` (defaulted to 30); a pod not bound to a
 * node, or already Succeeded/Failed, goes at once (no kubelet has anything to stop); a negative period means 1.
 * While a pod is terminating, a second DELETE may only shorten the period, counted from the original deletion.
 * The kubelet (controllers/kubelet.ts) removes the pod when its containers are stopped: at the end of the period.
 */
import { badRequest } from './errors';
import type { KubeObject } from './types';

export type GracefulStep =
  /** Already terminating with an equal or shorter period: nothing changes. */
  | { kind: 'pending' }
  /** Set (or shorten to) this period: deletionTimestamp is when it ends. Zero: the pod goes now. */
  | { kind: 'period'; seconds: number; deletionTimestamp: number }
  /** Not graceful (or a graceful deletion already at 0 s): the ordinary finalizer rules decide. */
  | { kind: 'none' };

export function podDeletionStep(pod: KubeObject, requested: number | undefined, now: number): GracefulStep {
  const meta = pod.metadata;
  if (meta.deletionTimestamp) {
    const current = meta.deletionGracePeriodSeconds as number | undefined;
    if (current === undefined || current === 0) return { kind: 'none' };
    if (requested === undefined || requested >= current) return { kind: 'pending' };
    const seconds = Math.max(requested, 0);
    const deletedAt = Date.parse(meta.deletionTimestamp) - current * 1000;
    return { kind: 'period', seconds, deletionTimestamp: deletedAt + seconds * 1000 };
  }
  let seconds = requested ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
  const phase = pod.status?.phase;
  if (!pod.spec?.nodeName || phase === 'Succeeded' || phase === 'Failed') seconds = 0;
  if (seconds < 0) seconds = 1;
  return { kind: 'period', seconds, deletionTimestamp: now + seconds * 1000 };
}

/** `gracePeriodSeconds` from a DELETE's query or DeleteOptions body: an integer, or 400 as the decoder words it. */
export function parseGracePeriod(value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'string' && /^-?\d{1,18}$/.test(value)) return Number(value);
  throw badRequest(`strconv.ParseInt: parsing ${JSON.stringify(String(value))}: invalid syntax`);
}
