/** Request counts by verb and resource, latency samples and delivered watch events: what benchmarks read. */

export class RequestStats {
  total = 0;
  readonly byVerb = new Map<string, number>();
  readonly byResource = new Map<string, number>();
  /** `verb resource`, e.g. `patch deployments.apps`. */
  readonly byVerbResource = new Map<string, number>();
  /** Watch events written to HTTP watchers. */
  watchEvents = 0;
  private samples: number[] = [];
  private next = 0;

  constructor(private readonly maxSamples = 200_000) {}

  record(verb: string, resource: string, latencyMs: number): void {
    this.total++;
    this.byVerb.set(verb, (this.byVerb.get(verb) ?? 0) + 1);
    this.byResource.set(resource, (this.byResource.get(resource) ?? 0) + 1);
    const key = `${verb} ${resource}`;
    this.byVerbResource.set(key, (this.byVerbResource.get(key) ?? 0) + 1);
    // Watches stay open for their whole life: their duration is not a request latency.
    if (verb === 'watch') return;
    if (this.samples.length < this.maxSamples) this.samples.push(latencyMs);
    else {
      this.samples[this.next] = latencyMs;
      this.next = (this.next + 1) % this.maxSamples;
    }
  }

  /** Latency percentile in ms (nearest rank), e.g. percentile(99). NaN before any request. */
  percentile(p: number): number {
    if (this.samples.length === 0) return Number.NaN;
    const sorted = [...this.samples].sort((a, b) => a - b);
    const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return sorted[rank]!;
  }

  get sampleCount(): number {
    return this.samples.length;
  }

  count(verb: string, resource?: string): number {
    return resource === undefined
      ? (this.byVerb.get(verb) ?? 0)
      : (this.byVerbResource.get(`${verb} ${resource}`) ?? 0);
  }

  reset(): void {
    this.total = 0;
    this.byVerb.clear();
    this.byResource.clear();
    this.byVerbResource.clear();
    this.watchEvents = 0;
    this.samples = [];
    this.next = 0;
  }

  toJSON(): Record<string, unknown> {
    return {
      total: this.total,
      byVerb: Object.fromEntries(this.byVerb),
      byResource: Object.fromEntries(this.byResource),
      watchEvents: this.watchEvents,
      latencyMs: { p50: this.percentile(50), p99: this.percentile(99), samples: this.samples.length },
    };
  }
}
