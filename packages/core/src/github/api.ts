/**
 * The GitHub API client of the suite: Octokit from `@actions/github`
 * (`getOctokit`), so GitHub Enterprise Server base URLs, the runner's proxy
 * settings (`HTTPS_PROXY`/`NO_PROXY`, through `@actions/http-client`) and
 * GitHub's own conventions come from the toolkit. Around each call: our
 * retry policy on the runtime's clock and abort signal (5xx, network errors,
 * `Retry-After`, the primary and secondary rate limits), errors that say what
 * permission is missing, and the token masked before anything is logged.
 * Octokit is imported on the first call, not when this module loads.
 */
import { holdVirtualTime } from '../clock/quiescence';
import { UserError } from '../errors';
import { type RetryOptions, retry } from '../retry';
import type { Runtime } from '../runtime/port';

/** A fetch for Octokit to use instead of the toolkit's proxy-aware one (tests). */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

type Octokit = ReturnType<typeof import('@actions/github').getOctokit>;

export interface GitHubApiOptions {
  token: string;
  /** `https://api.github.com` or a GHES `https://host/api/v3` (GITHUB_API_URL). */
  apiUrl: string;
  /** GITHUB_GRAPHQL_URL; default: derived from apiUrl (`/graphql`, or `/api/graphql` on GHES). */
  graphqlUrl?: string | undefined;
  /** `owner/name`, used in error messages. */
  repository: string;
  fetch?: FetchLike | undefined;
  /** Overrides for the retry policy (attempts default 5; clock and signal default to the runtime's). */
  retry?: Omit<RetryOptions, 'isRetryable' | 'onRetry'>;
  /** Longest wait for a rate-limit reset before giving up (default 10 minutes). */
  maxRateLimitWaitMs?: number;
  /** Per-attempt limit (real time), so a hung connection is retried instead of holding the step (default 30 s). */
  timeoutMs?: number;
}

/** A response GitHub gave that was not a success; `retryable` tells `retry()` whether another attempt may help. */
export class GitHubApiError extends Error {
  override readonly name = 'GitHubApiError';
  constructor(
    message: string,
    readonly status: number,
    readonly method: string,
    readonly path: string,
    readonly retryable: boolean,
    /** Set for rate limits: when GitHub says to come back (Retry-After or x-ratelimit-reset). */
    readonly retryAfterMs: number | undefined,
    readonly body: unknown,
  ) {
    super(message);
  }
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  /** The permission this call needs, named in the UserError of a 403/404 (e.g. `deployments: write`). */
  permission?: string;
  /**
   * Before a retry of a call that is not idempotent: find out whether the failed attempt took effect after all
   * (a 502 from a proxy after GitHub did the work); a result is used instead of sending the call again.
   */
  recover?: () => Promise<unknown>;
  /** Attempts for this call (default: the client's, 5). */
  attempts?: number;
  /** Inspect a successful answer inside the retried attempt; throwing a retryable GitHubApiError retries it. */
  check?: (response: ApiResponse<unknown>) => void;
}

export interface ApiResponse<T> {
  status: number;
  data: T;
  headers: Headers;
}

/** `<https://api.github.com/...&page=2>; rel="next", <...>; rel="last"` → the next URL. */
export function nextLink(header: string | null): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(',')) {
    const match = /<([^>]+)>\s*;\s*rel="?([^";]+)"?/.exec(part.trim());
    if (match && match[2]!.split(/\s+/).includes('next')) return match[1];
  }
  return undefined;
}

/** Octokit's plain header object as fetch Headers (what callers read `link` and the rate-limit headers from). */
function headersOf(headers: Record<string, unknown>): Headers {
  const result = new Headers();
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) result.set(name, String(value));
  return result;
}

function messageOf(body: unknown): string {
  if (typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string') {
    const { message, errors } = body as { message: string; errors?: unknown };
    const details = Array.isArray(errors)
      ? errors
          .map((e) =>
            typeof e === 'string'
              ? e
              : ((e as { message?: string; code?: string }).message ?? (e as { code?: string }).code),
          )
          .filter(Boolean)
      : [];
    return details.length > 0 ? `${message}: ${details.join('; ')}` : message;
  }
  return typeof body === 'string' && body !== '' ? body.slice(0, 200) : '';
}

