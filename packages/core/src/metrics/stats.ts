/**
 * Statistics for canary-versus-control judgements.
 *
 * `SequentialCountTest` is the method the analysis uses for counts (errors, slow
 * requests): an exact conditional group-sequential test with α spending over the
 * step's planned checks. See README.md ("Comparing canary and stable") for why.
 *
 * `mannWhitney` reproduces the judge Kayenta uses (rank-sum test with a
 * Hodges–Lehmann confidence interval); the benchmark runs it as a peer.
 */

/** Events and exposure (requests) of both sides over one interval. */
export interface CountSample {
  canaryEvents: number;
  canaryTotal: number;
  controlEvents: number;
  controlTotal: number;
}

export interface SequentialCountTestOptions {
  /** Checks planned for the step (its duration / the interval): α is spent over them. */
  checks: number;
  /** Allowed relative increase of the canary's rate before it counts as worse: 0.1 = 10 %. */
  maxIncrease?: number;
  /** Bound on the chance of failing a canary that is not worse, over the whole step. */
  alpha?: number;
}

export interface SequentialCountState {
  /** Events of both sides in the intervals that carried information, and the canary's part. */
  eventsCounted: number;
  canaryEventsCounted: number;
  /** Canary events (of `events`) at which this check fails. */
  boundary: number;
  /** Share of α spent so far (the chance of a false abort by now), and α. */
  spent: number;
  alpha: number;
  canaryEvents: number;
  canaryTotal: number;
  controlEvents: number;
  controlTotal: number;
}

/**
 * Kim–DeMets power spending, α·t^(1/3): about 60 % of α is available in the first fifth of the
 * step, because a canary that breaks things should be stopped while it serves few users; the
 * rest is left for smaller regressions that need the whole step. Measured in
 * bench/canary-analysis against t^1 (Pocock-like), t^½ and t^0.15 (README.md).
 */
const SPENDING_POWER = 1 / 3;

/** Probabilities below this are dropped from the distributions (far below any α). */
const NEGLIGIBLE = 1e-16;

/**
 * Poisson events on two sides: given the number of events M in an interval, the canary's
 * count is Binomial(M, ρ) with ρ = θ·n_c / (θ·n_c + n_s), θ the rate ratio. Conditioning on M
 * removes the unknown common rate, so under the null θ = θ₀ the canary's cumulative count S
 * has a known distribution. The test tracks it exactly (a convolution per interval), with the
 * mass of paths that would already have failed removed, and at check k puts the boundary at
 * the lowest S whose remaining tail fits in α·(k/K)^(1/3) minus what earlier checks spent.
 * So the chance of ever failing a canary with θ ≤ θ₀ is at most α over the K planned checks,
 * exactly up to the discreteness of the counts — no Ville slack, no normal approximation.
 */
export class SequentialCountTest {
  private readonly nullRatio: number;
  readonly alpha: number;
  private readonly checks: number;
  /** mass[i]: null probability that S = low + i and no check has failed yet. */
  private mass: Float64Array = Float64Array.of(1);
  private low = 0;
  private spentSoFar = 0;
  private looks = 0;
  private observed = 0;
  private events = 0;
  private currentBoundary = 1;
  private hasRejected = false;
  private readonly totals = { canaryEvents: 0, canaryTotal: 0, controlEvents: 0, controlTotal: 0 };

