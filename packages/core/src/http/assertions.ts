/** Judge one response against a check's expectations; every result says what was expected and what came. */
import { formatDuration } from '../inputs/scalars';
import { formatJsonPath, lookup } from './json-path';
import type { Assertion, Capture, Expectations } from './spec';
import { describeStatus, statusMatches } from './status';
import type { HttpResponse } from './transport';

export interface AssertionResult {
  /** What was checked: `status`, `latency`, `json $.status equals`, `header content-type contains`. */
  label: string;
  expected: string;
  actual: string;
  passed: boolean;
}

const PREVIEW_BYTES = 80;

/** The first bytes of a body as printable text, for messages. */
export function bodyPreview(body: Buffer): string {
  const text = body.subarray(0, PREVIEW_BYTES).toString('utf8').replace(/\s+/g, ' ');
  return JSON.stringify(body.length > PREVIEW_BYTES ? `${text}…` : text);
}

/** Parses the body as JSON once, remembering why it could not. */
class JsonBody {
  private parsed: { ok: true; value: unknown } | { ok: false; why: string } | undefined;
  constructor(private readonly response: HttpResponse) {}
  get(): { ok: true; value: unknown } | { ok: false; why: string } {
    if (this.parsed === undefined) {
      try {
        this.parsed = { ok: true, value: JSON.parse(this.response.body.toString('utf8')) };
      } catch {
        const type = this.response.headers['content-type'] ?? 'no content-type';
        const size = this.response.body.length;
        this.parsed = {
          ok: false,
          why:
            size === 0
              ? `the body is empty, not JSON (${type})`
              : `the body is not JSON (${type}, ${size} bytes${this.response.truncated ? ', truncated' : ''}): ${bodyPreview(this.response.body)}`,
        };
      }
    }
    return this.parsed;
  }
}

function show(value: unknown): string {
  if (value === undefined) return '(missing)';
  const text = typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a as object);
  const keysB = Object.keys(b as object);
  if (keysA.length !== keysB.length) return false;
  return keysA.every((key) => deepEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
}

/** contains: a substring of a text, an element of a list, or a subset of an object. */
function contains(actual: unknown, expected: unknown): boolean {
  if (typeof actual === 'string') return actual.includes(String(expected));
  if (Array.isArray(actual))
    return actual.some((item) => deepEqual(item, expected) || (typeof item === 'object' && contains(item, expected)));
  if (actual !== null && typeof actual === 'object' && expected !== null && typeof expected === 'object') {
    return Object.entries(expected).every(([key, value]) => deepEqual((actual as Record<string, unknown>)[key], value));
  }
  return false;
}

function asNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

function judge(assertion: Assertion, found: boolean, actual: unknown): { passed: boolean; actual: string } {
  const shown = found ? show(actual) : '(missing)';
  switch (assertion.operator) {
    case 'exists':
      return { passed: found === assertion.expected, actual: found ? `present: ${show(actual)}` : 'missing' };
    case 'equals':
      return { passed: found && deepEqual(actual, assertion.expected), actual: shown };
    case 'contains':
      return { passed: found && contains(actual, assertion.expected), actual: shown };
    case 'matches': {
      const text =
        typeof actual === 'string'
          ? actual
          : found && actual !== null && typeof actual !== 'object'
            ? String(actual)
            : undefined;
      return { passed: text !== undefined && new RegExp(String(assertion.expected)).test(text), actual: shown };
    }
    case 'less-than':
    case 'greater-than': {
      const number = found ? asNumber(actual) : undefined;
      const limit = assertion.expected as number;
      const passed = number !== undefined && (assertion.operator === 'less-than' ? number < limit : number > limit);
      return { passed, actual: number === undefined && found ? `${shown} (not a number)` : shown };
    }
  }
}

function expectedText(assertion: Assertion): string {
  switch (assertion.operator) {
    case 'exists':
      return assertion.expected ? 'present' : 'absent';
    case 'matches':
      return `/${String(assertion.expected)}/`;
    case 'less-than':
      return `< ${assertion.expected}`;
    case 'greater-than':
      return `> ${assertion.expected}`;
    case 'contains':
      return `contains ${show(assertion.expected)}`;
    default:
      return show(assertion.expected);
  }
}

export function evaluate(response: HttpResponse, expect: Expectations): AssertionResult[] {
  const results: AssertionResult[] = [];
  results.push({
    label: 'status',
    expected: describeStatus(expect.status),
    actual: String(response.status),
    passed: statusMatches(expect.status, response.status),
  });
  if (expect.latencyBelowMs !== undefined) {
    results.push({
      label: 'latency',
      expected: `< ${formatDuration(expect.latencyBelowMs)}`,
      actual: `${Math.round(response.latencyMs)}ms`,
      passed: response.latencyMs < expect.latencyBelowMs,
    });
  }
  const json = new JsonBody(response);
  for (const assertion of expect.assertions) {
    const expected = expectedText(assertion);
    if (assertion.on === 'json') {
      const label = `json ${formatJsonPath(assertion.path)} ${assertion.operator}`;
      const document = json.get();
      if (!document.ok) {
        results.push({ label, expected, actual: document.why, passed: false });
        continue;
      }
      const { found, value } = lookup(document.value, assertion.path);
      results.push({ label, expected, ...judge(assertion, found, value) });
    } else if (assertion.on === 'header') {
      const value = response.headers[assertion.subject.toLowerCase()];
      results.push({
        label: `header ${assertion.subject} ${assertion.operator}`,
        expected,
        ...judge(assertion, value !== undefined, value),
      });
    } else {
      results.push({
        label: `body ${assertion.operator}`,
        expected,
        ...judge(assertion, true, response.body.toString('utf8')),
      });
    }
  }
  return results;
}

/** Take the captures out of a passing response, or say which one is missing. */
export function takeCaptures(
  response: HttpResponse,
  captures: readonly Capture[],
): { values: Map<string, string> } | { problem: string } {
  const values = new Map<string, string>();
  const json = new JsonBody(response);
  for (const capture of captures) {
    if (capture.from === 'header') {
      const value = response.headers[capture.subject.toLowerCase()];
      if (value === undefined)
        return { problem: `capture ${capture.name}: the response has no ${capture.subject} header` };
      values.set(capture.name, value);
      continue;
    }
    const document = json.get();
    if (!document.ok) return { problem: `capture ${capture.name}: ${document.why}` };
    const { found, value } = lookup(document.value, capture.path);
    if (!found || value === null)
      return { problem: `capture ${capture.name}: ${formatJsonPath(capture.path)} is not in the response` };
    values.set(capture.name, typeof value === 'string' ? value : JSON.stringify(value));
  }
  return { values };
}
