/**
 * From a ref back to the last release, in as few git processes as a `git describe` + `git log` pair:
 * one `git log` of a batch of commits with their tags (`%D` limited to refs/tags) and messages, walked until
 * the first commit carrying a stable release tag; another batch only when the release is further back.
 * A shallow clone's cut shows as `grafted` on its last commit, so "the history is hidden" is known exactly:
 * when the cut comes before any release tag.
 */
import type { Git } from './repo';
import { parseVersionTag, type VersionTag } from './tags';

export interface WalkedCommit {
  hash: string;
  message: string;
}

export interface ReleaseWalk {
  /** Commits after the release's commit, newest first (the ref's own commit first). */
  commits: WalkedCommit[];
  /** The first stable release tag met below the ref's own commit (its own tags do not stop the walk). */
  release: VersionTag | undefined;
  /** Release tags on the ref's own commit (a re-run on a released commit, or a tag push). */
  onRef: VersionTag[];
  /** Prerelease tags met on the way, newest first (rc counters). */
  prereleases: VersionTag[];
  /** The walk met a shallow clone's cut before a release tag: the history it needs is not there. */
  shallow: boolean;
}

const RECORD = '\x1e';
const FIELD = '\x1f';

export async function walkToRelease(
  git: Git,
  ref: string,
  options: { prefix?: string; batch?: number } = {},
): Promise<ReleaseWalk> {
  const prefix = options.prefix ?? '';
  const walk: ReleaseWalk = { commits: [], release: undefined, onRef: [], prereleases: [], shallow: false };
  let batch = options.batch ?? 64;
  let first = true;
  for (let skip = 0; ; ) {
    const out = await git.run([
      'log',
      `--max-count=${batch}`,
      `--skip=${skip}`,
      '--decorate-refs=refs/tags/',
      `--format=${RECORD}%H${FIELD}%D${FIELD}%B`,
      '--end-of-options',
      ref,
    ]);
    const records = out.split(RECORD).slice(1);
    for (const record of records) {
      const [hash = '', decoration = '', message = ''] = record.split(FIELD);
      const names = decoration.split(', ').filter(Boolean);
      const tags = names
        .filter((name) => name.startsWith('tag: '))
        .map((name) => parseVersionTag(name.slice(5), prefix))
        .filter((tag): tag is VersionTag => tag !== undefined);
      if (first) {
        // The ref's own commit: its tags are what is being released, not the previous release.
        first = false;
        walk.onRef = tags;
        walk.commits.push({ hash, message: message.replace(/\n+$/, '') });
        if (names.includes('grafted')) walk.shallow = true;
        continue;
      }
      const stable = tags.filter((tag) => !tag.prerelease).sort((a, b) => b.version.compare(a.version))[0];
      walk.prereleases.push(...tags.filter((tag) => tag.prerelease));
      if (stable) {
        walk.release = stable;
        return walk;
      }
      walk.commits.push({ hash, message: message.replace(/\n+$/, '') });
      if (names.includes('grafted')) walk.shallow = true;
    }
    if (records.length < batch || walk.shallow) return walk;
    skip += batch;
    batch *= 4;
  }
}
