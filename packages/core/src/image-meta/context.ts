/**
 * The run's context for image metadata, read the way metadata-action reads it:
 * `context: workflow` takes the event, ref and commit from the runner's
 * `GITHUB_*` variables and the payload at `GITHUB_EVENT_PATH`; `context: git`
 * asks the checkout. The repository's name, description, URL, licence and
 * default branch come from the GitHub API (the payload's repository when no
 * token is given).
 */
import { UserError } from '../errors';
import type { GitHubApi } from '../github';
import { githubContext, readEventPayload } from '../github/context';
import type { EventPayload, MetaContext, RepoInfo } from './compute';

type Env = Readonly<Record<string, string | undefined>>;
/** Runs git with arguments (no shell) in the workspace and returns its trimmed stdout. */
export type GitRunner = (args: string[]) => Promise<string>;

export interface ContextOptions {
  source: 'workflow' | 'git';
  env: Env;
  api?: GitHubApi;
  git?: GitRunner;
  /** Current time when SOURCE_DATE_EPOCH is not set. */
  now: () => Date;
  warn: (message: string) => void;
}

interface ApiRepo {
  name?: string;
  description?: string | null;
  html_url?: string;
  license?: { spdx_id?: string | null } | null;
  default_branch?: string;
}

export async function readMetaContext(options: ContextOptions): Promise<MetaContext> {
  const { env } = options;
  const gh = githubContext(env);
  const payload = readEventPayload(env) as EventPayload;
  const now = reproducibleNow(env, options.now);
  const shortShaLength = shaLength(env.DOCKER_METADATA_SHORT_SHA_LENGTH);
  let eventName = gh.eventName ?? '';
  let ref = gh.ref ?? '';
  let sha = gh.sha ?? '';
  let commitDate: Date | undefined;
  if (options.source === 'git') {
    if (!options.git) throw new UserError('context: git needs a git checkout');
    ({ ref, sha, commitDate } = await gitContext(options.git));
  } else {
    // pull_request_target runs on the base branch; the tags are the pull request's.
    if (/pull_request_target/.test(eventName)) ref = `refs/pull/${payload.number}/merge`;
    if (
      /true/i.test(env.DOCKER_METADATA_PR_HEAD_SHA ?? '') &&
      /pull_request/.test(eventName) &&
      payload.pull_request?.head?.sha
    ) {
      sha = payload.pull_request.head.sha;
    }
  }
  eventName ||= '';
  commitDate ??= payloadCommitDate(payload, sha) ?? (await apiCommitDate(options, sha)) ?? now;
  const repo = await repoInfo(options, payload, gh.repository, gh.serverUrl);
  return { eventName, ref, sha, payload, commitDate, now, repo, shortShaLength };
}

/** SOURCE_DATE_EPOCH (seconds since 1970, the reproducible-builds convention) is "now" when set. */
export function reproducibleNow(env: Env, now: () => Date): Date {
  const epoch = env.SOURCE_DATE_EPOCH?.trim();
  if (!epoch) return now();
  if (!/^\d+$/.test(epoch))
    throw new UserError(`SOURCE_DATE_EPOCH must be whole seconds since 1970, got ${JSON.stringify(epoch)}`, {
      hint: 'e.g. SOURCE_DATE_EPOCH=1700000000',
    });
  return new Date(Number(epoch) * 1000);
}

function shaLength(text: string | undefined): number {
  if (!text) return 7;
  const length = Number(text);
  if (Number.isNaN(length)) throw new UserError(`DOCKER_METADATA_SHORT_SHA_LENGTH is not a valid number: ${text}`);
  return length;
}

function payloadCommitDate(payload: EventPayload, sha: string): Date | undefined {
  const fromCommits = payload.commits?.find((commit) => commit.id === sha)?.timestamp;
  if (fromCommits) return new Date(fromCommits);
  if (payload.head_commit?.id === sha) return new Date(payload.head_commit.timestamp);
  return undefined;
}

async function apiCommitDate(options: ContextOptions, sha: string): Promise<Date | undefined> {
  if (!options.api || !sha) return undefined;
  try {
    const { data } = await options.api.request<{ commit?: { committer?: { date?: string } } }>(
      'GET',
      `/repos/${options.api.repository}/commits/${sha}`,
    );
    const date = data.commit?.committer?.date;
    return date ? new Date(date) : undefined;
  } catch (error) {
    options.warn(`Commit date of ${sha} not found (${(error as Error).message}); using now`);
    return undefined;
  }
}

async function repoInfo(
  options: ContextOptions,
  payload: EventPayload,
  repository: string,
  serverUrl: string,
): Promise<RepoInfo> {
  let data = (payload.repository ?? {}) as ApiRepo;
  if (options.api) data = (await options.api.request<ApiRepo>('GET', `/repos/${repository}`)).data;
  return {
    name: data.name ?? repository.split('/')[1] ?? '',
    description: data.description ?? '',
    htmlUrl: data.html_url ?? `${serverUrl}/${repository}`,
    license: data.license?.spdx_id ?? '',
    defaultBranch: data.default_branch ?? '',
  };
}

async function gitContext(git: GitRunner): Promise<{ ref: string; sha: string; commitDate: Date }> {
  const sha = await git(['rev-parse', 'HEAD']);
  const branch = await git(['symbolic-ref', '-q', 'HEAD']).catch(() => '');
  let ref = branch;
  if (!ref) {
    const tag = (await git(['tag', '--points-at', 'HEAD', '--sort=-creatordate'])).split('\n')[0] ?? '';
    ref = tag ? `refs/tags/${tag}` : '';
  }
  const commitDate = new Date(await git(['log', '-1', '--format=%cI', 'HEAD']));
  return { ref, sha, commitDate };
}
