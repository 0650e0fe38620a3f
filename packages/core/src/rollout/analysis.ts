/**
 * A step's hold: its pause, with the analysis when it has one, and the verdict the record keeps. The verdict
 * from an analysis result is a pure decision (`stepVerdict`), tested on its own.
 */
import { formatDuration } from '../inputs/scalars';
import { type AnalysisResult, runAnalysis } from '../metrics/engine';
import { PodCache } from '../metrics/kubernetes';
import type { MetricSpec } from '../metrics/spec';
import { type StepVerdict, stableHistoryEnd } from '../state/record';
import type { RolloutContext } from './context';
import type { WeightPoint } from './types';
import { selectorText } from './workloads';

/** How often a pause without analysis says how long is left. */
const PROGRESS_EVERY_MS = 60_000;

/**
 * What a step's hold decides: its analysis' verdict and reason, or `skipped` with `noAnalysis` as the reason when
 * there was none. Inconclusive stops the release as a failure does: `passed` says whether it goes on.
 */
export function stepVerdict(
  result: AnalysisResult | undefined,
  noAnalysis: string,
): { verdict: StepVerdict['verdict']; reason: string; passed: boolean } {
  if (result === undefined) return { verdict: 'skipped', reason: noAnalysis, passed: true };
  return { verdict: result.verdict, reason: result.reason, passed: result.verdict === 'pass' };
}

/** The record's verdicts with one more, and the share really served at that weight (the last time it was set). */
export function withVerdict(
  verdicts: StepVerdict[],
  timeline: WeightPoint[],
  entry: { step: number; weight: number; verdict: StepVerdict['verdict']; reason: string; at: number },
): StepVerdict[] {
  const served = [...timeline].reverse().find((point) => point.weight === entry.weight)?.actual;
  return [
    ...verdicts,
    {
      step: entry.step,
      weight: entry.weight,
      ...(served === undefined ? {} : { served }),
      verdict: entry.verdict,
      reason: entry.reason,
      at: new Date(entry.at).toISOString(),
    },
  ];
}

/** The record's verdicts with this run's verdict of a step added. */
export function verdictsWith(
  ctx: RolloutContext,
  step: number,
  weight: number,
  verdict: StepVerdict['verdict'],
  reason: string,
): StepVerdict[] {
  return withVerdict(ctx.record.verdicts, ctx.timeline, { step, weight, verdict, reason, at: ctx.rt.clock.now() });
}

/** The pods the kubernetes signals read: post-promotion analysis reads the stable's (the canary is gone). */
function podSelectors(ctx: RolloutContext): string[] {
  const promoted = ctx.record.phase === 'promoted';
  return ctx.units.flatMap((unit) => {
    const source = promoted ? unit.stable : unit.canary;
    return source ? [selectorText(source)] : [];
  });
}

/** Hold `weight` for `duration`, checking `metrics` (undefined: there were none, the pause alone). */
export async function analyse(
  ctx: RolloutContext,
  stepIndex: number,
  weight: number,
  metrics: MetricSpec[],
  duration: number,
): Promise<AnalysisResult | undefined> {
  const { rt, log } = ctx;
  const until = new Date(rt.clock.now() + duration).toISOString().slice(11, 19);
  if (metrics.length === 0) {
    if (duration > 0) {
      log.info(`Holding ${weight}% for ${formatDuration(duration)} (until ${until} UTC), no analysis`);
      await pauseWithProgress(ctx, weight, duration);
    }
    return undefined;
  }
  log.info(
    `Holding ${weight}% for ${formatDuration(duration)} (until ${until} UTC), checking ${metrics.map((metric) => `${metric.name} every ${formatDuration(metric.interval)}`).join(', ')}`,
  );
  // One list + watch per selector for the whole analysis, not a list per check.
  const pods = new PodCache(ctx.client, { namespace: ctx.settings.namespace, clock: rt.clock });
  const result = await runAnalysis({
    metrics,
    targets: ctx.targets(),
    duration,
    clock: rt.clock,
    signal: rt.signal,
    canaryPods: pods.source(() => podSelectors(ctx)),
    ...stableHistoryEnd(ctx.record),
    ...(ctx.settings.providerFor ? { providerFor: ctx.settings.providerFor } : {}),
    onMeasurement: (m) =>
      log.info(`  ${m.metric}: ${m.value ?? '—'} (${m.threshold}) ${m.outcome}${m.note ? `: ${m.note}` : ''}`),
  }).finally(() => pods.close());
  ctx.analyses.push({ step: stepIndex, weight, result });
  return result;
}

/** A pause without checks: a line with the time left every PROGRESS_EVERY_MS, so a long wait is never silent. */
async function pauseWithProgress(ctx: RolloutContext, weight: number, duration: number): Promise<void> {
  const { clock, signal } = ctx.rt;
  const end = clock.now() + duration;
  for (let left = duration; left > 0; left = end - clock.now()) {
    await clock.sleep(Math.min(left, PROGRESS_EVERY_MS), signal);
    const now = end - clock.now();
    if (now > 0) ctx.log.info(`  ${weight}%: ${formatDuration(now)} of the pause left`);
  }
}
