/**
 * The resource metrics API (metrics.k8s.io, what metrics-server serves) as the HPA controller reads it: each
 * running pod's CPU usage, scraped at most once per resolution (15 s, metrics-server's default). A container's
 * usage is its image's `cpu` behaviour: `idle` plus `perRps` × the requests per second its pod answered over
 * the window since the previous scrape (the simulated apps' request counters, read once per scrape: nothing
 * is added per request). A pod that started after the last scrape has no sample yet, as with metrics-server.
 */
import type { Clock } from '@deploy-actions/core/clock';
import { type BehaviourTable, cpuMillis } from '../behaviour';
import type { KubeObject } from '../store';
import { parseTime } from './common';

/** metrics-server's `--metric-resolution`. */
export const METRICS_RESOLUTION_MS = 15_000;

export interface PodSample {
  /** CPU usage of the pod (sum of its containers), in millicores. */
  milli: number;
  /** When the sample was taken. */
  timestamp: number;
  /** The window it averages over. */
  windowMs: number;
}

/** Requests answered so far per `<namespace>/<pod>` (cumulative counters). */
export type RequestCounts = () => Map<string, number>;

export class PodMetrics {
  private scrapedAt: number | undefined;
  private previousAt: number | undefined;
  private counts = new Map<string, number>();
  private previous = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    private readonly behaviour: BehaviourTable,
    private readonly requestCounts?: RequestCounts,
  ) {}

  /** Take a new scrape when the last one is at least a resolution old. */
  refresh(): void {
    const now = this.clock.now();
    if (this.scrapedAt !== undefined && now - this.scrapedAt < METRICS_RESOLUTION_MS) return;
    this.previous = this.counts;
    this.previousAt = this.scrapedAt;
    this.counts = this.requestCounts?.() ?? new Map();
    this.scrapedAt = now;
  }

  /** The pod's CPU sample from the last scrape, or undefined when metrics-server has none for it. */
  sample(pod: KubeObject): PodSample | undefined {
    const at = this.scrapedAt;
    if (at === undefined || pod.status?.phase !== 'Running') return undefined;
    const start = parseTime(pod.status?.startTime);
    if (start === undefined || start >= at) return undefined;
    const k = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const count = this.counts.get(k) ?? 0;
    // Over the window since the previous scrape, or since the pod started when it is younger than that.
    const since = this.previousAt !== undefined && this.previousAt >= start ? this.previousAt : start;
    const base = since === start ? 0 : (this.previous.get(k) ?? 0);
    const span = at - since;
    const rps = span > 0 ? ((count - base) * 1000) / span : 0;
    // metrics-server's windows are one resolution long at most (the very first scrape averages over more).
    const windowMs = Math.min(span, METRICS_RESOLUTION_MS);
    let milli = 0;
    for (const container of pod.spec?.containers ?? []) {
      const cpu = cpuMillis(this.behaviour.lookup(container.image ?? '')?.cpu);
      milli += cpu.idle + cpu.perRps * rps;
    }
    // Quantity.MilliValue() rounds up; tolerate floating point noise.
    return { milli: Math.ceil(Math.round(milli * 1e6) / 1e6), timestamp: at, windowMs };
  }
}
