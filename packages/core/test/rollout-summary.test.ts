/** The rollout summary tells the reader what to do next when the outcome leaves a decision to them. */
import { describe, expect, it } from 'vitest';
import type { RolloutOutcome } from '../src/rollout';
import { renderRolloutSummary } from '../src/rollout';
import type { RolloutRecord } from '../src/state';

function outcome(result: RolloutOutcome['result'], weight: number): RolloutOutcome {
  const record = {
    app: 'web',
    phase: result,
    weight,
    stableVersion: 'v1.1.0',
    canaryVersion: 'v1.2.0',
    verdicts: [],
  } as unknown as RolloutRecord;
  return { result, record, reason: 'error-rate 8% > 1% for 2 checks', timeline: [], analyses: [], routing: [] };
}

describe('rollout summary: next step', () => {
  it('an aborted release: the stable serves, fix and release again, database restore named', () => {
    const text = renderRolloutSummary(outcome('aborted', 0));
    expect(text).toContain('**Next:** v1.1.0 serves all traffic again');
    expect(text).toContain('`database-restore`');
  });

  it('a paused release: continue, promote or abort, with the weight it holds', () => {
    const text = renderRolloutSummary(outcome('paused', 25));
    expect(text).toContain('v1.2.0 holds 25% of the traffic');
    expect(text).toContain('`action: continue`');
    expect(text).toContain('`action: abort`');
  });

  it('a promoted release has no next step', () => {
    expect(renderRolloutSummary(outcome('promoted', 100))).not.toContain('**Next:**');
  });
});
