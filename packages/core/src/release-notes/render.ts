/**
 * Release notes as markdown: the body of the GitHub release, the `notes` output and a CHANGELOG section.
 * The body comes from a template with `{{placeholders}}`; the default one suits most teams.
 */
import { UserError } from '../errors';
import type { Entry, ReleaseNotes } from './model';

export const DEFAULT_TEMPLATE = '{{sections}}\n\n{{contributors}}\n\n{{deployment}}\n\n{{compare}}\n';

export const PLACEHOLDERS = [
  'version',
  'tag',
  'previous-tag',
  'date',
  'changes',
  'sections',
  'contributors',
  'deployment',
  'compare',
] as const;

export interface RenderOptions {
  /** List the approving reviewers of each change (the `approvers` input). */
  approvers?: boolean;
  /** Markdown of the deployment facts (images, environment, Deployment), when given. */
  deployment?: string | undefined;
  /** Heading level of the sections (3: `### Features`). */
  level?: number;
}

const short = (hash: string) => hash.slice(0, 7);

function link(text: string, url: string | undefined): string {
  return url ? `[${text}](${url})` : text;
}

function entryLine(entry: Entry, notes: ReleaseNotes, options: RenderOptions): string {
  const repo = notes.repositoryUrl;
  const scope = entry.scope ? `**${entry.scope}:** ` : '';
  const ref =
    entry.pullRequest !== undefined
      ? link(`#${entry.pullRequest}`, entry.pull?.url ?? (repo ? `${repo}/pull/${entry.pullRequest}` : undefined))
      : link(short(entry.hash), repo ? `${repo}/commit/${entry.hash}` : undefined);
  const by = entry.author.login ? ` by @${entry.author.login}` : '';
  let line = `- ${scope}${entry.subject} (${ref})${by}`;
  if (options.approvers && entry.pull) {
    line +=
      entry.pull.approvers.length > 0
        ? `, approved by ${entry.pull.approvers.map((login) => `@${login}`).join(', ')}`
        : ', no approving review';
  }
  if (entry.closes.length > 0) line += `, closes ${entry.closes.join(', ')}`;
  for (const note of entry.breakingNotes) {
    if (note !== entry.subject) line += `\n  ${note.replace(/\n/g, '\n  ')}`;
  }
  return line;
}

/** The sections (or a short "no changes" line for an empty range). */
export function renderSections(notes: ReleaseNotes, options: RenderOptions = {}): string {
  if (notes.sections.length === 0) {
    const since = notes.previousTag ?? notes.from;
    return since ? `No changes since ${since}.` : 'No changes.';
  }
  const hashes = '#'.repeat(options.level ?? 3);
  return notes.sections
    .map(
      (section) =>
        `${hashes} ${section.title}\n\n${section.entries.map((e) => entryLine(e, notes, options)).join('\n')}`,
    )
    .join('\n\n');
}

export function renderContributors(notes: ReleaseNotes, level = 3): string {
  if (notes.contributors.length === 0) return '';
  const names = notes.contributors.map((c) => (c.firstTime ? `${c.name} (first contribution)` : c.name));
  return `${'#'.repeat(level)} Contributors\n\n${names.join(', ')}`;
}

export function renderCompare(notes: ReleaseNotes): string {
  return notes.compareUrl ? `**Full Changelog**: ${notes.compareUrl}` : '';
}

/** The body: `template` (default DEFAULT_TEMPLATE) with its placeholders filled; empty parts leave no gaps. */
export function renderNotes(notes: ReleaseNotes, template = DEFAULT_TEMPLATE, options: RenderOptions = {}): string {
  const values: Record<(typeof PLACEHOLDERS)[number], () => string> = {
    version: () => notes.version ?? '',
    tag: () => notes.tag ?? '',
    'previous-tag': () => notes.previousTag ?? '',
    date: () => notes.date,
    changes: () => String(notes.changes),
    sections: () => renderSections(notes, options),
    contributors: () => renderContributors(notes, options.level ?? 3),
    deployment: () => options.deployment ?? '',
    compare: () => renderCompare(notes),
  };
  const text = template.replace(/\{\{\s*([\w-]+)\s*\}\}/g, (_, name: string) => {
    const value = values[name as keyof typeof values];
    if (!value)
      throw new UserError(`Input 'template': unknown placeholder {{${name}}} (known: ${PLACEHOLDERS.join(', ')})`, {
        hint: `template: "## What changed\\n\\n{{sections}}\\n\\n{{compare}}"`,
      });
    return value();
  });
  return `${text.replace(/\n{3,}/g, '\n\n').trim()}\n`;
}
