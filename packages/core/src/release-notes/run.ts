/**
 * One step for a release's paperwork: read the range, parse and place the changes, fetch pull request details
 * in batches (with a token), render the notes, update CHANGELOG.md, and create or update the GitHub Release.
 * Everything is checked before anything is written: a refused release leaves the CHANGELOG untouched.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import semver from 'semver';
import { InputError, UserError } from '../errors';
import { dropReverted, Git, nextVersion, parseVersionTag, type ReleaseRange, readRange } from '../git';
import type { GitHubApi, SuccessfulDeployment } from '../github';
import type { Runtime } from '../runtime/port';
import { type ChangelogUpdate, updateChangelog } from './changelog';
import { applyReleaseYml, DEFAULT_CONFIG, type NotesConfig } from './config';
import { type DeploymentFacts, renderDeployment, withDeployment } from './deployment';
import { buildNotes, type PullRequestInfo, type ReleaseNotes } from './model';
import { fetchPullRequests, findFirstTimers } from './pulls';
import { checkRelease, generateGitHubNotes, type ReleaseResult, releaseDiffers, upsertRelease } from './release';
import { DEFAULT_TEMPLATE, type RenderOptions, renderNotes, renderSections } from './render';

export interface GitHubAccess {
  api: GitHubApi;
  /** `owner/name` */
  repository: string;
  /** The environment's active GitHub Deployment (core/github's DeploymentRecorder), for the deployment facts. */
  activeDeployment?: ((environment: string) => Promise<SuccessfulDeployment | undefined>) | undefined;
}

export interface ReleaseNotesOptions {
  /** The working copy (the workspace). */
  cwd: string;
  from?: string | undefined;
  to: string;
  tag?: string | undefined;
  paths?: readonly string[] | undefined;
  tagPrefix?: string | undefined;
  includePrereleases?: boolean | undefined;
  config?: NotesConfig | undefined;
  /** `.github/release.yml` (relative to cwd); read when it exists. */
  releaseConfig: string;
  template?: string | undefined;
  approvers: boolean;
  /** Fail (before anything is written) when a listed change has fewer approving reviews than this; 0: no check. */
  requireApprovals?: number | undefined;
  /** Path of the CHANGELOG to update (absolute), or undefined. */
  changelog?: string | undefined;
  /** Where to write the notes (absolute); default: a file in RUNNER_TEMP. */
  notesFile?: string | undefined;
  source: 'commits' | 'github';
  release?:
    | {
        draft: boolean;
        prerelease: boolean | undefined;
        makeLatest: 'true' | 'false' | 'legacy';
        name?: string | undefined;
      }
    | undefined;
  /** With a token: pull requests, approvers, first-time contributors, the release. */
  github?: GitHubAccess | undefined;
  /** `owner/name` and server for links, known without a token too. */
  repository?: string | undefined;
  serverUrl?: string | undefined;
  deployment?: DeploymentFacts | undefined;
  dryRun: boolean;
}

export interface ReleaseNotesResult {
  notes: ReleaseNotes;
  markdown: string;
  notesFile: string | undefined;
  range: { from: string | undefined; to: string; toCommit: string; commits: number; automatic: boolean };
  changelog: (ChangelogUpdate & { path: string; written: boolean }) | undefined;
  release: ReleaseResult | undefined;
  /** In a dry run: what `release: true` would do. */
  releasePlan: 'create' | 'update' | 'leave as it is' | undefined;
  /** GitHub API requests sent (0 without a token). */
  requests: number;
  /** What the user should know (no previous tag, label categories without a token ...). */
  notices: string[];
}

