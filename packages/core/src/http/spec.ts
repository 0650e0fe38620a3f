/**
 * The check spec: the typed form of the YAML that smoke, canary-promote's
 * preview checks, rollback's verification and pre-flight gates share.
 */
import type { StatusMatcher } from './status';

export interface SourcePosition {
  line: number;
  column: number;
}

/** Where a service lives, reached through the API server's service proxy. */
export interface ServiceTarget {
  kind: 'service';
  /** Undefined: the caller's default namespace. */
  namespace: string | undefined;
  service: string;
  /** A number or a named port. */
  port: string;
  /** Path with query, starting with `/`. May hold `{{ var }}` templates. */
  path: string;
  /** The scheme the service itself speaks (`https` proxies as `https:name:port`). */
  scheme: 'http' | 'https';
}

export type RequestTarget = { kind: 'url'; url: string } | ServiceTarget;

export type RequestBody = { kind: 'json'; value: unknown } | { kind: 'text'; text: string };

export interface CheckRequest {
  method: string;
  target: RequestTarget;
  /** Header name (as written) → value (may hold templates). */
  headers: Record<string, string>;
  body: RequestBody | undefined;
}

export type AssertionOperator = 'equals' | 'contains' | 'matches' | 'less-than' | 'greater-than' | 'exists';

/** One segment of a JSON path: a property name or an array index. */
export type PathSegment = string | number;

export interface Assertion {
  /** `json`: a path into the JSON body; `header`: a header name; `body`: the raw body text. */
  on: 'json' | 'header' | 'body';
  /** The path or header name as written (for the report). */
  subject: string;
  /** Parsed JSON path (json assertions only). */
  path: PathSegment[];
  operator: AssertionOperator;
  /** equals: any JSON value; contains: string or value; matches: the pattern text; less/greater: number; exists: boolean. */
  expected: unknown;
  at: SourcePosition;
}

export interface Expectations {
  status: StatusMatcher[];
  assertions: Assertion[];
  /** Fail when the response took this long or longer (ms). */
  latencyBelowMs: number | undefined;
}

export interface Capture {
  /** The variable later steps use as `{{ name }}`. */
  name: string;
  from: 'json' | 'header';
  /** The path or header name as written. */
  subject: string;
  path: PathSegment[];
  /** Register the captured value as a secret (default: true for tokens and all header captures). */
  secret: boolean;
  at: SourcePosition;
}

export interface TlsOptions {
  /** Skip certificate verification. */
  insecure: boolean;
  /** PEM text of the CA bundle to trust (read at parse time from the `ca` file or given inline). */
  ca: string | undefined;
  /** Client certificate and key (PEM), for API servers that authenticate by certificate. */
  cert?: string;
  key?: string;
}

export interface RedirectPolicy {
  follow: boolean;
  max: number;
}

/** Retry knobs; undefined fields fall back to the spec's `defaults:`, then the caller's. */
export interface RetryOptions {
  /** Attempts after the first one. */
  retries?: number;
  retryIntervalMs?: number;
  /** Limit for all attempts of the check together. */
  timeoutMs?: number;
  /** Limit for one attempt. */
  requestTimeoutMs?: number;
}

export interface Check extends RetryOptions {
  name: string;
  at: SourcePosition;
  request: CheckRequest;
  expect: Expectations;
  captures: Capture[];
  tls: TlsOptions;
  redirects: RedirectPolicy;
  /** Template variables this check reads. */
  uses: string[];
  /** Names of the checks whose captures it reads: it runs after them. */
  dependsOn: string[];
}

export interface CheckSpec {
  /** Where the spec came from (a file path or `inline`), for messages. */
  source: string;
  defaults: RetryOptions & { concurrency?: number };
  checks: Check[];
}
