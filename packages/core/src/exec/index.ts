/**
 * Every program the suite runs (helm, pg_restore, the `command` router's
 * commands, the user's own commands) goes through execCommand: @actions/exec
 * with an argument array (never a shell), its output streamed to the log line
 * by line after masking, and a result that carries the exit code and stderr.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { getExecOutput } from '@actions/exec';
import { UserError } from '../errors';

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  cwd?: string | undefined;
  /** The program's whole environment (default: this process's); its PATH is where the program is looked up. */
  env?: Readonly<Record<string, string | undefined>> | undefined;
  /** Aborting kills the program (SIGTERM, then SIGKILL after 5 s) and rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
  /** Kills the program after this long; the result then has exit code 124 and says so in stderr. */
  timeoutMs?: number | undefined;
  /** Written to the program's standard input. */
  input?: string | Buffer | undefined;
  /** Keep the output out of the log (it is still returned). */
  silent?: boolean | undefined;
  /** Each output line, unmasked, as it arrives. */
  onLine?: ((line: string, stream: 'stdout' | 'stderr') => void) | undefined;
  /** Redaction applied to every logged line (a Runtime's `redact`). */
  mask?: ((text: string) => string) | undefined;
  /** Where output lines go (a Runtime's `log`; default: this process's stdout). */
  log?: { info(line: string): void } | undefined;
}

/** Runs one program with an argument array. Resolves on any exit code; throws only when it cannot start or was aborted. */
export type ExecFunction = (file: string, args: readonly string[], options?: ExecOptions) => Promise<ExecResult>;

/** Exit code reported when timeoutMs killed the program (what coreutils' `timeout` uses). */
export const TIMEOUT_EXIT_CODE = 124;
const KILL_GRACE_MS = 5000;

/** A program that exited non-zero: its exit code and the last lines of its stderr (the user's to fix). */
export class CommandError extends UserError {
  override readonly name = 'UserError';
  constructor(
    readonly command: string,
    readonly exitCode: number,
    readonly stderr: string,
  ) {
    const tail = stderrTail(stderr);
    super(`${command} exited with ${exitCode}${tail ? `: ${tail}` : ''}`);
  }
}

/** The last `lines` non-empty lines of a program's stderr. */
export function stderrTail(stderr: string, lines = 5): string {
  return stderr.trim().split('\n').filter(Boolean).slice(-lines).join('\n');
}

/** The result when the program exited 0; otherwise a CommandError with its exit code and stderr tail. */
export function requireSuccess(file: string, result: ExecResult): ExecResult {
  if (result.exitCode !== 0) throw new CommandError(file, result.exitCode, result.stderr || result.stdout);
  return result;
}

