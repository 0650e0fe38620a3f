/**
 * The simulated apps' Prometheus metrics: `http_requests_total{app,version,code,pod,namespace}` and the
 * `http_request_duration_seconds` histogram, rendered in the text exposition format for one scrape target.
 */

export const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface RequestLabels {
  namespace: string;
  app: string;
  version: string;
  pod: string;
}

interface Series {
  labels: RequestLabels;
  byCode: Map<string, number>;
  buckets: number[];
  count: number;
  sum: number;
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}="${escapeLabelValue(v)}"`)
    .join(',');
}

export class AppMetrics {
  private readonly series = new Map<string, Series>();

  observe(labels: RequestLabels, code: number, seconds: number): void {
    const id = `${labels.namespace}\u0000${labels.app}\u0000${labels.version}\u0000${labels.pod}`;
    let s = this.series.get(id);
    if (!s) {
      s = { labels, byCode: new Map(), buckets: BUCKETS.map(() => 0), count: 0, sum: 0 };
      this.series.set(id, s);
    }
    const c = String(code);
    s.byCode.set(c, (s.byCode.get(c) ?? 0) + 1);
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]!) s.buckets[i]!++;
    s.count++;
    s.sum += seconds;
  }

  /** Requests counted so far, filtered by any of the labels (and code). */
  total(filter: Partial<RequestLabels> & { code?: string | RegExp } = {}): number {
    let n = 0;
    for (const s of this.series.values()) {
      if (!matches(s.labels, filter)) continue;
      for (const [code, count] of s.byCode) {
        if (filter.code === undefined) n += count;
        else if (typeof filter.code === 'string' ? code === filter.code : filter.code.test(code)) n += count;
      }
    }
    return n;
  }

  /**
   * Requests answered so far per pod (`<namespace>/<pod>`): one pass over the series, for the resource metrics
   * the HPA controller samples every 15 s (nothing is added per request).
   */
  requestsByPod(): Map<string, number> {
    const out = new Map<string, number>();
    for (const s of this.series.values()) {
      const k = `${s.labels.namespace}/${s.labels.pod}`;
      out.set(k, (out.get(k) ?? 0) + s.count);
    }
    return out;
  }

  render(): string {
    const lines = [
      '# HELP http_requests_total Requests served by the simulated apps.',
      '# TYPE http_requests_total counter',
    ];
    const all = [...this.series.values()];
    for (const s of all) {
      for (const [code, count] of s.byCode) {
        lines.push(`http_requests_total{${labelText({ ...s.labels, code })}} ${count}`);
      }
    }
    lines.push(
      '# HELP http_request_duration_seconds Request latency of the simulated apps.',
      '# TYPE http_request_duration_seconds histogram',
    );
    for (const s of all) {
      const base = s.labels as unknown as Record<string, string>;
      BUCKETS.forEach((le, i) => {
        lines.push(`http_request_duration_seconds_bucket{${labelText({ ...base, le: String(le) })}} ${s.buckets[i]}`);
      });
      lines.push(`http_request_duration_seconds_bucket{${labelText({ ...base, le: '+Inf' })}} ${s.count}`);
      lines.push(`http_request_duration_seconds_sum{${labelText(base)}} ${s.sum}`);
      lines.push(`http_request_duration_seconds_count{${labelText(base)}} ${s.count}`);
    }
    return `${lines.join('\n')}\n`;
  }

  reset(): void {
    this.series.clear();
  }
}

function matches(labels: RequestLabels, filter: Partial<RequestLabels>): boolean {
  for (const k of ['namespace', 'app', 'version', 'pod'] as const) {
    if (filter[k] !== undefined && labels[k] !== filter[k]) return false;
  }
  return true;
}
