/**
 * The analysis engine: validates every query before traffic moves, then runs
 * each metric's checks on its interval, driven by a Clock and an AbortSignal,
 * and returns a timeline of measurements and a verdict with a one-line reason.
 */

import { isUserError, UserError } from '../errors';
import type { Clock } from '../runtime/port';
import { DatadogProvider } from './datadog';
import { type CanaryPodSource, POD_SIGNALS } from './kubernetes';
import { type PlaceholderValues, substitute } from './placeholders';
import { PrometheusProvider } from './prometheus';
import { type MetricProvider, ProviderUnavailable, type QueryOptions } from './provider';
import { type CheckOutcome, CountComparisonJudge, type Judgement, ThresholdJudge, ValueComparisonJudge } from './rules';
import { type CountComparisonMetric, intervalText, type MetricSpec, type ProviderConfig } from './spec';
import { WebProvider } from './web';

export type Verdict = 'pass' | 'fail' | 'inconclusive';

/** The versions and names placeholders stand for. */
export interface AnalysisTargets {
  canary: string;
  stable: string;
  baseline?: string;
  namespace: string;
  app: string;
}

export interface Measurement {
  metric: string;
  /** Epoch ms of the check, and ms since the analysis started. */
  at: number;
  elapsed: number;
  outcome: CheckOutcome;
  value?: number;
  control?: number;
  threshold: string;
  /** Why a check errored. */
  note?: string;
  /** A breach that did not fail the metric (yet): `1 of 2` in a row. */
  overLimit?: string;
}

export interface MetricVerdict {
  metric: string;
  verdict: Verdict;
  reason: string;
  /** A pass whose metric was over its limit at some checks, fewer than would fail it: `1 of 2`. */
  overLimit?: string;
}

export interface AnalysisResult {
  verdict: Verdict;
  /** One sentence. */
  reason: string;
  startedAt: number;
  endedAt: number;
  measurements: Measurement[];
  metrics: MetricVerdict[];
}

export interface AnalysisOptions {
  metrics: readonly MetricSpec[];
  targets: AnalysisTargets;
  /** How long to analyse (the step's pause). */
  duration: number;
  clock: Clock;
  signal: AbortSignal;
  /** Default: real providers from each metric's config. Tests may pass their own. */
  providerFor?: (config: ProviderConfig) => MetricProvider;
  /** Needed when a metric uses provider kubernetes. */
  canaryPods?: CanaryPodSource;
  /**
   * Epoch ms when the canary first took traffic: a count comparison's `stable-history` window ends
   * there, so every step of a rollout reads the same stable history. Default: the analysis start.
   */
  stableHistoryEnd?: number;
  /** Called after every check (live log lines in the action). */
  onMeasurement?: (measurement: Measurement) => void;
}

/** Provider errors in a row after which a metric is inconclusive (as Argo's consecutiveErrorLimit). */
export const MAX_CONSECUTIVE_ERRORS = 4;
/**
 * Checks after a step's pause for a metric whose breach streak is open or that had no data: as many as its
 * `consecutive` needs to decide, and at least the MAX_CONSECUTIVE_ERRORS an unanswered metric gets.
 */
function extraChecksAllowed(run: MetricRun): number {
  // A spec built by hand may lack consecutive; never let that make the extra checks unbounded.
  return Math.max(MAX_CONSECUTIVE_ERRORS, run.bound.spec.consecutive || 1);
}

export function createProvider(config: ProviderConfig): MetricProvider {
  switch (config.kind) {
    case 'prometheus':
      return new PrometheusProvider(config.address!, config.headers);
    case 'datadog':
      return new DatadogProvider(config.address!, config.apiKey!, config.applicationKey!);
    case 'web':
      return new WebProvider(config.jsonPath!, config.headers);
  }
}

/** Secrets in metric specs (Datadog keys, header values) for the caller to mask before logging. */
export function secretsOf(metrics: readonly MetricSpec[]): string[] {
  const secrets: string[] = [];
  for (const metric of metrics) {
    if (metric.kind === 'kubernetes') continue;
    const { apiKey, applicationKey, headers, address } = metric.provider;
    // Credentials in a URL (http://user:pass@prometheus): the password, and the whole URL (the record keeps
    // strings equal to a secret as REDACTED).
    for (const text of [address, 'query' in metric && metric.provider.kind === 'web' ? metric.query : undefined])
      secrets.push(...urlCredentials(text));
    if (apiKey) secrets.push(apiKey);
    if (applicationKey) secrets.push(applicationKey);
    for (const [name, value] of Object.entries(headers))
      if (/auth|key|token|secret|cookie/i.test(name)) secrets.push(value);
  }
  return secrets;
}

