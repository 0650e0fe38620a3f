/**
 * The replicas router on kube-sim with its controllers (Deployments roll out
 * through ReplicaSets into pods) on a virtual clock: 10 stable pods behind
 * one Service, the canary taking its share of pods step by step. Checked:
 * the replica counts, the pods that really run, the real share reported,
 * and the stable pod template that must never change.
 */
import { installControllers } from '@deploy-actions/kube-sim/defaults';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../src/clock';
import type { Deployment, KubeObject } from '../src/kube/types';
import { createRouter, parseRouterConfig, type TrafficRouter } from '../src/routing';
import { type Cluster, deployment, NS, service, startCluster, target } from './routing-fixtures';

const clock = new VirtualClock();
let auto: { stop(): void };
let cluster: Cluster;

const STABLE = { app: 'web', track: 'stable' };
const CANARY = { app: 'web', track: 'canary' };

beforeAll(async () => {
  auto = clock.startAutoAdvance();
  cluster = await startCluster({ clock });
  installControllers(cluster.sim);
  cluster.sim.behaviour.set('*', { readyAfter: '2s' });
});
afterAll(async () => {
  await cluster?.stop();
  auto?.stop();
});

/** Live (not terminating) pods of one track, as `kubectl get pods -l track=...` counts them. */
function pods(track: string): KubeObject[] {
  return cluster.sim.store
    .list('v1/pods', NS, { labelSelector: `app=web,track=${track}` })
    .filter((p) => p.metadata?.deletionTimestamp === undefined);
}

/** Resolves once the pods match, woken by the store's own watch (no polling, no sleeps). */
function podsSettle(stable: number, canary: number): Promise<void> {
  return new Promise((resolve) => {
    const check = () => pods('stable').length === stable && pods('canary').length === canary;
    let stop: (() => void) | undefined;
    let done = false;
    stop = cluster.sim.store.watch('v1/pods', NS, undefined, () => {
      if (!done && check()) {
        done = true;
        queueMicrotask(() => stop?.());
        resolve();
      }
    });
    if (!done && check()) {
      done = true;
      stop();
      resolve();
    }
  });
}

const get = (name: string) => cluster.client.get<Deployment>('Deployment', { namespace: NS, name });

function router(config: unknown = { service: 'web' }): TrafficRouter {
  return createRouter('replicas', parseRouterConfig('replicas', config), target, { client: cluster.client });
}

async function reset(stableReplicas = 10): Promise<void> {
  for (const name of ['web', 'web-canary'])
    await cluster.client
      .delete('Deployment', { namespace: NS, name }, { propagationPolicy: 'Background' })
      .catch(() => undefined);
  await cluster.client.delete('HorizontalPodAutoscaler', { namespace: NS, name: 'web' }).catch(() => undefined);
  await cluster.client.delete('Service', { namespace: NS, name: 'web' }).catch(() => undefined);
  await podsSettle(0, 0);
  await cluster.client.create('Service', service('web', { app: 'web' }));
  await cluster.client.create('Deployment', deployment('web', stableReplicas, STABLE, 'shop:1.0'));
  await cluster.client.create('Deployment', deployment('web-canary', 0, CANARY, 'shop:1.1'));
  await podsSettle(stableReplicas, 0);
}

