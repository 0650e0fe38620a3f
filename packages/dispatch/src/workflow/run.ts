/**
 * The local workflow runner: runs the steps of a workflow that use OUR actions in this
 * process, through the same entry the GitHub runner starts (runner.ts `runAction`) and the
 * same protocol (INPUT_* variables, GITHUB_OUTPUT / GITHUB_STATE / GITHUB_STEP_SUMMARY files,
 * `::command::` lines), so what passes here is what the bundles do on GitHub. `run:` scripts
 * and other people's actions are not executed: they are reported as not run, with why,
 * unless the caller gives a stand-in for them.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { Masker } from '@deploy-actions/core/mask';
import type { Clock } from '@deploy-actions/core/runtime';
import { type ActionManifest, readManifest, repoRoot } from '../manifest';
import { actionNames, isActionName } from '../registry';
import { parseFileCommands, parseWorkflowCommand } from './commands';
import {
  type EvalContext,
  ExpressionError,
  interpolate,
  type StatusFunctions,
  stringify,
  truthy,
  usesStatusFunction,
  type Value,
} from './expressions';
import { jobOrder, loadWorkflow, stepLabel, type Workflow, WorkflowError, type WorkflowStep } from './load';

export type StepStatus = 'success' | 'failure' | 'skipped' | 'not-run';

export interface Annotation {
  level: 'error' | 'warning' | 'notice';
  message: string;
}

export interface StepResult {
  /** The step's id, when it has one. */
  id?: string;
  label: string;
  /** `uses:` or `run:` as written. */
  uses?: string;
  /** Which of our actions ran (also for the umbrella with `command`). */
  action?: string;
  phase: 'main' | 'post';
  /** success / failure: it ran; skipped: its `if:` was false; not-run: the runner does not execute it. */
  status: StepStatus;
  /** `steps.<id>.outcome` and `.conclusion` as GitHub sets them (continue-on-error makes them differ). */
  outcome: 'success' | 'failure' | 'skipped';
  conclusion: 'success' | 'failure' | 'skipped';
  reason?: string;
  exitCode?: number;
  outputs: Record<string, string>;
  /** What the step appended to GITHUB_STEP_SUMMARY (masked). */
  summary: string;
  annotations: Annotation[];
  /** The step's log lines as the runner shows them (masked, workflow commands interpreted). */
  log: string[];
}

export interface JobResult {
  id: string;
  name: string;
  status: 'success' | 'failure' | 'skipped';
  reason?: string;
  outputs: Record<string, string>;
  steps: StepResult[];
  /** Every step summary of the job, in order (what the run page shows under the job). */
  summary: string;
}

export interface WorkflowResult {
  file: string;
  name: string;
  conclusion: 'success' | 'failure';
  jobs: JobResult[];
}

export interface StandInStep {
  id?: string;
  label: string;
  uses?: string;
  run?: string;
  with: Record<string, string>;
  env: Record<string, string>;
}

/** What a stand-in reports for the step it replaces (all optional). */
export interface StandInResult {
  outcome?: 'success' | 'failure';
  outputs?: Record<string, string>;
  /** Variables for later steps, as a step would append them to GITHUB_ENV. */
  env?: Record<string, string>;
  /** Folders for later steps' PATH, as GITHUB_PATH. */
  path?: string[];
  summary?: string;
  log?: string[];
}

export type StandIn = (step: StandInStep) => StandInResult | undefined | Promise<StandInResult | undefined>;

export interface RunWorkflowOptions {
  /** Run only this job (its `needs` are not run: their results come from `needs`, else count as success). */
  job?: string;
  /** github context fields (sha, ref, ref_name, actor, repository, run_id, event_name, ...). */
  github?: Record<string, string>;
  /** workflow_dispatch inputs (checked against `on.workflow_dispatch.inputs`). */
  inputs?: Record<string, string>;
  vars?: Record<string, string>;
  /** Secrets: masked in everything the runner logs. */
  secrets?: Record<string, string>;
  /** Results of needed jobs that are not run here (with `job`). */
  needs?: Record<string, { result?: 'success' | 'failure' | 'skipped'; outputs?: Record<string, string> }>;
  /** GITHUB_WORKSPACE: where relative paths in inputs are read (default the current directory). */
  workspace?: string;
  /** The runner machine's environment the actions see (default PATH and HOME of this process). */
  env?: Record<string, string | undefined>;
  /** The actions' clock (a VirtualClock in tests). */
  clock?: Clock;
  /** Stand-ins for steps the runner does not execute, keyed by step id, `uses` without `@ref`, or name. */
  standIns?: Record<string, StandIn>;
  /** The runner's own log, one masked line at a time. */
  log?: (line: string) => void;
  /** Where action.yml files are read (default the repository this package is in). */
  root?: string;
}

