/**
 * The analysis as markdown for the job summary: the verdict and its reason, a
 * mermaid `xychart-beta` per metric (canary, and control for comparisons),
 * and a table of every check.
 */
import type { AnalysisResult, Measurement } from './engine';
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
  const lines = [`### ${title}: ${VERDICT_MARK[result.verdict]}`, '', result.reason, ''];
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
      lines.push(`| ${cell(item.metric)} | ${VERDICT_MARK[item.verdict]} | ${cell(item.reason)} |`);
    lines.push('');
  }
  lines.push('| time | metric | value | control | threshold | outcome |', '| --- | --- | --- | --- | --- | --- |');
  for (const item of result.measurements) {
    const value = item.value === undefined ? '—' : formatValue(item.value);
    const control = item.control === undefined ? '—' : formatValue(item.control);
    const outcome = OUTCOME_MARK[item.outcome] + (item.note ? `: ${cell(item.note)}` : '');
    lines.push(
      `| +${formatSeconds(item.elapsed)} | ${cell(item.metric)} | ${value} | ${control} | ${cell(item.threshold)} | ${outcome} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function renderChart(metric: string, list: Measurement[]): string | undefined {
  const points = list.filter((item) => item.value !== undefined && Number.isFinite(item.value));
  if (points.length === 0) return undefined;
  const hasControl = points.some((item) => item.control !== undefined);
  const values = points.flatMap((item) => [
    item.value!,
    ...(item.control !== undefined && Number.isFinite(item.control) ? [item.control] : []),
  ]);
  const top = Math.max(...values);
  const bottom = Math.min(0, ...values);
  const series = (pick: (item: Measurement) => number | undefined) =>
    `[${points.map((item) => formatValue(pick(item) ?? 0)).join(', ')}]`;
  const chart = [
    '```mermaid',
    'xychart-beta',
    `  title "${metric.replace(/"/g, "'")}${hasControl ? ' (line 1: canary, line 2: control)' : ''}"`,
    `  x-axis "seconds" [${points.map((item) => formatSeconds(item.elapsed).replace('s', '')).join(', ')}]`,
    `  y-axis "value" ${formatValue(bottom)} --> ${formatValue(top === bottom ? top + 1 : top * 1.1)}`,
    `  line ${series((item) => item.value)}`,
  ];
  if (hasControl) chart.push(`  line ${series((item) => item.control)}`);
  chart.push('```');
  return chart.join('\n');
}

function formatSeconds(ms: number): string {
  return `${Math.round(ms / 1000)}s`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
