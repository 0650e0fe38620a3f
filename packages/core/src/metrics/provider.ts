/**
 * One interface for every metric source. Providers take a query whose
 * placeholders are already substituted and answer with a number, or
 * `undefined` when the source has no data for it.
 *
 * Failures come in two kinds: `UserError` when the source rejects the query
 * (a typo: fix the workflow), `ProviderUnavailable` when the source could not
 * answer (network, 5xx, timeout: the check is recorded as an error and the
 * analysis goes on).
 */
import { UserError } from '../errors';

export interface QueryOptions {
  /** Evaluation time, epoch ms (the analysis clock's now). */
  at: number;
  /** The check interval, ms: sources that take a range (Datadog) query [at − window, at]. */
  window: number;
  signal?: AbortSignal;
}

export interface MetricProvider {
  /** Run the query once and throw a UserError quoting the source when it rejects it. */
  validate(query: string, options: QueryOptions): Promise<void>;
  query(query: string, options: QueryOptions): Promise<number | undefined>;
}

export class ProviderUnavailable extends Error {
  override readonly name = 'ProviderUnavailable';
}

export interface HttpAnswer {
  status: number;
  body: unknown;
  text: string;
}

/** Request timeout for one provider call: a check every 10 s cannot wait longer than that. */
export const PROVIDER_TIMEOUT_MS = 10_000;

/** fetch + JSON with a timeout; network failures become ProviderUnavailable naming the source. */
export async function requestJson(
  source: string,
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; signal?: AbortSignal },
): Promise<HttpAnswer> {
  const timeout = AbortSignal.timeout(PROVIDER_TIMEOUT_MS);
  const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
  const { url: target, authorization: fromUrl } = withoutCredentials(url);
  const own = Object.keys(init.headers ?? {}).some((name) => name.toLowerCase() === 'authorization');
  const authorization = own ? {} : fromUrl;
  let response: Response;
  try {
    response = await fetch(target, {
      method: init.method ?? 'GET',
      headers: { accept: 'application/json', ...authorization, ...init.headers },
      body: init.body,
      signal,
    });
  } catch (error) {
    if (init.signal?.aborted) throw init.signal.reason;
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why = timeout.aborted
      ? `no answer within ${PROVIDER_TIMEOUT_MS / 1000}s`
      : (cause?.code ?? cause?.message ?? (error as Error).message);
    throw new ProviderUnavailable(`${source} at ${new URL(url).origin} could not be reached: ${why}`);
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, body, text };
}

/**
 * `http://user:pass@host/...` → the URL without them and a Basic Authorization header (fetch refuses URLs with
 * credentials); headers given on the metric win.
 */
function withoutCredentials(url: string): { url: string; authorization: Record<string, string> } {
  const parsed = new URL(url);
  if (parsed.username === '' && parsed.password === '') return { url, authorization: {} };
  const pair = `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`;
  parsed.username = '';
  parsed.password = '';
  return { url: parsed.toString(), authorization: { authorization: `Basic ${Buffer.from(pair).toString('base64')}` } };
}

/** A numeric answer: numbers or numeric strings; NaN (0/0 with no traffic) counts as no data. */
export function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isNaN(value) ? undefined : value;
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (trimmed === '+Inf' || trimmed === 'Inf') return Number.POSITIVE_INFINITY;
    if (trimmed === '-Inf') return Number.NEGATIVE_INFINITY;
    if (trimmed === '' || trimmed === 'NaN') return undefined;
    const parsed = Number(trimmed);
    return Number.isNaN(parsed) ? undefined : parsed;
  }
  return undefined;
}

export function rejected(source: string, query: string, message: string, hint?: string): UserError {
  const shown = query.length > 200 ? `${query.slice(0, 197)}...` : query;
  return new UserError(
    `${source} rejected the query ${JSON.stringify(shown)}: ${message}`,
    hint === undefined ? undefined : { hint },
  );
}
