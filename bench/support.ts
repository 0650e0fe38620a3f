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

/** One measurement of a run: wall time and Kubernetes API requests (and, for ours, the time beyond the cluster's). */
export interface Sample {
  wallMs: number;
  requests: number;
  overheadMs?: number;
}

/**
 * Runs ours and kubectl `rounds` times each, alternating who goes first so neither always meets a warmer
 * simulator; `prepare` puts the cluster in the starting state before every run. Without kubectl, ours only.
 */
export async function alternateRounds(
  rounds: number,
  withKubectl: boolean,
  prepare: () => Promise<void>,
  ours: () => Promise<Sample>,
  kubectl: () => Promise<Sample>,
): Promise<{ ours: Sample[]; kubectl: Sample[] }> {
  const samples = { ours: [] as Sample[], kubectl: [] as Sample[] };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? (['ours', 'kubectl'] as const) : (['kubectl', 'ours'] as const);
    for (const who of order) {
      if (who === 'kubectl' && !withKubectl) continue;
      await prepare();
      samples[who].push(await (who === 'ours' ? ours() : kubectl()));
    }
  }
  return samples;
}

/** One result line: medians of ours and kubectl's wall time and requests, and their ratio. */
export function comparisonLine(label: string, kubectlLabel: string, samples: { ours: Sample[]; kubectl: Sample[] }) {
  const oursWall = median(samples.ours.map((s) => s.wallMs));
  const overhead = samples.ours.some((s) => s.overheadMs !== undefined)
    ? `, own overhead ${seconds(median(samples.ours.map((s) => s.overheadMs ?? 0)))}`
    : '';
  const line = [
    label,
    `ours ${seconds(oursWall)} (${median(samples.ours.map((s) => s.requests))} requests${overhead})`,
  ];
  if (samples.kubectl.length > 0) {
    const kubectlWall = median(samples.kubectl.map((s) => s.wallMs));
    line.push(
      `${kubectlLabel} ${seconds(kubectlWall)} (${median(samples.kubectl.map((s) => s.requests))} requests)`,
      `ratio ours/kubectl ${(oursWall / kubectlWall).toFixed(2)}x`,
    );
  }
  return line.join(' | ');
}

/**
 * One figure for bench/RESULTS.md: `npm run bench` collects these lines from every benchmark's output.
 * `ratio` is ours/peer unless the measure says otherwise (e.g. "peer/ours"); `met` compares it with `target`.
 */
export interface BenchResult {
  measure: string;
  ours: string;
  peer?: string;
  peerName?: string;
  ratio?: string;
  target?: string;
  met?: boolean;
}

/** Prints one `BENCH-RESULT {json}` line (the benchmark's own table stays as it was). */
export function reportResult(result: BenchResult): void {
  console.log(`BENCH-RESULT ${JSON.stringify(result)}`);
}

/** Reports a `comparisonLine`'s medians (wall time, ours vs kubectl) as a result line for RESULTS.md. */
export function reportComparison(
  measure: string,
  peerName: string,
  samples: { ours: Sample[]; kubectl: Sample[] },
  targetRatio: number,
): void {
  const ours = median(samples.ours.map((s) => s.wallMs));
  if (samples.kubectl.length === 0) {
    reportResult({ measure, ours: seconds(ours), target: `<= ${targetRatio}x` });
    return;
  }
  const peer = median(samples.kubectl.map((s) => s.wallMs));
  reportResult({
    measure,
    ours: seconds(ours),
    peer: seconds(peer),
    peerName,
    ratio: `${(ours / peer).toFixed(2)}x`,
    target: `<= ${targetRatio}x`,
    met: ours / peer <= targetRatio,
  });
}
