/**
 * The traffic part of a release plan, from the inputs canary-promote and rollback's staged mode share
 * (`steps`, `trafficInputs`, `router-config`): the analysis, the steps with their pauses and metrics, and
 * the router. Parsed once here, so both actions check them the same way, before the cluster is touched.
 */
import { InputError } from '../errors';
import { type MetricSpec, parseAnalysisSpec } from '../metrics/spec';
import { parseRouterConfig, parseRouterKind } from '../routing/config';
import type { RouterConfig, RouterKind } from '../routing/types';
import { describeComparisons, leftOutNote, splitComparisons } from './analysis-split';
import { analysisDefaults } from './inputs';
import { checkPausesFitTimeout, parseSteps, type Step, type StepDefaults } from './plan';

/** The inputs a traffic plan is parsed from (parsed by `trafficInputs` and a `steps` structured input). */
export interface TrafficPlanValues {
  /** `5,25,50,100`, or a YAML list of steps; undefined: `defaultSteps`. */
  steps?: unknown;
  pause: number;
  analysis?: unknown;
  'analysis-interval': number;
  'on-no-data'?: string | undefined;
}

export interface TrafficPlanOptions {
  /**
   * `canary`: a step at 100% is the promotion (a pause or analysis on it is refused). `blue-green`: the one
   * step is the switch at 100% (its pause and analysis run after it; comparisons are left out). Left out
   * (rollback's reverse canary): the step at 100% is not checked.
   */
  strategy?: 'canary' | 'blue-green' | undefined;
  /** The steps when the input is not given; blue-green treats this value as "left at its default" too. */
  defaultSteps: string;
  /** The `timeout` input: the pauses this job waits through must fit in it. Left out: not checked. */
  timeoutMs?: number | undefined;
  /** The `pause-at` input: this job stops there, so later pauses do not count against the timeout. */
  pauseAt?: number | undefined;
}

export interface TrafficPlan {
  /** The `analysis` input: every step's metrics unless the step gives its own. */
  analysis: MetricSpec[];
  steps: Step[];
  /** Blue-green: the comparisons left out of the analysis after the switch (blue has no traffic then). */
  switchLeftOut: string[];
}

/** Which router shifts the traffic, and its parsed `router-config`. */
export interface RouterChoice {
  kind: RouterKind;
  config: RouterConfig;
}

/** Steps and analysis from the inputs; bad input fails here with an InputError naming it. */
export function parseTrafficPlan(values: TrafficPlanValues, options: TrafficPlanOptions): TrafficPlan {
  const defaults = analysisDefaults(values);
  const analysis: MetricSpec[] = values.analysis === undefined ? [] : parseAnalysisSpec(values.analysis, defaults);
  const given = values.steps ?? options.defaultSteps;
  const stepDefaults = {
    pause: values.pause,
    analysis,
    analysisInterval: values['analysis-interval'],
    onNoData: defaults.defaultOnNoData,
  };
  let steps: Step[];
  let switchLeftOut: string[] = [];
  if (options.strategy === 'blue-green') {
    ({ steps, leftOut: switchLeftOut } = switchedAnalysis(
      blueGreenSteps(given, options, stepDefaults),
      analysis,
      values,
    ));
  } else {
    steps = parseSteps(given, {
      ...stepDefaults,
      final: options.strategy === 'canary' ? 'promotes' : undefined,
    });
  }
  if (options.timeoutMs !== undefined)
    checkPausesFitTimeout(steps, options.timeoutMs, {
      pauseAt: options.pauseAt,
      // A YAML list may give its own pauses; a list of weights takes the pause input's.
      stepsGiven: typeof values.steps === 'object' && values.steps !== null,
      final: options.strategy === 'blue-green' ? 'switches' : options.strategy === 'canary' ? 'promotes' : undefined,
    });
  return { analysis, steps, switchLeftOut };
}

/**
 * Blue-green has one step, the switch at 100: left at its default, `steps` is that step (with `pause` and
 * `analysis`: what runs after the switch); weights below 100 would be silently skipped, so they are refused.
 */