/** The password of a URL with credentials, raw and decoded, and the URL itself; nothing for any other text. */
function urlCredentials(text: string | undefined): string[] {
  if (text === undefined || !text.includes('@')) return [];
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return [];
  }
  if (url.password === '' && url.username === '') return [];
  return [text, ...new Set([url.password, decodeURIComponent(url.password)].filter((secret) => secret !== ''))];
}

type Side = 'canary' | 'control';

/** One metric's queries, bound to its provider and the run's placeholder values. */
class BoundMetric {
  private readonly provider: MetricProvider | undefined;

  constructor(
    readonly spec: MetricSpec,
    private readonly options: AnalysisOptions,
  ) {
    this.provider = spec.kind === 'kubernetes' ? undefined : (options.providerFor ?? createProvider)(spec.provider);
  }

  /** `window` is what `{{interval}}` stands for: the check interval, or the stable's history. */
  private text(template: string, side: Side, window: number): string {
    const { targets } = this.options;
    const control =
      'compare' in this.spec ? (this.spec.compare === 'baseline' ? targets.baseline : targets.stable) : undefined;
    const values: PlaceholderValues = {
      canary: targets.canary,
      stable: targets.stable,
      baseline: targets.baseline,
      namespace: targets.namespace,
      app: targets.app,
      version: side === 'canary' ? targets.canary : control,
      interval: intervalText(window),
    };
    const where = `Metric '${this.spec.name}'`;
    const encode =
      this.spec.kind !== 'kubernetes' && this.spec.provider.kind === 'web' ? encodeURIComponent : undefined;
    return substitute(template, values, where, encode);
  }

  /** Every (query, side, window) this metric sends; `window` undefined is the check interval. */
  private queries(): Array<{ template: string; side: Side; window?: number }> {
    const spec = this.spec;
    switch (spec.kind) {
      case 'kubernetes':
        return [];
      case 'threshold':
        return [{ template: spec.query, side: 'canary' }];
      case 'compare-value':
        return [
          { template: spec.query, side: 'canary' },
          { template: spec.query, side: 'control' },
        ];
      case 'compare-counts': {
        const queries: Array<{ template: string; side: Side; window?: number }> = (
          ['canary', 'control'] as const
        ).flatMap((side) => [
          { template: spec.errors, side },
          { template: spec.requests, side },
        ]);
        if (spec.stableHistory !== undefined) {
          queries.push(
            { template: spec.errors, side: 'control', window: spec.stableHistory },
            { template: spec.requests, side: 'control', window: spec.stableHistory },
          );
        }
        return queries;
      }
    }
  }

  async validate(at: number, signal: AbortSignal): Promise<void> {
    if (this.spec.kind === 'compare-value' || this.spec.kind === 'compare-counts') {
      if (this.spec.compare === 'baseline' && this.options.targets.baseline === undefined) {
        throw new UserError(
          `Metric '${this.spec.name}': compare: baseline needs a baseline workload (set baseline: true), or use compare: stable`,
        );
      }
    }
    if (this.spec.kind === 'kubernetes' && this.options.canaryPods === undefined) {
      throw new UserError(
        `Metric '${this.spec.name}': provider kubernetes needs the canary's pods, which this command cannot see`,
      );
    }
    for (const { template, side, window = this.spec.interval } of this.queries()) {
      const query = this.text(template, side, window);
      try {
        await this.provider!.validate(query, { at, window, signal });
      } catch (error) {
        if (isUserError(error))
          throw new UserError(`Metric '${this.spec.name}': ${error.message}`, { hint: error.hint, cause: error });
        // A source that cannot answer now would leave the first step unchecked: refused before traffic moves.
        if (error instanceof ProviderUnavailable)
          throw new UserError(
            `Metric '${this.spec.name}': ${error.message}; nothing was changed (every metric is queried once before traffic moves)`,
            { hint: 'Check the address and that the source is reachable from the runner', cause: error },
          );
        throw error;
      }
    }
  }

  async fetch(template: string, side: Side, options: QueryOptions): Promise<number | undefined> {
    return this.provider!.query(this.text(template, side, options.window), options);
  }
}

