/**
 * Blue-green: green at full size, the preview and its checks, one switch of the active Service, blue kept for
 * scale-down-delay with the analysis (a failure switches back), then the promotion; or with
 * `scale-down-delay: manual`, phase switched until finalize or abort.
 */
import { formatDuration } from '../inputs/scalars';
import { uniqueMetrics } from '../metrics/spec';
import { abortTraffic, haltedBy } from './abort';
import { analyse, stepVerdict, verdictsWith } from './analysis';
import { type RolloutContext, StepFailed } from './context';
import { promote } from './promote';
import type { RolloutOutcome } from './types';
import { waitSides } from './weights';

/** How long blue stays after the switch: scale-down-delay, or with manual the first step's pause when it checks something. */
export function blueHold(setting: number | 'manual' | undefined, analysed: boolean, firstPause: number): number {
  if (setting === 'manual') return analysed ? firstPause : 0;
  return setting ?? 0;
}

export async function blueGreen(ctx: RolloutContext): Promise<RolloutOutcome> {
  try {
    await switchToGreen(ctx);
  } catch (error) {
    if (!(error instanceof StepFailed)) throw await haltedBy(ctx, error);
    const text = `Aborted before the switch because ${error.message}`;
    await abortTraffic(ctx, text);
    return ctx.outcome('aborted', text, { stepFailure: error.message });
  }
  ctx.timeline.push({ at: ctx.rt.clock.now(), weight: 100, actual: 100 });
  const setting = ctx.settings.scaleDownDelay ?? 0;
  const manual = setting === 'manual';
  const metrics = uniqueMetrics(ctx.settings.steps.flatMap((step) => step.analysis));
  // manual: the analysis runs for the step's pause (when there is one); blue then waits for a later job.
  const delay = blueHold(setting, metrics.length > 0, ctx.settings.steps[0]?.pause ?? 0);
  await ctx.save({
    phase: 'switched',
    stepIndex: 0,
    weight: 100,
    ...(manual ? {} : { scaleDownAt: new Date(ctx.rt.clock.now() + delay).toISOString() }),
  });
  await ctx.holdLease(delay);
  const result = await analyse(ctx, 0, 100, metrics, delay);
  const { verdict, reason, passed } = stepVerdict(
    result,
    delay > 0 ? `held ${formatDuration(delay)}, no analysis` : 'no analysis',
  );
  if (!passed) {
    const text = `Switched back to blue because ${reason}`;
    await abortTraffic(ctx, text);
    return ctx.outcome('aborted', text, { stepFailure: reason });
  }
  await ctx.save({ verdicts: verdictsWith(ctx, 0, 100, verdict, reason) });
  if (manual) {
    const text = `Switched to ${ctx.record.canaryVersion}; blue (${ctx.record.stableVersion}) stays until action: finalize removes it, or action: abort switches back to it.`;
    await ctx.save({ reason: text });
    return ctx.outcome('paused', text);
  }
  return promote(ctx);
}

/** Green at full size and Ready, the preview and its checks, then the switch (StepFailed: blue still serves). */
async function switchToGreen(ctx: RolloutContext): Promise<void> {
  const { namespace } = ctx.settings;
  await ctx.holdLease(ctx.settings.rolloutTimeoutMs);
  await ctx.rt.log.group('Start green', async () => {
    for (const unit of ctx.units) {
      const replicas = unit.stable.spec?.replicas ?? 1;
      await ctx.client.patch('Deployment', { namespace, name: unit.record.canary }, { spec: { replicas } }, 'merge');
    }
    for (const unit of ctx.units) await waitSides(ctx, unit);
  });
  // The preview Service must select green before anything checks it through that Service.
  for (const unit of ctx.units) {
    const detail = await unit.router.preparePreview?.();
    if (detail) {
      ctx.log.info(`${unit.record.stable}: ${detail}`);
      ctx.routing.push(`${unit.record.stable}: ${detail}`);
    }
  }
  const checks = ctx.settings.previewChecks;
  if (checks)
    await ctx.rt.log.group('Preview checks', async () => {
      for (const unit of ctx.units)
        await checks(unit.record.canary).catch((error: unknown) => {
          throw new StepFailed(`preview checks failed: ${(error as Error).message}`);
        });
    });
  // The switch is inside the abort path too: whatever stops it leaves blue serving and green at 0.
  for (const unit of ctx.units) {
    const state = await unit.router.setWeight(100);
    ctx.routing.push(`${unit.record.stable}: ${state.detail}`);
  }
}
