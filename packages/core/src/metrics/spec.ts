/**
 * The `analysis` input: a YAML list of metrics (fields in actions/canary-promote/README.md, "Analysis metrics"). Every error
 * names the metric and the field, says what was wrong and shows an example.
 */

import { parse as parseYaml } from 'yaml';
import { UserError } from '../errors';
import { formatDuration, parseDuration } from '../inputs';
import { KUBERNETES_SIGNALS, type KubernetesSignal } from './kubernetes';
import { placeholdersIn } from './placeholders';

/**
 * Default confidence of count comparisons: the sequential test spends exactly α = 1 % over the
 * step, so at most 1 % of canaries that are no worse are aborted (bench/canary-analysis).
 */
export const DEFAULT_CONFIDENCE = 0.99;

export type ProviderKind = 'prometheus' | 'datadog' | 'web' | 'kubernetes';
export type NoDataPolicy = 'fail' | 'inconclusive' | 'pass';
export type CompareWith = 'stable' | 'baseline';

/** Where a query goes: everything a provider needs besides the query text. */
export interface ProviderConfig {
  kind: Exclude<ProviderKind, 'kubernetes'>;
  /** Base URL (Prometheus, Datadog site). Unused by `web`, whose query is the URL. */
  address: string | undefined;
  headers: Record<string, string>;
  /** `web`: where the number is in the JSON answer. */
  jsonPath: string | undefined;
  /** Datadog keys (masked by the caller before anything is logged). */
  apiKey: string | undefined;
  applicationKey: string | undefined;
}

interface MetricCommon {
  name: string;
  interval: number;
  onNoData: NoDataPolicy;
  /** Breaches in a row that fail the metric. */
  consecutive: number;
  /** Total breaches allowed; one more fails the metric. Undefined: only `consecutive` counts. */
  failureLimit: number | undefined;
}

/** A value checked against `max` / `min` at every interval. */
export interface ThresholdMetric extends MetricCommon {
  kind: 'threshold';
  provider: ProviderConfig;
  query: string;
  max: number | undefined;
  min: number | undefined;
}

/** Built-in Kubernetes signals of the canary pods, checked against `max`. */
export interface KubernetesMetric extends MetricCommon {
  kind: 'kubernetes';
  signal: KubernetesSignal;
  max: number;
}

/** One query evaluated for the canary and the control; the canary may exceed the control by `maxIncrease`. */
export interface ValueComparisonMetric extends MetricCommon {
  kind: 'compare-value';
  provider: ProviderConfig;
  compare: CompareWith;
  query: string;
  maxIncrease: Increase;
}

/** Event and request counts per version, judged by the exact sequential count test. */
export interface CountComparisonMetric extends MetricCommon {
  kind: 'compare-counts';
  provider: ProviderConfig;
  compare: CompareWith;
  errors: string;
  requests: string;
  /** Relative: the canary's rate may be this much above the control's (0.1 = 10 %). */
  maxIncrease: number;
  /** 1 − the bound on false aborts over the whole analysis. */
  confidence: number;
  /**
   * ms of the stable's own traffic before the canary started to estimate its rate from
   * (`stable-history`); undefined: the same window only.
   */
  stableHistory?: number;
}

export type MetricSpec = ThresholdMetric | KubernetesMetric | ValueComparisonMetric | CountComparisonMetric;

/** `10%` → relative 0.1; `0.05` → absolute 0.05 (in the metric's own unit). */
export type Increase = { relative: number } | { absolute: number };

export interface ParseOptions {
  /** Input name used in messages, default `analysis`. */
  input?: string;
  /** Default for `interval` (the `analysis-interval` input), default 10 s. */
  defaultInterval?: number;
  /** Default Prometheus/Datadog address when a metric gives none. */
  defaultAddress?: Partial<Record<ProviderKind, string>>;
  /** `on-no-data` for a metric that does not say (the action's `on-no-data` input); else by kind, below. */
  defaultOnNoData?: NoDataPolicy | undefined;
}

