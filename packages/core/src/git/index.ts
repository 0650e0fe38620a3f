/**
 * Git for the actions: a working copy driven through `git` (argument arrays, no shell), release tags in
 * semver order, the previous release tag, commit ranges streamed from one `git log`, changes (one per pull
 * request in squash-merge and merge-commit histories) and conventional-commit parsing.
 */

export { type Bump, nextVersion, releaseBump } from './bump';
export { type Change, dropReverted, type GroupOptions, groupChanges } from './changes';
export { type ConventionalCommit, type Person, parseConventionalCommit } from './conventional';
export { type GitCommit, type LogOptions, listCommits, listHashes, rangeSpec, streamCommits } from './log';
export { type RangeOptions, type ReleaseRange, readRange } from './range';
export { type ReleaseWalk, type WalkedCommit, walkToRelease } from './release-walk';
export { Git, GitError, type GitOptions } from './repo';
export {
  findPreviousTag,
  type PreviousTag,
  type PreviousTagOptions,
  parseVersionTag,
  sortVersionTags,
  type VersionTag,
} from './tags';
