/**
 * build-tag's one domain function: check every input, read the run's context,
 * work out the next version (when asked), the tags, labels and annotations (per
 * service when `services` is given), write the bake files, then, only after all
 * checks passed, promote the tested image by retag and create the git tag.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError, UserError } from '../errors';
import { Git } from '../git';
import type { GitHubApi } from '../github';
import {
  bakeDefinitions,
  computeImageMeta,
  type ImageMeta,
  inputLines,
  type MetaContext,
  type MetaInputs,
  metadataOutputs,
  outputEnvName,
  parseFlavor,
  parseImages,
  parseTagRules,
  readMetaContext,
  type Separators,
} from '../image-meta';
import {
  type PromoteResult,
  parseImageReference,
  promoteImage,
  RegistryClient,
  type RegistryClientOptions,
} from '../registry';
import type { Runtime } from '../runtime/port';
import { type GitTagPlan, planGitTagByApi, planGitTagByPush } from './git-tag';
import { type BumpMode, computeNextVersion, type NextVersion } from './next-version';
import { type ServiceBuild, type ServiceSpec, servicesBakeFile } from './services';

export interface BuildTagOptions {
  context: 'workflow' | 'git';
  images?: string | undefined;
  tags?: string | undefined;
  flavor?: string | undefined;
  labels?: string | undefined;
  annotations?: string | undefined;
  separators: Separators;
  bakeTarget: string;
  services?: ServiceSpec[] | undefined;
  /** Compute the next version from git; undefined: only when `{{next_version}}` or `git-tag` needs it. */
  bump?: BumpMode | undefined;
  prereleaseId?: string | undefined;
  tagPrefix?: string | undefined;
  promoteFrom?: string | undefined;
  overwrite: boolean;
  registry?: RegistryClientOptions;
  gitTag: boolean;
  dryRun: boolean;
  /** GitHub API (repository data, commit dates, the git tag); undefined without a token. */
  api?: GitHubApi | undefined;
  /** The checkout (default: the workspace). */
  cwd?: string;
}

export interface BuildTagResult {
  meta: ImageMeta;
  context: MetaContext;
  next: NextVersion | undefined;
  services: ServiceBuild[];
  bakeFiles: { tags: string; labels: string; annotations: string; all: string };
  outputs: [string, string][];
  promote: PromoteResult | undefined;
  gitTag: { tag: string; sha: string; state: 'created' | 'unchanged' | 'planned' } | undefined;
  warnings: string[];
}

