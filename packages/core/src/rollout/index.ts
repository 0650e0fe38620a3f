/**
 * Canary and blue-green orchestration from workflow steps: the steps plan and the state machine. The
 * record and the Lease it keeps live in ../state. See README.md for the record's shape (rollback's
 * `mode: in-flight` reads it).
 */
import type { RouterDeps } from '../routing/types';

export { ABORT_TIMEOUT_MS, type AbortOptions, abortRollout } from './abort-in-flight';
export {
  canaryReplicas,
  Rollout,
  type RolloutOutcome,
  type RolloutResult,
  type RolloutSettings,
  type WeightPoint,
} from './canary';
export {
  CommandRollout,
  type CommandRolloutSettings,
  checkCommandAnalysis,
  NO_CLUSTER_NOTE,
  UNKNOWN_STABLE,
} from './command';
export { analysisDefaults, trafficInputs } from './inputs';
export { checkPausesFitTimeout, describeSteps, parseSteps, type Step, type StepDefaults } from './plan';
export { type PostPromotionPlan, parsePostPromotion, postPromotionNote } from './post-promotion';
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
export * from './workloads';
export type { RouterDeps };
