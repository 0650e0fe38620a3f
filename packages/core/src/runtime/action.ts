/**
 * The action contract the dispatcher calls: parse inputs, run, set outputs and
 * `result`, flush the summary, notify, and turn errors into one readable error
 * line and an exit code.
 */

import { holdVirtualTime } from '../clock/quiescence';
import { isUserError, UserError } from '../errors';
import { formatDuration } from '../inputs/scalars';
import type { InputSchema } from '../inputs/schema';
import { resultDocument } from '../report';
import { runUrlOf } from '../state/run-identity';
import type { Runtime } from './port';

export interface ActionOutcome {
  /** The result document (also the `result` output); `action`, `verdict` and times are filled in when missing. */
  result: Record<string, unknown>;
  outputs?: Record<string, string | number | boolean | object>;
  /** Set when the action ran but its verdict is a failure (e.g. checks failed): exit 1 with this as the one error line. */
  failure?: string;
}

export interface ActionDefinition<I> {
  name: string;
  inputs: InputSchema<I>;
  run(rt: Runtime, inputs: I): Promise<ActionOutcome>;
  post?(rt: Runtime, inputs: I): Promise<void>;
  /**
   * The action's `result` output is a verdict word (canary-promote: promoted|aborted|...), not the JSON
   * document: when the run throws, `result` is `failed` and the document goes to `report`, with any
   * outputs the error carries (failedWith). Refused inputs set no outputs, as for every action.
   */
  verdictResult?: boolean;
}

const FAILURE_OUTPUTS = Symbol.for('deploy-actions.failure-outputs');
type Outputs = Record<string, string | number | boolean | object>;

/**
 * `error` with outputs that are set although the run failed (canary-promote: the record's `phase`); what
 * `run` throws. Returns the same error.
 */
export function failedWith<E>(error: E, outputs: Outputs): E {
  if (error !== null && typeof error === 'object')
    Object.defineProperty(error, FAILURE_OUTPUTS, { value: outputs, configurable: true });
  return error;
}

function failureOutputs(error: unknown): Outputs {
  return (error !== null && typeof error === 'object' && (error as Record<symbol, Outputs>)[FAILURE_OUTPUTS]) || {};
}

/** How long a run that ignores its aborted signal gets to wind up before the step gives up on it. */
const TIMEOUT_GRACE_MS = 10_000;

export async function executeAction<I>(
  def: ActionDefinition<I>,
  rt: Runtime,
  phase: 'main' | 'post' = 'main',
): Promise<number> {
  let inputs: I;
  try {
    // Mask secret inputs before anything can log them, even a parse error elsewhere.
    for (const name of def.inputs.secrets) {
      const raw = rt.inputs.get(name);
      if (raw !== undefined) rt.mask(raw);
    }
    inputs = def.inputs.parse(rt.inputs, { workspace: rt.workspace });
  } catch (error) {
    // The post step reads the inputs main read and refused: main's error line said it, once is enough.
    if (phase === 'post') {
      rt.log.debug(`${def.name}: post step skipped, its inputs were refused by the main step`);
      return 0;
    }
    // Refused inputs set no outputs, for every action: nothing ran, the error line says it all.
    reportError(rt, def.name, error);
    return 1;
  }
  const values = inputs as Record<string, unknown>;
  const timeoutMs = typeof values['timeout'] === 'number' ? values['timeout'] : undefined;

  if (phase === 'post') {
    if (!def.post) return 0;
    const post = def.post;
    try {
      await runBounded(rt, def.name, timeoutMs, (scoped) => post.call(def, scoped, inputs));
      return 0;
    } catch (error) {
      reportError(rt, def.name, error);
      return 1;
    } finally {
      await rt.summary.flush();
    }
  }

  const startedAt = rt.clock.now();
  let exitCode = 0;
  let result: Record<string, unknown>;
  let outputs: Outputs = {};
  let verdictText: string | undefined;
  try {
    const outcome = await runBounded(rt, def.name, timeoutMs, (scoped) => def.run(scoped, inputs));
    outputs = outcome.outputs ?? {};
    const verdict = outcome.result['verdict'] ?? (outcome.failure ? 'failure' : 'success');
    result = document(def.name, verdict, startedAt, rt.clock.now(), outcome.result);
    if (outcome.failure !== undefined) {
      rt.log.error(outcome.failure);
      verdictText = outcome.failure;
      exitCode = 1;
    }
  } catch (error) {
    const message = reportError(rt, def.name, error);
    result = document(def.name, 'failure', startedAt, rt.clock.now(), { error: message });
    verdictText = message;
    exitCode = 1;
    // A verdict-word result says `failed`; the document goes to report below.
    if (def.verdictResult) outputs = { ...failureOutputs(error), result: 'failed' };
  }
  for (const [name, value] of Object.entries(outputs)) rt.setOutput(name, value);
  // An action may define its own `result` output (canary-promote: promoted|aborted|...); it wins, and the
  // document then goes to `report` (unless the action set that too).
  if (!Object.hasOwn(outputs, 'result')) rt.setOutput('result', JSON.stringify(result));
  else if (!Object.hasOwn(outputs, 'report')) rt.setOutput('report', JSON.stringify(result));
  await rt.summary.flush();

  const webhook = values['notify-webhook'];
  if (typeof webhook === 'string') await notify(rt, def.name, webhook, result, outputs, verdictText);
  return exitCode;
}

