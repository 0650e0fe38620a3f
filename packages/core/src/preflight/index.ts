/** preflight: the runbook's pre-deployment checklist as gates (run-preflight.ts runs them). */
export { gateNames, type PreflightInputValues, preflightInputs } from './inputs';
export { DEFAULT_POLICY, loadPolicy } from './policy';
export { GATE_NAMES, GATES } from './registry';
export { type PreflightOptions, planGates, runPreflight } from './run-preflight';
export { runGates } from './runner';
export { POLICY_SCHEMA } from './schema';
export type * from './types';
