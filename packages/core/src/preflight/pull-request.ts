/**
 * The pull request the approvals gate judges, with its reviews (and changed files when code owners count),
 * in as few GitHub round trips as possible: for a commit, one GraphQL query (`associatedPullRequests` with
 * their first 100 reviews and files) instead of REST's commit → pulls → reviews → files chain; REST pages
 * only for a pull request with more than 100 of either. With a known number, the REST calls go in parallel.
 */
import { UserError } from '../errors';
import type { GitHubApi } from '../github/api';

export interface PullRequest {
  number: number;
  html_url: string;
  state: string;
  merged_at?: string | null;
}
export interface Review {
  user: { login: string } | null;
  state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' | 'DISMISSED' | 'PENDING';
  submitted_at?: string;
}
export interface PullRequestFacts {
  pull: PullRequest;
  /** Oldest first, as GitHub lists them. */
  reviews: Review[];
  /** Changed paths; only when asked for. */
  files: string[] | undefined;
}

const PERMISSION = 'pull-requests: read';
const PAGE = 100;

interface Connection<T> {
  pageInfo: { hasNextPage: boolean };
  nodes: T[];
}
interface PullNode {
  number: number;
  url: string;
  state: 'OPEN' | 'CLOSED' | 'MERGED';
  mergedAt: string | null;
  reviews: Connection<{ author: { login: string } | null; state: Review['state']; submittedAt: string | null }>;
  files?: Connection<{ path: string }>;
}
interface CommitAnswer {
  repository: { object: { associatedPullRequests?: { nodes: PullNode[] } } | null } | null;
}

const COMMIT_QUERY = `query($owner: String!, $name: String!, $sha: GitObjectID!, $files: Boolean!) {
  repository(owner: $owner, name: $name) {
    object(oid: $sha) {
      ... on Commit {
        associatedPullRequests(first: ${PAGE}) {
          nodes {
            number url state mergedAt
            reviews(first: ${PAGE}) { pageInfo { hasNextPage } nodes { author { login } state submittedAt } }
            files(first: ${PAGE}) @include(if: $files) { pageInfo { hasNextPage } nodes { path } }
          }
        }
      }
    }
  }
}`;

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const list: T[] = [];
  for await (const item of items) list.push(item);
  return list;
}

function reviewsOf(api: GitHubApi, number: number): Promise<Review[]> {
  return all(api.paginate<Review>(`/repos/${api.repository}/pulls/${number}/reviews`, { per_page: PAGE }, PERMISSION));
}

async function filesOf(api: GitHubApi, number: number): Promise<string[]> {
  const files = await all(
    api.paginate<{ filename: string }>(
      `/repos/${api.repository}/pulls/${number}/files`,
      { per_page: PAGE },
      PERMISSION,
    ),
  );
  return files.map((file) => file.filename);
}

/** A GraphQL FORBIDDEN answer (HTTP 200) names the permission the way a REST 403 does. */
function forbidden(error: unknown, repository: string): unknown {
  const body = ((error as { cause?: { path?: string; body?: unknown } })?.cause ?? {}) as {
    path?: string;
    body?: { errors?: Array<{ type?: string; message?: string }> };
  };
  const denied =
    error instanceof UserError &&
    body.path === 'graphql' &&
    (body.body?.errors ?? []).some((e) => e.type === 'FORBIDDEN' || /not accessible/i.test(e.message ?? ''));
  if (!denied) return error;
  return new UserError(
    `${error.message.replace(/\.+$/, '')}. The token may not do this in ${repository}: the workflow needs \`permissions: ${PERMISSION}\``,
    { hint: `add to the job (or workflow):\n  permissions:\n    contents: read\n    ${PERMISSION}`, cause: error },
  );
}

/** The pull request a commit came from (the merged one, else the first), its reviews and files: one request. */
async function byCommit(api: GitHubApi, sha: string, withFiles: boolean): Promise<PullRequestFacts | undefined> {
  const [owner, name] = api.repository.split('/');
  const data = await api
    .graphql<CommitAnswer>(COMMIT_QUERY, { owner, name, sha, files: withFiles }, PERMISSION)
    .catch((error: unknown) => {
      throw forbidden(error, api.repository);
    });
  // GitHub answers an unknown commit with a null object (REST says 422): say so, not "no pull request".
  if (data.repository?.object == null)
    throw new UserError(`Commit ${sha} is not in ${api.repository}: push it, or set the gate's sha to one that is`);
  const nodes = data.repository.object.associatedPullRequests?.nodes ?? [];
  const node = nodes.find((p) => p.mergedAt) ?? nodes[0];
  if (node === undefined) return undefined;
  const pull: PullRequest = {
    number: node.number,
    html_url: node.url,
    state: node.state === 'OPEN' ? 'open' : 'closed',
    merged_at: node.mergedAt,
  };
  // Past the first page, REST reads the whole list again (rare: a pull request with over 100 reviews or files).
  const [reviews, files] = await Promise.all([
    node.reviews.pageInfo.hasNextPage
      ? reviewsOf(api, node.number)
      : node.reviews.nodes.map(
          (r): Review => ({
            user: r.author,
            state: r.state,
            ...(r.submittedAt ? { submitted_at: r.submittedAt } : {}),
          }),
        ),
    !withFiles
      ? undefined
      : node.files?.pageInfo.hasNextPage
        ? filesOf(api, node.number)
        : (node.files?.nodes ?? []).map((f) => f.path),
  ]);
  return { pull, reviews, files };
}

/** A known pull request (`refs/pull/N/merge`, `pull-request:`): it, its reviews and files at once. */
async function byNumber(api: GitHubApi, number: number, withFiles: boolean): Promise<PullRequestFacts> {
  const [pull, reviews, files] = await Promise.allSettled([
    api.request<PullRequest>('GET', `/repos/${api.repository}/pulls/${number}`, { permission: PERMISSION }),
    reviewsOf(api, number),
    withFiles ? filesOf(api, number) : undefined,
  ]);
  // The pull request's own failure first (a wrong number), as when the calls went one after another.
  for (const answer of [pull, reviews, files]) if (answer.status === 'rejected') throw answer.reason;
  const value = <T>(answer: PromiseSettledResult<T>) => (answer as PromiseFulfilledResult<T>).value;
  return { pull: value(pull).data, reviews: value(reviews), files: value(files) };
}

/** The pull request of a `refs/pull/N/merge` run (or the number given), else the one the commit came from. */
export function findPullRequest(
  api: GitHubApi,
  options: { number: number | undefined; ref: string | undefined; sha: string; files: boolean },
): Promise<PullRequestFacts | undefined> {
  const fromRef = /^refs\/pull\/(\d+)\//.exec(options.ref ?? '')?.[1];
  const number = options.number ?? (fromRef === undefined ? undefined : Number(fromRef));
  return number === undefined ? byCommit(api, options.sha, options.files) : byNumber(api, number, options.files);
}
