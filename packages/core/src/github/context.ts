/**
 * The workflow run's GitHub context, read from the runner's `GITHUB_*`
 * variables (https://docs.github.com/actions/reference/variables-reference).
 * Pure: takes the env map, so the CLI and tests pass their own.
 */
import { readFileSync } from 'node:fs';
import { UserError } from '../errors';
import { graphqlUrlOf } from './api';

export interface GitHubContext {
  /** `owner/name` */
  repository: string;
  owner: string;
  repo: string;
  /** The commit the run is for (`GITHUB_SHA`); undefined outside a runner. */
  sha: string | undefined;
  /** `refs/heads/main`, `refs/tags/v1.2.0`, ... (`GITHUB_REF`). */
  ref: string | undefined;
  /** `main` / `v1.2.0`: the ref without `refs/heads/` or `refs/tags/` (`GITHUB_REF_NAME`, else derived). */
  refName: string | undefined;
  /** `https://github.com`, or the GHES host. */
  serverUrl: string;
  /** `https://api.github.com`, or `https://ghes.example.com/api/v3`; no trailing slash. */
  apiUrl: string;
  /** `GITHUB_GRAPHQL_URL`: `https://api.github.com/graphql`, or `https://ghes.example.com/api/graphql`. */
  graphqlUrl: string;
  runId: string | undefined;
  runAttempt: string | undefined;
  /** The run's page (with `/attempts/N` when the attempt is known): the log URL of a Deployment status. */
  runUrl: string | undefined;
  actor: string | undefined;
  eventName: string | undefined;
  workflow: string | undefined;
}

/** Variables a caller may insist on, beyond GITHUB_REPOSITORY which is always needed. */
export type ContextVariable = 'GITHUB_SHA' | 'GITHUB_REF' | 'GITHUB_RUN_ID';

export interface GitHubContextOptions {
  /** Fail with a UserError naming the variable when one of these is missing. */
  require?: readonly ContextVariable[];
}

type Env = Readonly<Record<string, string | undefined>>;

function value(env: Env, name: string): string | undefined {
  const text = env[name]?.trim();
  return text === undefined || text === '' ? undefined : text;
}

function missing(name: string, example: string): UserError {
  return new UserError(
    `${name} is not set: this step needs the workflow run's context, which the GitHub runner sets for every step`,
    { hint: `outside GitHub Actions, set it yourself, e.g. ${name}=${example}` },
  );
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

export function githubContext(env: Env, options: GitHubContextOptions = {}): GitHubContext {
  const repository = value(env, 'GITHUB_REPOSITORY');
  if (repository === undefined) throw missing('GITHUB_REPOSITORY', 'acme/web');
  const match = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)$/.exec(repository);
  if (!match) {
    throw new UserError(`GITHUB_REPOSITORY must be owner/name, got ${JSON.stringify(repository)}`, {
      hint: 'e.g. GITHUB_REPOSITORY=acme/web',
    });
  }
  for (const name of options.require ?? []) {
    if (value(env, name) === undefined) {
      const example = { GITHUB_SHA: '3f2c1e0…', GITHUB_REF: 'refs/heads/main', GITHUB_RUN_ID: '1234567890' }[name];
      throw missing(name, example);
    }
  }
  const serverUrl = trimSlash(value(env, 'GITHUB_SERVER_URL') ?? 'https://github.com');
  const apiUrl = trimSlash(value(env, 'GITHUB_API_URL') ?? 'https://api.github.com');
  const graphqlUrl = trimSlash(value(env, 'GITHUB_GRAPHQL_URL') ?? graphqlUrlOf(apiUrl));
  const ref = value(env, 'GITHUB_REF');
  const runId = value(env, 'GITHUB_RUN_ID');
  const runAttempt = value(env, 'GITHUB_RUN_ATTEMPT');
  let runUrl: string | undefined;
  if (runId !== undefined) {
    runUrl = `${serverUrl}/${repository}/actions/runs/${runId}`;
    if (runAttempt !== undefined) runUrl += `/attempts/${runAttempt}`;
  }
  return {
    repository,
    owner: match[1]!,
    repo: match[2]!,
    sha: value(env, 'GITHUB_SHA'),
    ref,
    refName: value(env, 'GITHUB_REF_NAME') ?? ref?.replace(/^refs\/(heads|tags)\//, ''),
    serverUrl,
    apiUrl,
    graphqlUrl,
    runId,
    runAttempt,
    runUrl,
    actor: value(env, 'GITHUB_ACTOR'),
    eventName: value(env, 'GITHUB_EVENT_NAME'),
    workflow: value(env, 'GITHUB_WORKFLOW'),
  };
}

/** The webhook payload at `GITHUB_EVENT_PATH` (what `github.context.payload` holds); `{}` when it is not set. */
export function readEventPayload(env: Env): Record<string, unknown> {
  const path = value(env, 'GITHUB_EVENT_PATH');
  if (path === undefined) return {};
  try {
    const payload: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>) : {};
  } catch (error) {
    throw new UserError(`Cannot read the event payload at GITHUB_EVENT_PATH=${path}: ${(error as Error).message}`);
  }
}

/**
 * The commit a run's checks and reviews belong to. On a pull_request (or pull_request_target) event GITHUB_SHA is
 * the merge commit GitHub made (pull_request_target: the base branch's), which no check ran on: the pull request's
 * head is, from the event payload. Else GITHUB_SHA.
 */
export function headSha(env: Env): string | undefined {
  if (/^pull_request/.test(value(env, 'GITHUB_EVENT_NAME') ?? '')) {
    const pull = readEventPayload(env)['pull_request'] as { head?: { sha?: unknown } } | undefined;
    if (typeof pull?.head?.sha === 'string' && pull.head.sha !== '') return pull.head.sha;
  }
  return value(env, 'GITHUB_SHA');
}
