/**
 * The GitHub runner adapter, on @actions/core: inputs, outputs, state, secret
 * masking, annotations with file and line, groups, the job summary, debug
 * lines and the OIDC token all go through the toolkit, so they follow the
 * runner protocol as GitHub changes it.
 */
import * as core from '@actions/core';
import { systemClock } from '../clock/system';
import { buildRuntime } from './base';
import type { AnnotationProps, Clock, Runtime } from './port';

export interface GitHubRuntimeOptions {
  /**
   * The step's environment when the runner is emulated in this process (the local workflow runner, tests).
   * @actions/core reads `process.env`, so it is put in place around each call. Default: `process.env`.
   */
  env?: Record<string, string | undefined>;
  /** Where workflow commands and logs go when emulated in this process (default: process.stdout). */
  write?: (text: string) => void;
  clock?: Clock;
  /** Abort on SIGINT/SIGTERM, as the runner sends on cancel (default true). */
  handleSignals?: boolean;
}

/** Escaping of a workflow command's message, as @actions/core does it. */
export function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** Escaping of a workflow command's property values. */
export function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** Only the properties given: @actions/core writes `::error ::` for a property list of undefined values. */
function annotation(props: AnnotationProps = {}): core.AnnotationProperties {
  const { title, file, startLine, startColumn } = props;
  return Object.fromEntries(
    Object.entries({ title, file, startLine, startColumn }).filter(([, value]) => value !== undefined && value !== ''),
  );
}

/**
 * Runs `fn` with `env` as process.env and `write` as process.stdout's writer, for a runner emulated in this
 * process; the toolkit reads both at call time. Synchronous calls only: nothing else runs in between.
 */
function inStep(env: Record<string, string | undefined> | undefined, write: ((text: string) => void) | undefined) {
  if (env === undefined && write === undefined) return <T>(fn: () => T): T => fn();
  return <T>(fn: () => T): T => {
    const savedEnv = process.env;
    const savedWrite = process.stdout.write;
    if (env !== undefined) process.env = env as NodeJS.ProcessEnv;
    if (write !== undefined) {
      process.stdout.write = ((chunk: string | Uint8Array) => {
        write(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
        return true;
      }) as typeof process.stdout.write;
    }
    try {
      return fn();
    } finally {
      process.env = savedEnv;
      process.stdout.write = savedWrite;
    }
  };
}

export function createGitHubRuntime(options: GitHubRuntimeOptions = {}): Runtime {
  const env = options.env ?? process.env;
  const step = inStep(options.env, options.write);
  const controller = new AbortController();
  if (options.handleSignals ?? true) {
    const onSignal = (signal: NodeJS.Signals) => {
      // A second signal means the runner is done waiting: leave at once.
      if (controller.signal.aborted) process.exit(1);
      controller.abort(new Error(`The run was cancelled (${signal})`));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  const runtime = buildRuntime(
    {
      debug: (line) => step(() => core.debug(line)),
      info: (line) => step(() => core.info(line)),
      warning: (message, props) => step(() => core.warning(message, annotation(props))),
      error: (message, props) => step(() => core.error(message, annotation(props))),
      groupStart: (name) => step(() => core.startGroup(name)),
      groupEnd: () => step(() => core.endGroup()),
      secretsAdded: (secrets) => {
        // A multi-line secret is registered line by line (its variants); the whole would only confuse the runner.
        for (const secret of secrets) if (!secret.includes('\n')) step(() => core.setSecret(secret));
      },
      output: (name, value) => step(() => core.setOutput(name, value)),
      exportVariable(name, value) {
        // Without GITHUB_ENV the toolkit falls back to `::set-env`, which runners refuse: set it for this step only.
        if (env['GITHUB_ENV']) step(() => core.exportVariable(name, value));
        else env[name] = value;
      },
      async writeSummary(markdown) {
        if (!env['GITHUB_STEP_SUMMARY']) return;
        await step(() => {
          // core.summary keeps the first file it was given; an emulated runner has one per step.
          if (options.env !== undefined) Object.assign(core.summary, { _filePath: undefined });
          return core.summary.emptyBuffer().addRaw(markdown).write();
        });
      },
    },
    {
      inputs: {
        get(name) {
          const value = step(() => core.getInput(name));
          return value === '' ? undefined : value;
        },
        raw(name) {
          const value = step(() => core.getInput(name, { trimWhitespace: false }));
          return value === '' ? undefined : value;
        },
      },
      state: {
        get: (name) => step(() => core.getState(name)) || undefined,
        save: (name, value) => step(() => core.saveState(name, value)),
      },
      clock: options.clock ?? systemClock,
      signal: controller.signal,
      env,
      workspace: env['GITHUB_WORKSPACE'] || process.cwd(),
    },
  );
  // core.getIDToken reads the request URL and token from the environment before its first await.
  return Object.assign(runtime, { idToken: (audience: string) => step(() => core.getIDToken(audience)) });
}
