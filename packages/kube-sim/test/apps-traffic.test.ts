import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedApps } from '../src/apps/apps';
import { sampleLatency } from '../src/apps/latency';
import { backendsFor, TrafficGenerator } from '../src/apps/traffic';
import { Random } from '../src/controllers/random';
import type { KubeObject } from '../src/store';
import { deployment, harness } from './controllers-harness';

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

describe('latency model', () => {
  it('draws lognormal latencies with the configured median and 99th percentile', () => {
    const random = new Random(42);
    const samples = Array.from({ length: 50_000 }, () => sampleLatency({ p50: 20, p99: 200 }, random)).sort(
      (a, b) => a - b,
    );
    expect(quantile(samples, 0.5)).toBeGreaterThan(19);
    expect(quantile(samples, 0.5)).toBeLessThan(21);
    expect(quantile(samples, 0.99)).toBeGreaterThan(185);
    expect(quantile(samples, 0.99)).toBeLessThan(215);
    expect(samples[0]).toBeGreaterThan(0);
  });

  it('repeats the same sequence for the same seed', () => {
    const a = new Random(7);
    const b = new Random(7);
    const draw = (r: Random) => Array.from({ length: 5 }, () => sampleLatency({ p50: 5, p99: 50 }, r));
    expect(draw(a)).toEqual(draw(b));
  });
});

describe('simulated apps behind a Service (virtual clock)', () => {
  let h = harness();
  afterEach(() => h.stop());

  /** Stable web:v1 with 9 pods and a canary web:v2 with 1 pod, both behind Service `web` (selector app=web). */
  async function canarySetup() {
    h = harness();
    h.behaviour.set('web:v1', {
      readyAfter: '1s',
      http: { status: 200, errorRate: 0.01, latencyMs: { p50: 20, p99: 80 } },
    });
    h.behaviour.set('web:v2', {
      readyAfter: '1s',
      http: { status: 200, errorRate: 0.3, latencyMs: { p50: 40, p99: 400 } },
    });
    const labels = (track: string) => ({ metadata: { labels: { app: 'web', track } } });
    const stable = deployment('web', 'web:v1', 9);
    stable.spec.selector = { matchLabels: { app: 'web', track: 'stable' } };
    stable.spec.template = { ...labels('stable'), spec: { containers: [{ name: 'web', image: 'web:v1' }] } };
    const canary = deployment('web-canary', 'web:v2', 1);
    canary.spec.selector = { matchLabels: { app: 'web', track: 'canary' } };
    canary.spec.template = { ...labels('canary'), spec: { containers: [{ name: 'web', image: 'web:v2' }] } };
    h.store.create(stable);
    h.store.create(canary);
    const service = (name: string, selector: Record<string, string>): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: 'default' },
      spec: { selector, ports: [{ port: 80, targetPort: 8080 }] },
    });
    h.store.create(service('web', { app: 'web' }));
    h.store.create(service('web-stable', { app: 'web', track: 'stable' }));
    h.store.create(service('web-canary', { app: 'web', track: 'canary' }));
    await h.run(2000);
    return new SimulatedApps(h.store, h.clock, h.behaviour, new Random(3));
  }

  it('spreads requests round robin over Ready pods, so 1 canary pod of 10 gets 10%, with its own error rate', async () => {
    const apps = await canarySetup();
    for (let i = 0; i < 2000; i++) apps.answer('default', 'web', '/');
    expect(apps.metrics.total({ version: 'v2' })).toBe(200);
    expect(apps.metrics.total({ version: 'v1' })).toBe(1800);
    const v2Errors = apps.metrics.total({ version: 'v2', code: '500' }) / 200;
    const v1Errors = apps.metrics.total({ version: 'v1', code: '500' }) / 1800;
    expect(v2Errors).toBeGreaterThan(0.2);
    expect(v2Errors).toBeLessThan(0.4);
    expect(v1Errors).toBeLessThan(0.03);
    const text = apps.metrics.render();
    expect(text).toMatch(
      /^http_requests_total\{namespace="default",app="web",version="v2",pod="web-canary-\w+-\w{5}",code="500"\} \d+$/m,
    );
  });

  it('answers 503 ServiceUnavailable when no pod is Ready, as the API server proxy does', async () => {
    const apps = await canarySetup();
    const res = apps.answer('default', 'nothing-here', '/');
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body)).toMatchObject({ kind: 'Status', reason: 'ServiceUnavailable', code: 503 });
  });

  it('renders a cumulative latency histogram whose +Inf bucket equals the request count', async () => {
    const apps = await canarySetup();
    for (let i = 0; i < 500; i++) apps.answer('default', 'web-canary', '/');
    const lines = apps.metrics.render().split('\n');
    const buckets = lines
      .filter((l) => l.startsWith('http_request_duration_seconds_bucket{'))
      .map((l) => Number(l.split(' ').at(-1)));
    for (let i = 1; i < buckets.length - 1; i++) expect(buckets[i]!).toBeGreaterThanOrEqual(buckets[i - 1]!);
    expect(buckets.at(-1)).toBe(500);
    expect(lines.find((l) => l.startsWith('http_request_duration_seconds_count{'))).toMatch(/ 500$/);
    // p50 40 ms: about half the requests under the 0.05 s bucket... and clearly not all under 0.025 s.
    const le = (v: string) =>
      Number(
        lines
          .find((l) => l.includes(`le="${v}"`))!
          .split(' ')
          .at(-1),
      );
    expect(le('0.025')).toBeLessThan(250);
    expect(le('0.05')).toBeGreaterThan(250);
  });

  it('splits generated traffic by an NGINX canary Ingress weight', async () => {
    const apps = await canarySetup();
    const ingress = (name: string, service: string, annotations: Record<string, string> = {}): KubeObject => ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name, namespace: 'default', annotations },
      spec: {
        rules: [
          {
            host: 'shop.example',
            http: {
              paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: service, port: { number: 80 } } } }],
            },
          },
        ],
      },
    });
    h.store.create(ingress('web', 'web-stable'));
    h.store.create(
      ingress('web-canary', 'web-canary', {
        'nginx.ingress.kubernetes.io/canary': 'true',
        'nginx.ingress.kubernetes.io/canary-weight': '25',
      }),
    );
    const traffic = new TrafficGenerator(h.store, h.clock, apps, new Random(5));
    const handle = traffic.start({ service: 'web-stable', rps: 200 });
    await h.run(10_000, 100);
    handle.stop();
    const total = apps.metrics.total();
    expect(total).toBeGreaterThanOrEqual(1990);
    expect(total).toBeLessThanOrEqual(2000);
    const canaryShare = apps.metrics.total({ version: 'v2' }) / total;
    expect(canaryShare).toBeGreaterThan(0.21);
    expect(canaryShare).toBeLessThan(0.29);
    expect(handle.sent.get('web-canary')! + handle.sent.get('web-stable')!).toBe(total);
  });
});

