/** Image version, tags, OCI labels and annotations as docker/metadata-action makes them, plus bake definitions. */
export {
  computeVersion,
  type EventPayload,
  globalScope,
  type ImageVersion,
  type MetaContext,
  type RepoInfo,
  sanitizeTag,
  shortSha,
} from './compute';
export { type ContextOptions, type GitRunner, readMetaContext, reproducibleNow } from './context';
export { formatDate } from './date';
export {
  bakeDefinitions,
  computeImageMeta,
  type ImageMeta,
  type MetaInputs,
  metadataOutputs,
  OUTPUT_ORDER,
  outputEnvName,
  type Separators,
  toRecord,
} from './outputs';
export { normalizePep440, parsePep440 } from './pep440';
export {
  csvFields,
  DEFAULT_PRIORITY,
  DEFAULT_TAG_RULES,
  type Flavor,
  type ImageEntry,
  inputLines,
  parseFlavor,
  parseImages,
  parseTagRule,
  parseTagRules,
  TAG_TYPES,
  type TagRule,
  type TagType,
} from './rules';
export { renderTemplate, type TemplateScope } from './template';
