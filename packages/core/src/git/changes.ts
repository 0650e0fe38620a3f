/**
 * Commits → changes: one change per pull request whatever the merge style. A squash merge or a direct commit
 * is its own change; a `Merge pull request #n` commit is one change that takes in every commit it brought
 * (reachable only through its other parents), so the branch's "wip" commits are not listed again. A merge
 * that is not a pull request (`Merge branch 'x'`) adds nothing itself: its branch's commits are listed.
 */
import { type ConventionalCommit, parseConventionalCommit } from './conventional';
import type { GitCommit } from './log';

export interface Change {
  /** The commit that stands for the change: the squash/direct commit, or the pull request's merge commit. */
  commit: GitCommit;
  parsed: ConventionalCommit;
  /** Every commit of the change (the merge commit's branch commits, or just `commit`). */
  commits: GitCommit[];
}

export interface GroupOptions {
  /** The range's end commit: its first-parent line is the mainline. */
  tip: string;
  /** When set, only changes with at least one commit in this set (the commits that touch some paths). */
  touching?: ReadonlySet<string>;
}

/** `commits` as git log lists them (newest first); changes in the same order. */
export function groupChanges(commits: readonly GitCommit[], options: GroupOptions): Change[] {
  const byHash = new Map<string, GitCommit>();
  for (const commit of commits) byHash.set(commit.hash, commit);

  const mainline: GitCommit[] = [];
  const onMainline = new Set<string>();
  for (let at = byHash.get(options.tip); at && !onMainline.has(at.hash); at = byHash.get(at.parents[0] ?? '')) {
    mainline.push(at);
    onMainline.add(at.hash);
  }
  const isPullRequestMerge = (commit: GitCommit) =>
    commit.parents.length > 1 && commit.message.startsWith('Merge pull request #');

  // Oldest merge first, so a branch commit belongs to the first pull request that brought it.
  const absorbedBy = new Map<string, GitCommit[]>();
  const absorbed = new Set<string>();
  const merges = [
    ...mainline.filter(isPullRequestMerge).reverse(),
    ...[...commits].reverse().filter((c) => !onMainline.has(c.hash) && isPullRequestMerge(c)),
  ];
  for (const merge of merges) {
    if (absorbed.has(merge.hash)) continue;
    const own: GitCommit[] = [merge];
    const queue = merge.parents.slice(1);
    while (queue.length > 0) {
      const hash = queue.pop()!;
      const commit = byHash.get(hash);
      if (!commit || onMainline.has(hash) || absorbed.has(hash)) continue;
      absorbed.add(hash);
      own.push(commit);
      queue.push(...commit.parents);
    }
    absorbedBy.set(merge.hash, own);
  }

  const changes: Change[] = [];
  for (const commit of commits) {
    if (absorbed.has(commit.hash)) continue;
    const own = absorbedBy.get(commit.hash);
    // A merge that is not a pull request's: its branch's commits stand for themselves.
    if (own === undefined && commit.parents.length > 1) continue;
    const all = own ?? [commit];
    if (options.touching && !all.some((c) => options.touching!.has(c.hash))) continue;
    changes.push({ commit, parsed: parseConventionalCommit(commit.message), commits: all });
  }
  return changes;
}

/**
 * Changes without those a later change of the same range reverts, and without those reverts: neither is worth
 * a line in the notes nor a version bump. A revert of something outside the range stays.
 */
export function dropReverted(changes: readonly Change[]): { kept: Change[]; reverted: number } {
  const cancelled = new Set<Change>();
  for (const revert of changes) {
    const target = revert.parsed.revert;
    if (!target || cancelled.has(revert)) continue;
    const reverted = changes.find(
      (other) =>
        other !== revert &&
        !cancelled.has(other) &&
        (target.hash !== undefined && target.hash.length >= 7
          ? other.commits.some((c) => c.hash.startsWith(target.hash!))
          : other.parsed.header === target.header),
    );
    if (reverted) {
      cancelled.add(revert);
      cancelled.add(reverted);
    }
  }
  return { kept: changes.filter((c) => !cancelled.has(c)), reverted: cancelled.size };
}
