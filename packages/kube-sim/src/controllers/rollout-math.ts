/**
 * The arithmetic of a Deployment's RollingUpdate, as kube-controller-manager does it: resolve maxSurge /
 * maxUnavailable (percentages: surge rounds up, unavailable rounds down; both zero means unavailable 1),
 * how far the new ReplicaSet may grow, and how many old pods may go.
 */

export type IntOrPercent = number | string | undefined;

/** `25%` of `total`, rounded up or down; a plain number as is. */
export function scaledValue(value: IntOrPercent, total: number, roundUp: boolean, fallback: string): number {
  const v = value ?? fallback;
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) {
    const n = Number(v);
    if (Number.isInteger(n)) return n;
    throw new Error(`invalid value for IntOrString: invalid type: string is not a percentage: "${v}"`);
  }
  const exact = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/** [maxSurge, maxUnavailable] for `replicas` desired pods. */
export function resolveFenceposts(
  maxSurge: IntOrPercent,
  maxUnavailable: IntOrPercent,
  replicas: number,
): [number, number] {
  const surge = scaledValue(maxSurge, replicas, true, '25%');
  let unavailable = scaledValue(maxUnavailable, replicas, false, '25%');
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return [surge, Math.min(unavailable, replicas)];
}

export interface RsCounts {
  /** spec.replicas */
  replicas: number;
  /** status.availableReplicas */
  available: number;
}

/** The new ReplicaSet's next spec.replicas in a rolling update. */
export function newReplicaSetReplicas(desired: number, maxSurge: number, newRs: RsCounts, all: RsCounts[]): number {
  if (newRs.replicas === desired) return desired;
  if (newRs.replicas > desired) return desired;
  const maxTotal = desired + maxSurge;
  const current = all.reduce((sum, rs) => sum + rs.replicas, 0);
  if (current >= maxTotal) return newRs.replicas;
  const scaleUp = Math.min(maxTotal - current, desired - newRs.replicas);
  return newRs.replicas + scaleUp;
}

/**
 * Scale down old ReplicaSets (oldest first) as far as availability allows. Returns the new spec.replicas of
 * each old ReplicaSet, in the order given. First removes pods that are not available anyway (they cost no
 * availability), then available ones down to `desired - maxUnavailable`.
 */
export function scaleDownOld(desired: number, maxUnavailable: number, newRs: RsCounts, old: RsCounts[]): number[] {
  const result = old.map((rs) => rs.replicas);
  const oldTotal = result.reduce((a, b) => a + b, 0);
  if (oldTotal === 0) return result;
  const allTotal = oldTotal + newRs.replicas;
  const minAvailable = desired - maxUnavailable;
  const newUnavailable = Math.max(0, newRs.replicas - newRs.available);
  const maxScaledDown = allTotal - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return result;

  let cleaned = 0;
  for (let i = 0; i < old.length && cleaned < maxScaledDown; i++) {
    const unhealthy = Math.max(0, result[i]! - old[i]!.available);
    const n = Math.min(maxScaledDown - cleaned, unhealthy);
    result[i] = result[i]! - n;
    cleaned += n;
  }

  // Availability counted after the clean-up: the pods removed above were not available.
  const available = newRs.available + old.reduce((sum, rs, i) => sum + Math.min(rs.available, result[i]!), 0);
  if (available <= minAvailable) return result;
  let toRemove = available - minAvailable;
  for (let i = 0; i < old.length && toRemove > 0; i++) {
    const n = Math.min(result[i]!, toRemove);
    result[i] = result[i]! - n;
    toRemove -= n;
  }
  return result;
}
