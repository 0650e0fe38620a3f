/**
 * canary-promote: progressive delivery from workflow steps. The release engine of @deploy-actions/core/rollout
 * does the work: planRelease checks every input before anything changes, runRelease runs a canary or
 * blue-green (the Rollout state machine, with or without a cluster) or a rolling / helm deploy, under the
 * app's Lease, with its GitHub Deployment. This adapter declares the inputs and maps the outcome to outputs
 * and the job summary.
 */
import { renderDeploySummary, toActionOutcome } from '@deploy-actions/core/deploy';
import { defineInputs } from '@deploy-actions/core/inputs';
import { kubeInputs } from '@deploy-actions/core/kube';
import {
  finishUnfinishedRelease,
  planRelease,
  type RolloutOutcome,
  releaseInputs,
  renderRolloutSummary,
  runRelease,
} from '@deploy-actions/core/rollout';
import { type ActionDefinition, type ActionOutcome, commonInputs } from '@deploy-actions/core/runtime';

export const inputs = defineInputs({ ...releaseInputs, ...kubeInputs, ...commonInputs });

type Inputs = ReturnType<typeof inputs.parse>;

function toOutcome(outcome: RolloutOutcome): ActionOutcome {
  const record = outcome.record;
  const images = (pick: 'stableImages' | 'canaryImages') =>
    (record?.workloads ?? [])
      .flatMap((w) => Object.entries(w[pick]).map(([container, image]) => `${w.stable}/${container}=${image}`))
      .join('\n');
  const analysis = outcome.analyses.map(({ step, weight, result }) => ({
    step: step + 1,
    weight,
    verdict: result.verdict,
    reason: result.reason,
    checks: result.measurements.map((m) => ({
      metric: m.metric,
      elapsedSeconds: Math.round(m.elapsed / 1000),
      value: m.value ?? null,
      control: m.control ?? null,
      threshold: m.threshold,
      outcome: m.outcome,
    })),
  }));
  const report = {
    verdict: outcome.result,
    reason: outcome.reason,
    phase: record?.phase,
    weight: record?.weight ?? 0,
    app: record?.app,
    stableVersion: record?.stableVersion,
    canaryVersion: record?.canaryVersion,
    steps: record?.verdicts ?? [],
    timeline: outcome.timeline,
    routing: outcome.routing,
    ...(outcome.plan ? { plan: outcome.plan } : {}),
  };
  return {
    result: report,
    outputs: {
      // README.md "What every action shares": `result` is the verdict word; the JSON document is in `report`.
      result: outcome.result,
      report: JSON.stringify(report),
      phase: record?.phase ?? '',
      weight: record?.weight ?? 0,
      'stable-image': images('stableImages'),
      'canary-image': images('canaryImages'),
      analysis: JSON.stringify(analysis),
    },
    // An abort or rollback is the rollout working as designed, but the release did not go out: fail the step.
    ...(outcome.result === 'aborted' || outcome.result === 'rolled-back' ? { failure: outcome.reason } : {}),
  };
}

const canaryPromote: ActionDefinition<Inputs> = {
  name: 'canary-promote',
  inputs,
  // `result` is promoted|aborted|...; a run that fails says `failed` (and `phase` the record's), the JSON is in report.
  verdictResult: true,
  async run(rt, values) {
    // Every input is checked here, before the cluster (or anything else) is touched.
    const result = await runRelease(rt, planRelease(values));
    if (result.kind === 'in-place') {
      rt.summary.append(`${renderDeploySummary(result.outcome)}${result.deployment ? `\n${result.deployment}` : ''}`);
      return toActionOutcome(result.outcome);
    }
    rt.summary.append(
      `## canary-promote\n\n${renderRolloutSummary(result.outcome)}${result.deployment ? `\n${result.deployment}` : ''}`,
    );
    // Said after the outcome: what the analysis left out, what runs without a cluster.
    if (result.notes.length > 0) rt.summary.append(`${result.notes.join('\n\n')}\n`);
    return toOutcome(result.outcome);
  },
  /** When the main step did not finish (cancelled, runner lost, crashed), put the app back. */
  async post(rt, values) {
    const result = await finishUnfinishedRelease(rt, values);
    if (result === undefined) return;
    const deployment = result.deployment ? `\n${result.deployment}` : '';
    const outcome =
      result.kind === 'in-place' ? renderDeploySummary(result.outcome) : renderRolloutSummary(result.outcome);
    const notes = result.kind === 'in-place' ? '' : result.notes.map((note) => `\n${note}\n`).join('');
    rt.summary.append(`## canary-promote (post)\n\n${outcome}${deployment}${notes}`);
  },
};

export default canaryPromote;
