/** The demo's last word: one row per step, what it decided and the fact that shows it. */
import type { Verdict } from './pipeline';

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

export function verdictTable(verdicts: readonly Verdict[]): string {
  const lines = ['| release | action | verdict | what shows it |', '| --- | --- | --- | --- |'];
  for (const v of verdicts)
    lines.push(
      `| ${cell(v.release)} | ${v.action} | ${v.verdict === 'skipped' ? '○' : v.ok ? '✔' : '✘'} ${cell(v.verdict)} | ${cell(v.detail)} |`,
    );
  const ran = new Set(verdicts.filter((v) => v.verdict !== 'skipped').map((v) => v.action));
  const all = ['build-tag', 'preflight', 'migrate', 'canary-promote', 'smoke', 'release-notes', 'rollback'];
  const missing = all.filter((a) => !ran.has(a));
  lines.push(
    '',
    missing.length === 0
      ? `All seven actions ran: ${all.join(', ')}.`
      : `Actions that ran: ${all.filter((a) => ran.has(a)).join(', ')}; skipped: ${missing.join(', ')} (reason in the table).`,
  );
  return lines.join('\n');
}
