/** Markdown for the job summary: a table per check, and a load run's figures with a latency chart. */
import { formatDuration } from '../inputs/scalars';
import { escapeCell, table } from '../report';
import type { LoadGateResult } from './load-gate';
import type { ChecksResult } from './runner';

const ICON = { passed: '✅', failed: '❌', skipped: '⏭️' } as const;

/** Text outside a table on one line (headings, quotes). */
function oneLine(text: string): string {
  return text.replace(/\r?\n/g, ' ');
}

export function renderChecksSummary(result: ChecksResult, title = 'Smoke checks'): string {
  const { passed, failed, skipped } = result.counts;
  const lines = [
    `## ${result.passed ? '✅' : '❌'} ${title}: ${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`,
    '',
  ];
  for (const check of result.checks) {
    const facts = [
      `\`${oneLine(check.request)}\``,
      check.status === undefined ? undefined : `status ${check.status}`,
      check.latencyMs === undefined ? undefined : `${check.latencyMs}ms`,
      check.attempts > 0 ? `${check.attempts} attempt${check.attempts === 1 ? '' : 's'}` : undefined,
    ].filter((fact) => fact !== undefined);
    lines.push(`### ${ICON[check.outcome]} ${oneLine(check.name)}`, '', facts.join(' · '), '');
    if (check.error !== undefined) lines.push(`> ${oneLine(check.error)}`, '');
    if (check.assertions.length > 0) {
      const rows = check.assertions.map((a) => [a.label, a.expected, a.actual, a.passed ? '✅' : '❌']);
      lines.push(table(['check', 'expected', 'actual', ''], rows));
    }
  }
  return lines.join('\n');
}

function ms(micros: number): string {
  return `${(micros / 1000).toFixed(micros < 10_000 ? 2 : 1)}ms`;
}

/** How the headline rate was counted, so nobody has to guess why it is not responses ÷ wall time. */
function achievedRateNote(result: LoadGateResult): string {
  const count = (n: number) => n.toLocaleString('en-US');
  const over = formatDuration(result.durationMs);
  const open = result.model.startsWith('rate');
  const rate = `${count(Math.round(result.achievedRate))} req/s`;
  return open
    ? `Achieved rate: ${count(result.counted)} requests sent within ${over} and answered = ${rate}; ${count(result.late)} late (sent after the end or not at all: every connection was busy), ${count(result.unanswered)} unanswered (timeout or socket error).`
    : `Achieved rate: ${count(result.counted)} responses within ${over} = ${rate}; ${count(result.late)} answered after the end (not counted), ${count(result.unanswered)} unanswered (timeout or socket error).`;
}

export function renderLoadSummary(result: LoadGateResult, title = 'Load gate'): string {
  const lines = [
    `## ${result.passed ? '✅' : '❌'} ${title}: ${Math.round(result.achievedRate).toLocaleString('en-US')} req/s over ${formatDuration(result.durationMs)}`,
    '',
    `\`${oneLine(result.request)}\` · ${result.model}`,
    '',
    table(
      ['sent', 'answered', 'late', 'unanswered', 'errors', 'error rate', 'p50', 'p90', 'p95', 'p99', 'max'],
      [
        [
          result.sent,
          result.responses,
          result.late,
          result.unanswered,
          result.errors,
          `${(result.errorRate * 100).toFixed(2)}%`,
          ms(result.latencyUs.p50),
          ms(result.latencyUs.p90),
          ms(result.latencyUs.p95),
          ms(result.latencyUs.p99),
          ms(result.latencyUs.max),
        ],
      ],
    ),
  ];
  lines.push(achievedRateNote(result), '');
  if (result.thresholds.length > 0) {
    const rows = result.thresholds.map((t) => [t.name, t.expected, t.actual, t.passed ? '✅' : '❌']);
    lines.push(table(['threshold', 'expected', 'actual', ''], rows));
  }
  const kinds = Object.entries(result.errorKinds);
  if (kinds.length > 0) {
    lines.push(`Errors: ${kinds.map(([kind, count]) => `${escapeCell(kind)} × ${count}`).join(', ')}`, '');
  }
  if (result.chart.length > 0) {
    const labels = result.chart.map((bin) => `"${(bin.fromUs / 1000).toFixed(bin.fromUs < 10_000 ? 1 : 0)}"`);
    const counts = result.chart.map((bin) => bin.count);
    lines.push(
      '```mermaid',
      'xychart-beta',
      '  title "Latency distribution (ms, up to p99.9)"',
      `  x-axis "latency from (ms)" [${labels.join(', ')}]`,
      `  y-axis "requests" 0 --> ${Math.max(1, ...counts)}`,
      `  bar [${counts.join(', ')}]`,
      '```',
      '',
    );
  }
  return lines.join('\n');
}
