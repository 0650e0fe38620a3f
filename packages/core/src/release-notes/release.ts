/**
 * The GitHub Release of a tag, created or updated idempotently: found by tag (drafts too, which the by-tag
 * endpoint does not return), left alone when nothing differs, never turned back into a draft.
 */
import { UserError } from '../errors';
import { type GitHubApi, GitHubApiError } from '../github';

export interface ReleaseRequest {
  tag: string;
  /** Where GitHub creates the tag when it does not exist yet. */
  target: string;
  name: string;
  body: string;
  draft: boolean;
  prerelease: boolean;
  /** `true` | `false` | `legacy` (GitHub's `make_latest`). */
  makeLatest: 'true' | 'false' | 'legacy';
}

export interface GitHubRelease {
  id: number;
  tag_name: string;
  name: string | null;
  body: string | null;
  draft: boolean;
  prerelease: boolean;
  html_url: string;
}

export interface ReleaseResult {
  action: 'created' | 'updated' | 'unchanged';
  id: number;
  url: string;
  draft: boolean;
}

const PERMISSION = 'contents: write';

/** The release of `tag`, draft or not; undefined when there is none. */
export async function findRelease(api: GitHubApi, repo: string, tag: string): Promise<GitHubRelease | undefined> {
  try {
    const { data } = await api.request<GitHubRelease>(
      'GET',
      `/repos/${repo}/releases/tags/${encodeURIComponent(tag)}`,
      {
        permission: PERMISSION,
      },
    );
    return data;
  } catch (error) {
    if (!(error instanceof UserError && error.cause instanceof GitHubApiError && error.cause.status === 404))
      throw error;
  }
  // Drafts have no tag yet as far as the by-tag endpoint knows: look through the list.
  for await (const release of api.paginate<GitHubRelease>(`/repos/${repo}/releases`, { per_page: 100 }, PERMISSION)) {
    if (release.tag_name === tag) return release;
  }
  return undefined;
}

/**
 * The release as it stands, checked against what is asked before anything changes: a published release
 * asked to be a draft is an error.
 */
export async function checkRelease(
  api: GitHubApi,
  repo: string,
  want: ReleaseRequest,
): Promise<GitHubRelease | undefined> {
  const existing = await findRelease(api, repo, want.tag);
  if (existing && !existing.draft && want.draft) {
    throw new UserError(
      `Input 'draft': the release ${want.tag} is already published (${existing.html_url}); it was not changed. A published release cannot go back to draft here`,
      { hint: 'draft: false (update the published release), or release a new tag' },
    );
  }
  return existing;
}

/** Whether the release as it stands differs from what is asked (title, body, draft, prerelease). */
export function releaseDiffers(existing: GitHubRelease, want: ReleaseRequest): boolean {
  return (
    (existing.name ?? '') !== want.name ||
    (existing.body ?? '').trim() !== want.body.trim() ||
    existing.draft !== want.draft ||
    existing.prerelease !== want.prerelease
  );
}

/** Create the release, or update `existing` (from checkRelease) when something differs. */
export async function upsertRelease(
  api: GitHubApi,
  repo: string,
  want: ReleaseRequest,
  existing: GitHubRelease | undefined,
): Promise<ReleaseResult> {
  const fields = {
    name: want.name,
    body: want.body,
    draft: want.draft,
    prerelease: want.prerelease,
    make_latest: want.makeLatest,
  };
  if (existing) {
    if (!releaseDiffers(existing, want))
      return { action: 'unchanged', id: existing.id, url: existing.html_url, draft: existing.draft };
    const { data } = await api.request<GitHubRelease>('PATCH', `/repos/${repo}/releases/${existing.id}`, {
      body: fields,
      permission: PERMISSION,
    });
    return { action: 'updated', id: data.id, url: data.html_url, draft: data.draft };
  }
  const { data } = await api.request<GitHubRelease>('POST', `/repos/${repo}/releases`, {
    body: { tag_name: want.tag, target_commitish: want.target, ...fields },
    permission: PERMISSION,
    // A 502 after GitHub created it: find it instead of creating a second one.
    recover: () => findRelease(api, repo, want.tag),
  });
  return { action: 'created', id: data.id, url: data.html_url, draft: data.draft };
}

/** GitHub's own notes (`POST /releases/generate-notes`, which honours `.github/release.yml`). */
export async function generateGitHubNotes(
  api: GitHubApi,
  repo: string,
  options: { tag: string; target: string; previousTag: string | undefined; configurationFile?: string | undefined },
): Promise<{ name: string; body: string }> {
  const { data } = await api.request<{ name: string; body: string }>('POST', `/repos/${repo}/releases/generate-notes`, {
    body: {
      tag_name: options.tag,
      target_commitish: options.target,
      ...(options.previousTag ? { previous_tag_name: options.previousTag } : {}),
      ...(options.configurationFile ? { configuration_file_path: options.configurationFile } : {}),
    },
    permission: PERMISSION,
  });
  return data;
}
