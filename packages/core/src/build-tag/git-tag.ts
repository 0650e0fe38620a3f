/**
 * The annotated release tag on the commit: through the GitHub API (a tag object, then its ref), or with
 * `git tag -a` and `git push` when no token is given. Checked before anything else is pushed: the same tag on
 * the same commit is a no-op, on another commit an error.
 */
import { UserError } from '../errors';
import type { Git } from '../git';
import type { GitHubApi } from '../github';

export type TagState = 'exists' | 'absent';

export interface GitTagPlan {
  tag: string;
  sha: string;
  state: TagState;
  /** Creates the tag (does nothing when it exists); returns what was done. */
  apply(message: string): Promise<'created' | 'unchanged'>;
}

function conflict(tag: string, at: string, sha: string): UserError {
  return new UserError(
    `The tag ${tag} already exists on commit ${at}, not on ${sha}: refusing to move a release tag. Nothing was pushed.`,
    {
      hint: 'Release a new version (bump), or delete the tag if it was made by mistake.',
    },
  );
}

function notFound(error: unknown): boolean {
  const cause = (error as { cause?: { status?: number } }).cause;
  return (error as { status?: number }).status === 404 || cause?.status === 404;
}

export async function planGitTagByApi(api: GitHubApi, tag: string, sha: string): Promise<GitTagPlan> {
  const repo = api.repository;
  const permission = 'contents: write';
  let target: string | undefined;
  try {
    const { data } = await api.request<{ object: { sha: string; type: string } }>(
      'GET',
      `/repos/${repo}/git/ref/tags/${encodeURIComponent(tag)}`,
      { permission },
    );
    target = data.object.sha;
    if (data.object.type === 'tag') {
      target = (
        await api.request<{ object: { sha: string } }>('GET', `/repos/${repo}/git/tags/${target}`, { permission })
      ).data.object.sha;
    }
  } catch (error) {
    if (!notFound(error)) throw error;
  }
  if (target !== undefined && target !== sha) throw conflict(tag, target, sha);
  return {
    tag,
    sha,
    state: target === undefined ? 'absent' : 'exists',
    async apply(message) {
      if (target !== undefined) return 'unchanged';
      const object = await api.request<{ sha: string }>('POST', `/repos/${repo}/git/tags`, {
        body: { tag, message, object: sha, type: 'commit' },
        permission,
      });
      await api.request('POST', `/repos/${repo}/git/refs`, {
        body: { ref: `refs/tags/${tag}`, sha: object.data.sha },
        permission,
      });
      return 'created';
    },
  };
}

export async function planGitTagByPush(git: Git, tag: string, sha: string, remote = 'origin'): Promise<GitTagPlan> {
  const remoteList = await git.exec(['ls-remote', '--tags', remote, `refs/tags/${tag}`, `refs/tags/${tag}^{}`]);
  if (remoteList.exitCode !== 0)
    throw new UserError(`Cannot read tags from the remote ${remote}: ${remoteList.stderr.trim()}`);
  const lines = remoteList.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split('\t') as [string, string]);
  // An annotated tag is listed twice: the tag object, and `^{}` with the commit it points at.
  const remoteTarget = (lines.find(([, name]) => name.endsWith('^{}')) ?? lines[0])?.[0];
  const local = await git.resolve(`refs/tags/${tag}`);
  const target = remoteTarget ?? local;
  if (target !== undefined && target !== sha) throw conflict(tag, target, sha);
  return {
    tag,
    sha,
    state: remoteTarget === undefined ? 'absent' : 'exists',
    async apply(message) {
      if (remoteTarget !== undefined) return 'unchanged';
      if (local === undefined) await git.run(['tag', '-a', tag, '-m', message, sha]);
      await git.run(['push', remote, `refs/tags/${tag}`]);
      return 'created';
    },
  };
}
