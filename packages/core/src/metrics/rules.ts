/**
 * Judges: one per metric kind, each turning a check's numbers into an outcome
 * and deciding when the metric has failed. The engine schedules them; the
 * benchmark drives the very same judges with simulated counts.
 */
import { type Increase, intervalText, type KubernetesMetric, type NoDataPolicy, type ThresholdMetric } from './spec';
import { type ControlHistory, type CountSample, SequentialCountTest } from './stats';

/** `unreachable`: the source could not be asked (network, 5xx); `no-data`: it answered with nothing. */
export type CheckOutcome = 'ok' | 'breach' | 'no-data' | 'error' | 'unreachable';

export interface Judgement {
  outcome: CheckOutcome;
  /** The value checked (canary side), when there was one. */
  value?: number;
  /** The control's value for comparisons. */
  control?: number;
  /** What the value was held against, for the summary table: `<= 0.01`. */
  threshold: string;
  /** Set when this check makes the metric fail: one sentence. */
  failure?: string;
  /** Something the summary should say about this check (e.g. a history that could not be read). */
  note?: string;
  /** A breach that does not fail the metric yet: how far along (`1 of 2` breaches in a row). */
  overLimit?: string;
}

/** Breaches in a row and in total, against `consecutive` and `failure-limit`. */
export class BreachCounter {
  private inRow = 0;
  private total = 0;

  constructor(
    private readonly consecutive: number,
    private readonly failureLimit: number | undefined,
  ) {}

  /** Returns a phrase ("for 2 consecutive checks") when this breach fails the metric. */
  breach(): string | undefined {
    this.inRow++;
    this.total++;
    if (this.inRow >= this.consecutive) {
      return this.consecutive === 1 ? 'at this check' : `for ${this.inRow} consecutive checks`;
    }
    if (this.failureLimit !== undefined && this.total > this.failureLimit) {
      return `in ${this.total} checks, more than the failure-limit of ${this.failureLimit}`;
    }
    return undefined;
  }

  pass(): void {
    this.inRow = 0;
  }

  /** How far a tolerated breach is from failing: `1 of 2` in a row, else `1 of 3 allowed` (failure-limit). */
  get progress(): string {
    return Number.isFinite(this.consecutive)
      ? `${this.inRow} of ${this.consecutive}`
      : `${this.total} of ${this.failureLimit} allowed`;
  }
}

type Limits = Pick<ThresholdMetric, 'name' | 'max' | 'min' | 'consecutive' | 'failureLimit' | 'onNoData'>;

/** `value <= max` and `value >= min`. */
export class ThresholdJudge {
  private readonly counter: BreachCounter;
  readonly threshold: string;

  constructor(
    private readonly limits:
      | Limits
      | (Pick<KubernetesMetric, 'name' | 'max' | 'consecutive' | 'failureLimit' | 'onNoData'> & { min?: undefined }),
  ) {
    this.counter = new BreachCounter(limits.consecutive, limits.failureLimit);
    this.threshold = [
      limits.min === undefined ? '' : `>= ${formatValue(limits.min)}`,
      limits.max === undefined ? '' : `<= ${formatValue(limits.max)}`,
    ]
      .filter(Boolean)
      .join(' and ');
  }

  judge(value: number | undefined): Judgement {
    const { name, max, min } = this.limits;
    if (value === undefined) return noData(this.limits.onNoData, this.counter, this.threshold, `${name} had no data`);
    const above = max !== undefined && value > max;
    const below = min !== undefined && value < min;
    if (!above && !below) {
      this.counter.pass();
      return { outcome: 'ok', value, threshold: this.threshold };
    }
    const how = this.counter.breach();
    const judgement: Judgement = { outcome: 'breach', value, threshold: this.threshold };
    if (how === undefined) judgement.overLimit = this.counter.progress;
    if (how !== undefined) {
      const bound = above ? `above its max of ${formatValue(max!)}` : `below its min of ${formatValue(min!)}`;
      judgement.failure = `${name} was ${formatValue(value)}, ${bound}, ${how}.`;
    }
    return judgement;
  }
}

/** The canary's value against the control's plus the allowed increase, at each check. */
export class ValueComparisonJudge {
  private readonly counter: BreachCounter;

  constructor(
    private readonly spec: {
      name: string;
      compare: string;
      maxIncrease: Increase;
      consecutive: number;
      failureLimit: number | undefined;
      onNoData: NoDataPolicy;
    },
  ) {
    this.counter = new BreachCounter(spec.consecutive, spec.failureLimit);
  }

  limitFor(control: number): number {
    const increase = this.spec.maxIncrease;
    return 'relative' in increase ? control * (1 + increase.relative) : control + increase.absolute;
  }

  judge(canary: number | undefined, control: number | undefined): Judgement {
    const { name, compare } = this.spec;
    if (canary === undefined || control === undefined) {
      const missing = canary === undefined ? 'the canary' : `the ${compare}`;
      return noData(this.spec.onNoData, this.counter, `vs ${compare}`, `${name} had no data for ${missing}`);
    }
    const limit = this.limitFor(control);
    const threshold = `<= ${formatValue(limit)} (${compare} ${formatValue(control)} + ${formatIncrease(this.spec.maxIncrease)})`;
    if (canary <= limit) {
      this.counter.pass();
      return { outcome: 'ok', value: canary, control, threshold };
    }
    const how = this.counter.breach();
    const judgement: Judgement = { outcome: 'breach', value: canary, control, threshold };
    if (how === undefined) judgement.overLimit = this.counter.progress;
    if (how !== undefined) {
      judgement.failure = `${name} of the canary was ${formatValue(canary)} against ${formatValue(control)} for the ${compare}, more than ${formatIncrease(this.spec.maxIncrease)} higher, ${how}.`;
    }
    return judgement;
  }
}