const EXAMPLE = `- name: error-rate
  provider: prometheus
  address: http://prometheus:9090
  query: (sum(rate(http_requests_total{version="{{canary}}",code=~"5.."}[1m])) or vector(0)) / sum(rate(http_requests_total{version="{{canary}}"}[1m]))
  max: 0.01
  consecutive: 2`;

const KNOWN_FIELDS = new Set([
  'name',
  'provider',
  'address',
  'url',
  'query',
  'errors',
  'requests',
  'json-path',
  'headers',
  'api-key',
  'application-key',
  'signal',
  'max',
  'min',
  'consecutive',
  'failure-limit',
  'interval',
  'compare',
  'max-increase',
  'confidence',
  'stable-history',
  'on-no-data',
]);

/** Parse YAML text (or an already-parsed value) into validated metric specs. */
export function parseAnalysisSpec(source: string | unknown, options: ParseOptions = {}): MetricSpec[] {
  const input = options.input ?? 'analysis';
  let value = source;
  if (typeof source === 'string') {
    try {
      value = parseYaml(source);
    } catch (error) {
      throw new UserError(`Input '${input}': not valid YAML: ${(error as Error).message.split('\n')[0]}`, {
        hint: `Example:\n${EXAMPLE}`,
      });
    }
  }
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value)) {
    throw new UserError(`Input '${input}': must be a YAML list of metrics (got ${describe(value)})`, {
      hint: `Example:\n${EXAMPLE}`,
    });
  }
  const names = new Set<string>();
  return value.map((item, index) => {
    const metric = parseMetric(item, index, input, options);
    if (names.has(metric.name)) {
      throw new UserError(`Input '${input}': two metrics are named '${metric.name}'; names must be unique`, {
        hint: 'Example: name: error-rate-canary',
      });
    }
    names.add(metric.name);
    return metric;
  });
}

