import { VirtualClock } from '@deploy-actions/core/clock';
import {
  crashloop,
  hodgesLehmann,
  type MetricProvider,
  type MetricSpec,
  notReady,
  ProviderUnavailable,
  parseAnalysisSpec,
  renderAnalysisSummary,
  restarts,
  runAnalysis,
  SequentialCountTest,
  ThresholdJudge,
} from '@deploy-actions/core/metrics';
import { describe, expect, it } from 'vitest';
import { Random } from '../../../bench/canary-analysis/random';

const targets = { canary: 'v2', stable: 'v1', namespace: 'shop', app: 'web' };

describe('SequentialCountTest', () => {
  /** 30 checks of a canary with 5 % of 1000 requests per interval against a stable at 0.1 %. */
  function simulate(seed: number, canaryRate: number, share = 0.05): number | undefined {
    const rng = new Random(seed);
    const test = new SequentialCountTest({ checks: 30, alpha: 0.01 });
    for (let check = 1; check <= 30; check++) {
      const canaryTotal = rng.poisson(1000 * share);
      const controlTotal = rng.poisson(1000 * (1 - share));
      const rejected = test.observe({
        canaryEvents: rng.binomial(canaryTotal, canaryRate),
        canaryTotal,
        controlEvents: rng.binomial(controlTotal, 0.001),
        controlTotal,
      });
      if (rejected) return check;
    }
    return undefined;
  }

  function stoppedAt(seeds: number, first: number, canaryRate: number, share?: number): number[] {
    return Array.from({ length: seeds }, (_, index) => simulate(first + index, canaryRate, share) ?? Infinity);
  }

  it('aborts at most 2 % of canaries that are no worse over 30 checks (200 seeded runs per share)', () => {
    for (const share of [0.05, 0.5]) {
      const aborted = stoppedAt(200, 0, 0.001, share).filter(Number.isFinite).length;
      expect(aborted / 200).toBeLessThanOrEqual(0.02);
    }
  });

  it('stops a 10x error regression at 5 % share within 8 checks in most runs, and in the step in nearly all', () => {
    const times = stoppedAt(200, 10_000, 0.01).sort((a, b) => a - b);
    expect(times[100]).toBeLessThanOrEqual(8);
    expect(times.filter(Number.isFinite).length / 200).toBeGreaterThanOrEqual(0.97);
  });

  it('stops a 10x regression at 50 % share within 3 checks in most runs', () => {
    const times = stoppedAt(200, 20_000, 0.01, 0.5).sort((a, b) => a - b);
    expect(times[100]).toBeLessThanOrEqual(3);
  });

  it('spends exactly α on a continuous-enough null and never more', () => {
    // Equal rates with many events: the measured rate sits near α, not far below it as Ville's bound would.
    const test = new SequentialCountTest({ checks: 30, alpha: 0.01 });
    for (let check = 0; check < 30; check++)
      test.observe({ canaryEvents: 50, canaryTotal: 10_000, controlEvents: 50, controlTotal: 10_000 });
    expect(test.rejected).toBe(false);
    expect(test.state().spent).toBeGreaterThan(0.008);
    expect(test.state().spent).toBeLessThanOrEqual(0.01);
  });

  it('learns nothing from zero traffic, zero errors on both sides or a stable without data', () => {
    const test = new SequentialCountTest({ checks: 10 });
    test.observe({ canaryEvents: 0, canaryTotal: 0, controlEvents: 0, controlTotal: 0 });
    test.observe({ canaryEvents: 0, canaryTotal: 100, controlEvents: 0, controlTotal: 1000 });
    test.observe({ canaryEvents: 40, canaryTotal: 100, controlEvents: 0, controlTotal: 0 });
    expect(test.rejected).toBe(false);
    expect(test.state()).toMatchObject({ eventsCounted: 0, canaryEventsCounted: 0, spent: 0, canaryEvents: 40 });
    // Once both sides have traffic, the same errors are evidence.
    expect(test.observe({ canaryEvents: 40, canaryTotal: 100, controlEvents: 0, controlTotal: 1000 })).toBe(true);
  });

  it('allows max-increase: a canary exactly that much worse is not aborted', () => {
    const test = new SequentialCountTest({ checks: 30, maxIncrease: 1 });
    for (let check = 0; check < 30; check++)
      test.observe({ canaryEvents: 20, canaryTotal: 1000, controlEvents: 10, controlTotal: 1000 });
    expect(test.rejected).toBe(false);
    const strict = new SequentialCountTest({ checks: 30 });
    for (let check = 0; check < 30 && !strict.rejected; check++)
      strict.observe({ canaryEvents: 20, canaryTotal: 1000, controlEvents: 10, controlTotal: 1000 });
    expect(strict.rejected).toBe(true);
  });

  it('refuses negative counts and a step without checks', () => {
    const test = new SequentialCountTest({ checks: 1 });
    expect(() => test.observe({ canaryEvents: -1, canaryTotal: 1, controlEvents: 0, controlTotal: 1 })).toThrow(/>= 0/);
    expect(() => new SequentialCountTest({ checks: 0 })).toThrow(/checks/);
  });
});

