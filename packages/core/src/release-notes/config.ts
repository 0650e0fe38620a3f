/**
 * Where each change goes: sections matched by conventional type, scope or pull request label, and what is
 * left out. Two sources: the `config` input (ours), and GitHub's own `.github/release.yml`
 * (`changelog.categories` with `labels` / `exclude`, `changelog.exclude.labels` / `.authors`, `*`), so a
 * team's existing configuration keeps working.
 */
import { parse as parseYaml } from 'yaml';
import { UserError } from '../errors';

export interface Section {
  title: string;
  /** Conventional types that land here (`feat`). */
  types: string[];
  /** Conventional scopes that land here whatever the type (`security`). */
  scopes: string[];
  /** Pull request labels that land here; `*` takes every change not placed before. */
  labels: string[];
  /** Changes marked breaking land here (and only here). */
  breaking: boolean;
  /** Left out of this section (they may still land in a later one), as in release.yml categories. */
  excludeLabels: string[];
  excludeAuthors: string[];
}

export interface Exclusions {
  types: string[];
  labels: string[];
  /** Commit author names / e-mails or GitHub logins (`dependabot[bot]`). */
  authors: string[];
}

export interface NotesConfig {
  sections: Section[];
  exclude: Exclusions;
  /** Where the changes go that no section takes. */
  otherTitle: string;
}

function section(title: string, fields: Partial<Section>): Section {
  return {
    title,
    types: [],
    scopes: [],
    labels: [],
    breaking: false,
    excludeLabels: [],
    excludeAuthors: [],
    ...fields,
  };
}

export const DEFAULT_CONFIG: NotesConfig = {
  sections: [
    section('Breaking changes', { breaking: true }),
    section('Security', { types: ['security'], scopes: ['security'], labels: ['security'] }),
    section('Features', { types: ['feat', 'feature'], labels: ['enhancement', 'feature'] }),
    section('Fixes', { types: ['fix', 'bugfix'], labels: ['bug', 'fix'] }),
    section('Performance', { types: ['perf'], labels: ['performance'] }),
  ],
  exclude: { types: [], labels: [], authors: [] },
  otherTitle: 'Other',
};

type Raw = Record<string, unknown>;

function strings(value: unknown, where: string, source: string): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((item) => typeof item === 'string' || typeof item === 'number'))
    return value.map(String);
  throw new UserError(`${source}: ${where} must be a list of names (got ${JSON.stringify(value)})`, {
    hint: `${where.split('.').pop()}: [feat, fix]`,
  });
}

function object(value: unknown, where: string, source: string): Raw {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value))
    throw new UserError(`${source}: ${where} must be a mapping (got ${JSON.stringify(value)})`);
  return value as Raw;
}

/**
 * The `config` input: `sections` (title with types, scopes, labels; `breaking: true`), `exclude` (types,
 * labels, authors), `other` (the title of the rest). Without `sections`, the default sections.
 */
export function parseNotesConfig(document: unknown, source = "input 'config'"): NotesConfig {
  const raw = object(document, 'the document', source);
  const known = new Set(['sections', 'exclude', 'other']);
  const unknown = Object.keys(raw).filter((key) => !known.has(key));
  if (unknown.length > 0)
    throw new UserError(`${source}: unknown key ${unknown.join(', ')} (known: ${[...known].join(', ')})`, {
      hint: 'config: "{ sections: [{ title: Features, types: [feat] }], exclude: { types: [chore] } }"',
    });
  const sections =
    raw['sections'] === undefined
      ? DEFAULT_CONFIG.sections
      : (Array.isArray(raw['sections']) ? raw['sections'] : [raw['sections']]).map((item, index) => {
          const entry = object(item, `sections[${index}]`, source);
          if (typeof entry['title'] !== 'string' || entry['title'].trim() === '')
            throw new UserError(`${source}: sections[${index}] needs a title`, {
              hint: '{ title: Features, types: [feat] }',
            });
          const where = `sections[${index}]`;
          return section(entry['title'], {
            types: strings(entry['types'], `${where}.types`, source).map((t) => t.toLowerCase()),
            scopes: strings(entry['scopes'], `${where}.scopes`, source),
            labels: strings(entry['labels'], `${where}.labels`, source),
            breaking: entry['breaking'] === true,
          });
        });
  const exclude = object(raw['exclude'], 'exclude', source);
  return {
    sections,
    exclude: {
      types: strings(exclude['types'], 'exclude.types', source).map((t) => t.toLowerCase()),
      labels: strings(exclude['labels'], 'exclude.labels', source),
      authors: strings(exclude['authors'], 'exclude.authors', source),
    },
    otherTitle: typeof raw['other'] === 'string' ? raw['other'] : DEFAULT_CONFIG.otherTitle,
  };
}

/**
 * GitHub's `.github/release.yml` on top of `base`: its categories become the sections (after Breaking
 * changes, which stays first when `base` has it) and its exclusions are added.
 */
export function applyReleaseYml(base: NotesConfig, text: string, source: string): NotesConfig {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new UserError(`${source} is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  const changelog = object(object(document, 'the document', source)['changelog'], 'changelog', source);
  const exclude = object(changelog['exclude'], 'changelog.exclude', source);
  const categories = Array.isArray(changelog['categories']) ? changelog['categories'] : [];
  const sections = categories.map((item, index) => {
    const entry = object(item, `changelog.categories[${index}]`, source);
    const where = `changelog.categories[${index}]`;
    if (typeof entry['title'] !== 'string') throw new UserError(`${source}: ${where} needs a title`);
    const own = object(entry['exclude'], `${where}.exclude`, source);
    return section(entry['title'], {
      labels: strings(entry['labels'], `${where}.labels`, source),
      excludeLabels: strings(own['labels'], `${where}.exclude.labels`, source),
      excludeAuthors: strings(own['authors'], `${where}.exclude.authors`, source),
    });
  });
  const breaking = base.sections.filter((s) => s.breaking);
  return {
    sections: sections.length > 0 ? [...breaking, ...sections] : base.sections,
    exclude: {
      types: base.exclude.types,
      labels: [...base.exclude.labels, ...strings(exclude['labels'], 'changelog.exclude.labels', source)],
      authors: [...base.exclude.authors, ...strings(exclude['authors'], 'changelog.exclude.authors', source)],
    },
    otherTitle: base.otherTitle,
  };
}