/** Run every query once against its provider; throws the first rejection (a typo) as a UserError. */
export async function validateAnalysis(options: AnalysisOptions): Promise<void> {
  const at = options.clock.now();
  for (const spec of options.metrics) await new BoundMetric(spec, options).validate(at, options.signal);
}

interface MetricRun {
  bound: BoundMetric;
  next: number;
  errorsInRow: number;
  checks: number;
  /** Checks the source answered (with data or without): a metric with none was never checked. */
  answered: number;
  /** Tolerated breaches: the last one's progress (`1 of 2`) and how many checks were over the limit. */
  overLimit?: { at: string; checks: number };
  /** What the last failed check said (the summary tells unreachable from no data). */
  lastError?: string;
  withData: number;
  /** The last answer was over the limit, short of failing: the metric is not done until the streak ends. */
  breachOpen: boolean;
  /** Checks made after the step's pause ended (bounded by extraChecksAllowed). */
  extraChecks: number;
  judge: (options: QueryOptions) => Promise<Judgement>;
  countJudge?: CountComparisonJudge;
}

export async function runAnalysis(options: AnalysisOptions): Promise<AnalysisResult> {
  const { clock, signal } = options;
  const startedAt = clock.now();
  const end = startedAt + options.duration;
  const measurements: Measurement[] = [];
  const runs = options.metrics.map((spec) => prepare(new BoundMetric(spec, options), options, startedAt));
  const finish = (verdict: Verdict, reason: string, metrics: MetricVerdict[]): AnalysisResult => ({
    verdict,
    reason,
    startedAt,
    endedAt: clock.now(),
    measurements,
    metrics,
  });

  for (;;) {
    // After the pause, a metric is checked again while it cannot be judged yet (see unsettled); each gives up
    // after MAX_CONSECUTIVE_ERRORS failed checks in a row, as during the pause.
    const pending = runs.filter((run) => run.next <= end || unsettled(run));
    if (pending.length === 0) break;
    const due = Math.min(...pending.map((run) => run.next));
    if (due > clock.now()) await clock.sleep(due - clock.now(), signal);
    signal.throwIfAborted();
    const now = clock.now();
    const dueRuns = pending.filter((run) => run.next <= now);
    const results = await Promise.all(dueRuns.map((run) => check(run, now, startedAt, options)));
    for (const [index, run] of dueRuns.entries()) {
      const { measurement, failure, inconclusive } = results[index]!;
      measurements.push(measurement);
      options.onMeasurement?.(measurement);
      run.next += run.bound.spec.interval;
      if (now > end) run.extraChecks++;
      if (failure !== undefined) {
        return finish(
          'fail',
          failure,
          verdictsSoFar(runs, { metric: run.bound.spec.name, verdict: 'fail', reason: failure }),
        );
      }
      if (inconclusive !== undefined) {
        return finish(
          'inconclusive',
          inconclusive,
          verdictsSoFar(runs, { metric: run.bound.spec.name, verdict: 'inconclusive', reason: inconclusive }),
        );
      }
    }
  }
  const verdicts = runs.map(finalVerdict);
  const unsure = verdicts.find((item) => item.verdict === 'inconclusive');
  if (unsure !== undefined) return finish('inconclusive', unsure.reason, verdicts);
  const span = intervalText(Math.max(options.duration, clock.now() - startedAt));
  const over = verdicts.filter((item) => item.overLimit !== undefined);
  if (over.length > 0)
    return finish(
      'pass',
      `No metric failed in ${span}, but ${over.map((item) => `${item.metric} was over its limit (${item.overLimit})`).join(', ')} short of failing.`,
      verdicts,
    );
  return finish('pass', `All ${runs.length} metrics stayed within their limits for ${span}.`, verdicts);
}

/**
 * Whether a metric needs more checks when the pause ends: never answered (an unchecked step never passes);
 * over its limit at the last check, short of failing (a p99 at 4× its limit for 2 of 3 checks is a streak
 * in progress, not a pass: it goes on until it fails or comes back within the limit); or only "no data"
 * where no data is no evidence (on-no-data: inconclusive). The last two get extraChecksAllowed more checks
 * at most, then the verdict is taken as it stands.
 */
function unsettled(run: MetricRun): boolean {
  if (run.answered === 0) return true;
  if (run.extraChecks >= extraChecksAllowed(run)) return false;
  if (run.breachOpen) return true;
  const noEvidence = run.withData === 0 || (run.countJudge !== undefined && !run.countJudge.hadTraffic);
  return noEvidence && run.bound.spec.onNoData === 'inconclusive';
}

