/**
 * Run a parsed check spec: checks that use a capture wait for the check that
 * makes it, everything else runs concurrently (up to a limit); each check is
 * retried at an interval until it passes, its attempts run out or its total
 * timeout passes. All waiting goes through the given clock, so tests run
 * 30 × 10 s of retries in milliseconds on a virtual one.
 */
import { abortReason } from '../clock/sleep';
import { UserError } from '../errors';
import { formatDuration } from '../inputs/scalars';
import type { Clock, Logger } from '../runtime/port';
import { type AssertionResult, evaluate, takeCaptures } from './assertions';
import { SECRET_HEADER } from './parse';
import type { ServiceProxy } from './service-proxy';
import type { Check, CheckSpec } from './spec';
import { fillJson, fillTemplate } from './template';
import { type HttpResponse, httpRequest } from './transport';

export interface CheckDefaults {
  /** Attempts after the first (default 0). */
  retries: number;
  /** Wait between attempts (default 5 s). */
  retryIntervalMs: number;
  /** Limit for one attempt (default 10 s). */
  requestTimeoutMs: number;
  /** Limit for all attempts of one check (default: none besides the attempts). */
  timeoutMs: number | undefined;
  /** Checks in flight at once (default 8). */
  concurrency: number;
}

export const CHECK_DEFAULTS: CheckDefaults = {
  retries: 0,
  retryIntervalMs: 5_000,
  requestTimeoutMs: 10_000,
  timeoutMs: undefined,
  concurrency: 8,
};

export interface RunChecksOptions {
  clock: Clock;
  log: Logger;
  /** Register a secret with the runtime (header values like authorization, captured tokens). */
  mask: (secret: string) => void;
  signal?: AbortSignal;
  /** Needed by checks with `service:` targets. */
  serviceProxy?: ServiceProxy;
  /** The caller's defaults (e.g. the smoke action's `retries` input); the spec's `defaults:` win over them. */
  defaults?: Partial<CheckDefaults>;
  /** Values for `{{ name }}` besides captures (declare their names when parsing). */
  variables?: Record<string, string>;
  /** High-resolution time for latency (ms); default performance.now. */
  now?: () => number;
}

export interface CheckResult {
  name: string;
  outcome: 'passed' | 'failed' | 'skipped';
  /** `GET https://...` or `GET service prod/web:8080/healthz`. */
  request: string;
  attempts: number;
  /** Of the last attempt. */
  status: number | undefined;
  latencyMs: number | undefined;
  /** Of the last attempt that got a response. */
  assertions: AssertionResult[];
  /** Why it failed or was skipped, in one line. */
  error: string | undefined;
  /** Capture names it provided. */
  captured: string[];
  /** Virtual or real time from the first attempt to the verdict (ms). */
  elapsedMs: number;
}

export interface ChecksResult {
  passed: boolean;
  counts: { passed: number; failed: number; skipped: number };
  checks: CheckResult[];
  elapsedMs: number;
}

class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

