/**
 * `baseline: true` on kube-sim in virtual time, with traffic: the baseline's pods are told apart from the
 * stable's (version label `<stable>-baseline`, what `{{baseline}}` resolves to), and the replicas router
 * counts them in the split, so the canary's real share of requests is the share the summary reports.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, NS, startCluster } from './cluster';

let c: Cluster;
let server: Server;
let url: string;
/** Versions the comparison asked the metric endpoint about. */
const asked = new Set<string>();

beforeAll(async () => {
  c = await startCluster(23);
  c.sim.behaviour.set('ghcr.io/acme/*:v2-bad', {
    readyAfter: '2s',
    http: { errorRate: 0.3, latencyMs: { p50: 5, p99: 20 } },
  });
  // A JSON metric endpoint over kube-sim's request counters: the error ratio of one version label value.
  server = createServer((req, res) => {
    const version = new URL(req.url ?? '/', 'http://loopback').searchParams.get('version') ?? '';
    asked.add(version);
    const total = served('feed', version) + served('cart', version);
    const errors = c.sim.apps.metrics.total({ namespace: NS, version, code: /^5/ });
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ value: total ? errors / total : null, total }));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server?.close();
  await c?.stop();
});

const served = (app: string, version: string) => c.sim.apps.metrics.total({ namespace: NS, app, version });

describe('baseline: true', () => {
  it('replicas router: the canary gets the share the summary reports, baseline pods counted with the stable version', async () => {
    await c.app('feed', 'ghcr.io/acme/feed:v1', { replicas: 8 });
    const load = c.sim.traffic.start({ service: 'feed', namespace: NS, rps: 50, tickMs: 1000 });
    const counts = () => ({ v1: served('feed', 'v1'), base: served('feed', 'v1-baseline'), v2: served('feed', 'v2') });
    let mark: ReturnType<typeof counts> | undefined;
    let verdicts = 0;
    const shares: Array<{ weight: number; pods: Array<number | undefined>; canary: number; baseline: number }> = [];
    const stop = c.onRecord('feed', (record) => {
      if (record.phase === 'progressing' && record.weight > 0 && mark === undefined) mark = counts();
      const list = record['verdicts'] as unknown[];
      if (list.length > verdicts && mark) {
        verdicts = list.length;
        const now = counts();
        const [v1, base, v2] = [now.v1 - mark.v1, now.base - mark.base, now.v2 - mark.v2];
        shares.push({
          weight: record.weight,
          pods: ['feed', 'feed-canary', 'feed-baseline'].map((name) => c.replicas(name)),
          canary: Math.round((1000 * v2) / (v1 + base + v2)) / 10,
          baseline: Math.round((1000 * base) / (v1 + base + v2)) / 10,
        });
        mark = undefined;
      }
    });
    const { code, summary } = await c.run({
      deployments: 'feed',
      images: 'app=ghcr.io/acme/feed:v2',
      steps: '25,50,100',
      pause: '4m',
      baseline: 'true',
      'router-config': '{ service: feed }',
    });
    stop();
    load.stop();
    expect(code).toBe(0);
    // 25%: 2 canary, 2 baseline, 4 stable = 25% of 8 pods; 50%: 4 + 4 + the stable's last pod = 4 of 9 (44.4%).
    expect(shares.map(({ weight, pods }) => [weight, pods])).toEqual([
      [25, [4, 2, 2]],
      [50, [1, 4, 4]],
    ]);
    expect(Math.abs(shares[0]!.canary - 25)).toBeLessThan(3);
    expect(Math.abs(shares[1]!.canary - 44.4)).toBeLessThan(3);
    // The baseline pods are a version of their own in the request counters.
    expect(shares[0]!.baseline).toBeGreaterThan(15);
    expect(summary).toContain('feed: canary 4 of 9 pods (44.4%), stable 1, baseline 4');
    expect(c.deployment('feed-baseline')).toBeUndefined();
  });

  it('compare: baseline queries the baseline pods by {{version}} = v1-baseline, not the long-running stable', async () => {
    await c.app('cart', 'ghcr.io/acme/cart:v1', { replicas: 4 });
    const load = c.sim.traffic.start({ service: 'cart', namespace: NS, rps: 50, tickMs: 1000 });
    asked.clear();
    const { code, outputs, errors } = await c.run({
      deployments: 'cart',
      images: 'app=ghcr.io/acme/cart:v2-bad',
      steps: '50,100',
      pause: '2m',
      baseline: 'true',
      analysis: `[{ name: errors-vs-baseline, provider: web, url: "${url}/ratio?version={{version}}", json-path: $.value, compare: baseline, max-increase: 0.05, interval: 30s, on-no-data: inconclusive }]`,
      'router-config': '{ service: cart }',
    });
    load.stop();
    expect(errors.join('\n')).toMatch(/^Aborted because step 1 \(50%\): errors-vs-baseline/);
    expect(code).toBe(1);
    expect(asked).toEqual(new Set(['v2-bad', 'v1-baseline']));
    expect(served('cart', 'v1-baseline')).toBeGreaterThan(0);
    const checks = JSON.parse(outputs['analysis']!)[0].checks as Array<{ value: number; control: number }>;
    expect(checks.at(-1)!.control).toBe(0);
    expect(checks.at(-1)!.value).toBeGreaterThan(0.2);
    expect(c.deployment('cart-baseline')?.spec?.template?.metadata?.labels).toMatchObject({
      version: 'v1-baseline',
      'deploy-actions.dev/role': 'baseline',
    });
    expect(c.replicas('cart-baseline')).toBe(0);
    expect(c.replicas('cart')).toBe(4);
  });
});