function prepare(bound: BoundMetric, options: AnalysisOptions, startedAt: number): MetricRun {
  const spec = bound.spec;
  const run: MetricRun = {
    bound,
    next: startedAt + spec.interval,
    errorsInRow: 0,
    checks: 0,
    answered: 0,
    withData: 0,
    breachOpen: false,
    extraChecks: 0,
    judge: async () => ({ outcome: 'ok', threshold: '' }),
  };
  switch (spec.kind) {
    case 'threshold': {
      const judge = new ThresholdJudge(spec);
      run.judge = async (query) => judge.judge(await bound.fetch(spec.query, 'canary', query));
      break;
    }
    case 'kubernetes': {
      const judge = new ThresholdJudge(spec);
      const compute = POD_SIGNALS[spec.signal];
      run.judge = async (query) => judge.judge(compute(await options.canaryPods!(query.signal)));
      break;
    }
    case 'compare-value': {
      const judge = new ValueComparisonJudge(spec);
      run.judge = async (query) => {
        const [canary, control] = await Promise.all([
          bound.fetch(spec.query, 'canary', query),
          bound.fetch(spec.query, 'control', query),
        ]);
        return judge.judge(canary, control);
      };
      break;
    }
    case 'compare-counts': {
      // α is spent over the checks the step has time for.
      const judge = new CountComparisonJudge(spec, Math.max(1, Math.floor(options.duration / spec.interval)));
      run.countJudge = judge;
      // Read once, at the first check: the test's null is fixed before its first look.
      let historyRead = spec.stableHistory === undefined;
      run.judge = async (query) => {
        let historyNote: string | undefined;
        if (!historyRead) {
          historyRead = true;
          historyNote = await readStableHistory(bound, spec, judge, {
            ...query,
            at: options.stableHistoryEnd ?? startedAt,
            window: spec.stableHistory!,
          });
        }
        const judgement = await judgeWindow(query);
        return historyNote === undefined ? judgement : { ...judgement, note: historyNote };
      };
      const judgeWindow = async (query: QueryOptions): Promise<Judgement> => {
        const [canaryEvents, canaryTotal, controlEvents, controlTotal] = await Promise.all([
          bound.fetch(spec.errors, 'canary', query),
          bound.fetch(spec.requests, 'canary', query),
          bound.fetch(spec.errors, 'control', query),
          bound.fetch(spec.requests, 'control', query),
        ]);
        if (canaryTotal === undefined || controlTotal === undefined) return judge.judge(undefined);
        // No series for errors is the common "no errors at all" case (no 5xx label value exists yet).
        // increase() extrapolates, so counts come back fractional: round to whole events.
        const whole = (value: number | undefined) => Math.max(0, Math.round(value ?? 0));
        return judge.judge({
          canaryEvents: whole(canaryEvents),
          canaryTotal: whole(canaryTotal),
          controlEvents: whole(controlEvents),
          controlTotal: whole(controlTotal),
        });
      };
      break;
    }
  }
  return run;
}

/**
 * The stable's counts over `stable-history` for a count comparison, handed to its judge. When they
 * cannot be had (the source is unreachable, or the stable had no requests then) the step compares
 * within the same window, and the returned note says why; a query the source rejects still fails.
 */
async function readStableHistory(
  bound: BoundMetric,
  spec: CountComparisonMetric,
  judge: CountComparisonJudge,
  history: QueryOptions,
): Promise<string | undefined> {
  const span = intervalText(history.window);
  try {
    const [events, total] = await Promise.all([
      bound.fetch(spec.errors, 'control', history),
      bound.fetch(spec.requests, 'control', history),
    ]);
    if (total === undefined || total <= 0) {
      return `stable-history: no requests of the stable in the ${span} before the canary; comparing within the same window`;
    }
    // increase() extrapolates: whole events, as for the checks.
    judge.useHistory({ events: Math.max(0, Math.round(events ?? 0)), total: Math.round(total) });
    return undefined;
  } catch (error) {
    if (!(error instanceof ProviderUnavailable)) throw error;
    return `stable-history: the ${span} before the canary could not be read (${error.message}); comparing within the same window`;
  }
}

