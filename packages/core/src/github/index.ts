/**
 * GitHub: the run's context and the Deployments API (canary-promote records a
 * release, rollback mode `github` reads the history back). Plain `fetch`, no
 * Octokit: see api.ts for the measured reason. Adapters should load this
 * module with `await import('@deploy-actions/core/github')` only when a token
 * is given and a Deployment is to be recorded.
 */
export { type ApiResponse, type FetchLike, GitHubApi, GitHubApiError, type GitHubApiOptions, nextLink } from './api';
export { type ContextVariable, type GitHubContext, type GitHubContextOptions, githubContext } from './context';
export {
  createDeploymentRecorder,
  type DeploymentPayload,
  type DeploymentRecord,
  DeploymentRecorder,
  type DeploymentRecorderOptions,
  type DeploymentState,
  type GitHubDeployment,
  type GitHubDeploymentStatus,
  type LookupOptions,
  type RollbackTarget,
  type StartDeployment,
  type SuccessfulDeployment,
} from './deployments';
export { type ReleaseContent, ReleaseTracker, type ReleaseTrackerOptions, releasePayload } from './release';
export { renderDeploymentSummary } from './summary';
