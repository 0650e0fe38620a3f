/**
 * Parse the check spec (YAML or JSON) into a typed CheckSpec, or throw a
 * CheckSpecError naming the line and column. Everything a run could trip on
 * (unknown keys, bad statuses, invalid regexes, JSON paths, templates that
 * name no capture, dependency cycles, missing CA files) is refused here, so a
 * bad spec fails before any request is sent.
 */
import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, type Node, type Pair, parseDocument, type YAMLMap } from 'yaml';
import { UserError } from '../errors';
import { resolveInWorkspace } from '../inputs/files';
import { parseDuration } from '../inputs/scalars';
import { parseJsonPath } from './json-path';
import type {
  Assertion,
  AssertionOperator,
  Capture,
  Check,
  CheckRequest,
  CheckSpec,
  Expectations,
  RedirectPolicy,
  RequestBody,
  RequestTarget,
  RetryOptions,
  SourcePosition,
  TlsOptions,
} from './spec';
import { parseStatus, type StatusMatcher } from './status';
import { templateNames } from './template';

export class CheckSpecError extends UserError {
  readonly source: string;
  readonly line: number;
  readonly column: number;
  constructor(source: string, at: SourcePosition, problem: string, example?: string) {
    super(
      `${source}:${at.line}:${at.column}: ${problem}`,
      example === undefined ? undefined : { hint: `Example: ${example}` },
    );
    this.source = source;
    this.line = at.line;
    this.column = at.column;
  }
}

export interface ParseCheckSpecOptions {
  /** A file path or `inline`, shown in errors. */
  source?: string;
  /** Root for `ca:` file paths (they must stay inside it); default cwd. */
  workspace?: string;
  /** Template variables the caller provides besides captures (e.g. `version` from canary-promote). */
  variables?: readonly string[];
  /** Name of the input that held the spec, to say where a problem is (e.g. `spec`). */
  input?: string;
}

const CHECK_KEYS = [
  'name',
  'request',
  'expect',
  'capture',
  'retries',
  'retry-interval',
  'timeout',
  'request-timeout',
  'insecure',
  'ca',
  'redirects',
];
const REQUEST_KEYS = ['method', 'url', 'service', 'namespace', 'scheme', 'headers', 'body', 'json'];
const EXPECT_KEYS = ['status', 'json', 'headers', 'body', 'latency-below'];
const OPERATORS: AssertionOperator[] = ['equals', 'contains', 'matches', 'less-than', 'greater-than', 'exists'];
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
/** Header names whose values are secrets. */
export const SECRET_HEADER =
  /^(authorization|proxy-authorization|cookie|set-cookie|x-api-key|api-key|x-auth-token)$|token|secret/i;

const EXAMPLE_CHECK = `- name: health
  request: { url: https://example.com/healthz }
  expect: { status: 200 }`;

export class Reader {
  private readonly lines: LineCounter;
  constructor(
    readonly source: string,
    lines: LineCounter,
  ) {
    this.lines = lines;
  }

  at(node: Node | Pair | null | undefined): SourcePosition {
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    const key = (node as Pair | null | undefined)?.key as Node | undefined;
    const offset = range?.[0] ?? key?.range?.[0] ?? 0;
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }

  fail(node: Node | Pair | null | undefined, problem: string, example?: string): never {
    throw new CheckSpecError(this.source, this.at(node), problem, example);
  }

  /** The entries of a mapping, refusing keys not in `known`. */
  entries(
    node: Node | null,
    what: string,
    known: readonly string[],
    example: string,
  ): Map<string, Pair<Node, Node | null>> {
    if (!isMap(node)) this.fail(node, `${what} must be a mapping`, example);
    const out = new Map<string, Pair<Node, Node | null>>();
    for (const pair of (node as YAMLMap<Node, Node | null>).items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (key === undefined) this.fail(pair.key, `${what} has a key that is not a plain name`, example);
      if (!known.includes(key)) {
        this.fail(pair.key, `${what} has an unknown key '${key}' (known: ${known.join(', ')})`, example);
      }
      if (out.has(key)) this.fail(pair.key, `${what} has '${key}' twice`);
      out.set(key, pair);
    }
    return out;
  }

