/**
 * The GitHub runner adapter. It speaks the runner protocol directly (INPUT_*
 * variables, GITHUB_OUTPUT / GITHUB_STATE / GITHUB_STEP_SUMMARY files,
 * `::command::` lines) in the same formats as @actions/core, without loading
 * @actions/core: its HTTP and exec dependencies add ~50 ms to every cold start
 * (TOOLCHAIN.md), and this is on every action's start path.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { EOL } from 'node:os';
import { systemClock } from '../clock/system';
import { buildRuntime } from './base';
import type { AnnotationProps, Clock, Runtime } from './port';

export interface GitHubRuntimeOptions {
  env?: Record<string, string | undefined>;
  /** Where workflow commands and logs go (default process.stdout). */
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

function command(name: string, message: string, props: Record<string, string | number | undefined> = {}): string {
  const list = Object.entries(props)
    .filter(([, value]) => value !== undefined && value !== '')
    .map(([key, value]) => `${key}=${escapeProperty(String(value))}`)
    .join(',');
  return `::${name}${list ? ` ${list}` : ''}::${escapeData(message)}${EOL}`;
}

function annotation(props: AnnotationProps = {}) {
  return { title: props.title, file: props.file, line: props.startLine, col: props.startColumn };
}

/** `name<<delimiter` block of an environment file (GITHUB_OUTPUT, GITHUB_STATE). */
export function keyValueBlock(name: string, value: string): string {
  const delimiter = `ghadelimiter_${randomUUID()}`;
  return `${name}<<${delimiter}${EOL}${value}${EOL}${delimiter}${EOL}`;
}

export function createGitHubRuntime(options: GitHubRuntimeOptions = {}): Runtime {
  const env = options.env ?? process.env;
  const write = options.write ?? ((text: string) => void process.stdout.write(text));
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
  const fileCommand = (variable: string, name: string, value: string, fallback: string) => {
    const file = env[variable];
    if (file) appendFileSync(file, keyValueBlock(name, value));
    else write(command(fallback, value, { name }));
  };
  return buildRuntime(
    {
      debug: (line) => write(command('debug', line)),
      info: (line) => write(`${line}${EOL}`),
      warning: (message, props) => write(command('warning', message, annotation(props))),
      error: (message, props) => write(command('error', message, annotation(props))),
      groupStart: (name) => write(command('group', name)),
      groupEnd: () => write(`::endgroup::${EOL}`),
      secretsAdded: (secrets) => {
        for (const secret of secrets) if (!secret.includes('\n')) write(command('add-mask', secret));
      },
      output: (name, value) => fileCommand('GITHUB_OUTPUT', name, value, 'set-output'),
      async writeSummary(markdown) {
        const file = env['GITHUB_STEP_SUMMARY'];
        if (file) appendFileSync(file, markdown);
      },
    },
    {
      inputs: {
        get(name) {
          const value = env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`]?.trim();
          return value === undefined || value === '' ? undefined : value;
        },
      },
      state: {
        get: (name) => env[`STATE_${name}`] || undefined,
        save: (name, value) => fileCommand('GITHUB_STATE', name, value, 'save-state'),
      },
      clock: options.clock ?? systemClock,
      signal: controller.signal,
      env,
      workspace: env['GITHUB_WORKSPACE'] || process.cwd(),
    },
  );
}
