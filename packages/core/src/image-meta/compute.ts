/**
 * The image version and tags from the tag rules, as docker/metadata-action
 * computes them: rules run in priority order (highest first); the first value
 * produced is the version, later distinct values are extra tags; whether
 * `latest` is added is decided by the first rule that produced a value (per
 * type under `latest=auto`, or the flavor's `true`/`false`).
 */
import semver from 'semver';
import { InputError } from '../errors';
import { formatDate } from './date';
import { normalizePep440, parsePep440 } from './pep440';
import type { Flavor, TagRule } from './rules';
import { type Helper, isRawTemplate, renderTemplate, type TemplateScope } from './template';

/** What the run is about: the runner's event, ref and commit, and the repository as the GitHub API describes it. */
export interface MetaContext {
  eventName: string;
  ref: string;
  sha: string;
  /** The webhook payload at GITHUB_EVENT_PATH. */
  payload: EventPayload;
  commitDate: Date;
  /** "Now": SOURCE_DATE_EPOCH when set, for reproducible builds. */
  now: Date;
  repo: RepoInfo;
  /** Length of `{{sha}}` and `type=sha` (DOCKER_METADATA_SHORT_SHA_LENGTH, default 7). */
  shortShaLength: number;
  /** Further expressions usable in rules and labels, e.g. `next_version`. */
  extra?: Record<string, string>;
}

export interface EventPayload {
  number?: number;
  base_ref?: string | null;
  repository?: { default_branch?: string };
  pull_request?: { base?: { ref?: string }; head?: { sha?: string } };
  commits?: { id: string; timestamp: string }[];
  head_commit?: { id: string; timestamp: string } | null;
  [key: string]: unknown;
}

export interface RepoInfo {
  name: string;
  description: string;
  htmlUrl: string;
  license: string;
  defaultBranch: string;
}

export interface ImageVersion {
  main: string | undefined;
  partial: string[];
  latest: boolean;
  /** Warnings metadata-action would print (a tag that is not semver, a pattern that does not match). */
  warnings: string[];
}

const HEADS = /^refs\/heads\//;
const TAGS = /^refs\/tags\//;
const PULLS = /^refs\/pull\//;

export function sanitizeTag(tag: string): string {
  return tag.replace(/[^a-zA-Z0-9._-]+/g, '-');
}

export function shortSha(sha: string, length: number): string {
  return length >= sha.length ? sha : sha.slice(0, length);
}

function dateHelper(date: Date): Helper {
  return (args, options) => {
    for (const key of Object.keys(options))
      if (key !== 'tz')
        throw new InputError(
          'tags',
          `unknown date option ${JSON.stringify(key)} (only tz)`,
          undefined,
          "type=raw,value={{date 'YYYYMMDD' tz='Europe/Paris'}}",
        );
    return formatDate(date, args[0] ?? '', options.tz ?? 'UTC');
  };
}

/** `{{branch}}`, `{{tag}}`, `{{sha}}`, `{{base_ref}}`, `{{is_default_branch}}`, `{{date}}`, `{{commit_date}}`, plus the extras. */
export function globalScope(context: MetaContext): TemplateScope {
  const { ref, payload } = context;
  const branch = HEADS.test(ref) ? ref.replace(HEADS, '') : '';
  const isDefault = (() => {
    const name = ref.replace(HEADS, '');
    if (name === '') return 'false';
    if (payload.repository?.default_branch === name) return 'true';
    // These events always run on the last commit of the default branch.
    return /create|discussion|issues|schedule/.test(context.eventName) ? 'true' : 'false';
  })();
  let baseRef = '';
  if (TAGS.test(ref) && payload.base_ref) baseRef = payload.base_ref.replace(HEADS, '');
  else if (PULLS.test(ref) && payload.pull_request?.base?.ref) baseRef = payload.pull_request.base.ref;
  return {
    ...context.extra,
    branch,
    tag: TAGS.test(ref) ? ref.replace(TAGS, '') : '',
    sha: shortSha(context.sha, context.shortShaLength),
    base_ref: baseRef,
    is_default_branch: isDefault,
    is_not_default_branch: isDefault === 'false' ? 'true' : 'false',
    date: dateHelper(context.now),
    commit_date: dateHelper(context.commitDate),
  };
}

