/**
 * A small typed GitHub REST client over the platform `fetch`.
 *
 * Why not `@actions/github` (Octokit)? Measured with Node 24.21 on the dev
 * machine (2 cores, shared, load 5–7), in-process `performance.now()` around
 * `await import(...)`, 7–9 runs each:
 *   - `@actions/github` 9.1.1 from node_modules: 83–305 ms (typically ~120);
 *   - the same bundled and minified by esbuild (542 KB): 53–82 ms;
 *   - this module bundled by esbuild (25 KB): ~1 ms, plus Node's built-in
 *     `fetch` on first use: 32–44 ms, which the metrics, http and notify
 *     modules pay anyway.
 * Octokit would cost more than the whole ~45 ms start budget, for four
 * endpoints. Its retry/throttling would also ignore our injected clock and
 * abort signal, so tests could not run it on virtual time. Here every call
 * goes through `@deploy-actions/core/retry` (Retry-After honoured, virtual
 * clock, cancellable), errors are typed, and tests point `apiUrl` at a
 * loopback server (or pass `fetch`). The module itself imports nothing heavy;
 * adapters still load it lazily, only when a token is given.
 */
import { UserError } from '../errors';
import { type RetryOptions, retry } from '../retry';
import type { Runtime } from '../runtime/port';

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface GitHubApiOptions {
  token: string;
  /** `https://api.github.com` or a GHES `https://host/api/v3`. */
  apiUrl: string;
  /** `owner/name`, used in error messages. */
  repository: string;
  fetch?: FetchLike;
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

export class GitHubApi {
  private readonly fetchImpl: FetchLike;
  private readonly apiUrl: string;
  private readonly token: string;
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
    this.repository = options.repository;
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
  }

  url(path: string, query?: RequestOptions['query']): string {
    const url = new URL(path.startsWith('http') ? path : `${this.apiUrl}${path}`);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url.toString();
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
    this.requests++;
    const headers: Record<string, string> = {
      accept: 'application/vnd.github+json',
      authorization: `Bearer ${this.token}`,
      'user-agent': 'deploy-actions',
      'x-github-api-version': '2022-11-28',
    };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await this.fetchImpl(url, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.any([this.rt.signal, AbortSignal.timeout(this.options.timeoutMs ?? 30_000)]),
    });
    const text = await response.text();
    let data: unknown = text;
    if (text !== '') {
      try {
        data = JSON.parse(text);
      } catch {
        // Not JSON (a proxy's HTML error page): keep the text.
      }
    }
    this.rt.log.debug(`GitHub API ${method} ${shown} → ${response.status}`);
    if (response.ok) return { status: response.status, data: data as T, headers: response.headers };
    throw this.failure(response, method, shown, data);
  }

  private failure(response: Response, method: string, path: string, body: unknown): GitHubApiError {
    const status = response.status;
    const message = messageOf(body);
    const retryAfter = response.headers.get('retry-after');
    const remaining = response.headers.get('x-ratelimit-remaining');
    const reset = response.headers.get('x-ratelimit-reset');
    let retryAfterMs: number | undefined;
    if (retryAfter !== null && /^\d+$/.test(retryAfter.trim())) retryAfterMs = Number(retryAfter.trim()) * 1000;
    const now = this.rt.clock.now();
    const primaryLimit = (status === 403 || status === 429) && remaining === '0';
    if (retryAfterMs === undefined && primaryLimit && reset !== null && /^\d+$/.test(reset)) {
      retryAfterMs = Math.max(0, Number(reset) * 1000 - now) + 1000;
    }
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
      return new Error(`The GitHub API at ${this.apiUrl} did not answer ${method} ${path} in time`, { cause: error });
    }
    if (error instanceof TypeError) {
      // undici's "fetch failed": the reason (ECONNREFUSED, ENOTFOUND, a TLS error) is in the cause.
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const reason = cause?.code ?? cause?.message ?? error.message;
      return new Error(`Could not reach the GitHub API at ${this.apiUrl} (${method} ${path}): ${reason}`, {
        cause: error,
      });
    }
    if (!(error instanceof GitHubApiError)) return error;
    const { status } = error;
    const where = this.repository;
    if (status === 401) {
      return new UserError(`The GitHub token was refused (401 Bad credentials) for ${method} ${path}`, {
        hint: 'pass token: ${{ github.token }} or a valid token with access to the repository',
        cause: error,
      });
    }
    if ((status === 403 || status === 429) && error.retryAfterMs !== undefined) {
      return new UserError(`${error.message}. GitHub's rate limit was not lifted in time; run again later`, {
        cause: error,
      });
    }
    if (status === 403 || status === 404) {
      const needs = permission ?? 'deployments: write';
      // GitHub answers 404, not 403, when the token may not see the repository at all.
      const cannot =
        status === 404 ? `cannot see ${where} or its Deployments` : `cannot use GitHub Deployments of ${where}`;
      return new UserError(`${error.message}. The token ${cannot}: the workflow needs \`permissions: ${needs}\``, {
        hint: `add to the job (or workflow):\n  permissions:\n    contents: read\n    ${needs}\nA personal token needs the repo_deployment scope (fine-grained: "Deployments" ${needs.endsWith('write') ? 'read and write' : 'read'})`,
        cause: error,
      });
    }
    if (status === 422 || status === 409 || status === 400) {
      return new UserError(error.message, { cause: error });
    }
    return error;
  }
}
