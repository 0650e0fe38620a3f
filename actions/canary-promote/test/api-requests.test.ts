/**
 * Kubernetes API requests of a canary do not grow with the minutes it waits: bench/canary-api's property as a
 * test. The same canary (steps 5,25,50,100, replicas router, a `selector` matching every Deployment, 3 pods
 * each, Ready 3 s after start) runs on a fresh kube-sim cluster with 1-minute and with 10-minute pauses, in
 * virtual time; kube-sim counts every request it answers by verb and resource (`sim.stats`, what the bench
 * reads), set-up requests excluded. Waiting for pods uses watches, so the counts must be equal for both pause
 * lengths, and grow with the number of Deployments; only the Lease grows with time: it is renewed every 10 s
 * (one GET and one PUT) so that a dead run's Lease lapses within 30 s.
 * With a Kubernetes signal (restarts), the canary's pods are read through a cache: one list and one watch per
 * analysed step, whatever the number of checks.
 */
import { type Cluster, startCluster } from '@deploy-actions/testkit/cluster';
import { describe, expect, it } from 'vitest';
import canaryPromote from '../src/main';

const NS = 'bench';

interface Measured {
  /** `verb resource` → requests, e.g. `patch deployments.apps`. */
  counts: Record<string, number>;
  total: number;
  virtualMinutes: number;
}

/**
 * Until kube-sim's count stops moving: it counts a request when the response finishes, so a watch the
 * client closed at the end of the run is counted once the server sees it close, a few turns of the event
 * loop later (real I/O, no virtual time).
 */
async function settled(c: Cluster): Promise<void> {
  let last = -1;
  for (let turn = 0; turn < 200; turn++) {
    await new Promise((done) => setImmediate(done));
    if (c.sim.stats.total === last && turn > 20) return;
    last = c.sim.stats.total;
  }
}

/** The counts without the Lease's rows (renewed every 10 s, so they grow with the minutes on purpose). */
function withoutLease(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([key]) => !key.endsWith('leases.coordination.k8s.io')));
}

/** Lease renewals stay at one GET + one PUT per 10 s of the run, plus the fence's GET per write and per step. */
function expectRenewalsBounded(measured: Measured): void {
  const writes = Object.entries(measured.counts)
    .filter(([key]) => /^(create|update|patch|delete) /.test(key) && !key.endsWith('leases.coordination.k8s.io'))
    .reduce((sum, [, n]) => sum + n, 0);
  const renewals = Math.ceil((measured.virtualMinutes * 60) / 10);
  expect(measured.counts['update leases.coordination.k8s.io'] ?? 0).toBeLessThanOrEqual(renewals + 2);
  expect(measured.counts['get leases.coordination.k8s.io'] ?? 0).toBeLessThanOrEqual(renewals + writes + 15); // + the checks at step boundaries, take and release
}

async function measure(deployments: number, pause: string, analysis?: string): Promise<Measured> {
  const c = await startCluster({ namespace: NS, controllers: 'bare', action: canaryPromote });
  try {
    for (let i = 0; i < deployments; i++)
      await c.app(`svc-${i}`, `ghcr.io/acme/svc-${i}:v1`, { replicas: 3, labels: { tier: 'bench' }, service: false });
    await settled(c);
    c.sim.stats.reset();
    const started = c.clock.now();
    const { code, outputs, errors } = await c.run({
      selector: 'tier=bench',
      app: 'bench',
      images: 'app=ghcr.io/acme/app:v2',
      steps: '5,25,50,100',
      // 3 pods cannot serve 5 %: the share served does not change the requests counted.
      'weight-rounding': 'nearest',
      pause,
      timeout: '2h',
      ...(analysis ? { analysis } : {}),
    });
    expect(errors).toEqual([]);
    expect(code).toBe(0);
    expect(outputs['result']).toBe('promoted');
    const virtualMinutes = (c.clock.now() - started) / 60_000;
    await settled(c);
    return {
      counts: Object.fromEntries([...c.sim.stats.byVerbResource].sort(([a], [b]) => a.localeCompare(b))),
      total: c.sim.stats.total,
      virtualMinutes,
    };
  } finally {
    await c.stop();
  }
}

describe('canary-promote: Kubernetes API requests (bench/canary-api)', () => {
  it('do not grow with the minutes waited, and grow with the Deployments', async () => {
    const one = await measure(1, '1m');
    const oneLong = await measure(1, '10m');
    const three = await measure(3, '1m');
    const threeLong = await measure(3, '10m');

    // The long runs really waited ten times as long: three paused steps of 1 and of 10 minutes.
    expect(one.virtualMinutes).toBeGreaterThanOrEqual(3);
    expect(oneLong.virtualMinutes).toBeGreaterThanOrEqual(30);
    expect(threeLong.virtualMinutes).toBeGreaterThanOrEqual(30);

    // Every verb and resource, not only the total: a poll that replaced a watch would show in its own row.
    expect(withoutLease(oneLong.counts)).toEqual(withoutLease(one.counts));
    expect(withoutLease(threeLong.counts)).toEqual(withoutLease(three.counts));
    for (const measured of [one, oneLong, three, threeLong]) expectRenewalsBounded(measured);

    // More Deployments, more requests (each is patched and watched at every step), and no row disappears.
    expect(three.total).toBeGreaterThan(one.total);
    expect(three.counts['patch deployments.apps'] ?? 0).toBeGreaterThan(one.counts['patch deployments.apps'] ?? 0);
    for (const key of Object.keys(one.counts)) expect(three.counts[key] ?? 0).toBeGreaterThanOrEqual(one.counts[key]!);
  }, 30_000);

  it('with a Kubernetes signal checked every 10 s: the pods are read once per analysed step, not per check', async () => {
    const RESTARTS = '[{ name: restarts, provider: kubernetes, signal: restarts, max: 2, interval: 10s }]';
    const short = await measure(1, '1m', RESTARTS);
    const long = await measure(1, '10m', RESTARTS);
    expect(long.virtualMinutes).toBeGreaterThanOrEqual(30);
    expect(withoutLease(long.counts)).toEqual(withoutLease(short.counts));
    expectRenewalsBounded(long);
    // 3 analysed steps: 18 checks with 1-minute pauses, 180 with 10-minute ones; at most a list and a watch per step.
    const pods = (short.counts['list pods'] ?? 0) + (short.counts['watch pods'] ?? 0);
    expect(pods).toBeGreaterThan(0);
    // Plus the pod guard's list every 2 s while a step waits for its pods (Ready 3 s after start): a few per step.
    expect(pods).toBeLessThanOrEqual(2 * 3 + 2 * 3);
  }, 30_000);
});
