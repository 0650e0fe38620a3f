/**
 * The full 5→25→50→100 release through each traffic router (nginx canary
 * Ingress, Gateway API HTTPRoute, replica ratio) on kube-sim in virtual time,
 * with the simulated apps taking generated traffic: at every step the test
 * reads what a user would check — Deployment images and replicas, the canary
 * Ingress weight annotation, the HTTPRoute backend weights, the share of
 * requests the new version really answered, and what the run showed then (the
 * summary is only written at the end): the log's group for the step with its
 * traffic line, and the record's verdicts of the steps before — and then the
 * summary. A bad release (pods crash-looping) through the nginx router must
 * abort: traffic 100% stable and the canary at 0 within 30 s of the deciding
 * check, the stable pods untouched.
 */
import type { KubeObject } from '@deploy-actions/core/kube';
import type { MemoryRuntime } from '@deploy-actions/core/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, HTTPROUTE_CRD, NS, startCluster } from './cluster';

let c: Cluster;
/** Pods a Service can send traffic to: not Terminating (a deleted pod leaves the Endpoints at once). */
const servingPods = (selector: string) =>
  c.sim.store.list('v1/pods', NS, { labelSelector: selector }).filter((pod) => !pod.metadata.deletionTimestamp);

beforeAll(async () => {
  c = await startCluster(5);
  // Starts fine, then crashes 15 s after every start: restarts climb while the step is analysed.
  c.sim.behaviour.set('ghcr.io/acme/*:v2-bad', { readyAfter: '2s', crashLoop: { after: '15s' } });
  c.sim.store.create(HTTPROUTE_CRD);
});

afterAll(async () => {
  await c?.stop();
});

const RESTARTS = '[{ name: restarts, provider: kubernetes, signal: restarts, max: 0 }]';

interface StepView {
  weight: number;
  stable: Array<string | undefined> | undefined;
  canary: Array<string | undefined> | undefined;
  stableReplicas: number | undefined;
  canaryReplicas: number | undefined;
  /** The routing object as the router left it. */
  routing: unknown;
  /** Share of the requests answered by the new version while the step was held (percent). */
  share?: number;
  /** The record's verdicts when the step began: the rows the summary's step table will have so far. */
  verdicts: Array<{ step: number; weight: number; verdict: string }>;
  /** The job's log as it stood (with the run's runtime, see onRuntime): the open group and its lines so far. */
  log?: { group: string | undefined; lines: string[] };
}

/** The last group the log opened, and what was logged in it since. */
function openGroup(rt: MemoryRuntime): { group: string | undefined; lines: string[] } {
  const start = rt.logs.findLastIndex((entry) => entry.level === 'group');
  return {
    group: start < 0 ? undefined : rt.logs[start]!.message,
    lines: rt.logs.slice(start + 1).map((entry) => entry.message),
  };
}

/**
 * What a user watching the run saw at each step, before any summary exists: the log's group for the step
 * with the traffic line the summary ends with, and the record's verdicts (the previous steps passed).
 */
function expectProgress(steps: StepView[], traffic: (weight: number) => string) {
  for (const [index, step] of steps.entries()) {
    expect(step.verdicts).toEqual(
      steps.slice(0, index).map((before, at) => ({ step: at, weight: before.weight, verdict: 'pass' })),
    );
    expect(step.log?.group).toBe(`Step ${index + 1}: ${step.weight}% to v2`);
    expect(step.log?.lines).toContain(traffic(step.weight));
  }
}

/**
 * Record, at each step the rollout saves, the cluster as it stands and the traffic share of the new version
 * while the step was held (v2 requests / all requests between the weight change and the step's verdict).
 */
