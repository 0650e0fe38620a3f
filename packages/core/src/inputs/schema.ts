import type { InputSource } from '../runtime/port';
import { type InputReader, type ParseContext, readInput, type ValueOf } from './reader';

// biome-ignore lint/suspicious/noExplicitAny: a schema holds readers of any value type
export type ReaderMap = Record<string, InputReader<any, boolean>>;

/** The typed object a schema parses to: one key per input name, exactly as in action.yml. */
export type InputValues<S extends ReaderMap> = { [K in keyof S]: ValueOf<S[K]> };

export interface InputSchema<I> {
  /** Input names in declaration order (checked against action.yml by a test). */
  readonly names: readonly string[];
  readonly readers: ReaderMap;
  /** Names of inputs declared `secret`, to be masked before anything is logged. */
  readonly secrets: readonly string[];
  /** Parse every input; throws an InputError naming the first bad one. */
  parse(source: InputSource, ctx: ParseContext): I;
}

/** `defineInputs({ steps: numberList({ default: '5,25,50,100' }), pause: duration({ default: '5m' }) })`. */
export function defineInputs<S extends ReaderMap>(readers: S): InputSchema<InputValues<S>> {
  const names = Object.keys(readers);
  return {
    names,
    readers,
    secrets: names.filter((name) => readers[name]!.options.secret),
    parse(source, ctx) {
      const values: Record<string, unknown> = {};
      for (const name of names) values[name] = readInput(name, readers[name]!, source.get(name), ctx);
      return values as InputValues<S>;
    },
  };
}

/** An InputSource over a plain map (CLI flags, tests). Empty strings count as not given. */
export function mapSource(values: Record<string, string | undefined>): InputSource {
  const get = (name: string) => (Object.hasOwn(values, name) && values[name] !== '' ? values[name] : undefined);
  // The map holds the text as given: get and raw are the same.
  return { get, raw: get };
}