async function check(
  run: MetricRun,
  now: number,
  startedAt: number,
  options: AnalysisOptions,
): Promise<{ measurement: Measurement; failure?: string; inconclusive?: string }> {
  const spec = run.bound.spec;
  const base = { metric: spec.name, at: now, elapsed: now - startedAt };
  run.checks++;
  try {
    const judgement = await run.judge({ at: now, window: spec.interval, signal: options.signal });
    run.errorsInRow = 0;
    run.answered++;
    if (judgement.outcome !== 'no-data') run.withData++;
    // A no-data answer counts as within the limit only under on-no-data: pass; otherwise it leaves a streak open.
    if (judgement.outcome !== 'no-data' || spec.onNoData === 'pass') run.breachOpen = judgement.outcome === 'breach';
    const measurement: Measurement = { ...base, outcome: judgement.outcome, threshold: judgement.threshold };
    if (judgement.note !== undefined) measurement.note = judgement.note;
    if (judgement.overLimit !== undefined) {
      measurement.overLimit = judgement.overLimit;
      run.overLimit = { at: judgement.overLimit, checks: (run.overLimit?.checks ?? 0) + 1 };
    }
    if (judgement.value !== undefined) measurement.value = judgement.value;
    if (judgement.control !== undefined) measurement.control = judgement.control;
    return judgement.failure === undefined ? { measurement } : { measurement, failure: judgement.failure };
  } catch (error) {
    if (options.signal.aborted) throw error;
    const note = (error as Error).message;
    const outcome = error instanceof ProviderUnavailable ? 'unreachable' : 'error';
    const measurement: Measurement = { ...base, outcome, threshold: '', note };
    run.errorsInRow++;
    run.lastError = note;
    if (isUserError(error)) return { measurement, inconclusive: `Metric '${spec.name}' could not be checked: ${note}` };
    if (run.errorsInRow >= MAX_CONSECUTIVE_ERRORS) {
      return {
        measurement,
        inconclusive: `Metric '${spec.name}' ${outcome === 'unreachable' ? 'was unreachable' : 'failed to answer'} ${run.errorsInRow} checks in a row: ${note}`,
      };
    }
    return { measurement };
  }
}

function finalVerdict(run: MetricRun): MetricVerdict {
  const spec = run.bound.spec;
  if (run.answered === 0) {
    return {
      metric: spec.name,
      verdict: 'inconclusive',
      reason: `Metric '${spec.name}' was never checked: ${run.checks === 0 ? 'no check fell in the pause' : `its source did not answer any of ${run.checks} checks (${run.lastError})`}.`,
    };
  }
  if (run.withData === 0 && run.checks > 0 && spec.onNoData === 'inconclusive') {
    return {
      metric: spec.name,
      verdict: 'inconclusive',
      reason: `Metric '${spec.name}' had no data in any of its ${run.checks} checks.`,
    };
  }
  if (run.countJudge !== undefined && !run.countJudge.hadTraffic && spec.onNoData === 'inconclusive') {
    return {
      metric: spec.name,
      verdict: 'inconclusive',
      reason: `Metric '${spec.name}' saw no canary requests in ${run.checks} checks.`,
    };
  }
  // Still over the limit when its checks ran out: a breach in progress is not a pass.
  if (run.breachOpen)
    return {
      metric: spec.name,
      verdict: 'inconclusive',
      reason: `Metric '${spec.name}' was still over its limit (${run.overLimit?.at ?? 'breach'}) at its last check, ${run.extraChecks} check(s) after the pause.`,
    };
  if (run.overLimit !== undefined)
    return {
      metric: spec.name,
      verdict: 'pass',
      reason: `${spec.name} was over its limit at ${run.overLimit.checks} of ${run.checks} checks, not enough to fail it.`,
      overLimit: run.overLimit.at,
    };
  return {
    metric: spec.name,
    verdict: 'pass',
    reason: `${spec.name} stayed within its limits in ${run.checks} checks.`,
  };
}

function verdictsSoFar(runs: MetricRun[], decided: MetricVerdict): MetricVerdict[] {
  return runs.map((run) => {
    const metric = run.bound.spec.name;
    if (metric === decided.metric) return decided;
    // Within limits only when its source answered at least once.
    if (run.overLimit !== undefined)
      return {
        metric,
        verdict: 'pass',
        reason: `${metric} was over its limit (${run.overLimit.at}) when the analysis stopped.`,
        overLimit: run.overLimit.at,
      };
    return run.answered > 0
      ? { metric, verdict: 'pass', reason: `${metric} was within its limits when the analysis stopped.` }
      : { metric, verdict: 'inconclusive', reason: `${metric} had not been checked when the analysis stopped.` };
  });
}
