/**
 * planRelease: what a release will do, from its inputs and (for a later job) the record `start` left. Pure:
 * no cluster, no clock, no log. Every input is checked here, before anything changes; a bad one throws an
 * InputError naming it. runRelease (release-run.ts) carries the plan out.
 */
import { InputError } from '../errors';
import { parseDuration } from '../inputs/scalars';
import { secretsOf } from '../metrics/engine';
import type { MetricSpec } from '../metrics/spec';
import { parseAnalysisSpec } from '../metrics/spec';
import { parseRouterConfig } from '../routing/config';
import type { RouterKind } from '../routing/types';
import { REDACTED, type RolloutPlan, type RolloutRecord } from '../state/record';
import { analysisDefaults } from './inputs';
import { parseSteps } from './plan';
import { type PostPromotionPlan, parsePostPromotion, postPromotionNote } from './post-promotion';
import {
  checkStrategyInputs,
  DEFAULT_STEPS,
  PLAN_INPUTS,
  type ReleaseAction,
  type ReleaseInputs,
  releaseInputDefaults,
} from './release-inputs';
import { parseRouterChoice, parseTrafficPlan, type RouterChoice, switchNote, type TrafficPlan } from './traffic-plan';
import { checkImageReferences } from './workloads';

/** The part of a canary or blue-green plan that shifts traffic, with or without a cluster. */
interface TrafficShiftingPlan {
  /** The inputs the release follows: this job's, or (a later job) the recorded plan's where it left them out. */
  inputs: ReleaseInputs;
  action: ReleaseAction;
  traffic: TrafficPlan;
  postPromotion: PostPromotionPlan | undefined;
  scaleDownDelay: number | 'manual';
  /** Lines for the log and, after the outcome, the summary: which comparisons an analysis leaves out. */
  notes: string[];
  /** Secret strings in the analysis (Datadog keys, credential headers): masked before anything is logged. */
  secrets: string[];
}

/** Canary or blue-green in a cluster, through the Rollout state machine, under the app's Lease and record. */
export interface RolloutReleasePlan extends TrafficShiftingPlan {
  mode: 'rollout';
  strategy: 'canary' | 'blue-green';
  /** start: parsed from the inputs. A later job: the record's (undefined until the record is read). */
  router: RouterChoice | undefined;
  /** start: what the record keeps, so later jobs follow the same plan (secrets redacted). */
  recorded: RolloutPlan | undefined;
  /** Built from a record: the plan a later job (or a `start` that finishes a promotion or abort) follows. */
  followsRecord: boolean;
  /** Said in the log: the record was written before plans were kept in it. */
  warnings: string[];
}

/** `router: command` without deployments or selector: the same steps and analysis, driven by commands only. */
export interface NoClusterReleasePlan extends TrafficShiftingPlan {
  mode: 'no-cluster';
  router: RouterChoice;
}

/** Rolling or helm: the new version replaces the running one in place (core/deploy), under the same Lease. */
export interface InPlaceReleasePlan {
  mode: 'in-place';
  strategy: 'rolling' | 'helm';
  inputs: ReleaseInputs;
  action: ReleaseAction;
  /** The `analysis` input: checked while `monitor` runs; undefined: not given. */
  analysis: MetricSpec[] | undefined;
}

export type ReleasePlan = RolloutReleasePlan | NoClusterReleasePlan | InPlaceReleasePlan;

/**
 * The plan of a release. Without a record: from this job's inputs alone (every input checked). With the
 * app's record: a later job (`continue`, `promote`, `abort`, `finalize`) follows the plan and router `start`
 * recorded; a `start` run again for a release a run left `promoting` or `aborting`, with its images, finishes
 * that promotion or abort (never promotes an aborting one); any other `start` plans from its inputs.
 */
export function planRelease(inputs: ReleaseInputs, record?: RolloutRecord): ReleasePlan {
  checkStrategyInputs(inputs);
  checkImageReferences('images', inputs.images ?? {}, 'web=ghcr.io/acme/web:v1.2.3');
  if (inputs.strategy === 'rolling' || inputs.strategy === 'helm')
    return {
      mode: 'in-place',
      strategy: inputs.strategy,
      inputs,
      action: inputs.action,
      analysis:
        inputs.analysis === undefined ? undefined : parseAnalysisSpec(inputs.analysis, analysisDefaults(inputs)),
    };
  const finishing = record && finishedByStart(inputs, record);
  if (record && (inputs.action !== 'start' || finishing))
    return followRecordedPlan({ ...inputs, action: finishing ?? inputs.action }, record);
  return planFromInputs(inputs);
}

/** `router: command` with no deployments or selector: the platform is outside Kubernetes, no cluster is read. */
export function runsWithoutCluster(inputs: Pick<ReleaseInputs, 'router' | 'deployments' | 'selector'>): boolean {
  return inputs.router === 'command' && !inputs.deployments?.length && !inputs.selector;
}

