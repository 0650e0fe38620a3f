import { VirtualClock } from '@deploy-actions/core/clock';
import {
  crashloop,
  hodgesLehmann,
  type MetricProvider,
  notReady,
  parseAnalysisSpec,
  RateRatioTest,
  renderAnalysisSummary,
  restarts,
  runAnalysis,
  ThresholdJudge,
} from '@deploy-actions/core/metrics';
import { describe, expect, it } from 'vitest';
import { Random } from '../../../bench/canary-analysis/random';

const targets = { canary: 'v2', stable: 'v1', namespace: 'shop', app: 'web' };

describe('RateRatioTest', () => {
  function simulate(seed: number, canaryRate: number, checks = 30): number | undefined {
    const rng = new Random(seed);
    const test = new RateRatioTest({ alpha: 0.03 });
    for (let check = 1; check <= checks; check++) {
      const canaryTotal = rng.poisson(50);
      const controlTotal = rng.poisson(950);
      test.observe({
        canaryEvents: rng.binomial(canaryTotal, canaryRate),
        canaryTotal,
        controlEvents: rng.binomial(controlTotal, 0.001),
        controlTotal,
      });
      if (test.rejected) return check;
    }
    return undefined;
  }

  it('keeps false aborts of an equal canary under alpha over 30 looks (seeded)', () => {
    let aborted = 0;
    for (let seed = 0; seed < 1000; seed++) if (simulate(seed, 0.001) !== undefined) aborted++;
    expect(aborted / 1000).toBeLessThanOrEqual(0.03);
  });

  it('stops a 10x error regression at 5 % share within about a minute in most runs', () => {
    const stoppedAt = Array.from({ length: 400 }, (_, seed) => simulate(10_000 + seed, 0.01) ?? Infinity).sort(
      (a, b) => a - b,
    );
    expect(stoppedAt[200]).toBeLessThanOrEqual(7);
  });

  it('gives no evidence without events and refuses negative counts', () => {
    const test = new RateRatioTest();
    test.observe({ canaryEvents: 0, canaryTotal: 100, controlEvents: 0, controlTotal: 1000 });
    expect(test.evidence).toBe(1);
    expect(() => test.observe({ canaryEvents: -1, canaryTotal: 1, controlEvents: 0, controlTotal: 1 })).toThrow(/>= 0/);
  });
});

describe('hodgesLehmann', () => {
  it('estimates the shift between two samples and brackets it', () => {
    const control = [10, 11, 12, 13, 14, 15, 16, 17];
    const shifted = control.map((value) => value + 5);
    const result = hodgesLehmann(shifted, control);
    expect(result.estimate).toBe(5);
    expect(result.lower).toBeGreaterThan(0);
    expect(result.upper).toBeGreaterThanOrEqual(5);
  });
});

describe('ThresholdJudge', () => {
  const spec = {
    name: 'p99',
    max: 2000,
    min: undefined,
    consecutive: 3,
    failureLimit: 4,
    onNoData: 'inconclusive' as const,
  };
  it('fails on consecutive breaches and resets on a good value', () => {
    const judge = new ThresholdJudge(spec);
    expect([2500, 2600, 100, 2500, 2500].map((value) => judge.judge(value).failure)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(judge.judge(2100).failure).toBe('p99 was 2100, above its max of 2000, for 3 consecutive checks.');
  });
  it('fails when total breaches pass the failure-limit', () => {
    const judge = new ThresholdJudge(spec);
    const failures = [2500, 1, 2500, 1, 2500, 1, 2500, 1, 2500].map((value) => judge.judge(value).failure);
    expect(failures.slice(0, 8).every((failure) => failure === undefined)).toBe(true);
    expect(failures[8]).toContain('more than the failure-limit of 4');
  });
});

describe('parseAnalysisSpec', () => {
  it('reads the INTERFACE.md example', () => {
    const metrics = parseAnalysisSpec(`
- name: error-rate
  provider: prometheus
  address: http://prometheus:9090
  query: sum(rate(x{version="{{canary}}"}[1m]))
  max: 0.01
  consecutive: 2
- name: errors-vs-stable
  address: http://prometheus:9090
  errors: sum(increase(x{version="{{version}}",code=~"5.."}[{{interval}}]))
  requests: sum(increase(x{version="{{version}}"}[{{interval}}]))
  compare: stable
  max-increase: 10%
- name: restarts
  provider: kubernetes
  signal: restarts
  max: 2
`);
    expect(metrics.map((metric) => metric.kind)).toEqual(['threshold', 'compare-counts', 'kubernetes']);
    expect(metrics[1]).toMatchObject({ maxIncrease: 0.1, confidence: 0.97, interval: 10_000 });
  });

  it('names the metric and the field, with an example', () => {
    expect(() => parseAnalysisSpec('- name: p99\n  address: http://p:9090\n  query: up\n  max: fast')).toThrow(
      "Input 'analysis', metric 'p99': field 'max' must be a number (got \"fast\")",
    );
    expect(() =>
      parseAnalysisSpec('- name: p99\n  address: http://p:9090\n  query: up\n  max: 1\n  interval: 10 seconds'),
    ).toThrow(/field 'interval'/);
    expect(() => parseAnalysisSpec('- name: r\n  provider: kubernetes\n  signal: oom')).toThrow(
      /field 'signal' must be one of not-ready, restarts, crashloop/,
    );
  });
});

describe('pod signals', () => {
  const pods = [
    { status: { conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ restartCount: 1 }] } },
    {
      status: {
        conditions: [{ type: 'Ready', status: 'False' }],
        containerStatuses: [{ restartCount: 3, state: { waiting: { reason: 'CrashLoopBackOff' } } }],
      },
    },
    { metadata: { deletionTimestamp: '2026-01-01T00:00:00Z' }, status: { conditions: [] } },
  ];
  it('counts not-ready pods, restarts and crash loops', () => {
    expect(notReady(pods)).toBe(1);
    expect(restarts(pods)).toBe(4);
    expect(crashloop(pods)).toBe(1);
  });
});

