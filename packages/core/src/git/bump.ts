/** The next version by semver rules from the changes since the previous release (what build-tag can use). */
import semver, { type SemVer } from 'semver';
import type { Change } from './changes';

export type Bump = 'major' | 'minor' | 'patch' | undefined;

/**
 * The next version after `previous` (`0.1.0` for a first release), or undefined when nothing changed; the same
 * rule as build-tag's (releaseBump), so both actions name a release alike.
 */
export function nextVersion(changes: readonly Change[], previous: SemVer | undefined): string | undefined {
  if (previous === undefined) return changes.length === 0 ? undefined : '0.1.0';
  const bump = releaseBump(changes, previous);
  if (bump === undefined) return undefined;
  // From a prerelease, the release of that same version comes next (1.0.0-rc.2 + fix → 1.0.0).
  if (previous.prerelease.length > 0) return `${previous.major}.${previous.minor}.${previous.patch}`;
  return semver.inc(previous.version, bump) ?? undefined;
}

/**
 * The bump build-tag releases with: breaking → major, feat → minor, anything else → patch; before 1.0.0 a
 * breaking change bumps minor (a feat still bumps minor).
 */
export function releaseBump(changes: readonly Pick<Change, 'parsed'>[], previous: SemVer | undefined): Bump {
  if (changes.length === 0) return undefined;
  if (changes.some((c) => c.parsed.breaking)) return previous !== undefined && previous.major === 0 ? 'minor' : 'major';
  if (changes.some((c) => c.parsed.type === 'feat')) return 'minor';
  return 'patch';
}
