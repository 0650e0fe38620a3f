/**
 * What the steps of one job see: the job's fixed scope (its run, needs, env, temp folder) and
 * its progress so far (failed yet?, `steps.<id>`, GITHUB_ENV / GITHUB_PATH additions, results,
 * post steps to run), which each step's outcome advances.
 */
import type { ActionManifest } from '../manifest';
import type { EvalContext, StatusFunctions, Value } from './expressions';
import type { ActionCall } from './invoke-action';
import type { WorkflowJob, WorkflowStep } from './load';
import type { RunContext } from './run-context';
import type { StepResult } from './types';

export interface JobScope {
  run: RunContext;
  job: WorkflowJob;
  /** The `needs` context: the results and outputs of the jobs this one needs. */
  needs: Record<string, Value>;
  /** The workflow's and the job's env, evaluated. */
  jobEnv: Record<string, string>;
  /** The job's temporary folder (each invocation gets a folder in it as RUNNER_TEMP). */
  temp: string;
}

/** A post step to run after the job's steps, with what its main step was given and saved. */
export interface PendingPost extends ActionCall {
  step: WorkflowStep;
  label: string;
  manifest: ActionManifest;
}

export interface JobProgress {
  failed: boolean;
  /** The `steps` context. */
  steps: Record<string, Value>;
  /** GITHUB_ENV additions of the steps so far. */
  addedEnv: Record<string, string>;
  /** GITHUB_PATH additions, the latest first. */
  addedPath: string[];
  results: StepResult[];
  posts: PendingPost[];
}

/** What one step (main or post) did, for the job to take in. */
export interface StepRun {
  result: StepResult;
  /** The id it is known by in `steps.<id>` (main steps only). */
  contextId?: string | undefined;
  addedEnv?: Record<string, string>;
  addedPath?: string[];
  post?: PendingPost;
}

/** What a main step that ran did (a stand-in or one of our actions), before continue-on-error has its say. */
export interface StepRan {
  status: 'success' | 'failure';
  fields: Partial<StepResult>;
  addedEnv: Record<string, string>;
  addedPath: string[];
  post?: PendingPost;
}

export const NO_PROGRESS: JobProgress = {
  failed: false,
  steps: {},
  addedEnv: {},
  addedPath: [],
  results: [],
  posts: [],
};

/** The progress after a step. */
export function advance(progress: JobProgress, ran: StepRun): JobProgress {
  const { result } = ran;
  return {
    failed: progress.failed || result.conclusion === 'failure',
    steps: ran.contextId
      ? {
          ...progress.steps,
          [ran.contextId]: { outputs: result.outputs, outcome: result.outcome, conclusion: result.conclusion },
        }
      : progress.steps,
    addedEnv: { ...progress.addedEnv, ...ran.addedEnv },
    addedPath: [...(ran.addedPath ?? []), ...progress.addedPath],
    results: [...progress.results, result],
    posts: ran.post ? [...progress.posts, ran.post] : progress.posts,
  };
}

/** The contexts every expression of a job sees, with `env` as given. */
export function jobContexts(run: RunContext, needs: Record<string, Value>, env: Record<string, string>) {
  return {
    github: run.github,
    inputs: run.inputs,
    env,
    vars: run.options.vars ?? {},
    secrets: run.options.secrets ?? {},
    needs,
  } satisfies Record<string, Value>;
}

/** success() / failure() at the job level: what the needed jobs concluded. */
export function needsStatus(needs: Record<string, Value>): StatusFunctions {
  const results = Object.values(needs).map((need) => (need as { result: string }).result);
  return {
    success: () => results.every((result) => result === 'success'),
    failure: () => results.some((result) => result === 'failure'),
    cancelled: () => false,
  };
}

/** What an expression in a step sees: the job's contexts, `steps`, `job.status`, and the status so far. */
export function stepContext(scope: JobScope, progress: JobProgress, env: Record<string, string>): EvalContext {
  const { failed } = progress;
  return {
    contexts: {
      ...jobContexts(scope.run, scope.needs, env),
      steps: progress.steps,
      job: { status: failed ? 'failure' : 'success' },
    },
    status: { success: () => !failed, failure: () => failed, cancelled: () => false },
  };
}
