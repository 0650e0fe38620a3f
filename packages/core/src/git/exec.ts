/**
 * Running git: an argument array, no shell. `execCommand` has the shape of
 * `@deploy-actions/core/exec` (file, args, options → { exitCode, stdout, stderr }); it stands in here until
 * that module lands, then this file re-exports it.
 */
import { spawn } from 'node:child_process';

export interface ExecOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  signal?: AbortSignal;
  timeoutMs?: number;
  input?: string;
  silent?: boolean;
  /** Each line of stdout as it arrives (without its newline); stdout is then not kept. */
  onLine?: (line: string) => void;
  mask?: (text: string) => string;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export function execCommand(file: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: (options.env ?? process.env) as NodeJS.ProcessEnv,
      shell: false,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}),
    });
    const out: string[] = [];
    const err: string[] = [];
    let partial = '';
    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      if (options.onLine === undefined) return void out.push(chunk);
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      for (const line of lines) options.onLine(line);
    });
    child.stderr!.on('data', (chunk: string) => err.push(chunk));
    if (options.input !== undefined) child.stdin!.end(options.input);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (options.onLine !== undefined && partial !== '') options.onLine(partial);
      const stderr = err.join('') + (signal ? `\nkilled by ${signal}` : '');
      resolve({ exitCode: code ?? -1, stdout: out.join(''), stderr });
    });
  });
}
