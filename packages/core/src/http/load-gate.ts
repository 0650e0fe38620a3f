/**
 * The load gate: parse `load:` YAML, run it with the load generator, judge the
 * thresholds (p95, p99, error rate, achieved rate).
 */
import { readFileSync } from 'node:fs';
import type { Node } from 'yaml';
import { isScalar } from 'yaml';
import { UserError } from '../errors';
import { resolveInWorkspace } from '../inputs/files';
import { formatDuration } from '../inputs/scalars';
import { Histogram } from './histogram';
import { type LoadModel, type LoadTarget, runLoad } from './load';
import { loadYaml, parseService, plain, type Reader } from './parse';
import type { ServiceProxy } from './service-proxy';
import type { ServiceTarget } from './spec';
import { parseStatus, type StatusMatcher } from './status';

export interface LoadThresholds {
  p95Ms?: number;
  p99Ms?: number;
  /** Fraction 0..1 of requests allowed to fail. */
  errorRate?: number;
  /** Requests per second the run must achieve. */
  minRate?: number;
}

export interface LoadSpec {
  source: string;
  target: { kind: 'url'; url: string } | ServiceTarget;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
  model: LoadModel;
  durationMs: number;
  requestTimeoutMs: number;
  status: StatusMatcher[];
  insecure: boolean;
  ca: string | undefined;
  thresholds: LoadThresholds;
}

const KEYS = [
  'url',
  'service',
  'namespace',
  'scheme',
  'method',
  'headers',
  'body',
  'json',
  'rate',
  'connections',
  'duration',
  'timeout',
  'status',
  'insecure',
  'ca',
  'thresholds',
];
const EXAMPLE =
  'url: https://example.com/\nrate: 10000\nduration: 30s\nthresholds: { p99: 250ms, error-rate: 0.1%, min-rate: 10000 }';
/** Connections kept open in rate mode when none are given: enough for 10k req/s at a few ms each. */
const DEFAULT_RATE_CONNECTIONS = 64;

export function parseLoadSpec(text: string, options: { source?: string; workspace?: string } = {}): LoadSpec {
  const source = options.source ?? 'inline';
  const loaded = loadYaml(text, source);
  const reader: Reader = loaded.reader;
  const root = loaded.root;
  const e = reader.entries(root, 'load', KEYS, EXAMPLE);
  const get = (key: string) => e.get(key)?.value;
  const where = 'load';
  if (e.has('url') === e.has('service')) reader.fail(root, 'load needs exactly one of url or service', EXAMPLE);
  let target: LoadSpec['target'];
  if (e.has('url')) {
    const url = reader.string(get('url'), 'load: url', 'url: https://example.com/');
    let ok = false;
    try {
      ok = ['http:', 'https:'].includes(new URL(url).protocol);
    } catch {}
    if (!ok)
      reader.fail(
        get('url'),
        `load: url must be an absolute http(s) URL (got ${JSON.stringify(url)})`,
        'url: https://example.com/',
      );
    target = { kind: 'url', url };
  } else {
    target = parseService(reader, get('service') ?? null, e, where) as ServiceTarget;
  }
  const method = e.has('method') ? reader.string(get('method'), 'load: method', 'method: GET').toUpperCase() : 'GET';
  const headers: Record<string, string> = {};
  if (e.has('headers')) {
    for (const [name, value] of reader.pairs(
      get('headers') ?? null,
      'load: headers',
      'headers: { accept: application/json }',
    )) {
      headers[name] = reader.string(value, `load: header ${name}`, `${name}: value`);
    }
  }
  let body: string | undefined;
  if (e.has('json')) {
    body = JSON.stringify(plain(get('json')));
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
      headers['content-type'] = 'application/json';
  } else if (e.has('body')) {
    const node = get('body');
    body = isScalar(node) && typeof node.value === 'string' ? node.value : JSON.stringify(plain(node));
  }
  const rate = e.has('rate')
    ? positiveNumber(reader, get('rate'), 'load: rate (requests per second)', 'rate: 10000')
    : undefined;
  const connections = e.has('connections')
    ? reader.integer(get('connections'), 'load: connections', 1, 'connections: 64')
    : undefined;
  if (rate === undefined && connections === undefined) {
    reader.fail(root, 'load needs rate (requests per second, open model) or connections (closed model)', EXAMPLE);
  }
  const model: LoadModel =
    rate !== undefined
      ? { kind: 'rate', rate, connections: connections ?? DEFAULT_RATE_CONNECTIONS }
      : { kind: 'closed', connections: connections! };
  if (!e.has('duration')) reader.fail(root, 'load needs a duration', 'duration: 30s');
  const durationMs = reader.duration(get('duration'), 'load: duration', 'duration: 30s');
  if (durationMs <= 0) reader.fail(get('duration'), 'load: duration must be more than zero', 'duration: 30s');
  const requestTimeoutMs = e.has('timeout') ? reader.duration(get('timeout'), 'load: timeout', 'timeout: 10s') : 10_000;
  let status: StatusMatcher[] = [
    { kind: 'class', hundred: 2 },
    { kind: 'class', hundred: 3 },
  ];
  if (e.has('status')) {
    const node = get('status');
    const items: Array<Node | null | undefined> =
      node !== null && node !== undefined && 'items' in node ? (node.items as Node[]) : [node];
    status = items.map(
      (item) =>
        parseStatus(reader.scalar(item)) ??
        reader.fail(item, 'load: status must be a code or a class like 2xx', 'status: [200, 204]'),
    );
  }
  const insecure = e.has('insecure') ? reader.boolean(get('insecure'), 'load: insecure', 'insecure: true') : false;
  let ca: string | undefined;
  if (e.has('ca')) {
    const path = reader.string(get('ca'), 'load: ca', 'ca: certs/ca.pem');
    const resolved = resolveInWorkspace(path, options.workspace ?? process.cwd());
    if ('problem' in resolved) reader.fail(get('ca'), `load: ca file ${resolved.problem}`);
    try {
      ca = readFileSync(resolved.path, 'utf8');
    } catch (error) {
      reader.fail(
        get('ca'),
        `load: cannot read ca file ${JSON.stringify(path)} (${(error as NodeJS.ErrnoException).code})`,
      );
    }
  }
  const thresholds: LoadThresholds = {};
  if (e.has('thresholds')) {
    const example = 'thresholds: { p95: 100ms, p99: 250ms, error-rate: 1%, min-rate: 10000 }';
    const t = reader.entries(
      get('thresholds') ?? null,
      'load: thresholds',
      ['p95', 'p99', 'error-rate', 'min-rate'],
      example,
    );
    if (t.has('p95')) thresholds.p95Ms = reader.duration(t.get('p95')!.value, 'load: thresholds.p95', 'p95: 100ms');
    if (t.has('p99')) thresholds.p99Ms = reader.duration(t.get('p99')!.value, 'load: thresholds.p99', 'p99: 250ms');
    if (t.has('error-rate')) thresholds.errorRate = fraction(reader, t.get('error-rate')!.value);
    if (t.has('min-rate'))
      thresholds.minRate = positiveNumber(
        reader,
        t.get('min-rate')!.value,
        'load: thresholds.min-rate',
        'min-rate: 10000',
      );
  }
  return {
    source,
    target,
    method,
    headers,
    body,
    model,
    durationMs,
    requestTimeoutMs,
    status,
    insecure,
    ca,
    thresholds,
  };
}

