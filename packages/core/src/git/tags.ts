/**
 * Release tags in semver order. A tag is a release tag when, after the optional prefix (a monorepo's
 * `api/` or `api@`) and an optional `v`, it is a semver version; anything else (`latest`, `nightly`) is ignored.
 */
import semver, { type SemVer } from 'semver';
import type { Git } from './repo';

export interface VersionTag {
  tag: string;
  version: SemVer;
  prerelease: boolean;
}

/** The version a tag names, or undefined when it is not a release tag (with this prefix). */
export function parseVersionTag(tag: string, prefix = ''): VersionTag | undefined {
  if (!tag.startsWith(prefix)) return undefined;
  const rest = tag.slice(prefix.length);
  const version = semver.parse(rest.startsWith('v') || rest.startsWith('V') ? rest.slice(1) : rest);
  if (version === null) return undefined;
  return { tag, version, prerelease: version.prerelease.length > 0 };
}

/** Release tags among `tags`, highest version first (ties: the plain `v` spelling first, then by name). */
export function sortVersionTags(tags: readonly string[], prefix = ''): VersionTag[] {
  const parsed: VersionTag[] = [];
  for (const tag of tags) {
    const found = parseVersionTag(tag, prefix);
    if (found) parsed.push(found);
  }
  return parsed.sort((a, b) => semver.rcompare(a.version, b.version) || a.tag.localeCompare(b.tag));
}

export interface PreviousTagOptions {
  /** Only tags with this prefix, e.g. `api/` in a monorepo. */
  prefix?: string;
  /**
   * The version being released (from the `tag` input, or a release tag on `ref`): tags of this version and
   * above are not "previous". Without it, the newest release tag reachable from `ref` that is not on `ref`.
   */
  current?: SemVer | undefined;
  /**
   * Whether a prerelease can be the previous tag. Default: only when the current version is a prerelease
   * itself, so the notes of `v2.0.0` span from `v1.4.0`, not from `v2.0.0-rc.3`.
   */
  includePrereleases?: boolean;
}

export interface PreviousTag {
  previous: VersionTag | undefined;
  /** The release tag found on `ref` itself (when no current version was given), e.g. a run on a tag push. */
  onRef: VersionTag | undefined;
}

/** The previous release tag reachable from `ref` (whose commit resolves to `refCommit`). */
export async function findPreviousTag(git: Git, ref: string, options: PreviousTagOptions = {}): Promise<PreviousTag> {
  const prefix = options.prefix ?? '';
  const [reachable, here] = await Promise.all([git.tags({ merged: ref }), git.tags({ pointsAt: ref })]);
  const onRef = sortVersionTags(here, prefix)[0];
  const current = options.current ?? onRef?.version;
  const includePre = options.includePrereleases ?? (current !== undefined && current.prerelease.length > 0);
  const onRefNames = new Set(here);
  const previous = sortVersionTags(reachable, prefix).find(
    (candidate) =>
      (includePre || !candidate.prerelease) &&
      (current === undefined ? !onRefNames.has(candidate.tag) : semver.lt(candidate.version, current)),
  );
  return { previous, onRef };
}
