import { describe, expect, it } from 'vitest';
import { HISTOGRAM_MAX_VALUE, Histogram } from '../src/http/histogram';

/** Deterministic pseudo-random numbers (mulberry32) so failures reproduce. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function exactPercentile(sorted: number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

describe('Histogram', () => {
  it('reports percentiles within 1% of the exact ones over six orders of magnitude', () => {
    const random = seeded(42);
    const histogram = new Histogram();
    const values: number[] = [];
    for (let i = 0; i < 50_000; i++) {
      // log-uniform between 1 µs and 10 s, like real latency tails
      const value = Math.round(10 ** (random() * 7));
      values.push(value);
      histogram.record(value);
    }
    values.sort((a, b) => a - b);
    expect(histogram.count).toBe(50_000);
    expect(histogram.min).toBe(values[0]);
    expect(histogram.max).toBe(values.at(-1));
    for (const p of [1, 10, 50, 75, 90, 95, 99, 99.9, 99.99, 100]) {
      const exact = exactPercentile(values, p);
      const reported = histogram.percentile(p);
      expect(reported).toBeGreaterThanOrEqual(exact);
      expect((reported - exact) / exact).toBeLessThanOrEqual(0.01);
    }
    const exactMean = values.reduce((a, b) => a + b, 0) / values.length;
    expect(histogram.mean).toBeCloseTo(exactMean, 6);
  });

  it('keeps small values exact', () => {
    const histogram = new Histogram();
    for (const v of [0, 1, 2, 3, 255]) histogram.record(v);
    expect(histogram.percentile(20)).toBe(0);
    expect(histogram.percentile(60)).toBe(2);
    expect(histogram.percentile(100)).toBe(255);
  });

  it('merges: two halves give the same answers as one histogram of everything', () => {
    const random = seeded(7);
    const whole = new Histogram();
    const left = new Histogram();
    const right = new Histogram();
    for (let i = 0; i < 20_000; i++) {
      const value = Math.floor(random() * 2_000_000);
      whole.record(value);
      (i % 2 === 0 ? left : right).record(value);
    }
    const merged = new Histogram()
      .merge(left)
      .merge(Histogram.fromSnapshot(JSON.parse(JSON.stringify(right.snapshot()))));
    expect(merged.count).toBe(whole.count);
    expect(merged.min).toBe(whole.min);
    expect(merged.max).toBe(whole.max);
    for (const p of [50, 90, 99, 99.9]) expect(merged.percentile(p)).toBe(whole.percentile(p));
    expect(merged.buckets()).toEqual(whole.buckets());
  });

  it('clamps values beyond the range and counts them', () => {
    const histogram = new Histogram();
    histogram.record(HISTOGRAM_MAX_VALUE * 4);
    histogram.record(-3);
    expect(histogram.clamped).toBe(1);
    expect(histogram.max).toBe(HISTOGRAM_MAX_VALUE);
    expect(histogram.min).toBe(0);
  });

  it('regroups into equal-width bins for a chart without losing counts', () => {
    const histogram = new Histogram();
    for (let v = 1000; v < 2000; v++) histogram.record(v);
    const bins = histogram.bins(10);
    expect(bins).toHaveLength(10);
    expect(bins.reduce((sum, bin) => sum + bin.count, 0)).toBe(1000);
    // uniform input: every bin holds about a tenth (bucket width 8 near 1000-2000)
    for (const bin of bins) expect(bin.count).toBeGreaterThan(80);
  });
});