function watchSteps(app: string, routing: () => unknown) {
  const steps: StepView[] = [];
  const served = (version: string) => c.sim.apps.metrics.total({ namespace: NS, app, version });
  let mark = { v1: 0, v2: 0 };
  let lastVerdicts = 0;
  let rt: MemoryRuntime | undefined;
  const stop = c.onRecord(app, (record) => {
    const verdicts = (record['verdicts'] as unknown[]).length;
    if (
      record.phase === 'progressing' &&
      record.weight > 0 &&
      record.weight !== steps.at(-1)?.weight &&
      verdicts === lastVerdicts
    ) {
      mark = { v1: served('v1'), v2: served('v2') };
      steps.push({
        weight: record.weight,
        stable: c.images(app),
        canary: c.images(`${app}-canary`),
        stableReplicas: c.replicas(app),
        canaryReplicas: c.replicas(`${app}-canary`),
        routing: structuredClone(routing()),
        verdicts: (record['verdicts'] as Array<{ step: number; weight: number; verdict: string }>).map(
          ({ step, weight, verdict }) => ({ step, weight, verdict }),
        ),
        ...(rt ? { log: openGroup(rt) } : {}),
      });
    }
    if (verdicts > lastVerdicts) {
      lastVerdicts = verdicts;
      const v1 = served('v1') - mark.v1;
      const v2 = served('v2') - mark.v2;
      const step = steps.at(-1);
      if (step) step.share = Math.round((v2 / (v1 + v2)) * 1000) / 10;
    }
  });
  /** Pass as the run's onRuntime: the steps then record the log as it stood. */
  const onRuntime = (runtime: MemoryRuntime) => {
    rt = runtime;
  };
  return { steps, stop, onRuntime };
}

const selector = (service: string) =>
  c.find<{ spec: { selector: Record<string, string> } }>('v1/services', service)?.spec.selector;
const ingress = (name: string) => c.find('networking.k8s.io/v1/ingresses', name);
const httpRoute = (name: string) =>
  c.find<{ spec: { rules: Array<{ backendRefs: Array<{ name: string; weight?: number }> }> } }>(
    'gateway.networking.k8s.io/v1/httproutes',
    name,
  );
const weights = (route: ReturnType<typeof httpRoute>) =>
  Object.fromEntries((route?.spec.rules[0]?.backendRefs ?? []).map((ref) => [ref.name, ref.weight]));

async function mainIngress(name: string) {
  await c.client.create('Ingress', {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace: NS },
    spec: {
      ingressClassName: 'nginx',
      rules: [
        {
          host: `${name}.example.com`,
          http: {
            paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name, port: { number: 80 } } } }],
          },
        },
      ],
    },
  } as KubeObject);
}

