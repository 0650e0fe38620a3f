/**
 * An HPA on the stable Deployment, run by kube-sim's HorizontalPodAutoscaler controller (not a static status):
 * a steady 100 requests/s, 10m idle + 2m cpu per request/s per pod against 100m requested and a 50 % target,
 * so the HPA holds the stable at 5 pods before the release. Then a 5→25→50→100 canary through the replicas
 * router and through nginx, checked as a user would: the stable is never scaled to the HPA's maximum by the
 * shift, the canary gets its share of the pods, after promotion the HPA still targets the stable and follows
 * the load, and an abort leaves the stable at its size before the release.
 */
import { type Deployment, type KubeObject, waitForRollout } from '@deploy-actions/core/kube';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, NS, startCluster } from './cluster';

let c: Cluster;

const RPS = 100;
const MAX = 10;
/** The HPA's own range, saved on the stable Deployment while the replicas router holds the HPA. */
const HPA_RANGE = 'deploy-actions.dev/hpa-range';

beforeAll(async () => {
  c = await startCluster(11);
  c.sim.behaviour.set('ghcr.io/acme/*', { readyAfter: '3s', cpu: { idle: '10m', perRps: '2m' } });
});

afterAll(async () => {
  await c?.stop();
});

interface HpaObject {
  spec: { scaleTargetRef: { kind: string; name: string }; minReplicas: number; maxReplicas: number };
  status?: {
    currentReplicas?: number;
    desiredReplicas?: number;
    currentMetrics?: Array<{ resource: { current: { averageUtilization?: number } } }>;
    conditions?: Array<{ type: string; status: string; reason: string }>;
  };
}

/** Service + Deployment `name` (5 pods of v1, 100m cpu requested), rolled out, with an HPA (2..10 at 50 %). */
async function app(name: string) {
  await c.client.create('Service', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: NS },
    spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
  });
  await c.client.create('Deployment', {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS, labels: { app: name } },
    spec: {
      replicas: 5,
      progressDeadlineSeconds: 120,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [{ name: 'app', image: `ghcr.io/acme/${name}:v1`, resources: { requests: { cpu: '100m' } } }],
        },
      },
    },
  } satisfies Deployment);
  await waitForRollout(c.client, { kind: 'Deployment', namespace: NS, name }, { clock: c.clock, timeoutMs: 600_000 });
  await c.client.create('HorizontalPodAutoscaler', {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name, namespace: NS },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
      minReplicas: 2,
      maxReplicas: MAX,
      metrics: [
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } },
      ],
    },
  });
}

const hpa = (name: string) => c.find<HpaObject>('autoscaling/v2/horizontalpodautoscalers', name)!;
const scalingActive = (name: string) => hpa(name).status?.conditions?.find((x) => x.type === 'ScalingActive');

interface Sample {
  at: number;
  weight: number | undefined;
  phase: string | undefined;
  stable: number | undefined;
  canary: number | undefined;
  /** Ready pods behind each version: the replicas router's real traffic split. */
  readyStable: number;
  readyCanary: number;
}

/** Every 15 s of virtual time until stopped: the record's weight, both Deployments' sizes and Ready pods. */
function sampler(name: string) {
  const samples: Sample[] = [];
  let running = true;
  const ready = (role: string) =>
    (c.sim.store.list('v1/pods', NS, { labelSelector: `app=${name}` }) as KubeObject[]).filter(
      (pod) =>
        (pod.metadata?.labels?.['deploy-actions.dev/role'] === 'canary') === (role === 'canary') &&
        (pod.status as { conditions?: Array<{ type: string; status: string }> } | undefined)?.conditions?.some(
          (x) => x.type === 'Ready' && x.status === 'True',
        ),
    ).length;
  const loop = async () => {
    while (running) {
      await c.clock.sleep(15_000);
      const record = c.record(name);
      samples.push({
        at: c.clock.now(),
        weight: record?.weight,
        phase: record?.phase,
        stable: c.replicas(name),
        canary: c.replicas(`${name}-canary`),
        readyStable: ready('stable'),
        readyCanary: ready('canary'),
      });
    }
  };
  void loop();
  return {
    samples,
    stop: () => {
      running = false;
    },
    /** The last sample of each step (what the step ran with at its end, after the HPA had its say). */
    endOfSteps: () => {
      const out = new Map<number, Sample>();
      for (const s of samples) if (s.phase === 'progressing' && s.weight !== undefined) out.set(s.weight, s);
      return out;
    },
  };
}

