/**
 * One HTTP exchange for a check, over node:http / node:https. Chosen over the
 * global fetch (undici) because every check may carry its own TLS settings
 * (`insecure`, `ca`), which node:https takes per request while fetch needs a
 * dispatcher from the undici package; and because node:http lets us follow
 * redirects ourselves, read at most a bounded body, and abort on the runner's
 * virtual clock. Connections are not pooled: checks are few and retried
 * seconds apart, and no idle socket keeps the action's process alive.
 */
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import type { RedirectPolicy, TlsOptions } from './spec';

export interface HttpResponse {
  status: number;
  /** Lower-case names; repeated headers joined with `, ` (set-cookie with `\n`). */
  headers: Record<string, string>;
  body: Buffer;
  /** True when the body was longer than the limit and was cut. */
  truncated: boolean;
  /** The URL that answered (after redirects). */
  url: string;
  redirects: number;
  /** From the first byte sent to the last byte received, all redirects included (ms). */
  latencyMs: number;
}

export interface HttpRequestInit {
  method: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  tls?: TlsOptions;
  redirects?: RedirectPolicy;
  signal?: AbortSignal;
  /** Read at most this many body bytes (default 4 MiB); the rest is dropped. */
  maxBodyBytes?: number;
  /** High-resolution time source for latency (ms); default performance.now. */
  now?: () => number;
}

/** A request that got no HTTP response: connection refused, DNS, TLS, timeout, reset. */
export class RequestFailure extends Error {
  override readonly name = 'RequestFailure';
  readonly code: string | undefined;
  constructor(message: string, code: string | undefined, cause?: unknown) {
    super(message, { cause });
    this.code = code;
  }
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];

export async function httpRequest(url: string, init: HttpRequestInit): Promise<HttpResponse> {
  const now = init.now ?? (() => performance.now());
  const policy = init.redirects ?? { follow: true, max: 5 };
  const started = now();
  let current = new URL(url);
  let method = init.method;
  let body = init.body;
  let headers = { ...init.headers };
  for (let redirects = 0; ; redirects++) {
    const response = await exchange(current, method, headers, body, init);
    const location = response.headers.location;
    if (
      !policy.follow ||
      !REDIRECT_STATUSES.has(response.status) ||
      location === undefined ||
      redirects >= policy.max
    ) {
      return { ...response, url: current.toString(), redirects, latencyMs: now() - started };
    }
    const next = new URL(location, current);
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      return { ...response, url: current.toString(), redirects, latencyMs: now() - started };
    }
    // 303, and 301/302 after a POST, turn into a GET without a body (as browsers and curl -L do).
    if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === 'POST')) {
      method = method === 'HEAD' ? 'HEAD' : 'GET';
      body = undefined;
      headers = Object.fromEntries(Object.entries(headers).filter(([name]) => !/^content-(type|length)$/i.test(name)));
    }
    // Never hand credentials to another origin.
    if (next.origin !== current.origin) {
      headers = Object.fromEntries(
        Object.entries(headers).filter(([name]) => !CREDENTIAL_HEADERS.includes(name.toLowerCase())),
      );
    }
    current = next;
  }
}

function exchange(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: string | Buffer | undefined,
  init: HttpRequestInit,
): Promise<Omit<HttpResponse, 'url' | 'redirects' | 'latencyMs'>> {
  const limit = init.maxBodyBytes ?? 4 * 1024 * 1024;
  const secure = url.protocol === 'https:';
  const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body);
  const outgoing: Record<string, string> = { ...headers };
  if (payload !== undefined && !Object.keys(outgoing).some((name) => name.toLowerCase() === 'content-length')) {
    outgoing['content-length'] = String(payload.length);
  }
  const options: https.RequestOptions = {
    method,
    headers: outgoing,
    agent: false,
    signal: init.signal,
    ...(secure
      ? { rejectUnauthorized: init.tls?.insecure !== true, ca: init.tls?.ca, cert: init.tls?.cert, key: init.tls?.key }
      : {}),
  };
  return new Promise((resolve, reject) => {
    const fail = (error: unknown) => reject(describeFailure(error, url, init.signal));
    if (init.signal?.aborted) return fail(init.signal.reason);
    const request = (secure ? https : http).request(url, options, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      response.on('data', (chunk: Buffer) => {
        if (size >= limit) {
          truncated = true;
          return;
        }
        const room = limit - size;
        if (chunk.length > room) truncated = true;
        chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
        size += Math.min(chunk.length, room);
      });
      response.on('end', () => {
        const flat: Record<string, string> = {};
        for (const [name, value] of Object.entries(response.headers)) {
          if (value === undefined) continue;
          flat[name] = Array.isArray(value) ? value.join(name === 'set-cookie' ? '\n' : ', ') : value;
        }
        resolve({ status: response.statusCode ?? 0, headers: flat, body: Buffer.concat(chunks), truncated });
      });
      response.on('error', fail);
    });
    request.on('error', fail);
    request.end(payload);
  });
}

function describeFailure(error: unknown, url: URL, signal: AbortSignal | undefined): RequestFailure {
  if (error instanceof RequestFailure) return error;
  const where = `${url.protocol}//${url.host}`;
  if (signal?.aborted) {
    const reason = signal.reason as Error | undefined;
    const code = reason?.name === 'TimeoutError' ? 'ETIMEDOUT' : 'ABORTED';
    return new RequestFailure(`${reason?.message ?? 'aborted'} (${where})`, code, error);
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const message = (error as Error | undefined)?.message ?? String(error);
  return new RequestFailure(`${message}${message.includes(url.host) ? '' : ` (${where})`}`, code, error);
}
