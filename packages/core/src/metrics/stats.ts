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

/** The control's counts before the canary existed: its events and requests over the history window. */
export interface ControlHistory {
  events: number;
  total: number;
}

export interface SequentialCountTestOptions {
  /** Checks planned for the step (its duration / the interval): α is spent over them. */
  checks: number;
  /** Allowed relative increase of the canary's rate before it counts as worse: 0.1 = 10 %. */
  maxIncrease?: number;
  /** Bound on the chance of failing a canary that is not worse, over the whole step. */
  alpha?: number;
  /**
   * The stable's own counts from before the canary started (`stable-history`). When they hold at
   * least MIN_HISTORY_EVENTS events the canary is held against the stable's rate estimated from
   * them, not only from the stable's few events in the same window; see README.md.
   */
  history?: ControlHistory;
}

/** Which null the boundary comes from: the stable's history, or the same window only. */
export type CountTestMode = 'history' | 'same-window';

export interface SequentialCountState {
  mode: CountTestMode;
  /** Events the boundary applies to: both sides' (same window) or the canary's (history). */
  eventsCounted: number;
  canaryEventsCounted: number;
  /** Canary events at which this check fails. */
  boundary: number;
  /** Share of α spent so far (the chance of a false abort by now), and α. */
  spent: number;
  alpha: number;
  canaryEvents: number;
  canaryTotal: number;
  controlEvents: number;
  controlTotal: number;
  /** The history used, when given and large enough. */
  history?: ControlHistory;
  /** Why a history given was set aside for the same-window test: the stable's rate moved, or the canary's share is large. */
  fallback?: string;
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

/** A history with fewer events says too little about the stable's rate to beat the same-window test. */
export const MIN_HISTORY_EVENTS = 10;

/**
 * The stable rate's posterior is integrated by 7-point Gauss–Hermite quadrature on the normal
 * variable of its Wilson–Hilferty transform: nodes and weights (probabilists', summing to 1).
 * Seven points weigh the posterior's tails, which decide the tail the boundary sits in, far
 * better than 12 equal-probability points, and cost less.
 */
const RATE_NODES = [
  -3.750439717725742, -2.366759410734541, -1.154405394739968, 0, 1.154405394739968, 2.366759410734541,
  3.750439717725742,
];
const RATE_WEIGHTS = [
  0.0005482688559722184, 0.03075712396758654, 0.2401231786050127, 0.4571428571428571, 0.2401231786050127,
  0.03075712396758654, 0.0005482688559722184,
];

/**
 * The stable's events in the window are this unlikely under its history: its rate has moved
 * (an incident downstream, a traffic change), so the history no longer describes it. Checked
 * at every check; 0.001 let twice as many healthy canaries be aborted when everyone's errors
 * rose by half (bench/canary-analysis, drift table), and cost nothing measurable without drift.
 */
const DRIFT_LEVEL = 0.01;

/**
 * The history is used while the stable has had at least this many times the canary's requests in
 * the window (a canary share up to 1/6): the first, small steps, where a bad canary must be stopped
 * on a handful of errors. With a larger share the window itself holds enough about the stable, and
 * the stable's drift check is not far enough ahead of the canary's test when everyone's errors rise:
 * at 25 % of 100 req/s a 1.5–3× rise aborted 7–13 % of healthy canaries with the history, 1.3–1.5 %
 * without (bench/canary-analysis, drift table).
 */
const MIN_CONTROL_RATIO = 5;

type Pmf = { low: number; values: Float64Array };

/**
 * Null distribution of the canary's cumulative count with the paths that already failed removed:
 * a mixture of components (one for the same-window test, one per rate point for the history),
 * each advanced by its own increment distribution. `place` puts the boundary where the remaining
 * tail fits in what the spending function allows by now.
 */
class NullPaths {
  private readonly components: Array<{ low: number; mass: Float64Array }>;
  private spentSoFar = 0;
  boundary = 1;

  constructor(private readonly weights: readonly number[]) {
    this.components = weights.map(() => ({ low: 0, mass: Float64Array.of(1) }));
  }

  get spent(): number {
    return this.spentSoFar;
  }

  /** Add one interval: component i's count grows by a draw from increment(i). */
  advance(increment: (component: number) => Pmf): void {
    for (const [index, component] of this.components.entries()) {
      const pmf = increment(index);
      const out = convolve(component.mass, pmf.values);
      component.mass = out.values;
      component.low += pmf.low + out.offset;
    }
  }

