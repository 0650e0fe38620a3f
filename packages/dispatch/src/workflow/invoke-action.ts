/**
 * Runs one of our actions in this process as the GitHub runner would start it: INPUT_* and
 * STATE_* variables, fresh GITHUB_OUTPUT / GITHUB_STATE / GITHUB_STEP_SUMMARY / GITHUB_ENV /
 * GITHUB_PATH files, `::command::` lines read from what it writes, in the workspace.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Masker } from '@deploy-actions/core/mask';
import { parseFileCommands, parseWorkflowCommand } from './commands';
import type { RunContext } from './run-context';
import type { Annotation } from './types';

/** Which of our actions a `uses:` names. */
export interface ActionRef {
  /** undefined: the umbrella (the `command` input picks the action). */
  name: string | undefined;
  manifestFile: string;
}

/** What an action is started with: which action, its INPUT_* variables, the step's env, the state saved so far. */
export interface ActionCall {
  ref: ActionRef;
  inputEnv: Record<string, string>;
  stepEnv: Record<string, string>;
  state: Record<string, string>;
}

/** One invocation, the main step's or the post step's (with the state the main step saved), in a job. */
export interface Invocation extends ActionCall {
  run: RunContext;
  jobId: string;
  /** RUNNER_TEMP of this invocation: a fresh, empty folder. */
  dir: string;
  /** Folders earlier steps put on PATH (GITHUB_PATH), first first. */
  addedPath: string[];
}

export interface Invoked {
  exitCode: number;
  outputs: Record<string, string>;
  summary: string;
  log: string[];
  annotations: Annotation[];
  /** The state after the step (what its post step is given). */
  state: Record<string, string>;
  /** Variables the step added for later steps (GITHUB_ENV). */
  addedEnv: Record<string, string>;
  /** Folders the step added to PATH, to go before those already there. */
  addedPath: string[];
}

export async function invokeAction(call: Invocation): Promise<Invoked> {
  const files = protocolFiles(call.dir);
  const reader = commandReader(call.run.masker, call.state);
  const { createGitHubRuntime } = await import('@deploy-actions/core/runtime');
  const { runAction } = await import('../runner');
  const clock = call.run.options.clock;
  const runtime = createGitHubRuntime({
    env: actionEnv(call, files),
    write: reader.write,
    handleSignals: false,
    ...(clock ? { clock } : {}),
  });
  let exitCode: number;
  // GitHub starts an action in the workspace: programs it runs (helm with a chart path such as
  // helm/api-platform) resolve relative paths there. Restored after the step.
  const cwd = process.cwd();
  process.chdir(call.run.workspace);
  try {
    exitCode = await runAction(call.ref.name, runtime);
  } catch (error) {
    // The entry turns errors into exit codes; a throw is a crash, as node would report it.
    reader.line(`::error::${(error as Error).stack ?? String(error)}`);
    exitCode = 1;
  } finally {
    process.chdir(cwd);
  }
  const read = reader.end();
  const written = (name: keyof typeof files) => readFileSync(files[name], 'utf8');
  return {
    exitCode,
    outputs: { ...read.outputs, ...parseFileCommands(written('GITHUB_OUTPUT')) },
    summary: call.run.masker.redact(written('GITHUB_STEP_SUMMARY')),
    log: read.log,
    annotations: read.annotations,
    state: { ...read.state, ...parseFileCommands(written('GITHUB_STATE')) },
    addedEnv: parseFileCommands(written('GITHUB_ENV')),
    addedPath: written('GITHUB_PATH').split('\n').filter(Boolean).reverse(),
  };
}

/** The runner's file commands, created empty in the invocation's folder. */
function protocolFiles(dir: string) {
  mkdirSync(dir);
  const files = {
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_STATE: join(dir, 'state'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary'),
    GITHUB_ENV: join(dir, 'env'),
    GITHUB_PATH: join(dir, 'path'),
  };
  for (const path of Object.values(files)) writeFileSync(path, '');
  return files;
}

/** The environment the action sees: the machine's, the runner's GITHUB_* variables, the step's, inputs, state. */
function actionEnv(call: Invocation, files: Record<string, string>): Record<string, string | undefined> {
  const { baseEnv, workspace, workflow, github, eventName } = call.run;
  return {
    ...baseEnv,
    PATH: [...call.addedPath, baseEnv['PATH']].filter(Boolean).join(delimiter),
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: workspace,
    GITHUB_WORKFLOW: workflow.name,
    GITHUB_JOB: call.jobId,
    GITHUB_SHA: String(github['sha']),
    GITHUB_REF: String(github['ref']),
    GITHUB_REF_NAME: String(github['ref_name']),
    GITHUB_REF_TYPE: String(github['ref_type']),
    GITHUB_REPOSITORY: String(github['repository']),
    GITHUB_ACTOR: String(github['actor']),
    GITHUB_RUN_ID: String(github['run_id']),
    GITHUB_EVENT_NAME: eventName,
    GITHUB_SERVER_URL: String(github['server_url']),
    GITHUB_API_URL: String(github['api_url']),
    RUNNER_TEMP: call.dir,
    ...files,
    ...call.stepEnv,
    ...call.inputEnv,
    ...Object.fromEntries(Object.entries(call.state).map(([name, value]) => [`STATE_${name}`, value])),
  };
}

/** Reads what the action writes, line by line: log lines (masked) and the `::command::` lines among them. */
function commandReader(masker: Masker, givenState: Record<string, string>) {
  const log: string[] = [];
  const annotations: Annotation[] = [];
  const outputs: Record<string, string> = {};
  const state = { ...givenState };
  let pending = '';
  const line = (text: string) => {
    const command = parseWorkflowCommand(text);
    if (!command) return void log.push(masker.redact(text));
    switch (command.name) {
      case 'add-mask':
        masker.add(command.message);
        return;
      case 'error':
      case 'warning':
      case 'notice':
        annotations.push({ level: command.name, message: masker.redact(command.message) });
        log.push(`${command.name}: ${masker.redact(command.message)}`);
        return;
      case 'group':
        log.push(`▸ ${masker.redact(command.message)}`);
        return;
      case 'set-output':
        if (command.props['name']) outputs[command.props['name']] = command.message;
        return;
      case 'save-state':
        if (command.props['name']) state[command.props['name']] = command.message;
        return;
      default:
        // endgroup, debug: nothing to show.
        return;
    }
  };
  const write = (text: string) => {
    pending += text;
    let at = pending.indexOf('\n');
    while (at !== -1) {
      line(pending.slice(0, at).replace(/\r$/, ''));
      pending = pending.slice(at + 1);
      at = pending.indexOf('\n');
    }
  };
  /** The last line, when it has no newline, then everything read. */
  const end = () => {
    if (pending !== '') line(pending);
    return { log, annotations, outputs, state };
  };
  return { line, write, end };
}
