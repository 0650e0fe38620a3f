import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock, VirtualClock } from '@deploy-actions/core/clock';
import { isUserError } from '@deploy-actions/core/errors';
import { PrometheusProvider, parseAnalysisSpec, runAnalysis, validateAnalysis } from '@deploy-actions/core/metrics';
import { prometheusMissing, type RunningPrometheus, startPrometheus } from '@deploy-actions/testkit/prometheus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const missing = prometheusMissing();
if (missing) console.warn(`skipping real-Prometheus tests: ${missing}`);

/** A tiny app exposition: every scrape adds 100 requests per version; v2 (canary) fails 10 %, v1 0 %. */
function metricsServer(): Promise<Server> {
  let scrapes = 0;
  const server = createServer((_request, response) => {
    scrapes++;
    const total = scrapes * 100;
    response.setHeader('content-type', 'text/plain; version=0.0.4');
    response.end(
      [
        '# TYPE http_requests_total counter',
        `http_requests_total{version="v1",code="200"} ${total}`,
        `http_requests_total{version="v2",code="200"} ${total * 0.9}`,
        `http_requests_total{version="v2",code="500"} ${total * 0.1}`,
        // A busier app for count comparisons, the canary at a 5 % share: per scrape 1900 requests
        // to the stable failing 1 %, 100 to the canary failing 10 % (a separate name keeps the
        // series above to three).
        '# TYPE shop_requests_total counter',
        `shop_requests_total{version="v1",code="200"} ${total * 18.81}`,
        `shop_requests_total{version="v1",code="500"} ${total * 0.19}`,
        `shop_requests_total{version="v2",code="200"} ${total * 0.9}`,
        `shop_requests_total{version="v2",code="500"} ${total * 0.1}`,
        '',
      ].join('\n'),
    );
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe.skipIf(missing !== undefined)('Prometheus provider against a real Prometheus', () => {
  let app: Server;
  let prometheus: RunningPrometheus;
  const targets = { canary: 'v2', stable: 'v1', namespace: 'default', app: 'web' };

  beforeAll(async () => {
    app = await metricsServer();
    prometheus = await startPrometheus({
      targets: [`127.0.0.1:${(app.address() as AddressInfo).port}`],
      scrapeInterval: '1s',
      // rate() needs two samples: wait until it has a value.
      waitForQuery: 'sum(rate(http_requests_total[1m])) > 0',
    });
  }, 30_000);

  afterAll(async () => {
    await prometheus?.stop();
    app?.close();
  });

  it('rejects a query typo with Prometheus own message before the analysis starts', async () => {
    const metrics = parseAnalysisSpec(`
- name: error-rate
  provider: prometheus
  address: ${prometheus.url}
  query: sum(rate(http_requests_total{version="{{canary}}"}[1m]) /
  max: 0.01
`);
    const error = await validateAnalysis({
      metrics,
      targets,
      duration: 60_000,
      clock: new VirtualClock(Date.now()),
      signal: new AbortController().signal,
    }).catch((e) => e);
    expect(isUserError(error)).toBe(true);
    expect(error.message).toContain("Metric 'error-rate'");
    expect(error.message).toContain('bad_data');
    expect(error.message).toMatch(/parse error/);
  });

  it('answers a placeholder query with the number Prometheus computes, and no data for an empty vector', async () => {
    const provider = new PrometheusProvider(prometheus.url);
    const at = Date.now();
    const ratio = await provider.query(
      'sum(http_requests_total{version="v2",code=~"5.."}) / sum(http_requests_total{version="v2"})',
      { at, window: 10_000 },
    );
    expect(ratio).toBeCloseTo(0.1, 6);
    expect(await provider.query('sum(http_requests_total{version="nope"})', { at, window: 10_000 })).toBeUndefined();
    await expect(provider.query('http_requests_total', { at, window: 10_000 })).rejects.toThrow(/returned 3 series/);
  });

  it('fails the canary on its error ratio at the first check and keeps the stable passing', async () => {
    const clock = new VirtualClock(Date.now());
    const spec = (version: string) =>
      parseAnalysisSpec(`
- name: error-ratio
  provider: prometheus
  address: ${prometheus.url}
  query: sum(http_requests_total{version="${version}",code=~"5.."}) / sum(http_requests_total{version="${version}"}) or vector(0)
  max: 0.05
  consecutive: 2
`);
    const signal = new AbortController().signal;
    // Virtual time jumps to the next check whenever the loopback I/O with Prometheus is done.
    const auto = clock.startAutoAdvance();
    const bad = await runAnalysis({ metrics: spec('{{canary}}'), targets, duration: 60_000, clock, signal });
    expect(bad.verdict).toBe('fail');
    expect(bad.measurements.map((m) => m.outcome)).toEqual(['breach', 'breach']);
    expect(bad.reason).toContain('error-ratio was 0.1, above its max of 0.05, for 2 consecutive checks');

    const good = await runAnalysis({ metrics: spec('{{stable}}'), targets, duration: 30_000, clock, signal });
    auto.stop();
    expect(good.verdict).toBe('pass');
    expect(good.measurements.map((m) => m.value)).toEqual([0, 0, 0]);
  });

  it('reads the stable-history from Prometheus at the rollout start and holds the canary against it', async () => {
    const metrics = parseAnalysisSpec(`
- name: errors-vs-stable
  provider: prometheus
  address: ${prometheus.url}
  errors: sum(increase(shop_requests_total{version="{{version}}",code="500"}[{{interval}}]))
  requests: sum(increase(shop_requests_total{version="{{version}}"}[{{interval}}]))
  compare: stable
  stable-history: 1m
  interval: 2s
`);
    // Real time: Prometheus scrapes every second and the checks read the seconds just scraped.
    const rolloutStart = Date.now();
    const options = {
      metrics,
      targets,
      duration: 10_000,
      clock: systemClock,
      signal: new AbortController().signal,
      stableHistoryEnd: rolloutStart,
    };
    await validateAnalysis(options);
    const result = await runAnalysis(options);
    expect(result.verdict).toBe('fail');
    // "before the canary": the judgement used the stable's minute of history Prometheus returned.
    expect(result.reason).toMatch(
      /^errors-vs-stable: the canary's rate \d+(\.\d+)?% \(\d+ of \d+\) is higher than the stable's [01](\.\d+)?% \(\d+ of \d+ over the 1m before the canary\)/,
    );
  }, 20_000);
});
