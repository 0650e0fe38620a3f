/**
 * A step that uses one of our actions: which action `uses:` names, its inputs as the runner
 * passes them (defaults, GitHub's warnings for unexpected and missing inputs), the main step
 * and, after the job's steps, its post step under `post-if`.
 */
import { join } from 'node:path';
import type { ActionManifest } from '../manifest';
import { actionNames, isActionName } from '../registry';
import { condition, placeOf } from './evaluate-fields';
import { type ActionCall, type ActionRef, type Invoked, invokeAction } from './invoke-action';
import {
  type JobProgress,
  type JobScope,
  type PendingPost,
  type StepRan,
  type StepRun,
  stepContext,
} from './job-context';
import { WorkflowError, type WorkflowStep } from './load';
import type { Annotation } from './types';

const OUR_ACTION = /^[^/]+\/deploy-actions\/actions\/([a-z0-9-]+)@\S+$/;
const OUR_LOCAL_ACTION = /^\.\/actions\/([a-z0-9-]+)\/?$/;
const UMBRELLA = /^([^/]+\/deploy-actions@\S+|\.\/?)$/;

/** The action a `uses:` names when it is one of ours (by repository, local path or the umbrella), else undefined. */
export function ourAction(uses: string, root: string): ActionRef | undefined {
  const named = OUR_ACTION.exec(uses) ?? OUR_LOCAL_ACTION.exec(uses);
  if (named) return { name: named[1]!, manifestFile: join(root, 'actions', named[1]!, 'action.yml') };
  if (UMBRELLA.test(uses)) return { name: undefined, manifestFile: join(root, 'action.yml') };
  return undefined;
}

export interface OurStep {
  step: WorkflowStep;
  label: string;
  /** Where the step is, for errors. */
  place: string;
  ref: ActionRef;
  withValues: Record<string, string>;
  stepEnv: Record<string, string>;
  /** An input's default from action.yml, evaluated (defaults may hold expressions). */
  defaultOf: (input: string, text: string) => string;
}

export async function runOurStep(scope: JobScope, progress: JobProgress, our: OurStep): Promise<StepRan> {
  const { ref, step, withValues } = our;
  // A mistyped action name (canry-promote) is one line naming it and the actions there are, not ENOENT.
  if (ref.name !== undefined && !isActionName(ref.name))
    throw new WorkflowError(
      `${our.place}: uses: ${step.uses}: there is no action "${ref.name}"; the actions are ${actionNames.join(', ')}`,
    );
  const manifest = await scope.run.manifestOf(ref.manifestFile);
  const { inputEnv, warnings } = actionInputs(manifest, withValues, our.defaultOf);
  const actionName = ref.name ?? withValues['command'];
  const ran = await invoke(scope, progress, { ref, inputEnv, stepEnv: our.stepEnv, state: {} });
  return {
    status: ran.exitCode === 0 ? 'success' : 'failure',
    fields: {
      ...(actionName && isActionName(actionName) ? { action: actionName } : {}),
      exitCode: ran.exitCode,
      outputs: ran.outputs,
      summary: ran.summary,
      annotations: [...warnings, ...ran.annotations],
      log: ran.log,
      ...(ran.exitCode === 0
        ? {}
        : { reason: ran.annotations.find((a) => a.level === 'error')?.message ?? `exit code ${ran.exitCode}` }),
    },
    addedEnv: ran.addedEnv,
    addedPath: ran.addedPath,
    ...(manifest.runs.post
      ? { post: { step, label: our.label, ref, manifest, inputEnv, stepEnv: our.stepEnv, state: ran.state } }
      : {}),
  };
}

/** The INPUT_* variables of a step (given, else the default), and GitHub's warnings about them. */
function actionInputs(
  manifest: ActionManifest,
  withValues: Record<string, string>,
  defaultOf: (input: string, text: string) => string,
): { inputEnv: Record<string, string>; warnings: Annotation[] } {
  const warnings: Annotation[] = [];
  const declared = Object.keys(manifest.inputs);
  const unexpected = Object.keys(withValues).filter((name) => !Object.hasOwn(manifest.inputs, name));
  if (unexpected.length > 0) {
    // GitHub's own words for it (a warning there; the step still runs).
    const quoted = (names: string[]) => names.map((name) => `'${name}'`).join(', ');
    warnings.push({
      level: 'warning',
      message: `Unexpected input(s) ${quoted(unexpected)}, valid inputs are [${quoted(declared)}]`,
    });
  }
  const inputEnv: Record<string, string> = {};
  for (const [name, spec] of Object.entries(manifest.inputs)) {
    const given = withValues[name];
    const value = given ?? (spec.default === undefined ? '' : defaultOf(name, String(spec.default)));
    if (given === undefined && spec.required && value === '')
      warnings.push({ level: 'warning', message: `Input required and not supplied: ${name}` });
    inputEnv[inputVariable(name)] = value;
  }
  for (const name of unexpected) inputEnv[inputVariable(name)] = withValues[name]!;
  return { inputEnv, warnings };
}

function inputVariable(input: string): string {
  return `INPUT_${input.replace(/ /g, '_').toUpperCase()}`;
}

/** A post step: runs after the job's steps under `post-if` (default always()), with the state its main step saved. */
export async function runPostStep(scope: JobScope, progress: JobProgress, post: PendingPost): Promise<StepRun> {
  const ctx = stepContext(scope, progress, post.stepEnv);
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
  const place = placeOf(scope.run.workflow.file, scope.job.id, `Post ${post.label}`);
  if (!condition(postIf, ctx, place, 'post-if')) {
    return {
      result: { ...base, status: 'skipped', outcome: 'skipped', conclusion: 'skipped', reason: 'post-if: false' },
    };
  }
  const ran = await invoke(scope, progress, post);
  const status = ran.exitCode === 0 ? 'success' : 'failure';
  const { exitCode, summary, annotations, log } = ran;
  return {
    result: { ...base, status, outcome: status, conclusion: status, exitCode, summary, annotations, log },
    addedEnv: ran.addedEnv,
    addedPath: ran.addedPath,
  };
}

function invoke(scope: JobScope, progress: JobProgress, call: ActionCall): Promise<Invoked> {
  // Each invocation adds one result, so the count names a folder no other invocation of the job has.
  const dir = join(scope.temp, String(progress.results.length + 1));
  return invokeAction({ run: scope.run, jobId: scope.job.id, dir, addedPath: progress.addedPath, ...call });
}
