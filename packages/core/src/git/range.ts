/**
 * The range of a release: from the previous release tag (or `from`) to `to`, its changes, and what a user
 * must know about it (no previous tag; a shallow clone that hides history).
 */
import type { SemVer } from 'semver';
import { InputError, UserError } from '../errors';
import { type Change, groupChanges } from './changes';
import { listCommits, listHashes, rangeSpec } from './log';
import type { Git } from './repo';
import { findPreviousTag, type VersionTag } from './tags';

export interface RangeOptions {
  /** Start of the range (exclusive): a tag or commit. Default: the previous release tag. */
  from?: string | undefined;
  /** End of the range (inclusive), default `HEAD`. */
  to?: string | undefined;
  /** Only changes that touch these paths. */
  paths?: readonly string[] | undefined;
  /** Release tags have this prefix (monorepo: `api/`). */
  tagPrefix?: string | undefined;
  /** The version being released: tags of it and above are not "previous". */
  current?: SemVer | undefined;
  includePrereleases?: boolean | undefined;
}

export interface ReleaseRange {
  /** What the range starts after: the `from` given, the previous tag, or undefined (from the first commit). */
  from: string | undefined;
  fromCommit: string | undefined;
  to: string;
  toCommit: string;
  previousTag: VersionTag | undefined;
  /** A release tag found on `to` itself (a run on a tag push). */
  tagOnTo: VersionTag | undefined;
  /** Whether `from` was found automatically (previous tag, or none). */
  automatic: boolean;
  shallow: boolean;
  commitCount: number;
  /** One per pull request / direct commit, newest first. */
  changes: Change[];
}

const SHALLOW_HINT =
  'actions/checkout fetches one commit by default: add `with: { fetch-depth: 0 }` to the checkout step (or run `git fetch --unshallow --tags`)';

export async function readRange(git: Git, options: RangeOptions = {}): Promise<ReleaseRange> {
  const to = options.to ?? 'HEAD';
  // First: a folder that is no repository at all gets its own error, not "no commit named HEAD".
  const shallow = await git.isShallow();
  const toCommit = await git.resolve(to);
  if (toCommit === undefined) {
    throw new InputError('to', `names no commit in this repository${shallow ? ' (a shallow clone)' : ''}`, to, 'HEAD');
  }
  let from = options.from;
  let fromCommit: string | undefined;
  let previousTag: VersionTag | undefined;
  const found = await findPreviousTag(git, toCommit, {
    prefix: options.tagPrefix,
    current: options.current,
    includePrereleases: options.includePrereleases,
  });
  const tagOnTo = found.onRef;
  if (from !== undefined) {
    fromCommit = await git.resolve(from);
    if (fromCommit === undefined) {
      const why = shallow ? ` (this is a shallow clone: ${SHALLOW_HINT})` : '';
      throw new InputError('from', `names no tag or commit in this repository${why}`, from, 'v1.4.0');
    }
  } else {
    previousTag = found.previous;
    if (previousTag === undefined && shallow) {
      throw new UserError(
        `No previous release tag is reachable from ${to}, and this is a shallow clone: its history and tags are cut off, so the notes would be wrong`,
        { hint: SHALLOW_HINT },
      );
    }
    if (previousTag !== undefined) {
      from = previousTag.tag;
      fromCommit = await git.resolve(previousTag.tag);
    }
  }
  if (fromCommit !== undefined && fromCommit !== toCommit && !(await git.isAncestor(fromCommit, toCommit))) {
    throw new InputError(
      'from',
      `is not an ancestor of ${to}: the range would hold commits of another line of history`,
      from,
      'v1.4.0',
    );
  }
  const spec = rangeSpec(fromCommit, toCommit);
  const [commits, touching] = await Promise.all([
    listCommits(git, spec),
    options.paths && options.paths.length > 0 ? listHashes(git, spec, { paths: options.paths }) : undefined,
  ]);
  const changes = groupChanges(commits, { tip: toCommit, ...(touching ? { touching } : {}) });
  return {
    from,
    fromCommit,
    to,
    toCommit,
    previousTag,
    tagOnTo,
    automatic: options.from === undefined,
    shallow,
    commitCount: touching ? touching.size : commits.length,
    changes,
  };
}
