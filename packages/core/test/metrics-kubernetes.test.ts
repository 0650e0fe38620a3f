/**
 * Kubernetes signals when the canary has no pods (not started, scaled to 0, a selector that matches
 * nothing): nothing was measured, so the checks are "no data" and the metric's on-no-data decides.
 * Before the fix, restarts summed an empty list to 0 and the step passed.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '@deploy-actions/core/clock';
import { KubeClient } from '@deploy-actions/core/kube';
import {
  crashloop,
  KUBERNETES_SIGNALS,
  type Measurement,
  notReady,
  POD_SIGNALS,
  type PodLike,
  parseAnalysisSpec,
  restarts,
  runAnalysis,
} from '@deploy-actions/core/metrics';
import { KubeSim } from '@deploy-actions/kube-sim';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PodCache } from '../src/metrics/kubernetes';

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
  // The pause, then the checks a metric with only "no data" gets after it (max(4, consecutive)).
  await clock.advance(100_000);
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
    expect(result.reason).toContain("Metric 'restarts' had no data in any of its 10 checks.");
  });

  it('on-no-data: fail fails the step', async () => {
    const result = await analyse(
      '- name: restarts\n  provider: kubernetes\n  signal: restarts\n  max: 0\n  on-no-data: fail',
    );
    expect(result.verdict).toBe('fail');
    expect(result.reason).toContain('restarts had no data');
  });
});

/**
 * The pods through PodCache (one informer per selector) against kube-sim: the signals follow pod changes at
 * the next check with the same values a list at that check gives, and the requests do not grow with the checks.
 */