function parseMetric(item: unknown, index: number, input: string, options: ParseOptions): MetricSpec {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    throw new UserError(
      `Input '${input}': item ${index + 1} must be a mapping with name, provider, query... (got ${describe(item)})`,
      {
        hint: `Example:\n${EXAMPLE}`,
      },
    );
  }
  const raw = item as Record<string, unknown>;
  const rawName = raw['name'];
  const label = typeof rawName === 'string' && rawName.trim() !== '' ? `metric '${rawName}'` : `metric ${index + 1}`;
  const fail = (field: string, problem: string, example: string): never => {
    const given = raw[field];
    const shown = given === undefined ? 'nothing' : JSON.stringify(given);
    throw new UserError(`Input '${input}', ${label}: field '${field}' ${problem} (got ${shown})`, {
      hint: `Example: ${field}: ${example}`,
    });
  };
  for (const field of Object.keys(raw)) {
    if (!KNOWN_FIELDS.has(field))
      fail(field, `is not a known field; known fields: ${[...KNOWN_FIELDS].join(', ')}`, '...');
  }
  const text = (field: string, example: string): string | undefined => {
    const value = raw[field];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string' || value.trim() === '') fail(field, 'must be a non-empty string', example);
    return (value as string).trim();
  };
  const number = (field: string, example: string): number | undefined => {
    const value = raw[field];
    if (value === undefined || value === null) return undefined;
    const parsed =
      typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
    if (!Number.isFinite(parsed)) fail(field, 'must be a number', example);
    return parsed;
  };
  const count = (field: string, min: number, example: string): number | undefined => {
    const value = number(field, example);
    if (value !== undefined && (!Number.isInteger(value) || value < min))
      fail(field, `must be a whole number >= ${min}`, example);
    return value;
  };
  const oneOf = <T extends string>(field: string, allowed: readonly T[], example: T): T | undefined => {
    const value = text(field, example);
    if (value !== undefined && !allowed.includes(value as T))
      fail(field, `must be one of ${allowed.join(', ')}`, example);
    return value as T | undefined;
  };

  const name = text('name', 'error-rate') ?? fail('name', 'is required', 'error-rate');
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name))
    fail('name', 'may hold only letters, digits, ".", "_" and "-"', 'error-rate');
  const provider =
    oneOf('provider', ['prometheus', 'datadog', 'web', 'kubernetes'] as const, 'prometheus') ?? 'prometheus';

  let interval = options.defaultInterval ?? 10_000;
  const intervalText = raw['interval'];
  if (intervalText !== undefined) {
    const parsed = typeof intervalText === 'string' ? parseDuration(intervalText) : undefined;
    if (parsed === undefined || parsed < 1_000)
      fail('interval', 'must be a duration of at least 1s with a unit', '10s');
    interval = parsed!;
  }
  const onNoDataGiven = oneOf('on-no-data', ['fail', 'inconclusive', 'pass'] as const, 'fail');
  const onNoDataSet = onNoDataGiven ?? options.defaultOnNoData;
  const onNoData = onNoDataSet ?? 'inconclusive';
  const consecutiveGiven = count('consecutive', 1, '2');
  const failureLimit = count('failure-limit', 0, '3');
  // With only a failure limit given, breaches in a row do not fail on their own.
  const consecutive = consecutiveGiven ?? (failureLimit === undefined ? 1 : Number.POSITIVE_INFINITY);
  const common = { name, interval, onNoData, consecutive, failureLimit };

  if (provider === 'kubernetes') {
    const signal =
      oneOf('signal', KUBERNETES_SIGNALS, 'restarts') ??
      fail('signal', `is required for provider kubernetes: one of ${KUBERNETES_SIGNALS.join(', ')}`, 'restarts');
    for (const field of ['query', 'compare', 'errors', 'requests', 'min']) {
      if (raw[field] !== undefined)
        fail(field, 'does not apply to provider kubernetes (it reads the canary pods)', '(remove it)');
    }
    const max = number('max', '2') ?? 0;
    return { kind: 'kubernetes', ...common, signal, max };
  }

  const address = text('address', 'http://prometheus:9090') ?? options.defaultAddress?.[provider];
  if (address !== undefined && !/^https?:\/\/[^\s]+$/.test(address))
    fail('address', 'must be an http:// or https:// URL', 'http://prometheus:9090');
  if (provider === 'prometheus' && address === undefined)
    fail('address', 'is required for provider prometheus', 'http://prometheus:9090');
  const headers = parseHeaders(raw['headers'], fail);
  const jsonPath = text('json-path', '$.data.value');
  if (provider === 'web' && jsonPath === undefined)
    fail('json-path', 'is required for provider web: where the number is in the JSON answer', '$.data.errorRate');
  const apiKey = text('api-key', '${{ secrets.DD_API_KEY }}');
  const applicationKey = text('application-key', '${{ secrets.DD_APP_KEY }}');
  if (provider === 'datadog' && apiKey === undefined)
    fail('api-key', 'is required for provider datadog', '${{ secrets.DD_API_KEY }}');
  if (provider === 'datadog' && applicationKey === undefined)
    fail('application-key', 'is required for provider datadog', '${{ secrets.DD_APP_KEY }}');
  const providerConfig: ProviderConfig = {
    kind: provider,
    address: address ?? (provider === 'datadog' ? 'https://api.datadoghq.com' : undefined),
    headers,
    jsonPath,
    apiKey,
    applicationKey,
  };

  const queryField = provider === 'web' ? 'url' : 'query';
  const queryExample =
    provider === 'web'
      ? 'https://status.example.com/api/errors?version={{canary}}'
      : 'sum(rate(http_requests_total{version="{{canary}}"}[1m]))';
  const query = text(queryField, queryExample);
  if (provider === 'web' && query !== undefined && !/^https?:\/\//.test(query))
    fail('url', 'must be an http:// or https:// URL', queryExample);
  const errors = text('errors', 'sum(increase(http_requests_total{version="{{version}}",code=~"5.."}[{{interval}}]))');
  const requests = text('requests', 'sum(increase(http_requests_total{version="{{version}}"}[{{interval}}]))');
  const compare = oneOf('compare', ['stable', 'baseline'] as const, 'stable');

  if (errors !== undefined || requests !== undefined) {
    if (compare === undefined)
      fail('compare', 'is required with errors/requests counts: what to compare the canary with', 'stable');
    if (errors === undefined)
      fail(
        'errors',
        'is required with requests: the count of failed (or slow) requests per version',
        'sum(increase(http_requests_total{version="{{version}}",code=~"5.."}[{{interval}}]))',
      );
    if (requests === undefined)
      fail(
        'requests',
        'is required with errors: the count of all requests per version',
        'sum(increase(http_requests_total{version="{{version}}"}[{{interval}}]))',
      );
    if (query !== undefined)
      fail(
        queryField,
        'cannot be combined with errors/requests: use either one value query or the two counts',
        '(remove it)',
      );
    for (const field of ['max', 'min'])
      if (raw[field] !== undefined) fail(field, 'does not apply to a count comparison; use max-increase', '10%');
    const increase = parseIncrease(raw['max-increase'], fail) ?? { relative: 0 };
    if (!('relative' in increase)) fail('max-increase', 'must be a percentage for a count comparison', '10%');
    const confidence = parsePercent(raw['confidence'], 'confidence', fail) ?? DEFAULT_CONFIDENCE;
    if (!(confidence >= 0.5 && confidence < 1)) fail('confidence', 'must be at least 50% and below 100%', '99%');
    const stableHistory = parseStableHistory(raw['stable-history'], compare!, provider, fail);
    return {
      kind: 'compare-counts',
      ...common,
      provider: providerConfig,
      compare: compare!,
      errors: errors!,
      requests: requests!,
      maxIncrease: (increase as { relative: number }).relative,
      confidence,
      ...(stableHistory === undefined ? {} : { stableHistory }),
    };
  }
  if (raw['stable-history'] !== undefined)
    fail('stable-history', 'applies to count comparisons only (errors and requests with compare: stable)', '30m');
  if (query === undefined) fail(queryField, `is required for provider ${provider}`, queryExample);
  if (compare !== undefined) {
    for (const field of ['max', 'min'])
      if (raw[field] !== undefined) fail(field, 'does not apply with compare; use max-increase', '10%');
    const maxIncrease =
      parseIncrease(raw['max-increase'], fail) ?? fail('max-increase', 'is required with compare', '10%');
    return { kind: 'compare-value', ...common, provider: providerConfig, compare, query: query!, maxIncrease };
  }
  if (raw['max-increase'] !== undefined) fail('max-increase', 'needs compare: stable or compare: baseline', '10%');
  const max = number('max', '0.01');
  const min = number('min', '0.99');
  if (max === undefined && min === undefined)
    fail('max', 'or min is required: the threshold the value must stay within', '0.01');
  if (max !== undefined && min !== undefined && min > max) fail('min', `must not be above max (${max})`, String(max));
  // An upper limit only (an error rate, a 5xx count): no series is a counter that has not moved, so it passes
  // unless on-no-data says otherwise. A lower limit (a success rate) or a quantile (a p99 latency: no series
  // means no request was measured) with no data stays inconclusive: no evidence is not a pass.
  const quantile = provider !== 'web' && measuresQuantile(query!);
  const noDataDefault = max !== undefined && min === undefined && !quantile ? 'pass' : 'inconclusive';
  return {
    kind: 'threshold',
    ...common,
    onNoData: onNoDataSet ?? noDataDefault,
    provider: providerConfig,
    query: query!,
    max,
    min,
  };
}