/** The GraphQL endpoint beside a REST base URL: `https://api.github.com/graphql`, GHES `https://host/api/graphql`. */
export function graphqlUrlOf(apiUrl: string): string {
  const base = apiUrl.replace(/\/+$/, '');
  return /\/api\/v3$/.test(base) ? base.replace(/\/v3$/, '/graphql') : `${base}/graphql`;
}

/** One error of a GraphQL answer (`errors[]`). */
interface GraphqlError {
  message: string;
  type?: string;
}

export class GitHubApi {
  private octokit: Promise<Octokit> | undefined;
  private readonly apiUrl: string;
  private readonly token: string;
  readonly graphqlUrl: string;
  readonly repository: string;
  /** Requests sent (retries included), for summaries and benchmarks. */
  requests = 0;

  constructor(
    private readonly rt: Runtime,
    private readonly options: GitHubApiOptions,
  ) {
    if (options.token.trim() === '') {
      throw new UserError('The GitHub token is empty: Deployments need one', {
        hint: 'token: ${{ github.token }} (with permissions: deployments: write)',
      });
    }
    // Masked before anything can print it: an error body or a debug line must never carry the token.
    rt.mask(options.token);
    this.token = options.token;
    this.apiUrl = options.apiUrl.replace(/\/+$/, '');
    this.graphqlUrl = options.graphqlUrl?.replace(/\/+$/, '') || graphqlUrlOf(this.apiUrl);
    this.repository = options.repository;
  }

  url(path: string, query?: RequestOptions['query']): string {
    const url = new URL(path.startsWith('http') ? path : `${this.apiUrl}${path}`);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url.toString();
  }

  /** Octokit, loaded on the first call: actions that never call GitHub never load it. */
  private client(): Promise<Octokit> {
    // Held: a virtual clock must not find the process idle (and jump to the timeout) while Octokit loads.
    this.octokit ??= holdVirtualTime(import('@actions/github')).then(({ getOctokit }) =>
      getOctokit(this.token, {
        baseUrl: this.apiUrl,
        userAgent: 'deploy-actions',
        // Without an injected fetch, the toolkit's: it goes through HTTPS_PROXY/HTTP_PROXY unless NO_PROXY says not.
        ...(this.options.fetch ? { request: { fetch: this.options.fetch } } : {}),
      }),
    );
    return this.octokit;
  }

  /**
   * A GraphQL query (one request where REST would need several). Rate-limited answers are retried like REST
   * ones; other `errors` become a GitHubApiError naming them.
   */
  async graphql<T>(query: string, variables: Record<string, unknown> = {}, permission?: string): Promise<T> {
    const response = await this.request<{ data?: T; errors?: GraphqlError[] }>('POST', this.graphqlUrl, {
      body: { query, variables },
      ...(permission ? { permission } : {}),
      check: (answer) => {
        const errors = (answer.data as { errors?: GraphqlError[] } | undefined)?.errors ?? [];
        if (errors.length === 0) return;
        const limited = errors.some((error) => error.type === 'RATE_LIMITED');
        const text = `GitHub GraphQL API answered: ${errors.map((error) => error.message).join('; ')}`;
        const waitMs = limited ? (this.resetWait(answer.headers) ?? 60_000) : undefined;
        const retryable = limited && waitMs! <= (this.options.maxRateLimitWaitMs ?? 600_000);
        throw new GitHubApiError(
          this.rt.redact(text),
          limited ? 429 : 200,
          'POST',
          'graphql',
          retryable,
          waitMs,
          answer.data,
        );
      },
    });
    return response.data.data as T;
  }

