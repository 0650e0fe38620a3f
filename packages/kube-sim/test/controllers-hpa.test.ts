// The HorizontalPodAutoscaler controller over real HTTP (the shared test cluster: kube-sim with its controllers
// and simulated apps on an auto-advancing virtual clock): scale-up under request load, the 10 % tolerance,
// min/max clamps, the 5-minute scale-down stabilization, spec.behavior policies, and the status a user reads.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, startCluster } from '../../testkit/src/cluster';
import type { ImageBehaviour } from '../src/behaviour';

const NS = 'hpa';
let c: Cluster;

beforeAll(async () => {
  c = await startCluster({ namespace: NS, seed: 3, readyAfter: '2s' });
});

afterAll(async () => {
  await c?.stop();
});

interface HpaStatus {
  currentReplicas?: number;
  desiredReplicas?: number;
  lastScaleTime?: string;
  currentMetrics?: Array<{ type: string; resource: { name: string; current: Record<string, unknown> } }>;
  conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
}

/** A Service and a Deployment of `replicas` pods of `image` requesting `cpu`, rolled out. */
async function app(name: string, image: string, replicas: number, cpu: string | null = '100m') {
  await c.client.create('Service', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: NS },
    spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
  });
  await c.client.create('Deployment', {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [{ name: 'app', image, ...(cpu ? { resources: { requests: { cpu } } } : {}) }],
        },
      },
    },
  });
  // Old enough for a full metrics window after turning Ready.
  await c.clock.sleep(30_000);
}

async function hpa(name: string, spec: Record<string, unknown> = {}) {
  await c.client.create('HorizontalPodAutoscaler', {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name, namespace: NS },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
      minReplicas: 1,
      maxReplicas: 10,
      metrics: [
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } },
      ],
      ...spec,
    },
  });
}

const status = async (name: string) =>
  (await c.client.get<{ status?: HpaStatus }>('HorizontalPodAutoscaler', { namespace: NS, name })).status ?? {};
const replicas = async (name: string) =>
  (await c.client.get<{ spec?: { replicas?: number } }>('Deployment', { namespace: NS, name })).spec?.replicas;
const conditionOf = (s: HpaStatus, type: string) => s.conditions?.find((x) => x.type === type);
const events = async (name: string) =>
  (
    await c.client.list<{ involvedObject: { name: string; kind: string }; reason: string; message: string }>('Event', {
      namespace: NS,
    })
  ).items
    .filter((e) => e.involvedObject.kind === 'HorizontalPodAutoscaler' && e.involvedObject.name === name)
    .map((e) => `${e.reason}: ${e.message}`);
const behave = (image: string, cpu: ImageBehaviour['cpu']) => c.behaviour.set(image, { readyAfter: '2s', cpu });

/** Sleep on the virtual clock, recording the Deployment's replicas every 15 s. */
async function watchReplicas(name: string, ms: number): Promise<number[]> {
  const seen: number[] = [];
  for (let t = 0; t < ms; t += 15_000) {
    await c.clock.sleep(15_000);
    const n = c.replicas(name)!;
    if (seen.at(-1) !== n) seen.push(n);
  }
  return seen;
}

