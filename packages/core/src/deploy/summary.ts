import type { DeployOutcome } from './types';

/** The job summary of a rolling or helm deploy (markdown). */
export function renderDeploySummary(outcome: DeployOutcome): string {
  return `## ${outcome.strategy}: ${outcome.verdict}\n`;
}

/** What the adapter returns from run(): result document, outputs, and the failure line. */
export function toActionOutcome(outcome: DeployOutcome) {
  return { result: { ...outcome, verdict: outcome.verdict }, ...(outcome.failure ? { failure: outcome.failure } : {}) };
}
