/**
 * `deploy-actions <command> [--input value ...]`: the same action code the GitHub runner
 * runs, with inputs from flags and defaults from the action's action.yml.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CliIo, processIo } from './cli-io';
import { type ActionManifest, manifestPath, readManifest } from './manifest';
import { actionLoaders, actionNames, isActionName } from './registry';

export class CliUsageError extends Error {}

/** Parse `--name value`, `--name=value` and a bare `--flag` (true) against the inputs of a manifest. */
export function parseFlags(argv: readonly string[], manifest: ActionManifest): Record<string, string> {
  const known = Object.keys(manifest.inputs);
  const values: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--'))
      throw new CliUsageError(`Unexpected argument ${JSON.stringify(arg)}: inputs are given as --name value.`);
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    if (!known.includes(name)) {
      throw new CliUsageError(`Unknown flag --${name}. Valid flags: ${known.map((k) => `--${k}`).join(', ')}`);
    }
    if (eq !== -1) {
      values[name] = arg.slice(eq + 1);
    } else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) {
      values[name] = argv[++i]!;
    } else {
      values[name] = 'true';
    }
  }
  return values;
}

/** Inputs as the runner would pass them: given values, else the action.yml default. */
export function inputsWithDefaults(
  given: Record<string, string>,
  manifest: ActionManifest,
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const inputs: Record<string, string> = {};
  for (const [name, spec] of Object.entries(manifest.inputs)) {
    const value = given[name] ?? defaultValue(spec.default, env);
    if (value !== undefined && value !== '') inputs[name] = value;
  }
  return inputs;
}

function defaultValue(
  value: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  if (value === undefined) return undefined;
  // Expressions only the runner can evaluate; the token is the one a terminal user can supply.
  if (/^\$\{\{\s*github\.token\s*\}\}$/.test(value)) return env.GITHUB_TOKEN;
  if (value.includes('${{')) return undefined;
  return String(value);
}

export function renderHelp(command: string, manifest: ActionManifest): string {
  const lines = [`deploy-actions ${command}: ${manifest.description}`, '', 'Flags:'];
  for (const [name, spec] of Object.entries(manifest.inputs)) {
    const def = spec.default === undefined ? '' : ` (default: ${JSON.stringify(String(spec.default).trim())})`;
    lines.push(`  --${name}${def}`, `      ${spec.description.replace(/\s+/g, ' ').trim()}`);
  }
  lines.push('', 'Outputs:');
  for (const [name, spec] of Object.entries(manifest.outputs)) lines.push(`  ${name}: ${spec.description}`);
  return lines.join('\n');
}

function renderCommands(): string {
  return [
    'Usage: deploy-actions <command> [--input value ...]',
    '       deploy-actions <command> --help',
    '       deploy-actions run-workflow <file> [--job name] [--secret K=V|K] [--var K=V] [--input K=V] [--workspace dir]',
    '',
    `Commands: ${actionNames.join(', ')}`,
  ].join('\n');
}

/** Run the CLI; returns the process exit code. */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.out(renderCommands());
    return command === undefined ? 1 : 0;
  }
  if (command === 'run-workflow') {
    const { runWorkflowCli } = await import('./workflow/cli');
    return runWorkflowCli(rest, io);
  }
  if (!isActionName(command)) {
    io.err(`Unknown command ${JSON.stringify(command)}. Valid commands: ${actionNames.join(', ')}`);
    return 1;
  }
  const manifest = await readManifest(manifestPath(command));
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(renderHelp(command, manifest));
    return 0;
  }
  let flags: Record<string, string>;
  try {
    flags = parseFlags(rest, manifest);
  } catch (error) {
    if (!(error instanceof CliUsageError)) throw error;
    io.err(`error: ${error.message}`);
    return 1;
  }
  const { createTerminalRuntime, executeAction } = await import('@deploy-actions/core/runtime');
  const args = inputsWithDefaults(flags, manifest, io.env);
  const definition = (await actionLoaders[command]!()).default;
  const interrupted = interruption(io);
  // main and its clean-up share their state (what main began), as the runner's main and post steps do.
  const state = mkdtempSync(join(tmpdir(), 'deploy-actions-state-'));
  const stateFile = join(state, 'state.json');
  try {
    const main = createTerminalRuntime({ args, stateFile, signal: interrupted.signal, out: io.out, err: io.err });
    const code = await executeAction(definition, main, 'main');
    if (definition.post === undefined || (code === 0 && !interrupted.signal.aborted)) return code;
    // Nothing saved: main refused its inputs or stopped before it began anything the post step could undo.
    if (!existsSync(stateFile)) return interrupted.signal.aborted ? interrupted.exitCode : code;
    // On GitHub the post step (post-if: always()) cleans up after a main step that was cancelled, timed out or
    // failed: the CLI has no post step, so it runs it here (a second interrupt stops it).
    io.err(
      `${command}: the step ${interrupted.signal.aborted ? 'did not finish' : `ended with exit code ${code}`}; running its clean-up (what the post step does on GitHub)`,
    );
    const again = interruption(io);
    const post = createTerminalRuntime({ args, stateFile, signal: again.signal, out: io.out, err: io.err });
    const cleaned = await executeAction(definition, post, 'post');
    again.dispose();
    if (interrupted.signal.aborted) return interrupted.exitCode;
    return code === 0 ? cleaned : code;
  } finally {
    interrupted.dispose();
    rmSync(state, { recursive: true, force: true });
  }
}

/** An AbortSignal for SIGINT and SIGTERM (or the io's own), saying so once, and the exit code it means. */
function interruption(io: CliIo) {
  const controller = new AbortController();
  const result = { signal: controller.signal, exitCode: 130, dispose: () => {} };
  const stop = (name: 'SIGINT' | 'SIGTERM') => {
    if (controller.signal.aborted) return;
    result.exitCode = name === 'SIGINT' ? 130 : 143;
    io.err(`${name}: stopping the step`);
    controller.abort(new Error(`Interrupted (${name})`));
  };
  if (io.interrupt) {
    const forward = () => {
      if (!controller.signal.aborted) controller.abort(io.interrupt!.reason);
    };
    // An interrupt that came before (it stopped main) does not stop the clean-up.
    io.interrupt.addEventListener('abort', forward, { once: true });
    result.dispose = () => io.interrupt!.removeEventListener('abort', forward);
    return result;
  }
  const onInt = () => stop('SIGINT');
  const onTerm = () => stop('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  result.dispose = () => {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  };
  return result;
}
