/** The job-summary piece for a recorded GitHub Deployment. */
import { table } from '../report';
import type { DeploymentRecord } from './deployments';

const STATE_ICON: Record<string, string> = {
  success: '✅',
  failure: '❌',
  error: '❌',
  in_progress: '⏳',
  queued: '⏳',
  pending: '⏳',
  inactive: '⚪',
};

/** A markdown link whose text cannot break the table cell or the link. */
function link(text: string, url: string | undefined): string | undefined {
  if (url === undefined || url === '') return undefined;
  return `[${text.replace(/[[\]]/g, '')}](${url.replace(/[()\s]/g, (c) => encodeURIComponent(c))})`;
}

/**
 * One table row per deployment: environment, deployment id, state, links (environment, run log, history), and
 * the deployments it replaced. Cells are escaped, so a reason with `|` or newlines stays in its cell.
 */
export function renderDeploymentSummary(records: DeploymentRecord | readonly DeploymentRecord[]): string {
  const list: readonly DeploymentRecord[] = Array.isArray(records)
    ? (records as readonly DeploymentRecord[])
    : [records as DeploymentRecord];
  if (list.length === 0) return '';
  const rows = list.map((record) => {
    const links = [
      link('environment', record.environmentUrl),
      link('log', record.logUrl),
      link('history', record.historyUrl),
    ].filter((text): text is string => text !== undefined);
    const state = `${STATE_ICON[record.state] ?? ''} ${record.state}`.trim();
    const notes = [
      record.description,
      record.replaced.length > 0 ? `replaced ${record.replaced.map((id) => `#${id}`).join(', ')}` : undefined,
    ].filter((text): text is string => text !== undefined && text !== '');
    // table() escapes what would end a cell (| and newlines) in every cell.
    return [record.environment, `#${record.id}`, state, links.join(' · '), notes.join('; ')];
  });
  return `### GitHub Deployment\n\n${table(['Environment', 'Deployment', 'State', 'Links', 'Notes'], rows)}`;
}
