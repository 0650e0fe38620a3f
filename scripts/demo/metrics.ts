/**
 * The demo's live metrics: kube-sim's app metrics (every simulated request, counted per version) read
 * every 250 ms, and the last WINDOW_MS of them served as JSON on loopback, so canary-promote's `web`
 * provider judges the canary on the traffic it is getting now (as `rate(...[1m])` does in Prometheus).
 *
 *   GET /versions/<version>  →  { requests, errorRate, p99Ms, share }
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Seconds of the latency histogram's upper bounds, as kube-sim counts them. */
const BUCKET_LINE = /^http_request_duration_seconds_bucket\{(.*)\} (\d+)$/;
const REQUEST_LINE = /^http_requests_total\{(.*)\} (\d+)$/;
const WINDOW_MS = 2000;

interface Counts {
  requests: number;
  errors: number;
  /** Cumulative counts per upper bound in seconds (`Infinity` for +Inf). */
  buckets: Map<number, number>;
}

export interface VersionMetrics {
  version: string;
  requests: number;
  /** 5xx answers over all answers, 0..1, in the window. */
  errorRate: number;
  p99Ms: number;
  /** This version's share of all requests in the window, 0..1. */
  share: number;
}

function label(labels: string, name: string): string | undefined {
  return new RegExp(`(?:^|,)${name}="([^"]*)"`).exec(labels)?.[1];
}

/** Per version: requests, 5xx and the latency histogram, from the text exposition format. */
export function parseExposition(text: string): Map<string, Counts> {
  const out = new Map<string, Counts>();
  const of = (version: string) => {
    let c = out.get(version);
    if (!c) {
      c = { requests: 0, errors: 0, buckets: new Map() };
      out.set(version, c);
    }
    return c;
  };
  for (const line of text.split('\n')) {
    const request = REQUEST_LINE.exec(line);
    if (request) {
      const c = of(label(request[1]!, 'version') ?? '');
      const n = Number(request[2]);
      c.requests += n;
      if ((label(request[1]!, 'code') ?? '').startsWith('5')) c.errors += n;
      continue;
    }
    const bucket = BUCKET_LINE.exec(line);
    if (bucket) {
      const le = label(bucket[1]!, 'le') ?? '+Inf';
      const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
      const c = of(label(bucket[1]!, 'version') ?? '');
      c.buckets.set(bound, (c.buckets.get(bound) ?? 0) + Number(bucket[2]));
    }
  }
  return out;
}

/** The 0.99 quantile by linear interpolation inside the bucket, as PromQL's histogram_quantile. */
export function p99Ms(buckets: Map<number, number>): number {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const total = buckets.get(Number.POSITIVE_INFINITY) ?? 0;
  if (total === 0) return 0;
  const rank = 0.99 * total;
  let lower = 0;
  let below = 0;
  for (const bound of bounds) {
    const count = buckets.get(bound)!;
    if (count >= rank) {
      if (bound === Number.POSITIVE_INFINITY) return lower * 1000;
      return (lower + ((bound - lower) * (rank - below)) / Math.max(1, count - below)) * 1000;
    }
    lower = bound;
    below = count;
  }
  return lower * 1000;
}

function minus(now: Counts, before: Counts | undefined): Counts {
  const buckets = new Map<number, number>();
  for (const [bound, n] of now.buckets) buckets.set(bound, n - (before?.buckets.get(bound) ?? 0));
  return {
    requests: now.requests - (before?.requests ?? 0),
    errors: now.errors - (before?.errors ?? 0),
    buckets,
  };
}

export class LiveMetrics {
  private readonly snapshots: { at: number; counts: Map<string, Counts> }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private server: Server | undefined;
  url = '';

  /** `render`: the Prometheus text of kube-sim's apps (sim.apps.metrics.render()). */
  constructor(private readonly render: () => string) {}

  async start(): Promise<void> {
    this.sample();
    this.timer = setInterval(() => this.sample(), 250);
    this.server = createServer((req, res) => {
      const version = /^\/versions\/([^/?]+)/.exec(req.url ?? '')?.[1];
      if (version === undefined) {
        res.writeHead(404).end('try /versions/<version>\n');
        return;
      }
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify(this.of(decodeURIComponent(version))));
    });
    await new Promise<void>((done) => this.server!.listen(0, '127.0.0.1', done));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private sample(): void {
    const at = Date.now();
    this.snapshots.push({ at, counts: parseExposition(this.render()) });
    while (this.snapshots.length > 2 && this.snapshots[1]!.at <= at - WINDOW_MS) this.snapshots.shift();
  }

  /** The window's figures of one version (zeros when it served nothing). */
  of(version: string): VersionMetrics {
    const first = this.snapshots[0]?.counts;
    const last = this.snapshots.at(-1)?.counts;
    let all = 0;
    for (const [v, counts] of last ?? []) all += minus(counts, first?.get(v)).requests;
    const now = last?.get(version);
    const window = now ? minus(now, first?.get(version)) : { requests: 0, errors: 0, buckets: new Map() };
    return {
      version,
      requests: window.requests,
      errorRate: window.requests === 0 ? 0 : window.errors / window.requests,
      p99Ms: Math.round(p99Ms(window.buckets)),
      share: all === 0 ? 0 : window.requests / all,
    };
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await new Promise<void>((done) => (this.server ? this.server.close(() => done()) : done()));
    this.server?.closeAllConnections();
  }
}
