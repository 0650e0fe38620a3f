/**
 * Comparisons (`compare: stable` / `baseline`) apart from the other metrics. Blue-green's analysis after the
 * switch and post-promotion analysis have no control side to compare with (blue, the old version and the
 * baseline get no traffic or have no pods), so they leave comparisons out and say so in one line.
 */
import type { MetricSpec } from '../metrics/spec';

export function splitComparisons(metrics: MetricSpec[]): { comparisons: MetricSpec[]; others: MetricSpec[] } {
  return {
    comparisons: metrics.filter((metric) => 'compare' in metric),
    others: metrics.filter((metric) => !('compare' in metric)),
  };
}

/** `name: compare stable, ...`: the comparisons as an error message names them. */
export function describeComparisons(comparisons: MetricSpec[]): string {
  return comparisons.map((metric) => `${metric.name}: compare ${'compare' in metric ? metric.compare : ''}`).join(', ');
}

/** The log and summary line: which metrics an analysis checks, which comparisons it leaves out and why. */
export function leftOutNote(analysis: string, checked: string[], leftOut: string[], why: string): string {
  return `${analysis} checks ${checked.join(', ')} and leaves out ${leftOut.join(', ')} (compare): ${why} to compare with.`;
}
