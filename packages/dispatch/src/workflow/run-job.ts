/**
 * One job of a workflow: its env and `if:`, its steps in order, then the post steps of our
 * actions (last registered first), then its outputs and the summary of all its steps.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { condition, evalEnv, evaluateField, placeOf } from './evaluate-fields';
import { type EvalContext, stringify, type Value } from './expressions';
import {
  advance,
  type JobProgress,
  type JobScope,
  jobContexts,
  NO_PROGRESS,
  needsStatus,
  type StepRun,
  stepContext,
} from './job-context';
import type { WorkflowJob } from './load';
import { runPostStep } from './our-action-step';
import type { RunContext } from './run-context';
import { runStep } from './run-step';
import type { JobResult, StepResult } from './types';

/** Runs a job; `notRunNeeds` are the jobs it needs that were not run here (taken as success). */
export async function runJob(
  run: RunContext,
  job: WorkflowJob,
  needs: Record<string, Value>,
  notRunNeeds: string[],
): Promise<JobResult> {
  const place = placeOf(run.workflow.file, job.id);
  const jobEnv = evalJobEnv(run, job, needs);
  const ctx: EvalContext = { contexts: jobContexts(run, needs, jobEnv), status: needsStatus(needs) };
  const result: JobResult = {
    id: job.id,
    name: job.name ?? job.id,
    status: 'success',
    outputs: {},
    steps: [],
    summary: '',
  };
  if (notRunNeeds.length > 0) result.reason = `needs ${notRunNeeds.join(', ')} not run here: taken as success`;
  if (!condition(job.if, ctx, place, 'job if')) {
    const skipped = { ...result, status: 'skipped' as const, reason: 'its if: condition is false' };
    run.say(`job ${job.id}: skipped (${skipped.reason})`);
    return skipped;
  }
  announceJob(run, job, ctx, place);
  const temp = mkdtempSync(join(tmpdir(), 'workflow-run-'));
  let progress: JobProgress;
  try {
    progress = await runSteps({ run, job, needs, jobEnv, temp });
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
  const status = progress.failed ? 'failure' : 'success';
  const outputs = jobOutputs({ run, job, needs, jobEnv, temp }, progress);
  run.say(`job ${job.id}: ${status}`);
  return { ...result, status, outputs, steps: progress.results, summary: jobSummary(progress.results) };
}

/** The workflow's env, then the job's (which sees the workflow's), evaluated at the job level. */
function evalJobEnv(run: RunContext, job: WorkflowJob, needs: Record<string, Value>): Record<string, string> {
  const place = placeOf(run.workflow.file, job.id);
  const status = needsStatus(needs);
  const workflowEnv = evalEnv(run.workflow.env, { contexts: jobContexts(run, needs, {}), status }, place);
  const ownEnv = evalEnv(job.env ?? {}, { contexts: jobContexts(run, needs, workflowEnv), status }, place);
  return { ...workflowEnv, ...ownEnv };
}

/** The log's first line for a job, naming its environment (whose approval the local runner does not simulate). */
function announceJob(run: RunContext, job: WorkflowJob, ctx: EvalContext, place: string): void {
  const environment = job.environment;
  const environmentName =
    typeof environment === 'object' && environment !== null ? (environment as { name?: unknown }).name : environment;
  const named = environmentName
    ? ` (environment ${stringify(evaluateField(environmentName, ctx, place, 'environment'))}: approval not simulated)`
    : '';
  run.say(`job ${job.id}${named}`);
}

/** The job's steps in order, then the post steps last registered first, each taken in as it ends. */
async function runSteps(scope: JobScope): Promise<JobProgress> {
  let progress = NO_PROGRESS;
  for (const step of scope.job.steps) progress = taken(scope, progress, await runStep(scope, progress, step));
  for (const post of [...progress.posts].reverse()) {
    progress = taken(scope, progress, await runPostStep(scope, progress, post));
  }
  return progress;
}

/** The progress after a step, with the step's line (and its outputs) in the runner's log. */
function taken(scope: JobScope, progress: JobProgress, ran: StepRun): JobProgress {
  const step = ran.result;
  const mark = step.status === 'success' ? 'ok' : step.status === 'failure' ? 'FAILED' : step.status.replace('-', ' ');
  const { say } = scope.run;
  say(`  ${step.phase === 'post' ? 'Post ' : ''}${step.label}: ${mark}${step.reason ? ` (${step.reason})` : ''}`);
  for (const [name, value] of Object.entries(step.outputs)) say(`    ${name}=${value}`);
  return advance(progress, ran);
}

/** The job's `outputs:`, evaluated after its steps. */
function jobOutputs(scope: JobScope, progress: JobProgress): Record<string, string> {
  const ctx = stepContext(scope, progress, scope.jobEnv);
  const outputs: Record<string, string> = {};
  for (const [name, raw] of Object.entries(scope.job.outputs ?? {})) {
    outputs[name] = stringify(
      evaluateField(String(raw), ctx, placeOf(scope.run.workflow.file, scope.job.id), `outputs.${name}`),
    );
  }
  return outputs;
}

/** Every step summary of the job, in order, each ending with a newline. */
function jobSummary(steps: StepResult[]): string {
  return steps
    .map((step) => (step.summary.endsWith('\n') || !step.summary ? step.summary : `${step.summary}\n`))
    .join('');
}