describe('a 5→25→50→100 release, checked at every step', () => {
  it('nginx: the canary Ingress carries the weight, the canary takes that share of requests, then the stable is promoted', async () => {
    await c.app('web', 'ghcr.io/acme/web:v1', { replicas: 10 });
    await c.canaryService('web');
    await mainIngress('web');
    const load = c.sim.traffic.start({ service: 'web', namespace: NS, rps: 20, tickMs: 1000 });
    const canaryIngress = () => {
      const object = ingress('web-canary');
      return object && { annotations: object.metadata?.annotations, spec: object.spec, selector: selector('web') };
    };
    const watch = watchSteps('web', canaryIngress);
    const { code, outputs, summary } = await c.run(
      {
        deployments: 'web',
        images: 'app=ghcr.io/acme/web:v2',
        steps: '5,25,50,100',
        pause: '5m',
        analysis: RESTARTS,
        router: 'nginx',
        'router-config': '{ ingress: web }',
      },
      { onRuntime: watch.onRuntime },
    );
    watch.stop();
    load.stop();
    expect(code).toBe(0);
    expect(outputs['result']).toBe('promoted');

    expect(watch.steps.map((s) => s.weight)).toEqual([5, 25, 50]);
    for (const step of watch.steps) {
      // The stable is never touched while the canary runs: same image, same size.
      expect(step.stable).toEqual(['ghcr.io/acme/web:v1']);
      expect(step.stableReplicas).toBe(10);
      expect(step.canary).toEqual(['ghcr.io/acme/web:v2']);
      // The canary gets its share of the capacity: ceil(10 × weight%).
      expect(step.canaryReplicas).toBe(Math.ceil(step.weight / 10));
      expect(step.routing).toMatchObject({
        annotations: {
          'nginx.ingress.kubernetes.io/canary': 'true',
          'nginx.ingress.kubernetes.io/canary-weight': String(step.weight),
        },
        spec: {
          rules: [{ host: 'web.example.com', http: { paths: [{ backend: { service: { name: 'web-canary' } } }] } }],
        },
      });
      // The stable Service is kept on the stable's own pods (they share the app label with the canary's).
      expect(Object.keys((step.routing as { selector: object }).selector)).toEqual(['app', 'pod-template-hash']);
      // 6 000 requests per step: the share the users saw is the weight (± sampling noise).
      expect(Math.abs(step.share! - step.weight)).toBeLessThan(2.5);
    }
    expectProgress(watch.steps, (weight) => `web: Ingress shop/web-canary sends ${weight}% to Service web-canary`);

    expect(c.images('web')).toEqual(['ghcr.io/acme/web:v2']);
    expect(c.replicas('web')).toBe(10);
    expect(c.deployment('web-canary')).toBeUndefined();
    expect(ingress('web-canary')).toBeUndefined();
    expect(selector('web')).toEqual({ app: 'web' });
    // The removed pods are Terminating for their grace period (30 s), as on a cluster: let it pass.
    await c.clock.sleep(30_000);
    expect(c.podUids('app=web,deploy-actions.dev/role=canary')).toEqual([]);
    expect(c.record('web')).toMatchObject({ phase: 'promoted', weight: 100, router: { kind: 'nginx' } });
    expect(summary).toContain('### web: v1 → v2: ✅ promoted');
    expect(summary).toContain('| 1 | 5% | pass |');
    expect(summary).toContain('| 2 | 25% | pass |');
    expect(summary).toContain('| 3 | 50% | pass |');
    expect(summary).toContain('Traffic: web: Ingress shop/web-canary sends 50% to Service web-canary');
  });

  it('gateway-api: the HTTPRoute backend weights follow the steps, the canary backend is removed at the end', async () => {
    await c.app('cart', 'ghcr.io/acme/cart:v1', { replicas: 10 });
    await c.canaryService('cart');
    await c.client.create(
      { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes', namespaced: true },
      {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: 'cart', namespace: NS },
        spec: { parentRefs: [{ name: 'public' }], rules: [{ backendRefs: [{ name: 'cart', port: 80 }] }] },
      },
    );
    const load = c.sim.traffic.start({ service: 'cart', namespace: NS, rps: 20, tickMs: 1000 });
    const watch = watchSteps('cart', () => weights(httpRoute('cart')));
    const { code, outputs, summary } = await c.run(
      {
        deployments: 'cart',
        images: 'app=ghcr.io/acme/cart:v2',
        steps: '5,25,50,100',
        pause: '5m',
        analysis: RESTARTS,
        router: 'gateway-api',
        'router-config': '{ http-route: cart }',
      },
      { onRuntime: watch.onRuntime },
    );
    watch.stop();
    load.stop();
    expect(code).toBe(0);
    expect(outputs['result']).toBe('promoted');
    expect(watch.steps.map((s) => [s.weight, s.routing])).toEqual([
      [5, { cart: 95, 'cart-canary': 5 }],
      [25, { cart: 75, 'cart-canary': 25 }],
      [50, { cart: 50, 'cart-canary': 50 }],
    ]);
    for (const step of watch.steps) {
      expect(step.stable).toEqual(['ghcr.io/acme/cart:v1']);
      expect(step.stableReplicas).toBe(10);
      expect(step.canary).toEqual(['ghcr.io/acme/cart:v2']);
      expect(Math.abs(step.share! - step.weight)).toBeLessThan(2.5);
    }
    expectProgress(
      watch.steps,
      (weight) => `cart: HTTPRoute shop/cart rule 0: cart=${100 - weight}, cart-canary=${weight}`,
    );
    // The canary backend the router added is gone; the stable backend has all the traffic.
    expect(weights(httpRoute('cart'))).toEqual({ cart: 100 });
    expect(selector('cart')).toEqual({ app: 'cart' });
    expect(c.images('cart')).toEqual(['ghcr.io/acme/cart:v2']);
    expect(c.deployment('cart-canary')).toBeUndefined();
    expect(summary).toContain('### cart: v1 → v2: ✅ promoted');
    expect(summary).toContain('HTTPRoute shop/cart rule 0: cart=50, cart-canary=50');
  });

  it('replicas: the pod ratio is the weight as closely as 10 pods allow, the total never drops', async () => {
    await c.app('auth', 'ghcr.io/acme/auth:v1', { replicas: 10 });
    const load = c.sim.traffic.start({ service: 'auth', namespace: NS, rps: 20, tickMs: 1000 });
    const watch = watchSteps('auth', () => undefined);
    const { code, outputs, summary } = await c.run(
      {
        deployments: 'auth',
        images: 'app=ghcr.io/acme/auth:v2',
        steps: '5,25,50,100',
        pause: '5m',
        analysis: RESTARTS,
        'router-config': '{ service: auth }',
      },
      { onRuntime: watch.onRuntime },
    );
    watch.stop();
    load.stop();
    expect(code).toBe(0);
    expect(outputs['result']).toBe('promoted');
    // round(10 × w%) canary pods, at least one; the stable has the rest.
    expect(watch.steps.map((s) => [s.weight, s.canaryReplicas, s.stableReplicas])).toEqual([
      [5, 1, 9],
      [25, 3, 7],
      [50, 5, 5],
    ]);
    const actual = { 5: 10, 25: 30, 50: 50 } as Record<number, number>;
    for (const step of watch.steps) {
      expect(step.stable).toEqual(['ghcr.io/acme/auth:v1']);
      expect(step.canary).toEqual(['ghcr.io/acme/auth:v2']);
      // Round robin over the Service's pods: the share is the pod ratio, not the asked weight.
      expect(Math.abs(step.share! - actual[step.weight]!)).toBeLessThan(2.5);
    }
    expectProgress(watch.steps, (weight) => {
      const canary = Math.max(1, Math.round(weight / 10));
      return `auth: canary ${canary} of 10 pods (${canary * 10}%), stable ${10 - canary}: weights as close as the replica counts allow`;
    });
    expect(c.images('auth')).toEqual(['ghcr.io/acme/auth:v2']);
    expect(c.replicas('auth')).toBe(10);
    expect(c.deployment('auth')?.metadata?.annotations?.['deploy-actions.dev/stable-replicas']).toBeUndefined();
    expect(c.deployment('auth-canary')).toBeUndefined();
    expect(summary).toContain('### auth: v1 → v2: ✅ promoted');
    expect(summary).toContain('Traffic: auth: canary 5 of 10 pods (50%), stable 5');
  });
});

