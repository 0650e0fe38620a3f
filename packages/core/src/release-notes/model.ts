/**
 * The release notes as data (the `json` output): sections of entries, contributors, the range. Built from the
 * changes of a range, their pull requests when a token found them, and the configuration.
 */
import { type Change, type Person, parseConventionalCommit } from '../git';
import type { NotesConfig, Section } from './config';

export interface PullRequestInfo {
  number: number;
  title: string;
  url: string;
  labels: string[];
  /** GitHub login of the author (undefined for a deleted account). */
  author: string | undefined;
  /** Logins whose latest review is APPROVED (dismissed reviews do not count). */
  approvers: string[];
}

export interface Entry {
  subject: string;
  type: string | undefined;
  scope: string | undefined;
  breaking: boolean;
  breakingNotes: string[];
  /** The commit that stands for the change (squash commit, merge commit or direct commit). */
  hash: string;
  pullRequest: number | undefined;
  pull: PullRequestInfo | undefined;
  author: Person & { login?: string | undefined };
  coAuthors: Person[];
  closes: string[];
  commits: number;
}

export interface NotesSection {
  title: string;
  entries: Entry[];
}

export interface Contributor {
  /** `@login` when known, else the git author name. */
  name: string;
  login: string | undefined;
  /** Their first contribution to the repository is in this release (known with a token). */
  firstTime: boolean;
}

/** What the notes are about: the release and its range, known before the changes are placed. */
export interface NotesFrame {
  version: string | undefined;
  tag: string | undefined;
  previousTag: string | undefined;
  from: string | undefined;
  to: string;
  toCommit: string;
  /** The release date, YYYY-MM-DD. */
  date: string;
  repositoryUrl: string | undefined;
  commits: number;
}

export interface ReleaseNotes extends NotesFrame {
  compareUrl: string | undefined;
  sections: NotesSection[];
  contributors: Contributor[];
  /** Entries listed (excluded and reverted ones not counted). */
  changes: number;
  excluded: number;
  /** Changes left out because a later change in the same range reverted them (both are left out). */
  reverted: number;
}

function authorMatches(patterns: readonly string[], entry: Entry): boolean {
  const names = [entry.author.login, entry.author.name, entry.author.email].filter((n): n is string => !!n);
  return patterns.some((pattern) => names.some((name) => name.toLowerCase() === pattern.toLowerCase()));
}

/** The section an entry goes to (index into sections; sections.length = Other), or -1 when excluded. */
export function placeEntry(config: NotesConfig, entry: Entry): number {
  const labels = entry.pull?.labels ?? [];
  const { exclude } = config;
  if (entry.type !== undefined && exclude.types.includes(entry.type)) return -1;
  if (labels.some((label) => exclude.labels.includes(label)) || authorMatches(exclude.authors, entry)) return -1;
  const index = config.sections.findIndex((section: Section) => {
    if (section.breaking) return entry.breaking;
    if (labels.some((label) => section.excludeLabels.includes(label)) || authorMatches(section.excludeAuthors, entry))
      return false;
    return (
      (entry.type !== undefined && section.types.includes(entry.type)) ||
      (entry.scope !== undefined && section.scopes.includes(entry.scope)) ||
      section.labels.includes('*') ||
      labels.some((label) => section.labels.includes(label))
    );
  });
  return index === -1 ? config.sections.length : index;
}

function entryOf(change: Change, pull: PullRequestInfo | undefined): Entry {
  let parsed = change.parsed;
  // A merge of "Merge branch" style or a squash titled by hand: the pull request's title may say more.
  if (!parsed.conventional && pull) {
    const fromTitle = parseConventionalCommit(pull.title);
    if (fromTitle.conventional) parsed = { ...fromTitle, pullRequest: parsed.pullRequest };
    else parsed = { ...parsed, subject: pull.title };
  }
  const coAuthors = new Map<string, Person>();
  for (const commit of change.commits)
    for (const person of parseCoAuthors(commit, change)) coAuthors.set(person.email.toLowerCase(), person);
  const author = change.commits.length > 1 ? (change.commits[1] ?? change.commit) : change.commit;
  return {
    subject: parsed.subject,
    type: parsed.type,
    scope: parsed.scope,
    breaking: parsed.breaking,
    breakingNotes: parsed.breakingNotes,
    hash: change.commit.hash,
    pullRequest: pull?.number ?? parsed.pullRequest,
    pull,
    author: { name: author.authorName, email: author.authorEmail, login: pull?.author },
    coAuthors: [...coAuthors.values()],
    closes: parsed.closes,
    commits: change.commits.length,
  };
}

function parseCoAuthors(commit: Change['commit'], change: Change): Person[] {
  return commit === change.commit ? change.parsed.coAuthors : parseConventionalCommit(commit.message).coAuthors;
}

export interface BuildOptions {
  config: NotesConfig;
  /** Pull request details by the hash of each change's commit (with a token). */
  pulls?: ReadonlyMap<string, PullRequestInfo> | undefined;
  /** Logins whose first contribution this is. */
  firstTimers?: ReadonlySet<string> | undefined;
}

/** `changes` without the reverted ones (dropReverted); `reverted` says how many were left out. */
export function buildNotes(
  frame: NotesFrame,
  changes: readonly Change[],
  reverted: number,
  options: BuildOptions,
): ReleaseNotes {
  const { config } = options;
  const buckets: Entry[][] = [...config.sections.map(() => []), []];
  let excluded = 0;
  for (const change of changes) {
    const entry = entryOf(change, options.pulls?.get(change.commit.hash));
    const at = placeEntry(config, entry);
    if (at === -1) excluded++;
    else buckets[at]!.push(entry);
  }
  const titles = [...config.sections.map((s) => s.title), config.otherTitle];
  const sections = buckets
    .map((entries, index) => ({ title: titles[index]!, entries }))
    .filter((s) => s.entries.length > 0);
  const listed = sections.flatMap((s) => s.entries);

  const contributors = new Map<string, Contributor>();
  for (const entry of listed) {
    const people: Array<{ name: string; login: string | undefined }> = [
      { name: entry.author.name, login: entry.author.login },
      ...entry.coAuthors.map((p) => ({ name: p.name, login: undefined })),
    ];
    for (const person of people) {
      if (/\[bot\]$/.test(person.login ?? person.name)) continue;
      const key = (person.login ?? person.name).toLowerCase();
      if (!contributors.has(key))
        contributors.set(key, {
          name: person.login ? `@${person.login}` : person.name,
          login: person.login,
          firstTime: person.login !== undefined && (options.firstTimers?.has(person.login) ?? false),
        });
    }
  }
  const compareUrl =
    frame.repositoryUrl && frame.previousTag
      ? `${frame.repositoryUrl}/compare/${frame.previousTag}...${frame.tag ?? frame.toCommit}`
      : undefined;
  return {
    ...frame,
    compareUrl,
    sections,
    contributors: [...contributors.values()],
    changes: listed.length,
    excluded,
    reverted,
  };
}
