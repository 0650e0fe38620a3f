/**
 * Commit messages as conventional commits (https://www.conventionalcommits.org), parsed by
 * `conventional-commits-parser`: type, scope, `!`, `BREAKING CHANGE:` footers, issue references, reverts;
 * plus what GitHub writes: `Merge pull request #n from ...` headers, a squash merge's `(#n)` suffix and
 * `Co-authored-by:` trailers. A message that is not conventional still parses (conventional: false).
 */
import { CommitParser } from 'conventional-commits-parser';

export interface Person {
  name: string;
  email: string;
}

export interface ConventionalCommit {
  /** Whether the header had the `type(scope): subject` shape. */
  conventional: boolean;
  /** Lower-cased (`Feat` and `feat` are one type); undefined when not conventional. */
  type: string | undefined;
  scope: string | undefined;
  /** The description after `type(scope): `; the whole header when not conventional; no `(#n)` suffix. */
  subject: string;
  /** The first line as written. */
  header: string;
  body: string | undefined;
  /** `!` after the type/scope, or a `BREAKING CHANGE:` / `BREAKING-CHANGE:` footer. */
  breaking: boolean;
  /** The texts of the breaking-change footers (or the subject, for a bare `!`). */
  breakingNotes: string[];
  /** Issues the commit closes (`Closes #12`, `fixes owner/repo#3`), as written after the keyword. */
  closes: string[];
  coAuthors: Person[];
  /** For `Revert "..."` / `This reverts commit <hash>.` and `revert:` commits: what is reverted. */
  revert: { header: string; hash: string | undefined } | undefined;
  /** The pull request, from a merge commit's header or a squash merge's `(#n)` suffix. */
  pullRequest: number | undefined;
}

const MERGE_PR = /^Merge pull request #(\d+) from \S+/;
const PR_SUFFIX = /\s*\(#(\d+)\)$/;
const CO_AUTHOR = /^co-authored-by:\s*(.*?)\s*<([^>]+)>\s*$/gim;

let parser: CommitParser | undefined;

function commitParser(): CommitParser {
  parser ??= new CommitParser({
    // The default pattern plus `!` and any scope text but parentheses (`feat(api/v2, web)!: ...`).
    headerPattern: /^(\w+)(?:\(([^()\r\n]*)\))?!?: (.+)$/,
    breakingHeaderPattern: /^(\w+)(?:\(([^()\r\n]*)\))?!: (.+)$/,
    headerCorrespondence: ['type', 'scope', 'subject'],
    noteKeywords: ['BREAKING CHANGE', 'BREAKING-CHANGE'],
    revertPattern: /^(?:Revert|revert:)\s"?([\s\S]+?)"?\s*This reverts commit (\w+)\.?/i,
    revertCorrespondence: ['header', 'hash'],
  });
  return parser;
}

export function parseConventionalCommit(message: string): ConventionalCommit {
  let text = message.replace(/\r\n/g, '\n').trim();
  let pullRequest: number | undefined;
  const merge = MERGE_PR.exec(text);
  if (merge) {
    // GitHub's merge commit: the PR title is the first line after the header.
    pullRequest = Number(merge[1]);
    const rest = text.slice(merge[0].length).trim();
    text = rest === '' ? text : rest;
  }
  // The parser refuses an empty message; an empty one is simply not conventional.
  const parsed = commitParser().parse(text === '' ? '(no message)' : text);
  const header = (parsed.header ?? text.split('\n', 1)[0] ?? '').trim();
  const type = typeof parsed['type'] === 'string' && parsed['type'] !== '' ? parsed['type'].toLowerCase() : undefined;
  const conventional = type !== undefined && typeof parsed['subject'] === 'string';
  let subject = conventional ? String(parsed['subject']).trim() : header;
  const suffix = PR_SUFFIX.exec(subject);
  if (suffix) {
    pullRequest ??= Number(suffix[1]);
    subject = subject.slice(0, suffix.index);
  }
  const breakingNotes = parsed.notes
    .filter((note) => /^BREAKING[ -]CHANGE$/i.test(note.title))
    .map((note) => note.text.trim());
  const coAuthors = [...text.matchAll(CO_AUTHOR)].map((m) => ({ name: m[1]!, email: m[2]! }));
  const closes = parsed.references
    .filter((ref) => ref.action !== null && ref.issue !== '')
    .map((ref) => `${ref.owner && ref.repository ? `${ref.owner}/${ref.repository}` : ''}#${ref.issue}`);
  let revert: ConventionalCommit['revert'];
  if (parsed.revert) {
    revert = { header: String(parsed.revert['header'] ?? ''), hash: parsed.revert['hash'] ?? undefined };
  } else if (type === 'revert') {
    revert = { header: subject.replace(/^"(.*)"$/, '$1'), hash: undefined };
  }
  const scope = typeof parsed['scope'] === 'string' && parsed['scope'] !== '' ? parsed['scope'] : undefined;
  return {
    conventional,
    type,
    scope,
    subject,
    header,
    body: parsed.body ?? undefined,
    breaking: breakingNotes.length > 0,
    breakingNotes: [...new Set(breakingNotes)],
    closes: [...new Set(closes)],
    coAuthors,
    revert,
    pullRequest,
  };
}
