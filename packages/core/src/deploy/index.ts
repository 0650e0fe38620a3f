/**
 * canary-promote's plain deploys: `strategy: rolling` (apply manifests with
 * server-side apply, or set images on existing Deployments, wait like
 * `kubectl rollout status`, monitor, undo) and `strategy: helm` (helm upgrade
 * --install --wait, monitor, helm rollback). The release engine's
 * `rollout/in-place-release.ts` builds the options from the plan, calls one of
 * these, renders `renderDeploySummary(outcome)` and returns
 * `toActionOutcome(outcome)`.
 */

export { type CancelledDeployOptions, undoCancelledDeploy } from './cancel';
export { runHelm } from './helm';
export { runRolling } from './rolling';
export { type DeployPhase, type DeployRecord, UNFINISHED_DEPLOY_PHASES } from './state';
export { renderDeploySummary, toActionOutcome } from './summary';
export * from './types';