describe('HorizontalPodAutoscaler controller', () => {
  it('scales up under request load, at most max(2×, 4) per sync, until utilization is at the target', async () => {
    // 10m idle + 2m per request/s, 100m requested (the two nodes' 8 cpus fit 80 such pods).
    behave('ghcr.io/acme/shop:*', { idle: '10m', perRps: '2m' });
    await app('shop', 'ghcr.io/acme/shop:v1', 2);
    const load = c.sim.traffic.start({ service: 'shop', namespace: NS, rps: 150 });
    await c.clock.sleep(60_000);
    // The first HPA of the cluster: its first scrape averages over the pods' lives (90 s, 60 s of them under
    // load): 4 500 requests a pod, 50 rps = 110m = 110 % → ceil(2.2 × 2) = 5, but one sync goes from 2 to 4 at most.
    await hpa('shop');
    await c.clock.sleep(1_000);
    expect(await replicas('shop')).toBe(4);
    const first = await status('shop');
    expect(first).toMatchObject({
      currentReplicas: 2,
      desiredReplicas: 4,
      currentMetrics: [
        { type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 110, averageValue: '110m' } } },
      ],
    });
    expect(first.lastScaleTime).toBe(new Date(c.clock.now() - 1_000).toISOString().replace('.000Z', 'Z'));
    expect(first.conditions?.map((x) => [x.type, x.status, x.reason])).toEqual([
      ['AbleToScale', 'True', 'SucceededRescale'],
      ['ScalingActive', 'True', 'ValidMetricFound'],
      ['ScalingLimited', 'True', 'ScaleUpLimit'],
    ]);
    expect(conditionOf(first, 'ScalingActive')?.message).toBe(
      'the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)',
    );
    expect(conditionOf(first, 'ScalingLimited')?.message).toBe(
      'the desired replica count is increasing faster than the maximum scale rate',
    );
    // Then each sync: the new pods count only once they have been Ready for a full metrics window (until then
    // as idle when scaling up), and the highest recommendation of the last 5 minutes wins - including the 5 the
    // first sync asked for. 150 rps × 2m + 10m a pod at 50 % of 100m needs 8 pods.
    const seen = await watchReplicas('shop', 120_000);
    expect(seen).toEqual([5, 6, 8]);
    const settled = await status('shop');
    expect(settled).toMatchObject({
      currentReplicas: 8,
      desiredReplicas: 8,
      currentMetrics: [{ resource: { current: { averageUtilization: 48, averageValue: '48m' } } }],
    });
    expect(conditionOf(settled, 'ScalingLimited')?.reason).toBe('DesiredWithinRange');
    expect(conditionOf(settled, 'AbleToScale')?.reason).toBe('ReadyForNewScale');
    const above = 'cpu resource utilization (percentage of request) above target';
    // The 5 came from the window, not from this sync's metric (which asked for 4): upstream words that
    // rescale with an empty reason.
    expect(await events('shop')).toEqual(
      [`4; reason: ${above}`, '5; reason: ', `6; reason: ${above}`, `8; reason: ${above}`].map(
        (text) => `SuccessfulRescale: New size: ${text}`,
      ),
    );
    load.stop();
  });

  it('leaves the count alone within the 10 % tolerance and scales just outside it', async () => {
    behave('ghcr.io/acme/tol:*', { idle: '54m' }); // 54 % of 100m: ratio 1.08
    await app('tol', 'ghcr.io/acme/tol:v1', 4);
    await hpa('tol');
    expect(await watchReplicas('tol', 60_000)).toEqual([4]);
    expect(await status('tol')).toMatchObject({
      desiredReplicas: 4,
      currentMetrics: [{ resource: { current: { averageUtilization: 54 } } }],
    });
    behave('ghcr.io/acme/tol:*', { idle: '56m' }); // 56 %: ratio 1.12 → ceil(4.48) = 5
    expect(await watchReplicas('tol', 30_000)).toEqual([5]);
  });

  it('clamps to maxReplicas and minReplicas, and brings a target outside them back at once', async () => {
    behave('ghcr.io/acme/busy:*', { idle: '400m' }); // 400 %
    await app('busy', 'ghcr.io/acme/busy:v1', 2);
    await hpa('busy', { maxReplicas: 3 });
    await c.clock.sleep(1_000);
    expect(await replicas('busy')).toBe(3);
    const capped = await status('busy');
    expect(conditionOf(capped, 'ScalingLimited')).toMatchObject({
      status: 'True',
      reason: 'TooManyReplicas',
      message: 'the desired replica count is more than the maximum replica count',
    });

    behave('ghcr.io/acme/idle:*', { idle: '0' });
    await app('idle', 'ghcr.io/acme/idle:v1', 6);
    await hpa('idle', { minReplicas: 2, maxReplicas: 4 });
    await c.clock.sleep(1_000);
    // Above maxReplicas: straight to it, no metrics needed (upstream's "above Spec.MaxReplicas" branch).
    expect(await replicas('idle')).toBe(4);
    expect(await events('idle')).toEqual([
      'SuccessfulRescale: New size: 4; reason: Current number of replicas above Spec.MaxReplicas',
    ]);
    // Idle pods: 0 % → 1 replica, held at minReplicas once the stabilization window has passed.
    await c.clock.sleep(6 * 60_000);
    expect(await replicas('idle')).toBe(2);
    expect(conditionOf(await status('idle'), 'ScalingLimited')).toMatchObject({
      status: 'True',
      reason: 'TooFewReplicas',
    });
  });

  it('scales down only after 5 minutes of lower recommendations (the highest one in the window wins)', async () => {
    behave('ghcr.io/acme/calm:*', { idle: '50m' }); // 50 %: at the target
    await app('calm', 'ghcr.io/acme/calm:v1', 4);
    await hpa('calm');
    await c.clock.sleep(6 * 60_000);
    expect(await replicas('calm')).toBe(4);
    behave('ghcr.io/acme/calm:*', { idle: '10m' }); // 10 %: ceil(0.2 × 4) = 1
    const dropAt = c.clock.now();
    await c.clock.sleep(30_000);
    const held = await status('calm');
    expect(held).toMatchObject({ currentReplicas: 4, desiredReplicas: 4 });
    expect(conditionOf(held, 'AbleToScale')).toMatchObject({
      reason: 'ScaleDownStabilized',
      message: 'recent recommendations were higher than current one, applying the highest recent recommendation',
    });
    await c.clock.sleep(4 * 60_000);
    expect(await replicas('calm')).toBe(4);
    await c.clock.sleep(60_000);
    expect(await replicas('calm')).toBe(1);
    const scaledAt = Date.parse((await status('calm')).lastScaleTime!);
    // The last recommendation of 4 was the sync just before the drop: 5 minutes (one sync period) later.
    expect(scaledAt - dropAt).toBeGreaterThanOrEqual(5 * 60_000 - 15_000);
    expect(scaledAt - dropAt).toBeLessThanOrEqual(5 * 60_000 + 15_000);
    expect((await events('calm')).at(-1)).toBe('SuccessfulRescale: New size: 1; reason: All metrics below target');
  });

  it('follows spec.behavior: no scale-down window, one pod a minute', async () => {
    behave('ghcr.io/acme/slow:*', { idle: '0' });
    await app('slow', 'ghcr.io/acme/slow:v1', 4);
    await hpa('slow', {
      behavior: {
        scaleDown: { stabilizationWindowSeconds: 0, policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] },
      },
    });
    const start = c.clock.now();
    const seen: Array<[number, number]> = [];
    for (let t = 0; t < 4 * 60_000; t += 15_000) {
      const n = c.replicas('slow')!;
      if (seen.at(-1)?.[1] !== n) seen.push([Math.round((c.clock.now() - start) / 15_000) * 15, n]);
      await c.clock.sleep(15_000);
    }
    // The first sync at once (the pods are idle), then one pod per 60 s.
    expect(seen).toEqual([
      [0, 3],
      [60, 2],
      [120, 1],
    ]);
    // Idle pods ask for 0: held at minReplicas.
    expect(conditionOf(await status('slow'), 'ScalingLimited')).toMatchObject({
      status: 'True',
      reason: 'TooFewReplicas',
    });
  });

  it('reports what stops it: a container without a cpu request, a target at zero replicas, a missing target', async () => {
    behave('ghcr.io/acme/noreq:*', { idle: '10m' });
    await app('noreq', 'ghcr.io/acme/noreq:v1', 2, null);
    await hpa('noreq');
    await c.clock.sleep(1_000);
    const s = await status('noreq');
    expect(s.currentReplicas).toBe(2);
    expect(conditionOf(s, 'ScalingActive')).toMatchObject({ status: 'False', reason: 'FailedGetResourceMetric' });
    expect(conditionOf(s, 'ScalingActive')?.message).toMatch(
      /^the HPA was unable to compute the replica count: failed to get cpu resource metric value: failed to get cpu utilization: missing request for cpu in container app of Pod noreq-/,
    );
    expect((await events('noreq')).join('\n')).toContain(
      'FailedComputeMetricsReplicas: invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value',
    );
    expect(await replicas('noreq')).toBe(2);

    await c.client.patch(
      'Deployment',
      { namespace: NS, name: 'noreq', subresource: 'scale' },
      { spec: { replicas: 0 } },
      'merge',
    );
    await c.clock.sleep(20_000);
    expect(conditionOf(await status('noreq'), 'ScalingActive')).toMatchObject({
      status: 'False',
      reason: 'ScalingDisabled',
      message: 'scaling is disabled since the replica count of the target is zero',
    });
    expect(await replicas('noreq')).toBe(0);

    await c.client.create('HorizontalPodAutoscaler', {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'ghost', namespace: NS },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'ghost' }, maxReplicas: 3 },
    });
    await c.clock.sleep(1_000);
    expect(conditionOf(await status('ghost'), 'AbleToScale')).toMatchObject({
      status: 'False',
      reason: 'FailedGetScale',
      message: `the HPA controller was unable to get the target's current scale: deployments.apps "ghost" not found`,
    });
  });

  it('sees a traffic shift: when a canary Ingress takes 25 % of the requests, the stable pods use less cpu', async () => {
    behave('ghcr.io/acme/shift:*', { idle: '0', perRps: '2m' });
    await app('shift', 'ghcr.io/acme/shift:v1', 4);
    await app('shift-canary', 'ghcr.io/acme/shift:v2', 1);
    const ingress = (name: string, service: string, annotations: Record<string, string> = {}) =>
      c.client.create('Ingress', {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: { name, namespace: NS, annotations },
        spec: {
          rules: [
            {
              host: 'shift.example',
              http: {
                paths: [
                  { path: '/', pathType: 'Prefix', backend: { service: { name: service, port: { number: 80 } } } },
                ],
              },
            },
          ],
        },
      });
    await ingress('shift', 'shift');
    const load = c.sim.traffic.start({ service: 'shift', namespace: NS, rps: 100 }); // 25 rps a pod: 50m = 50 %
    await c.clock.sleep(30_000);
    await hpa('shift', { maxReplicas: 8 });
    await c.clock.sleep(30_000);
    expect((await status('shift')).currentMetrics?.[0]?.resource.current.averageUtilization).toBe(50);
    await ingress('shift-canary', 'shift-canary', {
      'nginx.ingress.kubernetes.io/canary': 'true',
      'nginx.ingress.kubernetes.io/canary-weight': '25',
    });
    await c.clock.sleep(45_000);
    // 75 rps over 4 stable pods: about 38m = 38 %.
    const utilization = (await status('shift')).currentMetrics?.[0]?.resource.current.averageUtilization as number;
    expect(utilization).toBeGreaterThan(33);
    expect(utilization).toBeLessThan(43);
    load.stop();
  });
});