export async function runChecks(spec: CheckSpec, options: RunChecksOptions): Promise<ChecksResult> {
  const { clock, log } = options;
  const settings: CheckDefaults = {
    ...CHECK_DEFAULTS,
    ...dropUndefined(options.defaults ?? {}),
    ...dropUndefined(spec.defaults),
  };
  const values = new Map<string, string>(Object.entries(options.variables ?? {}));
  // Refuse what cannot run before the first request goes out.
  const captured = new Set(spec.checks.flatMap((check) => check.captures.map((capture) => capture.name)));
  for (const check of spec.checks) {
    if (check.request.target.kind === 'service' && options.serviceProxy === undefined) {
      throw new UserError(
        `check '${check.name}' targets a Kubernetes service, but no cluster connection was given (set kubeconfig)`,
      );
    }
    const missing = check.uses.filter((name) => !captured.has(name) && !values.has(name));
    if (missing.length > 0) {
      throw new UserError(
        `check '${check.name}' uses {{ ${missing[0]} }}, but no check captures it and no value was given`,
      );
    }
  }
  const started = clock.now();
  const results = new Map<string, CheckResult>();
  const pending = [...spec.checks];
  const running = new Set<Promise<void>>();

  const startReady = () => {
    for (let i = 0; i < pending.length && running.size < settings.concurrency; ) {
      const check = pending[i]!;
      const deps = check.dependsOn.map((name) => results.get(name));
      if (deps.some((dep) => dep === undefined)) {
        i++;
        continue;
      }
      pending.splice(i, 1);
      const broken = deps.find((dep) => dep!.outcome !== 'passed');
      if (broken !== undefined) {
        results.set(
          check.name,
          skipped(check, `needs a capture from '${broken!.name}', which ${broken!.outcome}`, options, values),
        );
        log.info(`${check.name}: skipped (needs '${broken!.name}')`);
        i = 0; // skipping may unblock or skip others
        continue;
      }
      const task = runOne(check, settings, options, values).then((result) => {
        results.set(check.name, result);
        running.delete(task);
      });
      running.add(task);
    }
  };

  startReady();
  while (running.size > 0) {
    await Promise.race(running);
    startReady();
  }
  const checks = spec.checks.map((check) => results.get(check.name)!);
  const counts = {
    passed: checks.filter((c) => c.outcome === 'passed').length,
    failed: checks.filter((c) => c.outcome === 'failed').length,
    skipped: checks.filter((c) => c.outcome === 'skipped').length,
  };
  return { passed: counts.failed === 0 && counts.skipped === 0, counts, checks, elapsedMs: clock.now() - started };
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function describeRequest(check: Check, options: RunChecksOptions, values: ReadonlyMap<string, string>): string {
  const target = check.request.target;
  if (target.kind === 'url') return `${check.request.method} ${fillTemplate(target.url, values)}`;
  const namespace = target.namespace ?? options.serviceProxy?.defaultNamespace ?? 'default';
  return `${check.request.method} service ${namespace}/${target.service}:${target.port}${fillTemplate(target.path, values)}`;
}

function skipped(
  check: Check,
  why: string,
  options: RunChecksOptions,
  values: ReadonlyMap<string, string>,
): CheckResult {
  return {
    name: check.name,
    outcome: 'skipped',
    request: describeRequest(check, options, values),
    attempts: 0,
    status: undefined,
    latencyMs: undefined,
    assertions: [],
    error: why,
    captured: [],
    elapsedMs: 0,
  };
}

async function runOne(
  check: Check,
  settings: CheckDefaults,
  options: RunChecksOptions,
  values: Map<string, string>,
): Promise<CheckResult> {
  const { clock, log } = options;
  const retries = check.retries ?? settings.retries;
  const interval = check.retryIntervalMs ?? settings.retryIntervalMs;
  const perAttempt = check.requestTimeoutMs ?? settings.requestTimeoutMs;
  const total = check.timeoutMs ?? settings.timeoutMs;
  const started = clock.now();
  const deadline = total === undefined ? Number.POSITIVE_INFINITY : started + total;
  const result: CheckResult = { ...skipped(check, '', options, values), outcome: 'failed', error: undefined };
  const maxAttempts = retries + 1;

  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    options.signal?.throwIfAborted();
    result.attempts = attempt;
    const budget = Math.min(perAttempt, deadline - clock.now());
    const outcome = await attemptOnce(check, options, values, budget);
    if ('failure' in outcome) {
      result.error = outcome.failure;
      result.status = undefined;
      result.latencyMs = undefined;
    } else {
      result.status = outcome.response.status;
      result.latencyMs = Math.round(outcome.response.latencyMs);
      result.assertions = outcome.assertions;
      const failed = outcome.assertions.filter((a) => !a.passed);
      if (failed.length === 0) {
        const captured = takeCaptures(outcome.response, check.captures);
        if ('values' in captured) {
          for (const capture of check.captures) {
            const value = captured.values.get(capture.name)!;
            if (capture.secret) options.mask(value);
            values.set(capture.name, value);
          }
          result.captured = check.captures.map((c) => c.name);
          result.outcome = 'passed';
          result.error = undefined;
          result.elapsedMs = clock.now() - started;
          log.info(
            `${check.name}: passed (${result.status}, ${result.latencyMs}ms, attempt ${attempt}/${maxAttempts})`,
          );
          return result;
        }
        result.error = captured.problem;
      } else {
        result.error = failed.map((a) => `${a.label}: expected ${a.expected}, got ${a.actual}`).join('; ');
      }
    }
    const outOfTime = clock.now() + interval >= deadline;
    if (attempt === maxAttempts || outOfTime) {
      if (outOfTime && attempt < maxAttempts)
        result.error = `${result.error} (timeout ${formatDuration(total!)} reached)`;
      break;
    }
    log.info(
      `${check.name}: attempt ${attempt}/${maxAttempts} failed: ${result.error}; retrying in ${formatDuration(interval)}`,
    );
    await clock.sleep(interval, options.signal);
  }
  result.elapsedMs = clock.now() - started;
  log.error(`${check.name}: failed after ${result.attempts} attempt(s): ${result.error}`, {
    title: `smoke check ${check.name}`,
  });
  return result;
}

async function attemptOnce(
  check: Check,
  options: RunChecksOptions,
  values: ReadonlyMap<string, string>,
  budgetMs: number,
): Promise<{ response: HttpResponse; assertions: AssertionResult[] } | { failure: string }> {
  const request = check.request;
  const headers: Record<string, string> = {};
  for (const [name, raw] of Object.entries(request.headers)) {
    const value = fillTemplate(raw, values);
    if (SECRET_HEADER.test(name)) options.mask(value);
    headers[name] = value;
  }
  let body: string | undefined;
  if (request.body?.kind === 'json') {
    body = JSON.stringify(fillJson(request.body.value, values));
    if (!Object.keys(headers).some((name) => name.toLowerCase() === 'content-type'))
      headers['content-type'] = 'application/json';
  } else if (request.body?.kind === 'text') {
    body = fillTemplate(request.body.text, values);
  }

  // One attempt's limit, on the runner's clock; also stops when the run is cancelled.
  const controller = new AbortController();
  const stopTimer = new AbortController();
  const onOuterAbort = () => controller.abort(abortReason(options.signal!));
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  options.clock.sleep(Math.max(0, budgetMs), stopTimer.signal).then(
    () => controller.abort(new TimeoutError(`no response within ${Math.round(budgetMs)}ms`)),
    () => {},
  );
  try {
    const init = { method: request.method, headers, body, signal: controller.signal, now: options.now };
    const target = request.target;
    let response: HttpResponse;
    if (target.kind === 'url') {
      const url = fillTemplate(target.url, values);
      const parsed = new URL(url);
      if (parsed.password !== '') options.mask(decodeURIComponent(parsed.password));
      response = await httpRequest(url, { ...init, tls: check.tls, redirects: check.redirects });
    } else {
      const proxy = options.serviceProxy!;
      response = await proxy.request(
        {
          namespace: target.namespace ?? proxy.defaultNamespace,
          service: target.service,
          port: target.port,
          path: fillTemplate(target.path, values),
          scheme: target.scheme,
        },
        init,
      );
    }
    return { response, assertions: evaluate(response, check.expect) };
  } catch (error) {
    if (options.signal?.aborted) throw abortReason(options.signal);
    return { failure: error instanceof Error ? error.message : String(error) };
  } finally {
    stopTimer.abort();
    options.signal?.removeEventListener('abort', onOuterAbort);
  }
}
