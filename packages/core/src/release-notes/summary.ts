/** The job summary: what was done (range, CHANGELOG, release) in a table, then the notes themselves. */
import { table } from '../report';
import type { ReleaseNotesResult } from './run';

/** How the changes split over the sections, as a mermaid pie (GitHub renders it in the summary). */
function sectionChart({ notes }: ReleaseNotesResult): string {
  if (notes.sections.length < 2) return '';
  const slices = notes.sections.map((s) => `    "${s.title.replace(/"/g, "'")}" : ${s.entries.length}`);
  return `\`\`\`mermaid\npie showData title Changes by section\n${slices.join('\n')}\n\`\`\`\n\n`;
}

export function renderReleaseNotesSummary(result: ReleaseNotesResult, dryRun: boolean): string {
  const { notes, range, changelog, release } = result;
  const rows: Array<[string, string]> = [
    ['version', notes.version ?? '(none: no changes)'],
    ['previous tag', notes.previousTag ?? '(none: from the first commit)'],
    ['range', `${range.from ?? '(first commit)'}..${range.to} (${range.toCommit.slice(0, 7)})`],
    [
      'changes',
      `${notes.changes} from ${notes.commits} commits${notes.excluded ? `, ${notes.excluded} excluded` : ''}${notes.reverted ? `, ${notes.reverted} reverted` : ''}`,
    ],
  ];
  if (notes.contributors.length > 0) {
    const first = notes.contributors.filter((c) => c.firstTime).length;
    rows.push(['contributors', `${notes.contributors.length}${first ? ` (${first} first-time)` : ''}`]);
  }
  if (changelog) {
    const what =
      changelog.action === 'unchanged' ? 'already up to date' : `section ${changelog.action} at line ${changelog.line}`;
    rows.push([
      changelog.path,
      `${what}${dryRun && changelog.action !== 'unchanged' ? ' (dry run: not written)' : ''}`,
    ]);
  }
  if (result.releasePlan) rows.push(['GitHub release', `would ${result.releasePlan} ${notes.tag} (dry run)`]);
  if (release) rows.push(['GitHub release', `${release.action}${release.draft ? ' (draft)' : ''}: ${release.url}`]);
  if (result.requests > 0) rows.push(['GitHub API requests', String(result.requests)]);
  const heading = `## 📝 Release notes${notes.tag ? ` ${notes.tag}` : ''}${dryRun ? ' (dry run)' : ''}`;
  const notices = result.notices.map((n) => `> ${n}`).join('\n');
  return `${heading}\n\n${table(['', ''], rows)}\n${notices ? `${notices}\n\n` : ''}${sectionChart(result)}---\n\n${result.markdown}`;
}
