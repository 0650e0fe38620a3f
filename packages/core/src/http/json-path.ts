/**
 * A small JSON path: `$.items[0].id`, `$['x-count']`, `items.0.id` (the `$` is
 * optional). No wildcards or filters: an assertion names one value.
 */
import type { PathSegment } from './spec';

export function parseJsonPath(text: string): { path: PathSegment[] } | { problem: string } {
  let rest = text.trim();
  if (rest === '') return { problem: 'is empty' };
  if (rest.startsWith('$')) rest = rest.slice(1);
  else rest = `.${rest}`;
  const path: PathSegment[] = [];
  const forms: Array<[RegExp, (m: RegExpExecArray) => PathSegment]> = [
    [/^\.([A-Za-z0-9_$@-]+)/, (m) => m[1]!],
    [/^\[(\d+)\]/, (m) => Number(m[1])],
    [/^\[(['"])((?:(?!\1)[^\\]|\\.)*)\1\]/, (m) => m[2]!.replace(/\\(.)/g, '$1')],
  ];
  while (rest.length > 0) {
    let matched = false;
    for (const [pattern, segment] of forms) {
      const match = pattern.exec(rest);
      if (match === null) continue;
      path.push(segment(match));
      rest = rest.slice(match[0].length);
      matched = true;
      break;
    }
    if (!matched) {
      return {
        problem: `cannot be read at ${JSON.stringify(rest.slice(0, 20))} (use $.a.b[0] or $['key-with-dashes'])`,
      };
    }
  }
  return { path };
}

/** The value at `path`, or found: false when some step does not exist. */
export function lookup(document: unknown, path: readonly PathSegment[]): { found: boolean; value: unknown } {
  let current: unknown = document;
  for (const segment of path) {
    if (Array.isArray(current)) {
      const index = typeof segment === 'number' ? segment : /^\d+$/.test(segment) ? Number(segment) : Number.NaN;
      if (!(index >= 0 && index < current.length)) return { found: false, value: undefined };
      current = current[index];
    } else if (current !== null && typeof current === 'object') {
      const key = String(segment);
      if (!Object.hasOwn(current, key)) return { found: false, value: undefined };
      current = (current as Record<string, unknown>)[key];
    } else {
      return { found: false, value: undefined };
    }
  }
  return { found: true, value: current };
}

/** `$.a.b[0]` form of a path, for messages. */
export function formatJsonPath(path: readonly PathSegment[]): string {
  return `$${path.map((s) => (typeof s === 'number' ? `[${s}]` : /^[A-Za-z_$][\w$]*$/.test(s) ? `.${s}` : `['${s}']`)).join('')}`;
}