export async function buildTag(rt: Runtime, options: BuildTagOptions): Promise<BuildTagResult> {
  // 1. Every input checked before anything is read or changed.
  const rules = parseTagRules(options.tags);
  const metaInputs: MetaInputs = {
    images: parseImages(options.images),
    rules,
    flavor: parseFlavor(options.flavor),
    labels: inputLines(options.labels),
    annotations: inputLines(options.annotations),
    annotationLevels: (rt.env.DOCKER_METADATA_ANNOTATIONS_LEVELS || 'manifest').split(',').map((level) => level.trim()),
  };
  const promoteFrom =
    options.promoteFrom === undefined ? undefined : promoteSource(options.promoteFrom, metaInputs.images);
  if (promoteFrom !== undefined) {
    parseImageReference(promoteFrom, "Input 'promote-from'");
    if (metaInputs.images.every((image) => !image.enable))
      throw new UserError(
        "Input 'promote-from' needs 'images': the promoted image gets the computed tags of each image",
      );
    if (options.services?.length)
      throw new UserError("Inputs 'promote-from' and 'services' cannot be combined: promote one image per step");
  }
  const usesNext = rules.some((rule) =>
    Object.values(rule.attrs).some((value) => /\{\{\s*(next|previous)_version\s*\}\}/.test(value)),
  );
  const bump: BumpMode | undefined = options.bump ?? (usesNext || options.gitTag ? 'auto' : undefined);

  // 2. Context and the next version.
  const cwd = options.cwd ?? rt.workspace;
  const git = new Git({ cwd, signal: rt.signal });
  const warnings: string[] = [];
  if (bump || options.context === 'git')
    await requireWorkingCopy(git, cwd, bump ? whyNext(options, usesNext) : 'context: git');
  const context = await readMetaContext({
    source: options.context,
    env: rt.env,
    api: options.api,
    git: async (args) => (await git.run(args)).trim(),
    now: () => new Date(rt.clock.now()),
    warn: (message) => warnings.push(message),
  });
  const next = bump
    ? await computeNextVersion(git, {
        bump,
        prereleaseId: options.prereleaseId,
        tagPrefix: options.tagPrefix,
        ref: context.ref,
      })
    : undefined;
  if (next) context.extra = { next_version: next.version, previous_version: next.previous ?? '' };

  // 3. Tags, labels, annotations; per service when given.
  const meta = computeImageMeta(metaInputs, context);
  warnings.push(...meta.version.warnings);
  const services: ServiceBuild[] = (options.services ?? []).map((service) => {
    const own = computeImageMeta({ ...metaInputs, images: [{ name: service.image, enable: true }] }, context);
    return {
      service,
      tags: own.tags,
      labels: Object.fromEntries(own.labels.map(splitEntry)),
      annotations: own.annotations,
      version: own.version.main,
    };
  });

  // 4. Bake files where metadata-action writes them (a fresh folder under RUNNER_TEMP).
  const dir = await mkdtemp(join(rt.env.RUNNER_TEMP || tmpdir(), 'build-tag-'));
  const definitions = bakeDefinitions(meta, options.bakeTarget);
  const bakeFiles = {
    tags: join(dir, 'docker-metadata-action-bake-tags.json'),
    labels: join(dir, 'docker-metadata-action-bake-labels.json'),
    annotations: join(dir, 'docker-metadata-action-bake-annotations.json'),
    all: join(dir, 'docker-metadata-action-bake.json'),
  };
  await writeFile(bakeFiles.tags, definitions.tags);
  await writeFile(bakeFiles.labels, definitions.labels);
  await writeFile(bakeFiles.annotations, definitions.annotations);
  await writeFile(bakeFiles.all, services.length > 0 ? servicesBakeFile(services) : definitions.all);
  const outputs = metadataOutputs(meta, options.separators, bakeFiles);
  if (!/^(false|0|no)$/i.test(rt.env.DOCKER_METADATA_SET_OUTPUT_ENV ?? 'true')) {
    for (const [name, value] of outputs) rt.exportVariable(outputEnvName(name), value);
  }

  // 5. Checks that involve the outside world, all before the first write.
  let tagPlan: GitTagPlan | undefined;
  if (options.gitTag) {
    if (!next) throw new UserError('git-tag needs a version from git');
    if (!context.sha) throw new UserError('git-tag needs the commit: GITHUB_SHA is not set');
    const tag = `${options.tagPrefix ?? ''}v${next.version}`;
    tagPlan = options.api
      ? await planGitTagByApi(options.api, tag, context.sha)
      : await planGitTagByPush(git, tag, context.sha);
  }
  let promote: PromoteResult | undefined;
  if (promoteFrom !== undefined) {
    if (meta.tags.length === 0)
      throw new UserError(
        'promote-from: the tag rules gave no tags for this run, so there is nothing to promote to. Nothing was pushed.',
      );
    const client = new RegistryClient({ signal: rt.signal, clock: rt.clock, ...options.registry });
    promote = await promoteImage(client, promoteFrom, meta.tags, {
      overwrite: options.overwrite,
      dryRun: options.dryRun,
      log: (message) => rt.log.info(message),
    });
  }
  let gitTag: BuildTagResult['gitTag'];
  if (tagPlan) {
    const state = options.dryRun ? 'planned' : await tagPlan.apply(`Release ${next!.version}`);
    gitTag = { tag: tagPlan.tag, sha: tagPlan.sha, state };
  }
  for (const warning of warnings) rt.log.warning(warning);
  return { meta, context, next, services, bakeFiles, outputs, promote, gitTag, warnings };
}

function splitEntry(entry: string): [string, string] {
  const at = entry.indexOf('=');
  return [entry.slice(0, at), entry.slice(at + 1)];
}

/** What asked for the next version, for the error when there is no git history to compute it from. */
function whyNext(options: BuildTagOptions, usesNext: boolean): string {
  if (options.bump) return `bump: ${options.bump}`;
  return usesNext ? '{{next_version}} in a tag rule' : 'git-tag: true';
}

/** Refuses a workspace that is not a git working copy (no checkout step), naming what needed git. */
async function requireWorkingCopy(git: Git, cwd: string, needs: string): Promise<void> {
  const inside = await git.exec(['rev-parse', '--is-inside-work-tree']);
  if (inside.exitCode === 0 && inside.stdout.trim() === 'true') return;
  throw new UserError(`${needs} reads the git history, but the workspace ${cwd} is not a git working copy.`, {
    hint: 'Check the code out first: actions/checkout with fetch-depth: 0.',
  });
}

/**
 * `promote-from` as an image reference: a digest alone (`sha256:<64 hex>`, the digest a staging build
 * printed) names an image of the one repository in `images`; anything else is a whole reference.
 */
function promoteSource(text: string, images: readonly { name: string; enable: boolean }[]): string {
  const given = text.trim();
  if (!/^@?sha256:/.test(given)) return given;
  const example = 'sha256:<64 hex digits>, or ghcr.io/acme/web@sha256:<64 hex digits>';
  const digest = given.replace(/^@/, '');
  if (!/^sha256:[0-9a-f]{64}$/.test(digest))
    throw new InputError('promote-from', 'is not a digest: sha256: and 64 lowercase hex digits', given, example);
  const enabled = images.filter((image) => image.enable);
  if (enabled.length !== 1)
    throw new InputError(
      'promote-from',
      `a digest alone needs exactly one image in 'images' to say which repository it is in (${enabled.length} given); write the whole reference`,
      given,
      example,
    );
  return `${enabled[0]!.name}@${digest}`;
}
