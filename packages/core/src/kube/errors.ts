/**
 * A failed Kubernetes API call, carrying the server's `Status` (reason, code,
 * message) so callers can branch on `NotFound` or `Conflict` and users read
 * the API server's own words.
 */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  constructor(
    readonly method: string,
    readonly path: string,
    readonly code: number,
    /** The Status reason: NotFound, AlreadyExists, Conflict, Invalid, Gone, TooManyRequests, ... */
    readonly reason: string,
    readonly serverMessage: string,
    /** The Retry-After header, read by core/retry. */
    readonly retryAfter?: string,
  ) {
    super(`${method} ${path}: ${code} ${reason}: ${serverMessage}`);
  }
}

export function isNotFound(error: unknown): boolean {
  return error instanceof KubeApiError && error.code === 404;
}

export function isConflict(error: unknown): boolean {
  return error instanceof KubeApiError && error.code === 409 && error.reason === 'Conflict';
}

/** Worth another attempt: throttling, server trouble, or a connection that failed (never a 4xx the client caused). */
export function isTransient(error: unknown): boolean {
  if (error instanceof KubeApiError) return error.code === 429 || error.code >= 500;
  return isConnectionError(error);
}

/** fetch's "fetch failed" (cause: ECONNREFUSED, ECONNRESET, a TLS error) and socket errors carrying a code. */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error) || error.name === 'AbortError' || error.name === 'TimeoutError') return false;
  if (error instanceof TypeError && error.message === 'fetch failed') return true;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^(E[A-Z]+|UND_ERR_\w+)$/.test(code);
}