  /** Boundary for the check at `fraction` of the step; the paths at or above it are removed. */
  place(alpha: number, fraction: number): number {
    const allowance = alpha * fraction ** SPENDING_POWER - this.spentSoFar;
    const low = Math.min(...this.components.map((c) => c.low));
    const high = Math.max(...this.components.map((c) => c.low + c.mass.length));
    const combined = new Float64Array(high - low);
    for (const [index, component] of this.components.entries()) {
      const weight = this.weights[index]!;
      for (let i = 0; i < component.mass.length; i++) combined[component.low - low + i]! += weight * component.mass[i]!;
    }
    let tail = 0;
    let at = combined.length;
    while (at > 0 && tail + combined[at - 1]! <= allowance) {
      tail += combined[at - 1]!;
      at--;
    }
    this.boundary = low + at;
    this.spentSoFar += tail;
    // Paths at or above the boundary have failed: later checks must not count them again.
    for (const component of this.components) {
      const keep = Math.max(0, Math.min(component.mass.length, this.boundary - component.low));
      component.mass = keep > 0 ? component.mass.subarray(0, keep) : Float64Array.of(0);
    }
    return this.boundary;
  }
}

function convolve(mass: Float64Array, pmf: Float64Array): { values: Float64Array; offset: number } {
  const out = new Float64Array(mass.length + pmf.length - 1);
  for (let i = 0; i < mass.length; i++) {
    const weight = mass[i]!;
    if (weight === 0) continue;
    for (let j = 0; j < pmf.length; j++) out[i + j]! += weight * pmf[j]!;
  }
  let start = 0;
  let end = out.length;
  while (start < end - 1 && out[start]! < NEGLIGIBLE) start++;
  while (end - 1 > start && out[end - 1]! < NEGLIGIBLE) end--;
  return { values: out.subarray(start, end), offset: start };
}

/**
 * Two tests run side by side on the same counts; the first that applies decides.
 *
 * Same window (always): Poisson events on two sides — given the number of events M in an interval,
 * the canary's count is Binomial(M, ρ) with ρ = θ·n_c / (θ·n_c + n_s), θ the rate ratio.
 * Conditioning on M removes the unknown common rate, so under the null θ = θ₀ the canary's
 * cumulative count S has a known distribution, tracked exactly (a convolution per interval).
 *
 * History (when `history` has enough events): the stable's rate λ is known from its own recent
 * past far better than from its events in the window (30 minutes of the stable's traffic hold
 * ~40× the events of 5 minutes at 95 % of it). Under the null, the canary's count in an interval
 * is Poisson(θ₀·λ·n_c) for λ drawn once from the posterior Gamma(e + ½, n) of the history; the
 * test tracks that mixture. If the stable's events in the window become unlikely under its
 * history (DRIFT_LEVEL), the history no longer describes the stable now, and the same-window test,
 * which has been kept up to date all along, decides from then on.
 *
 * Either way, at check k of the K planned the boundary is the lowest S whose remaining tail fits
 * in α·(k/K)^(1/3) minus what earlier checks spent, so a canary with θ ≤ θ₀ fails with at most
 * about α over the step, exactly up to the discreteness of the counts (no normal approximation).
 */
export class SequentialCountTest {
  private readonly nullRatio: number;
  readonly alpha: number;
  private readonly checks: number;
  private readonly sameWindow = new NullPaths([1]);
  private readonly fromHistory: { paths: NullPaths; rates: number[]; history: ControlHistory } | undefined;
  /** Why the history was set aside (for good), once it was. */
  private setAside: string | undefined;
  private looks = 0;
  /** Same window: events of both sides in the intervals that carried information, and the canary's part. */
  private windowEvents = 0;
  private windowCanaryEvents = 0;
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
    const history = options.history;
    if (history !== undefined) {
      for (const value of [history.events, history.total]) {
        if (!(value >= 0 && Number.isFinite(value)))
          throw new RangeError(`history counts must be finite and >= 0, got ${value}`);
      }
    }
    if (history !== undefined && history.events >= MIN_HISTORY_EVENTS && history.total > 0) {
      const rates = RATE_NODES.map((z) => gammaAt(history.events + 0.5, history.total, z));
      this.fromHistory = { paths: new NullPaths(RATE_WEIGHTS), rates, history };
    }
  }

  /** One check: this interval's counts. Returns whether the canary is now judged worse. */
  observe(sample: CountSample): boolean {
    const { canaryEvents, canaryTotal, controlEvents, controlTotal } = sample;
    for (const value of [canaryEvents, canaryTotal, controlEvents, controlTotal]) {
      if (!(value >= 0 && Number.isFinite(value))) throw new RangeError(`counts must be finite and >= 0, got ${value}`);
    }
    this.looks++;
    const totals = this.totals;
    totals.canaryEvents += canaryEvents;
    totals.canaryTotal += canaryTotal;
    totals.controlEvents += controlEvents;
    totals.controlTotal += controlTotal;
    const fraction = Math.min(1, this.looks / this.checks);

    const events = Math.round(canaryEvents + controlEvents);
    // No traffic on a side, or no events at all: the interval says nothing about θ (time still passes).
    if (canaryTotal > 0 && controlTotal > 0 && events > 0) {
      const nullShare = (this.nullRatio * canaryTotal) / (this.nullRatio * canaryTotal + controlTotal);
      this.sameWindow.advance(() => binomialPmf(events, nullShare));
      this.windowCanaryEvents += Math.round(canaryEvents);
      this.windowEvents += events;
    }
    this.sameWindow.place(this.alpha, fraction);

    // Once set aside, the history null is never read again: it is no longer advanced.
    const history = this.usesHistory ? this.fromHistory : undefined;
    if (history !== undefined) {
      if (canaryTotal > 0) {
        history.paths.advance((point) => poissonPmf(this.nullRatio * history.rates[point]! * canaryTotal));
      }
      history.paths.place(this.alpha, fraction);
      this.setAside = this.reasonToSetHistoryAside();
    }

    const decides = this.usesHistory ? this.fromHistory!.paths : this.sameWindow;
    const observed = this.usesHistory ? Math.round(totals.canaryEvents) : this.windowCanaryEvents;
    if (observed >= decides.boundary) this.hasRejected = true;
    return this.hasRejected;
  }

