/**
 * The Runtime port: everything domain code may do to the outside world besides
 * talking to Kubernetes / HTTP. Adapters: GitHub runner (runtime/github.ts),
 * terminal for the CLI (runtime/terminal.ts), and an in-memory one for tests
 * (runtime/memory.ts). Domain code never imports @actions/*.
 */

/** Where an annotation points (GitHub `::error file=..,line=..::`). */
export interface AnnotationProps {
  title?: string;
  file?: string;
  startLine?: number;
  startColumn?: number;
}

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  /** A warning annotation on GitHub. */
  warning(message: string, props?: AnnotationProps): void;
  /** An error annotation on GitHub. Does not fail the step by itself. */
  error(message: string, props?: AnnotationProps): void;
  /** A collapsible group; nested calls are flattened (GitHub has one level). */
  group<T>(name: string, fn: () => Promise<T>): Promise<T>;
}

/** Time source. Tests use a virtual clock; `sleep` must reject with the signal's reason when aborted. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Job summary (GITHUB_STEP_SUMMARY on GitHub, stdout on the terminal). Markdown is appended. */
export interface SummaryWriter {
  append(markdown: string): void;
  /** Everything appended so far (not yet flushed). */
  text(): string;
  /** Write what was appended; called once by the adapter at the end of a run. */
  flush(): Promise<void>;
}

/** Values kept between the main and post step of one action run (GITHUB_STATE). */
export interface StateStore {
  get(name: string): string | undefined;
  save(name: string, value: string): void;
}

/** Raw input access: `undefined` when the input was not given (or empty). */
export interface InputSource {
  /** The input's text, trimmed; undefined when not given. */
  get(name: string): string | undefined;
  /**
   * The text exactly as given, surrounding whitespace kept (a separator such as `sep-tags: ", "`, as
   * docker/metadata-action reads it); undefined when empty. A source without it has only `get`.
   */
  raw?(name: string): string | undefined;
}

export interface Runtime {
  readonly log: Logger;
  /** Register a secret: it is replaced by *** in everything logged, summarised or set as output afterwards. */
  mask(secret: string): void;
  /** Apply the registered masks to a text. */
  redact(text: string): string;
  /** Set a step output; objects are JSON-encoded. */
  setOutput(name: string, value: string | number | boolean | object): void;
  /**
   * Set an environment variable for this step (`env`) and the job's later steps (GITHUB_ENV, when the
   * runner gives one). Registered secrets in the value are exported as ***, as in outputs.
   */
  exportVariable(name: string, value: string): void;
  readonly summary: SummaryWriter;
  readonly state: StateStore;
  readonly inputs: InputSource;
  readonly clock: Clock;
  /** Aborted when the job is cancelled (SIGINT/SIGTERM) or the step's timeout passes. */
  readonly signal: AbortSignal;
  /** Environment variables the domain may read (GITHUB_*, KUBECONFIG, ...). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Root for relative file inputs; paths must stay inside it (GITHUB_WORKSPACE or cwd). */
  readonly workspace: string;
  /** A GitHub OIDC token for `audience` (GitHub runner only: the job needs `permissions: id-token: write`). */
  idToken?(audience: string): Promise<string>;
}
