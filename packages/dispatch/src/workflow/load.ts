/**
 * Reads a workflow file into the few shapes the local runner acts on, refusing (with the
 * file and job named) the features it cannot run faithfully: matrices, containers, services.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export interface WorkflowStep {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
  if?: unknown;
  'continue-on-error'?: unknown;
}

export interface WorkflowJob {
  id: string;
  name?: string;
  needs: string[];
  if?: unknown;
  env?: Record<string, unknown>;
  environment?: unknown;
  outputs?: Record<string, unknown>;
  steps: WorkflowStep[];
}

export interface DispatchInput {
  description?: string;
  required?: boolean;
  default?: unknown;
  type?: string;
  options?: unknown[];
}

export interface Workflow {
  file: string;
  name: string;
  env: Record<string, unknown>;
  /** `on.workflow_dispatch.inputs` (the `inputs` context), when the workflow has them. */
  dispatchInputs: Record<string, DispatchInput>;
  events: string[];
  jobs: WorkflowJob[];
}

export class WorkflowError extends Error {}

const UNSUPPORTED_JOB_KEYS = ['strategy', 'container', 'services', 'uses'];

export function loadWorkflow(file: string, text?: string): Workflow {
  let doc: Record<string, unknown> | null;
  try {
    doc = parse(text ?? readFileSync(file, 'utf8')) as Record<string, unknown> | null;
  } catch (error) {
    throw new WorkflowError(`${file}: ${(error as Error).message}`);
  }
  if (!doc || typeof doc !== 'object') throw new WorkflowError(`${file}: not a workflow (empty or not a mapping)`);
  const on = doc['on'];
  const events = typeof on === 'string' ? [on] : Array.isArray(on) ? on.map(String) : Object.keys(on ?? {});
  const dispatch = (on && typeof on === 'object' && !Array.isArray(on) ? (on as Record<string, unknown>) : {})[
    'workflow_dispatch'
  ] as { inputs?: Record<string, DispatchInput> } | null | undefined;
  const rawJobs = doc['jobs'] as Record<string, Record<string, unknown>> | undefined;
  if (!rawJobs || typeof rawJobs !== 'object') throw new WorkflowError(`${file}: no jobs`);
  const jobs = Object.entries(rawJobs).map(([id, raw]): WorkflowJob => {
    for (const key of UNSUPPORTED_JOB_KEYS) {
      if (raw[key] !== undefined) {
        throw new WorkflowError(`${file}: job "${id}" uses "${key}:", which the local runner does not support`);
      }
    }
    if (!Array.isArray(raw['steps'])) throw new WorkflowError(`${file}: job "${id}" has no steps list`);
    const needs = raw['needs'];
    return {
      id,
      ...(typeof raw['name'] === 'string' ? { name: raw['name'] } : {}),
      needs: needs === undefined ? [] : Array.isArray(needs) ? needs.map(String) : [String(needs)],
      ...(raw['if'] !== undefined ? { if: raw['if'] } : {}),
      env: (raw['env'] as Record<string, unknown>) ?? {},
      ...(raw['environment'] !== undefined ? { environment: raw['environment'] } : {}),
      outputs: (raw['outputs'] as Record<string, unknown>) ?? {},
      steps: raw['steps'] as WorkflowStep[],
    };
  });
  for (const job of jobs) {
    for (const need of job.needs) {
      if (!jobs.some((other) => other.id === need))
        throw new WorkflowError(`${file}: job "${job.id}" needs "${need}", which is not a job of this workflow`);
    }
    job.steps.forEach((step, index) => {
      if (step.uses === undefined && step.run === undefined)
        throw new WorkflowError(`${file}: job "${job.id}" step ${index + 1} has neither uses: nor run:`);
    });
  }
  return {
    file,
    name: typeof doc['name'] === 'string' ? doc['name'] : file,
    env: (doc['env'] as Record<string, unknown>) ?? {},
    dispatchInputs: dispatch?.inputs ?? {},
    events,
    jobs,
  };
}

/** Jobs in an order where every job comes after the jobs it needs (file order otherwise). */
export function jobOrder(workflow: Workflow, only?: string): WorkflowJob[] {
  if (only !== undefined) {
    const job = workflow.jobs.find((candidate) => candidate.id === only);
    if (!job) {
      throw new WorkflowError(
        `${workflow.file}: no job "${only}". Jobs: ${workflow.jobs.map((candidate) => candidate.id).join(', ')}`,
      );
    }
    return [job];
  }
  const ordered: WorkflowJob[] = [];
  const visiting = new Set<string>();
  const visit = (job: WorkflowJob) => {
    if (ordered.includes(job)) return;
    if (visiting.has(job.id)) throw new WorkflowError(`${workflow.file}: jobs needs form a cycle at "${job.id}"`);
    visiting.add(job.id);
    for (const need of job.needs) visit(workflow.jobs.find((candidate) => candidate.id === need)!);
    visiting.delete(job.id);
    ordered.push(job);
  };
  for (const job of workflow.jobs) visit(job);
  return ordered;
}

/** A step's label as GitHub shows it: its name, else `Run <action>` / `Run <first line>`. */
export function stepLabel(step: WorkflowStep): string {
  if (step.name) return step.name;
  if (step.uses) return `Run ${step.uses}`;
  return `Run ${String(step.run).split('\n')[0]}`;
}