  constructor(options: SequentialCountTestOptions) {
    const maxIncrease = options.maxIncrease ?? 0;
    const alpha = options.alpha ?? 0.01;
    if (!(maxIncrease >= 0)) throw new RangeError(`maxIncrease must be >= 0, got ${maxIncrease}`);
    if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be between 0 and 1, got ${alpha}`);
    if (!(options.checks >= 1)) throw new RangeError(`checks must be >= 1, got ${options.checks}`);
    this.nullRatio = 1 + maxIncrease;
    this.alpha = alpha;
    this.checks = options.checks;
  }

  /** One check: this interval's counts. Returns whether the canary is now judged worse. */
  observe(sample: CountSample): boolean {
    const { canaryEvents, canaryTotal, controlEvents, controlTotal } = sample;
    for (const value of [canaryEvents, canaryTotal, controlEvents, controlTotal]) {
      if (!(value >= 0 && Number.isFinite(value))) throw new RangeError(`counts must be finite and >= 0, got ${value}`);
    }
    this.looks++;
    this.totals.canaryEvents += canaryEvents;
    this.totals.canaryTotal += canaryTotal;
    this.totals.controlEvents += controlEvents;
    this.totals.controlTotal += controlTotal;
    const events = Math.round(canaryEvents + controlEvents);
    // No traffic on a side, or no events at all: the interval says nothing about θ (time still passes).
    if (canaryTotal > 0 && controlTotal > 0 && events > 0) {
      const nullShare = (this.nullRatio * canaryTotal) / (this.nullRatio * canaryTotal + controlTotal);
      this.convolve(binomialPmf(events, nullShare));
      this.observed += Math.round(canaryEvents);
      this.events += events;
    }
    this.placeBoundary();
    if (this.observed >= this.currentBoundary) this.hasRejected = true;
    return this.hasRejected;
  }

  get rejected(): boolean {
    return this.hasRejected;
  }

  state(): SequentialCountState {
    return {
      eventsCounted: this.events,
      canaryEventsCounted: this.observed,
      boundary: this.currentBoundary,
      spent: this.spentSoFar,
      alpha: this.alpha,
      ...this.totals,
    };
  }

  private convolve(pmf: { low: number; values: Float64Array }): void {
    const { mass } = this;
    const out = new Float64Array(mass.length + pmf.values.length - 1);
    for (let i = 0; i < mass.length; i++) {
      const weight = mass[i]!;
      if (weight === 0) continue;
      for (let j = 0; j < pmf.values.length; j++) out[i + j]! += weight * pmf.values[j]!;
    }
    let start = 0;
    let end = out.length;
    while (start < end - 1 && out[start]! < NEGLIGIBLE) start++;
    while (end - 1 > start && out[end - 1]! < NEGLIGIBLE) end--;
    this.mass = out.subarray(start, end);
    this.low += pmf.low + start;
  }

  /** Lowest boundary whose null tail fits in what the spending function allows by now. */
  private placeBoundary(): void {
    const fraction = Math.min(1, this.looks / this.checks);
    const allowance = this.alpha * fraction ** SPENDING_POWER - this.spentSoFar;
    let tail = 0;
    let index = this.mass.length;
    while (index > 0 && tail + this.mass[index - 1]! <= allowance) {
      tail += this.mass[index - 1]!;
      index--;
    }
    this.currentBoundary = this.low + index;
    this.spentSoFar += tail;
    // Paths at or above the boundary have failed: later checks must not count them again.
    this.mass = index > 0 ? this.mass.subarray(0, index) : Float64Array.of(0);
  }
}

/** Binomial(n, p) probabilities, without the negligible tails; computed in logs so large n does not underflow. */
function binomialPmf(n: number, p: number): { low: number; values: Float64Array } {
  if (p >= 1) return { low: n, values: Float64Array.of(1) };
  const logs = new Float64Array(n + 1);
  logs[0] = n * Math.log1p(-p);
  const logOdds = Math.log(p / (1 - p));
  for (let k = 0; k < n; k++) logs[k + 1] = logs[k]! + Math.log((n - k) / (k + 1)) + logOdds;
  const cut = Math.log(NEGLIGIBLE) - 2;
  let low = 0;
  let high = n;
  while (low < high && logs[low]! < cut) low++;
  while (high > low && logs[high]! < cut) high--;
  const values = new Float64Array(high - low + 1);
  for (let k = low; k <= high; k++) values[k - low] = Math.exp(logs[k]!);
  return { low, values };
}

export interface MannWhitneyResult {
  /** Two-sided p-value (normal approximation with tie correction). */
  pValue: number;
  /** Hodges–Lehmann estimate of experiment − control, and its confidence interval. */
  estimate: number;
  lower: number;
  upper: number;
}

/** Standard normal quantile (Acklam's rational approximation, |error| < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`p must be in (0, 1), got ${p}`);
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239,
  ];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (
      (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
      ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1)
    );
  }
  if (p > 1 - low) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}

/** Standard normal upper tail P(Z > z) (Abramowitz–Stegun 7.1.26 on erfc, |error| < 1.5e-7). */
export function normalUpperTail(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erfc =
    t *
    (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) *
    Math.exp(-x * x);
  return z >= 0 ? erfc / 2 : 1 - erfc / 2;
}

/** Mann-Whitney U (Wilcoxon rank-sum) of `experiment` against `control`, with a Hodges–Lehmann interval. */
export function mannWhitney(
  experiment: readonly number[],
  control: readonly number[],
  confidence = 0.95,
): MannWhitneyResult {
  const m = experiment.length;
  const n = control.length;
  if (m === 0 || n === 0) throw new RangeError('mannWhitney needs at least one value on each side');
  const pooled = [
    ...experiment.map((value) => ({ value, experiment: true })),
    ...control.map((value) => ({ value, experiment: false })),
  ];
  pooled.sort((x, y) => x.value - y.value);
  let rankSum = 0;
  let tieTerm = 0;
  for (let start = 0; start < pooled.length; ) {
    let end = start;
    while (end + 1 < pooled.length && pooled[end + 1]!.value === pooled[start]!.value) end++;
    const rank = (start + end + 2) / 2;
    const size = end - start + 1;
    tieTerm += size ** 3 - size;
    for (let index = start; index <= end; index++) if (pooled[index]!.experiment) rankSum += rank;
    start = end + 1;
  }
  const u = rankSum - (m * (m + 1)) / 2;
  const total = m + n;
  const variance = ((m * n) / 12) * (total + 1 - tieTerm / (total * (total - 1)));
  const z = variance > 0 ? (u - (m * n) / 2 - Math.sign(u - (m * n) / 2) * 0.5) / Math.sqrt(variance) : 0;
  const pValue = Math.min(1, 2 * normalUpperTail(Math.abs(z)));
  const { estimate, lower, upper } = hodgesLehmann(experiment, control, confidence);
  return { pValue, estimate, lower, upper };
}

/** Median of all pairwise differences, and the distribution-free interval around it. */
export function hodgesLehmann(
  experiment: readonly number[],
  control: readonly number[],
  confidence = 0.95,
): { estimate: number; lower: number; upper: number } {
  const m = experiment.length;
  const n = control.length;
  const differences = new Float64Array(m * n);
  let at = 0;
  for (const x of experiment) for (const y of control) differences[at++] = x - y;
  differences.sort();
  const count = differences.length;
  const estimate =
    count % 2 === 1 ? differences[(count - 1) / 2]! : (differences[count / 2 - 1]! + differences[count / 2]!) / 2;
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const k = Math.max(0, Math.floor((m * n) / 2 - z * Math.sqrt((m * n * (m + n + 1)) / 12)));
  const lower = differences[Math.min(k, count - 1)]!;
  const upper = differences[Math.max(count - 1 - k, 0)]!;
  return { estimate, lower, upper };
}

/**
 * Kayenta's classification: the canary is "High" when the lower end of the confidence interval
 * of the shift is above a quarter of the shift's estimate (and of course above zero).
 */
export function kayentaHigh(
  experiment: readonly number[],
  control: readonly number[],
  confidence = 0.95,
  fraction = 0.25,
): boolean {
  if (experiment.length === 0 || control.length === 0) return false;
  // The interval's lower end is the (k+1)-th smallest difference: it is positive only when at
  // most k differences are <= 0. Counting them is O(mn) and spares the sort almost always.
  const m = experiment.length;
  const n = control.length;
  const k = Math.floor((m * n) / 2 - normalQuantile(1 - (1 - confidence) / 2) * Math.sqrt((m * n * (m + n + 1)) / 12));
  let nonPositive = 0;
  for (const x of experiment) for (const y of control) if (x - y <= 0) nonPositive++;
  if (nonPositive > Math.max(0, k)) return false;
  const result = hodgesLehmann(experiment, control, confidence);
  return result.lower > fraction * Math.abs(result.estimate);
}
