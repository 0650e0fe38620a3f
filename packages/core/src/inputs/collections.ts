import { type CommonOptions, makeReader } from './reader';
import type { RangeOptions } from './scalars';

/** Comma- or newline-separated items, trimmed, empty ones dropped (trailing commas, blank lines). */
export function splitList(raw: string): string[] {
  return raw
    .split(/[\n,]/)
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

export function list<const O extends CommonOptions>(options?: O) {
  return makeReader('list', options, 'web, worker', (raw) => splitList(raw));
}

export interface NumberListOptions extends RangeOptions {
  /** Each item must be larger than the one before (canary steps). */
  increasing?: boolean;
}

/** `5,25,50,100` → [5, 25, 50, 100]; a `%` after an item is allowed. */
export function numberList<const O extends NumberListOptions>(options?: O) {
  return makeReader('number list', options, '5,25,50,100', (raw, fail) => {
    const items = splitList(raw);
    if (items.length === 0) fail('needs at least one number');
    const values = items.map((item) => {
      const value = Number(item.replace(/%$/, ''));
      if (item === '' || !Number.isFinite(value)) fail(`'${item}' is not a number`);
      if (options?.min !== undefined && value < options.min) fail(`${item} is below ${options.min}`);
      if (options?.max !== undefined && value > options.max) fail(`${item} is above ${options.max}`);
      return value;
    });
    if (options?.increasing) {
      for (let i = 1; i < values.length; i++) {
        if (values[i]! <= values[i - 1]!) fail(`must increase, but ${values[i]} follows ${values[i - 1]}`);
      }
    }
    return values;
  });
}

/**
 * `key=value` pairs, one per line or comma-separated. The value is everything
 * after the first `=` (so `web=nginx:1.27` and `opt=a=b` survive), and a comma
 * only starts a new pair when `key=` follows it, so `set=a,b` keeps its comma.
 */
export function parseKeyValues(raw: string): { pairs: Record<string, string> } | { problem: string } {
  const entries: string[] = [];
  for (const line of raw.split('\n')) {
    const [first = '', ...rest] = line.split(',');
    entries.push(first);
    for (const piece of rest) {
      if (/^\s*[^=\s]+\s*=/.test(piece)) entries.push(piece);
      else entries[entries.length - 1] += `,${piece}`;
    }
  }
  const pairs: Record<string, string> = {};
  for (const entry of entries) {
    if (entry.trim() === '') continue;
    const at = entry.indexOf('=');
    if (at < 0) return { problem: `'${entry.trim()}' is not key=value` };
    const key = entry.slice(0, at).trim();
    if (key === '') return { problem: `'${entry.trim()}' has no key before =` };
    if (Object.hasOwn(pairs, key)) return { problem: `'${key}' is given twice` };
    pairs[key] = entry.slice(at + 1).trim();
  }
  return { pairs };
}

export function keyValues<const O extends CommonOptions>(options?: O) {
  return makeReader('key=value map', options, 'web=ghcr.io/acme/web:1.4.2', (raw, fail) => {
    const parsed = parseKeyValues(raw);
    if ('problem' in parsed) return fail(parsed.problem);
    return parsed.pairs;
  });
}
