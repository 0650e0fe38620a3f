/**
 * Release notes: conventional commits and pull requests of a range placed in sections, rendered as markdown,
 * written into CHANGELOG.md (Keep a Changelog) and a GitHub Release. The range and commit parsing live in
 * core/git; this module decides what the notes say and where they go.
 */
export { type ChangelogSection, type ChangelogUpdate, updateChangelog } from './changelog';
export {
  applyReleaseYml,
  DEFAULT_CONFIG,
  type Exclusions,
  type NotesConfig,
  parseNotesConfig,
  type Section,
} from './config';
export { type DeploymentFacts, parseImages, renderDeployment } from './deployment';
export {
  buildNotes,
  type Contributor,
  type Entry,
  type NotesSection,
  type PullRequestInfo,
  placeEntry,
  type ReleaseNotes,
} from './model';
export { approversOf, COMMITS_PER_QUERY, fetchPullRequests, findFirstTimers, pullRequestsQuery } from './pulls';
export {
  checkRelease,
  findRelease,
  type GitHubRelease,
  generateGitHubNotes,
  type ReleaseRequest,
  type ReleaseResult,
  upsertRelease,
} from './release';
export { DEFAULT_TEMPLATE, PLACEHOLDERS, renderNotes, renderSections } from './render';
export { createReleaseNotes, type GitHubAccess, type ReleaseNotesOptions, type ReleaseNotesResult } from './run';
export { renderReleaseNotesSummary } from './summary';
