/**
 * One pipeline step: `node bin/deploy-actions.js <action> --flags`, the bundles the runner runs (dist/, or
 * the build DEPLOY_ACTIONS_DIST names). Its outputs come back as the CLI prints them (`name=value`,
 * `name<<EOF ... EOF`), its job summary from the GITHUB_STEP_SUMMARY file.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const root = join(import.meta.dirname, '..', '..');

export interface StepRun {
  code: number;
  outputs: Record<string, string>;
  /** The log without outputs, line by line (warnings and errors included). */
  log: string[];
  summary: string;
  seconds: number;
}

export interface StepOptions {
  cwd: string;
  summaryFile: string;
  env?: Record<string, string>;
  /** Each log line as it comes (outputs left out). */
  onLine?: (line: string) => void;
}

/** Outputs and log lines of the CLI's stdout (outputs are `name=value` or `name<<EOF` … `EOF`). */
export function splitOutputs(text: string): { outputs: Record<string, string>; log: string[] } {
  const outputs: Record<string, string> = {};
  const log: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heredoc = /^([\w-]+)<<(\w+)$/.exec(line);
    if (heredoc) {
      const end = lines.indexOf(heredoc[2]!, i + 1);
      const stop = end < 0 ? lines.length : end;
      outputs[heredoc[1]!] = lines.slice(i + 1, stop).join('\n');
      i = stop;
      continue;
    }
    const single = /^([a-z][\w-]*)=(.*)$/.exec(line);
    if (single) outputs[single[1]!] = single[2]!;
    else if (line.trim() !== '') log.push(line);
  }
  return { outputs, log };
}

export async function runStep(action: string, flags: string[], options: StepOptions): Promise<StepRun> {
  const started = Date.now();
  const child = spawn(process.execPath, [join(root, 'bin', 'deploy-actions.js'), action, ...flags], {
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GITHUB_STEP_SUMMARY: options.summaryFile, ...options.env },
  });
  let stdout = '';
  let stderr = '';
  let pending = '';
  let inHeredoc: string | undefined;
  const lines = (chunk: string) => {
    pending += chunk;
    const parts = pending.split('\n');
    pending = parts.pop()!;
    for (const line of parts) {
      if (inHeredoc !== undefined) {
        if (line === inHeredoc) inHeredoc = undefined;
        continue;
      }
      const heredoc = /^[\w-]+<<(\w+)$/.exec(line);
      if (heredoc) inHeredoc = heredoc[1];
      else if (line.trim() !== '' && !/^[a-z][\w-]*=/.test(line)) options.onLine?.(line);
    }
  };
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk;
    lines(chunk.toString());
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk;
    for (const line of chunk.toString().split('\n')) if (line.trim() !== '') options.onLine?.(line);
  });
  const code = await new Promise<number>((done) => child.on('close', (c) => done(c ?? 1)));
  const { outputs, log } = splitOutputs(stdout);
  const summary = existsSync(options.summaryFile) ? readFileSync(options.summaryFile, 'utf8') : '';
  return {
    code,
    outputs,
    log: [...log, ...stderr.split('\n').filter((l) => l.trim() !== '')],
    summary,
    seconds: (Date.now() - started) / 1000,
  };
}