describe('traffic split by Gateway API and Istio weights', () => {
  const custom = (group: string, version: string, resource: string, kind: string) => ({
    group,
    version,
    resource,
    kind,
    singular: kind.toLowerCase(),
    namespaced: true,
    shortNames: [],
    verbs: ['create', 'get', 'list', 'watch', 'update', 'patch', 'delete'],
    categories: [],
    subresources: [],
    hasSpec: true,
    custom: true,
  });

  it('reads HTTPRoute backendRef weights and VirtualService route weights', () => {
    const h = harness();
    try {
      h.store.registry.add(custom('gateway.networking.k8s.io', 'v1', 'httproutes', 'HTTPRoute'));
      h.store.registry.add(custom('networking.istio.io', 'v1beta1', 'virtualservices', 'VirtualService'));
      h.store.create({
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: 'web', namespace: 'default' },
        spec: {
          rules: [
            {
              backendRefs: [
                { name: 'web-stable', port: 80, weight: 90 },
                { name: 'web-canary', port: 80, weight: 10 },
              ],
            },
          ],
        },
      });
      expect(backendsFor(h.store, 'default', 'web-stable')).toEqual([
        { service: 'web-stable', weight: 90 },
        { service: 'web-canary', weight: 10 },
      ]);
      h.store.create({
        apiVersion: 'networking.istio.io/v1beta1',
        kind: 'VirtualService',
        metadata: { name: 'api', namespace: 'default' },
        spec: {
          http: [
            {
              route: [
                { destination: { host: 'api-stable.default.svc.cluster.local' }, weight: 75 },
                { destination: { host: 'api-canary' }, weight: 25 },
              ],
            },
          ],
        },
      });
      expect(backendsFor(h.store, 'default', 'api-stable')).toEqual([
        { service: 'api-stable', weight: 75 },
        { service: 'api-canary', weight: 25 },
      ]);
      // A Service nothing routes gets all its traffic.
      expect(backendsFor(h.store, 'default', 'other')).toEqual([{ service: 'other', weight: 1 }]);
    } finally {
      h.stop();
    }
  });
});