describe('runAnalysis', () => {
  /** A provider answering from a table keyed by query text, one value per check. */
  function scripted(answers: Record<string, Array<number | undefined>>): { provider: MetricProvider; seen: string[] } {
    const seen: string[] = [];
    const calls = new Map<string, number>();
    return {
      seen,
      provider: {
        validate: async () => {},
        query: async (query) => {
          seen.push(query);
          const index = calls.get(query) ?? 0;
          calls.set(query, index + 1);
          return answers[query]?.[index];
        },
      },
    };
  }

  it('fails at the check that completes two consecutive breaches, and renders the summary', async () => {
    const metrics = parseAnalysisSpec(
      '- name: error-rate\n  address: http://p:9090\n  query: err{version="{{canary}}",ns="{{namespace}}"}\n  max: 0.01\n  consecutive: 2',
    );
    const { provider, seen } = scripted({ 'err{version="v2",ns="shop"}': [0.002, 0.02, 0.001, 0.03, 0.04, 0.05] });
    const clock = new VirtualClock();
    const running = runAnalysis({
      metrics,
      targets,
      duration: 300_000,
      clock,
      signal: new AbortController().signal,
      providerFor: () => provider,
    });
    await clock.advance(300_000);
    const result = await running;
    expect(result.verdict).toBe('fail');
    expect(result.measurements.map((m) => [m.elapsed, m.outcome])).toEqual([
      [10_000, 'ok'],
      [20_000, 'breach'],
      [30_000, 'ok'],
      [40_000, 'breach'],
      [50_000, 'breach'],
    ]);
    expect(result.reason).toBe('error-rate was 0.04, above its max of 0.01, for 2 consecutive checks.');
    expect(seen[0]).toBe('err{version="v2",ns="shop"}');
    const summary = renderAnalysisSummary(result);
    expect(summary).toContain('xychart-beta');
    expect(summary).toContain('line [0.002, 0.02, 0.001, 0.03, 0.04]');
    expect(summary).toContain('| +50s | error-rate | 0.04 | — | <= 0.01 | ❌ breach |');
  });

  it('judges counts of canary against stable with {{version}} per side, and is inconclusive without data', async () => {
    const metrics = parseAnalysisSpec(`
- name: errors-vs-stable
  address: http://p:9090
  errors: e{v="{{version}}"}
  requests: r{v="{{version}}"}
  compare: stable
`);
    const checks = 12;
    const { provider } = scripted({
      'e{v="v2"}': Array(checks).fill(3),
      'r{v="v2"}': Array(checks).fill(50),
      'e{v="v1"}': Array(checks).fill(1),
      'r{v="v1"}': Array(checks).fill(950),
    });
    const clock = new VirtualClock();
    const running = runAnalysis({
      metrics,
      targets,
      duration: 120_000,
      clock,
      signal: new AbortController().signal,
      providerFor: () => provider,
    });
    await clock.advance(120_000);
    const result = await running;
    expect(result.verdict).toBe('fail');
    expect(result.reason).toMatch(/the canary's rate 6% \(\d+ of \d+\) is higher than the stable's/);

    const empty = scripted({});
    const idle = runAnalysis({
      metrics,
      targets,
      duration: 30_000,
      clock,
      signal: new AbortController().signal,
      providerFor: () => empty.provider,
    });
    await clock.advance(30_000);
    expect((await idle).verdict).toBe('inconclusive');
  });

  it('stops with the signal reason when cancelled', async () => {
    const metrics = parseAnalysisSpec('- name: up\n  address: http://p:9090\n  query: up\n  min: 1');
    const controller = new AbortController();
    const clock = new VirtualClock();
    const running = runAnalysis({
      metrics,
      targets,
      duration: 60_000,
      clock,
      signal: controller.signal,
      providerFor: () => scripted({}).provider,
    });
    controller.abort(new Error('job cancelled'));
    await expect(running).rejects.toThrow('job cancelled');
  });
});
