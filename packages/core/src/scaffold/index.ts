/**
 * The outcome of an action whose behaviour is not built yet: it has validated its inputs
 * (so workflows can be written against the final interface today) and says so plainly.
 */

import { markdownTable } from '../report';
import type { Runtime } from '../runtime/port';

export function inputsOnlyOutcome(
  rt: Runtime,
  action: string,
  issue: string,
  inputs: Record<string, unknown>,
  secrets: readonly string[],
) {
  const shown = Object.entries(inputs)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => [`\`${name}\``, secrets.includes(name) ? '***' : summarize(value)]);
  const message = `${action}: inputs are valid; the action itself is not built yet (${issue}), so nothing was changed.`;
  rt.log.warning(message);
  rt.summary.append(`## ${action}\n\n${message}\n\n${markdownTable(['input', 'value'], shown)}\n`);
  return {
    result: { action, verdict: 'inputs-valid', implemented: false, inputs: Object.fromEntries(shown) },
  };
}

function summarize(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
