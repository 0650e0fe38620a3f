/**
 * Statistics for canary-versus-control judgements.
 *
 * `RateRatioTest` is the method the analysis uses for counts (errors, slow
 * requests): an always-valid mixture sequential probability ratio test on the
 * ratio of the canary's event rate to the control's. See README.md
 * ("Comparing canary and stable") for why.
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

export interface RateRatioTestOptions {
  /** Allowed relative increase of the canary's rate before it counts as worse: 0.1 = 10 %. */
  maxIncrease?: number;
  /** Bound on the chance of ever failing a canary that is not worse, over any number of checks. */
  alpha?: number;
}

export interface RateRatioState {
  /** The mixture likelihood ratio: evidence that the canary is worse; fails at `1 / alpha`. */
  evidence: number;
  threshold: number;
  canaryEvents: number;
  canaryTotal: number;
  controlEvents: number;
  controlTotal: number;
}

/**
 * Alternatives mixed over: canary rate = null ratio × 4, × 8, × 16, equal weights. A canary
 * that breaks things is usually several times worse; few, wide-apart points keep the mixture's
 * cost (log of the number of points) low. Measured in bench/canary-analysis: a wider grid
 * (×1.25 … ×64, 28 points) needs ~30 s more to stop a 10× regression at the same false-abort rate.
 */
const RATIO_GRID: readonly number[] = [4, 8, 16];

/**
 * Poisson events on two sides: given the total number of events in an interval, each one is
 * the canary's with probability ρ(θ) = θ·n_c / (θ·n_c + n_s), θ the rate ratio. This removes
 * the unknown common rate, so the only unknown is θ. The likelihood ratio of a θ above the
 * null bound θ₀ against θ₀, averaged over a prior on θ, is a non-negative martingale under
 * the null (a supermartingale for any θ ≤ θ₀), so by Ville's inequality it exceeds 1/α with
 * probability at most α — however often it is looked at. Checking every 10 s therefore does
 * not inflate false aborts, and a bad canary is stopped as soon as the evidence is there.
 */
export class RateRatioTest {
  private readonly nullRatio: number;
  private readonly logWeight: number;
  private readonly logLikelihood: number[];
  private readonly totals = { canaryEvents: 0, canaryTotal: 0, controlEvents: 0, controlTotal: 0 };
  readonly threshold: number;

  constructor(options: RateRatioTestOptions = {}) {
    const maxIncrease = options.maxIncrease ?? 0;
    const alpha = options.alpha ?? 0.01;
    if (!(maxIncrease >= 0)) throw new RangeError(`maxIncrease must be >= 0, got ${maxIncrease}`);
    if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be between 0 and 1, got ${alpha}`);
    this.nullRatio = 1 + maxIncrease;
    this.threshold = 1 / alpha;
    this.logWeight = -Math.log(RATIO_GRID.length);
    this.logLikelihood = RATIO_GRID.map(() => 0);
  }

  observe(sample: CountSample): void {
    const { canaryEvents, canaryTotal, controlEvents, controlTotal } = sample;
    for (const value of [canaryEvents, canaryTotal, controlEvents, controlTotal]) {
      if (!(value >= 0 && Number.isFinite(value))) throw new RangeError(`counts must be finite and >= 0, got ${value}`);
    }
    this.totals.canaryEvents += canaryEvents;
    this.totals.canaryTotal += canaryTotal;
    this.totals.controlEvents += controlEvents;
    this.totals.controlTotal += controlTotal;
    // No traffic on a side, or no events at all: the interval carries no information about θ.
    if (canaryTotal <= 0 || controlTotal <= 0 || canaryEvents + controlEvents <= 0) return;
    const nullShare = share(this.nullRatio, canaryTotal, controlTotal);
    for (let index = 0; index < RATIO_GRID.length; index++) {
      const altShare = share(this.nullRatio * RATIO_GRID[index]!, canaryTotal, controlTotal);
      this.logLikelihood[index]! +=
        canaryEvents * Math.log(altShare / nullShare) + controlEvents * Math.log((1 - altShare) / (1 - nullShare));
    }
  }

  /** The mixture likelihood ratio so far. */
  get evidence(): number {
    let max = -Infinity;
    for (const value of this.logLikelihood) max = Math.max(max, value);
    let sum = 0;
    for (const value of this.logLikelihood) sum += Math.exp(value - max);
    return Math.exp(max + Math.log(sum) + this.logWeight);
  }

  get rejected(): boolean {
    return this.evidence >= this.threshold;
  }

  state(): RateRatioState {
    return { evidence: this.evidence, threshold: this.threshold, ...this.totals };
  }
}

function share(ratio: number, canaryTotal: number, controlTotal: number): number {
  return (ratio * canaryTotal) / (ratio * canaryTotal + controlTotal);
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