function blueGreenSteps(given: unknown, options: TrafficPlanOptions, defaults: StepDefaults): Step[] {
  if (given === options.defaultSteps) return [{ weight: 100, pause: defaults.pause, analysis: defaults.analysis }];
  const steps = parseSteps(given, { ...defaults, final: 'switches' });
  const below = steps.filter((step) => step.weight < 100).map((step) => `${step.weight}%`);
  if (below.length > 0)
    throw new InputError(
      'steps',
      `blue-green switches all traffic to green in one patch after the preview checks, so weights below 100 (${below.join(', ')}) would never be used: leave steps out, or give the one step at 100 (its pause and analysis run while blue is kept after the switch); for gradual weights use strategy: canary with a weighted router`,
      typeof given === 'string' ? given : JSON.stringify(given),
      '100, or [{ weight: 100, pause: 10m, analysis: [...] }]',
    );
  return steps;
}

/**
 * Blue-green's analysis runs after the switch, when blue gets no traffic: a comparison (`compare: stable` /
 * `baseline`) has no control data then, so a compare-value metric came out inconclusive and switched a
 * healthy release back, and a count comparison passed without testing anything. They are left out (the log
 * and summary say so), as post-promotion analysis leaves them out; a step with only comparisons is refused.
 */
function switchedAnalysis(
  steps: Step[],
  analysisInput: MetricSpec[],
  values: TrafficPlanValues,
): { steps: Step[]; leftOut: string[] } {
  const leftOut = new Set<string>();
  const kept = steps.map((step) => {
    const { comparisons, others: analysis } = splitComparisons(step.analysis);
    if (comparisons.length === 0) return step;
    if (analysis.length === 0) {
      // The input the step's metrics came from: the analysis input (a step without its own), or the step's own.
      const input = step.analysis === analysisInput ? 'analysis' : 'steps';
      const given: unknown = input === 'analysis' ? values.analysis : values.steps;
      throw new InputError(
        input,
        `has only comparisons for blue-green (${describeComparisons(comparisons)}): its analysis runs after the switch, when blue gets no traffic, so there is nothing to compare with; add a metric without compare (a max on the new version's own error rate, or a kubernetes signal), or use strategy: canary to compare the versions side by side`,
        typeof given === 'string' ? given : JSON.stringify(given),
        input === 'analysis'
          ? '[{ name: restarts, provider: kubernetes, signal: restarts, max: 2 }]'
          : '[{ weight: 100, pause: 10m, analysis: [{ name: restarts, provider: kubernetes, signal: restarts, max: 2 }] }]',
      );
    }
    for (const metric of comparisons) leftOut.add(metric.name);
    return { ...step, analysis };
  });
  return { steps: kept, leftOut: [...leftOut] };
}

/** The log and summary line saying which comparisons blue-green's analysis after the switch leaves out. */
export function switchNote(plan: TrafficPlan): string | undefined {
  if (plan.switchLeftOut.length === 0) return undefined;
  const checked = [...new Set(plan.steps.flatMap((step) => step.analysis.map((metric) => metric.name)))];
  return leftOutNote(
    "Blue-green's analysis after the switch",
    checked,
    plan.switchLeftOut,
    'after the switch blue gets no traffic',
  );
}

/**
 * The router from `router` and `router-config`. With a strategy: blue-green switches a Service selector
 * (`replicas`, the default, means `service` there) and a canary needs a weighted router.
 */
export function parseRouterChoice(
  values: { router: string; 'router-config'?: unknown },
  strategy?: 'canary' | 'blue-green',
): RouterChoice {
  const kind: RouterKind =
    strategy === 'blue-green' && values.router === 'replicas' ? 'service' : parseRouterKind(values.router);
  if (strategy === 'blue-green' && kind !== 'service')
    throw new InputError(
      'router',
      'blue-green switches a Service selector: use router service',
      values.router,
      'service',
    );
  if (strategy === 'canary' && kind === 'service')
    throw new InputError(
      'router',
      'service switches a Service selector, all traffic in one patch: it is the blue-green router; a canary needs a weighted router (replicas, nginx, gateway-api, istio, smi or command)',
      values.router,
      'replicas, or strategy: blue-green with router: service',
    );
  return { kind, config: parseRouterConfig(kind, values['router-config']) };
}