describe('SequentialCountTest with the stable history', () => {
  /** 30 minutes of the stable alone at 100 req/s and 0.1 % errors. */
  const history = { events: 180, total: 180_000 };
  /** Canary 50 requests per check with errors at the given checks; stable 950 with one error each. */
  function feed(test: SequentialCountTest, checks: number, errorsAt: number[]): number | undefined {
    for (let check = 1; check <= checks; check++) {
      const canaryEvents = errorsAt.filter((at) => at === check).length;
      if (test.observe({ canaryEvents, canaryTotal: 50, controlEvents: 1, controlTotal: 950 })) return check;
    }
    return undefined;
  }

  it('stops a canary with 3 errors in its first 300 requests, which the same window alone cannot tell from chance', () => {
    const withHistory = new SequentialCountTest({ checks: 30, history });
    expect(feed(withHistory, 6, [2, 4, 6])).toBe(6);
    expect(withHistory.state()).toMatchObject({ mode: 'history', boundary: 3, canaryEvents: 3, history });
    expect(withHistory.state().spent).toBeLessThanOrEqual(0.01 * 0.2 ** (1 / 3));

    const sameWindow = new SequentialCountTest({ checks: 30 });
    expect(feed(sameWindow, 6, [2, 4, 6])).toBeUndefined();
    expect(sameWindow.state().mode).toBe('same-window');
  });

  it('aborts at most 2 % of canaries that are no worse (300 seeded runs, history drawn per run)', () => {
    let aborted = 0;
    for (let run = 0; run < 300; run++) {
      const rng = new Random(50_000 + run);
      const total = rng.poisson(180_000);
      const test = new SequentialCountTest({ checks: 30, history: { events: rng.binomial(total, 0.001), total } });
      for (let check = 1; check <= 30; check++) {
        const canaryTotal = rng.poisson(50);
        const controlTotal = rng.poisson(950);
        const sample = {
          canaryEvents: rng.binomial(canaryTotal, 0.001),
          canaryTotal,
          controlEvents: rng.binomial(controlTotal, 0.001),
          controlTotal,
        };
        if (test.observe(sample)) {
          aborted++;
          break;
        }
      }
    }
    expect(aborted / 300).toBeLessThanOrEqual(0.02);
  });

  it('sets the history aside when the stable now fails far more than it did, and says why', () => {
    const test = new SequentialCountTest({ checks: 30, history });
    test.observe({ canaryEvents: 0, canaryTotal: 50, controlEvents: 10, controlTotal: 950 });
    const state = test.state();
    expect(state.mode).toBe('same-window');
    expect(state.fallback).toBe(
      "the stable's rate in this window (10 of 950) is above its history (180 of 180000), so the canary is compared within the same window only",
    );
  });

  it('compares within the window when the canary has half the traffic, and ignores a history of few events', () => {
    const half = new SequentialCountTest({ checks: 30, history });
    half.observe({ canaryEvents: 0, canaryTotal: 500, controlEvents: 0, controlTotal: 500 });
    expect(half.state().mode).toBe('same-window');
    expect(half.state().fallback).toMatch(/more than 1\/5 of the stable's requests in this window \(500 against 500\)/);

    const thin = new SequentialCountTest({ checks: 30, history: { events: 5, total: 5_000 } });
    thin.observe({ canaryEvents: 0, canaryTotal: 50, controlEvents: 0, controlTotal: 950 });
    expect(thin.state()).toMatchObject({ mode: 'same-window' });
    expect(thin.state().fallback).toBeUndefined();
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
  it('reads a full analysis example', () => {
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
    expect(metrics[1]).toMatchObject({ maxIncrease: 0.1, confidence: 0.99, interval: 10_000 });
  });

  it('takes stable-history on a count comparison with compare: stable, and refuses it elsewhere with an example', () => {
    const counts = (extra: string) => `
- name: errors-vs-stable
  provider: prometheus
  address: http://p:9090
  errors: e{v="{{version}}"}
  requests: r{v="{{version}}"}
${extra}`;
    expect(parseAnalysisSpec(counts('  compare: stable\n  stable-history: 30m'))[0]).toMatchObject({
      kind: 'compare-counts',
      stableHistory: 1_800_000,
    });
    const refused = (text: string) => {
      try {
        parseAnalysisSpec(text);
      } catch (error) {
        return `${(error as Error).message} | ${(error as { hint?: string }).hint}`;
      }
      return 'accepted';
    };
    expect(refused(counts('  compare: baseline\n  stable-history: 30m'))).toMatch(
      /field 'stable-history' needs compare: stable .* \| Example: stable-history: 30m/,
    );
    expect(refused(counts('  compare: stable\n  stable-history: 30 minutes'))).toMatch(
      /field 'stable-history' must be a duration from 1m to 24h with a unit \(got "30 minutes"\)/,
    );
    expect(refused(counts('  compare: stable\n  stable-history: 48h'))).toMatch(/from 1m to 24h/);
    expect(
      refused(
        '- name: e\n  provider: web\n  json-path: $.v\n  errors: https://x/e?v={{version}}\n  requests: https://x/r?v={{version}}\n  compare: stable\n  stable-history: 30m',
      ),
    ).toMatch(
      /needs provider prometheus, whose increase\(\.\.\.\[\{\{interval\}\}\]\) counts the whole history window/,
    );
    expect(
      refused(
        '- name: e\n  provider: datadog\n  api-key: k\n  application-key: a\n  errors: sum:e{v:{{version}}}.as_count()\n  requests: sum:r{v:{{version}}}.as_count()\n  compare: stable\n  stable-history: 30m',
      ),
    ).toMatch(/datadog and web are not supported/);
    expect(refused('- name: up\n  address: http://p:9090\n  query: up\n  min: 1\n  stable-history: 30m')).toMatch(
      /applies to count comparisons only/,
    );
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

  /** An analysis of `duration` ms on a virtual clock, every query answered by `provider`. */
  async function analyse(
    metrics: MetricSpec[],
    provider: MetricProvider,
    duration: number,
    options: { stableHistoryEnd?: number } = {},
    /** How far past the pause to run the clock (the checks made after it). */
    extra = 0,
  ) {
    const clock = new VirtualClock();
    const running = runAnalysis({
      metrics,
      targets,
      duration,
      clock,
      signal: new AbortController().signal,
      providerFor: () => provider,
      ...options,
    });
    await clock.advance(duration + extra);
    return running;
  }

  it('fails at the check that completes two consecutive breaches, and renders the summary', async () => {
    const metrics = parseAnalysisSpec(
      '- name: error-rate\n  address: http://p:9090\n  query: err{version="{{canary}}",ns="{{namespace}}"}\n  max: 0.01\n  consecutive: 2',
    );
    const { provider, seen } = scripted({ 'err{version="v2",ns="shop"}': [0.002, 0.02, 0.001, 0.03, 0.04, 0.05] });
    const result = await analyse(metrics, provider, 300_000);
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
    const result = await analyse(metrics, provider, 120_000);
    expect(result.verdict).toBe('fail');
    expect(result.reason).toMatch(/the canary's rate 6% \(\d+ of \d+\) is higher than the stable's/);

    // No data at all: checked past the pause for as long as an unanswered metric would be, then inconclusive.
    const idle = await analyse(metrics, scripted({}).provider, 30_000, {}, 60_000);
    expect(idle.verdict).toBe('inconclusive');
    expect(idle.measurements).toHaveLength(7);
  });

  it('reads the stable-history once, up to when the rollout started, and holds the canary against it', async () => {
    const metrics = parseAnalysisSpec(`
- name: errors-vs-stable
  address: http://p:9090
  errors: e{v="{{version}}"}[{{interval}}]
  requests: r{v="{{version}}"}[{{interval}}]
  compare: stable
  stable-history: 30m
`);
    const asked: Array<{ query: string; at: number; window: number }> = [];
    const rolloutStart = new VirtualClock().now() - 300_000;
    const canaryErrors = [0, 1, 0, 1, 0, 1];
    let check = 0;
    const answers: Record<string, () => number> = {
      'e{v="v1"}[30m]': () => 180,
      'r{v="v1"}[30m]': () => 180_000,
      'e{v="v2"}[10s]': () => canaryErrors[check++] ?? 0,
      'r{v="v2"}[10s]': () => 50,
      'e{v="v1"}[10s]': () => 1,
      'r{v="v1"}[10s]': () => 950,
    };
    const provider: MetricProvider = {
      validate: async () => {},
      query: async (query, options) => {
        asked.push({ query, at: options.at, window: options.window });
        return answers[query]!();
      },
    };
    const result = await analyse(metrics, provider, 300_000, { stableHistoryEnd: rolloutStart });
    const history = asked.filter((item) => item.query.endsWith('[30m]'));
    expect(history).toEqual([
      { query: 'e{v="v1"}[30m]', at: rolloutStart, window: 1_800_000 },
      { query: 'r{v="v1"}[30m]', at: rolloutStart, window: 1_800_000 },
    ]);
    expect(result.verdict).toBe('fail');
    expect(result.measurements.at(-1)!.elapsed).toBe(60_000);
    expect(result.reason).toBe(
      "errors-vs-stable: the canary's rate 1% (3 of 300) is higher than the stable's 0.1% (180 of 180000 over the 30m before the canary) " +
        'at 99% confidence: a canary no worse would reach 3 events with less than 0.461% chance by now.',
    );
  });

  it('compares within the window, and says why in the check, when the stable-history cannot be read or is empty', async () => {
    const metrics = parseAnalysisSpec(`
- name: errors-vs-stable
  address: http://p:9090
  errors: e{v="{{version}}"}[{{interval}}]
  requests: r{v="{{version}}"}[{{interval}}]
  compare: stable
  stable-history: 30m
`);
    for (const [history, note] of [
      [
        async () => {
          throw new ProviderUnavailable('Prometheus answered HTTP 503: query timed out');
        },
        'stable-history: the 30m before the canary could not be read (Prometheus answered HTTP 503: query timed out); comparing within the same window',
      ],
      [
        async () => undefined,
        'stable-history: no requests of the stable in the 30m before the canary; comparing within the same window',
      ],
    ] as const) {
      const provider: MetricProvider = {
        validate: async () => {},
        query: async (query) => {
          if (query.endsWith('[30m]')) return history();
          return query.startsWith('e{v="v2"}')
            ? 0
            : query.startsWith('r{v="v2"}')
              ? 50
              : query.startsWith('e')
                ? 1
                : 950;
        },
      };
      const result = await analyse(metrics, provider, 30_000);
      // The first check is judged on its own counts (not lost to the history read), and notes why.
      expect(result.measurements.map((m) => [m.outcome, m.note])).toEqual([
        ['ok', note],
        ['ok', undefined],
        ['ok', undefined],
      ]);
      // The same-window form of the threshold ("of" the events of both sides), not the history's.
      expect(result.measurements[0]!.threshold).toMatch(/^canary events < \d+ of 1$/);
    }
  });

  it('does not end a step on a breach streak in progress: a p99 at 1.5× its max for 2 of 3 checks is checked on', async () => {
    const p99 = parseAnalysisSpec('- name: p99\n  address: http://p:9090\n  query: p99\n  max: 2\n  consecutive: 3');
    // Within the limit twice, then over it for the last two checks of the 40 s pause: the third breach comes after.
    const failing = await analyse(p99, scripted({ p99: [1, 1, 3, 3, 3] }).provider, 40_000, {}, 60_000);
    expect(failing.verdict).toBe('fail');
    expect(failing.measurements.map((m) => [m.elapsed, m.outcome])).toEqual([
      [10_000, 'ok'],
      [20_000, 'ok'],
      [30_000, 'breach'],
      [40_000, 'breach'],
      [50_000, 'breach'],
    ]);
    expect(failing.reason).toMatch(/p99 was 3, above its max of 2, for 3 consecutive checks/);
    // Back within the limit at the check after the pause: the step passes, and says it was over.
    const passing = await analyse(p99, scripted({ p99: [1, 1, 3, 3, 1.5] }).provider, 40_000, {}, 60_000);
    expect(passing.verdict).toBe('pass');
    expect(passing.measurements).toHaveLength(5);
    expect(passing.reason).toMatch(/p99 was over its limit/);
    // Over the limit when the pause ends, then no data until the extra checks run out: not a pass, unless
    // no data counts as one (on-no-data: pass, the default for a max-only metric that is no quantile).
    expect((await analyse(p99, scripted({ p99: [1, 1, 3, 3] }).provider, 40_000, {}, 60_000)).verdict).toBe('pass');
    const strict = parseAnalysisSpec(
      '- name: p99\n  address: http://p:9090\n  query: p99\n  max: 2\n  consecutive: 3\n  on-no-data: inconclusive',
    );
    const silent = await analyse(strict, scripted({ p99: [1, 1, 3, 3] }).provider, 40_000, {}, 60_000);
    expect(silent.verdict).toBe('inconclusive');
    expect(silent.reason).toBe(
      "Metric 'p99' was still over its limit (2 of 3) at its last check, 4 check(s) after the pause.",
    );
  });

  it('a quantile with no data is no evidence: checked past the pause, then inconclusive; a counter with no series passes', async () => {
    const metrics = parseAnalysisSpec(`
- name: latency-p99
  address: http://p:9090
  query: histogram_quantile(0.99, sum by (le) (rate(duration_bucket{version="{{canary}}"}[1m])))
  max: 2
- name: error-rate
  address: http://p:9090
  query: sum(rate(errors{version="{{canary}}"}[1m]))
  max: 0.01`);
    expect(metrics.map((m) => m.onNoData)).toEqual(['inconclusive', 'pass']);
    const none = await analyse(metrics, scripted({}).provider, 30_000, {}, 120_000);
    expect(none.verdict).toBe('inconclusive');
    expect(none.reason).toBe("Metric 'latency-p99' had no data in any of its 7 checks.");
    // Data that arrives after the pause is judged: a slow canary's first samples fail it.
    const late = scripted({
      'histogram_quantile(0.99, sum by (le) (rate(duration_bucket{version="v2"}[1m])))': [
        undefined,
        undefined,
        undefined,
        2.5,
      ],
    });
    const slow = await analyse(metrics, late.provider, 30_000, {}, 120_000);
    expect(slow.verdict).toBe('fail');
    expect(slow.reason).toMatch(/latency-p99 was 2.5, above its max of 2/);
  });

  it('a hand-built spec without consecutive still ends its checks after the pause', async () => {
    const [spec] = parseAnalysisSpec(
      '- name: p99\n  address: http://p:9090\n  query: p99\n  max: 2\n  on-no-data: inconclusive',
    );
    const handBuilt = { ...spec!, consecutive: undefined } as unknown as MetricSpec;
    const result = await analyse([handBuilt], scripted({}).provider, 20_000, {}, 60_000);
    expect(result.verdict).toBe('inconclusive');
    expect(result.measurements).toHaveLength(6);
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