/** A namespaced CRD of `kind` in `group`/`version`, as a mesh's install manifest registers it. */
function crd(group: string, version: string, plural: string, kind: string) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural, singular: kind.toLowerCase(), kind, listKind: `${kind}List` },
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  };
}

describe('mesh routers keep the stable Service on the stable pods', () => {
  // Both Services select by the app label the canary pods carry too: without the pin, the stable's share is
  // spread over the canary pods as well (5% became 13.6% with 10 stable pods).
  it('istio: VirtualService weights are the share users see, the stable Service pinned while the canary runs', async () => {
    c.sim.store.create(crd('networking.istio.io', 'v1beta1', 'virtualservices', 'VirtualService'));
    await c.app('media', 'ghcr.io/acme/media:v1', { replicas: 10 });
    await c.canaryService('media');
    const vs = { group: 'networking.istio.io', version: 'v1beta1', plural: 'virtualservices', namespaced: true };
    await c.client.create(vs, {
      apiVersion: 'networking.istio.io/v1beta1',
      kind: 'VirtualService',
      metadata: { name: 'media', namespace: NS },
      spec: { hosts: ['media'], http: [{ name: 'primary', route: [{ destination: { host: 'media' }, weight: 100 }] }] },
    });
    const route = () =>
      c.find<{ spec: { http: Array<{ route: Array<{ destination: { host: string }; weight?: number }> }> } }>(
        'networking.istio.io/v1beta1/virtualservices',
        'media',
      );
    const load = c.sim.traffic.start({ service: 'media', namespace: NS, rps: 20, tickMs: 1000 });
    const watch = watchSteps('media', () => ({
      weights: Object.fromEntries((route()?.spec.http[0]?.route ?? []).map((r) => [r.destination.host, r.weight])),
      selector: selector('media'),
    }));
    const { code, outputs } = await c.run({
      deployments: 'media',
      images: 'app=ghcr.io/acme/media:v2',
      steps: '5,25,50,100',
      pause: '5m',
      router: 'istio',
      'router-config': '{ virtual-service: media, api-version: v1beta1 }',
    });
    watch.stop();
    load.stop();
    expect(code).toBe(0);
    expect(outputs['result']).toBe('promoted');
    expect(watch.steps.map((s) => s.weight)).toEqual([5, 25, 50]);
    for (const step of watch.steps) {
      const routing = step.routing as { weights: object; selector: Record<string, string> };
      expect(routing.weights).toEqual({ media: 100 - step.weight, 'media-canary': step.weight });
      expect(Object.keys(routing.selector)).toEqual(['app', 'pod-template-hash']);
      expect(Math.abs(step.share! - step.weight)).toBeLessThan(2.5);
    }
    // Restored at promotion: the user's selector, all traffic on the stable host.
    expect(selector('media')).toEqual({ app: 'media' });
    expect(c.find('v1/services', 'media')?.metadata?.annotations?.['deploy-actions.dev/pinned-pod-template-hash']).toBe(
      undefined,
    );
    expect(route()?.spec.http[0]?.route).toEqual([{ destination: { host: 'media' }, weight: 100 }]);
    expect(c.images('media')).toEqual(['ghcr.io/acme/media:v2']);
  });

  it('smi: TrafficSplit weights are the share users see; an abort unpins once the canary pods are gone', async () => {
    c.sim.store.create(crd('split.smi-spec.io', 'v1alpha2', 'trafficsplits', 'TrafficSplit'));
    await c.app('books', 'ghcr.io/acme/books:v1', { replicas: 10 });
    await c.canaryService('books');
    const ts = { group: 'split.smi-spec.io', version: 'v1alpha2', plural: 'trafficsplits', namespaced: true };
    await c.client.create(ts, {
      apiVersion: 'split.smi-spec.io/v1alpha2',
      kind: 'TrafficSplit',
      metadata: { name: 'books', namespace: NS },
      spec: { service: 'books-root', backends: [{ service: 'books', weight: 100 }] },
    });
    const split = () =>
      c.find<{ spec: { backends: Array<{ service: string; weight: number }> } }>(
        'split.smi-spec.io/v1alpha2/trafficsplits',
        'books',
      );
    // The mesh, as the test plays it: 20 requests a second, split by the TrafficSplit's weights (smooth
    // weighted round robin, so the split itself is exact), each answered by the backend Service's pods.
    const stopMesh = new AbortController();
    const credit = new Map<string, number>();
    const mesh = (async () => {
      while (!stopMesh.signal.aborted) {
        await c.clock.sleep(1000, stopMesh.signal).catch(() => {});
        const backends = (split()?.spec.backends ?? []).filter((b) => b.weight > 0);
        const total = backends.reduce((sum, b) => sum + b.weight, 0);
        for (let i = 0; i < 20 && total > 0; i++) {
          for (const b of backends) credit.set(b.service, (credit.get(b.service) ?? 0) + b.weight);
          const pick = backends.reduce((best, b) =>
            (credit.get(b.service) ?? 0) > (credit.get(best.service) ?? 0) ? b : best,
          );
          credit.set(pick.service, (credit.get(pick.service) ?? 0) - total);
          c.sim.apps.answer(NS, pick.service, '/');
        }
      }
    })();
    const watch = watchSteps('books', () => ({
      weights: Object.fromEntries((split()?.spec.backends ?? []).map((b) => [b.service, b.weight])),
      selector: selector('books'),
    }));
    const unpinned: Array<{ canaryPods: number }> = [];
    const stopServices = c.sim.store.watch('v1/services', NS, undefined, (event) => {
      const object = event.object as { metadata?: { name?: string }; spec?: { selector?: Record<string, string> } };
      if (object.metadata?.name === 'books' && watch.steps.length > 0 && !object.spec?.selector?.['pod-template-hash'])
        unpinned.push({ canaryPods: servingPods('app=books,deploy-actions.dev/role=canary').length });
    });
    c.sim.behaviour.set('ghcr.io/acme/books:v2', { readyAfter: '2s', crashLoop: { after: '2m30s' } });
    const { code, outputs } = await c.run({
      deployments: 'books',
      images: 'app=ghcr.io/acme/books:v2',
      steps: `[{ weight: 5, pause: 2m }, { weight: 25, pause: 5m, analysis: ${RESTARTS} }, { weight: 100 }]`,
      router: 'smi',
      'router-config': '{ traffic-split: books }',
    });
    stopServices();
    watch.stop();
    stopMesh.abort();
    await mesh;
    expect(outputs['result']).toBe('aborted');
    expect(code).toBe(1);
    expect(watch.steps.map((s) => [s.weight, (s.routing as { weights: object }).weights])).toEqual([
      [5, { books: 95, 'books-canary': 5 }],
      [25, { books: 75, 'books-canary': 25 }],
    ]);
    for (const step of watch.steps) {
      expect(Object.keys((step.routing as { selector: object }).selector)).toEqual(['app', 'pod-template-hash']);
      // The split is exact here: what is left is the stable Service's own pods.
      expect(Math.abs(step.share! - step.weight)).toBeLessThan(0.5);
    }
    // The abort: all traffic to stable, the canary backend removed, and the selector given back only
    // once no canary pod was left for it to select (Terminating ones are out of the Endpoints at once).
    expect(split()?.spec.backends).toEqual([{ service: 'books', weight: 100 }]);
    expect(unpinned).toEqual([{ canaryPods: 0 }]);
    expect(selector('books')).toEqual({ app: 'books' });
    expect(c.images('books')).toEqual(['ghcr.io/acme/books:v1']);
  });
});

