/**
 * Retry with exponential backoff and full jitter (AWS Architecture Blog,
 * "Exponential Backoff And Jitter"): the delay before retry n is a random value
 * in [0, min(maxMs, baseMs * 2^(n-1))). A `Retry-After` carried by the error
 * (seconds or an HTTP date) replaces the computed delay: the server knows best.
 * Sleeping uses the injected clock, so tests run on virtual time and a
 * cancelled run stops waiting at once.
 */
import { systemClock } from '../clock/system';
import type { Clock } from '../runtime/port';

export interface RetryInfo {
  /** The attempt that just failed (1-based). */
  attempt: number;
  delayMs: number;
  error: unknown;
}

export interface RetryOptions {
  /** Total attempts including the first (default 3). */
  attempts?: number;
  baseMs?: number;
  maxMs?: number;
  /** Full jitter (default true); false waits exactly the exponential cap. */
  jitter?: boolean;
  /** Source of randomness in [0, 1) for the jitter; tests pass a fixed one. */
  random?: () => number;
  clock?: Clock;
  signal?: AbortSignal;
  /** Stop retrying once this many ms have passed since the first attempt (the next wait would pass it). */
  budgetMs?: number;
  /** Whether this error is worth another attempt (default: anything but an abort). */
  isRetryable?: (error: unknown, attempt: number) => boolean;
  onRetry?: (info: RetryInfo) => void;
}

export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = Math.max(1, options.attempts ?? 3);
  const clock = options.clock ?? systemClock;
  const isRetryable = options.isRetryable ?? ((error) => !isAbort(error));
  const started = clock.now();
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= attempts || options.signal?.aborted || !isRetryable(error, attempt)) throw error;
      const delayMs = retryAfterMs(error, clock.now()) ?? backoffMs(attempt, options);
      if (options.budgetMs !== undefined && clock.now() + delayMs - started > options.budgetMs) throw error;
      options.onRetry?.({ attempt, delayMs, error });
      await clock.sleep(delayMs, options.signal);
    }
  }
}

/** The computed delay after failed attempt `attempt` (1-based). */
export function backoffMs(attempt: number, options: Pick<RetryOptions, 'baseMs' | 'maxMs' | 'jitter' | 'random'>) {
  const cap = Math.min(options.maxMs ?? 30_000, (options.baseMs ?? 500) * 2 ** (attempt - 1));
  if (options.jitter === false) return cap;
  return Math.floor((options.random ?? Math.random)() * cap);
}

/**
 * A `Retry-After` in ms from an error that carries one: `retryAfterMs` (number),
 * `retryAfter` (header text or seconds), or `headers` (a Headers or plain object).
 */
export function retryAfterMs(error: unknown, now: number): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const carrier = error as { retryAfterMs?: unknown; retryAfter?: unknown; headers?: unknown };
  if (typeof carrier.retryAfterMs === 'number') return Math.max(0, carrier.retryAfterMs);
  let header = carrier.retryAfter;
  if (header === undefined && carrier.headers !== undefined && carrier.headers !== null) {
    const headers = carrier.headers as { get?: (name: string) => string | null } & Record<string, unknown>;
    header =
      typeof headers.get === 'function'
        ? headers.get('retry-after')
        : (headers['retry-after'] ?? headers['Retry-After']);
  }
  return parseRetryAfter(header, now);
}

/** `Retry-After: 120` or `Retry-After: Wed, 21 Oct 2026 07:28:00 GMT` → ms from `now`. */
export function parseRetryAfter(value: unknown, now: number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value * 1000 : undefined;
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}
