/**
 * The analysis as markdown for the job summary: the verdict and its reason, a
 * mermaid `xychart-beta` per metric (canary, and control for comparisons),
 * and a table of every check.
 */
import type { AnalysisResult, Measurement, MetricVerdict } from './engine';
import { formatValue } from './rules';

const OUTCOME_MARK: Record<Measurement['outcome'], string> = {
  ok: '✅ ok',
  breach: '❌ breach',
  'no-data': '⚪ no data',
  error: '⚠️ error',
  unreachable: '🔌 unreachable',
};
const VERDICT_MARK = { pass: '✅ pass', fail: '❌ fail', inconclusive: '⚠️ inconclusive' } as const;

export function renderAnalysisSummary(result: AnalysisResult, title = 'Canary analysis'): string {
  const over = result.verdict === 'pass' && result.metrics.some((item) => item.overLimit !== undefined);
  const mark = over ? '⚠ pass, over limit at some checks' : VERDICT_MARK[result.verdict];
  const lines = [`### ${title}: ${mark}`, '', result.reason, ''];
  const byMetric = new Map<string, Measurement[]>();
  for (const measurement of result.measurements) {
    const list = byMetric.get(measurement.metric) ?? [];
    list.push(measurement);
    byMetric.set(measurement.metric, list);
  }
  for (const [metric, list] of byMetric) {
    const chart = renderChart(metric, list);
    if (chart !== undefined) lines.push(chart, '');
  }
  if (result.metrics.length > 0) {
    lines.push('| metric | verdict | reason |', '| --- | --- | --- |');
    for (const item of result.metrics)
      lines.push(`| ${cell(item.metric)} | ${verdictMark(item)} | ${cell(item.reason)} |`);
    lines.push('');
  }
  lines.push('| time | metric | value | control | threshold | outcome |', '| --- | --- | --- | --- | --- | --- |');
  for (const item of result.measurements) {
    const value = item.value === undefined ? '—' : formatValue(item.value);
    const control = item.control === undefined ? '—' : formatValue(item.control);
    const mark = item.overLimit === undefined ? OUTCOME_MARK[item.outcome] : `⚠ over limit (${item.overLimit})`;
    const outcome = mark + (item.note ? `: ${cell(item.note)}` : '');
    lines.push(
      `| +${formatSeconds(item.elapsed)} | ${cell(item.metric)} | ${value} | ${control} | ${cell(item.threshold)} | ${outcome} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** A pass with breaches that did not fail it is no plain pass: `⚠ over limit (1 of 2)`. */
function verdictMark(item: MetricVerdict): string {
  return item.verdict === 'pass' && item.overLimit !== undefined
    ? `⚠ over limit (${item.overLimit})`
    : VERDICT_MARK[item.verdict];
}

/**
 * One metric over the step in its own unit, the limit drawn as a line (`<= 0.01` → a line at 0.01; a
 * comparison's limit moves with the control). Fewer than two values draw no chart; x labels are distinct.
 */
function renderChart(metric: string, list: Measurement[]): string | undefined {
  const points = list.filter((item) => item.value !== undefined && Number.isFinite(item.value));
  if (points.length < 2) return undefined;
  const hasControl = points.some((item) => item.control !== undefined);
  const limits = points.map((item) => limitOf(item.threshold));
  const hasLimit = limits.every((limit) => limit !== undefined);
  const values = points.flatMap((item, i) => [
    item.value!,
    ...(item.control !== undefined && Number.isFinite(item.control) ? [item.control] : []),
    ...(hasLimit ? [limits[i]!] : []),
  ]);
  const top = Math.max(...values);
  const bottom = Math.min(0, ...values);
  const series = (pick: (item: Measurement, index: number) => number | undefined) =>
    `[${points.map((item, i) => formatValue(pick(item, i) ?? 0)).join(', ')}]`;
  const names = ['canary', ...(hasControl ? ['control'] : []), ...(hasLimit ? ['limit'] : [])];
  const chart = [
    '```mermaid',
    'xychart-beta',
    `  title "${metric.replace(/"/g, "'")} (lines: ${names.join(', ')})"`,
    `  x-axis "seconds into the step" [${distinctLabels(points.map((item) => item.elapsed))
      .map((label) => `"${label}"`)
      .join(', ')}]`,
    `  y-axis "${metric.replace(/"/g, "'")}" ${formatValue(bottom)} --> ${formatValue(top === bottom ? top + 1 : top * 1.1)}`,
    `  line ${series((item) => item.value)}`,
  ];
  if (hasControl) chart.push(`  line ${series((item) => item.control)}`);
  if (hasLimit) chart.push(`  line ${series((_item, i) => limits[i])}`);
  chart.push('```');
  return chart.join('\n');
}

/** The upper limit in a threshold text (`<= 0.01`, `>= 0.9 and <= 2`, `<= 0.012 (stable 0.01 + 20%)`). */
function limitOf(threshold: string): number | undefined {
  const match = /<= (-?[\d.e+-]+)/.exec(threshold);
  const value = match ? Number(match[1]) : Number.NaN;
  return Number.isFinite(value) ? value : undefined;
}

/** Seconds as labels, with a decimal where two checks fall in the same second, so no label repeats. */
function distinctLabels(elapsed: number[]): string[] {
  const whole = elapsed.map((ms) => String(Math.round(ms / 1000)));
  if (new Set(whole).size === whole.length) return whole;
  const fine = elapsed.map((ms) => (ms / 1000).toFixed(1));
  return fine.map((label, i) => (fine.indexOf(label) === i ? label : `${label} (${i + 1})`));
}

function formatSeconds(ms: number): string {
  return `${Math.round(ms / 1000)}s`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