  /** Free-form mapping (headers, captures): name → value node. */
  pairs(node: Node | null, what: string, example: string): Array<[string, Node | null, Pair<Node, Node | null>]> {
    if (!isMap(node)) this.fail(node, `${what} must be a mapping`, example);
    return (node as YAMLMap<Node, Node | null>).items.map((pair) => {
      if (!isScalar(pair.key)) this.fail(pair.key, `${what} has a key that is not a plain name`, example);
      return [String(pair.key.value), pair.value, pair];
    });
  }

  scalar(node: Node | null | undefined): unknown {
    return isScalar(node) ? node.value : undefined;
  }

  string(node: Node | null | undefined, what: string, example: string): string {
    const value = this.scalar(node);
    if (typeof value === 'string' && value.trim() !== '') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    return this.fail(node, `${what} must be a non-empty text`, example);
  }

  integer(node: Node | null | undefined, what: string, min: number, example: string): number {
    const value = this.scalar(node);
    const number = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
    if (typeof number !== 'number' || !Number.isInteger(number) || number < min) {
      this.fail(
        node,
        `${what} must be a whole number of at least ${min} (got ${JSON.stringify(value ?? null)})`,
        example,
      );
    }
    return number;
  }

  boolean(node: Node | null | undefined, what: string, example: string): boolean {
    const value = this.scalar(node);
    if (typeof value === 'boolean') return value;
    if (value === 'true' || value === 'false') return value === 'true';
    return this.fail(node, `${what} must be true or false (got ${JSON.stringify(value ?? null)})`, example);
  }

  duration(node: Node | null | undefined, what: string, example: string): number {
    const value = this.scalar(node);
    const ms = typeof value === 'string' ? parseDuration(value) : value === 0 ? 0 : undefined;
    if (ms === undefined) {
      this.fail(
        node,
        `${what} must be a duration with a unit like 500ms, 10s or 5m (got ${JSON.stringify(value ?? null)})`,
        example,
      );
    }
    return ms;
  }
}

export function plain(node: Node | null | undefined): unknown {
  return node === null || node === undefined ? null : node.toJSON();
}

/** Parse YAML text into a document root, turning syntax errors into CheckSpecErrors. */
export function loadYaml(text: string, source: string): { root: Node | null; reader: Reader } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: false });
  const error = doc.errors[0];
  if (error !== undefined) {
    const pos = error.linePos?.[0];
    throw new CheckSpecError(
      source,
      { line: pos?.line ?? 1, column: pos?.col ?? 1 },
      `not valid YAML: ${error.message.replace(/ at line \d+, column \d+:[\s\S]*$/, '')}`,
    );
  }
  return { root: doc.contents as Node | null, reader: new Reader(source, lines) };
}

export function parseCheckSpec(text: string, options: ParseCheckSpecOptions = {}): CheckSpec {
  const source = options.source ?? 'inline';
  const loaded = loadYaml(text, source);
  const root = loaded.root;
  const reader: Reader = loaded.reader;
  let checksNode: Node | null = root;
  let defaults: CheckSpec['defaults'] = {};
  if (isMap(root)) {
    const top = reader.entries(root, 'the spec', ['defaults', 'checks'], `checks:\n${EXAMPLE_CHECK}`);
    const defaultsPair = top.get('defaults');
    if (defaultsPair !== undefined) defaults = parseDefaults(reader, defaultsPair.value);
    const checksPair = top.get('checks');
    if (checksPair === undefined) reader.fail(root, 'the spec has no checks', `checks:\n${EXAMPLE_CHECK}`);
    checksNode = checksPair.value;
  }
  if (!isSeq(checksNode) || checksNode.items.length === 0) {
    reader.fail(checksNode ?? root, 'the checks must be a non-empty list', EXAMPLE_CHECK);
  }
  const workspace = options.workspace ?? process.cwd();
  const checks = (checksNode.items as Array<Node | null>).map((item, index) =>
    parseCheck(reader, item, index, workspace),
  );
  linkCaptures(reader, checksNode.items as Node[], checks, new Set(options.variables ?? []));
  return { source, defaults, checks };
}

