/** A workflow run as text for the terminal: each step with its outcome and outputs, each job summary. */
import type { WorkflowResult } from './types';

const MARK = { success: '✓', failure: '✗', skipped: '-', 'not-run': '·' } as const;

export function renderRun(run: WorkflowResult): string {
  const lines: string[] = [`workflow ${run.name} (${run.file}): ${run.conclusion}`];
  for (const job of run.jobs) {
    lines.push('', `job ${job.id}: ${job.status}${job.reason ? ` (${job.reason})` : ''}`);
    for (const step of job.steps) {
      const what = step.action ? ` [${step.action}]` : '';
      const why = step.reason ? ` (${step.reason})` : '';
      lines.push(
        `  ${MARK[step.status]} ${step.phase === 'post' ? 'Post ' : ''}${step.label}${what}: ${step.status}${why}`,
      );
      for (const annotation of step.annotations) lines.push(`      ${annotation.level}: ${annotation.message}`);
      for (const [name, value] of Object.entries(step.outputs)) {
        const shown =
          value.includes('\n') || value.length > 200 ? `${value.replace(/\s+/g, ' ').slice(0, 197)}...` : value;
        lines.push(`      ${name}=${shown}`);
      }
    }
    for (const [name, value] of Object.entries(job.outputs)) lines.push(`  output ${name}=${value}`);
    if (job.summary.trim() !== '') lines.push('', `summary of job ${job.id}:`, '', job.summary.trimEnd());
  }
  return lines.join('\n');
}