/** The action a `start` run again takes over from the record: finish a promotion or an abort a run left half-way. */
function finishedByStart(inputs: ReleaseInputs, record: RolloutRecord): 'promote' | 'abort' | undefined {
  if (inputs.action !== 'start' || (record.phase !== 'promoting' && record.phase !== 'aborting')) return undefined;
  const recorded = new Set(record.workloads.flatMap((workload) => Object.values(workload.canaryImages)));
  const given = Object.values(inputs.images ?? {});
  if (given.length === 0 || !given.every((image) => recorded.has(image))) return undefined;
  return record.phase === 'promoting' ? 'promote' : 'abort';
}

function planFromInputs(inputs: ReleaseInputs): RolloutReleasePlan | NoClusterReleasePlan {
  const strategy = inputs.strategy as 'canary' | 'blue-green';
  const start = inputs.action === 'start';
  const shifting = trafficShifting(inputs, strategy);
  if (start) {
    const switched = switchNote(shifting.traffic);
    if (switched !== undefined) shifting.notes.push(switched);
  }
  if (runsWithoutCluster(inputs)) {
    const router = parseRouterChoice(inputs, strategy);
    refuseWithoutCluster(inputs);
    return { mode: 'no-cluster', ...shifting, router };
  }
  return {
    mode: 'rollout',
    strategy,
    ...shifting,
    // Later jobs take the record's router (a different one given is refused when the record is read).
    router: start ? parseRouterChoice(inputs, strategy) : undefined,
    recorded: start ? recordedPlan(inputs, shifting) : undefined,
    followsRecord: false,
    warnings: [],
  };
}

/** The plan and router the rollout started with, whatever this job's inputs say (differences are refused). */
function followRecordedPlan(inputs: ReleaseInputs, record: RolloutRecord): RolloutReleasePlan {
  const { followed, warnings } = followRecord({ ...inputs, strategy: record.strategy }, record);
  // The recorded plan, parsed as start parsed it (its post-promotion analysis included).
  const shifting = trafficShifting({ ...followed, action: 'start' }, record.strategy);
  return {
    mode: 'rollout',
    strategy: record.strategy,
    ...shifting,
    inputs: followed,
    action: inputs.action,
    notes: inputs.action === 'abort' ? [] : shifting.notes,
    router: { kind: record.router.kind as RouterKind, config: record.router.config as RouterChoice['config'] },
    recorded: undefined,
    followsRecord: true,
    warnings,
  };
}

/** Steps, analysis, post-promotion and scale-down: the part of the plan the record keeps. */
function trafficShifting(inputs: ReleaseInputs, strategy: 'canary' | 'blue-green'): TrafficShiftingPlan {
  const start = inputs.action === 'start';
  const traffic = parseTrafficPlan(inputs, {
    strategy,
    defaultSteps: DEFAULT_STEPS,
    ...(start ? { timeoutMs: inputs.timeout, pauseAt: inputs['pause-at'] } : {}),
  });
  // A later job's own post-promotion-analysis is compared with the record, not checked alone.
  const postPromotion = start
    ? parsePostPromotion(inputs['post-promotion-analysis'], traffic.analysis, traffic.steps)
    : undefined;
  const scaleDownDelay = parseScaleDownDelay(inputs['scale-down-delay']);
  const note = inputs.action === 'abort' ? undefined : postPromotionNote(postPromotion);
  return {
    inputs,
    action: inputs.action,
    traffic,
    postPromotion,
    scaleDownDelay,
    notes: note === undefined ? [] : [note],
    secrets: secretsOf([
      ...traffic.analysis,
      ...traffic.steps.flatMap((step) => step.analysis),
      ...(postPromotion?.metrics ?? []),
    ]),
  };
}

function parseScaleDownDelay(text: string): number | 'manual' {
  if (text === 'manual') return 'manual';
  const ms = parseDuration(text);
  if (ms === undefined)
    throw new InputError(
      'scale-down-delay',
      'must be a duration (30s, 5m, 1h30m) or manual (blue stays until action: finalize or abort)',
      text,
      '30m',
    );
  return ms;
}

/** Without a cluster there is no record, no Deployment and nothing to roll back: inputs that need them are refused. */
function refuseWithoutCluster(inputs: ReleaseInputs): void {
  const refuse = (name: keyof ReleaseInputs & string, given: boolean, why: string) => {
    if (given)
      throw new InputError(
        name,
        `${why}: router command without deployments or selector runs without a cluster`,
        String(inputs[name]),
        'remove it, or name the deployments',
      );
  };
  refuse('strategy', inputs.strategy !== 'canary', 'only strategy canary applies');
  refuse('pause-at', inputs['pause-at'] !== undefined, 'there is no state record to continue from');
  refuse('baseline', inputs.baseline, 'a baseline is a Deployment');
  refuse('post-promotion-analysis', inputs['post-promotion-analysis'] !== undefined, 'nothing could be rolled back');
  refuse('preview-checks', inputs['preview-checks'] !== undefined, 'preview checks belong to blue-green');
  refuse(
    'action',
    inputs.action === 'continue' || inputs.action === 'finalize',
    `${inputs.action} needs the state record a cluster keeps`,
  );
}

