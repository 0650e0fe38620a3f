/**
 * The `steps` input: `5,25,50,100` or YAML `- weight: 5 / pause: 5m /
 * analysis: [...]`. Everything is checked here, before the cluster is touched.
 */
import { InputError } from '../errors';
import { formatDuration, parseDuration } from '../inputs/scalars';
import { type MetricSpec, type NoDataPolicy, parseAnalysisSpec } from '../metrics/spec';

export interface Step {
  weight: number;
  /** How long to hold (and analyse) this weight. */
  pause: number;
  /** Metrics checked during the pause (the step's own, else the `analysis` input). */
  analysis: MetricSpec[];
}

export interface StepDefaults {
  pause: number;
  analysis: MetricSpec[];
  analysisInterval: number;
  /** The on-no-data input: for a step's own metrics that do not say. */
  onNoData?: NoDataPolicy | undefined;
  /**
   * What a step at 100% is. `promotes` (canary): the promotion itself, so a pause or analysis written on it
   * would never run and is refused; `switches` (blue-green): the switch, whose pause and analysis run after
   * it. Left out: not checked.
   */
  final?: 'promotes' | 'switches' | undefined;
}

const EXAMPLE = '5,25,50,100';
const YAML_EXAMPLE = '[{ weight: 5, pause: 5m }, { weight: 50, pause: 10m }, { weight: 100 }]';

export function parseSteps(value: unknown, defaults: StepDefaults): Step[] {
  const shown = typeof value === 'string' ? value : JSON.stringify(value);
  const fail = (problem: string, example = EXAMPLE): never => {
    throw new InputError('steps', problem, shown, example);
  };
  let raw: unknown[];
  if (typeof value === 'number') raw = [value];
  else if (typeof value === 'string') raw = value.split(/[\s,]+/).filter((part) => part !== '');
  else if (Array.isArray(value)) raw = value;
  else return fail('must be a list of weights or a YAML list of steps');

  const steps = raw.map((item, index): Step => {
    const where = `step ${index + 1}`;
    if (typeof item === 'number' || typeof item === 'string') {
      return { weight: weightOf(item, where, fail), pause: defaults.pause, analysis: defaults.analysis };
    }
    if (item === null || typeof item !== 'object' || Array.isArray(item))
      return fail(`${where} must be a weight or a mapping with weight, pause, analysis`, YAML_EXAMPLE);
    const map = item as Record<string, unknown>;
    for (const key of Object.keys(map))
      if (!['weight', 'pause', 'analysis'].includes(key))
        fail(`${where} has an unknown field '${key}' (fields: weight, pause, analysis)`, YAML_EXAMPLE);
    if (map['weight'] === undefined) fail(`${where} has no weight`, YAML_EXAMPLE);
    const weight = weightOf(map['weight'] as number | string, where, fail);
    const extra = ['pause', 'analysis'].filter((key) => map[key] !== undefined);
    if (weight === 100 && defaults.final === 'promotes' && extra.length > 0)
      fail(
        `${where} (100%) has ${extra.join(' and ')}, which would never run: at 100% the new version is promoted at once. Put ${extra.length > 1 ? 'them' : 'it'} on the step before 100, or (with a cluster) keep checking after promotion with post-promotion-analysis (e.g. 30m, with analysis; a failure rolls back)`,
        '[{ weight: 50, pause: 10m, analysis: [...] }, { weight: 100 }] with post-promotion-analysis: 30m',
      );
    let pause = defaults.pause;
    if (map['pause'] !== undefined) {
      const parsed = typeof map['pause'] === 'string' ? parseDuration(map['pause']) : undefined;
      if (parsed === undefined)
        fail(
          `${where}: pause must be a duration like 30s, 5m or 1h30m, got ${JSON.stringify(map['pause'])}`,
          YAML_EXAMPLE,
        );
      pause = parsed!;
    }
    const analysis =
      map['analysis'] === undefined
        ? defaults.analysis
        : parseAnalysisSpec(map['analysis'], {
            input: `steps (${where} analysis)`,
            defaultInterval: defaults.analysisInterval,
            defaultOnNoData: defaults.onNoData,
          });
    return { weight, pause, analysis };
  });
  if (steps.length === 0) fail('needs at least one weight');
  for (let i = 1; i < steps.length; i++) {
    if (steps[i]!.weight <= steps[i - 1]!.weight)
      fail(
        `weights must increase: step ${i + 1} (${steps[i]!.weight}%) is not above step ${i} (${steps[i - 1]!.weight}%)`,
      );
  }
  return steps;
}

function weightOf(item: number | string, where: string, fail: (problem: string) => never): number {
  const text = String(item).trim().replace(/%$/, '');
  const weight = Number(text);
  if (text === '' || !Number.isFinite(weight)) return fail(`${where}: "${item}" is not a weight (a number of percent)`);
  if (weight <= 0 || weight > 100) return fail(`${where}: weight ${weight} must be above 0 and at most 100`);
  return weight;
}

/**
 * The pauses this job will wait through (from step `from`, up to and including `pause-at`) must fit in
 * `timeout`, or the step times out half-way with traffic split: refused before anything changes.
 */
export function checkPausesFitTimeout(
  steps: readonly Step[],
  timeoutMs: number,
  options: { pauseAt?: number | undefined; from?: number; stepsGiven: boolean; final?: StepDefaults['final'] },
): void {
  let total = 0;
  for (const [index, step] of steps.entries()) {
    // At 100 a canary promotes (no pause); blue-green's pause there runs after the switch, in this job.
    if (index < (options.from ?? 0) || (step.weight >= 100 && options.final !== 'switches')) continue;
    total += step.pause;
    if (total > timeoutMs) {
      const input = options.stepsGiven ? 'steps' : 'pause';
      const upTo =
        index === 0
          ? `step 1's pause (${formatDuration(step.pause)})`
          : `the pauses up to step ${index + 1} (${formatDuration(total)} in all)`;
      throw new InputError(
        input,
        `${upTo} is longer than input 'timeout' (${formatDuration(timeoutMs)}): the step would time out in the middle of the canary; give a shorter ${input === 'pause' ? 'pause' : 'step pause'}, a longer timeout, or pause-at to stop the job early and continue in a later one`,
        formatDuration(step.pause),
        input === 'pause' ? '5m (with timeout: 30m)' : '[{ weight: 5, pause: 5m }, { weight: 100 }] with timeout: 30m',
      );
    }
    if (options.pauseAt !== undefined && step.weight >= options.pauseAt) break;
  }
}

/** One line per step, for logs and the dry-run plan. */
export function describeSteps(steps: readonly Step[]): string[] {
  return steps.map(
    (step, index) =>
      `${index + 1}. ${step.weight}%${step.weight < 100 ? ` for ${formatDuration(step.pause)}` : ''}${
        step.analysis.length > 0 ? `, checking ${step.analysis.map((metric) => metric.name).join(', ')}` : ''
      }`,
  );
}