type Fail = (field: string, problem: string, example: string) => never;

/**
 * Whether a query reads a quantile (PromQL `histogram_quantile`, `quantile_over_time`, `quantile`; a Datadog
 * percentile aggregation such as `p99:`), whose empty answer is "nothing measured", not "zero".
 */
export function measuresQuantile(query: string): boolean {
  return (
    /\b(histogram_quantile|quantile_over_time|quantile)\s*\(/.test(query) || /(^|[\s(,])p\d{1,2}(\.\d+)?:/.test(query)
  );
}

/** Longest `stable-history`: a day back, the stable's rate is a different day's. */
const MAX_STABLE_HISTORY = 24 * 3_600_000;

/** `stable-history: 30m`: how far back before the canary the stable's own counts are read. */
function parseStableHistory(
  value: unknown,
  compare: CompareWith,
  provider: ProviderKind,
  fail: Fail,
): number | undefined {
  if (value === undefined || value === null) return undefined;
  const parsed = typeof value === 'string' ? parseDuration(value) : undefined;
  if (parsed === undefined || parsed < 60_000 || parsed > MAX_STABLE_HISTORY)
    fail('stable-history', 'must be a duration from 1m to 24h with a unit', '30m');
  if (compare !== 'stable')
    fail('stable-history', 'needs compare: stable (a baseline is started with the canary and has no history)', '30m');
  // Datadog's query API answers points per rollup bucket, not one count over the window: a summed
  // read would need its own tests against Datadog's API, so only Prometheus for now.
  if (provider !== 'prometheus')
    fail(
      'stable-history',
      'needs provider prometheus, whose increase(...[{{interval}}]) counts the whole history window (datadog and web are not supported)',
      '30m',
    );
  return parsed;
}

function parseHeaders(value: unknown, fail: Fail): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value))
    fail('headers', 'must be a mapping of header names to values', '{ Authorization: "Bearer ${{ secrets.TOKEN }}" }');
  const headers: Record<string, string> = {};
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (typeof item !== 'string' && typeof item !== 'number')
      fail('headers', `header '${key}' must be a string`, '{ X-Scope-OrgID: team-a }');
    headers[key] = String(item);
  }
  return headers;
}