  /** One call, retried on 5xx, 429, secondary rate limits and network errors. */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
    const url = this.url(path, options.query);
    if (new URL(url).origin !== new URL(this.apiUrl).origin) {
      // A Link header pointing elsewhere must not receive the token.
      throw new Error(`refusing to send the GitHub token to ${new URL(url).origin}: not the API at ${this.apiUrl}`);
    }
    const shown = url.startsWith(this.apiUrl) ? url.slice(this.apiUrl.length) : path;
    return retry(
      async (attempt) => {
        if (attempt > 1 && options.recover !== undefined) {
          // If even the check fails, send the call again: the outer retry handles what that answers.
          const found = await options.recover().catch((error: unknown) => {
            this.rt.log.debug(`GitHub API ${method} ${shown}: could not check the failed attempt: ${error}`);
            return undefined;
          });
          if (found !== undefined) {
            this.rt.log.info(
              `GitHub API ${method} ${shown}: the failed attempt had taken effect; not sending it again`,
            );
            return { status: 200, data: found as T, headers: new Headers() };
          }
        }
        return this.once<T>(method, url, shown, options);
      },
      {
        attempts: 5,
        baseMs: 1000,
        maxMs: 30_000,
        clock: this.rt.clock,
        signal: this.rt.signal,
        ...this.options.retry,
        ...(options.attempts !== undefined ? { attempts: options.attempts } : {}),
        isRetryable: (error) =>
          error instanceof GitHubApiError
            ? error.retryable
            : error instanceof TypeError /* fetch: network */ || (error as Error)?.name === 'TimeoutError',
        onRetry: ({ attempt, delayMs, error }) => {
          const what = error instanceof GitHubApiError ? `HTTP ${error.status}` : String((error as Error).message);
          this.rt.log.info(
            `GitHub API ${method} ${shown}: ${what} (attempt ${attempt}); retrying in ${(delayMs / 1000).toFixed(1)}s`,
          );
        },
      },
    ).catch((error: unknown) => {
      throw this.explain(error, method, shown, options.permission);
    });
  }

  /** Every item of a list endpoint, page by page (following `Link: rel="next"`); break out to stop reading. */
  async *paginate<T>(path: string, query: RequestOptions['query'] = {}, permission?: string): AsyncGenerator<T> {
    let next: string | undefined = this.url(path, query);
    while (next !== undefined) {
      const page: ApiResponse<T[]> = await this.request<T[]>('GET', next, { permission });
      if (!Array.isArray(page.data)) {
        throw new Error(`GitHub API GET ${path} answered ${page.status} without a list`);
      }
      yield* page.data;
      next = nextLink(page.headers.get('link'));
    }
  }

  private async once<T>(method: string, url: string, shown: string, options: RequestOptions): Promise<ApiResponse<T>> {
    const octokit = await this.client();
    this.requests++;
    const signal = AbortSignal.any([this.rt.signal, AbortSignal.timeout(this.options.timeoutMs ?? 30_000)]);
    let answer: ApiResponse<T>;
    try {
      const response = await octokit.request({
        method,
        url,
        headers: {
          accept: 'application/vnd.github+json',
          'x-github-api-version': '2022-11-28',
        },
        ...(options.body === undefined ? {} : { data: options.body }),
        request: { signal },
      });
      answer = { status: response.status, data: response.data as T, headers: headersOf(response.headers) };
    } catch (error) {
      const failed = error as { status?: number; response?: { headers: Record<string, unknown>; data: unknown } };
      if (failed.response === undefined) {
        // Octokit wraps a network error or a timeout without a response: what retry() and explain() read is inside.
        if (this.rt.signal.aborted) throw this.rt.signal.reason;
        throw (error as { cause?: unknown }).cause ?? error;
      }
      this.rt.log.debug(`GitHub API ${method} ${shown} → ${failed.status}`);
      throw this.failure(failed.status ?? 0, headersOf(failed.response.headers), method, shown, failed.response.data);
    }
    this.rt.log.debug(`GitHub API ${method} ${shown} → ${answer.status}`);
    options.check?.(answer);
    return answer;
  }

  /** How long until the rate limit resets (x-ratelimit-reset), when the answer says it is used up. */
  private resetWait(headers: Headers): number | undefined {
    const reset = headers.get('x-ratelimit-reset');
    if (headers.get('x-ratelimit-remaining') !== '0' || reset === null || !/^\d+$/.test(reset)) return undefined;
    return Math.max(0, Number(reset) * 1000 - this.rt.clock.now()) + 1000;
  }

  private failure(status: number, headers: Headers, method: string, path: string, body: unknown): GitHubApiError {
    const message = messageOf(body);
    const retryAfter = headers.get('retry-after');
    let retryAfterMs: number | undefined;
    if (retryAfter !== null && /^\d+$/.test(retryAfter.trim())) retryAfterMs = Number(retryAfter.trim()) * 1000;
    const primaryLimit = (status === 403 || status === 429) && headers.get('x-ratelimit-remaining') === '0';
    if (retryAfterMs === undefined && primaryLimit) retryAfterMs = this.resetWait(headers);
    const secondaryLimit = (status === 403 || status === 429) && /secondary rate limit|abuse/i.test(message);
    // GitHub: without Retry-After, wait at least a minute after a secondary rate limit.
    if (secondaryLimit && retryAfterMs === undefined) retryAfterMs = 60_000;
    const rateLimited = status === 429 || primaryLimit || secondaryLimit || (status === 403 && retryAfter !== null);
    const tooLong = retryAfterMs !== undefined && retryAfterMs > (this.options.maxRateLimitWaitMs ?? 600_000);
    const retryable = (status >= 500 || rateLimited) && !tooLong;
    const text = `GitHub API ${method} ${path} answered ${status}${message ? `: ${message}` : ''}`;
    return new GitHubApiError(this.rt.redact(text), status, method, path, retryable, retryAfterMs, body);
  }

  /** Turn what the user can fix into a UserError that says how. */
  private explain(error: unknown, method: string, path: string, permission: string | undefined): unknown {
    if ((error as Error)?.name === 'TimeoutError' && !this.rt.signal.aborted) {
      return new UserError(`The GitHub API at ${this.apiUrl} did not answer ${method} ${path} in time`, {
        cause: error,
      });
    }
    if (error instanceof TypeError) {
      // undici's "fetch failed": the reason (ECONNREFUSED, ENOTFOUND, a TLS error) is in the cause.
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const reason = cause?.code ?? cause?.message ?? error.message;
      return new UserError(`Could not reach the GitHub API at ${this.apiUrl} (${method} ${path}): ${reason}`, {
        cause: error,
      });
    }
    if (!(error instanceof GitHubApiError)) return error;
    const { status } = error;
    // GitHub's messages often end with a period; ours follow after one.
    const said = error.message.replace(/\.+$/, '');
    const where = this.repository;
    if (status === 401) {
      return new UserError(`The GitHub token was refused (401 Bad credentials) for ${method} ${path}`, {
        hint: 'pass token: ${{ github.token }} or a valid token with access to the repository',
        cause: error,
      });
    }
    if ((status === 403 || status === 429) && error.retryAfterMs !== undefined) {
      return new UserError(`${said}. GitHub's rate limit was not lifted in time; run again later`, {
        cause: error,
      });
    }
    if (status === 403 || status === 404) {
      const needs = permission ?? 'deployments: write';
      const deployments = needs.startsWith('deployments');
      // GitHub answers 404, not 403, when the token may not see the repository at all.
      const cannot =
        status === 404
          ? deployments
            ? `cannot see ${where} or its Deployments`
            : `cannot see ${where} (or it does not exist)`
          : deployments
            ? `cannot use GitHub Deployments of ${where}`
            : `may not do this in ${where}`;
      return new UserError(`${error.message}. The token ${cannot}: the workflow needs \`permissions: ${needs}\``, {
        hint: `add to the job (or workflow):\n  permissions:\n    contents: read\n    ${needs}${deployments ? `\nA personal token needs the repo_deployment scope (fine-grained: "Deployments" ${needs.endsWith('write') ? 'read and write' : 'read'})` : ''}`,
        cause: error,
      });
    }
    if (status >= 500) {
      return new UserError(
        `${said}. GitHub kept failing through the retries (an outage on its side, https://www.githubstatus.com): run again later`,
        { cause: error },
      );
    }
    if (status === 200 && error.path === 'graphql') {
      // An answer with GraphQL `errors`: a repository the token cannot see answers NOT_FOUND, not 404.
      const notFound = ((error.body as { errors?: GraphqlError[] } | undefined)?.errors ?? []).some(
        (e) => e.type === 'NOT_FOUND',
      );
      return new UserError(
        `${said}${notFound ? `. The token cannot see ${where} (or it does not exist)${permission ? `: the workflow needs \`permissions: ${permission}\`` : ''}` : ''}`,
        { cause: error },
      );
    }
    if (status === 422 || status === 409 || status === 400) {
      return new UserError(error.message, { cause: error });
    }
    return error;
  }
}