function positiveNumber(reader: Reader, node: Node | null | undefined, what: string, example: string): number {
  const value = reader.scalar(node);
  const number = typeof value === 'string' ? Number(value.replace(/[_,]/g, '')) : value;
  if (typeof number !== 'number' || !(number > 0) || !Number.isFinite(number)) {
    reader.fail(node, `${what} must be a number above zero (got ${JSON.stringify(value ?? null)})`, example);
  }
  return number;
}

/** `1%`, `0.5%` or a fraction `0.01`. */
function fraction(reader: Reader, node: Node | null | undefined): number {
  const value = reader.scalar(node);
  const text = String(value ?? '').trim();
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(text);
  const number = percent !== null ? Number(percent[1]) / 100 : typeof value === 'number' ? value : Number.NaN;
  if (!(number >= 0 && number <= 1))
    reader.fail(
      node,
      `load: thresholds.error-rate must be a percentage like 1% or a fraction like 0.01 (got ${JSON.stringify(value ?? null)})`,
      'error-rate: 1%',
    );
  return number;
}

export interface ThresholdResult {
  name: string;
  expected: string;
  actual: string;
  passed: boolean;
}

export interface LoadGateResult {
  passed: boolean;
  request: string;
  /** `rate 10000/s, 64 connections` or `64 connections (closed)`. */
  model: string;
  durationMs: number;
  sent: number;
  responses: number;
  /** The responses the achieved rate counts (see achievedRate). */
  counted: number;
  /**
   * Open model: requests due within the duration but not sent by its end (every
   * connection busy: the target did not keep up). Closed model: responses after the end.
   */
  late: number;
  /** Requests that timed out or lost their socket. */
  unanswered: number;
  errors: number;
  errorRate: number;
  errorKinds: Record<string, number>;
  statusCounts: Record<string, number>;
  /**
   * Requests per second over the duration: open model, requests sent within it
   * and answered; closed model, responses completed within it.
   */
  achievedRate: number;
  latencyUs: {
    min: number;
    mean: number;
    p50: number;
    p90: number;
    p95: number;
    p99: number;
    p999: number;
    max: number;
  };
  thresholds: ThresholdResult[];
  /** Equal-width latency bins up to p99.9, for the chart. */
  chart: Array<{ fromUs: number; toUs: number; count: number }>;
}

