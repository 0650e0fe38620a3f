/** What the local workflow runner is given and what it reports: run options, step, job and workflow results, stand-ins. */
import type { Clock } from '@deploy-actions/core/runtime';

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