describe('PodCache', () => {
  const CANARY = 'app=web,role=canary';
  const SPEC = [
    '- { name: restarts, provider: kubernetes, signal: restarts, max: 5, interval: 10s }',
    '- { name: not-ready, provider: kubernetes, signal: not-ready, max: 3, interval: 10s }',
    '- { name: crashloop, provider: kubernetes, signal: crashloop, max: 3, interval: 10s }',
  ].join('\n');
  let sim: KubeSim;
  let clock: VirtualClock;
  let client: KubeClient;
  let cache: PodCache;
  let changes: number;
  let baseWatches: number;
  /** Resolved when `changes` (or, below, the measurements) reach a count. */
  let waiting: { until: () => boolean; resolve: () => void } | undefined;
  const poke = () => {
    if (waiting?.until()) waiting.resolve();
  };
  const reach = (until: () => boolean) =>
    until() ? Promise.resolve() : new Promise<void>((resolve) => (waiting = { until, resolve }));

  beforeEach(async () => {
    clock = new VirtualClock();
    sim = await KubeSim.start({ clock, scenario: { namespaces: ['shop'] } });
    baseWatches = sim.store.watchCount;
    client = await KubeClient.connect(
      { kubeconfig: sim.kubeconfig(), env: {}, workspace: mkdtempSync(join(tmpdir(), 'pod-cache-')) },
      { clock },
    );
    changes = 0;
    cache = new PodCache(client, {
      namespace: 'shop',
      clock,
      onChange: () => {
        changes++;
        poke();
      },
    });
    for (const [name, role] of [
      ['web-canary-1', 'canary'],
      ['web-canary-2', 'canary'],
      ['web-stable-1', 'stable'],
    ] as const) {
      sim.store.create(
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name, namespace: 'shop', labels: { app: 'web', role } },
          spec: { containers: [{ name: 'app', image: `web:${role}` }] },
        },
        { fieldManager: 'test' },
      );
      setStatus(name, { ready: true, restartCount: 0 });
    }
  });
  afterEach(async () => {
    await cache.close();
    await sim.stop();
  });

  function setStatus(name: string, state: { ready: boolean; restartCount: number; waiting?: string }): void {
    sim.store.modify(
      'v1/pods',
      'shop',
      name,
      (pod) => {
        pod.status = {
          phase: 'Running',
          conditions: [{ type: 'Ready', status: state.ready ? 'True' : 'False' }],
          containerStatuses: [
            {
              name: 'app',
              restartCount: state.restartCount,
              ...(state.waiting ? { state: { waiting: { reason: state.waiting } } } : {}),
            },
          ],
        };
      },
      { subresource: 'status' },
    );
  }

  /** Applies a pod change and resolves once the cache has taken it in (no sleeping). */
  async function change(apply: () => void): Promise<void> {
    const seen = changes;
    apply();
    await reach(() => changes > seen);
  }

  /** What listing the pods now would give: the values before the cache. */
  function listed(selectors: readonly string[]) {
    const pods = selectors.flatMap((labelSelector) => sim.store.list('v1/pods', 'shop', { labelSelector }));
    return KUBERNETES_SIGNALS.map((signal) => POD_SIGNALS[signal](pods as PodLike[]));
  }

  /** Pod lists and watches served, once the cache is closed (kube-sim counts a watch when it ends). */
  async function requestsAfterClose() {
    await cache.close();
    await expect.poll(() => sim.store.watchCount).toBe(baseWatches);
    const counts = () => ({ lists: sim.stats.count('list', 'pods'), watches: sim.stats.count('watch', 'pods') });
    await expect.poll(() => counts().lists + counts().watches).toBe(client.requests);
    return counts();
  }

  it('follows pod changes at the next check, with the values a list at that check gives', async () => {
    const measured: Measurement[] = [];
    const running = runAnalysis({
      metrics: parseAnalysisSpec(SPEC),
      targets,
      duration: 60_000,
      clock,
      signal: new AbortController().signal,
      canaryPods: cache.source(() => [CANARY]),
      onMeasurement: (m) => {
        measured.push(m);
        poke();
      },
    });
    const edits: Record<number, () => void> = {
      // A container restarts, then crash-loops on another pod, then that pod stops being Ready.
      2: () => setStatus('web-canary-1', { ready: true, restartCount: 1 }),
      3: () => setStatus('web-canary-2', { ready: true, restartCount: 2, waiting: 'CrashLoopBackOff' }),
      4: () => setStatus('web-canary-2', { ready: false, restartCount: 2, waiting: 'CrashLoopBackOff' }),
    };
    const expected: Array<Array<number | undefined>> = [];
    for (let check = 1; check <= 6; check++) {
      const edit = edits[check];
      if (edit) await change(edit);
      // The stable's pods are not the canary's (and not watched: nothing to wait for).
      if (check === 5) setStatus('web-stable-1', { ready: false, restartCount: 9 });
      await clock.advance(10_000);
      await reach(() => measured.length === 3 * check);
      expected.push(listed([CANARY]));
    }
    const result = await running;
    const values = (metric: string) => result.measurements.filter((m) => m.metric === metric).map((m) => m.value);
    expect(values('restarts')).toEqual([0, 1, 3, 3, 3, 3]);
    expect(values('not-ready')).toEqual([0, 0, 0, 1, 1, 1]);
    expect(values('crashloop')).toEqual([0, 0, 1, 1, 1, 1]);
    expect(KUBERNETES_SIGNALS.map((signal) => values(signal))).toEqual(
      KUBERNETES_SIGNALS.map((_, index) => expected.map((row) => row[index])),
    );
    expect(result.verdict).toBe('pass');
    // Three metrics, six checks: one list and one watch of the one selector.
    expect(await requestsAfterClose()).toEqual({ lists: 1, watches: 1 });
  });

  it('makes one list and one watch per selector whether the analysis runs 6 checks or 60, and closes them', async () => {
    const counts: Array<{ lists: number; watches: number }> = [];
    for (const minutes of [1, 10]) {
      sim.stats.reset();
      client.requests = 0;
      cache = new PodCache(client, { namespace: 'shop', clock });
      const running = runAnalysis({
        metrics: parseAnalysisSpec(SPEC),
        targets,
        duration: minutes * 60_000,
        clock,
        signal: new AbortController().signal,
        // Two Deployments' canaries, as the canary action asks for them at every check.
        canaryPods: cache.source(() => [CANARY, 'app=api,role=canary']),
      });
      const auto = clock.startAutoAdvance();
      const result = await running.finally(() => auto.stop());
      expect(result.measurements).toHaveLength(3 * 6 * minutes);
      expect(listed([CANARY, 'app=api,role=canary'])).toEqual([0, 0, 0]);
      expect(result.measurements.every((m) => m.value === 0)).toBe(true);
      counts.push(await requestsAfterClose());
    }
    expect(counts).toEqual([
      { lists: 2, watches: 2 },
      { lists: 2, watches: 2 },
    ]);
  });

  it('no pods for the selector is no data, as a list of none was', async () => {
    const pods = await cache.pods(['app=web,role=none']);
    expect(pods).toEqual([]);
    expect(restarts(pods)).toBeUndefined();
    expect(await requestsAfterClose()).toEqual({ lists: 1, watches: 1 });
  });

  it('resumes a dropped watch without losing a change made while it was down', async () => {
    expect(restarts(await cache.pods([CANARY]))).toBe(0);
    await change(() => setStatus('web-canary-1', { ready: true, restartCount: 1 }));
    await change(() => {
      sim.faults.dropWatches('pods');
      setStatus('web-canary-2', { ready: true, restartCount: 4 });
    });
    expect(restarts(await cache.pods([CANARY]))).toBe(5);
    // Resumed from its resourceVersion: no second list.
    expect(await requestsAfterClose()).toEqual({ lists: 1, watches: 2 });
  });
});
