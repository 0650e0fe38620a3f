/**
 * The test adapter: records every log line, annotation, output and the flushed
 * summary so tests assert what a user would see, on a virtual clock by default.
 */
import { VirtualClock } from '../clock/virtual';
import { mapSource } from '../inputs/schema';
import { buildRuntime, envExporter, memoryState } from './base';
import type { AnnotationProps, Clock, Runtime } from './port';

export interface LogRecord {
  level: 'debug' | 'info' | 'warning' | 'error' | 'group';
  message: string;
  props?: AnnotationProps;
}

export interface MemoryRuntime extends Runtime {
  /** Everything logged, redacted, in order (group starts have level `group`). */
  readonly logs: LogRecord[];
  /** Outputs as the runner would store them (strings, redacted). */
  readonly outputs: Record<string, string>;
  /** Secrets strings registered so far (what GitHub would be told to mask). */
  readonly masked: string[];
  /** Summary text written by flush(), redacted. */
  flushedSummary: string;
  /** Log lines at one level, for short assertions. */
  lines(level?: LogRecord['level']): string[];
  /** Abort the runtime signal, as a cancelled job would. */
  abort(reason?: unknown): void;
}

export interface MemoryRuntimeOptions {
  inputs?: Record<string, string | undefined>;
  clock?: Clock;
  env?: Record<string, string | undefined>;
  workspace?: string;
  state?: Record<string, string>;
}

export function createMemoryRuntime(options: MemoryRuntimeOptions = {}): MemoryRuntime {
  const logs: LogRecord[] = [];
  const outputs: Record<string, string> = {};
  const masked: string[] = [];
  const controller = new AbortController();
  const env = options.env ?? {};
  const record = (level: LogRecord['level'], message: string, props?: AnnotationProps) => {
    logs.push(props ? { level, message, props } : { level, message });
  };
  const extra = {
    logs,
    outputs,
    masked,
    flushedSummary: '',
    lines: (level?: LogRecord['level']) =>
      logs.filter((entry) => level === undefined || entry.level === level).map((entry) => entry.message),
    abort: (reason?: unknown) => controller.abort(reason),
  };
  const runtime = buildRuntime(
    {
      debug: (line) => record('debug', line),
      info: (line) => record('info', line),
      warning: (message, props) => record('warning', message, props),
      error: (message, props) => record('error', message, props),
      groupStart: (name) => record('group', name),
      groupEnd: () => {},
      secretsAdded: (secrets) => void masked.push(...secrets),
      output: (name, value) => {
        outputs[name] = value;
      },
      exportVariable: envExporter(env),
      async writeSummary(markdown) {
        memory.flushedSummary += markdown;
      },
    },
    {
      inputs: mapSource(options.inputs ?? {}),
      state: memoryState(options.state),
      clock: options.clock ?? new VirtualClock(),
      signal: controller.signal,
      env,
      workspace: options.workspace ?? process.cwd(),
    },
  );
  const memory: MemoryRuntime = Object.assign(runtime, extra);
  return memory;
}
