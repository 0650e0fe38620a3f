/** The checklist: one row per gate (pass / fail / warn, measured value, limit, link), and the emergency banner. */
import { formatDuration } from '../inputs/scalars';
import { table } from '../report';
import type { GateReport } from './types';

const ICON = { pass: '✅', warn: '⚠️', fail: '❌' } as const;

export interface Emergency {
  reason: string;
  approvedBy: string;
  /** Required gates that failed and were let through. */
  overridden: string[];
  /** The GitHub Deployment that records it, when one was written. */
  deployment?: { id: number; url: string } | undefined;
}

export function counts(reports: readonly GateReport[]) {
  return {
    passed: reports.filter((r) => r.status === 'pass').length,
    warned: reports.filter((r) => r.status === 'warn').length,
    failed: reports.filter((r) => r.status === 'fail').length,
  };
}

export function renderChecklist(
  reports: readonly GateReport[],
  options: {
    environment?: string | undefined;
    policy?: string | undefined;
    emergency?: Emergency | undefined;
    wallMs: number;
  },
): string {
  const { passed, warned, failed } = counts(reports);
  const verdict = failed > 0 ? '❌' : warned > 0 ? '⚠️' : '✅';
  const where = options.environment ? ` for ${options.environment}` : '';
  const lines = [`## ${verdict} Preflight${where}: ${passed} passed, ${warned} warnings, ${failed} failed`, ''];
  if (options.emergency) {
    const e = options.emergency;
    lines.push(
      '> [!CAUTION]',
      `> **EMERGENCY DEPLOYMENT**: gate failures are warnings for this run. Reason: ${e.reason}. Approved by: ${e.approvedBy}.`,
      `> Overridden required gates: ${e.overridden.length > 0 ? e.overridden.join(', ') : 'none (every gate passed)'}.` +
        (e.deployment ? ` Recorded on [GitHub Deployment #${e.deployment.id}](${e.deployment.url}).` : ''),
      '',
    );
  }
  const rows = reports.map((r) => [
    `${ICON[r.status]} ${r.status}${r.original !== r.status ? ` (was ${r.original})` : ''}`,
    `**${r.name}**${r.required ? '' : ' (optional)'}`,
    r.value,
    r.limit,
    r.link ? `${r.message} ([link](${r.link}))` : r.message,
    formatDuration(r.durationMs),
  ]);
  lines.push(table(['', 'Gate', 'Measured', 'Limit', 'Details', 'Time'], rows));
  if (reports.length > 1) lines.push(timeline(reports));
  const slowest = Math.max(0, ...reports.map((r) => r.durationMs));
  lines.push(
    `Gates ran at the same time: ${formatDuration(options.wallMs)} in all, the slowest gate ${formatDuration(slowest)}.${options.policy ? ` Policy: \`${options.policy}\`.` : ''}`,
    '',
  );
  return lines.join('\n');
}

const TAG = { pass: 'done', warn: 'active', fail: 'crit' } as const;

/** A mermaid gantt of when each gate ran: the picture of "at the same time". */
export function timeline(reports: readonly GateReport[]): string {
  const tasks = reports.map(
    (r) => `    ${r.name} ${r.status} :${TAG[r.status]}, ${r.startMs}, ${r.startMs + Math.max(1, r.durationMs)}`,
  );
  return [
    '```mermaid',
    'gantt',
    '    dateFormat x',
    '    axisFormat %M:%S.%L',
    '    section gates',
    ...tasks,
    '```',
    '',
  ].join('\n');
}
