/**
 * The outputs of docker/metadata-action, with the same content and order:
 * `version`, `tags`, `tag-names`, `labels`, `annotations`, `json`, the bake
 * files, and `DOCKER_METADATA_OUTPUT_<NAME>` for each.
 */
import { computeVersion, globalScope, type ImageVersion, type MetaContext, sanitizeTag } from './compute';
import type { Flavor, ImageEntry, TagRule } from './rules';
import { renderTemplate } from './template';

export interface MetaInputs {
  images: ImageEntry[];
  rules: TagRule[];
  flavor: Flavor;
  labels: string[];
  annotations: string[];
  /** Annotation levels (DOCKER_METADATA_ANNOTATIONS_LEVELS, default `manifest`). */
  annotationLevels: string[];
}

export interface ImageMeta {
  version: ImageVersion;
  images: string[];
  /** Full references (`image:tag`), or bare tags when no image is given. */
  tags: string[];
  tagNames: string[];
  /** `key=value`, sorted by key. */
  labels: string[];
  /** `level:key=value` for each annotation level. */
  annotations: string[];
  json: { tags: string[]; 'tag-names': string[]; labels: Record<string, string>; annotations: string[] };
}

export function computeImageMeta(inputs: MetaInputs, context: MetaContext): ImageMeta {
  const version = computeVersion(inputs.rules, inputs.flavor, context);
  const images = inputs.images.filter((image) => image.enable).map((image) => image.name.toLowerCase());
  const tagNames = tagsFor(version, inputs.flavor);
  const tags = images.length === 0 ? tagNames : images.flatMap((image) => tagNames.map((tag) => `${image}:${tag}`));
  const labels = ociEntries(inputs.labels, version, context, 'labels');
  const annotations = inputs.annotationLevels.flatMap((level) =>
    ociEntries(inputs.annotations, version, context, 'annotations').map((entry) => `${level}:${entry}`),
  );
  return {
    version,
    images,
    tags,
    tagNames,
    labels,
    annotations,
    json: { tags, 'tag-names': tagNames, labels: toRecord(labels), annotations },
  };
}

function tagsFor(version: ImageVersion, flavor: Flavor): string[] {
  if (!version.main) return [];
  const tags = [version.main, ...version.partial];
  if (version.latest)
    tags.push(
      sanitizeTag(`${flavor.prefixLatest ? flavor.prefix : ''}latest${flavor.suffixLatest ? flavor.suffix : ''}`),
    );
  return tags;
}

/** The OCI annotations from the repository and the run, then the user's (which win), sorted by key. */
function ociEntries(extra: string[], version: ImageVersion, context: MetaContext, input: string): string[] {
  const scope = globalScope(context);
  const entries = [
    `org.opencontainers.image.title=${context.repo.name}`,
    `org.opencontainers.image.description=${context.repo.description}`,
    `org.opencontainers.image.url=${context.repo.htmlUrl}`,
    `org.opencontainers.image.source=${context.repo.htmlUrl}`,
    `org.opencontainers.image.version=${version.main ?? ''}`,
    `org.opencontainers.image.created=${context.now.toISOString()}`,
    `org.opencontainers.image.revision=${context.sha}`,
    `org.opencontainers.image.licenses=${context.repo.license}`,
    ...extra.map((entry) => renderTemplate(entry, scope, `Input '${input}' ${JSON.stringify(entry)}`)),
  ];
  const byKey = new Map<string, string>();
  for (const entry of entries) {
    const at = entry.indexOf('=');
    if (at >= 0) byKey.set(entry.slice(0, at), entry.slice(at + 1));
  }
  return [...byKey].sort((a, b) => a[0].localeCompare(b[0])).map(([key, value]) => `${key}=${value}`);
}

export function toRecord(entries: string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (const entry of entries) {
    const at = entry.indexOf('=');
    if (at >= 0) record[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return record;
}

/** The bake definitions metadata-action writes: `{ target: { <name>: ... } }`, indented by two spaces. */
export function bakeDefinitions(
  meta: ImageMeta,
  target: string,
): { tags: string; labels: string; annotations: string; all: string } {
  const file = (definition: object) => JSON.stringify({ target: { [target]: definition } }, null, 2);
  const args = { DOCKER_META_IMAGES: meta.images.join(','), DOCKER_META_VERSION: meta.version.main };
  return {
    tags: file({ tags: meta.tags, args }),
    labels: file({ labels: toRecord(meta.labels) }),
    annotations: file({ annotations: meta.annotations }),
    all: file({ tags: meta.tags, labels: toRecord(meta.labels), args }),
  };
}

/** Output names in the order metadata-action sets them. */
export const OUTPUT_ORDER = [
  'version',
  'tags',
  'tag-names',
  'labels',
  'annotations',
  'json',
  'bake-file-tags',
  'bake-file-labels',
  'bake-file-annotations',
  'bake-file',
] as const;

/** The environment variable metadata-action exports beside an output. */
export function outputEnvName(output: string): string {
  return `DOCKER_METADATA_OUTPUT_${output.replace(/\W/g, '_').toUpperCase()}`;
}

export interface Separators {
  tags: string;
  labels: string;
  annotations: string;
}

/** Every output's value, in order, given where the bake files were written. */
export function metadataOutputs(
  meta: ImageMeta,
  separators: Separators,
  bakeFiles: { tags: string; labels: string; annotations: string; all: string },
): [string, string][] {
  return [
    ['version', meta.version.main ?? ''],
    ['tags', meta.tags.join(separators.tags)],
    ['tag-names', meta.tagNames.join(separators.tags)],
    ['labels', meta.labels.join(separators.labels)],
    ['annotations', meta.annotations.join(separators.annotations)],
    ['json', JSON.stringify(meta.json)],
    ['bake-file-tags', bakeFiles.tags],
    ['bake-file-labels', bakeFiles.labels],
    ['bake-file-annotations', bakeFiles.annotations],
    ['bake-file', bakeFiles.all],
  ];
}
