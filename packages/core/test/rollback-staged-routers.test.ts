/**
 * Staged rollback (core/rollback/staged.ts, a client of the release engine) through the routers that split
 * traffic between two Services: nginx (canary Ingress), gateway-api (HTTPRoute backend weights), istio
 * (VirtualService route weights) and smi (TrafficSplit backends), on kube-sim in virtual time. At every step the
 * test reads the router's object as a user would, the stable Service's selector (pinned to the current pods while
 * the previous version's pods run beside them, since both carry the app label), and the pods of each version;
 * then the end state: the previous template on the Deployment, the routing object back to the stable alone, the
 * selector given back, nothing temporary left. A crash-looping previous version aborts through nginx.
 */
import { type Cluster, startCluster } from '@deploy-actions/testkit/cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../src/kube/types';
import { parseAnalysisSpec } from '../src/metrics';
import { rollbackStaged } from '../src/rollback/staged';
import type { StagedReport } from '../src/rollback/staged-report';
import { abortRollout } from '../src/rollout/abort-in-flight';
import type { Step } from '../src/rollout/plan';
import { parseRouterConfig } from '../src/routing/config';
import { createRouter } from '../src/routing/create-router';
import type { RouterKind, TrafficRouter } from '../src/routing/types';
import { createMemoryRuntime } from '../src/runtime';
import { HTTPROUTE, registerCrds, TRAFFICSPLIT, VIRTUALSERVICE } from './routing-fixtures';

const NS = 'shop';
let c: Cluster;

beforeAll(async () => {
  c = await startCluster({ namespace: NS, controllers: 'bare', readyAfter: '2s' });
  await registerCrds(c.client);
});

afterAll(async () => {
  await c?.stop();
});

/** `name` released as v1, then fully as v2 (10 pods, the v1 pods gone), with the Service the canary share goes to. */
async function promoted(name: string) {
  await c.app(name, `ghcr.io/acme/${name}:v1`, { replicas: 10, podLabels: { version: 'v1' } });
  await c.setImage(name, 'app', `ghcr.io/acme/${name}:v2`, { version: 'v2' });
  await c.client.create('Service', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `${name}-canary`, namespace: NS },
    spec: { selector: { app: name, 'deploy-actions.dev/role': 'canary' }, ports: [{ port: 80, targetPort: 8080 }] },
  });
}

/** The Ingress users reach `name` through (the nginx router adds `<name>-canary` beside it). */
async function mainIngress(name: string) {
  const backend = { service: { name, port: { number: 80 } } };
  await c.client.create('Ingress', {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace: NS },
    spec: {
      ingressClassName: 'nginx',
      rules: [{ host: `${name}.example.com`, http: { paths: [{ path: '/', pathType: 'Prefix', backend }] } }],
    },
  } as KubeObject);
}

/** The HTTPRoute users reach `name` through, all traffic on its Service (the gateway-api router adds the other backend). */
async function httpRoute(name: string) {
  await c.client.create(HTTPROUTE, {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name, namespace: NS },
    spec: { parentRefs: [{ name: 'public' }], rules: [{ backendRefs: [{ name, port: 80 }] }] },
  });
}

const selector = (service: string) =>
  c.find<{ spec: { selector: Record<string, string> } }>('v1/services', service)?.spec.selector;

interface StepView {
  weight: number;
  routing: unknown;
  selector: string[];
  previous: number | undefined;
  current: number | undefined;
}

/** At every step the rollback saves: the router's object, the stable Service's selector keys, both sides' pods. */
function watchSteps(app: string, routing: () => unknown) {
  const steps: StepView[] = [];
  const stop = c.onRecord(app, (record) => {
    if (record.phase !== 'progressing' || record.weight === 0 || record.weight === steps.at(-1)?.weight) return;
    steps.push({
      weight: record.weight,
      routing: structuredClone(routing()),
      selector: Object.keys(selector(app) ?? {}),
      previous: c.replicas(`${app}-canary`),
      current: c.replicas(app),
    });
  });
  return { steps, stop };
}

const STEPS: Step[] = [25, 50, 100].map((weight) => ({ weight, pause: 60_000, analysis: [] }));

function stagedRollback(
  app: string,
  kind: RouterKind,
  config: Record<string, string>,
  steps = STEPS,
  wrap: (router: TrafficRouter) => TrafficRouter = (router) => router,
) {
  const rt = createMemoryRuntime({
    clock: c.clock,
    env: { GITHUB_RUN_ID: `${app}-1`, GITHUB_REPOSITORY: 'acme/shop' },
  });
  const parsed = parseRouterConfig(kind, config);
  return rollbackStaged(rt, c.client, {
    namespace: NS,
    deployments: [app],
    app,
    steps,
    router: { kind, config: parsed },
    makeRouter: (target) => wrap(createRouter(kind, parsed, target, { client: c.client })),
    reason: 'errors since v2',
    dryRun: false,
    timeoutMs: 300_000,
  });
}

