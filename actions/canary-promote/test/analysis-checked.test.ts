/**
 * Issue #17 item 3, "an analysis that never ran counts as a pass": with the metric source unreachable, or a
 * pause shorter than the check interval, a canary used to be promoted after zero checks with "All 1 metrics
 * stayed within their limits". Every metric is queried before traffic moves, a step waits for one answered
 * check per metric, and the summary never calls an unchecked metric within limits.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, startCluster } from './cluster';

let c: Cluster;
let server: Server;
let base: string;
/** How the metrics endpoint answers: `ok` a low error rate; `down` HTTP 503 after the first request. */
let mode: 'ok' | 'down' | 'spike' = 'ok';
let requests = 0;

beforeAll(async () => {
  c = await startCluster(1703);
  server = createServer((_req, res) => {
    requests++;
    if (mode === 'down' && requests > 1) {
      res.statusCode = 503;
      res.end('upstream down');
      return;
    }
    res.setHeader('content-type', 'application/json');
    // spike: 4x the limit at the first check after the pre-flight query, then healthy again.
    res.end(JSON.stringify({ rate: mode === 'spike' && requests === 2 ? 0.2 : 0.001 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await c?.stop();
});

/** A port nothing listens on: a server opened and closed again. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

const webMetric = (extra = '') =>
  `[{ name: error-rate, provider: web, url: "${base}/rate?v={{canary}}", json-path: $.rate, max: 0.05${extra} }]`;

describe('a metric source that cannot be reached', () => {
  it('refuses the release before traffic moves (Prometheus unreachable): nothing changes', async () => {
    await c.app('lime', 'ghcr.io/acme/lime:v1');
    const port = await closedPort();
    const before = c.snapshot();
    const run = await c.run({
      deployments: 'lime',
      images: 'app=ghcr.io/acme/lime:v2',
      steps: '50,100',
      pause: '1m',
      analysis: `[{ name: error-rate, provider: prometheus, address: "http://127.0.0.1:${port}", query: 'sum(rate(http_requests_total{version="{{canary}}",code=~"5.."}[1m])) or vector(0)', max: 0.01 }]`,
    });
    expect(run.code).toBe(1);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toMatch(
      /^Metric 'error-rate': Prometheus at http:\/\/127\.0\.0\.1:\d+ could not be reached: .*nothing was changed/,
    );
    expect(c.snapshot()).toEqual(before);
    expect(c.images('lime')).toEqual(['ghcr.io/acme/lime:v1']);
  });
});

describe('a step is not passed before every metric was checked', () => {
  it('checks once after a pause shorter than the interval, and says how many checks it made', async () => {
    mode = 'ok';
    await c.app('plum', 'ghcr.io/acme/plum:v1');
    const run = await c.run({
      deployments: 'plum',
      images: 'app=ghcr.io/acme/plum:v2',
      steps: '50,100',
      pause: '5s',
      'analysis-interval': '30s',
      analysis: webMetric(),
    });
    expect(run.errors).toEqual([]);
    expect(run.outputs['result']).toBe('promoted');
    const analyses = JSON.parse(run.outputs['analysis'] ?? '[]') as Array<{ weight: number; checks: unknown[] }>;
    expect(analyses[0]!.weight).toBe(50);
    expect(analyses[0]!.checks).toHaveLength(1);
    expect(run.summary).toContain('error-rate stayed within its limits in 1 checks');
    expect(run.summary).not.toContain('stayed within their limits for 5s');
  });

  it('a source that stops answering after the first query aborts as inconclusive, never "within limits"', async () => {
    mode = 'down';
    requests = 0;
    await c.app('fig', 'ghcr.io/acme/fig:v1');
    const run = await c.run({
      deployments: 'fig',
      images: 'app=ghcr.io/acme/fig:v2',
      steps: '50,100',
      pause: '5s',
      'analysis-interval': '30s',
      analysis: webMetric(),
    });
    expect(run.code).toBe(1);
    expect(run.outputs['result']).toBe('aborted');
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toContain("Metric 'error-rate' was unreachable 4 checks in a row");
    expect(c.images('fig')).toEqual(['ghcr.io/acme/fig:v1']);
    expect(c.record('fig')).toMatchObject({ phase: 'aborted' });
    expect(run.summary).toContain('🔌 unreachable');
    expect(run.summary).not.toMatch(/within (its|their) limits/);
    mode = 'ok';
  });
});

describe('output a person can trust', () => {
  it('a breach short of consecutive shows as "⚠ over limit (1 of 2)", not as a plain pass', async () => {
    mode = 'spike';
    requests = 0;
    await c.app('pear', 'ghcr.io/acme/pear:v1');
    const run = await c.run({
      deployments: 'pear',
      images: 'app=ghcr.io/acme/pear:v2',
      steps: '50,100',
      pause: '30s',
      'analysis-interval': '10s',
      analysis: webMetric(', consecutive: 2'),
    });
    expect(run.errors).toEqual([]);
    expect(run.outputs['result']).toBe('promoted');
    expect(run.summary).toContain('| +10s | error-rate | 0.2 | — | <= 0.05 | ⚠ over limit (1 of 2) |');
    expect(run.summary).toMatch(
      /\| error-rate \| ⚠ over limit \(1 of 2\) \| error-rate was over its limit at 1 of 3 checks/,
    );
    expect(run.summary).not.toContain('✅ pass');
    expect(run.summary).not.toContain('stayed within their limits');
    expect(run.summary).toContain('### Step 1 (50%) analysis: ⚠ pass, over limit at some checks');
    // The metric's own chart: its values and the limit as a line, labelled by distinct seconds.
    expect(run.summary).toContain('x-axis "seconds into the step" ["10", "20", "30"]');
    expect(run.summary).toContain('line [0.05, 0.05, 0.05]');
    mode = 'ok';
  });
});