export function computeVersion(rules: TagRule[], flavor: Flavor, context: MetaContext): ImageVersion {
  const scope = globalScope(context);
  const version: ImageVersion = { main: undefined, partial: [], latest: false, warnings: [] };
  let latestDecided = false;
  const expand = (text: string, rule: TagRule) =>
    renderTemplate(text, scope, `Input 'tags', rule ${JSON.stringify(rule.source)}`);
  const withAffixes = (value: string, rule: TagRule) => {
    let out = value;
    if (Object.hasOwn(rule.attrs, 'prefix')) out = `${expand(rule.attrs.prefix!, rule)}${out}`;
    else if (flavor.prefix) out = `${expand(flavor.prefix, rule)}${out}`;
    if (Object.hasOwn(rule.attrs, 'suffix')) out = `${out}${expand(rule.attrs.suffix!, rule)}`;
    else if (flavor.suffix) out = `${out}${expand(flavor.suffix, rule)}`;
    return out;
  };
  const add = (raw: string, autoLatest: boolean) => {
    if (raw === '') return;
    const value = sanitizeTag(raw);
    if (version.main === undefined) version.main = value;
    else if (value !== version.main) version.partial.push(value);
    if (!latestDecided) {
      version.latest = flavor.latest === 'auto' ? autoLatest : flavor.latest === 'true';
      latestDecided = true;
    }
  };
  /** The value semver/pep440/match work on: `value` when given, else the pushed tag; undefined when neither. */
  const versionSource = (rule: TagRule): string | undefined => {
    if (rule.attrs.value) return expand(rule.attrs.value, rule);
    return TAGS.test(context.ref) ? context.ref.replace(TAGS, '') : undefined;
  };
  const applyMatch = (raw: string, rule: TagRule): string => {
    if (!rule.attrs.match) return raw;
    const found = raw.match(rule.attrs.match);
    if (!found) {
      version.warnings.push(`${rule.attrs.match} does not match ${raw}.`);
      return raw;
    }
    return found[1] ?? '';
  };

  for (const rule of rules) {
    const enabled = expand(rule.attrs.enable!, rule);
    if (enabled !== 'true' && enabled !== 'false') {
      throw new InputError(
        'tags',
        `enable=${enabled} is not true or false`,
        rule.source,
        'type=ref,event=branch,enable={{is_default_branch}}',
      );
    }
    if (enabled === 'false') continue;
    switch (rule.type) {
      case 'schedule':
        if (/schedule/.test(context.eventName))
          add(
            withAffixes(
              renderTemplate(
                rule.attrs.pattern!,
                { date: scope.date, commit_date: scope.commit_date },
                `Input 'tags', rule ${JSON.stringify(rule.source)}`,
              ),
              rule,
            ),
            false,
          );
        break;
      case 'semver': {
        const source = versionSource(rule);
        if (source === undefined) break;
        const raw = applyMatch(source, rule).replace(/\//g, '-');
        if (!semver.valid(raw)) {
          version.warnings.push(`${raw} is not a valid semver. More info: https://semver.org/`);
          break;
        }
        const parsed = semver.parse(raw, { loose: true })!;
        const fields = {
          raw: parsed.raw,
          version: parsed.version,
          major: parsed.major,
          minor: parsed.minor,
          patch: parsed.patch,
          prerelease: parsed.prerelease.join(','),
          build: parsed.build.join(','),
        };
        const prerelease = parsed.prerelease.length > 0;
        const pattern = prerelease && !isRawTemplate(rule.attrs.pattern!) ? '{{version}}' : rule.attrs.pattern!;
        add(
          withAffixes(renderTemplate(pattern, fields, `Input 'tags', rule ${JSON.stringify(rule.source)}`), rule),
          !prerelease,
        );
        break;
      }
      case 'pep440': {
        const source = versionSource(rule);
        if (source === undefined) break;
        const raw = applyMatch(source, rule).replace(/\//g, '-');
        const parsed = parsePep440(raw);
        if (!parsed) {
          version.warnings.push(
            `${raw} does not conform to PEP 440. More info: https://www.python.org/dev/peps/pep-0440`,
          );
          break;
        }
        const normal = normalizePep440(parsed);
        if (parsed.pre || parsed.post !== undefined || parsed.dev !== undefined) {
          add(withAffixes(isRawTemplate(rule.attrs.pattern!) ? raw : normal, rule), false);
        } else {
          const fields = {
            raw,
            version: normal,
            major: parsed.release[0] ?? 0,
            minor: parsed.release[1] ?? 0,
            patch: parsed.release[2] ?? 0,
          };
          add(
            withAffixes(
              renderTemplate(rule.attrs.pattern!, fields, `Input 'tags', rule ${JSON.stringify(rule.source)}`),
              rule,
            ),
            true,
          );
        }
        break;
      }
      case 'match': {
        const source = versionSource(rule);
        if (source === undefined) break;
        const pattern = rule.attrs.pattern!;
        const literal = /^\/(.+)\/(.*)$/.exec(pattern);
        let found: RegExpMatchArray | null;
        try {
          found = source.match(literal ? new RegExp(literal[1]!, literal[2]) : new RegExp(pattern));
        } catch (error) {
          throw new InputError(
            'tags',
            `pattern is not a regular expression (${(error as Error).message})`,
            rule.source,
            'type=match,pattern=v(\\d+.\\d+),group=1',
          );
        }
        if (!found) {
          version.warnings.push(`${pattern} does not match ${source}.`);
          break;
        }
        const group = found[Number(rule.attrs.group)];
        if (group === undefined) {
          version.warnings.push(`Group ${rule.attrs.group} does not exist for ${pattern} pattern.`);
          break;
        }
        add(withAffixes(group, rule), true);
        break;
      }
      case 'ref':
        if (rule.attrs.event === 'branch' && HEADS.test(context.ref))
          add(withAffixes(context.ref.replace(HEADS, ''), rule), false);
        else if (rule.attrs.event === 'tag' && TAGS.test(context.ref))
          add(withAffixes(context.ref.replace(TAGS, ''), rule), true);
        else if (rule.attrs.event === 'pr' && PULLS.test(context.ref))
          add(withAffixes(context.ref.replace(PULLS, '').replace(/\/merge$/, ''), rule), false);
        break;
      case 'edge': {
        if (!HEADS.test(context.ref)) break;
        const branch = rule.attrs.branch || context.repo.defaultBranch;
        if (branch === context.ref.replace(HEADS, '')) add(withAffixes('edge', rule), false);
        break;
      }
      case 'raw':
        add(withAffixes(expand(rule.attrs.value!, rule), rule), false);
        break;
      case 'sha':
        if (context.sha)
          add(
            withAffixes(
              rule.attrs.format === 'short' ? shortSha(context.sha, context.shortShaLength) : context.sha,
              rule,
            ),
            false,
          );
        break;
    }
  }
  version.partial = [...new Set(version.partial)];
  return version;
}
