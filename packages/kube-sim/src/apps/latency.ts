/** Latency samples from a lognormal with a given median and 99th percentile (how service latencies usually look). */
import type { LatencySpec } from '../behaviour';
import type { Random } from '../controllers/random';

/** z of the 99th percentile of the standard normal. */
const Z99 = 2.3263478740408408;

export function lognormalParams(spec: LatencySpec): { mu: number; sigma: number } {
  const p50 = Math.max(spec.p50, 1e-6);
  const p99 = Math.max(spec.p99, p50);
  return { mu: Math.log(p50), sigma: (Math.log(p99) - Math.log(p50)) / Z99 };
}

/** One latency in milliseconds; a plain number means a fixed latency. */
export function sampleLatency(spec: LatencySpec | number | undefined, random: Random): number {
  if (spec === undefined) return 0;
  if (typeof spec === 'number') return spec;
  const { mu, sigma } = lognormalParams(spec);
  return Math.exp(mu + sigma * random.normal());
}
