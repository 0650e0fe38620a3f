/**
 * The next release version from git, what docker/metadata-action cannot do: the
 * latest semver tag reachable from HEAD, bumped by the conventional commits
 * since it (or by an explicit `bump`), or the pushed tag itself on a tag event.
 * Built on `core/git` (tags in semver order, the release range, conventional
 * commits); a shallow clone is refused because it hides tags and history.
 */
import semver from 'semver';
import { InputError, UserError } from '../errors';
import { type Git, parseConventionalCommit, parseVersionTag, releaseBump, walkToRelease } from '../git';

export const BUMPS = ['auto', 'major', 'minor', 'patch', 'prerelease'] as const;
export type BumpMode = (typeof BUMPS)[number];

export interface NextVersion {
  version: string;
  previous: string | undefined;
  previousTag: string | undefined;
  /** What moved the version: major/minor/patch/prerelease, `tag` (the pushed tag), `first` (no tag yet), `none`. */
  bump: 'major' | 'minor' | 'patch' | 'prerelease' | 'tag' | 'first' | 'none';
  isPrerelease: boolean;
  /** One sentence for the summary: why this version. */
  reason: string;
  commits: number;
}

export interface NextVersionOptions {
  bump: BumpMode;
  /** `rc`, `beta`: the prerelease identifier for `bump: prerelease` (default `rc`). */
  prereleaseId?: string | undefined;
  /** Release tags look like `<prefix>v1.2.3` or `<prefix>1.2.3`; a monorepo's `api/`. Default none. */
  tagPrefix?: string;
  /** The run's ref: on `refs/tags/<release tag>` that tag is the version. */
  ref?: string;
}

export const SHALLOW_MESSAGE =
  'This is a shallow clone: the tags and commits the next version is computed from are cut off';
export const SHALLOW_HINT =
  'set `fetch-depth: 0` on actions/checkout (with: { fetch-depth: 0 }), or run `git fetch --unshallow --tags`';

export async function computeNextVersion(git: Git, options: NextVersionOptions): Promise<NextVersion> {
  const prefix = options.tagPrefix ?? '';
  const id = options.prereleaseId ?? 'rc';
  if (!/^[0-9A-Za-z-]+$/.test(id)) throw new InputError('prerelease-id', 'must be letters, digits or -', id, 'rc');
  const walk = await walkToRelease(git, 'HEAD', { prefix });
  if (walk.shallow) throw new UserError(SHALLOW_MESSAGE, { hint: SHALLOW_HINT });
  const previous = walk.release?.version;
  const base = { previous: previous?.version, previousTag: walk.release?.tag };

  const pushed = options.ref?.startsWith('refs/tags/')
    ? parseVersionTag(options.ref.slice('refs/tags/'.length), prefix)
    : undefined;
  // A tag push, or a re-run on a commit that is already released: that release, so tags and the git tag stay the same.
  const released = pushed ?? walk.onRef.sort((a, b) => b.version.compare(a.version))[0];
  if (released) {
    // On a tag push, another release tag on the same commit below the pushed one is the previous release.
    const below = walk.onRef
      .filter((tag) => !tag.prerelease && tag.version.compare(released.version) < 0)
      .sort((a, b) => b.version.compare(a.version))[0];
    return {
      ...base,
      ...(below ? { previous: below.version.version, previousTag: below.tag } : {}),
      version: released.version.version,
      bump: pushed ? 'tag' : 'none',
      isPrerelease: released.prerelease,
      reason: pushed ? `the pushed tag ${pushed.tag}` : `HEAD is already tagged ${released.tag}`,
      commits: 0,
    };
  }

  const changes = walk.commits.map((commit) => ({ parsed: parseConventionalCommit(commit.message) }));
  const conventional = releaseBump(changes, previous);
  const summary = describeChanges(changes.map((change) => change.parsed));
  const since = walk.release ? ` since ${walk.release.tag}` : '';
  let version: string;
  let bump: NextVersion['bump'];
  let reason: string;
  if (options.bump === 'prerelease') {
    const stable = previous ? semver.inc(previous, conventional ?? 'patch')! : '0.1.0';
    // The newest prerelease of that same version with the same identifier carries the counter on.
    const last = walk.prereleases
      .filter(
        (tag) =>
          `${tag.version.major}.${tag.version.minor}.${tag.version.patch}` === stable &&
          tag.version.prerelease[0] === id,
      )
      .sort((a, b) => b.version.compare(a.version))[0];
    const counter = last && typeof last.version.prerelease[1] === 'number' ? last.version.prerelease[1] + 1 : 1;
    version = `${stable}-${id}.${counter}`;
    bump = 'prerelease';
    reason = last
      ? `${id} counter after ${last.tag}`
      : `first ${id} of ${stable} (${conventional ?? 'patch'}: ${summary}${since})`;
  } else if (!previous) {
    version = options.bump === 'auto' ? '0.1.0' : semver.inc('0.0.0', options.bump)!;
    bump = 'first';
    reason = `no release tag ${prefix}vX.Y.Z is reachable from HEAD: first release`;
  } else if (options.bump === 'auto') {
    version = semver.inc(previous, conventional ?? 'patch')!;
    bump = conventional ?? 'patch';
    reason = `${bump}: ${summary}${since}`;
  } else {
    version = semver.inc(previous, options.bump)!;
    bump = options.bump;
    reason = `bump: ${options.bump} given`;
  }
  return {
    ...base,
    version,
    bump,
    isPrerelease: semver.prerelease(version) !== null,
    reason,
    commits: walk.commits.length,
  };
}

function describeChanges(parsed: { type?: string | undefined; breaking: boolean }[]): string {
  const breaking = parsed.filter((commit) => commit.breaking).length;
  const feats = parsed.filter((commit) => commit.type === 'feat').length;
  const fixes = parsed.filter((commit) => commit.type === 'fix' || commit.type === 'perf').length;
  const parts = [
    breaking && `${breaking} breaking`,
    feats && `${feats} feat`,
    fixes && `${fixes} fix/perf`,
    `${parsed.length} change${parsed.length === 1 ? '' : 's'}`,
  ].filter(Boolean);
  return parts.join(', ');
}
