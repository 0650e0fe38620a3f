/**
 * canary-promote with its PromQL evaluated by a real Prometheus (Debian's
 * package, started on loopback with a generated config, scraping every 1 s)
 * that scrapes kube-sim's simulated apps while the traffic generator sends
 * 200 req/s through the Service. Real time, short steps: a healthy canary is
 * promoted; an erroring one is aborted both by an error-rate rule and by the
 * canary-vs-stable comparison; a query Prometheus rejects fails before
 * anything changes.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '@deploy-actions/core/clock';
import { type Deployment, KubeClient, type KubeObject, waitForRollout } from '@deploy-actions/core/kube';
import { createMemoryRuntime, executeAction } from '@deploy-actions/core/runtime';
import { KubeSim } from '@deploy-actions/kube-sim';
import { installControllers } from '@deploy-actions/kube-sim/defaults';
import { prometheusMissing, type RunningPrometheus, startPrometheus } from '@deploy-actions/testkit/prometheus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import canaryPromote from '../src/main';

const NS = 'shop';
const missing = prometheusMissing();
const workspace = mkdtempSync(join(tmpdir(), 'canary-prometheus-'));

describe.skipIf(missing)(`canary-promote with a real Prometheus${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let sim: KubeSim;
  let client: KubeClient;
  let prometheus: RunningPrometheus;

  beforeAll(async () => {
    sim = await KubeSim.start({ scenario: { namespaces: [NS], seed: 3 } });
    installControllers(sim);
    const http = (errorRate: number) => ({ errorRate, latencyMs: { p50: 5, p99: 20 } });
    sim.behaviour.set('ghcr.io/acme/*:v1', { readyAfter: '20ms', http: http(0.01) });
    sim.behaviour.set('ghcr.io/acme/*:v2', { readyAfter: '20ms', http: http(0.01) });
    sim.behaviour.set('ghcr.io/acme/*:v2-bad', { readyAfter: '20ms', http: http(0.3) });
    // Never answers with a 5xx: its 5xx counter has no series at all (issue #17 item 4).
    sim.behaviour.set('ghcr.io/acme/*:v4-clean', { readyAfter: '20ms', http: http(0) });
    client = await KubeClient.connect({ kubeconfig: sim.kubeconfig(), env: {}, workspace });
    for (const app of ['web', 'cart', 'auth']) {
      await client.create('Service', {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: app, namespace: NS },
        spec: { selector: { app }, ports: [{ port: 80, targetPort: 8080 }] },
      });
      await client.create('Deployment', {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: app, namespace: NS, labels: { app } },
        spec: {
          replicas: 4,
          selector: { matchLabels: { app } },
          template: {
            metadata: { labels: { app } },
            spec: { containers: [{ name: 'app', image: `ghcr.io/acme/${app}:v1` }] },
          },
        },
      } satisfies Deployment);
      await waitForRollout(
        client,
        { kind: 'Deployment', namespace: NS, name: app },
        {
          clock: systemClock,
          timeoutMs: 30_000,
        },
      );
      sim.traffic.start({ service: app, namespace: NS, rps: 200 });
    }
    prometheus = await startPrometheus({ targets: [new URL(sim.metricsUrl).host], scrapeInterval: '1s' });
    await prometheus.waitForData('http_requests_total{version="v1"}', 20_000);
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
    await sim?.stop();
  });

  async function run(inputs: Record<string, string>) {
    const rt = createMemoryRuntime({
      clock: systemClock,
      workspace,
      env: { GITHUB_RUN_ID: String(Date.now()) },
      inputs: {
        kubeconfig: sim.kubeconfig(),
        namespace: NS,
        steps: '50,100',
        pause: '6s',
        'analysis-interval': '1s',
        ...inputs,
      },
    });
    const code = await executeAction(canaryPromote, rt);
    return { code, outputs: rt.outputs, summary: rt.flushedSummary, errors: rt.lines('error') };
  }

  const images = (name: string) =>
    (sim.store.find('apps/v1/deployments', NS, name) as Deployment | undefined)?.spec?.template?.spec?.containers?.map(
      (c) => c.image,
    );

  const errorRate = (app: string) => `
    - name: error-rate
      provider: prometheus
      address: ${prometheus.url}
      query: >-
        sum(rate(http_requests_total{namespace="shop",app="${app}",version="{{canary}}",code=~"5.."}[5s]))
        / sum(rate(http_requests_total{namespace="shop",app="${app}",version="{{canary}}"}[5s]))
      max: 0.1`;
  // Counts per 3 s window (three scrapes) for the canary and for the stable, compared by the engine.
  const versusStable = (app: string) => `
    - name: errors-vs-stable
      provider: prometheus
      address: ${prometheus.url}
      interval: 3s
      errors: sum(increase(http_requests_total{namespace="shop",app="${app}",version="{{version}}",code=~"5.."}[{{interval}}]))
      requests: sum(increase(http_requests_total{namespace="shop",app="${app}",version="{{version}}"}[{{interval}}]))
      compare: stable
      max-increase: 50%
      confidence: 99.9%`;

  it('promotes a canary whose error rate is the stable’s, as Prometheus measures it', async () => {
    const { code, outputs, summary } = await run({
      deployments: 'web',
      images: 'app=ghcr.io/acme/web:v2',
      analysis: errorRate('web') + versusStable('web'),
      'router-config': '{ service: web }',
    });
    expect(outputs['result']).toBe('promoted');
    expect(code).toBe(0);
    expect(images('web')).toEqual(['ghcr.io/acme/web:v2']);
    const checks = JSON.parse(outputs['analysis']!)[0].checks as Array<{ metric: string; value: number | null }>;
    // Prometheus answered with the canary's real error rate (1%, well under the 10% limit).
    const rates = checks.filter((c) => c.metric === 'error-rate' && c.value !== null).map((c) => c.value!);
    expect(rates.length).toBeGreaterThan(0);
    for (const rate of rates) expect(rate).toBeLessThan(0.1);
    expect(summary).toContain('✅ promoted');
  }, 30_000);

  it('aborts an erroring canary on the PromQL error-rate rule', async () => {
    const { code, outputs, errors } = await run({
      deployments: 'cart',
      images: 'app=ghcr.io/acme/cart:v2-bad',
      analysis: errorRate('cart'),
      'router-config': '{ service: cart }',
    });
    expect(outputs['result']).toBe('aborted');
    expect(code).toBe(1);
    expect(errors.join('\n')).toMatch(
      /^Aborted because step 1 \(50%\): error-rate was 0\.[1-4]\d*, above its max of 0\.1/,
    );
    expect(images('cart')).toEqual(['ghcr.io/acme/cart:v1']);
    expect((sim.store.find('apps/v1/deployments', NS, 'cart-canary') as Deployment).spec?.replicas).toBe(0);
  }, 30_000);

  it('aborts an erroring canary on the comparison with the stable', async () => {
    const { code, outputs, errors } = await run({
      deployments: 'auth',
      images: 'app=ghcr.io/acme/auth:v2-bad',
      analysis: versusStable('auth'),
      'router-config': '{ service: auth }',
    });
    expect(outputs['result']).toBe('aborted');
    expect(code).toBe(1);
    expect(errors.join('\n')).toMatch(/^Aborted because step 1 \(50%\): errors-vs-stable/);
    const checks = JSON.parse(outputs['analysis']!)[0].checks as Array<{
      value: number | null;
      control: number | null;
    }>;
    // The deciding check saw the canary's error rate far above the stable's.
    const last = checks.at(-1)!;
    expect(last.value).toBeGreaterThan(last.control! * 5);
    expect(images('auth')).toEqual(['ghcr.io/acme/auth:v1']);
  }, 30_000);

  /**
   * What a client wrote to the namespace's Deployments, Services and ConfigMaps: every object without its status,
   * resourceVersion and managedFields. Not the resourceVersion: the controllers keep writing status after an
   * action returns (the abort before this test scales the stable back up and its pods become ready later, which
   * under CPU load lands during the next run), and that is no change the action made.
   */
  const written = () =>
    (['apps/v1/deployments', 'v1/services', 'v1/configmaps'] as const).flatMap((gvr) =>
      sim.store.list(gvr, NS).map((o: KubeObject) => {
        const { resourceVersion: _rv, managedFields: _fields, ...metadata } = o.metadata ?? {};
        return { kind: o.kind, metadata, spec: o['spec'], data: o['data'] };
      }),
    );

  it('promotes a canary with no 5xx at all: the documented error-rate query, and its zero-safe form (item 4)', async () => {
    // The README's query as it was (an empty vector when nothing failed) and the zero-safe one it documents now.
    const documented = `
    - name: error-rate
      provider: prometheus
      address: ${prometheus.url}
      query: >-
        sum(rate(http_requests_total{namespace="shop",app="auth",version="{{canary}}",code=~"5.."}[5s]))
        / sum(rate(http_requests_total{namespace="shop",app="auth",version="{{canary}}"}[5s]))
      max: 0.01
    - name: zero-safe-error-rate
      provider: prometheus
      address: ${prometheus.url}
      query: >-
        (sum(rate(http_requests_total{namespace="shop",app="auth",version="{{canary}}",code=~"5.."}[5s])) or vector(0))
        / sum(rate(http_requests_total{namespace="shop",app="auth",version="{{canary}}"}[5s]))
      max: 0.01`;
    const { code, outputs, errors, summary } = await run({
      deployments: 'auth',
      images: 'app=ghcr.io/acme/auth:v4-clean',
      analysis: documented,
      'router-config': '{ service: auth }',
    });
    expect(errors).toEqual([]);
    expect(outputs['result']).toBe('promoted');
    expect(code).toBe(0);
    expect(images('auth')).toEqual(['ghcr.io/acme/auth:v4-clean']);
    const checks = JSON.parse(outputs['analysis']!)[0].checks as Array<{
      metric: string;
      value: number | null;
      outcome: string;
    }>;
    // No 5xx series: no data, which passes for an upper limit (on-no-data defaults to pass there) ...
    const documentedChecks = checks.filter((c) => c.metric === 'error-rate');
    expect(documentedChecks.length).toBeGreaterThan(0);
    expect(documentedChecks.every((c) => c.outcome === 'no-data')).toBe(true);
    // ... and the zero-safe query reads 0 once the canary has requests.
    const zeroSafe = checks.filter((c) => c.metric === 'zero-safe-error-rate' && c.value !== null);
    expect(zeroSafe.length).toBeGreaterThan(0);
    for (const check of zeroSafe) expect(check.value).toBe(0);
    expect(summary).toContain('✅ promoted');
  }, 30_000);

  it('the on-no-data input sets what no data means for every metric that does not say (item 4)', async () => {
    // No 5xx series for a clean canary: with on-no-data: fail the documented query aborts it ...
    const noFiveXx = (own: string) => `
    - name: error-rate
      provider: prometheus
      address: ${prometheus.url}
      query: >-
        sum(rate(http_requests_total{namespace="shop",app="cart",version="{{canary}}",code=~"5.."}[5s]))
        / sum(rate(http_requests_total{namespace="shop",app="cart",version="{{canary}}"}[5s]))
      max: 0.01${own}`;
    const strict = await run({
      deployments: 'cart',
      images: 'app=ghcr.io/acme/cart:v4-clean',
      analysis: noFiveXx(''),
      'on-no-data': 'fail',
      'router-config': '{ service: cart }',
    });
    expect(strict.outputs['result']).toBe('aborted');
    expect(strict.errors.join('\n')).toContain('error-rate had no data');
    expect(images('cart')).toEqual(['ghcr.io/acme/cart:v1']);
    // ... and a metric's own on-no-data still wins over the input.
    const own = await run({
      deployments: 'cart',
      images: 'app=ghcr.io/acme/cart:v4-clean',
      analysis: noFiveXx('\n      on-no-data: pass'),
      'on-no-data': 'fail',
      'router-config': '{ service: cart }',
    });
    expect(own.errors).toEqual([]);
    expect(own.outputs['result']).toBe('promoted');
    expect(images('cart')).toEqual(['ghcr.io/acme/cart:v4-clean']);
  }, 40_000);

  it('refuses a query Prometheus rejects, before anything in the cluster changes', async () => {
    const before = written();
    const { code, errors } = await run({
      deployments: 'web',
      images: 'app=ghcr.io/acme/web:v3',
      analysis: `[{ name: broken, provider: prometheus, address: "${prometheus.url}", query: "sum(rate(http_requests_total[5s])", max: 1 }]`,
      'router-config': '{ service: web }',
    });
    expect(code).toBe(1);
    expect(errors.join('\n')).toMatch(/broken.*parse error/is);
    expect(written()).toEqual(before);
  }, 30_000);
});