/** Every step of the report as weight, served share and verdict; the last one is the promotion of v1. */
const reported = (report: StagedReport) => report.steps.map((step) => [step.weight, step.actual, step.verdict]);

/** The end every successful staged rollback must reach, whatever the router. */
function expectRolledBack(app: string, report: StagedReport) {
  expect(report.result).toBe('rolled-back');
  expect(reported(report)).toEqual([
    [25, 25, 'skipped'],
    [50, 50, 'skipped'],
    [100, 100, 'skipped'],
  ]);
  expect(c.images(app)).toEqual([`ghcr.io/acme/${app}:v1`]);
  expect(c.deployment(app)?.spec?.template?.metadata?.labels).toEqual({ app, version: 'v1' });
  expect(c.replicas(app)).toBe(10);
  expect(c.deployment(`${app}-canary`)).toBeUndefined();
  // The selector is the user's again, and no pin annotation is left.
  expect(selector(app)).toEqual({ app });
  expect(c.find('v1/services', app)?.metadata?.annotations?.['deploy-actions.dev/pinned-pod-template-hash']).toBe(
    undefined,
  );
  expect(c.record(app)).toMatchObject({ phase: 'rolled-back', stableVersion: 'v2', canaryVersion: 'v1' });
  expect(c.sim.store.find('coordination.k8s.io/v1/leases', NS, `deploy-actions-${app}`)).toBeUndefined();
}

/** Each step: the router's object as given, the stable Service pinned, the previous version's share of the pods. */
function expectSteps(steps: StepView[], routing: (weight: number) => unknown) {
  expect(steps.map((step) => step.weight)).toEqual([25, 50]);
  for (const step of steps) {
    expect(step.routing).toEqual(routing(step.weight));
    // Both versions' pods carry app=<name>: the stable Service selects the current ReplicaSet's alone.
    expect(step.selector).toEqual(['app', 'pod-template-hash']);
    // The previous version gets its share of the capacity (ceil(10 × weight%)); the current one keeps its 10.
    expect([step.previous, step.current]).toEqual([Math.ceil(step.weight / 10), 10]);
  }
}

