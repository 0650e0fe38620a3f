/**
 * `deploy-actions run-workflow <file> [--job name] [--secret K=V|K] [--var K=V] [--input K=V] [--workspace dir]`:
 * runs the steps of a workflow that use our actions, here, and prints every step with its
 * outcome and outputs, then each job summary.
 */
import type { CliIo } from '../cli-io';
import { renderRun } from './render';

const USAGE =
  'Usage: deploy-actions run-workflow <file> [--job name] [--secret K=V | --secret K (from the environment)] ' +
  '[--var K=V] [--input K=V] [--workspace dir]';

class UsageError extends Error {}

interface Parsed {
  file: string;
  job?: string;
  workspace?: string;
  secrets: Record<string, string>;
  vars: Record<string, string>;
  inputs: Record<string, string>;
}

function parse(argv: readonly string[], env: CliIo['env']): Parsed {
  const parsed: Parsed = { file: '', secrets: {}, vars: {}, inputs: {} };
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      files.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (!['job', 'workspace', 'secret', 'var', 'input'].includes(flag)) {
      throw new UsageError(`Unknown flag --${flag}. Valid flags: --job, --secret, --var, --input, --workspace`);
    }
    if (value === undefined || value === '')
      throw new UsageError(`--${flag} needs a value, e.g. --${flag} ${example(flag)}`);
    if (flag === 'job') parsed.job = value;
    else if (flag === 'workspace') parsed.workspace = value;
    else {
      const at = value.indexOf('=');
      const name = at === -1 ? value : value.slice(0, at);
      if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(name)) {
        throw new UsageError(
          `--${flag} ${JSON.stringify(value)}: expected NAME=value, e.g. --${flag} ${example(flag)}`,
        );
      }
      let given = at === -1 ? undefined : value.slice(at + 1);
      // `--secret NAME` reads it from the environment, so it stays out of shell history.
      if (given === undefined && flag === 'secret') given = env[name];
      if (given === undefined) {
        throw new UsageError(
          flag === 'secret'
            ? `--secret ${name}: ${name} is not set in the environment; export it or pass --secret ${name}=value`
            : `--${flag} ${JSON.stringify(value)}: expected NAME=value, e.g. --${flag} ${example(flag)}`,
        );
      }
      const target = flag === 'secret' ? parsed.secrets : flag === 'var' ? parsed.vars : parsed.inputs;
      target[name] = given;
    }
  }
  if (files.length !== 1)
    throw new UsageError(files.length === 0 ? 'Which workflow file?' : `One workflow file, not ${files.join(', ')}`);
  parsed.file = files[0]!;
  return parsed;
}

function example(flag: string): string {
  return (
    { job: 'deploy', workspace: '.', secret: 'KUBECONFIG', var: 'NAMESPACE=production', input: 'tag=v1.2.3' }[flag] ??
    ''
  );
}

export async function runWorkflowCli(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(USAGE);
    return 0;
  }
  let parsed: Parsed;
  try {
    parsed = parse(argv, io.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(`error: ${error.message}\n${USAGE}`);
    return 1;
  }
  const { runWorkflowFile } = await import('./run');
  const { WorkflowError } = await import('./load');
  try {
    const run = await runWorkflowFile(parsed.file, {
      ...(parsed.job ? { job: parsed.job } : {}),
      ...(parsed.workspace ? { workspace: parsed.workspace } : {}),
      secrets: parsed.secrets,
      vars: parsed.vars,
      inputs: parsed.inputs,
      env: io.env,
    });
    const { Masker } = await import('@deploy-actions/core/mask');
    const masker = new Masker();
    for (const secret of Object.values(parsed.secrets)) masker.add(secret);
    io.out(masker.redact(renderRun(run)));
    return run.conclusion === 'success' ? 0 : 1;
  } catch (error) {
    if (!(error instanceof WorkflowError)) throw error;
    io.err(`error: ${error.message}`);
    return 1;
  }
}