const OUR_ACTION = /^[^/]+\/deploy-actions\/actions\/([a-z0-9-]+)@\S+$/;
const OUR_LOCAL_ACTION = /^\.\/actions\/([a-z0-9-]+)\/?$/;
const UMBRELLA = /^([^/]+\/deploy-actions@\S+|\.\/?)$/;

interface ActionRef {
  /** undefined: the umbrella (the `command` input picks the action). */
  name: string | undefined;
  manifestFile: string;
}

function ourAction(uses: string, root: string): ActionRef | undefined {
  const named = OUR_ACTION.exec(uses) ?? OUR_LOCAL_ACTION.exec(uses);
  if (named) return { name: named[1]!, manifestFile: join(root, 'actions', named[1]!, 'action.yml') };
  if (UMBRELLA.test(uses)) return { name: undefined, manifestFile: join(root, 'action.yml') };
  return undefined;
}

const GITHUB_DEFAULTS: Record<string, string> = {
  sha: '0000000000000000000000000000000000000000',
  ref: 'refs/heads/main',
  ref_name: 'main',
  actor: 'local',
  repository: 'local/repository',
  repository_owner: 'local',
  run_id: '1',
  run_number: '1',
  run_attempt: '1',
  server_url: 'https://github.com',
  api_url: 'https://api.github.com',
};

interface PendingPost {
  step: WorkflowStep;
  label: string;
  ref: ActionRef;
  manifest: ActionManifest;
  inputEnv: Record<string, string>;
  stepEnv: Record<string, string>;
  state: Record<string, string>;
}

export async function runWorkflowFile(file: string, options: RunWorkflowOptions = {}): Promise<WorkflowResult> {
  return runWorkflow(loadWorkflow(file), options);
}

