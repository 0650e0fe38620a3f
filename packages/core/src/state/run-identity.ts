/**
 * Who is running: the identity a release writes into the app's Lease and record, and the GitHub run
 * a person can open to see it. Built here once for every writer (canary, plain deploy, staged rollback).
 */

type Env = Readonly<Record<string, string | undefined>>;

export interface RunIdentity {
  /** The Lease holder: `<run id>-<attempt>` on GitHub, `local-<pid>-<random>` elsewhere. */
  holder: string;
  runUrl?: string | undefined;
  runId?: string | undefined;
}

/** One per process: the CLI's clean-up after an interrupted step holds the Lease as the step did. */
const LOCAL_RUN = Math.random().toString(36).slice(2, 8);

/** The holder identity of this run. A re-run of the same GitHub run may take over its own earlier attempt's lease. */
export function holderIdentity(env: Env): string {
  const run = env['GITHUB_RUN_ID'];
  if (run) return `${run}-${env['GITHUB_RUN_ATTEMPT'] ?? '1'}`;
  return `local-${process.pid}-${LOCAL_RUN}`;
}

/** The run's URL from the GitHub environment, when it runs on GitHub. */
export function runUrlOf(env: Env): string | undefined {
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo, GITHUB_RUN_ID: run } = env;
  return server && repo && run ? `${server}/${repo}/actions/runs/${run}` : undefined;
}

/** The run's URL and id, as the record carries them (absent off GitHub). */
export function runLink(env: Env): Pick<RunIdentity, 'runUrl' | 'runId'> {
  const runUrl = runUrlOf(env);
  const runId = env['GITHUB_RUN_ID'];
  return { ...(runUrl ? { runUrl } : {}), ...(runId ? { runId } : {}) };
}

/** This run's holder, URL and id, as the Lease and the record carry them. */
export function runIdentity(env: Env): RunIdentity {
  return { holder: holderIdentity(env), ...runLink(env) };
}
