/** The local workflow runner: load a workflow, run the steps that use our actions, report the rest. */
export { ExpressionError, evaluate, interpolate, type Value } from './expressions';
export { jobOrder, loadWorkflow, type Workflow, WorkflowError } from './load';
export { renderRun } from './render';
export { runWorkflow, runWorkflowFile } from './run';
export type {
  JobResult,
  RunWorkflowOptions,
  StandIn,
  StandInResult,
  StepResult,
  WorkflowResult,
} from './types';
