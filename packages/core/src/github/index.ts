/**
 * GitHub: the run's context and the API (Octokit from @actions/github, loaded
 * on the first call): Deployments, releases, checks. Adapters should load this
 * module with `await import('@deploy-actions/core/github')` only when a token
 * is given and GitHub is to be called.
 */
export {
  type ApiResponse,
  type FetchLike,
  GitHubApi,
  GitHubApiError,
  type GitHubApiOptions,
  graphqlUrlOf,
  nextLink,
} from './api';
export {
  type ContextVariable,
  type GitHubContext,
  type GitHubContextOptions,
  githubContext,
  headSha,
  readEventPayload,
} from './context';
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
