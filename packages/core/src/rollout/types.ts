/** What a rollout is given (settings) and what it gives back (outcome): the engine's public shapes. */
import type { AnalysisResult } from '../metrics/engine';
import type { MetricProvider } from '../metrics/provider';
import type { MetricSpec, ProviderConfig } from '../metrics/spec';
import type { TrafficRouter, TrafficTarget } from '../routing/types';
import type { RolloutPlan, RolloutRecord, StepVerdict } from '../state/record';
import type { Step } from './plan';

export type RolloutResult = 'promoted' | 'aborted' | 'paused' | 'rolled-back' | 'planned' | 'finalized';

/** One step as it ended (its verdict saved): what the router served and why it passed or failed. */
export interface StepReport {
  /** Index into the plan's steps. */
  index: number;
  weight: number;
  /** The share the routers report they serve (mean over the Deployments). */
  actual: number;
  verdict: StepVerdict['verdict'];
  reason: string;
  /** Router details of the weight change (e.g. "2 of 8 pods = 25%"). */
  routing: string[];
}

export interface RolloutSettings {
  strategy: 'canary' | 'blue-green';
  namespace: string;
  steps: Step[];
  pauseAt?: number | undefined;
  onStepFailure: 'abort' | 'previous-step';
  baseline: boolean;
  postPromotion?: { duration: number; metrics: MetricSpec[] } | undefined;
  /**
   * Blue-green: how long blue keeps running after the switch (analysis runs meanwhile), or `manual`:
   * the step ends after the switch (phase switched) and a later finalize removes blue, or abort switches back.
   */
  scaleDownDelay?: number | 'manual' | undefined;
  /** What start records, so later jobs follow the same plan. */
  plan?: RolloutPlan | undefined;
  /** Blue-green: checks run against green before the switch; throws a UserError when they fail. */
  previewChecks?: ((green: string) => Promise<void>) | undefined;
  /** Blue-green: the preview checks' names, for the dry-run plan. */
  previewCheckNames?: string[] | undefined;
  router: { kind: string; config: unknown };
  makeRouter: (target: TrafficTarget) => TrafficRouter;
  /**
   * A step whose weight the router cannot give within WEIGHT_TOLERANCE points (whole pods): `exact` refuses it
   * before anything changes, `nearest` takes the nearest share and says so. Default exact.
   */
  weightRounding?: 'exact' | 'nearest' | undefined;
  /** Limit for each wait on pods. */
  rolloutTimeoutMs: number;
  /** Called before each wait with how long it may take: the caller holds the app's lease that long (plus a margin). */
  holdLease?: ((ms: number) => Promise<void>) | undefined;
  providerFor?: ((config: ProviderConfig) => MetricProvider) | undefined;
  /** Called once each canary step's verdict is saved (staged rollback reports the pods of each step). */
  onStep?: ((step: StepReport) => Promise<void>) | undefined;
}

export interface WeightPoint {
  at: number;
  weight: number;
  actual: number;
}

export interface RolloutOutcome {
  result: RolloutResult;
  record: RolloutRecord | undefined;
  reason: string;
  timeline: WeightPoint[];
  analyses: Array<{ step: number; weight: number; result: AnalysisResult }>;
  /** Dry run: what would be done. */
  plan?: string[];
  /** Router details at the last weight change (e.g. "2 of 8 pods = 25%"). */
  routing: string[];
  /** Aborted after a failed step: why it failed (`step 2 (25%): ...`), the reason without "Aborted because". */
  stepFailure?: string;
}
