/**
 * The release engine's pure decisions (core/rollout), table-driven: a step's verdict from its analysis, what
 * follows a failed step, where pause-at stops, what `start` does with the record it finds, how long blue-green
 * keeps blue, the share recorded beside a verdict, and the canary's pods for a weight.
 */
import { describe, expect, it } from 'vitest';
import type { AnalysisResult } from '../src/metrics/engine';
import { stepVerdict, withVerdict } from '../src/rollout/analysis';
import { blueHold } from '../src/rollout/blue-green';
import type { Step } from '../src/rollout/plan';
import { startDecision } from '../src/rollout/start';
import { afterFailedStep, pausesAt } from '../src/rollout/steps';
import { canaryReplicas } from '../src/rollout/weights';
import type { RolloutRecord } from '../src/state/record';

const result = (verdict: AnalysisResult['verdict'], reason: string) => ({ verdict, reason }) as AnalysisResult;

describe('stepVerdict', () => {
  it.each([
    [undefined, { verdict: 'skipped', reason: 'held 1m, no analysis', passed: true }],
    [result('pass', 'restarts 0 ≤ 0'), { verdict: 'pass', reason: 'restarts 0 ≤ 0', passed: true }],
    [result('fail', 'restarts 3 > 0'), { verdict: 'fail', reason: 'restarts 3 > 0', passed: false }],
    // No evidence is no pass: inconclusive stops the release as a failure does.
    [result('inconclusive', 'no data'), { verdict: 'inconclusive', reason: 'no data', passed: false }],
  ])('%o → %o', (analysis, expected) => {
    expect(stepVerdict(analysis, 'held 1m, no analysis')).toEqual(expected);
  });
});

describe('afterFailedStep', () => {
  const steps: Step[] = [5, 25, 50, 100].map((weight) => ({ weight, pause: 60_000, analysis: [] }));
  it.each([
    [0, 'previous-step', { kind: 'abort' }],
    [1, 'previous-step', { kind: 'previous-step', weight: 5 }],
    [2, 'previous-step', { kind: 'previous-step', weight: 25 }],
    [2, 'abort', { kind: 'abort' }],
  ] as const)('step %i with on-step-failure %s → %o', (index, onStepFailure, expected) => {
    expect(afterFailedStep(steps, index, onStepFailure)).toEqual(expected);
  });
});

describe('pausesAt', () => {
  it.each([
    [undefined, 50, 2, 4, false],
    [50, 25, 1, 4, false],
    [50, 50, 2, 4, true],
    [30, 50, 2, 4, true],
    // The last step never pauses: promotion follows it.
    [50, 50, 3, 4, false],
  ])('pause-at %s, weight %i at step %i of %i → %s', (pauseAt, weight, index, count, expected) => {
    expect(pausesAt(pauseAt, weight, index, count)).toBe(expected);
  });
});

describe('startDecision', () => {
  const record = (
    phase: RolloutRecord['phase'],
    canaryVersion = 'v2',
    strategy: RolloutRecord['strategy'] = 'canary',
  ) => ({ phase, canaryVersion, strategy }) as RolloutRecord;
  const next = { canaryVersion: 'v2', strategy: 'canary' as const };
  it.each([
    ['no record', undefined, 'fresh'],
    ['promoted before', record('promoted'), 'fresh'],
    ['aborted before', record('aborted', 'v2'), 'fresh'],
    ['rolled back before', record('rolled-back'), 'fresh'],
    ['another version in flight', record('progressing', 'v3'), 'refuse'],
    ['another strategy in flight', record('progressing', 'v2', 'blue-green'), 'refuse'],
    ['the same release paused', record('paused'), 'refuse'],
    ['the same release switched', record('switched'), 'refuse'],
    ['the same release aborting', record('aborting'), 'finish-abort'],
    ['the same release promoting', record('promoting'), 'finish-promotion'],
    ['the same release progressing', record('progressing'), 'resume'],
  ] as const)('%s → %s', (_, previous, expected) => {
    expect(startDecision(previous, next)).toBe(expected);
  });
});

describe('blueHold', () => {
  it.each([
    [undefined, false, 60_000, 0],
    [300_000, false, 60_000, 300_000],
    [300_000, true, 60_000, 300_000],
    ['manual', false, 60_000, 0],
    ['manual', true, 60_000, 60_000],
  ] as const)('scale-down-delay %s, analysis %s, first pause %i → %i ms', (setting, analysed, pause, expected) => {
    expect(blueHold(setting, analysed, pause)).toBe(expected);
  });
});

describe('withVerdict', () => {
  it('records the share last served at that weight beside the one asked, and none when the weight was never set', () => {
    const timeline = [
      { at: 1, weight: 25, actual: 20 },
      { at: 2, weight: 50, actual: 50 },
      { at: 3, weight: 25, actual: 30 },
    ];
    const at = Date.UTC(2026, 0, 1);
    expect(withVerdict([], timeline, { step: 0, weight: 25, verdict: 'pass', reason: 'ok', at })).toEqual([
      { step: 0, weight: 25, served: 30, verdict: 'pass', reason: 'ok', at: '2026-01-01T00:00:00.000Z' },
    ]);
    expect(withVerdict([], timeline, { step: 1, weight: 75, verdict: 'fail', reason: 'x', at })[0]).not.toHaveProperty(
      'served',
    );
  });
});

describe('canaryReplicas', () => {
  it.each([
    [10, 5, 1],
    [10, 25, 3],
    [10, 50, 5],
    [3, 1, 1],
    [4, 100, 4],
  ])('%i stable pods at %i%% → %i canary pods', (stable, weight, expected) => {
    expect(canaryReplicas('nginx', stable, weight)).toBe(expected);
  });
});
