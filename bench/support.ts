/** Small helpers the benchmarks share: the same statistic and the same kubectl baseline everywhere. */
import { kubectlOk } from '../packages/testkit/src/kubectl';

/** The upper median of the samples (the middle one for an odd count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Milliseconds shown as seconds with two decimals. */
export const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

/** `kubectl rollout status` for each Deployment in turn: what a runbook does after changing them. */
export async function kubectlRolloutStatus(names: readonly string[], kubeconfig: string): Promise<void> {
  for (const name of names) {
    await kubectlOk(['rollout', 'status', `deployment/${name}`, '--timeout=300s'], { kubeconfig, timeoutMs: 300_000 });
  }
}