/**
 * Errors (or slow requests) per request, canary against control, judged by the exact sequential
 * test on the counts accumulated since the analysis began (α spent over the planned checks).
 */
export class CountComparisonJudge {
  private currentTest: SequentialCountTest;
  private sawTraffic = false;
  private judged = false;

  constructor(
    private readonly spec: {
      name: string;
      compare: string;
      maxIncrease: number;
      confidence: number;
      /** ms of the stable's history, for the sentence that quotes it. */
      stableHistory?: number;
    },
    /** Checks planned in the step: the step's duration / the metric's interval. */
    private readonly checks: number,
  ) {
    this.currentTest = this.newTest();
  }

  private newTest(history?: ControlHistory): SequentialCountTest {
    const { maxIncrease, confidence } = this.spec;
    return new SequentialCountTest({
      checks: this.checks,
      maxIncrease,
      alpha: 1 - confidence,
      ...(history ? { history } : {}),
    });
  }

  get test(): SequentialCountTest {
    return this.currentTest;
  }

  /** The stable's counts before the canary started (`stable-history`); only before the first check. */
  useHistory(history: ControlHistory): void {
    if (this.judged) throw new Error('useHistory must come before the first check');
    this.currentTest = this.newTest(history);
  }

  /** `undefined` when the request counts had no data this interval. */
  judge(sample: CountSample | undefined): Judgement {
    const { name, compare, maxIncrease, confidence } = this.spec;
    this.judged = true;
    if (sample === undefined) return { outcome: 'no-data', threshold: this.thresholdText() };
    this.currentTest.observe(sample);
    const state = this.currentTest.state();
    if (state.canaryTotal > 0) this.sawTraffic = true;
    const canaryRate = state.canaryTotal > 0 ? state.canaryEvents / state.canaryTotal : undefined;
    const controlRate = state.controlTotal > 0 ? state.controlEvents / state.controlTotal : undefined;
    const judgement: Judgement = { outcome: 'ok', threshold: this.thresholdText() };
    if (canaryRate !== undefined) judgement.value = canaryRate;
    if (controlRate !== undefined) judgement.control = controlRate;
    if (this.currentTest.rejected) {
      judgement.outcome = 'breach';
      const allowed = maxIncrease > 0 ? ` by more than ${formatIncrease({ relative: maxIncrease })}` : '';
      const canary = `the canary's rate ${formatPercent(canaryRate ?? 0)} (${round(state.canaryEvents)} of ${round(state.canaryTotal)})`;
      const chance = `with less than ${formatPercent(state.spent)} chance by now.`;
      if (state.mode === 'history' && state.history) {
        const { events, total } = state.history;
        const over =
          this.spec.stableHistory === undefined
            ? ''
            : ` over the ${intervalText(this.spec.stableHistory)} before the canary`;
        judgement.failure =
          `${name}: ${canary} is higher than the ${compare}'s ${formatPercent(events / total)} (${round(events)} of ${round(total)}${over})${allowed} ` +
          `at ${formatPercent(confidence)} confidence: a canary no worse would reach ${round(state.boundary)} events ${chance}`;
      } else {
        judgement.failure =
          `${name}: ${canary} is higher than the ${compare}'s ` +
          `${formatPercent(controlRate ?? 0)} (${round(state.controlEvents)} of ${round(state.controlTotal)})${allowed} at ${formatPercent(confidence)} confidence: ` +
          `${round(state.canaryEventsCounted)} of the ${round(state.eventsCounted)} events were the canary's, and a canary no worse would reach ${round(state.boundary)} ` +
          chance;
      }
      if (state.fallback !== undefined)
        judgement.failure += ` (The stable's history was set aside: ${state.fallback}.)`;
    }
    return judgement;
  }

  /** For the summary table: canary events must stay below the current boundary. */
  private thresholdText(): string {
    const state = this.currentTest.state();
    if (state.mode === 'history' && state.history) {
      const { events, total } = state.history;
      return `canary events < ${round(state.boundary)} (${this.spec.compare} ${formatPercent(events / total)} before the canary)`;
    }
    return `canary events < ${round(state.boundary)} of ${round(state.eventsCounted)}`;
  }

  get hadTraffic(): boolean {
    return this.sawTraffic;
  }
}

function noData(policy: NoDataPolicy, counter: BreachCounter, threshold: string, what: string): Judgement {
  if (policy === 'pass') {
    counter.pass();
    return { outcome: 'no-data', threshold };
  }
  if (policy === 'inconclusive') return { outcome: 'no-data', threshold };
  const how = counter.breach();
  const judgement: Judgement = { outcome: 'breach', threshold };
  if (how !== undefined) judgement.failure = `${what} (on-no-data: fail) ${how}.`;
  return judgement;
}

export function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value !== 0 && Math.abs(value) < 0.001) return value.toExponential(2);
  return String(Number(value.toPrecision(4)));
}

export function formatPercent(fraction: number): string {
  return `${Number((fraction * 100).toPrecision(3))}%`;
}

function formatIncrease(increase: Increase): string {
  return 'relative' in increase ? formatPercent(increase.relative) : formatValue(increase.absolute);
}

function round(value: number): string {
  return String(Math.round(value));
}
