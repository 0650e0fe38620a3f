/**
 * The local workflow runner: runs the steps of a workflow that use OUR actions in this
 * process, through the same entry the GitHub runner starts (runner.ts `runAction`) and the
 * same protocol (INPUT_* variables, GITHUB_OUTPUT / GITHUB_STATE / GITHUB_STEP_SUMMARY files,
 * `::command::` lines), so what passes here is what the bundles do on GitHub. `run:` scripts
 * and other people's actions are not executed: they are reported as not run, with why,
 * unless the caller gives a stand-in for them.
 *
 * The pipeline: resolve the run (run-context.ts), run the jobs in `needs` order (run-job.ts),
 * each step (run-step.ts; our actions in our-action-step.ts and invoke-action.ts), with
 * expressions evaluated where they stand (evaluate-fields.ts).
 */
import type { Value } from './expressions';
import { jobOrder, loadWorkflow, type Workflow, type WorkflowJob } from './load';
import { resolveRun } from './run-context';
import { runJob } from './run-job';
import type { JobResult, RunWorkflowOptions, WorkflowResult } from './types';

export async function runWorkflowFile(file: string, options: RunWorkflowOptions = {}): Promise<WorkflowResult> {
  return runWorkflow(loadWorkflow(file), options);
}

export async function runWorkflow(workflow: Workflow, options: RunWorkflowOptions = {}): Promise<WorkflowResult> {
  // 1. The workspace, the github and inputs contexts, the masker: shared by every job.
  const run = resolveRun(workflow, options);
  // 2. The jobs in `needs` order, each seeing the results of the jobs it needs.
  let results = givenNeeds(options);
  const jobs: JobResult[] = [];
  for (const job of jobOrder(workflow, options.job)) {
    const { known, needs, notRun } = neededBy(job, results);
    const result = await runJob(run, job, needs, notRun);
    jobs.push(result);
    results = { ...known, [job.id]: { result: result.status, outputs: result.outputs } };
  }
  // 3. The run's conclusion.
  return {
    file: workflow.file,
    name: workflow.name,
    conclusion: jobs.some((job) => job.status === 'failure') ? 'failure' : 'success',
    jobs,
  };
}

/** The results of needed jobs that are not run here, as the caller gives them (success unless said). */
function givenNeeds(options: RunWorkflowOptions): Record<string, Value> {
  return Object.fromEntries(
    Object.entries(options.needs ?? {}).map(([id, given]) => [
      id,
      { result: given.result ?? 'success', outputs: given.outputs ?? {} },
    ]),
  );
}

/** A job's `needs` context; the jobs it needs that have no result yet are taken as success (and known from then on). */
function neededBy(job: WorkflowJob, results: Record<string, Value>) {
  const notRun = job.needs.filter((need) => results[need] === undefined);
  const known = { ...results, ...Object.fromEntries(notRun.map((need) => [need, { result: 'success', outputs: {} }])) };
  const needs: Record<string, Value> = Object.fromEntries(job.needs.map((need) => [need, known[need]!]));
  return { known, needs, notRun };
}
