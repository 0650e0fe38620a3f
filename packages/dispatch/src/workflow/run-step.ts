/**
 * One main step of a job: its env and `if:`, its `with:` values, then what runs it — the
 * caller's stand-in, one of our actions, or nothing (a `run:` script or someone else's action,
 * reported as not run) — and continue-on-error's say on its conclusion.
 */
import type { Masker } from '@deploy-actions/core/mask';
import { condition, evalEnv, evaluateField, placeOf } from './evaluate-fields';
import { type EvalContext, stringify, truthy } from './expressions';
import { type JobProgress, type JobScope, type StepRan, type StepRun, stepContext } from './job-context';
import { stepLabel, type WorkflowStep } from './load';
import { ourAction, runOurStep } from './our-action-step';
import type { StandIn, StandInStep, StepResult } from './types';

type StepBase = Pick<StepResult, 'id' | 'label' | 'uses' | 'phase' | 'outputs' | 'summary' | 'annotations' | 'log'>;

export async function runStep(scope: JobScope, progress: JobProgress, step: WorkflowStep): Promise<StepRun> {
  const label = stepLabel(step);
  const place = placeOf(scope.run.workflow.file, scope.job.id, label);
  const envNow = { ...scope.jobEnv, ...progress.addedEnv };
  const stepEnv = { ...envNow, ...evalEnv(step.env ?? {}, stepContext(scope, progress, envNow), place) };
  const ctx = stepContext(scope, progress, stepEnv);
  const base = stepBase(step, label);
  const contextId = step.id;
  if (!condition(step.if, ctx, place)) {
    return {
      contextId,
      result: { ...base, status: 'skipped', outcome: 'skipped', conclusion: 'skipped', reason: 'if: false' },
    };
  }
  const withValues = evalWith(step, ctx, place);
  const continueOnError = truthy(evaluateField(step['continue-on-error'] ?? false, ctx, place, 'continue-on-error'));
  const concluded = (ran: StepRan): StepRun => {
    const conclusion = ran.status === 'failure' && continueOnError ? 'success' : ran.status;
    const result: StepResult = { ...base, ...ran.fields, status: ran.status, outcome: ran.status, conclusion };
    const { addedEnv, addedPath, post } = ran;
    return { contextId, result, addedEnv, addedPath, ...(post ? { post } : {}) };
  };

  const standIn = standInFor(scope.run.options.standIns, step);
  if (standIn) {
    const given = { ...base, ...(step.run ? { run: step.run } : {}), with: withValues, env: stepEnv };
    return concluded(await runStandIn(standIn, scope.run.masker, given));
  }
  const ref = step.uses ? ourAction(step.uses, scope.run.root) : undefined;
  if (!ref) {
    const reason = step.run
      ? 'run: scripts are not executed by the local runner'
      : `${step.uses} is not one of our actions; the local runner does not execute it`;
    return { contextId, result: { ...base, status: 'not-run', outcome: 'skipped', conclusion: 'skipped', reason } };
  }
  const defaultOf = (input: string, text: string) => stringify(evaluateField(text, ctx, place, `${input} default`));
  return concluded(await runOurStep(scope, progress, { step, label, place, ref, withValues, stepEnv, defaultOf }));
}

/** The fields every main step's result starts from. */
function stepBase(step: WorkflowStep, label: string): StepBase {
  return {
    ...(step.id ? { id: step.id } : {}),
    label,
    ...(step.uses || step.run ? { uses: step.uses ?? `run: ${String(step.run).split('\n')[0]}` } : {}),
    phase: 'main',
    outputs: {},
    summary: '',
    annotations: [],
    log: [],
  };
}

/** The step's `with:` values, evaluated, as strings. */
function evalWith(step: WorkflowStep, ctx: EvalContext, place: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, raw] of Object.entries(step.with ?? {})) {
    values[name] = stringify(evaluateField(raw === null ? '' : String(raw), ctx, place, `with.${name}`));
  }
  return values;
}

/** A stand-in in place of the step: what it answers, masked, as the step's result and GITHUB_ENV / GITHUB_PATH additions. */
async function runStandIn(standIn: StandIn, masker: Masker, given: StandInStep): Promise<StepRan> {
  const answer = (await standIn(given)) ?? {};
  return {
    status: answer.outcome ?? 'success',
    fields: {
      reason: 'stand-in',
      outputs: answer.outputs ?? {},
      summary: masker.redact(answer.summary ?? ''),
      log: (answer.log ?? []).map((text) => masker.redact(text)),
    },
    addedEnv: answer.env ?? {},
    addedPath: answer.path ?? [],
  };
}

/** The caller's stand-in for a step: by the step's id, else its `uses` without `@ref`, else its name. */
function standInFor(standIns: Record<string, StandIn> | undefined, step: WorkflowStep): StandIn | undefined {
  return (
    (step.id ? standIns?.[step.id] : undefined) ??
    (step.uses ? standIns?.[step.uses.replace(/@.*$/, '')] : undefined) ??
    (step.name ? standIns?.[step.name] : undefined)
  );
}
