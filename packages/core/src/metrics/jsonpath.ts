/**
 * The JSONPath subset the `web` provider reads numbers with: `$`, `.key`,
 * `['key']` / `["key"]` and `[index]` (negative counts from the end).
 */
import { UserError } from '../errors';

export type PathStep = string | number;

export function parseJsonPath(path: string): PathStep[] {
  const fail = (problem: string): never => {
    throw new UserError(`json-path ${JSON.stringify(path)}: ${problem}`, {
      hint: 'Example: json-path: $.data.result[0].value',
    });
  };
  if (!path.startsWith('$')) fail("must start with '$'");
  const steps: PathStep[] = [];
  let at = 1;
  while (at < path.length) {
    const rest = path.slice(at);
    const dotted = /^\.([A-Za-z_$][\w$-]*)/.exec(rest);
    const indexed = /^\[(-?\d+)\]/.exec(rest);
    const quoted = /^\[(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\]/.exec(rest);
    if (dotted) {
      steps.push(dotted[1]!);
      at += dotted[0].length;
    } else if (indexed) {
      steps.push(Number(indexed[1]));
      at += indexed[0].length;
    } else if (quoted) {
      steps.push((quoted[1] ?? quoted[2]!).replace(/\\(.)/g, '$1'));
      at += quoted[0].length;
    } else {
      fail(`cannot read ${JSON.stringify(rest)} at position ${at}: only .key, ['key'] and [index] are supported`);
    }
  }
  return steps;
}

/** Follow the steps; undefined when any step is missing. */
export function readJsonPath(document: unknown, steps: readonly PathStep[]): unknown {
  let current = document;
  for (const step of steps) {
    if (typeof step === 'number') {
      if (!Array.isArray(current)) return undefined;
      current = current[step < 0 ? current.length + step : step];
    } else {
      if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
      current = (current as Record<string, unknown>)[step];
    }
    if (current === undefined) return undefined;
  }
  return current;
}