function parseDefaults(reader: Reader, node: Node | null): CheckSpec['defaults'] {
  const keys = ['retries', 'retry-interval', 'timeout', 'request-timeout', 'concurrency'];
  const entries = reader.entries(node, 'defaults', keys, 'defaults: { retries: 30, retry-interval: 10s }');
  const out: CheckSpec['defaults'] = parseRetry(reader, entries, 'defaults');
  const concurrency = entries.get('concurrency');
  if (concurrency !== undefined)
    out.concurrency = reader.integer(concurrency.value, 'defaults.concurrency', 1, 'concurrency: 4');
  return out;
}

function parseRetry(reader: Reader, entries: Map<string, Pair<Node, Node | null>>, where: string): RetryOptions {
  const out: RetryOptions = {};
  const retries = entries.get('retries');
  if (retries !== undefined) out.retries = reader.integer(retries.value, `${where}: retries`, 0, 'retries: 30');
  const interval = entries.get('retry-interval');
  if (interval !== undefined)
    out.retryIntervalMs = reader.duration(interval.value, `${where}: retry-interval`, 'retry-interval: 10s');
  const timeout = entries.get('timeout');
  if (timeout !== undefined) out.timeoutMs = reader.duration(timeout.value, `${where}: timeout`, 'timeout: 5m');
  const perRequest = entries.get('request-timeout');
  if (perRequest !== undefined) {
    out.requestTimeoutMs = reader.duration(perRequest.value, `${where}: request-timeout`, 'request-timeout: 10s');
  }
  return out;
}

function parseCheck(reader: Reader, node: Node | null, index: number, workspace: string): Check {
  // read the name first so every later message can say which check it is about
  const namePair = isMap(node)
    ? (node as YAMLMap<Node, Node | null>).items.find((p) => isScalar(p.key) && p.key.value === 'name')
    : undefined;
  const name =
    namePair === undefined
      ? `check ${index + 1}`
      : reader.string(namePair.value, `check ${index + 1}: name`, 'name: health');
  const where = namePair === undefined ? name : `check '${name}'`;
  const entries = reader.entries(node, where, CHECK_KEYS, EXAMPLE_CHECK);
  const requestPair = entries.get('request');
  if (requestPair === undefined) reader.fail(node, `${where} has no request`, EXAMPLE_CHECK);
  const request = parseRequest(reader, requestPair.value, where);
  const expectPair = entries.get('expect');
  const expect = expectPair === undefined ? defaultExpectations() : parseExpect(reader, expectPair.value, where);
  const capturePair = entries.get('capture');
  const captures = capturePair === undefined ? [] : parseCaptures(reader, capturePair.value, where);
  const tls: TlsOptions = { insecure: false, ca: undefined };
  const insecure = entries.get('insecure');
  if (insecure !== undefined) tls.insecure = reader.boolean(insecure.value, `${where}: insecure`, 'insecure: true');
  const ca = entries.get('ca');
  if (ca !== undefined) tls.ca = readCa(reader, ca.value, where, workspace);
  const redirectsPair = entries.get('redirects');
  const redirects =
    redirectsPair === undefined ? { follow: true, max: 5 } : parseRedirects(reader, redirectsPair.value, where);
  const check: Check = {
    name,
    at: reader.at(node),
    request,
    expect,
    captures,
    tls,
    redirects,
    uses: [],
    dependsOn: [],
    ...parseRetry(reader, entries, where),
  };
  return check;
}

function defaultExpectations(): Expectations {
  return { status: [{ kind: 'class', hundred: 2 }], assertions: [], latencyBelowMs: undefined };
}

