/**
 * CHANGELOG.md in Keep a Changelog style (https://keepachangelog.com): `## [1.2.0] - 2026-12-07` sections,
 * newest first, `[1.2.0]: <compare link>` references at the bottom. The new section goes where its version
 * belongs; re-running for the same version replaces that section; every other byte of the file stays as it was.
 */
import semver from 'semver';

export interface ChangelogSection {
  /** Plain semver, e.g. `1.2.0` (the heading shows it without `v`, as Keep a Changelog does). */
  version: string;
  date: string;
  /** The section's markdown below its heading (`### Features` ...). */
  body: string;
  /** The compare link for the `[1.2.0]: ...` reference, when known. */
  compareUrl?: string | undefined;
  /** The tag, to point an `[Unreleased]: .../compare/<tag>...HEAD` reference at. */
  tag?: string | undefined;
}

export interface ChangelogUpdate {
  text: string;
  /** `replaced` the section of this version, `inserted` a new one, `unchanged` (same text already there). */
  action: 'inserted' | 'replaced' | 'unchanged';
  /** Where the section landed, 1-based, for annotations and the summary. */
  line: number;
  /** The file had no recognisable structure: the section went on top. */
  unstructured: boolean;
}

interface Heading {
  start: number;
  line: number;
  version: string | undefined;
  unreleased: boolean;
}

const VERSION_HEADING = /^##\s+\[?v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)\]?(?:\s|$)/;
const UNRELEASED = /^##\s+\[?unreleased\]?/i;
const LINK_REF = /^\[([^\]]+)\]:\s*\S+/;

/** Every `## ` heading outside fenced code, with its offset. */
function headings(text: string): { list: Heading[]; linkRefsStart: number } {
  const list: Heading[] = [];
  let fence = false;
  let offset = 0;
  let lineNo = 0;
  let linkRefsStart = text.length;
  let inRefs = false;
  for (const raw of text.split('\n')) {
    lineNo++;
    const line = raw.replace(/\r$/, '');
    if (/^\s*(```|~~~)/.test(line)) fence = !fence;
    if (!fence) {
      if (line.startsWith('## ')) {
        const version = VERSION_HEADING.exec(line)?.[1];
        list.push({ start: offset, line: lineNo, version, unreleased: UNRELEASED.test(line) });
        inRefs = false;
        linkRefsStart = text.length;
      } else if (LINK_REF.test(line)) {
        if (!inRefs) linkRefsStart = offset;
        inRefs = true;
      } else if (line.trim() !== '') {
        inRefs = false;
        linkRefsStart = text.length;
      }
    }
    offset += raw.length + 1;
  }
  return { list, linkRefsStart: Math.min(linkRefsStart, text.length) };
}

function lineAt(text: string, offset: number): number {
  let count = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) count++;
  return count;
}

export function updateChangelog(original: string, section: ChangelogSection): ChangelogUpdate {
  const eol = original.includes('\r\n') ? '\r\n' : '\n';
  const block = `## [${section.version}] - ${section.date}\n\n${section.body.trim()}\n\n`.replace(/\n/g, eol);
  const { list, linkRefsStart } = headings(original);
  const own = list.findIndex((h) => h.version !== undefined && semver.eq(h.version, section.version));
  let text: string;
  let at: number;
  let action: ChangelogUpdate['action'];
  let unstructured = false;
  if (own !== -1) {
    const start = list[own]!.start;
    const end = list[own + 1]?.start ?? linkRefsStart;
    at = start;
    text = original.slice(0, start) + block + original.slice(end);
    action = original.slice(start, end) === block ? 'unchanged' : 'replaced';
  } else {
    const versions = list.filter((h) => h.version !== undefined);
    const lower = versions.find((h) => semver.lt(h.version!, section.version));
    const unreleased = list.findIndex((h) => h.unreleased);
    if (lower) at = lower.start;
    else if (versions.length > 0) {
      const last = list.indexOf(versions[versions.length - 1]!);
      at = list[last + 1]?.start ?? linkRefsStart;
    } else if (unreleased !== -1) at = list[unreleased + 1]?.start ?? linkRefsStart;
    else if (/^\s*# /.test(original)) at = list[0]?.start ?? linkRefsStart;
    else {
      at = 0;
      unstructured = original.trim() !== '';
    }
    // Keep one blank line between what is before and the new section.
    const before = original.slice(0, at);
    const gap = before === '' || before.endsWith(`${eol}${eol}`) ? '' : before.endsWith(eol) ? eol : `${eol}${eol}`;
    text = before + gap + block + original.slice(at);
    at += gap.length;
    action = 'inserted';
  }
  const newest = !list.some((h) => h.version !== undefined && semver.gt(h.version, section.version));
  text = updateLinkReferences(text, section, eol, newest);
  if (action === 'replaced' && text === original) action = 'unchanged';
  return { text, action, line: lineAt(text, at), unstructured };
}

/**
 * `[1.2.0]: <compare>` added or replaced, and (for the newest version) `[Unreleased]: .../compare/<old>...HEAD`
 * moved on — when the file has such references.
 */
function updateLinkReferences(text: string, section: ChangelogSection, eol: string, newest: boolean): string {
  const lines = text.split(eol);
  const refIndexes = lines.map((line, i) => (LINK_REF.test(line) ? i : -1)).filter((i) => i !== -1);
  if (refIndexes.length === 0 || section.compareUrl === undefined) return text;
  const label = (i: number) => LINK_REF.exec(lines[i]!)![1]!;
  const ownRef = `[${section.version}]: ${section.compareUrl}`;
  const existing = refIndexes.find((i) => label(i) === section.version || label(i) === `v${section.version}`);
  if (existing !== undefined) lines[existing] = ownRef;
  else {
    const versionRefs = refIndexes.filter((i) => semver.valid(label(i).replace(/^v/, '')));
    if (versionRefs.length === 0) return text;
    const lower = versionRefs.find((i) => semver.lt(label(i).replace(/^v/, ''), section.version));
    lines.splice(lower ?? versionRefs[versionRefs.length - 1]! + 1, 0, ownRef);
  }
  if (section.tag && newest) {
    const unreleased = lines.findIndex((line) => /^\[unreleased\]:/i.test(line));
    if (unreleased !== -1)
      lines[unreleased] = lines[unreleased]!.replace(/\/compare\/[^/\s]+?\.\.\.HEAD/, `/compare/${section.tag}...HEAD`);
  }
  return lines.join(eol);
}