describe('staged rollback through the routers that split between two Services', () => {
  it('nginx: the canary Ingress carries the weight back to v1, then goes', async () => {
    await promoted('web');
    await mainIngress('web');
    const ingress = () => c.find<KubeObject>('networking.k8s.io/v1/ingresses', 'web-canary');
    const watch = watchSteps('web', () => {
      const annotations = ingress()?.metadata?.annotations ?? {};
      return {
        canary: annotations['nginx.ingress.kubernetes.io/canary'],
        weight: annotations['nginx.ingress.kubernetes.io/canary-weight'],
        backend: (
          ingress()?.spec as { rules?: Array<{ http: { paths: Array<{ backend: { service: { name: string } } }> } }> }
        )?.rules?.[0]?.http.paths[0]?.backend.service.name,
      };
    });
    const report = await stagedRollback('web', 'nginx', { ingress: 'web' });
    watch.stop();
    expectSteps(watch.steps, (weight) => ({ canary: 'true', weight: String(weight), backend: 'web-canary' }));
    expectRolledBack('web', report);
    expect(ingress()).toBeUndefined();
  });

  it('gateway-api: the HTTPRoute backend weights follow the steps, the temporary backend is removed at the end', async () => {
    await promoted('cart');
    await httpRoute('cart');
    const weights = () =>
      Object.fromEntries(
        (
          c.find<{ spec: { rules: Array<{ backendRefs: Array<{ name: string; weight?: number }> }> } }>(
            'gateway.networking.k8s.io/v1/httproutes',
            'cart',
          )?.spec.rules[0]?.backendRefs ?? []
        ).map((ref) => [ref.name, ref.weight]),
      );
    const watch = watchSteps('cart', weights);
    const report = await stagedRollback('cart', 'gateway-api', { 'http-route': 'cart' });
    watch.stop();
    expectSteps(watch.steps, (weight) => ({ cart: 100 - weight, 'cart-canary': weight }));
    expectRolledBack('cart', report);
    expect(weights()).toEqual({ cart: 100 });
  });

  it('istio: the VirtualService route weights follow the steps, all on the stable host at the end', async () => {
    await promoted('media');
    await c.client.create(VIRTUALSERVICE, {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'media', namespace: NS },
      spec: {
        hosts: ['media'],
        http: [{ name: 'primary', route: [{ destination: { host: 'media' }, weight: 100 }] }],
      },
    });
    const route = () =>
      c.find<{ spec: { http: Array<{ route: Array<{ destination: { host: string }; weight?: number }> }> } }>(
        'networking.istio.io/v1/virtualservices',
        'media',
      )?.spec.http[0]?.route ?? [];
    const watch = watchSteps('media', () => Object.fromEntries(route().map((r) => [r.destination.host, r.weight])));
    const report = await stagedRollback('media', 'istio', { 'virtual-service': 'media' });
    watch.stop();
    expectSteps(watch.steps, (weight) => ({ media: 100 - weight, 'media-canary': weight }));
    expectRolledBack('media', report);
    expect(route()).toEqual([{ destination: { host: 'media' }, weight: 100 }]);
  });

  it('smi: the TrafficSplit backends follow the steps, the stable Service alone at the end', async () => {
    await promoted('books');
    await c.client.create(TRAFFICSPLIT, {
      apiVersion: 'split.smi-spec.io/v1alpha2',
      kind: 'TrafficSplit',
      metadata: { name: 'books', namespace: NS },
      spec: { service: 'books-root', backends: [{ service: 'books', weight: 100 }] },
    });
    const backends = () =>
      c.find<{ spec: { backends: Array<{ service: string; weight: number }> } }>(
        'split.smi-spec.io/v1alpha2/trafficsplits',
        'books',
      )?.spec.backends;
    const watch = watchSteps('books', () => Object.fromEntries((backends() ?? []).map((b) => [b.service, b.weight])));
    const report = await stagedRollback('books', 'smi', { 'traffic-split': 'books' });
    watch.stop();
    expectSteps(watch.steps, (weight) => ({ books: 100 - weight, 'books-canary': weight }));
    expectRolledBack('books', report);
    expect(backends()).toEqual([{ service: 'books', weight: 100 }]);
  });

  it('nginx, a previous version that crash-loops: aborted at the first step, v2 serves alone, nothing temporary left', async () => {
    await promoted('search');
    await mainIngress('search');
    c.behaviour.set('ghcr.io/acme/search:v1', { readyAfter: '2s', crashLoop: { after: '20s' } });
    const analysis = parseAnalysisSpec('[{ name: restarts, provider: kubernetes, signal: restarts, max: 0 }]');
    const report = await stagedRollback(
      'search',
      'nginx',
      { ingress: 'search' },
      STEPS.map((step) => ({ ...step, pause: 120_000, analysis })),
    );
    expect(report.result).toBe('aborted');
    expect(reported(report)).toEqual([[25, 25, 'fail']]);
    expect(report.workloads[0]?.message).toMatch(/^aborted: step 1 \(25%\): .*restarts/);
    expect(c.images('search')).toEqual(['ghcr.io/acme/search:v2']);
    expect(c.deployment('search')?.metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe('2');
    expect(c.replicas('search')).toBe(10);
    expect(c.find('networking.k8s.io/v1/ingresses', 'search-canary')).toBeUndefined();
    expect(c.deployment('search-canary')).toBeUndefined();
    expect(selector('search')).toEqual({ app: 'search' });
    expect(c.record('search')).toMatchObject({ phase: 'aborted', weight: 0 });
    expect(c.record('search').reason).toMatch(/^Staged rollback aborted because step 1 \(25%\)/);
  });
  it('gateway-api, the promotion cut short: the error says where it stopped, and mode in-flight puts v2 back', async () => {
    await promoted('shelf');
    await httpRoute('shelf');
    // The HTTPRoute cannot be written once the Deployment runs v1 again: the router's promote fails.
    const failingPromote = (router: TrafficRouter) =>
      new Proxy(router, {
        get(target, key) {
          if (key === 'promote') return () => Promise.reject(new Error('the Gateway API server is down'));
          const value = Reflect.get(target, key, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    const config = { 'http-route': 'shelf' };
    await expect(stagedRollback('shelf', 'gateway-api', config, STEPS, failingPromote)).rejects.toThrow(
      /^Returning shelf to v1 did not finish: the Gateway API server is down\. The record says phase promoting; .*mode: in-flight/,
    );
    expect(c.record('shelf')).toMatchObject({ phase: 'promoting' });
    expect(c.images('shelf')).toEqual(['ghcr.io/acme/shelf:v1']);
    // rollback mode: in-flight (abortRollout) finishes it as an abort during the promotion: v2 back, traffic on it.
    const parsed = parseRouterConfig('gateway-api', config);
    const rt = createMemoryRuntime({
      clock: c.clock,
      env: { GITHUB_RUN_ID: 'shelf-2', GITHUB_REPOSITORY: 'acme/shop' },
    });
    const aborted = await abortRollout(rt, c.client, {
      namespace: NS,
      app: 'shelf',
      reason: 'Aborted by rollback.',
      makeRouter: (target, client) => createRouter('gateway-api', parsed, target, { client: client ?? c.client }),
    });
    expect(aborted?.result).toBe('aborted');
    expect(c.images('shelf')).toEqual(['ghcr.io/acme/shelf:v2']);
    expect(c.record('shelf')).toMatchObject({ phase: 'aborted', weight: 0 });
    expect(c.replicas('shelf-canary')).toBe(0);
    expect(selector('shelf')).toEqual({ app: 'shelf' });
  });
});
