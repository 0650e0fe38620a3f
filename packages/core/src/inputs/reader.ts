import { InputError } from '../errors';

/** What a reader needs besides the raw text: where relative paths start. */
export interface ParseContext {
  workspace: string;
}

/** Options every reader takes. `default` is raw text, parsed like a given value (as in action.yml). */
export interface CommonOptions {
  required?: boolean;
  default?: string;
  /** Shown in errors as a right value; each reader has its own if not given. */
  example?: string;
  /** Masked before anything is logged, and never echoed in an error. */
  secret?: boolean;
}

/** True when the options guarantee a value (required, or a default). */
export type Guaranteed<O> = O extends { required: true } ? true : O extends { default: string } ? true : false;

/**
 * Reads one input. `Present` records at the type level whether the value can be
 * missing, so a parsed schema is `number` for `duration({ default: '5m' })` and
 * `number | undefined` for `duration()`.
 */
export interface InputReader<T, Present extends boolean = boolean> {
  readonly kind: string;
  readonly options: CommonOptions;
  readonly example: string;
  /** Turn non-empty raw text into a value, or throw an InputError via `fail`. */
  read(raw: string, fail: Fail, ctx: ParseContext): T;
  /** Phantom field carrying `Present` for type inference; never set. */
  readonly present?: Present;
}

/** Throws an InputError for the input being read: `problem` says what is wrong with the given text. */
export type Fail = (problem: string, example?: string) => never;

export type ValueOf<R> = R extends InputReader<infer T, infer P> ? (P extends true ? T : T | undefined) : never;

export function makeReader<T, O extends CommonOptions>(
  kind: string,
  options: O | undefined,
  example: string,
  read: (raw: string, fail: Fail, ctx: ParseContext) => T,
): InputReader<T, Guaranteed<O>> {
  return { kind, options: options ?? {}, example: options?.example ?? example, read };
}

/**
 * Read one named input from raw text (undefined = not given): applies the default,
 * `required`, and the reader, and words every error the same way.
 */
export function readInput<T>(
  name: string,
  reader: InputReader<T>,
  raw: string | undefined,
  ctx: ParseContext,
): T | undefined {
  const { options } = reader;
  const given = raw === undefined || raw.trim() === '' ? undefined : raw;
  const text = given ?? (options.default === undefined || options.default === '' ? undefined : options.default);
  if (text === undefined) {
    if (options.required) throw new InputError(name, 'is required', undefined, reader.example);
    return undefined;
  }
  const shown = options.secret ? '***' : text;
  const fail: Fail = (problem, example) => {
    throw new InputError(name, problem, shown, example ?? reader.example);
  };
  return reader.read(text, fail, ctx);
}
