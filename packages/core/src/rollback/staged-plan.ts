/**
 * `mode: staged`'s plan: steps, analysis and router, parsed before the cluster is touched by the same parser as
 * canary-promote's (rollout/traffic-plan), so both refuse the same input with the same message.
 */
import type { MetricSpec } from '../metrics/spec';
import type { Step } from '../rollout/plan';
import { parseRouterChoice, parseTrafficPlan } from '../rollout/traffic-plan';
import type { RouterConfig, RouterKind } from '../routing/types';
import type { RollbackInputs } from './inputs';

export interface StagedPlan {
  analysis: MetricSpec[];
  steps: Step[];
  kind: RouterKind;
  config: RouterConfig;
}

export function parseStagedPlan(values: RollbackInputs): StagedPlan {
  // No strategy: the reverse canary's last step is not a promotion. Its pauses must fit in timeout, or it
  // stops half-way with traffic split.
  const { analysis, steps } = parseTrafficPlan(values, { defaultSteps: '25,50,100', timeoutMs: values.timeout });
  const { kind, config } = parseRouterChoice(values);
  return { analysis, steps, kind, config };
}