function document(action: string, verdict: unknown, startedAt: number, finishedAt: number, fields: object) {
  return resultDocument(action, { startedAt, finishedAt, ...fields, verdict: String(verdict) });
}

/**
 * Run `fn` with a runtime whose signal also aborts when `timeoutMs` passes.
 * The timeout error names the step (the innermost open log group) that was running.
 */
async function runBounded<T>(
  rt: Runtime,
  action: string,
  timeoutMs: number | undefined,
  fn: (scoped: Runtime) => Promise<T>,
): Promise<T> {
  const timeout = new AbortController();
  const steps: string[] = [];
  const scoped: Runtime = {
    log: {
      ...rt.log,
      debug: (m) => rt.log.debug(m),
      info: (m) => rt.log.info(m),
      warning: (m, p) => rt.log.warning(m, p),
      error: (m, p) => rt.log.error(m, p),
      async group(name, body) {
        steps.push(name);
        try {
          return await rt.log.group(name, body);
        } finally {
          steps.pop();
        }
      },
    },
    mask: (secret) => rt.mask(secret),
    redact: (text) => rt.redact(text),
    setOutput: (name, value) => rt.setOutput(name, value),
    exportVariable: (name, value) => rt.exportVariable(name, value),
    summary: rt.summary,
    state: rt.state,
    inputs: rt.inputs,
    clock: rt.clock,
    signal: AbortSignal.any([rt.signal, timeout.signal]),
    env: rt.env,
    workspace: rt.workspace,
  };
  if (timeoutMs === undefined) return fn(scoped);

  const stopTimer = new AbortController();
  const timedOut = rt.clock.sleep(timeoutMs, stopTimer.signal).then(() => {
    const step = steps.length > 0 ? `step "${steps[steps.length - 1]}"` : `${action}`;
    const reason = new UserError(
      `Timed out after ${formatDuration(timeoutMs)} (input 'timeout') while running ${step}`,
    );
    timeout.abort(reason);
    return reason;
  });
  timedOut.catch(() => {});
  const running = fn(scoped);
  try {
    return await Promise.race([
      running,
      timedOut.then(async (reason) => {
        // Give a run that honours the signal the chance to clean up; then give up on it.
        await Promise.race([running.catch(() => {}), rt.clock.sleep(TIMEOUT_GRACE_MS, rt.signal).catch(() => {})]);
        throw reason;
      }),
    ]);
  } catch (error) {
    // Whatever the aborted run threw (an AbortError from fetch, say), the timeout is the story.
    if (timeout.signal.aborted) throw timeout.signal.reason;
    throw error;
  } finally {
    stopTimer.abort();
  }
}

/** Log one error line (plus the stack at debug level when unexpected); returns the line. */
function reportError(rt: Runtime, action: string, error: unknown): string {
  if (isUserError(error)) {
    const line = error.hint ? `${error.message} ${error.hint}` : error.message;
    rt.log.error(line);
    return line;
  }
  if (rt.signal.aborted && error === rt.signal.reason && error instanceof Error) {
    rt.log.error(error.message);
    return error.message;
  }
  const message = error instanceof Error ? error.message : String(error);
  const line = `${action} failed unexpectedly: ${message}`;
  rt.log.error(line);
  if (error instanceof Error && error.stack) rt.log.debug(error.stack);
  return line;
}

/** Chat clients fold long fields; past this a field says where the rest is. */
const FIELD_LIMIT = 1500;

function shortenField(text: string): string {
  return text.length <= FIELD_LIMIT ? text : `${text.slice(0, FIELD_LIMIT)}… (cut; the job summary has all of it)`;
}

/** Post the verdict to the webhook; a failed notification is a warning, never the step's failure. */
async function notify(
  rt: Runtime,
  action: string,
  webhook: string,
  result: Record<string, unknown>,
  outputs: Record<string, unknown>,
  problem: string | undefined,
) {
  const verdict = String(result['verdict']);
  // Human-readable outputs only: JSON documents (report, analysis) are for later steps, not for people.
  const fields = Object.entries(outputs)
    .filter(([name, value]) => name !== 'result' && ['string', 'number', 'boolean'].includes(typeof value))
    .filter(([, value]) => !/^\s*[[{]/.test(String(value)))
    .slice(0, 8)
    .map(([name, value]) => ({ title: name, value: shortenField(rt.redact(String(value))) }));
  if (problem) fields.unshift({ title: 'error', value: shortenField(rt.redact(problem)) });
  const runUrl = runUrlOf(rt.env);
  if (runUrl) fields.push({ title: 'run', value: runUrl });
  const environment = rt.env['GITHUB_REPOSITORY'] ? ` in ${rt.env['GITHUB_REPOSITORY']}` : '';
  try {
    const { sendWebhook } = await holdVirtualTime(import('../notify'));
    await sendWebhook(
      webhook,
      {
        text: `${action}: ${verdict}${environment}`,
        fields,
        color: verdict === 'failure' || problem ? 'danger' : 'good',
      },
      { retry: { clock: rt.clock, signal: rt.signal } },
    );
    rt.log.info(`Notified the webhook: ${action} ${verdict}`);
  } catch (error) {
    rt.log.warning(
      `Could not post to notify-webhook: ${rt.redact(error instanceof Error ? error.message : String(error))}`,
    );
  }
}