describe('replicas router', () => {
  beforeEach(async () => {
    await reset();
  });

  it('shifts 10 pods 5 → 25 → 50 → 100 by replica counts, reports the real share, never touches the stable template', async () => {
    const replicas = router();
    await replicas.validate();
    const before = await get('web');
    const stablePodNames = new Set(pods('stable').map((p) => p.metadata?.name));
    const expected = [
      { weight: 5, canary: 1, stable: 9, actual: 10 },
      { weight: 25, canary: 3, stable: 7, actual: 30 },
      { weight: 50, canary: 5, stable: 5, actual: 50 },
      { weight: 100, canary: 10, stable: 1, actual: 90.9 },
    ];
    for (const step of expected) {
      const state = await replicas.setWeight(step.weight);
      expect(state).toEqual({
        weight: step.weight,
        actualWeight: step.actual,
        detail: `canary ${step.canary} of ${step.canary + step.stable} pods (${step.actual}%), stable ${step.stable}: weights as close as the replica counts allow`,
      });
      expect((await get('web-canary')).spec?.replicas).toBe(step.canary);
      expect((await get('web')).spec?.replicas).toBe(step.stable);
      await podsSettle(step.stable, step.canary);
      // Scale-down only removes stable pods: none is replaced, so the template never changed.
      for (const pod of pods('stable')) expect(stablePodNames.has(pod.metadata?.name)).toBe(true);
    }
    const during = await get('web');
    expect(during.spec?.template).toEqual(before.spec?.template);
    expect(during.metadata?.annotations?.['deploy-actions.dev/stable-replicas']).toBe('10');
    expect(cluster.sim.store.list('apps/v1/replicasets', NS, { labelSelector: 'track=stable' })).toHaveLength(1);

    await replicas.promote();
    const after = await get('web');
    expect(after.spec?.replicas).toBe(10);
    expect(after.metadata?.annotations?.['deploy-actions.dev/stable-replicas']).toBeUndefined();
    expect((await get('web-canary')).spec?.replicas).toBe(0);
    await podsSettle(10, 0);
  });

  it('aborts from 25: canary to zero and the stable back to 10 in one go', async () => {
    const replicas = router();
    await replicas.setWeight(5);
    await replicas.setWeight(25);
    await podsSettle(7, 3);
    const requests = cluster.client.requests;
    await replicas.abort();
    expect(cluster.client.requests - requests).toBe(3);
    expect((await get('web')).spec?.replicas).toBe(10);
    expect((await get('web-canary')).spec?.replicas).toBe(0);
    await podsSettle(10, 0);
  });

  it('respects an HPA on the stable: its desired count is the total, and the stable never goes below minReplicas', async () => {
    await cluster.client.create('HorizontalPodAutoscaler', {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'web', namespace: NS },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
        minReplicas: 4,
        maxReplicas: 20,
        metrics: [
          { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
        ],
      },
    });
    await cluster.client.patch(
      'HorizontalPodAutoscaler',
      { namespace: NS, name: 'web', subresource: 'status' },
      { status: { currentReplicas: 10, desiredReplicas: 8 } },
      'merge',
    );
    const replicas = router();
    expect((await replicas.setWeight(25)).detail).toBe(
      'canary 2 of 8 pods (25%), stable 6: weights as close as the replica counts allow',
    );
    const state = await replicas.setWeight(75);
    expect(state.detail).toBe(
      "canary 6 of 10 pods (60%), stable 4: weights as close as the replica counts allow; stable kept at the HPA's minReplicas 4",
    );
    expect((await get('web')).spec?.replicas).toBe(4);
    await replicas.abort();
    expect((await get('web')).spec?.replicas).toBe(8);
  });

  /** The HPA on the stable: 4..20, its controller's desired count 8. */
  async function createHpa(): Promise<void> {
    await cluster.client.create('HorizontalPodAutoscaler', {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'web', namespace: NS },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
        minReplicas: 4,
        maxReplicas: 20,
        metrics: [
          { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
        ],
      },
    });
    await cluster.client.patch(
      'HorizontalPodAutoscaler',
      { namespace: NS, name: 'web', subresource: 'status' },
      { status: { currentReplicas: 10, desiredReplicas: 8 } },
      'merge',
    );
  }

  const hpaRange = async () => {
    const h = await cluster.client.get<KubeObject & { spec: { minReplicas?: number; maxReplicas?: number } }>(
      'HorizontalPodAutoscaler',
      { namespace: NS, name: 'web' },
    );
    return { min: h.spec.minReplicas, max: h.spec.maxReplicas };
  };

  /** The cluster's client, but the first patch matching `fails` is refused (500) before it reaches the server. */
  function failingOnce(fails: (kind: unknown, ref: { name?: string; subresource?: string }, body: unknown) => boolean) {
    const client = cluster.client;
    let failed = false;
    const wrapped = Object.create(client) as typeof client;
    wrapped.patch = ((
      kind: unknown,
      ref: { name?: string; subresource?: string },
      body: unknown,
      ...rest: unknown[]
    ) => {
      if (!failed && fails(kind, ref, body)) {
        failed = true;
        return Promise.reject(Object.assign(new Error('injected: connection reset'), { code: 500 }));
      }
      return (client.patch as (...a: unknown[]) => Promise<unknown>)(kind, ref, body, ...rest);
    }) as typeof client.patch;
    return createRouter('replicas', parseRouterConfig('replicas', { service: 'web' }), target, { client: wrapped });
  }

  const stablePatch = (kind: unknown, ref: { name?: string; subresource?: string }) =>
    kind === 'Deployment' && ref.name === 'web' && ref.subresource === undefined;
  const stableScale = (kind: unknown, ref: { name?: string; subresource?: string }, body: unknown) =>
    stablePatch(kind, ref) && (body as { spec?: { replicas?: number } }).spec?.replicas !== undefined;

  for (const [what, fails] of [
    ['the first patch of the stable Deployment', stablePatch],
    ["the stable's scale after the hold", stableScale],
  ] as const)
    it(`gives the HPA its own range back on abort when ${what} fails during setWeight`, async () => {
      await createHpa();
      const replicas = failingOnce(fails);
      await expect(replicas.setWeight(25)).rejects.toThrow('injected: connection reset');
      await replicas.abort();
      expect(await hpaRange()).toEqual({ min: 4, max: 20 });
      expect((await get('web')).metadata?.annotations?.['deploy-actions.dev/hpa-range']).toBeUndefined();
      // A later shift saves the HPA's own range, not held values.
      await router().setWeight(25);
      expect(JSON.parse((await get('web')).metadata?.annotations?.['deploy-actions.dev/hpa-range'] ?? '{}')).toEqual({
        name: 'web',
        minReplicas: 4,
        maxReplicas: 20,
      });
      await router().abort();
      expect(await hpaRange()).toEqual({ min: 4, max: 20 });
    });

  it('keeps the saved range when giving the HPA back fails, so a second abort still can', async () => {
    await createHpa();
    await router().setWeight(25);
    expect(await hpaRange()).toEqual({ min: 6, max: 6 });
    const replicas = failingOnce((kind) => kind === 'HorizontalPodAutoscaler');
    await expect(replicas.abort()).rejects.toThrow('injected: connection reset');
    expect(await hpaRange()).toEqual({ min: 6, max: 6 });
    expect((await get('web')).metadata?.annotations?.['deploy-actions.dev/hpa-range']).toBeDefined();
    await replicas.abort();
    expect(await hpaRange()).toEqual({ min: 4, max: 20 });
    expect((await get('web')).metadata?.annotations?.['deploy-actions.dev/hpa-range']).toBeUndefined();
  });

  it('refuses a Service that selects only one version, and a missing canary, before anything changes', async () => {
    await cluster.client.patch(
      'Service',
      { namespace: NS, name: 'web' },
      { spec: { selector: { track: 'stable' } } },
      'merge',
    );
    const replicas = router();
    await expect(replicas.validate()).rejects.toThrow(
      "Service 'web' selector track=stable does not select the canary pods of Deployment 'web-canary': the replicas router needs one Service in front of both versions.",
    );
    await expect(replicas.setWeight(5)).rejects.toThrow('does not select the canary pods');
    await cluster.client.delete('Deployment', { namespace: NS, name: 'web-canary' });
    await expect(router({}).setWeight(5)).rejects.toThrow(
      "Canary Deployment 'web-canary' not found in namespace 'prod'.",
    );
    expect((await get('web')).spec?.replicas).toBe(10);
  });

  it('plans the counts with a server-side dry run', async () => {
    expect(await router().plan(25)).toEqual([
      'scale Deployment prod/web-canary to 3 (server dry run passed)',
      'scale Deployment prod/web to 7 (server dry run passed)',
      'canary 3 of 10 pods (30%), stable 7: weights as close as the replica counts allow',
    ]);
    expect((await get('web')).spec?.replicas).toBe(10);
    expect((await get('web')).metadata?.annotations?.['deploy-actions.dev/stable-replicas']).toBeUndefined();
  });
});