/** `10%` → relative; a bare number → absolute (same unit as the query's value). */
export function parseIncrease(value: unknown, fail: Fail): Increase | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return { absolute: value };
  if (typeof value === 'string') {
    const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(%?)\s*$/.exec(value);
    if (match) return match[2] === '%' ? { relative: Number(match[1]) / 100 } : { absolute: Number(match[1]) };
  }
  return fail('max-increase', 'must be a percentage (10%) or a non-negative absolute number (0.005)', '10%');
}

function parsePercent(value: unknown, field: string, fail: Fail): number | undefined {
  if (value === undefined || value === null) return undefined;
  const match = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(value) : null;
  if (match) return Number(match[1]) / 100;
  if (typeof value === 'number' && value > 0 && value < 1) return value;
  return fail(field, 'must be a percentage like 99% (or a fraction like 0.99)', '99%');
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return JSON.stringify(value);
}

/** `10s` for messages and for the `{{interval}}` placeholder (PromQL accepts 1m30s). */
export function intervalText(ms: number): string {
  return formatDuration(ms);
}

/** Each metric name once (the first spec with it), in order: a plan lists a metric several steps share once. */
export function uniqueMetrics(metrics: readonly MetricSpec[]): MetricSpec[] {
  const seen = new Map<string, MetricSpec>();
  for (const metric of metrics) if (!seen.has(metric.name)) seen.set(metric.name, metric);
  return [...seen.values()];
}

/** Placeholders that stand for one version in a query. */
export const VERSION_PLACEHOLDERS = ['canary', 'stable', 'baseline', 'version'] as const;

/**
 * The metrics that read by version: a comparison (its control is one version), or a query using one of
 * `placeholders`. Kubernetes signals read each workload's own pods, so never.
 */
export function metricsByVersion(metrics: readonly MetricSpec[], placeholders: readonly string[]): MetricSpec[] {
  return metrics.filter(
    (metric) =>
      metric.kind !== 'kubernetes' &&
      ('compare' in metric || placeholdersIn(JSON.stringify(metric)).some((name) => placeholders.includes(name))),
  );
}
