/**
 * `post-promotion-analysis`: how long the new version is checked after 100%, and with which metrics. A
 * failure then rolls the stables back (Rollout.promote).
 */
import { InputError } from '../errors';
import type { MetricSpec } from '../metrics/spec';
import { describeComparisons, leftOutNote, splitComparisons } from './analysis-split';
import type { Step } from './plan';

export interface PostPromotionPlan {
  /** ms */
  duration: number;
  metrics: MetricSpec[];
  /** The comparisons left out: after promotion the old version has no pods to compare with. */
  leftOut: string[];
}

/**
 * After 100% the `analysis` input is checked, else the last step's own analysis (the tightest limits
 * usually sit at the highest weight); with neither there is nothing to check, which is refused rather
 * than reported as a pass. Comparisons (`compare: stable` / `baseline`) are left out: after promotion the
 * old version and the baseline have no pods, so their side has no data and every check would come out
 * inconclusive and roll back a healthy release. With only comparisons, it is refused.
 */
export function parsePostPromotion(
  duration: number | undefined,
  analysis: MetricSpec[],
  steps: readonly Step[],
): PostPromotionPlan | undefined {
  if (!duration) return undefined;
  const shown = `${duration / 60_000}m`;
  const metrics =
    analysis.length > 0 ? analysis : ([...steps].reverse().find((step) => step.analysis.length > 0)?.analysis ?? []);
  if (metrics.length === 0)
    throw new InputError(
      'post-promotion-analysis',
      'has no metrics to check: give analysis (or an analysis in steps); it is checked for this long after 100%',
      shown,
      '30m, with analysis: [{ name: restarts, provider: kubernetes, signal: restarts, max: 2 }]',
    );
  const { comparisons, others: kept } = splitComparisons(metrics);
  if (kept.length === 0)
    throw new InputError(
      'post-promotion-analysis',
      `has only comparisons to check (${describeComparisons(comparisons)}): after promotion the old version (and a baseline) has no pods left, so there is nothing to compare with; add a metric without compare to the analysis (a max on the new version's own error rate, or a kubernetes signal)`,
      shown,
      '30m, with analysis: [{ name: restarts, provider: kubernetes, signal: restarts, max: 2 }]',
    );
  return { duration, metrics: kept, leftOut: comparisons.map((metric) => metric.name) };
}

/** The log and summary line saying which comparisons post-promotion analysis leaves out, and why. */
export function postPromotionNote(post: PostPromotionPlan | undefined): string | undefined {
  if (!post || post.leftOut.length === 0) return undefined;
  return leftOutNote(
    'Post-promotion analysis',
    post.metrics.map((metric) => metric.name),
    post.leftOut,
    'after promotion the old version has no pods left',
  );
}
