/**
 * The CLI adapter: inputs from flags, plain colour-free lines (groups become
 * headings with their content indented), outputs as `name=value` lines, the
 * summary printed at the end or written to a file.
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { systemClock } from '../clock/system';
import { mapSource } from '../inputs/schema';
import { buildRuntime, envExporter, memoryState } from './base';
import type { AnnotationProps, Clock, Runtime } from './port';

export interface TerminalRuntimeOptions {
  /** Input values by input name (kebab-case, as in action.yml). */
  args: Record<string, string>;
  /** Normal output (default stdout). */
  out?: (line: string) => void;
  /** Warnings and errors (default stderr). */
  err?: (line: string) => void;
  /** Write the summary markdown here instead of printing it (default: where GITHUB_STEP_SUMMARY points, appended). */
  summaryFile?: string;
  /**
   * A person reads the output (default: stdout is a TTY): a JSON output longer than a line is named, not
   * printed (the summary says the same as text).
   */
  tty?: boolean;
  /** Keep state (main → post) in this JSON file instead of memory. */
  stateFile?: string;
  /** Show debug lines (default: env DEPLOY_ACTIONS_DEBUG or RUNNER_DEBUG is 1). */
  debug?: boolean;
  clock?: Clock;
  env?: Record<string, string | undefined>;
  workspace?: string;
  signal?: AbortSignal;
  /** Abort on Ctrl-C (default true unless a signal is given). */
  handleSignals?: boolean;
}

/** A JSON output longer than this is named on a terminal rather than printed on one line. */
const LONG_JSON = 200;

function where(props?: AnnotationProps): string {
  if (!props?.file) return '';
  const line = props.startLine === undefined ? '' : `:${props.startLine}`;
  const column = props.startLine === undefined || props.startColumn === undefined ? '' : `:${props.startColumn}`;
  return ` (${props.file}${line}${column})`;
}

function titled(message: string, props?: AnnotationProps): string {
  return props?.title ? `${props.title}: ${message}` : message;
}

export function createTerminalRuntime(options: TerminalRuntimeOptions): Runtime {
  const env = options.env ?? process.env;
  const out = options.out ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const err = options.err ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const debug = options.debug ?? (env['DEPLOY_ACTIONS_DEBUG'] === '1' || env['RUNNER_DEBUG'] === '1');
  const tty = options.tty ?? process.stdout.isTTY === true;
  const stepSummary = options.summaryFile === undefined ? env['GITHUB_STEP_SUMMARY'] || undefined : undefined;
  let indent = '';
  // Every line of a multi-line message gets the group's indent.
  const print = (sink: (line: string) => void, text: string) => {
    for (const line of text.split('\n')) sink(`${indent}${line}`);
  };

  let signal = options.signal;
  if (signal === undefined) {
    const controller = new AbortController();
    signal = controller.signal;
    if (options.handleSignals ?? true) {
      process.once('SIGINT', () => controller.abort(new Error('Interrupted (Ctrl-C)')));
    }
  }

  const stateFile = options.stateFile;
  const initialState =
    stateFile && existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as Record<string, string>) : {};
  const state = memoryState(
    initialState,
    stateFile ? (all) => writeFileSync(stateFile, JSON.stringify(all)) : undefined,
  );

  return buildRuntime(
    {
      debug: (line) => {
        if (debug) print(out, `debug: ${line}`);
      },
      info: (line) => print(out, line),
      warning: (message, props) => print(err, `warning: ${titled(message, props)}${where(props)}`),
      error: (message, props) => print(err, `error: ${titled(message, props)}${where(props)}`),
      groupStart: (name) => {
        out(`== ${name}`);
        indent = '  ';
      },
      groupEnd: () => {
        indent = '';
      },
      output: (name, value) => {
        if (tty && value.length > LONG_JSON && /^[[{]/.test(value))
          out(
            `${name}: JSON, ${value.length} characters (the summary${stepSummary ? ` in ${stepSummary}` : ' below'} says the same)`,
          );
        else if (value.includes('\n')) out(`${name}<<EOF\n${value}\nEOF`);
        else out(`${name}=${value}`);
      },
      exportVariable: envExporter(env),
      async writeSummary(markdown) {
        if (options.summaryFile) writeFileSync(options.summaryFile, markdown);
        // As the runner does: each step appends its summary to the job's file.
        else if (stepSummary) appendFileSync(stepSummary, markdown);
        else out(`\n${markdown.trimEnd()}`);
      },
    },
    {
      inputs: mapSource(options.args),
      state,
      clock: options.clock ?? systemClock,
      signal,
      env,
      workspace: options.workspace ?? env['GITHUB_WORKSPACE'] ?? process.cwd(),
    },
  );
}