/** The version being released: from `tag`, else a release tag on `to`, else the next one by the commits. */
function releaseVersion(
  options: ReleaseNotesOptions,
  range: ReleaseRange,
  changes: ReleaseRange['changes'],
): { version?: string; tag?: string } {
  if (options.tag !== undefined) {
    const parsed = parseVersionTag(options.tag, options.tagPrefix ?? '');
    return { tag: options.tag, ...(parsed ? { version: parsed.version.version } : {}) };
  }
  if (range.tagOnTo) return { tag: range.tagOnTo.tag, version: range.tagOnTo.version.version };
  const next = nextVersion(changes, range.previousTag?.version);
  if (next === undefined) return {};
  // The new tag is spelled like the previous one (`v1.2.0` or `1.2.0`).
  const bare = range.previousTag
    ? !range.previousTag.tag.slice((options.tagPrefix ?? '').length).startsWith('v')
    : false;
  return { version: next, tag: `${options.tagPrefix ?? ''}${bare ? '' : 'v'}${next}` };
}

/** GitHub's generated body first, then what it does not say: breaking changes and who approved each change. */
function withGitHubBody(
  body: string,
  notes: ReleaseNotes,
  config: NotesConfig,
  options: RenderOptions & { deployment: string },
): string {
  const breaking = notes.sections.filter((s) => config.sections.find((c) => c.title === s.title)?.breaking);
  const approvals = options.approvers
    ? renderSections(
        { ...notes, sections: [{ title: 'Approvals', entries: notes.sections.flatMap((s) => s.entries) }] },
        options,
      )
    : '';
  const parts = [body.trim(), breaking.length > 0 ? renderSections({ ...notes, sections: breaking }, options) : ''];
  return `${[...parts, approvals, options.deployment].filter(Boolean).join('\n\n')}\n`;
}

/** Inputs that only make sense together, checked before anything is read; returns the version of `tag`. */
function checkInputs(options: ReleaseNotesOptions): semver.SemVer | undefined {
  if (options.release && !options.github)
    throw new InputError('token', 'is needed for the GitHub release (release: true)', undefined, '${{ github.token }}');
  if ((options.requireApprovals ?? 0) > 0 && !options.github)
    throw new InputError(
      'token',
      'is needed for require-approvals (the approving reviews of each pull request)',
      undefined,
      '${{ github.token }}',
    );
  if (options.source === 'github' && !options.github)
    throw new InputError('source', 'github needs a token (the generate-notes API)', 'github', 'commits');
  if (options.tag === undefined) return undefined;
  const parsed = parseVersionTag(options.tag, options.tagPrefix ?? '');
  if (!parsed)
    throw new InputError(
      'tag',
      `must be a semver version${options.tagPrefix ? ` after the prefix ${options.tagPrefix}` : ''}, with or without v`,
      options.tag,
      `${options.tagPrefix ?? ''}v1.2.0`,
    );
  return parsed.version;
}

function readReleaseYml(cwd: string, path: string): string | undefined {
  const full = join(cwd, path);
  if (existsSync(full)) return readFileSync(full, 'utf8');
  const other = full.replace(/\.yml$/, '.yaml');
  return other !== full && existsSync(other) ? readFileSync(other, 'utf8') : undefined;
}

/**
 * The audit rule of the runbooks (two approvers per change): every listed change needs `required` approving reviews
 * on its pull request; a change pushed without one has none. Checked before anything is written.
 */
function checkApprovals(notes: ReleaseNotes, required: number): void {
  if (required <= 0) return;
  const short = notes.sections.flatMap((s) => s.entries).filter((e) => (e.pull?.approvers.length ?? 0) < required);
  if (short.length === 0) return;
  const named = short.slice(0, 20).map((entry) => {
    const what = entry.pull ? `#${entry.pull.number}` : entry.hash.slice(0, 7);
    const who = entry.pull
      ? entry.pull.approvers.length > 0
        ? `approved by ${entry.pull.approvers.map((login) => `@${login}`).join(', ')}`
        : 'no approving review'
      : 'no pull request';
    return `${what} ${entry.subject} (${who})`;
  });
  throw new UserError(
    `${short.length} of ${notes.changes} change(s) have fewer than ${required} approving review(s) (require-approvals: ${required}): ` +
      `${named.join('; ')}${short.length > 20 ? `; and ${short.length - 20} more` : ''}. Nothing was written (no CHANGELOG, notes file or release)`,
    { hint: 'get the missing reviews, or leave the change out of the release' },
  );
}