/** `value` with every secret string replaced by REDACTED (the record is a ConfigMap anyone reading the namespace sees). */
function redact<T>(value: T, secrets: readonly string[]): T {
  const hidden = new Set(secrets.filter((secret) => secret !== ''));
  return JSON.parse(
    JSON.stringify(value, (_key, item) => (typeof item === 'string' && hidden.has(item) ? REDACTED : item)),
  ) as T;
}

/** What `start` saves in the record: the parsed plan and the inputs it came from, secrets redacted. */
function recordedPlan(inputs: ReleaseInputs, plan: TrafficShiftingPlan): RolloutPlan {
  return redact(
    {
      steps: plan.traffic.steps,
      onStepFailure: inputs['on-step-failure'] as 'abort' | 'previous-step',
      baseline: inputs.baseline,
      ...(plan.postPromotion
        ? { postPromotion: { duration: plan.postPromotion.duration, metrics: plan.postPromotion.metrics } }
        : {}),
      ...(inputs.strategy === 'blue-green' ? { scaleDownDelay: plan.scaleDownDelay } : {}),
      inputs: Object.fromEntries(PLAN_INPUTS.map((name) => [name, inputs[name] ?? null])),
    },
    plan.secrets,
  );
}

/**
 * continue / promote / finalize follow the plan `start` recorded, not this job's inputs. An input left at
 * its default counts as not given (on GitHub the runner fills defaults in, so they cannot be told apart);
 * one given with another value than the record's is refused: to change the plan, abort and start again.
 * Secrets the record does not keep come from this job's inputs, which must then match the record.
 */
function followRecord(inputs: ReleaseInputs, record: RolloutRecord): { followed: ReleaseInputs; warnings: string[] } {
  const saved = record.plan;
  if (saved === undefined)
    return {
      followed: inputs,
      warnings: [
        `The record of ${record.app} was written before the plan was kept in it: this job's inputs (steps, pause, analysis) are used`,
      ],
    };
  const defaults = releaseInputDefaults();
  const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  const given = (name: (typeof PLAN_INPUTS)[number] | 'router') => !same(inputs[name], defaults[name]);
  const secrets = secretsOf([
    ...(inputs.analysis === undefined ? [] : parseAnalysisSpec(inputs.analysis, analysisDefaults(inputs))),
    ...parseSteps(inputs.steps, {
      pause: inputs.pause,
      analysis: [],
      analysisInterval: inputs['analysis-interval'],
    }).flatMap((s) => s.analysis),
  ]);
  const effective: Record<string, unknown> = { ...inputs };
  for (const name of PLAN_INPUTS) {
    const recorded = saved.inputs[name] ?? undefined;
    if (given(name) && !same(redact(inputs[name], secrets), recorded))
      throw new InputError(
        name,
        `differs from the plan the rollout of ${record.app} started with (run ${record.runUrl ?? record.runId ?? 'unknown'}); ${inputs.action} follows the recorded plan: leave ${name} out, give the same value, or abort and start again`,
        typeof inputs[name] === 'string' ? (inputs[name] as string) : JSON.stringify(inputs[name]),
        typeof recorded === 'string' ? recorded : JSON.stringify(recorded),
      );
    // Given and equal to the record: this job's value (it holds the secrets the record does not).
    if (!given(name)) effective[name] = recorded;
    if (JSON.stringify(effective[name] ?? null).includes(REDACTED))
      throw new InputError(
        name,
        `holds secrets (Datadog keys, credential headers) the rollout record does not keep: give ${name} again, the same as at start`,
        undefined,
        'the same analysis as the start job, with its secrets',
      );
  }
  if (
    given('router') &&
    inputs.router !== record.router.kind &&
    !(record.strategy === 'blue-green' && inputs.router === 'replicas')
  )
    throw new InputError(
      'router',
      `differs from the router the rollout of ${record.app} started with (${record.router.kind}); leave it out`,
      inputs.router,
      record.router.kind,
    );
  if (inputs['router-config'] !== undefined) {
    const config = parseRouterConfig(record.router.kind as RouterKind, inputs['router-config']);
    if (!same(config, record.router.config))
      throw new InputError(
        'router-config',
        `differs from the router config the rollout of ${record.app} started with; leave it out`,
        JSON.stringify(inputs['router-config']),
        JSON.stringify(record.router.config),
      );
  }
  // pause-at is this job's own stop, not part of the plan: it must lie ahead of the weight reached.
  const pauseAt = inputs['pause-at'];
  if (pauseAt !== undefined && inputs.action === 'continue' && pauseAt <= record.weight)
    throw new InputError(
      'pause-at',
      `must be above the weight the rollout of ${record.app} has reached (${record.weight}%): it is where this job stops`,
      String(pauseAt),
      String(record.steps.find((weight) => weight > record.weight && weight < 100) ?? 100),
    );
  return { followed: effective as ReleaseInputs, warnings: [] };
}
