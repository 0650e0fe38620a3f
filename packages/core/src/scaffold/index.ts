/**
 * The outcome of an action whose behaviour is not built yet: it has validated its inputs
 * (so workflows can be written against the final interface today) and says so plainly.
 */
import type { InputSchema } from '../inputs';
import { table } from '../report';
import type { Runtime } from '../runtime/port';

export function inputsOnlyOutcome(
  rt: Runtime,
  action: string,
  issue: string,
  schema: InputSchema<unknown>,
  inputs: Record<string, unknown>,
) {
  // Show each input as the user wrote it (or its default), secrets as ***.
  const shown: [string, string][] = Object.entries(inputs)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => [
      name,
      schema.secrets.includes(name)
        ? '***'
        : shorten(rt.inputs.get(name) ?? schema.readers[name]?.options.default ?? display(value)),
    ]);
  const message = `${action}: inputs are valid; the action itself is not built yet (${issue}), so nothing was changed.`;
  rt.log.warning(message);
  rt.summary.append(
    `## ${action}\n\n${message}\n\n${table(
      ['input', 'value'],
      shown.map(([name, value]) => [`\`${name}\``, value]),
    )}`,
  );
  return {
    result: { action, verdict: 'inputs-valid', implemented: false, inputs: Object.fromEntries(shown) },
  };
}

function display(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function shorten(text: string): string {
  const oneLine = text.trim().replace(/\s*\n\s*/g, ' ');
  return oneLine.length > 80 ? `${oneLine.slice(0, 77)}...` : oneLine;
}