/** After promotion: the HPA still scales the stable (now v2) with the load, up and back down. */
async function expectHpaFollowsLoad(name: string, load: { stop(): void }, before: number) {
  expect(hpa(name).spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name });
  load.stop();
  const doubled = c.sim.traffic.start({ service: name, namespace: NS, rps: 2 * RPS, tickMs: 1000 });
  await c.clock.sleep(3 * 60_000);
  // 200 rps × 2m + 10m a pod at 50 % of 100m: 400 / 40 = 10 pods, the maximum.
  expect(scalingActive(name)).toMatchObject({ status: 'True', reason: 'ValidMetricFound' });
  expect(c.replicas(name)).toBe(MAX);
  doubled.stop();
  const back = c.sim.traffic.start({ service: name, namespace: NS, rps: RPS, tickMs: 1000 });
  await c.clock.sleep(7 * 60_000);
  // Down again once the 5-minute window has passed: to 5, or 6 (6 pods at 43 %: ceil(0.87 × 6) = 6 - the
  // tolerance band seen from above).
  expect(c.replicas(name)).toBeGreaterThanOrEqual(before);
  expect(c.replicas(name)).toBeLessThanOrEqual(before + 1);
  return back;
}

interface Rollout {
  before: number;
  samples: Sample[];
  steps: Map<number, Sample>;
  code: number;
  result: string | undefined;
  load: { stop(): void };
}

/** The app under steady load for 5 minutes, then a 5→25→50→100 release of v2 with a 3-minute pause per step. */
async function release(name: string, inputs: Record<string, string>): Promise<Rollout> {
  const load = c.sim.traffic.start({ service: name, namespace: NS, rps: RPS, tickMs: 1000 });
  await c.clock.sleep(5 * 60_000);
  const before = c.replicas(name)!;
  const watch = sampler(name);
  const { code, outputs } = await c.run({
    deployments: name,
    images: `app=ghcr.io/acme/${name}:v2`,
    steps: '5,25,50,100',
    pause: '3m',
    ...inputs,
  });
  watch.stop();
  return { before, samples: watch.samples, steps: watch.endOfSteps(), code, result: outputs['result'], load };
}

/** Abort a release of v3 paused at 50 %: returns the stable's size before it, right after the abort, and 6 minutes on. */
async function abortAtHalf(name: string, inputs: Record<string, string>) {
  const size = c.replicas(name)!;
  const paused = await c.run({
    deployments: name,
    images: `app=ghcr.io/acme/${name}:v3`,
    steps: '25,50,100',
    pause: '3m',
    'pause-at': '50',
    ...inputs,
  });
  expect(paused.outputs['result']).toBe('paused');
  await c.clock.sleep(3 * 60_000);
  const during = c.replicas(name);
  const aborted = await c.run({ app: name, action: 'abort', ...inputs });
  expect(aborted.outputs['result']).toBe('aborted');
  const after = c.replicas(name);
  const canary = c.replicas(`${name}-canary`);
  const { minReplicas, maxReplicas } = hpa(name).spec;
  const annotation = c.find<Deployment>('apps/v1/deployments', name)?.metadata?.annotations?.[HPA_RANGE];
  await c.clock.sleep(6 * 60_000);
  return { size, during, after, canary, later: c.replicas(name), range: { minReplicas, maxReplicas }, annotation };
}

const peak = (r: Rollout) => Math.max(...r.samples.map((s) => s.stable ?? 0));

