/**
 * A log-linear latency histogram in the manner of HdrHistogram: values below
 * 256 get one bucket each, above that every power-of-two range is split into
 * 128 equal buckets, so a recorded value is known to within 1/128 (< 0.8 %).
 * The count is exact, recording is one array increment, and two histograms
 * merge by adding their arrays (one per load connection or worker thread).
 * Values are non-negative integers in whatever unit the caller picks (the load
 * generator records microseconds).
 */

const SUB_BUCKET_BITS = 7; // 128 buckets per power of two above the linear range
const SUB_BUCKETS = 1 << SUB_BUCKET_BITS;
const LINEAR_LIMIT = SUB_BUCKETS * 2; // values [0, 256) are exact
/** Largest recordable value: 2^32 - 1 (71 minutes in microseconds); larger values are clamped and counted. */
export const HISTOGRAM_MAX_VALUE = 0xffffffff;
const BUCKETS = LINEAR_LIMIT + (32 - SUB_BUCKET_BITS - 1) * SUB_BUCKETS;

export interface HistogramBucket {
  /** Lowest value that lands in the bucket. */
  from: number;
  /** Highest value that lands in the bucket. */
  to: number;
  count: number;
}

export interface HistogramSnapshot {
  counts: number[];
  min: number;
  max: number;
  sum: number;
  count: number;
  clamped: number;
}

function bucketIndex(value: number): number {
  if (value < LINEAR_LIMIT) return value;
  const magnitude = 31 - Math.clz32(value); // floor(log2(value)), >= 8
  const shift = magnitude - SUB_BUCKET_BITS;
  return LINEAR_LIMIT + (shift - 1) * SUB_BUCKETS + ((value >>> shift) - SUB_BUCKETS);
}

function bucketBounds(index: number): { from: number; to: number } {
  if (index < LINEAR_LIMIT) return { from: index, to: index };
  const shift = Math.floor((index - LINEAR_LIMIT) / SUB_BUCKETS) + 1;
  const sub = ((index - LINEAR_LIMIT) % SUB_BUCKETS) + SUB_BUCKETS;
  const from = sub * 2 ** shift;
  return { from, to: from + 2 ** shift - 1 };
}

export class Histogram {
  /** Float64 so counts stay exact far past 2^32 recordings. */
  private readonly counts = new Float64Array(BUCKETS);
  private total = 0;
  private sumOfValues = 0;
  private lowest = Number.POSITIVE_INFINITY;
  private highest = 0;
  private clampedCount = 0;

  record(value: number): void {
    let v = value < 0 || Number.isNaN(value) ? 0 : Math.round(value);
    if (v > HISTOGRAM_MAX_VALUE) {
      v = HISTOGRAM_MAX_VALUE;
      this.clampedCount++;
    }
    this.counts[bucketIndex(v)]!++;
    this.total++;
    this.sumOfValues += v;
    if (v < this.lowest) this.lowest = v;
    if (v > this.highest) this.highest = v;
  }

  get count(): number {
    return this.total;
  }
  /** Exact smallest value recorded (0 when empty). */
  get min(): number {
    return this.total === 0 ? 0 : this.lowest;
  }
  /** Exact largest value recorded. */
  get max(): number {
    return this.highest;
  }
  /** Exact mean of the recorded (rounded) values. */
  get mean(): number {
    return this.total === 0 ? 0 : this.sumOfValues / this.total;
  }
  /** How many values exceeded HISTOGRAM_MAX_VALUE and were recorded as it. */
  get clamped(): number {
    return this.clampedCount;
  }

  /**
   * The value at percentile `p` (0–100): the highest value equivalent to the
   * recorded one at that rank, as HdrHistogram reports it (never below the truth,
   * at most 0.8 % above it), capped at the exact maximum.
   */
  percentile(p: number): number {
    if (this.total === 0) return 0;
    if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.max(this.min, Math.min(bucketBounds(i).to, this.highest));
    }
    return this.highest;
  }

  /** Add every value of `other` to this histogram. */
  merge(other: Histogram | HistogramSnapshot): this {
    const snapshot = other instanceof Histogram ? other.snapshot() : other;
    if (snapshot.counts.length !== BUCKETS) throw new Error('histogram snapshot has a different bucket layout');
    for (let i = 0; i < BUCKETS; i++) this.counts[i]! += snapshot.counts[i]!;
    if (snapshot.count > 0) {
      this.lowest = Math.min(this.lowest, snapshot.min);
      this.highest = Math.max(this.highest, snapshot.max);
    }
    this.total += snapshot.count;
    this.sumOfValues += snapshot.sum;
    this.clampedCount += snapshot.clamped;
    return this;
  }

  /** Plain data (structured-clone / JSON safe) to send between worker threads. */
  snapshot(): HistogramSnapshot {
    return {
      counts: Array.from(this.counts),
      min: this.min,
      max: this.highest,
      sum: this.sumOfValues,
      count: this.total,
      clamped: this.clampedCount,
    };
  }

  static fromSnapshot(snapshot: HistogramSnapshot): Histogram {
    return new Histogram().merge(snapshot);
  }

  /** Non-empty buckets, lowest first. */
  buckets(): HistogramBucket[] {
    const out: HistogramBucket[] = [];
    for (let i = 0; i < BUCKETS; i++) {
      const count = this.counts[i]!;
      if (count > 0) out.push({ ...bucketBounds(i), count });
    }
    return out;
  }

  /**
   * Counts regrouped into `bins` equal-width ranges between the min and the
   * given upper bound (default: the max), for a chart. Values above `upper`
   * land in the last bin.
   */
  bins(binCount: number, upper = this.highest): HistogramBucket[] {
    if (this.total === 0 || binCount < 1) return [];
    const low = this.min;
    const high = Math.max(upper, low + binCount);
    const width = Math.ceil((high - low + 1) / binCount);
    const out: HistogramBucket[] = [];
    for (let b = 0; b < binCount; b++) out.push({ from: low + b * width, to: low + (b + 1) * width - 1, count: 0 });
    for (let i = 0; i < BUCKETS; i++) {
      const count = this.counts[i]!;
      if (count === 0) continue;
      const { from, to } = bucketBounds(i);
      const middle = Math.min(Math.max((from + to) / 2, low), this.highest);
      const bin = Math.min(binCount - 1, Math.floor((middle - low) / width));
      out[bin]!.count += count;
    }
    return out;
  }
}
