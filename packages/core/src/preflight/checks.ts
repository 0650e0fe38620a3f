/**
 * checks: every check run and commit status on the commit (or the named ones) is green, read through the
 * Checks and Statuses APIs page by page; pending ones are waited for up to `wait`. This run's own jobs are
 * left out (they are in progress while preflight runs).
 */
import type { GitHubApi } from '../github/api';
import { nextLink } from '../github/api';
import { headSha } from '../github/context';
import { formatDuration } from '../inputs/scalars';
import { configError, optionalDuration, optionalString, stringList } from './config';
import type { ConfigSource, GateDefinition } from './types';

interface ChecksConfig {
  names: string[];
  waitMs: number;
  sha: string;
}

interface CheckRun {
  name: string;
  status: string;
  conclusion: string | null;
  html_url?: string | null;
  details_url?: string | null;
}
interface CommitStatus {
  context: string;
  state: 'error' | 'failure' | 'pending' | 'success';
  target_url?: string | null;
}

export interface CheckState {
  name: string;
  kind: 'check run' | 'status';
  state: 'success' | 'pending' | 'failure';
  detail: string;
  url?: string | undefined;
}

const GREEN = new Set(['success', 'neutral', 'skipped']);
export const POLL_MS = 15_000;

export function commitSha(raw: Record<string, unknown>, source: ConfigSource): string {
  // A pull request's checks ran on its head, not on the merge commit GITHUB_SHA names there.
  const sha = optionalString(raw, 'sha', source) ?? headSha(source.env);
  if (sha === undefined) throw configError(source, 'sha', 'is not given and GITHUB_SHA is not set', '3f2c1e0d…');
  return sha;
}

/** The Checks API answers `{ total_count, check_runs }` per page, so GitHubApi.paginate (arrays) does not fit. */
async function checkRuns(api: GitHubApi, sha: string): Promise<CheckRun[]> {
  const runs: CheckRun[] = [];
  let next: string | undefined = api.url(`/repos/${api.repository}/commits/${sha}/check-runs`, { per_page: 100 });
  while (next !== undefined) {
    const page: { data: { check_runs?: CheckRun[] }; headers: Headers } = await api.request('GET', next, {
      permission: 'checks: read',
    });
    runs.push(...(page.data.check_runs ?? []));
    next = nextLink(page.headers.get('link'));
  }
  return runs;
}

async function statuses(api: GitHubApi, sha: string): Promise<CommitStatus[]> {
  const latest = new Map<string, CommitStatus>();
  // Newest first: the first status of each context is its current state.
  for await (const status of api.paginate<CommitStatus>(
    `/repos/${api.repository}/commits/${sha}/statuses`,
    { per_page: 100 },
    'statuses: read',
  )) {
    if (!latest.has(status.context)) latest.set(status.context, status);
  }
  return [...latest.values()];
}

export async function readChecks(api: GitHubApi, sha: string, ownRun: string | undefined): Promise<CheckState[]> {
  const [runs, contexts] = await Promise.all([checkRuns(api, sha), statuses(api, sha)]);
  const states: CheckState[] = [];
  for (const run of runs) {
    const url = run.html_url ?? run.details_url ?? undefined;
    if (ownRun !== undefined && (url ?? '').includes(`/actions/runs/${ownRun}/`)) continue;
    const state = run.status !== 'completed' ? 'pending' : GREEN.has(run.conclusion ?? '') ? 'success' : 'failure';
    states.push({
      name: run.name,
      kind: 'check run',
      state,
      detail: run.status === 'completed' ? (run.conclusion ?? 'none') : run.status,
      url,
    });
  }
  for (const status of contexts) {
    const state = status.state === 'success' ? 'success' : status.state === 'pending' ? 'pending' : 'failure';
    states.push({
      name: status.context,
      kind: 'status',
      state,
      detail: status.state,
      url: status.target_url ?? undefined,
    });
  }
  return states;
}

export const checksGate: GateDefinition<ChecksConfig> = {
  name: 'checks',
  title: 'Checks and statuses green',
  prepare(raw, source) {
    return {
      names: stringList(raw, 'names', source),
      waitMs: optionalDuration(raw, 'wait', source) ?? 0,
      sha: commitSha(raw, source),
    };
  },
  defaultTimeoutMs: (config) => config.waitMs + 60_000,
  async run(config, ctx) {
    const api = ctx.github();
    const deadline = ctx.clock.now() + config.waitMs;
    const ownRun = ctx.env['GITHUB_RUN_ID'];
    for (;;) {
      const all = await readChecks(api, config.sha, ownRun);
      const relevant = config.names.length === 0 ? all : all.filter((c) => config.names.includes(c.name));
      const missing = config.names.filter((name) => !all.some((c) => c.name === name));
      const failed = relevant.filter((c) => c.state === 'failure');
      const pending = relevant.filter((c) => c.state === 'pending');
      const green = relevant.filter((c) => c.state === 'success').length;
      const waiting = failed.length === 0 && (pending.length > 0 || missing.length > 0) && ctx.clock.now() < deadline;
      if (waiting) {
        ctx.log.info(`checks: waiting for ${[...pending.map((c) => c.name), ...missing].join(', ')}`);
        await ctx.clock.sleep(Math.min(POLL_MS, Math.max(1, deadline - ctx.clock.now())), ctx.signal);
        continue;
      }
      const total = relevant.length + missing.length;
      const problems = [
        ...failed.map((c) => `${c.name} ${c.detail}`),
        ...pending.map((c) => `${c.name} still ${c.detail}`),
        ...missing.map((name) => `${name} not reported`),
      ];
      const waited =
        config.waitMs > 0 && (pending.length > 0 || missing.length > 0)
          ? ` after waiting ${formatDuration(config.waitMs)}`
          : '';
      return {
        status: problems.length === 0 ? 'pass' : 'fail',
        value: `${green} of ${total} green`,
        limit: config.names.length === 0 ? 'all green' : `green: ${config.names.join(', ')}`,
        message:
          problems.length === 0
            ? total === 0
              ? `No checks or statuses on ${config.sha.slice(0, 7)}`
              : `${green} checks and statuses green on ${config.sha.slice(0, 7)}`
            : `${problems.join('; ')}${waited}`,
        link: failed[0]?.url ?? pending[0]?.url,
        details: { sha: config.sha, checks: relevant, missing },
      };
    }
  },
};
