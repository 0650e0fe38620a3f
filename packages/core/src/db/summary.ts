/** The job summary and outputs of a migrate run: what is applied, what is pending (with its SQL), lint, backup. */
import { details, table } from '../report';
import type { MigrateResult } from './request';

const ICON: Record<string, string> = {
  applied: '✅ applied',
  pending: '⏳ pending',
  drift: '⚠️ drift (changed after it was applied)',
  missing: '❔ applied, file missing',
  baseline: '📍 baseline',
  'below-baseline': '⏭️ below baseline',
  'out-of-order': '⛔ out of order',
  undone: '↩️ undone',
  outdated: '🔁 changed (re-runs)',
};

const VERDICT: Record<MigrateResult['verdict'], string> = {
  applied: '✅ Migrations applied',
  'up-to-date': '✅ Up to date',
  planned: '📋 Plan: nothing was changed',
  status: '📋 Status: nothing was changed',
  undone: '↩️ Migrations undone',
  restored: '♻️ Database restored',
  'dry-run': '📋 Dry run: nothing was changed',
};

function sqlBlock(sql: string): string {
  const fence = sql.includes('```') ? '~~~~' : '```';
  return `${fence}sql\n${sql.trimEnd()}\n${fence}`;
}

export function renderMigrateSummary(result: MigrateResult, error?: string): string {
  const parts: string[] = [
    `## ${error ? `❌ Migration failed` : VERDICT[result.verdict]} (${result.runner} runner, mode ${result.mode})\n`,
  ];
  if (error) parts.push(`> ${error.replace(/\n/g, '\n> ')}\n`);
  const facts: string[] = [];
  if (result.database) facts.push(`**Database:** \`${result.database}\``);
  if (result.plan) facts.push(`**Version:** ${result.plan.current ?? 'none'}`);
  if (result.backup)
    facts.push(
      `**Backup:** \`${result.backup.id}\`${result.backup.path ? ` at \`${result.backup.path}\`` : ''} (${result.backup.kind}, ${Math.round(result.backup.elapsedMs / 1000)} s)`,
    );
  if (result.restore) facts.push(`**Restored:** ${result.restore.kind}: \`${result.restore.ran}\``);
  if (result.job) facts.push(`**Job:** \`job/${result.job}\``);
  if (result.maintenance)
    facts.push(`**Maintenance mode:** ${result.maintenance.map((d) => `deployment/${d}`).join(', ')}`);
  if (facts.length > 0) parts.push(`${facts.join(' · ')}\n`);
  if (result.applied.length > 0) {
    parts.push(
      `### ${result.mode === 'undo' ? 'Undone' : 'Applied'} in this run\n`,
      table(
        ['file', 'version', 'time'],
        result.applied.map((a) => [a.file.file, a.file.version ?? 'repeatable', `${Math.round(a.executionMs)} ms`]),
        ['left', 'left', 'right'],
      ),
    );
  }
  if (result.plan && result.plan.states.length > 0) {
    parts.push(
      '### Migrations\n',
      table(
        ['version', 'description', 'state', 'applied on', 'by', 'time', 'run'],
        result.plan.states.map((s) => [
          s.version ?? 'R',
          s.description,
          ICON[s.state] ?? s.state,
          s.applied && s.applied.rank > 0 ? s.applied.installedAt.toISOString().replace(/\.\d+Z$/, 'Z') : '',
          s.applied?.installedBy,
          s.applied && s.applied.rank > 0 ? `${s.applied.executionMs} ms` : '',
          s.applied?.runId,
        ]),
      ),
    );
  }
  if (result.lint.length > 0) {
    parts.push(
      '### Lint\n',
      table(
        ['file', 'line', 'rule', 'statement', 'why'],
        result.lint.map((f) => [f.path, f.line, f.rule, f.statement, f.message]),
        ['left', 'right'],
      ),
    );
  }
  const showSql = result.verdict === 'planned' || result.verdict === 'dry-run' || result.verdict === 'status' || error;
  if (showSql && result.pending.length > 0) {
    parts.push(`### ${result.mode === 'undo' ? 'Would undo' : 'Pending'} (${result.pending.length})\n`);
    for (const file of result.pending)
      parts.push(details(`${file.file}${file.transaction ? '' : ' (no transaction)'}`, sqlBlock(file.sql)));
  }
  if (result.statusOutput)
    parts.push('### Status\n', `${sqlBlock(result.statusOutput).replace(/^```sql/, '```text')}\n`);
  return `${parts.join('\n')}\n`;
}

/** The step outputs: what ran, the backup to restore, where the database stands. */
export function migrateOutputs(result: MigrateResult): Record<string, string | number> {
  return {
    applied: result.applied.map((a) => a.file.file).join('\n'),
    pending: (result.verdict === 'applied' ? [] : result.pending).map((f) => f.file).join('\n'),
    'current-version': result.plan?.current ?? '',
    'backup-id': result.backup?.id ?? '',
    'backup-path': result.backup?.path ?? '',
  };
}
