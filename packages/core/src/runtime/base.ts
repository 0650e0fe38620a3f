/**
 * What the three runtimes share: redaction of everything that leaves the
 * process, one level of groups, the summary buffer and output encoding. Each
 * adapter only says where lines, outputs and the summary go (a Sink).
 */
import { Masker } from '../mask';
import { appendEnvFile, checkEnvName } from './env-file';
import type { AnnotationProps, Clock, InputSource, Runtime, StateStore } from './port';

/** Where an adapter sends things. Texts arrive already redacted. */
export interface Sink {
  debug(line: string): void;
  info(line: string): void;
  warning(message: string, props?: AnnotationProps): void;
  error(message: string, props?: AnnotationProps): void;
  groupStart(name: string): void;
  groupEnd(): void;
  /** Strings newly registered as secret (the GitHub adapter tells the runner). */
  secretsAdded?(secrets: string[]): void;
  output(name: string, value: string): void;
  /** A variable for later steps (name checked, value redacted); also set in the runtime's env. */
  exportVariable(name: string, value: string): void;
  writeSummary(markdown: string): Promise<void>;
}

export interface RuntimeParts {
  inputs: InputSource;
  state: StateStore;
  clock: Clock;
  signal: AbortSignal;
  env: Readonly<Record<string, string | undefined>>;
  workspace: string;
}

/** Encode an output the way workflows read it: strings as is, everything else as JSON. */
export function encodeOutput(value: string | number | boolean | object): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function buildRuntime(sink: Sink, parts: RuntimeParts): Runtime {
  const masker = new Masker();
  const redact = (text: string) => masker.redact(text);
  let depth = 0;
  let buffer = '';
  return {
    log: {
      debug: (message) => sink.debug(redact(message)),
      info: (message) => sink.info(redact(message)),
      warning: (message, props) => sink.warning(redact(message), props),
      error: (message, props) => sink.error(redact(message), props),
      async group(name, fn) {
        // GitHub folds one level only: an inner group becomes a plain heading line.
        if (depth > 0) sink.info(redact(name));
        else sink.groupStart(redact(name));
        depth++;
        try {
          return await fn();
        } finally {
          depth--;
          if (depth === 0) sink.groupEnd();
        }
      },
    },
    mask(secret) {
      const added = masker.add(secret);
      if (added.length > 0) sink.secretsAdded?.(added);
    },
    redact,
    setOutput: (name, value) => sink.output(name, redact(encodeOutput(value))),
    exportVariable(name, value) {
      checkEnvName(name);
      sink.exportVariable(name, redact(value));
    },
    summary: {
      append(markdown) {
        buffer += markdown;
      },
      text: () => buffer,
      async flush() {
        const text = buffer;
        buffer = '';
        if (text !== '') await sink.writeSummary(redact(text));
      },
    },
    ...parts,
  };
}

/**
 * exportVariable for the adapters not on @actions/core: set in `env` and appended to the GITHUB_ENV file
 * when there is one (the local workflow runner and a CLI run inside a job read it for later steps).
 */
export function envExporter(env: Record<string, string | undefined>) {
  return (name: string, value: string) => {
    env[name] = value;
    const file = env['GITHUB_ENV'];
    if (file) appendEnvFile(file, name, value);
  };
}

/** State kept in a Map (the terminal and memory runtimes). */
export function memoryState(initial: Record<string, string> = {}, onChange?: (all: Record<string, string>) => void) {
  const values = new Map(Object.entries(initial));
  const store: StateStore = {
    get: (name) => values.get(name),
    save(name, value) {
      values.set(name, value);
      onChange?.(Object.fromEntries(values));
    },
  };
  return store;
}
