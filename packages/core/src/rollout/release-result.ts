/** What a release (or its post step) ends with, for the action to map to outputs and the job summary. */
import type { DeployOutcome } from '../deploy/types';
import type { RolloutOutcome } from './types';

/** A canary or blue-green, with or without a cluster. */
export interface RolloutReleaseResult {
  kind: 'rollout';
  outcome: RolloutOutcome;
  /** The GitHub Deployment's summary section ('' when none was recorded). */
  deployment: string;
  /** Lines for the summary after the outcome: what the analysis left out, what runs without a cluster. */
  notes: string[];
}

/** Rolling or helm, in place. */
export interface InPlaceReleaseResult {
  kind: 'in-place';
  outcome: DeployOutcome;
  deployment: string;
}

export type ReleaseResult = RolloutReleaseResult | InPlaceReleaseResult;

/** `Aborted by hand (octocat).`: the reason of an `action: abort`. */
export function abortedByHand(env: Readonly<Record<string, string | undefined>>): string {
  return `Aborted by hand${env['GITHUB_ACTOR'] ? ` (${env['GITHUB_ACTOR']})` : ''}.`;
}