  get rejected(): boolean {
    return this.hasRejected;
  }

  private get usesHistory(): boolean {
    return this.fromHistory !== undefined && this.setAside === undefined;
  }

  /** A sentence when the history no longer applies: the canary's share is large, or the stable's rate moved. */
  private reasonToSetHistoryAside(): string | undefined {
    const { rates, history } = this.fromHistory!;
    const { controlEvents, controlTotal, canaryTotal } = this.totals;
    if (controlTotal === 0) return undefined;
    if (controlTotal < MIN_CONTROL_RATIO * canaryTotal) {
      return (
        `the canary has had more than 1/${MIN_CONTROL_RATIO} of the stable's requests in this window ` +
        `(${Math.round(canaryTotal)} against ${Math.round(controlTotal)}), enough to compare them within it`
      );
    }
    const seen = Math.round(controlEvents);
    let tail = 0;
    for (const [index, rate] of rates.entries())
      tail += RATE_WEIGHTS[index]! * poissonUpperTail(rate * controlTotal, seen);
    if (tail >= DRIFT_LEVEL) return undefined;
    return (
      `the stable's rate in this window (${Math.round(controlEvents)} of ${Math.round(controlTotal)}) is above its history ` +
      `(${Math.round(history.events)} of ${Math.round(history.total)}), so the canary is compared within the same window only`
    );
  }

  state(): SequentialCountState {
    const history = this.usesHistory ? this.fromHistory : undefined;
    const decides = history ? history.paths : this.sameWindow;
    const state: SequentialCountState = {
      mode: history ? 'history' : 'same-window',
      eventsCounted: history ? Math.round(this.totals.canaryEvents) : this.windowEvents,
      canaryEventsCounted: history ? Math.round(this.totals.canaryEvents) : this.windowCanaryEvents,
      boundary: decides.boundary,
      spent: decides.spent,
      alpha: this.alpha,
      ...this.totals,
    };
    if (history) state.history = history.history;
    if (this.setAside !== undefined) state.fallback = this.setAside;
    return state;
  }
}

/**
 * The Gamma(shape, rate) value at normal deviate z, by the Wilson–Hilferty cube-root
 * transform: within 1 % of the exact quantiles for shape ≥ 10, which the history needs
 * (MIN_HISTORY_EVENTS) anyway.
 */
function gammaAt(shape: number, rate: number, z: number): number {
  const cube = 1 - 1 / (9 * shape) + z / (3 * Math.sqrt(shape));
  return (shape * Math.max(cube, 0) ** 3) / rate;
}

/** Poisson(mean) probabilities without the negligible tails: from the mode outwards by P(k+1)/P(k) = mean/(k+1). */
function poissonPmf(mean: number): Pmf {
  if (!(mean > 0)) return { low: 0, values: Float64Array.of(1) };
  const mode = Math.floor(mean);
  // In logs at the mode only, so a large mean does not underflow e^−mean.
  const atMode = Math.exp(mode * Math.log(mean) - mean - logFactorial(mode));
  const cut = NEGLIGIBLE * Math.exp(-2);
  let low = mode;
  for (let p = atMode; low > 0 && (p * low) / mean >= cut; low--) p = (p * low) / mean;
  let high = mode;
  for (let p = atMode; (p * mean) / (high + 1) >= cut; high++) p = (p * mean) / (high + 1);
  const values = new Float64Array(high - low + 1);
  values[mode - low] = atMode;
  for (let k = mode - 1; k >= low; k--) values[k - low] = (values[k + 1 - low]! * (k + 1)) / mean;
  for (let k = mode + 1; k <= high; k++) values[k - low] = (values[k - 1 - low]! * mean) / k;
  return { low, values };
}

/** P(X ≥ count) for X ~ Poisson(mean). */
function poissonUpperTail(mean: number, count: number): number {
  if (count <= 0) return 1;
  const { low, values } = poissonPmf(mean);
  let tail = 0;
  for (let i = Math.max(0, count - low); i < values.length; i++) tail += values[i]!;
  return Math.min(1, tail);
}

/** ln(n!) — exact sums for small n, Stirling's series beyond (error < 1e-10). */
function logFactorial(n: number): number {
  if (n < 20) {
    let sum = 0;
    for (let k = 2; k <= n; k++) sum += Math.log(k);
    return sum;
  }
  return (
    (n + 0.5) * Math.log(n + 1) - (n + 1) + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * (n + 1)) - 1 / (360 * (n + 1) ** 3)
  );
}

/** Binomial(n, p) probabilities, without the negligible tails; computed in logs so large n does not underflow. */
function binomialPmf(n: number, p: number): Pmf {
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
