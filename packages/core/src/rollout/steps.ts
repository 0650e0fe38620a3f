/**
 * The canary's advance loop: each step's weight, its hold and analysis, its verdict saved; a pause at
 * `pause-at`; after the last step, the promotion. A failed step goes back to the previous one or aborts.
 */
import { UserError } from '../errors';
import { formatDuration } from '../inputs/scalars';
import { LeaseLostError } from '../state/lease';
import { abortTraffic, haltedBy } from './abort';
import { analyse, stepVerdict, verdictsWith } from './analysis';
import { type RolloutContext, StepFailed, sentenceOf } from './context';
import type { Step } from './plan';
import { promote } from './promote';
import type { RolloutOutcome, StepReport } from './types';
import { setWeight } from './weights';

/** What follows a failed step: back to the previous step's weight (previous-step, from the second step), or abort. */
export function afterFailedStep(
  steps: readonly Step[],
  index: number,
  onStepFailure: 'abort' | 'previous-step',
): { kind: 'previous-step'; weight: number } | { kind: 'abort' } {
  const previous = index > 0 ? steps[index - 1]!.weight : 0;
  return onStepFailure === 'previous-step' && previous > 0
    ? { kind: 'previous-step', weight: previous }
    : { kind: 'abort' };
}

/** Whether a step that reached `weight` pauses the run there (`pause-at`), the last step never. */
export function pausesAt(pauseAt: number | undefined, weight: number, index: number, steps: number): boolean {
  return pauseAt !== undefined && weight >= pauseAt && index < steps - 1;
}

/** Run the steps from `from` to the end, then promote; stops at pause-at or a failed step. */
export async function runSteps(ctx: RolloutContext, from: number): Promise<RolloutOutcome> {
  const { steps, pauseAt } = ctx.settings;
  for (let index = from; index < steps.length; index++) {
    const step = steps[index]!;
    if (step.weight >= 100) break;
    try {
      await ctx.rt.log.group(`Step ${index + 1}: ${step.weight}% to ${ctx.record.canaryVersion}`, () =>
        runStep(ctx, index, step),
      );
    } catch (error) {
      if (!(error instanceof StepFailed)) throw await haltedBy(ctx, error);
      return stepFailed(ctx, index, error.message);
    }
    if (pausesAt(pauseAt, step.weight, index, steps.length)) {
      const reason = `Paused at ${step.weight}% (pause-at ${pauseAt}); continue with action: continue, or stop with action: abort.`;
      await ctx.save({ phase: 'paused', reason });
      return ctx.outcome('paused', reason);
    }
  }
  return promote(ctx);
}

/** One step: its weight, its hold, its verdict saved; a StepFailed when it fails. */
async function runStep(ctx: RolloutContext, index: number, step: Step): Promise<void> {
  const report = async (verdict: StepReport['verdict'], reason: string) => {
    await ctx.save({ verdicts: verdictsWith(ctx, index, step.weight, verdict, reason) });
    const actual = ctx.timeline.at(-1)?.actual ?? 0;
    await ctx.settings.onStep?.({ index, weight: step.weight, actual, verdict, reason, routing: ctx.routing });
  };
  await setWeight(ctx, step.weight).catch(async (error: unknown) => {
    if (!(error instanceof StepFailed)) throw error;
    // The canary's pods failed before the analysis: the step's verdict says so.
    await report('fail', error.message);
    throw new StepFailed(`step ${index + 1} (${step.weight}%): ${error.message}`);
  });
  await ctx.save({ stepIndex: index, weight: step.weight });
  // The step's pause and analysis: the lease must outlast them, not be renewed during them.
  await ctx.holdLease(step.pause);
  const result = await analyse(ctx, index, step.weight, step.analysis, step.pause);
  const { verdict, reason, passed } = stepVerdict(result, `held ${formatDuration(step.pause)}, no analysis`);
  await report(verdict, reason);
  if (!passed) throw new StepFailed(`step ${index + 1} (${step.weight}%): ${reason}`);
}

async function stepFailed(ctx: RolloutContext, index: number, reason: string): Promise<RolloutOutcome> {
  const next = afterFailedStep(ctx.settings.steps, index, ctx.settings.onStepFailure);
  if (next.kind === 'previous-step') {
    const previous = next.weight;
    await setWeight(ctx, previous).catch((error: unknown) => {
      throw leftAfter(
        ctx,
        reason,
        `going back to ${previous}% failed`,
        error,
        `the canary may have its pods and traffic for ${previous}% or ${ctx.settings.steps[index]!.weight}%: run action: abort to return traffic to stable, or action: continue once the cause is fixed`,
      );
    });
    const text = `Back at ${previous}% because ${reason}; fix and continue with action: continue, or stop with action: abort.`;
    await ctx.save({ phase: 'paused', stepIndex: index - 1, weight: previous, reason: text });
    ctx.log.error(text);
    return ctx.outcome('paused', text);
  }
  const text = `Aborted because ${reason}`;
  await abortTraffic(ctx, text).catch((error: unknown) => {
    if (error instanceof LeaseLostError) throw error;
    throw leftAfter(
      ctx,
      reason,
      'returning traffic to stable failed',
      error,
      'traffic may still go to the canary: run action: abort (or rollback with mode: in-flight)',
    );
  });
  // The action reports the outcome's failure (one error line, one annotation): not logged here too.
  return ctx.outcome('aborted', text, { stepFailure: reason });
}

/** A step failed and what should follow did not finish: what happened, the state the record keeps, what to run. */
function leftAfter(ctx: RolloutContext, reason: string, what: string, error: unknown, next: string): UserError {
  const message = sentenceOf(error);
  const { phase, weight } = ctx.record;
  return new UserError(
    `Step failed (${reason.replace(/\.+$/, '')}), then ${what}: ${message}. The record says phase ${phase} at ${weight}%; ${next}`,
  );
}
