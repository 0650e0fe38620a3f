/**
 * Pull request details for many commits in few requests: one GraphQL query asks for up to 100 commits at
 * once (an alias per commit: `associatedPullRequests` with title, labels, author and reviews), instead of one
 * REST call per commit. Approvers are the reviewers whose latest opinion is APPROVED; a dismissed approval or
 * a later "changes requested" does not count.
 */
import type { GitHubApi } from '../github';
import type { PullRequestInfo } from './model';

export const COMMITS_PER_QUERY = 100;
const LOGINS_PER_QUERY = 100;

interface ReviewNode {
  state: string;
  submittedAt: string | null;
  author: { login: string } | null;
}

interface PullNode {
  number: number;
  title: string;
  url: string;
  merged: boolean;
  mergeCommit: { oid: string } | null;
  author: { login: string } | null;
  labels: { nodes: Array<{ name: string }> };
  reviews: { nodes: ReviewNode[] };
}

type CommitAnswer = { associatedPullRequests: { nodes: PullNode[] } } | null;

const PULL_FIELDS = `number title url merged mergeCommit { oid } author { login }
  labels(first: 50) { nodes { name } }
  reviews(last: 100, states: [APPROVED, CHANGES_REQUESTED, DISMISSED]) { nodes { state submittedAt author { login } } }`;

export function pullRequestsQuery(hashes: readonly string[]): string {
  const aliases = hashes.map(
    (hash, i) =>
      `c${i}: object(oid: "${hash}") { ... on Commit { associatedPullRequests(first: 5) { nodes { ${PULL_FIELDS} } } } }`,
  );
  return `query($owner: String!, $name: String!) { repository(owner: $owner, name: $name) {\n${aliases.join('\n')}\n} }`;
}

/** Logins whose latest opinionated review is an approval (by review time; GitHub lists oldest first). */
export function approversOf(reviews: readonly ReviewNode[]): string[] {
  const latest = new Map<string, ReviewNode>();
  for (const review of reviews) {
    const login = review.author?.login;
    if (!login) continue;
    const seen = latest.get(login);
    if (!seen || (review.submittedAt ?? '') >= (seen.submittedAt ?? '')) latest.set(login, review);
  }
  return [...latest.entries()]
    .filter(([, r]) => r.state === 'APPROVED')
    .map(([login]) => login)
    .sort();
}

/** The pull request a commit belongs to: the one it merged, else the first merged one, else the first. */
function pickPull(hash: string, nodes: readonly PullNode[]): PullNode | undefined {
  return nodes.find((p) => p.mergeCommit?.oid === hash) ?? nodes.find((p) => p.merged) ?? nodes[0];
}

export async function fetchPullRequests(
  api: GitHubApi,
  owner: string,
  name: string,
  hashes: readonly string[],
): Promise<Map<string, PullRequestInfo>> {
  const found = new Map<string, PullRequestInfo>();
  for (let start = 0; start < hashes.length; start += COMMITS_PER_QUERY) {
    const batch = hashes.slice(start, start + COMMITS_PER_QUERY);
    const data = await api.graphql<{ repository: Record<string, CommitAnswer> | null }>(
      pullRequestsQuery(batch),
      { owner, name },
      'pull-requests: read',
    );
    batch.forEach((hash, i) => {
      const pull = pickPull(hash, data.repository?.[`c${i}`]?.associatedPullRequests.nodes ?? []);
      if (!pull) return;
      found.set(hash, {
        number: pull.number,
        title: pull.title,
        url: pull.url,
        labels: pull.labels.nodes.map((l) => l.name),
        author: pull.author?.login,
        approvers: approversOf(pull.reviews.nodes),
      });
    });
  }
  return found;
}

/**
 * Logins whose first merged pull request to the repository is in this release: all their merged pull requests
 * (GitHub's search count) are among `inRelease`. One query per 100 logins.
 */
export async function findFirstTimers(
  api: GitHubApi,
  repository: string,
  inRelease: ReadonlyMap<string, number>,
): Promise<Set<string>> {
  const logins = [...inRelease.keys()].filter((login) => !login.endsWith('[bot]'));
  const first = new Set<string>();
  for (let start = 0; start < logins.length; start += LOGINS_PER_QUERY) {
    const batch = logins.slice(start, start + LOGINS_PER_QUERY);
    const aliases = batch.map(
      (login, i) =>
        `u${i}: search(type: ISSUE, first: 0, query: ${JSON.stringify(`repo:${repository} is:pr is:merged author:${login}`)}) { issueCount }`,
    );
    const data = await api.graphql<Record<string, { issueCount: number }>>(
      `query { ${aliases.join('\n')} }`,
      {},
      'pull-requests: read',
    );
    batch.forEach((login, i) => {
      const count = data[`u${i}`]?.issueCount;
      if (count !== undefined && count <= inRelease.get(login)!) first.add(login);
    });
  }
  return first;
}
