/**
 * Evaluating a workflow's fields: `${{ }}` text, `if:` conditions and env mappings, with an
 * error that names the file, job, step and field where an expression is wrong.
 */
import {
  type EvalContext,
  ExpressionError,
  interpolate,
  stringify,
  truthy,
  usesStatusFunction,
  type Value,
} from './expressions';
import { WorkflowError } from './load';

/** Where a field is, for errors: the file and job, and the step when there is one. */
export function placeOf(file: string, job: string, step?: string): string {
  return `${file}, job "${job}"${step ? `, step "${step}"` : ''}`;
}

/** A field's value: text is interpolated; anything else (a YAML boolean, number) is taken as it is. */
export function evaluateField(text: unknown, ctx: EvalContext, place: string, field: string): Value {
  if (typeof text !== 'string') return (text ?? null) as Value;
  try {
    return interpolate(text, ctx);
  } catch (error) {
    if (!(error instanceof ExpressionError)) throw error;
    throw new WorkflowError(`${place}, ${field}: ${error.message} in ${JSON.stringify(text.trim())}`);
  }
}

/** An `if:` (or `post-if:`) condition, written with or without `${{ }}`. */
export function condition(raw: unknown, ctx: EvalContext, place: string, field = 'if'): boolean {
  if (raw === undefined || raw === null) return ctx.status.success();
  if (typeof raw === 'boolean') return raw && ctx.status.success();
  let text = String(raw).trim();
  const whole = /^\$\{\{([\s\S]*)\}\}$/.exec(text);
  if (whole && !whole[1]!.includes('}}')) text = whole[1]!.trim();
  let implicit: boolean;
  try {
    implicit = !usesStatusFunction(text);
  } catch (error) {
    throw new WorkflowError(`${place}, ${field}: ${(error as Error).message} in ${JSON.stringify(text)}`);
  }
  // GitHub's rule: a condition without a status function only applies while all is well.
  const value = evaluateField(`\${{ ${text} }}`, ctx, place, field);
  return implicit ? ctx.status.success() && truthy(value) : truthy(value);
}

/** Evaluate an env mapping; each value sees the variables before it at an outer level only, as on GitHub. */
export function evalEnv(raw: Record<string, unknown>, ctx: EvalContext, place: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    const text = value === null ? '' : typeof value === 'string' ? value : String(value);
    out[name] = stringify(evaluateField(text, ctx, place, 'env'));
  }
  return out;
}
