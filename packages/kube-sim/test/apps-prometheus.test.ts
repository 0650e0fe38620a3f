// The simulated apps' metrics scraped by a real Prometheus (Debian's package): canary analysis queries
// see per-version request shares and error rates from the traffic generator.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prometheusMissing, type RunningPrometheus, startPrometheus } from '../../testkit/src/prometheus';
import { installControllers } from '../src/defaults';
import { KubeSim } from '../src/index';
import type { KubeObject } from '../src/store';

const missing = prometheusMissing();

describe.skipIf(missing)(`simulated app metrics in a real Prometheus${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let sim: KubeSim;
  let prometheus: RunningPrometheus | undefined;

  const workload = (name: string, track: string, image: string, replicas: number): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web', track } },
      template: { metadata: { labels: { app: 'web', track } }, spec: { containers: [{ name: 'web', image }] } },
    },
  });

  beforeAll(async () => {
    sim = await KubeSim.start({ scenario: { seed: 11 } });
    installControllers(sim);
    sim.behaviour.set('ghcr.io/acme/web:v1', {
      readyAfter: '20ms',
      http: { errorRate: 0.01, latencyMs: { p50: 20, p99: 60 } },
    });
    sim.behaviour.set('ghcr.io/acme/web:v2', {
      readyAfter: '20ms',
      http: { errorRate: 0.2, latencyMs: { p50: 80, p99: 400 } },
    });
    sim.store.create(workload('web', 'stable', 'ghcr.io/acme/web:v1', 9));
    sim.store.create(workload('web-canary', 'canary', 'ghcr.io/acme/web:v2', 1));
    sim.store.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default' },
      spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
    });
    // Wait (real time) for the ten pods to be Ready and listed in the Endpoints.
    for (let i = 0; i < 100 && sim.apps.readyPods('default', 'web').length < 10; i++)
      await new Promise((r) => setTimeout(r, 20));
    sim.traffic.start({ service: 'web', rps: 500 });
    prometheus = await startPrometheus({ targets: [new URL(sim.metricsUrl).host], scrapeInterval: '1s' });
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
    await sim?.stop();
  });

  const query = async (q: string): Promise<Record<string, number>> => {
    const res = await fetch(`${prometheus!.url}/api/v1/query?${new URLSearchParams({ query: q })}`);
    const body = (await res.json()) as {
      data: { result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    return Object.fromEntries(body.data.result.map((r) => [r.metric.version ?? '', Number(r.value[1])]));
  };

  it('shows a 10% canary share, the canary error rate and its slower p99 per version', async () => {
    const errors =
      'sum by (version) (rate(http_requests_total{code="500"}[20s])) / sum by (version) (rate(http_requests_total[20s]))';
    await prometheus!.waitForData(errors, 30_000);
    // Let a few more scrapes land so the rates average over more requests.
    await new Promise((r) => setTimeout(r, 3000));
    const ratio = await query(errors);
    expect(ratio.v2).toBeGreaterThan(0.12);
    expect(ratio.v2).toBeLessThan(0.28);
    expect(ratio.v1).toBeLessThan(0.04);
    const share = await query(
      'sum by (version) (rate(http_requests_total[20s])) / scalar(sum(rate(http_requests_total[20s])))',
    );
    expect(share.v2).toBeCloseTo(0.1, 1);
    const p99 = await query(
      'histogram_quantile(0.99, sum by (version, le) (rate(http_request_duration_seconds_bucket[20s])))',
    );
    expect(p99.v1).toBeLessThan(0.1);
    expect(p99.v2).toBeGreaterThan(0.2);
  }, 60_000);
});
