/**
 * The release engine: planRelease (inputs + record → plan, pure) and runRelease (the plan carried out under
 * the app's Lease and record, with its GitHub Deployment), the Rollout state machine of canary and
 * blue-green, and the traffic plan (steps, analysis, router) staged rollback shares. The record and the Lease
 * live in ../state. See README.md for the record's shape (rollback's `mode: in-flight` reads it).
 */

export type { RouterDeps } from '../routing/types';
export { ABORT_TIMEOUT_MS, type AbortOptions, abortRollout, abortUnderLease } from './abort-in-flight';
export { Rollout } from './canary';
export {
  CommandRollout,
  type CommandRolloutSettings,
  checkCommandAnalysis,
  NO_CLUSTER_NOTE,
  UNKNOWN_STABLE,
} from './command';
export { DeploymentStatus, type DeploymentStatusInputs } from './deployment-status';
export { analysisDefaults, trafficInputs } from './inputs';
export { checkPausesFitTimeout, describeSteps, parseSteps, type Step, type StepDefaults } from './plan';
export { type PostPromotionPlan, parsePostPromotion, postPromotionNote } from './post-promotion';
export { DEFAULT_STEPS, PLAN_INPUTS, type ReleaseAction, type ReleaseInputs, releaseInputs } from './release-inputs';
export {
  type InPlaceReleasePlan,
  type NoClusterReleasePlan,
  planRelease,
  type ReleasePlan,
  type RolloutReleasePlan,
  runsWithoutCluster,
} from './release-plan';
export { finishUnfinishedRelease } from './release-post';
export type { InPlaceReleaseResult, ReleaseResult, RolloutReleaseResult } from './release-result';
export { runRelease } from './release-run';
export { renderRolloutSummary } from './summary';
export {
  parseRouterChoice,
  parseTrafficPlan,
  type RouterChoice,
  switchNote,
  type TrafficPlan,
  type TrafficPlanOptions,
  type TrafficPlanValues,
} from './traffic-plan';
export type { RolloutOutcome, RolloutResult, RolloutSettings, StepReport, WeightPoint } from './types';
export { canaryReplicas } from './weights';
export * from './workloads';
