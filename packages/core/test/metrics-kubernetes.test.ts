/**
 * Kubernetes signals when the canary has no pods (not started, scaled to 0, a selector that matches
 * nothing): nothing was measured, so the checks are "no data" and the metric's on-no-data decides.
 * Before the fix, restarts summed an empty list to 0 and the step passed.
 */
import { VirtualClock } from '@deploy-actions/core/clock';
import { crashloop, notReady, parseAnalysisSpec, restarts, runAnalysis } from '@deploy-actions/core/metrics';
import { describe, expect, it } from 'vitest';

const targets = { canary: 'v2', stable: 'v1', namespace: 'shop', app: 'web' };

async function analyse(spec: string) {
  const clock = new VirtualClock();
  const running = runAnalysis({
    metrics: parseAnalysisSpec(spec),
    targets,
    duration: 60_000,
    clock,
    signal: new AbortController().signal,
    canaryPods: async () => [],
  });
  await clock.advance(60_000);
  return running;
}

describe('kubernetes signals without pods', () => {
  it('are no data, not 0', () => {
    expect(restarts([])).toBeUndefined();
    expect(notReady([])).toBeUndefined();
    expect(crashloop([])).toBeUndefined();
    // One pod that never restarted is a real 0.
    expect(restarts([{ status: { containerStatuses: [{ restartCount: 0 }] } }])).toBe(0);
  });

  it('restarts with no canary pods: every check is no-data and the step is inconclusive, not passed', async () => {
    const result = await analyse('- name: restarts\n  provider: kubernetes\n  signal: restarts\n  max: 0');
    expect(result.measurements.length).toBeGreaterThan(0);
    expect(result.measurements.every((m) => m.outcome === 'no-data' && m.value === undefined)).toBe(true);
    expect(result.verdict).toBe('inconclusive');
    expect(result.reason).toContain("Metric 'restarts' had no data in any of its 6 checks.");
  });

  it('on-no-data: fail fails the step', async () => {
    const result = await analyse(
      '- name: restarts\n  provider: kubernetes\n  signal: restarts\n  max: 0\n  on-no-data: fail',
    );
    expect(result.verdict).toBe('fail');
    expect(result.reason).toContain('restarts had no data');
  });
});