export async function createReleaseNotes(rt: Runtime, options: ReleaseNotesOptions): Promise<ReleaseNotesResult> {
  const notices: string[] = [];
  const git = new Git({ cwd: options.cwd, signal: rt.signal, env: rt.env });
  const current = checkInputs(options);
  const range = await rt.log.group('Reading the commits', () =>
    readRange(git, {
      from: options.from,
      to: options.to,
      paths: options.paths,
      tagPrefix: options.tagPrefix,
      current,
      includePrereleases: options.includePrereleases,
    }),
  );
  if (range.automatic && range.previousTag === undefined) {
    const notice = `No previous release tag${options.tagPrefix ? ` with prefix ${options.tagPrefix}` : ''} is reachable from ${options.to}: the notes start at the first commit`;
    notices.push(notice);
    rt.log.warning(notice, { title: 'release-notes: first release' });
  }
  rt.log.info(
    `Range ${range.from ?? '(first commit)'}..${options.to}: ${range.commitCount} commits, ${range.changes.length} changes`,
  );
  const { kept, reverted } = dropReverted(range.changes);
  const { version, tag } = releaseVersion(options, range, kept);

  let config = options.config ?? DEFAULT_CONFIG;
  // Parsed before any request, so a broken release.yml is refused first.
  const releaseYml = readReleaseYml(options.cwd, options.releaseConfig);
  const labelConfig = releaseYml === undefined ? undefined : applyReleaseYml(config, releaseYml, options.releaseConfig);
  let pulls: Map<string, PullRequestInfo> | undefined;
  let firstTimers: Set<string> | undefined;
  const github = options.github;
  if (github) {
    const [owner, name] = github.repository.split('/') as [string, string];
    pulls = await rt.log.group('Pull requests (GraphQL, 100 commits a query)', () =>
      fetchPullRequests(
        github.api,
        owner,
        name,
        kept.map((c) => c.commit.hash),
      ),
    );
    const perAuthor = new Map<string, number>();
    for (const pull of new Map([...pulls.values()].map((p) => [p.number, p])).values())
      if (pull.author) perAuthor.set(pull.author, (perAuthor.get(pull.author) ?? 0) + 1);
    firstTimers = perAuthor.size > 0 ? await findFirstTimers(github.api, github.repository, perAuthor) : new Set();
  }
  if (releaseYml !== undefined) {
    if (pulls) config = labelConfig!;
    else {
      const notice = `${options.releaseConfig} sorts by pull request labels, which need a token: the changes are sorted by commit type`;
      notices.push(notice);
      rt.log.info(notice);
    }
  }

  const repositoryUrl =
    options.repository !== undefined ? `${options.serverUrl ?? 'https://github.com'}/${options.repository}` : undefined;
  const notes = buildNotes(
    {
      version,
      tag,
      previousTag: range.previousTag?.tag ?? (options.from !== undefined ? options.from : undefined),
      from: range.from,
      to: options.to,
      toCommit: range.toCommit,
      date: new Date(rt.clock.now()).toISOString().slice(0, 10),
      repositoryUrl,
      commits: range.commitCount,
    },
    kept,
    reverted,
    { config, pulls, firstTimers },
  );
  checkApprovals(notes, options.requireApprovals ?? 0);
  let facts = options.deployment;
  if (facts?.environment && github?.activeDeployment) {
    // A convenience: a token without `deployments: read` costs the notes this line, not the release.
    const active = await github.activeDeployment(facts.environment).catch((error: unknown) => {
      rt.log.warning(`Could not read the GitHub Deployments of ${facts!.environment}: ${(error as Error).message}`);
      return undefined;
    });
    facts = withDeployment(facts, active, range.toCommit);
  }
  const deployment = renderDeployment(facts);
  const renderOptions = { approvers: options.approvers, deployment };
  let markdown = renderNotes(notes, options.template ?? DEFAULT_TEMPLATE, renderOptions);
  if (options.source === 'github') {
    if (!tag) throw new InputError('tag', 'is needed for source: github: none was given or found', undefined, 'v1.2.0');
    const generated = await generateGitHubNotes(github!.api, github!.repository, {
      tag,
      target: range.toCommit,
      previousTag: notes.previousTag,
      configurationFile: releaseYml !== undefined ? options.releaseConfig : undefined,
    });
    markdown = withGitHubBody(generated.body, notes, config, renderOptions);
  }

  // Check the release before writing anything: a refused release changes nothing.
  let existing: Awaited<ReturnType<typeof checkRelease>>;
  const want =
    options.release && github
      ? {
          tag: tag ?? '',
          target: range.toCommit,
          name: options.release.name ?? tag ?? '',
          body: markdown,
          draft: options.release.draft,
          prerelease: options.release.prerelease ?? (version !== undefined && semver.prerelease(version) !== null),
          makeLatest: options.release.makeLatest,
        }
      : undefined;
  if (want) {
    if (!tag)
      throw new InputError(
        'tag',
        'is needed for the release: none was given and there are no changes to derive one from',
        undefined,
        'v1.2.0',
      );
    existing = await checkRelease(github!.api, github!.repository, want);
  }

  let changelog: ReleaseNotesResult['changelog'];
  if (options.changelog !== undefined) {
    if (!version)
      throw new InputError(
        'tag',
        'is needed for the CHANGELOG section: no version was given or found',
        undefined,
        'v1.2.0',
      );
    const before = existsSync(options.changelog) ? readFileSync(options.changelog, 'utf8') : CHANGELOG_HEADER;
    const update = updateChangelog(before, {
      version,
      date: notes.date,
      body: renderSections(notes, { ...renderOptions, level: 3 }),
      compareUrl: notes.compareUrl,
      tag,
    });
    const write = !options.dryRun && update.action !== 'unchanged';
    if (write) {
      mkdirSync(dirname(options.changelog), { recursive: true });
      writeFileSync(options.changelog, update.text);
    }
    const shown = relative(options.cwd, options.changelog);
    if (update.unstructured)
      notices.push(`${shown} has no Keep a Changelog structure: the new section went on top, the rest is unchanged`);
    changelog = { ...update, path: shown, written: write };
  }

  let notesFile = options.notesFile;
  if (!options.dryRun) {
    notesFile ??= join(rt.env['RUNNER_TEMP'] || tmpdir(), `release-notes-${version ?? 'unreleased'}.md`);
    mkdirSync(dirname(notesFile), { recursive: true });
    writeFileSync(notesFile, markdown);
  }

  let release: ReleaseResult | undefined;
  let releasePlan: ReleaseNotesResult['releasePlan'];
  if (want && !options.dryRun) release = await upsertRelease(github!.api, github!.repository, want, existing);
  else if (want) releasePlan = !existing ? 'create' : releaseDiffers(existing, want) ? 'update' : 'leave as it is';
  return {
    notes,
    markdown,
    notesFile,
    range: {
      from: range.from,
      to: options.to,
      toCommit: range.toCommit,
      commits: range.commitCount,
      automatic: range.automatic,
    },
    changelog,
    release,
    releasePlan,
    requests: github?.api.requests ?? 0,
    notices,
  };
}

const CHANGELOG_HEADER =
  '# Changelog\n\nAll notable changes to this project are documented in this file.\nThe format is based on [Keep a Changelog](https://keepachangelog.com/en/1.1.0/), and this project adheres to [Semantic Versioning](https://semver.org/spec/v2.0.0.html).\n\n';
