/**
 * The job summary of a rollout: verdict and reason in one sentence, a mermaid
 * chart of the weight and each metric over time, the steps with their
 * verdicts, and every analysis check (value and threshold).
 */
import { renderAnalysisSummary } from '../metrics/summary';
import { lineChart, table } from '../report';
import type { RolloutOutcome } from './types';

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
  const next = nextStep(outcome);
  if (next) parts.push(`**Next:** ${next}\n`);
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
        record.verdicts.map((v) => [
          v.step + 1,
          v.served === undefined || v.served === v.weight ? `${v.weight}%` : `${v.weight}% (${v.served}% served)`,
          v.verdict,
          v.reason,
        ]),
      ),
    );
  }
  for (const { step, weight, result } of outcome.analyses)
    parts.push(renderAnalysisSummary(result, `Step ${step + 1} (${weight}%) analysis`));
  return `${parts.join('\n')}\n`;
}

/** What the reader can do now, for the outcomes that leave a decision to them. */
function nextStep(outcome: RolloutOutcome): string | undefined {
  const record = outcome.record;
  const stable = record?.stableVersion ?? 'the stable version';
  const canary = record?.canaryVersion ?? 'the new version';
  switch (outcome.result) {
    case 'aborted':
      return (
        `${stable} serves all traffic again and ${canary}'s canary is gone; nothing is left to undo in the cluster. ` +
        `Fix what the analysis found and release again. If this release migrated the database, put the backup ` +
        'back with the rollback action (`database-restore`).'
      );
    case 'rolled-back':
      return (
        `${stable} serves again after ${canary} failed its checks once promoted. Fix it and release again; ` +
        'restore the database with the rollback action (`database-restore`) if this release migrated it.'
      );
    case 'paused':
      return (
        `${canary} holds ${record?.weight ?? '?'}% of the traffic. Run this action again with \`action: continue\` ` +
        '(the next steps), `action: promote` (straight to 100%) or `action: abort` (back to the stable).'
      );
    default:
      return undefined;
  }
}

/**
 * The weight (% of traffic the canary really got) over the run. Metrics are not scaled onto it: each step's
 * analysis charts its metrics in their own units with the threshold. Labels are distinct minutes (m:ss), and
 * a run with fewer than two points draws no chart.
 */
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
  const labels = times.map((t) => clockLabel(t - start));
  // The last point may fall within the same second as the one before: keep one of them.
  const kept = times.filter((_, i) => i === labels.length - 1 || labels[i] !== labels[i + 1]);
  if (kept.length < 2) return undefined;
  const weightAt = (t: number) => [...points].reverse().find((p) => p.at <= t)?.actual ?? 0;
  return lineChart({
    title: 'Canary weight over time (% of traffic)',
    xTitle: 'time since start (m:ss)',
    xLabels: kept.map((t) => clockLabel(t - start)),
    y: { label: 'weight %', min: 0, max: 100 },
    lines: [{ name: 'weight %', values: kept.map(weightAt) }],
  });
}

/** 0:00, 1:30, 12:05: minutes and seconds since the start. */
function clockLabel(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}