/** Whole req/s, unless rounding would show a miss as the threshold itself (9999.5 as 10000). */
function showRate(rate: number, min: number): string {
  const whole = rate.toFixed(0);
  return rate < min && Number(whole) >= min ? (Math.floor(rate * 10) / 10).toFixed(1) : whole;
}

export interface RunLoadGateOptions {
  serviceProxy?: ServiceProxy;
  signal?: AbortSignal;
  /** Register secrets (header values) with the runtime. */
  mask?: (secret: string) => void;
}

export async function runLoadGate(spec: LoadSpec, options: RunLoadGateOptions = {}): Promise<LoadGateResult> {
  let target: LoadTarget;
  let request: string;
  if (spec.target.kind === 'url') {
    target = {
      url: spec.target.url,
      method: spec.method,
      headers: spec.headers,
      body: spec.body,
      insecure: spec.insecure,
      ca: spec.ca,
    };
    request = `${spec.method} ${spec.target.url}`;
  } else {
    const proxy = options.serviceProxy;
    if (proxy?.directTarget === undefined) {
      throw new UserError('load: a service target needs a cluster connection (set kubeconfig)');
    }
    const service = { ...spec.target, namespace: spec.target.namespace ?? proxy.defaultNamespace };
    const direct = proxy.directTarget(service);
    target = {
      url: direct.url,
      method: spec.method,
      headers: { ...spec.headers, ...direct.headers },
      body: spec.body,
      insecure: direct.insecure,
      ca: direct.ca,
      cert: direct.cert,
      key: direct.key,
    };
    request = `${spec.method} ${proxy.describe(service)}`;
  }
  for (const [name, value] of Object.entries(target.headers))
    if (/authorization|cookie|token|key/i.test(name)) options.mask?.(value);
  const run = await runLoad(
    {
      target,
      model: spec.model,
      durationMs: spec.durationMs,
      requestTimeoutMs: spec.requestTimeoutMs,
      expectStatus: spec.status,
    },
    options.signal,
  );
  const histogram = Histogram.fromSnapshot(run.latency);
  const attempts = run.responses + run.unanswered;
  const errorRate = attempts === 0 ? 1 : run.errors / attempts;
  // Not responses / wall time: the last response's latency would make `min-rate` equal to `rate` a coin toss.
  const achievedRate = (run.counted * 1000) / spec.durationMs;
  const latencyUs = {
    min: histogram.min,
    mean: Math.round(histogram.mean),
    p50: histogram.percentile(50),
    p90: histogram.percentile(90),
    p95: histogram.percentile(95),
    p99: histogram.percentile(99),
    p999: histogram.percentile(99.9),
    max: histogram.max,
  };
  const thresholds: ThresholdResult[] = [];
  const t = spec.thresholds;
  const showMs = (us: number) => `${(us / 1000).toFixed(2)}ms`;
  if (t.p95Ms !== undefined)
    thresholds.push({
      name: 'p95',
      expected: `≤ ${formatDuration(t.p95Ms)}`,
      actual: showMs(latencyUs.p95),
      passed: latencyUs.p95 <= t.p95Ms * 1000,
    });
  if (t.p99Ms !== undefined)
    thresholds.push({
      name: 'p99',
      expected: `≤ ${formatDuration(t.p99Ms)}`,
      actual: showMs(latencyUs.p99),
      passed: latencyUs.p99 <= t.p99Ms * 1000,
    });
  if (t.errorRate !== undefined) {
    thresholds.push({
      name: 'error-rate',
      expected: `≤ ${(t.errorRate * 100).toFixed(2)}%`,
      actual: `${(errorRate * 100).toFixed(2)}%`,
      passed: errorRate <= t.errorRate,
    });
  }
  if (t.minRate !== undefined) {
    thresholds.push({
      name: 'min-rate',
      expected: `≥ ${t.minRate} req/s`,
      actual: `${showRate(achievedRate, t.minRate)} req/s`,
      passed: achievedRate >= t.minRate,
    });
  }
  // A run with no answer at all is never a pass, thresholds or not.
  const passed = run.responses > 0 && thresholds.every((r) => r.passed);
  const model =
    spec.model.kind === 'rate'
      ? `rate ${spec.model.rate}/s, up to ${spec.model.connections} connections`
      : `${spec.model.connections} connections (closed)`;
  const chart = histogram.bins(20, latencyUs.p999).map((bin) => ({ fromUs: bin.from, toUs: bin.to, count: bin.count }));
  return {
    passed,
    request,
    model,
    durationMs: spec.durationMs,
    sent: run.sent,
    responses: run.responses,
    counted: run.counted,
    late: run.late,
    unanswered: run.unanswered,
    errors: run.errors,
    errorRate,
    errorKinds: run.errorKinds,
    statusCounts: run.statusCounts,
    achievedRate,
    latencyUs,
    thresholds,
    chart,
  };
}