describe('an HPA on the stable under steady load, replicas router', () => {
  const inputs = { 'router-config': '{ service: chat }' };
  let r: Rollout;
  beforeAll(async () => {
    await app('chat');
    r = await release('chat', inputs);
  });

  it('promotes without the shift scaling the stable to the HPA maximum', () => {
    expect(r.before).toBe(5);
    expect([r.code, r.result]).toEqual([0, 'promoted']);
    expect(c.images('chat')).toEqual(['ghcr.io/acme/chat:v2']);
    expect(peak(r)).toBeLessThan(MAX);
    // The HPA has its own range back after the promotion (the replicas router held it during the shift).
    expect(hpa('chat').spec).toMatchObject({ minReplicas: 2, maxReplicas: MAX });
    expect(c.find<Deployment>('apps/v1/deployments', 'chat')?.metadata?.annotations?.[HPA_RANGE]).toBeUndefined();
  });

  // The replicas router makes the split by shrinking the stable (base - canary pods), but the HPA owns the
  // stable's spec.replicas, and its scale selector (app=chat) also selects the canary pods: left alone it sized
  // the stable for all of them, and its 5-minute scale-down stabilization put the pre-shift 5 or 6 back, so the
  // canary ended up on top of the stable's pods (25 % → 1 of 7, 50 % → 3 of 9). The router now holds the HPA
  // at the stable's count during the shift (minReplicas = maxReplicas, its own range kept on the stable
  // Deployment and given back before promotion and on abort), and with an HPA the total may grow by up to half
  // the base (never past its maximum) when that brings the share closer (5 % of 5 pods: 1 of 7).
  // Expected: |canary share − weight| ≤ 10 points at each step's end.
  it('keeps the canary at its share of the pods (the traffic split) through each step', () => {
    expect([...r.steps.keys()]).toEqual([5, 25, 50]);
    for (const [weight, s] of r.steps) {
      const share = Math.round((100 * s.readyCanary) / (s.readyCanary + s.readyStable));
      expect(Math.abs(share - weight), `canary share at ${weight}%: ${share}%`).toBeLessThanOrEqual(10);
    }
  });

  it('after promotion the HPA still targets the stable and follows the load', async () => {
    r.load = await expectHpaFollowsLoad('chat', r.load, r.before);
  });

  it('after an abort the stable is at its size before the release', async () => {
    const abort = await abortAtHalf('chat', inputs);
    expect(abort.canary).toBe(0);
    expect(abort.after).toBe(abort.size);
    expect(abort.later).toBe(abort.size);
    // The HPA's own range, given back by the abort (held at the stable's count during the shift).
    expect(abort.range).toEqual({ minReplicas: 2, maxReplicas: MAX });
    expect(abort.annotation).toBeUndefined();
    r.load.stop();
  });
});

describe('an HPA on the stable under steady load, nginx router', () => {
  const inputs = { router: 'nginx', 'router-config': '{ ingress: shop }' };
  let r: Rollout;
  beforeAll(async () => {
    await app('shop');
    await c.canaryService('shop');
    await c.client.create('Ingress', {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'shop', namespace: NS },
      spec: {
        ingressClassName: 'nginx',
        rules: [
          {
            host: 'shop.example.com',
            http: {
              paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'shop', port: { number: 80 } } } }],
            },
          },
        ],
      },
    } as KubeObject);
    r = await release('shop', inputs);
  });

  it('promotes without the shift scaling the stable to the HPA maximum', () => {
    expect(r.before).toBe(5);
    expect([r.code, r.result]).toEqual([0, 'promoted']);
    expect(c.images('shop')).toEqual(['ghcr.io/acme/shop:v2']);
    // Not the maximum, but not the stable's own size either: the HPA's selector (app=shop) counts the canary
    // pods, which carry less load than the stable's at 5 % (1 pod for 5 % of the requests), so ceil(ratio ×
    // (stable + canary pods)) gives the stable 6 pods for a load that needed 5 (9 pods in all at 50 %).
    expect(peak(r)).toBeLessThan(MAX);
    expect(hpa('shop').spec).toMatchObject({ minReplicas: 2, maxReplicas: MAX });
  });

  it("gives the canary its share of the stable's pods at every step", () => {
    expect([...r.steps.keys()]).toEqual([5, 25, 50]);
    for (const [weight, s] of r.steps)
      expect(s.canary, `canary pods at ${weight}%`).toBeGreaterThanOrEqual(Math.ceil((r.before * weight) / 100));
  });

  it('after promotion the HPA still targets the stable and follows the load', async () => {
    r.load = await expectHpaFollowsLoad('shop', r.load, r.before);
  });

  it('after an abort the stable is at its size before the release', async () => {
    const abort = await abortAtHalf('shop', inputs);
    expect(abort.canary).toBe(0);
    expect(abort.after).toBe(abort.size);
    expect(abort.later).toBe(abort.size);
    expect(abort.range).toEqual({ minReplicas: 2, maxReplicas: MAX });
    r.load.stop();
  });
});
