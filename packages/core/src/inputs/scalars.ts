import { type CommonOptions, makeReader } from './reader';

export interface StringOptions extends CommonOptions {
  choices?: readonly string[];
  /** Extra check; return a problem to refuse the value. */
  pattern?: RegExp;
}

export function string<const O extends StringOptions>(options?: O) {
  const choices = options?.choices;
  return makeReader(options?.choices ? 'choice' : 'string', options, choices?.[0] ?? 'some-value', (raw, fail) => {
    const value = raw.trim();
    if (choices && !choices.includes(value)) fail(`must be one of ${choices.join(', ')}`);
    if (options?.pattern && !options.pattern.test(value)) fail(`must match ${options.pattern}`);
    return (options?.secret ? raw : value) as O extends { choices: readonly (infer C)[] } ? C : string;
  });
}

const TRUE = new Set(['true', 'yes', '1']);
const FALSE = new Set(['false', 'no', '0']);

/** `true/false/yes/no/1/0`, any case: what people write in YAML `with:` blocks. */
export function boolean<const O extends CommonOptions>(options?: O) {
  return makeReader('boolean', options, 'true', (raw, fail) => {
    const word = raw.trim().toLowerCase();
    if (TRUE.has(word)) return true;
    if (FALSE.has(word)) return false;
    return fail('must be true or false (yes/no and 1/0 work too)');
  });
}

export interface RangeOptions extends CommonOptions {
  min?: number;
  max?: number;
}

function checkRange(
  value: number,
  options: RangeOptions | undefined,
  fail: (p: string) => never,
  show: (n: number) => string = String,
) {
  if (options?.min !== undefined && value < options.min) fail(`must be at least ${show(options.min)}`);
  if (options?.max !== undefined && value > options.max) fail(`must be at most ${show(options.max)}`);
}

export function integer<const O extends RangeOptions>(options?: O) {
  return makeReader('integer', options, String(options?.min ?? 3), (raw, fail) => {
    const text = raw.trim();
    if (!/^[-+]?\d+$/.test(text)) fail('must be a whole number');
    const value = Number(text);
    if (!Number.isSafeInteger(value)) fail('is too large');
    checkRange(value, options, fail);
    return value;
  });
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * `250ms`, `30s`, `5m`, `1h30m`, `1.5h`, `1d` → milliseconds; `0` alone is zero.
 * Returns undefined for anything else (a bare number is refused: seconds or minutes?).
 */
export function parseDuration(text: string): number | undefined {
  const compact = text.trim();
  if (compact === '0') return 0;
  if (!/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(compact)) return undefined;
  let total = 0;
  for (const [, amount, unit] of compact.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) {
    total += Number(amount) * UNIT_MS[unit!]!;
  }
  return Math.round(total);
}

/** Milliseconds as the shortest duration text: 5400000 → `1h30m`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = Math.round(ms);
  let text = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms']) {
    const size = UNIT_MS[unit]!;
    const count = Math.floor(rest / size);
    if (count > 0) {
      text += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return text;
}

/** A duration in milliseconds; `min`/`max` are in milliseconds too. */
export function duration<const O extends RangeOptions>(options?: O) {
  return makeReader('duration', options, '5m', (raw, fail) => {
    const value = parseDuration(raw);
    if (value === undefined) return fail('must be a number with a unit (ms, s, m, h, d), like 30s, 5m or 1h30m');
    checkRange(value, options, fail, formatDuration);
    return value;
  });
}

/** `5`, `5%` or `0.5%` → 5, 5, 0.5 (percent units). Range defaults to 0–100. */
export function percentage<const O extends RangeOptions>(options?: O) {
  return makeReader('percentage', options, '5%', (raw, fail) => {
    const match = /^(\d+(?:\.\d+)?|\.\d+)\s*%?$/.exec(raw.trim());
    if (!match) return fail('must be a percentage like 5, 5% or 0.5%');
    const value = Number(match[1]);
    checkRange(value, { min: options?.min ?? 0, max: options?.max ?? 100 }, fail, (n) => `${n}%`);
    return value;
  });
}

export interface UrlOptions extends CommonOptions {
  /** Allowed schemes without the colon (default http and https). */
  protocols?: readonly string[];
}

/** An absolute URL; the value is returned as given (trimmed). */
export function url<const O extends UrlOptions>(options?: O) {
  const protocols = options?.protocols ?? ['http', 'https'];
  return makeReader('url', options, 'https://example.com/healthz', (raw, fail) => {
    const text = raw.trim();
    let parsed: URL;
    try {
      parsed = new URL(text);
    } catch {
      return fail('must be an absolute URL');
    }
    if (!protocols.includes(parsed.protocol.slice(0, -1))) fail(`must be a ${protocols.join(' or ')} URL`);
    return text;
  });
}