export async function runWorkflow(workflow: Workflow, options: RunWorkflowOptions = {}): Promise<WorkflowResult> {
  const root = options.root ?? repoRoot();
  const masker = new Masker();
  for (const secret of Object.values(options.secrets ?? {})) masker.add(secret);
  const say = (line: string) => options.log?.(masker.redact(line));
  // Absolute: the runner changes into it before each action, so a relative path would be read twice relative.
  const workspace = resolve(options.workspace ?? process.cwd());
  const baseEnv = options.env ?? { PATH: process.env.PATH, HOME: process.env.HOME };
  const inputs = dispatchInputs(workflow, options.inputs ?? {});
  const eventName = options.github?.['event_name'] ?? workflow.events[0] ?? 'push';
  const github: Record<string, Value> = {
    ...GITHUB_DEFAULTS,
    event_name: eventName,
    workflow: workflow.name,
    workspace,
    token: options.secrets?.['GITHUB_TOKEN'] ?? '',
    ...options.github,
    event: { inputs },
  };
  // As on GitHub: `tag` for a run on refs/tags/..., else `branch` (unless given).
  github['ref_type'] ??= String(github['ref']).startsWith('refs/tags/') ? 'tag' : 'branch';
  const manifests = new Map<string, ActionManifest>();
  const manifestOf = async (path: string) => {
    const known = manifests.get(path);
    if (known) return known;
    const manifest = await readManifest(path);
    manifests.set(path, manifest);
    return manifest;
  };

  const jobResults: JobResult[] = [];
  const needsContext: Record<string, Value> = {};
  for (const [id, given] of Object.entries(options.needs ?? {})) {
    needsContext[id] = { result: given.result ?? 'success', outputs: given.outputs ?? {} };
  }

  for (const job of jobOrder(workflow, options.job)) {
    const where = (step?: string) => `${workflow.file}, job "${job.id}"${step ? `, step "${step}"` : ''}`;
    const notRunNeeds = job.needs.filter((need) => needsContext[need] === undefined);
    for (const need of notRunNeeds) needsContext[need] = { result: 'success', outputs: {} };
    const needs: Record<string, Value> = Object.fromEntries(job.needs.map((need) => [need, needsContext[need]!]));
    const needResults = job.needs.map((need) => (needsContext[need] as { result: string }).result);
    const jobStatus: StatusFunctions = {
      success: () => needResults.every((result) => result === 'success'),
      failure: () => needResults.some((result) => result === 'failure'),
      cancelled: () => false,
    };
    const baseContexts = (env: Record<string, string>): Record<string, Value> => ({
      github,
      inputs,
      env,
      vars: options.vars ?? {},
      secrets: options.secrets ?? {},
      needs,
    });
    const evalIn = (text: unknown, ctx: EvalContext, step: string | undefined, field: string): Value => {
      if (typeof text !== 'string') return (text ?? null) as Value;
      try {
        return interpolate(text, ctx);
      } catch (error) {
        if (!(error instanceof ExpressionError)) throw error;
        throw new WorkflowError(`${where(step)}, ${field}: ${error.message} in ${JSON.stringify(text.trim())}`);
      }
    };
    const condition = (raw: unknown, ctx: EvalContext, step: string | undefined, field = 'if') => {
      if (raw === undefined || raw === null) return ctx.status.success();
      if (typeof raw === 'boolean') return raw && ctx.status.success();
      let text = String(raw).trim();
      const whole = /^\$\{\{([\s\S]*)\}\}$/.exec(text);
      if (whole && !whole[1]!.includes('}}')) text = whole[1]!.trim();
      let implicit: boolean;
      try {
        implicit = !usesStatusFunction(text);
      } catch (error) {
        throw new WorkflowError(`${where(step)}, ${field}: ${(error as Error).message} in ${JSON.stringify(text)}`);
      }
      // GitHub's rule: a condition without a status function only applies while all is well.
      const value = evalIn(`\${{ ${text} }}`, ctx, step, field);
      return implicit ? ctx.status.success() && truthy(value) : truthy(value);
    };

    const workflowEnv = evalEnv(workflow.env, baseContexts({}), (text, ctx) =>
      evalIn(text, { contexts: ctx, status: jobStatus }, undefined, 'env'),
    );
    const jobEnv = {
      ...workflowEnv,
      ...evalEnv(job.env ?? {}, baseContexts(workflowEnv), (text, ctx) =>
        evalIn(text, { contexts: ctx, status: jobStatus }, undefined, 'env'),
      ),
    };
    const label = job.name ?? job.id;
    const result: JobResult = { id: job.id, name: label, status: 'success', outputs: {}, steps: [], summary: '' };
    jobResults.push(result);
    if (notRunNeeds.length > 0) result.reason = `needs ${notRunNeeds.join(', ')} not run here: taken as success`;

    const runJob = condition(job.if, { contexts: baseContexts(jobEnv), status: jobStatus }, undefined, 'job if');
    if (!runJob) {
      result.status = 'skipped';
      result.reason = 'its if: condition is false';
      needsContext[job.id] = { result: 'skipped', outputs: {} };
      say(`job ${job.id}: skipped (${result.reason})`);
      continue;
    }
    const environment = job.environment;
    const environmentName =
      typeof environment === 'object' && environment !== null ? (environment as { name?: unknown }).name : environment;
    say(
      `job ${job.id}${environmentName ? ` (environment ${stringify(evalIn(environmentName, { contexts: baseContexts(jobEnv), status: jobStatus }, undefined, 'environment'))}: approval not simulated)` : ''}`,
    );

    const temp = mkdtempSync(join(tmpdir(), 'workflow-run-'));
    let failed = false;
    const steps: Record<string, Value> = {};
    const addedEnv: Record<string, string> = {};
    const addedPath: string[] = [];
    const stepStatus: StatusFunctions = {
      success: () => !failed,
      failure: () => failed,
      cancelled: () => false,
    };
    const contextsNow = (env: Record<string, string>): Record<string, Value> => ({
      ...baseContexts(env),
      steps,
      job: { status: failed ? 'failure' : 'success' },
    });
    const posts: PendingPost[] = [];
    let counter = 0;

    const invoke = async (
      ref: ActionRef,
      inputEnv: Record<string, string>,
      stepEnv: Record<string, string>,
      state: Record<string, string>,
    ) => {
      const dir = join(temp, String(++counter));
      mkdirSync(dir);
      const files = {
        GITHUB_OUTPUT: join(dir, 'output'),
        GITHUB_STATE: join(dir, 'state'),
        GITHUB_STEP_SUMMARY: join(dir, 'summary'),
        GITHUB_ENV: join(dir, 'env'),
        GITHUB_PATH: join(dir, 'path'),
      };
      for (const path of Object.values(files)) writeFileSync(path, '');
      const env: Record<string, string | undefined> = {
        ...baseEnv,
        PATH: [...addedPath, baseEnv['PATH']].filter(Boolean).join(delimiter),
        CI: 'true',
        GITHUB_ACTIONS: 'true',
        GITHUB_WORKSPACE: workspace,
        GITHUB_WORKFLOW: workflow.name,
        GITHUB_JOB: job.id,
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
        RUNNER_TEMP: dir,
        ...files,
        ...stepEnv,
        ...inputEnv,
        ...Object.fromEntries(Object.entries(state).map(([name, value]) => [`STATE_${name}`, value])),
      };
      const log: string[] = [];
      const annotations: Annotation[] = [];
      const outputsFromCommands: Record<string, string> = {};
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
            if (command.props['name']) outputsFromCommands[command.props['name']] = command.message;
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
      const { createGitHubRuntime } = await import('@deploy-actions/core/runtime');
      const { runAction } = await import('../runner');
      const runtime = createGitHubRuntime({
        env,
        write,
        handleSignals: false,
        ...(options.clock ? { clock: options.clock } : {}),
      });
      let exitCode: number;
      // GitHub starts an action in the workspace: programs it runs (helm with a chart path such as
      // helm/api-platform) resolve relative paths there. Restored after the step.
      const cwd = process.cwd();
      process.chdir(workspace);
      try {
        exitCode = await runAction(ref.name, runtime);
      } catch (error) {
        // The entry turns errors into exit codes; a throw is a crash, as node would report it.
        line(`::error::${(error as Error).stack ?? String(error)}`);
        exitCode = 1;
      } finally {
        process.chdir(cwd);
      }
      if (pending !== '') line(pending);
      const outputs = { ...outputsFromCommands, ...parseFileCommands(readFileSync(files.GITHUB_OUTPUT, 'utf8')) };
      Object.assign(state, parseFileCommands(readFileSync(files.GITHUB_STATE, 'utf8')));
      Object.assign(addedEnv, parseFileCommands(readFileSync(files.GITHUB_ENV, 'utf8')));
      addedPath.unshift(...readFileSync(files.GITHUB_PATH, 'utf8').split('\n').filter(Boolean).reverse());
      const summary = masker.redact(readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'));
      return { exitCode, outputs, summary, log, annotations };
    };

    const record = (step: StepResult, source: WorkflowStep | undefined) => {
      result.steps.push(step);
      if (step.summary) result.summary += step.summary.endsWith('\n') ? step.summary : `${step.summary}\n`;
      if (source?.id) steps[source.id] = { outputs: step.outputs, outcome: step.outcome, conclusion: step.conclusion };
      if (step.conclusion === 'failure') failed = true;
      const mark =
        step.status === 'success' ? 'ok' : step.status === 'failure' ? 'FAILED' : step.status.replace('-', ' ');
      say(`  ${step.phase === 'post' ? 'Post ' : ''}${step.label}: ${mark}${step.reason ? ` (${step.reason})` : ''}`);
      for (const [name, value] of Object.entries(step.outputs)) say(`    ${name}=${value}`);
    };

    for (const step of job.steps) {
      const stepName = stepLabel(step);
      const envNow = { ...jobEnv, ...addedEnv };
      const stepEnv = {
        ...envNow,
        ...evalEnv(step.env ?? {}, contextsNow(envNow), (text, contexts) =>
          evalIn(text, { contexts, status: stepStatus }, stepName, 'env'),
        ),
      };
      const ctx: EvalContext = { contexts: contextsNow(stepEnv), status: stepStatus };
      const base = {
        ...(step.id ? { id: step.id } : {}),
        label: stepName,
        ...(step.uses || step.run ? { uses: step.uses ?? `run: ${String(step.run).split('\n')[0]}` } : {}),
        phase: 'main' as const,
        outputs: {},
        summary: '',
        annotations: [],
        log: [],
      };
      if (!condition(step.if, ctx, stepName)) {
        record({ ...base, status: 'skipped', outcome: 'skipped', conclusion: 'skipped', reason: 'if: false' }, step);
        continue;
      }
      const withValues: Record<string, string> = {};
      for (const [name, raw] of Object.entries(step.with ?? {})) {
        withValues[name] = stringify(evalIn(raw === null ? '' : String(raw), ctx, stepName, `with.${name}`));
      }
      const continueOnError = truthy(evalIn(step['continue-on-error'] ?? false, ctx, stepName, 'continue-on-error'));
      const finish = (status: 'success' | 'failure', rest: Partial<StepResult>) => {
        const conclusion = status === 'failure' && continueOnError ? 'success' : status;
        record({ ...base, ...rest, status, outcome: status, conclusion }, step);
      };

      const standIn =
        (step.id ? options.standIns?.[step.id] : undefined) ??
        (step.uses ? options.standIns?.[step.uses.replace(/@.*$/, '')] : undefined) ??
        (step.name ? options.standIns?.[step.name] : undefined);
      if (standIn) {
        const answer =
          (await standIn({ ...base, ...(step.run ? { run: step.run } : {}), with: withValues, env: stepEnv })) ?? {};
        Object.assign(addedEnv, answer.env ?? {});
        addedPath.unshift(...(answer.path ?? []));
        finish(answer.outcome ?? 'success', {
          reason: 'stand-in',
          outputs: answer.outputs ?? {},
          summary: masker.redact(answer.summary ?? ''),
          log: (answer.log ?? []).map((text) => masker.redact(text)),
        });
        continue;
      }

      const ref = step.uses ? ourAction(step.uses, root) : undefined;
      if (!ref) {
        const reason = step.run
          ? 'run: scripts are not executed by the local runner'
          : `${step.uses} is not one of our actions; the local runner does not execute it`;
        record({ ...base, status: 'not-run', outcome: 'skipped', conclusion: 'skipped', reason }, step);
        continue;
      }
      // A mistyped action name (canry-promote) is one line naming it and the actions there are, not ENOENT.
      if (ref.name !== undefined && !isActionName(ref.name))
        throw new WorkflowError(
          `${where(stepName)}: uses: ${step.uses}: there is no action "${ref.name}"; the actions are ${actionNames.join(', ')}`,
        );
      const manifest = await manifestOf(ref.manifestFile);
      const warnings: Annotation[] = [];
      const unexpected = Object.keys(withValues).filter((name) => !Object.hasOwn(manifest.inputs, name));
      if (unexpected.length > 0) {
        // GitHub's own words for it (a warning there; the step still runs).
        warnings.push({
          level: 'warning',
          message: `Unexpected input(s) ${unexpected.map((name) => `'${name}'`).join(', ')}, valid inputs are [${Object.keys(
            manifest.inputs,
          )
            .map((name) => `'${name}'`)
            .join(', ')}]`,
        });
      }
      const inputEnv: Record<string, string> = {};
      for (const [name, spec] of Object.entries(manifest.inputs)) {
        const given = withValues[name];
        const value =
          given ??
          (spec.default === undefined ? '' : stringify(evalIn(String(spec.default), ctx, stepName, `${name} default`)));
        if (given === undefined && spec.required && value === '')
          warnings.push({ level: 'warning', message: `Input required and not supplied: ${name}` });
        inputEnv[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
      }
      for (const name of unexpected) inputEnv[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = withValues[name]!;
      const actionName = ref.name ?? withValues['command'];
      const state: Record<string, string> = {};
      const ran = await invoke(ref, inputEnv, stepEnv, state);
      finish(ran.exitCode === 0 ? 'success' : 'failure', {
        ...(actionName && isActionName(actionName) ? { action: actionName } : {}),
        exitCode: ran.exitCode,
        outputs: ran.outputs,
        summary: ran.summary,
        annotations: [...warnings, ...ran.annotations],
        log: ran.log,
        ...(ran.exitCode === 0
          ? {}
          : { reason: ran.annotations.find((a) => a.level === 'error')?.message ?? `exit code ${ran.exitCode}` }),
      });
      if (manifest.runs.post) posts.push({ step, label: stepName, ref, manifest, inputEnv, stepEnv, state });
    }

    // Post steps run after the job's steps, last registered first, under `post-if` (default always()).
    for (const post of posts.reverse()) {
      const ctx: EvalContext = { contexts: contextsNow(post.stepEnv), status: stepStatus };
      const postIf = (post.manifest.runs as { 'post-if'?: string })['post-if'] ?? 'always()';
      const base = {
        ...(post.step.id ? { id: post.step.id } : {}),
        label: post.label,
        ...(post.step.uses ? { uses: post.step.uses } : {}),
        phase: 'post' as const,
        outputs: {},
        summary: '',
        annotations: [],
        log: [],
      };
      if (!condition(postIf, ctx, `Post ${post.label}`, 'post-if')) {
        record(
          { ...base, status: 'skipped', outcome: 'skipped', conclusion: 'skipped', reason: 'post-if: false' },
          undefined,
        );
        continue;
      }
      const ran = await invoke(post.ref, post.inputEnv, post.stepEnv, post.state);
      const status = ran.exitCode === 0 ? 'success' : 'failure';
      record(
        {
          ...base,
          status,
          outcome: status,
          conclusion: status,
          exitCode: ran.exitCode,
          summary: ran.summary,
          annotations: ran.annotations,
          log: ran.log,
        },
        undefined,
      );
    }
    rmSync(temp, { recursive: true, force: true });

    result.status = failed ? 'failure' : 'success';
    const outputCtx: EvalContext = { contexts: contextsNow(jobEnv), status: stepStatus };
    for (const [name, raw] of Object.entries(job.outputs ?? {})) {
      result.outputs[name] = stringify(evalIn(String(raw), outputCtx, undefined, `outputs.${name}`));
    }
    needsContext[job.id] = { result: result.status, outputs: result.outputs };
    say(`job ${job.id}: ${result.status}`);
  }
  return {
    file: workflow.file,
    name: workflow.name,
    conclusion: jobResults.some((job) => job.status === 'failure') ? 'failure' : 'success',
    jobs: jobResults,
  };
}

/** Evaluate an env mapping; each value sees the variables before it at an outer level only, as on GitHub. */
function evalEnv(
  raw: Record<string, unknown>,
  contexts: Record<string, Value>,
  evaluate: (text: unknown, contexts: Record<string, Value>) => Value,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    out[name] = stringify(evaluate(value === null ? '' : typeof value === 'string' ? value : String(value), contexts));
  }
  return out;
}

/** The `inputs` context of a workflow_dispatch run: given values, else defaults; required and choices checked. */
function dispatchInputs(workflow: Workflow, given: Record<string, string>): Record<string, Value> {
  const declared = workflow.dispatchInputs;
  const out: Record<string, Value> = {};
  for (const name of Object.keys(given)) {
    if (!Object.hasOwn(declared, name)) {
      const known = Object.keys(declared);
      throw new WorkflowError(
        `${workflow.file}: unknown workflow input "${name}"; ${known.length > 0 ? `inputs: ${known.join(', ')}` : 'the workflow declares no workflow_dispatch inputs'}`,
      );
    }
  }
  for (const [name, spec] of Object.entries(declared)) {
    const value = given[name] ?? (spec.default === undefined ? undefined : String(spec.default));
    if ((value === undefined || value === '') && spec.required) {
      throw new WorkflowError(
        `${workflow.file}: workflow input "${name}" is required (${spec.description ?? 'no description'}); pass it, e.g. --input ${name}=...`,
      );
    }
    if (
      value !== undefined &&
      spec.type === 'choice' &&
      Array.isArray(spec.options) &&
      !spec.options.map(String).includes(value)
    ) {
      throw new WorkflowError(
        `${workflow.file}: workflow input "${name}" is "${value}"; choose one of ${spec.options.join(', ')}`,
      );
    }
    // Booleans are real booleans in the inputs context; everything else a string.
    out[name] = spec.type === 'boolean' ? value === 'true' : (value ?? '');
  }
  return out;
}
