/**
 * Typed input readers and declarative schemas. Every error names the input,
 * shows what was given and an example of a right value, before anything changes.
 */
export { keyValues, list, type NumberListOptions, numberList, parseKeyValues, splitList } from './collections';
export { type FilePathOptions, filePath, resolveInWorkspace, type StructuredOptions, structured } from './files';
export {
  type CommonOptions,
  type Fail,
  type InputReader,
  makeReader,
  type ParseContext,
  readInput,
  type ValueOf,
} from './reader';
export {
  boolean,
  duration,
  formatDuration,
  integer,
  parseDuration,
  percentage,
  type RangeOptions,
  type StringOptions,
  string,
  type UrlOptions,
  url,
} from './scalars';
export { defineInputs, type InputSchema, type InputValues, mapSource, type ReaderMap } from './schema';
