/**
 * The job summary of a rollout: verdict and reason in one sentence, a mermaid
 * chart of the weight and each metric over time, the steps with their
 * verdicts, and every analysis check (value and threshold).
 */
import { renderAnalysisSummary } from '../metrics/summary';
import { lineChart, table } from '../report';
import type { RolloutOutcome } from './canary';

const TITLES: Record<string, string> = {
  promoted: '✅ promoted',
  aborted: '❌ aborted',
  paused: '⏸️ paused',
  'rolled-back': '↩️ rolled back',
  planned: '📝 plan (dry run)',
  finalized: '✅ finalized',
};

export function renderRolloutSummary(outcome: RolloutOutcome): string {
  const record = outcome.record;
  const parts: string[] = [];
  const title = record ? `${record.app}: ${record.stableVersion} → ${record.canaryVersion}` : 'rollout';
  parts.push(`### ${title}: ${TITLES[outcome.result] ?? outcome.result}\n\n${outcome.reason}\n`);
  if (outcome.plan) parts.push(`${outcome.plan.map((line) => `- ${line}`).join('\n')}\n`);
  if (record) {
    parts.push(
      table(
        ['phase', 'weight', 'stable', 'canary', 'run'],
        [[record.phase, `${record.weight}%`, record.stableVersion, record.canaryVersion, record.runUrl ?? '']],
      ),
    );
  }
  const chart = weightChart(outcome);
  if (chart) parts.push(chart);
  if (outcome.routing.length > 0) parts.push(`Traffic: ${outcome.routing.join('; ')}\n`);
  if (record && record.verdicts.length > 0) {
    parts.push(
      table(
        ['step', 'weight', 'verdict', 'reason'],
        record.verdicts.map((v) => [v.step + 1, `${v.weight}%`, v.verdict, v.reason]),
      ),
    );
  }
  for (const { step, weight, result } of outcome.analyses)
    parts.push(renderAnalysisSummary(result, `Step ${step + 1} (${weight}%) analysis`));
  return `${parts.join('\n')}\n`;
}

/** Weight (and each metric's value, scaled to its own maximum = 100) per minute of the run. */
function weightChart(outcome: RolloutOutcome): string | undefined {
  const points = outcome.timeline;
  if (points.length === 0) return undefined;
  const start = points[0]!.at;
  const measurements = outcome.analyses.flatMap((a) => a.result.measurements);
  const end = Math.max(points[points.length - 1]!.at, ...measurements.map((m) => m.at));
  const step = Math.max(10_000, Math.ceil((end - start) / 40 / 10_000) * 10_000);
  const times: number[] = [];
  for (let t = start; t <= end; t += step) times.push(t);
  if (times[times.length - 1] !== end) times.push(end);
  const weightAt = (t: number) => [...points].reverse().find((p) => p.at <= t)?.actual ?? 0;
  const lines = [{ name: 'weight %', values: times.map(weightAt) }];
  const metrics = [...new Set(measurements.map((m) => m.metric))];
  for (const metric of metrics) {
    const list = measurements.filter((m) => m.metric === metric && m.value !== undefined && Number.isFinite(m.value));
    if (list.length === 0) continue;
    const top = Math.max(...list.map((m) => Math.abs(m.value!))) || 1;
    lines.push({
      name: `${metric} (% of max ${top})`,
      values: times.map((t) => {
        const last = [...list].reverse().find((m) => m.at <= t);
        return last ? Math.round((Math.abs(last.value!) / top) * 1000) / 10 : 0;
      }),
    });
  }
  return lineChart({
    title: 'Canary weight and metrics over time',
    xTitle: 'minutes',
    xLabels: times.map((t) => Math.round(((t - start) / 60_000) * 10) / 10),
    y: { label: '%', min: 0, max: 100 },
    lines,
  });
}
