/** Run planned gates at the same time, each under its own timeout; a gate never throws past here. */
import { UserError } from '../errors';
import { formatDuration } from '../inputs/scalars';
import type { GateContext, GateOutcome, GateReport, PlannedGate } from './types';

export class GateTimeout extends UserError {}

async function runOne(gate: PlannedGate, ctx: GateContext): Promise<GateOutcome> {
  const timeout = new AbortController();
  const stopTimer = new AbortController();
  const signal = AbortSignal.any([ctx.signal, timeout.signal]);
  const timedOut = ctx.clock.sleep(gate.timeoutMs, stopTimer.signal).then(() => {
    const error = new GateTimeout(`did not finish within ${formatDuration(gate.timeoutMs)} (its timeout)`);
    timeout.abort(error);
    throw error;
  });
  timedOut.catch(() => {});
  try {
    return await Promise.race([gate.run({ ...ctx, signal }), timedOut]);
  } finally {
    stopTimer.abort();
  }
}

function failed(error: unknown): GateOutcome {
  const message = error instanceof Error ? error.message : String(error);
  return {
    status: 'fail',
    value: error instanceof GateTimeout ? 'timed out' : 'error',
    limit: '',
    message: error instanceof UserError || error instanceof GateTimeout ? message : `unexpected error: ${message}`,
  };
}

export interface RunGatesOptions {
  /** Failures of required gates become warnings (recorded as such). */
  emergency?: boolean;
  /** One after another instead of together (the benchmark's comparison). */
  sequential?: boolean;
}

export async function runGates(
  gates: readonly PlannedGate[],
  ctx: GateContext,
  options: RunGatesOptions = {},
): Promise<GateReport[]> {
  const runStart = ctx.clock.now();
  const one = async (gate: PlannedGate): Promise<GateReport> => {
    const started = ctx.clock.now();
    const outcome = await runOne(gate, ctx).catch(failed);
    const durationMs = ctx.clock.now() - started;
    // A gate that is not required, or any gate in an emergency, warns instead of failing.
    const status = outcome.status === 'fail' && (!gate.required || options.emergency) ? 'warn' : outcome.status;
    const line = `${gate.name}: ${status} (${outcome.value}${outcome.limit ? `; limit ${outcome.limit}` : ''}): ${outcome.message}`;
    if (status === 'fail') ctx.log.error(line, { title: `preflight ${gate.name}` });
    else if (status === 'warn') ctx.log.warning(line, { title: `preflight ${gate.name}` });
    else ctx.log.info(line);
    for (const note of outcome.annotations ?? []) {
      const props = {
        title: `preflight ${gate.name}`,
        file: note.file,
        ...(note.line ? { startLine: note.line } : {}),
        ...(note.column ? { startColumn: note.column } : {}),
      };
      if (status === 'fail') ctx.log.error(note.message, props);
      else ctx.log.warning(note.message, props);
    }
    return {
      ...outcome,
      name: gate.name,
      title: gate.title,
      required: gate.required,
      original: outcome.status,
      status,
      startMs: started - runStart,
      durationMs,
    };
  };
  if (!options.sequential) return Promise.all(gates.map(one));
  const reports: GateReport[] = [];
  for (const gate of gates) reports.push(await one(gate));
  return reports;
}
