/**
 * Whether the GitHub run holding a Lease has ended: a runner that died leaves its Lease behind, but GitHub
 * knows the run (attempt) completed or was cancelled, and then the Lease is taken over at once instead of
 * after it lapses. Takes any client with GitHubApi's `request` (loaded only when a token is given).
 */

/** The part of GitHubApi this needs. */
export interface RunRequester {
  request<T>(method: string, path: string): Promise<{ data: T }>;
}

/**
 * A LeaseOptions.holderDead for holders named `<run id>-<attempt>` (GITHUB_RUN_ID-GITHUB_RUN_ATTEMPT): a
 * sentence when GitHub reports that attempt completed (any conclusion, cancelled included), else undefined.
 */
export function githubRunEnded(api: () => Promise<RunRequester>, repository: string) {
  return async (holder: string): Promise<string | undefined> => {
    const match = /^(\d+)-(\d+)$/.exec(holder);
    if (!match) return undefined;
    const [, run, attempt] = match;
    const { data } = await (await api()).request<{ status?: string; conclusion?: string | null }>(
      'GET',
      `/repos/${repository}/actions/runs/${run}/attempts/${attempt}`,
    );
    if (data.status !== 'completed') return undefined;
    return `GitHub reports its run ${run} (attempt ${attempt}) ${data.conclusion ?? 'completed'}`;
  };
}
