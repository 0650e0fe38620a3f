/**
 * rollback: put the last good version back, every mode (run.ts: runRollback). Only re-exports; the concept →
 * file map is in packages/core/README.md.
 */
export {
  imagesForDeployment,
  incompleteMessage,
  type RollbackHooks,
  type RollbackRequest,
  rollbackDeployments,
} from './deployments';
export { type GitHubRollbackReport, type GitHubRollbackRequest, githubMode, rollbackGitHub } from './github';
export { type HelmRollbackReport, type HelmRollbackRequest, helmMode, rollbackHelm } from './helm';
export { hasRolloutInFlight, type InFlightRequest, inFlightApps, inFlightMode, rollbackInFlight } from './in-flight';
export {
  checkRollbackInputs,
  ROLLBACK_MODES,
  type RollbackInputs,
  type RollbackModeInput,
  refuseDatabaseRestore,
} from './inputs';
export { type AutoChoice, type AutoFacts, autoMode, chooseAutoMode } from './mode';
export { type NothingToRollBack, nothingToRollBack, nothingToRollBackOutcome } from './nothing-to-roll-back';
export {
  outcomeOfReport,
  type Restored,
  type RestoredOutputs,
  type RestoredState,
  type RollbackOutcome,
  restoredOutputs,
} from './outcome';
export {
  HEADLINES,
  type RollbackMode,
  type RollbackReport,
  type RollbackVerdict,
  stateOf,
  summaryMarkdown,
  type TimelineEntry,
  type WorkloadRestore,
  type WorkloadState,
} from './report';
export { runRollback } from './run';
export { inFlightApp, selectedDeployments } from './select';
export { rollbackStaged, type StagedRequest } from './staged';
export { parseStagedPlan, type StagedPlan } from './staged-plan';
export type { StagedReport, StagedStep } from './staged-report';
export { osUserName, triggeredBy } from './triggered-by';
export { needsServiceProxy, verificationFailure, verify, verifyAfter } from './verify';
