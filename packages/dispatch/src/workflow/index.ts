/** The local workflow runner: load a workflow, run the steps that use our actions, report the rest. */
export { ExpressionError, evaluate, interpolate, type Value } from './expressions';
export { jobOrder, loadWorkflow, type Workflow, WorkflowError } from './load';
export { renderRun } from './render';
export {
  type JobResult,
  type RunWorkflowOptions,
  runWorkflow,
  runWorkflowFile,
  type StandIn,
  type StandInResult,
  type StepResult,
  type WorkflowResult,
} from './run';