function parseRequest(reader: Reader, node: Node | null, where: string): CheckRequest {
  const example = 'request: { method: GET, url: https://example.com/healthz }';
  const entries = reader.entries(node, `${where}: request`, REQUEST_KEYS, example);
  const methodPair = entries.get('method');
  const method =
    methodPair === undefined
      ? 'GET'
      : reader.string(methodPair.value, `${where}: method`, 'method: POST').toUpperCase();
  if (!METHODS.includes(method))
    reader.fail(methodPair!.value, `${where}: method must be one of ${METHODS.join(', ')}`, 'method: POST');
  const url = entries.get('url');
  const service = entries.get('service');
  if ((url === undefined) === (service === undefined)) {
    reader.fail(
      node,
      `${where}: request needs exactly one of url or service`,
      `${example}\n# or: request: { service: web:8080/healthz, namespace: prod }`,
    );
  }
  let target: RequestTarget;
  if (url !== undefined) {
    const text = reader.string(url.value, `${where}: url`, 'url: https://example.com/healthz');
    // templates may fill the host, so check the shape with placeholders
    let parsed: URL | undefined;
    try {
      parsed = new URL(text.replace(/\{\{[^}]*\}\}/g, 'x'));
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || !['http:', 'https:'].includes(parsed.protocol)) {
      reader.fail(
        url.value,
        `${where}: url must be an absolute http(s) URL (got ${JSON.stringify(text)})`,
        'url: https://example.com/healthz',
      );
    }
    for (const key of ['namespace', 'scheme']) {
      if (entries.has(key)) reader.fail(entries.get(key)!.key, `${where}: ${key} only goes with service, not url`);
    }
    target = { kind: 'url', url: text };
  } else {
    target = parseService(reader, service!.value, entries, where);
  }
  const headers: Record<string, string> = {};
  const headersPair = entries.get('headers');
  if (headersPair !== undefined) {
    for (const [name, value] of reader.pairs(
      headersPair.value,
      `${where}: headers`,
      'headers: { accept: application/json }',
    )) {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name))
        reader.fail(headersPair.value, `${where}: '${name}' is not a valid header name`);
      headers[name] = reader.string(value, `${where}: header ${name}`, `${name}: some-value`);
    }
  }
  let body: RequestBody | undefined;
  const bodyPair = entries.get('body');
  const jsonPair = entries.get('json');
  if (bodyPair !== undefined && jsonPair !== undefined)
    reader.fail(jsonPair.key, `${where}: give body or json, not both`);
  if (jsonPair !== undefined) body = { kind: 'json', value: plain(jsonPair.value) };
  else if (bodyPair !== undefined) {
    const value = bodyPair.value;
    body =
      isScalar(value) && typeof value.value === 'string'
        ? { kind: 'text', text: value.value }
        : { kind: 'json', value: plain(value) };
  }
  if (body !== undefined && (method === 'GET' || method === 'HEAD')) {
    reader.fail((bodyPair ?? jsonPair)!.key, `${where}: a ${method} request cannot have a body`, 'method: POST');
  }
  return { method, target, headers, body };
}

