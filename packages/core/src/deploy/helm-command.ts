/**
 * The helm CLI as the deploy runs it: an argument array (never a shell), the
 * run's signal, env (KUBECONFIG) and masking, each command recorded redacted
 * for the summary. A non-zero exit throws unless the caller reads it itself.
 */
import { UserError } from '../errors';
import { type ExecFunction, execCommand } from '../exec';
import type { Runtime } from '../runtime/port';
import type { HelmOptions } from './types';

export type HelmResult = Awaited<ReturnType<ExecFunction>>;

/** Runs `helm <args>`; with `allowFail` a non-zero exit is returned, not thrown. */
export type HelmCommand = (args: string[], allowFail?: boolean) => Promise<HelmResult>;

export interface HelmRunner {
  helm: HelmCommand;
  /** Every command run so far, redacted, as argument arrays. */
  commands: string[][];
}

export function helmRunner(rt: Runtime, options: HelmOptions): HelmRunner {
  const exec = options.exec ?? execCommand;
  const helmBin = options.helm ?? 'helm';
  const commands: string[][] = [];
  const helm: HelmCommand = async (args, allowFail = false) => {
    commands.push([helmBin, ...args].map((arg) => rt.redact(arg)));
    let result: HelmResult;
    try {
      result = await exec(helmBin, args, {
        signal: rt.signal,
        env: { ...process.env, ...options.env },
        log: rt.log,
        mask: rt.redact,
        // JSON answers are parsed, not read: they stay out of the log.
        silent: args.includes('-o'),
      });
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') {
        throw new UserError(`helm was not found (looked for "${helmBin}"): strategy helm needs the helm CLI`, {
          hint: 'Install it in an earlier step: - uses: azure/setup-helm@v4',
        });
      }
      throw error;
    }
    if (result.exitCode !== 0 && !allowFail) {
      throw new UserError(
        `helm ${args[0]} failed (exit ${result.exitCode}): ${rt.redact(lastLines(result.stderr || result.stdout))}`,
      );
    }
    return result;
  };
  return { helm, commands };
}

export function parseJson<T>(text: string, what: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new UserError(`${what} did not print JSON: ${text.slice(0, 200)}`);
  }
}

/** The end of helm's output, where its error is. */
export function lastLines(text: string): string {
  return text.trim().split('\n').slice(-5).join('\n');
}