/** Finds `file` as a spawn would: a path as is (relative to cwd), a bare name on PATH. Undefined when missing. */
export function findProgram(file: string, path: string | undefined, cwd: string = process.cwd()): string | undefined {
  const executable = (candidate: string) => {
    try {
      if (!statSync(candidate).isFile()) return false;
      if (process.platform !== 'win32') accessSync(candidate, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (isAbsolute(file) || file.includes('/') || file.includes('\\')) {
    const full = resolve(cwd, file);
    return executable(full) ? full : undefined;
  }
  const extensions = process.platform === 'win32' ? ['', '.exe', '.cmd', '.bat'] : [''];
  for (const folder of (path ?? '').split(delimiter).filter(Boolean)) {
    for (const extension of extensions) {
      const candidate = join(resolve(cwd, folder), file + extension);
      if (executable(candidate)) return candidate;
    }
  }
  return undefined;
}

function notFound(file: string): Error {
  return Object.assign(new Error(`spawn ${file} ENOENT`), { code: 'ENOENT' });
}

/**
 * Runs `file` with `args` through @actions/exec. A program that needs to be stoppable (signal or timeoutMs) runs
 * under a small node supervisor: @actions/exec does not hand out the child process, so the supervisor holds it
 * and kills it when its control socket closes (on abort, on timeout, or when this process dies).
 */
export const execCommand: ExecFunction = async (file, args, options = {}) => {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  options.signal?.throwIfAborted();
  const program = findProgram(file, env['PATH'] ?? env['Path'], cwd);
  if (program === undefined) throw notFound(file);

  const mask = options.mask ?? ((text: string) => text);
  const log = options.log ?? { info: (line: string) => void process.stdout.write(`${line}\n`) };
  const emit = (stream: 'stdout' | 'stderr') => (line: string) => {
    options.onLine?.(line, stream);
    if (!options.silent) log.info(mask(line));
  };
  if (!options.silent) log.info(mask(`[command]${[file, ...args].join(' ')}`));

  const stoppable = options.signal !== undefined || options.timeoutMs !== undefined;
  const control = stoppable ? await openControl() : undefined;
  const [command, commandArgs] = control
    ? [process.execPath, ['-e', SUPERVISOR, control.address, program, ...args]]
    : [program, [...args]];
  let timedOut = false;
  const stop = () => control?.stop();
  const onAbort = () => stop();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const timer =
    options.timeoutMs !== undefined
      ? setTimeout(() => {
          timedOut = true;
          stop();
        }, options.timeoutMs)
      : undefined;
  try {
    const output = await getExecOutput(quote(command), commandArgs, {
      cwd,
      env: definedOnly(env),
      silent: true,
      ignoreReturnCode: true,
      ...(options.input === undefined ? {} : { input: Buffer.from(options.input) }),
      listeners: { stdline: emit('stdout'), errline: emit('stderr') },
    });
    options.signal?.throwIfAborted();
    if (timedOut) {
      return {
        exitCode: TIMEOUT_EXIT_CODE,
        stdout: output.stdout,
        stderr: `${output.stderr}${output.stderr.endsWith('\n') || output.stderr === '' ? '' : '\n'}killed after ${options.timeoutMs} ms`,
      };
    }
    return output;
  } finally {
    if (timer) clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    control?.close();
  }
};

/** @actions/exec splits its first argument on spaces unless quoted. */
function quote(path: string): string {
  return `"${path.replace(/"/g, '\\"')}"`;
}

function definedOnly(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined) result[key] = value;
  return result;
}

/**
 * The supervisor: runs the program with its own stdio, exits with its exit code (128 + signal number when
 * killed), and kills it when the control socket closes or says anything.
 */
const SUPERVISOR = `
const net = require('node:net');
const { spawn } = require('node:child_process');
const { constants } = require('node:os');
const [address, file, ...args] = process.argv.slice(1);
const child = spawn(file, args, { stdio: 'inherit' });
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  child.kill('SIGTERM');
  setTimeout(() => child.kill('SIGKILL'), ${KILL_GRACE_MS}).unref();
};
const socket = net.connect(address);
socket.on('data', stop);
socket.on('close', stop);
socket.on('error', stop);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
child.on('error', (error) => { process.stderr.write(error.message + '\\n'); process.exit(127); });
child.on('exit', (code, signal) => {
  socket.destroy();
  process.exit(code ?? 128 + (constants.signals[signal] ?? 1));
});
`;

let sequence = 0;

/** A local socket the supervisor connects to; `stop` tells it to kill the program. */
async function openControl(): Promise<{ address: string; stop(): void; close(): void }> {
  const address =
    process.platform === 'win32'
      ? `\\\\.\\pipe\\deploy-actions-exec-${process.pid}-${++sequence}`
      : join(tmpdir(), `deploy-actions-exec-${process.pid}-${++sequence}.sock`);
  const sockets = new Set<Socket>();
  let stopped = false;
  const server: Server = createServer((socket) => {
    if (stopped) socket.end('stop');
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(address, () => done());
  });
  server.unref();
  return {
    address,
    stop() {
      stopped = true;
      for (const socket of sockets) socket.end('stop');
    },
    close() {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

/** execCommand with its output lines going to a Runtime's log through its masking. */
export function loggedExec(rt: { log: { info(line: string): void }; redact(text: string): string }): ExecFunction {
  return (file, args, options) => execCommand(file, args, { ...options, log: rt.log, mask: rt.redact });
}