export function parseService(
  reader: Reader,
  node: Node | null,
  entries: Map<string, Pair<Node, Node | null>>,
  where: string,
): RequestTarget {
  const example = 'service: web:8080/healthz   # or prod/web:http/healthz';
  const text = reader.string(node, `${where}: service`, example);
  const match =
    /^(?:([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/)?([a-z0-9]([-a-z0-9]*[a-z0-9])?):([0-9]{1,5}|[a-z0-9][-a-z0-9]*)(\/.*)?$/.exec(
      text.trim(),
    );
  if (match === null)
    reader.fail(node, `${where}: service must look like name:port/path (got ${JSON.stringify(text)})`, example);
  let namespace = match[1];
  const nsPair = entries.get('namespace');
  if (nsPair !== undefined) {
    if (namespace !== undefined)
      reader.fail(nsPair.key, `${where}: the namespace is given twice (in service and namespace)`);
    namespace = reader.string(nsPair.value, `${where}: namespace`, 'namespace: prod');
  }
  const schemePair = entries.get('scheme');
  const scheme =
    schemePair === undefined ? 'http' : reader.string(schemePair.value, `${where}: scheme`, 'scheme: https');
  if (scheme !== 'http' && scheme !== 'https')
    reader.fail(schemePair!.value, `${where}: scheme must be http or https`, 'scheme: https');
  return { kind: 'service', namespace, service: match[3]!, port: match[5]!, path: match[6] ?? '/', scheme };
}

function parseRedirects(reader: Reader, node: Node | null, where: string): RedirectPolicy {
  const example = 'redirects: { follow: true, max: 5 }   # or redirects: false';
  const value = reader.scalar(node);
  if (typeof value === 'boolean') return { follow: value, max: value ? 5 : 0 };
  const entries = reader.entries(node, `${where}: redirects`, ['follow', 'max'], example);
  const follow = entries.has('follow')
    ? reader.boolean(entries.get('follow')!.value, `${where}: redirects.follow`, example)
    : true;
  const max = entries.has('max') ? reader.integer(entries.get('max')!.value, `${where}: redirects.max`, 0, example) : 5;
  return { follow, max };
}

function readCa(reader: Reader, node: Node | null, where: string, workspace: string): string {
  const text = reader.string(node, `${where}: ca`, 'ca: certs/internal-ca.pem');
  if (text.includes('-----BEGIN')) return text;
  const resolved = resolveInWorkspace(text, workspace);
  if ('problem' in resolved) reader.fail(node, `${where}: ca file ${JSON.stringify(text)} ${resolved.problem}`);
  try {
    const pem = readFileSync(resolved.path, 'utf8');
    if (!pem.includes('-----BEGIN'))
      reader.fail(node, `${where}: ca file ${JSON.stringify(text)} holds no PEM certificate`);
    return pem;
  } catch (error) {
    if (error instanceof CheckSpecError) throw error;
    return reader.fail(
      node,
      `${where}: cannot read ca file ${JSON.stringify(text)} (${(error as NodeJS.ErrnoException).code ?? error})`,
      'ca: certs/internal-ca.pem',
    );
  }
}

function parseExpect(reader: Reader, node: Node | null, where: string): Expectations {
  const example = 'expect: { status: 200, json: [{ path: $.status, equals: ok }], latency-below: 500ms }';
  const entries = reader.entries(node, `${where}: expect`, EXPECT_KEYS, example);
  const out = defaultExpectations();
  const status = entries.get('status');
  if (status !== undefined) out.status = parseStatuses(reader, status.value, where);
  const latency = entries.get('latency-below');
  if (latency !== undefined)
    out.latencyBelowMs = reader.duration(latency.value, `${where}: latency-below`, 'latency-below: 500ms');
  const json = entries.get('json');
  if (json !== undefined) out.assertions.push(...parseAssertions(reader, json.value, 'json', where));
  const headers = entries.get('headers');
  if (headers !== undefined) out.assertions.push(...parseAssertions(reader, headers.value, 'header', where));
  const body = entries.get('body');
  if (body !== undefined) {
    const value = reader.scalar(body.value);
    if (typeof value === 'string')
      out.assertions.push(assertion(reader, 'body', 'body', body.value, 'contains', body.value, where));
    else {
      const ops = reader.entries(
        body.value,
        `${where}: expect.body`,
        ['contains', 'matches', 'equals'],
        'body: { contains: ok }',
      );
      for (const [op, pair] of ops)
        out.assertions.push(assertion(reader, 'body', 'body', pair.value, op as AssertionOperator, pair, where));
    }
  }
  return out;
}

function parseStatuses(reader: Reader, node: Node | null, where: string): StatusMatcher[] {
  const example = 'status: 200   # or [200, 204], or 2xx';
  const items = isSeq(node) ? (node.items as Array<Node | null>) : [node];
  if (items.length === 0) reader.fail(node, `${where}: status list is empty`, example);
  return items.map((item) => {
    const matcher = parseStatus(reader.scalar(item));
    if (matcher === undefined) {
      reader.fail(
        item,
        `${where}: status must be a code 100-599 or a class like 2xx (got ${JSON.stringify(plain(item))})`,
        example,
      );
    }
    return matcher;
  });
}

/**
 * Assertions in either form:
 * - list: `- { path: $.status, equals: ok }` (json) / `- { name: cache-control, contains: max-age }` (headers)
 * - map:  `$.status: ok` / `content-type: { contains: json }`: a plain value means equals.
 */
function parseAssertions(reader: Reader, node: Node | null, on: 'json' | 'header', where: string): Assertion[] {
  const subjectKey = on === 'json' ? 'path' : 'name';
  const example =
    on === 'json'
      ? 'json: [{ path: $.status, equals: ok }, { path: $.items, exists: true }]'
      : 'headers: { content-type: { contains: json } }';
  const out: Assertion[] = [];
  if (isSeq(node)) {
    for (const item of node.items as Array<Node | null>) {
      const entries = reader.entries(item, `${where}: ${on} assertion`, [subjectKey, ...OPERATORS], example);
      const subjectPair = entries.get(subjectKey);
      if (subjectPair === undefined) reader.fail(item, `${where}: ${on} assertion needs a ${subjectKey}`, example);
      const subject = reader.string(subjectPair.value, `${where}: ${subjectKey}`, example);
      const ops = [...entries].filter(([key]) => key !== subjectKey);
      if (ops.length === 0)
        reader.fail(item, `${where}: ${on} assertion on ${subject} needs one of ${OPERATORS.join(', ')}`, example);
      for (const [op, pair] of ops)
        out.push(assertion(reader, on, subject, subjectPair.value, op as AssertionOperator, pair, where));
    }
    return out;
  }
  for (const [subject, value, pair] of reader.pairs(
    node,
    `${where}: expect.${on === 'json' ? 'json' : 'headers'}`,
    example,
  )) {
    if (isMap(value)) {
      const ops = reader.entries(value, `${where}: ${on} assertion on ${subject}`, OPERATORS, example);
      if (ops.size === 0)
        reader.fail(value, `${where}: ${on} assertion on ${subject} needs one of ${OPERATORS.join(', ')}`, example);
      for (const [op, opPair] of ops)
        out.push(assertion(reader, on, subject, pair.key, op as AssertionOperator, opPair, where));
    } else {
      out.push(assertion(reader, on, subject, pair.key, 'equals', pair, where));
    }
  }
  return out;
}

function assertion(
  reader: Reader,
  on: Assertion['on'],
  subject: string,
  subjectNode: Node | Pair | null,
  operator: AssertionOperator,
  valueAt: Pair<Node, Node | null> | Node | null,
  where: string,
): Assertion {
  const valueNode =
    valueAt !== null && 'value' in valueAt && 'key' in valueAt
      ? (valueAt.value as Node | null)
      : (valueAt as Node | null);
  const at = reader.at(valueNode ?? (valueAt as Node));
  let path: Assertion['path'] = [];
  if (on === 'json') {
    const parsed = parseJsonPath(subject);
    if ('problem' in parsed)
      reader.fail(
        subjectNode,
        `${where}: JSON path ${JSON.stringify(subject)} ${parsed.problem}`,
        'path: $.items[0].id',
      );
    path = parsed.path;
  }
  const expected = plain(valueNode);
  const label = `${where}: ${on === 'body' ? 'body' : `${on} ${subject}`} ${operator}`;
  switch (operator) {
    case 'matches': {
      if (typeof expected !== 'string')
        reader.fail(valueNode, `${label} needs a regular expression text`, 'matches: ^v1\\.');
      try {
        new RegExp(expected);
      } catch (error) {
        reader.fail(valueNode, `${label}: invalid regular expression (${(error as Error).message})`, 'matches: ^v1\\.');
      }
      break;
    }
    case 'less-than':
    case 'greater-than':
      if (typeof expected !== 'number')
        reader.fail(valueNode, `${label} needs a number (got ${JSON.stringify(expected)})`, `${operator}: 100`);
      break;
    case 'exists':
      if (typeof expected !== 'boolean')
        reader.fail(valueNode, `${label} needs true or false (got ${JSON.stringify(expected)})`, 'exists: true');
      break;
    case 'contains':
      if (on !== 'json' && typeof expected !== 'string')
        reader.fail(valueNode, `${label} needs a text`, 'contains: json');
      break;
    case 'equals':
      if (on !== 'json' && typeof expected !== 'string' && typeof expected !== 'number') {
        reader.fail(valueNode, `${label} needs a text`, 'equals: no-cache');
      }
      break;
  }
  return {
    on,
    subject,
    path,
    operator,
    expected: on !== 'json' && typeof expected === 'number' ? String(expected) : expected,
    at,
  };
}

function parseCaptures(reader: Reader, node: Node | null, where: string): Capture[] {
  const example = 'capture: { token: $.access_token, session: { header: set-cookie } }';
  return reader.pairs(node, `${where}: capture`, example).map(([name, value, pair]) => {
    if (!/^[A-Za-z_][\w-]*$/.test(name))
      reader.fail(pair.key, `${where}: capture name ${JSON.stringify(name)} must be letters, digits, _ or -`, example);
    let from: Capture['from'] = 'json';
    let subject: string;
    let secret: boolean | undefined;
    if (isMap(value)) {
      const entries = reader.entries(value, `${where}: capture ${name}`, ['json', 'header', 'secret'], example);
      const json = entries.get('json');
      const header = entries.get('header');
      if ((json === undefined) === (header === undefined))
        reader.fail(value, `${where}: capture ${name} needs exactly one of json or header`, example);
      from = json !== undefined ? 'json' : 'header';
      subject = reader.string((json ?? header)!.value, `${where}: capture ${name}`, example);
      if (entries.has('secret'))
        secret = reader.boolean(entries.get('secret')!.value, `${where}: capture ${name}.secret`, 'secret: false');
    } else {
      subject = reader.string(value, `${where}: capture ${name}`, example);
    }
    let path: Capture['path'] = [];
    if (from === 'json') {
      const parsed = parseJsonPath(subject);
      if ('problem' in parsed)
        reader.fail(
          value,
          `${where}: capture ${name}: JSON path ${JSON.stringify(subject)} ${parsed.problem}`,
          example,
        );
      path = parsed.path;
    }
    // Captured values usually carry credentials (tokens, cookies): mask unless told otherwise.
    return { name, from, subject, path, secret: secret ?? true, at: reader.at(pair.key as Node) };
  });
}

/** Find the templates each check uses, tie them to the captures that make them, refuse unknown names and cycles. */
function linkCaptures(reader: Reader, nodes: Node[], checks: Check[], variables: ReadonlySet<string>): void {
  const producer = new Map<string, Check>();
  const names = new Set<string>();
  checks.forEach((check, index) => {
    if (names.has(check.name)) reader.fail(nodes[index], `two checks are named '${check.name}'; names must be unique`);
    names.add(check.name);
    for (const capture of check.captures) {
      const other = producer.get(capture.name);
      if (other !== undefined) {
        throw new CheckSpecError(
          reader.source,
          capture.at,
          `capture '${capture.name}' is also made by check '${other.name}'`,
        );
      }
      producer.set(capture.name, check);
    }
  });
  checks.forEach((check, index) => {
    const uses = new Set<string>();
    const collect = (text: string) => {
      for (const name of templateNames(text)) uses.add(name);
    };
    const request = check.request;
    if (request.target.kind === 'url') collect(request.target.url);
    else collect(request.target.path);
    for (const value of Object.values(request.headers)) collect(value);
    if (request.body?.kind === 'text') collect(request.body.text);
    else if (request.body?.kind === 'json') collect(JSON.stringify(request.body.value));
    check.uses = [...uses];
    for (const name of uses) {
      const maker = producer.get(name);
      if (maker === check)
        reader.fail(nodes[index], `check '${check.name}' uses {{ ${name} }}, which it captures itself`);
      if (maker !== undefined) {
        if (!check.dependsOn.includes(maker.name)) check.dependsOn.push(maker.name);
      } else if (!variables.has(name)) {
        const known = [...producer.keys(), ...variables];
        reader.fail(
          nodes[index],
          `check '${check.name}' uses {{ ${name} }}, but no check captures it${known.length > 0 ? ` (known: ${known.join(', ')})` : ''}`,
          'capture: { token: $.access_token }   # in an earlier check',
        );
      }
    }
  });
  // cycles: depth-first search over dependsOn
  const byName = new Map(checks.map((check) => [check.name, check]));
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (check: Check, trail: string[]) => {
    if (state.get(check.name) === 'done') return;
    if (state.get(check.name) === 'visiting') {
      const cycle = [...trail.slice(trail.indexOf(check.name)), check.name];
      throw new CheckSpecError(reader.source, check.at, `checks depend on each other in a cycle: ${cycle.join(' → ')}`);
    }
    state.set(check.name, 'visiting');
    for (const dep of check.dependsOn) visit(byName.get(dep)!, [...trail, check.name]);
    state.set(check.name, 'done');
  };
  for (const check of checks) visit(check, []);
}