describe('a bad release through the nginx router', () => {
  it('aborts within 30 s of the deciding check: canary Ingress gone, canary at 0, stable pods untouched', async () => {
    await c.app('search', 'ghcr.io/acme/search:v1', { replicas: 10 });
    await c.canaryService('search');
    await mainIngress('search');
    const stablePods = c.podUids('app=search');
    const stableTemplate = c.deployment('search')?.spec?.template;
    let stepStartedAt = 0;
    let abortedAt = 0;
    let atAbort: { canaryReplicas?: number; canaryIngress?: unknown } = {};
    const stop = c.onRecord('search', (record) => {
      if (record.phase === 'progressing' && record.weight === 25 && stepStartedAt === 0) stepStartedAt = c.clock.now();
      if (record.phase === 'aborted' && abortedAt === 0) {
        abortedAt = c.clock.now();
        atAbort = { canaryReplicas: c.replicas('search-canary'), canaryIngress: ingress('search-canary') };
      }
    });
    const { code, outputs, summary, errors } = await c.run({
      deployments: 'search',
      images: 'app=ghcr.io/acme/search:v2-bad',
      steps: '25,50,100',
      pause: '10m',
      analysis: RESTARTS,
      router: 'nginx',
      'router-config': '{ ingress: search }',
    });
    stop();
    expect(code).toBe(1);
    expect(outputs['result']).toBe('aborted');
    expect(errors.join('\n')).toContain('Aborted because step 1 (25%)');
    // The deciding check is the last one of the step's analysis.
    const checks = JSON.parse(outputs['analysis']!)[0].checks as Array<{ elapsedSeconds: number; outcome: string }>;
    expect(checks.at(-1)!.outcome).toBe('breach');
    const decidedAt = stepStartedAt + checks.at(-1)!.elapsedSeconds * 1000;
    expect(abortedAt - decidedAt).toBeLessThanOrEqual(30_000);
    // By the time the record said aborted, traffic was 100% stable and the canary scaled to 0.
    expect(atAbort).toEqual({ canaryReplicas: 0, canaryIngress: undefined });
    // The removed pods are Terminating for their grace period (30 s), as on a cluster: let it pass.
    await c.clock.sleep(30_000);
    expect(c.podUids('app=search,deploy-actions.dev/role=canary')).toEqual([]);
    // Not one stable pod was replaced, and the stable's template is as it was.
    expect(c.podUids('app=search').filter((uid) => stablePods.includes(uid))).toEqual(stablePods);
    expect(c.podUids('app=search')).toEqual(stablePods);
    expect(c.deployment('search')?.spec?.template).toEqual(stableTemplate);
    expect(c.record('search')).toMatchObject({ phase: 'aborted', weight: 0 });
    expect(selector('search')).toEqual({ app: 'search' });
    expect(summary).toContain('### search: v1 → v2-bad: ❌ aborted');
    expect(summary).toMatch(/\| 1 \| 25% \| fail \| /);
  });
});
