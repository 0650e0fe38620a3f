/**
 * The routers that weigh traffic in an object the team already has — the
 * ingress-nginx canary Ingress, a Gateway API HTTPRoute, an Istio
 * VirtualService, an SMI TrafficSplit — driven 5 → 25 → 50 → 100, promoted,
 * and aborted from 25, against kube-sim over HTTPS. Each step is checked on
 * the object itself, as `kubectl get -o yaml` would show it.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../src/errors';
import type { KubeObject } from '../src/kube/types';
import { createRouter, parseRouterConfig, type RouterKind, type TrafficRouter } from '../src/routing';
import {
  type Cluster,
  HTTPROUTE,
  NS,
  registerCrds,
  service,
  startCluster,
  TRAFFICSPLIT,
  target,
  VIRTUALSERVICE,
  VIRTUALSERVICE_BETA,
} from './routing-fixtures';

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster();
  await registerCrds(cluster.client);
  await cluster.client.create('Service', service('web', { app: 'web', track: 'stable' }));
  await cluster.client.create('Service', service('web-canary', { app: 'web', track: 'canary' }));
  // What the endpoints controller writes once a canary pod is Ready (nginx moves weight only with one behind it).
  await cluster.client.create(ENDPOINTS, canaryEndpoints([{ ip: '10.0.0.7' }]));
});

const ENDPOINTS = { group: '', version: 'v1', plural: 'endpoints', namespaced: true };
const canaryEndpoints = (addresses: Array<{ ip: string }>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Endpoints',
  metadata: { name: 'web-canary', namespace: NS },
  subsets: [{ addresses, ports: [{ port: 8080 }] }],
});
afterAll(async () => {
  await cluster?.stop();
});

function router(kind: RouterKind, config: unknown): TrafficRouter {
  return createRouter(kind, parseRouterConfig(kind, config), target, { client: cluster.client });
}

const STEPS = [5, 25, 50, 100];

describe('nginx router', () => {
  const ingress: KubeObject = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name: 'web',
      namespace: NS,
      annotations: {
        'nginx.ingress.kubernetes.io/rewrite-target': '/',
        'cert-manager.io/cluster-issuer': 'letsencrypt',
      },
    },
    spec: {
      ingressClassName: 'nginx',
      tls: [{ hosts: ['shop.example.com'], secretName: 'shop-tls' }],
      rules: [
        {
          host: 'shop.example.com',
          http: {
            paths: [
              { path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } },
              { path: '/admin', pathType: 'Prefix', backend: { service: { name: 'admin', port: { number: 80 } } } },
            ],
          },
        },
      ],
    },
  };
  const canaryIngress = () =>
    cluster.client.get<KubeObject>('Ingress', { namespace: NS, name: 'web-canary' }).catch(() => undefined);

  beforeEach(async () => {
    await cluster.client.delete('Ingress', { namespace: NS, name: 'web-canary' }).catch(() => undefined);
    await cluster.client.delete('Ingress', { namespace: NS, name: 'web' }).catch(() => undefined);
    await cluster.client.create('Ingress', structuredClone(ingress));
  });

  it('moves no weight to a canary Service without Ready endpoints (issue #17 item 6)', async () => {
    await cluster.client.replace(ENDPOINTS, {
      ...canaryEndpoints([]),
      metadata: {
        ...canaryEndpoints([]).metadata,
        resourceVersion: (await cluster.client.get(ENDPOINTS, { namespace: NS, name: 'web-canary' })).metadata
          ?.resourceVersion,
      },
    });
    const nginx = router('nginx', { ingress: 'web' });
    await expect(nginx.setWeight(5)).rejects.toThrow(
      "Service 'web-canary' (the canary Service) has no ready endpoints: its selector matches no Ready pod of the canary, so no weight was moved to it.",
    );
    expect(await canaryIngress()).toBeUndefined();
    await cluster.client.delete(ENDPOINTS, { namespace: NS, name: 'web-canary' });
    await cluster.client.create(ENDPOINTS, canaryEndpoints([{ ip: '10.0.0.7' }]));
  });

  it('creates web-canary with canary-weight 5, 25, 50, 100 pointing at the canary Service; promote deletes it', async () => {
    const nginx = router('nginx', { ingress: 'web' });
    await nginx.validate();
    for (const weight of STEPS) {
      const state = await nginx.setWeight(weight);
      expect(state).toMatchObject({ weight, actualWeight: weight });
      const canary = (await canaryIngress()) as KubeObject;
      expect(canary.metadata?.annotations).toEqual({
        'nginx.ingress.kubernetes.io/canary': 'true',
        'nginx.ingress.kubernetes.io/canary-weight': String(weight),
        'nginx.ingress.kubernetes.io/rewrite-target': '/',
      });
      expect(canary.metadata?.labels).toMatchObject({
        'app.kubernetes.io/managed-by': 'deploy-actions',
        'deploy-actions.dev/role': 'canary',
      });
      expect(canary.spec).toEqual({
        ingressClassName: 'nginx',
        rules: [
          {
            host: 'shop.example.com',
            http: {
              paths: [
                { path: '/', pathType: 'Prefix', backend: { service: { name: 'web-canary', port: { number: 80 } } } },
              ],
            },
          },
        ],
      });
      const managers = (
        (canary.metadata as { managedFields: unknown }).managedFields as Array<{ manager: string; operation: string }>
      ).map((m) => `${m.manager}/${m.operation}`);
      expect(managers).toEqual(['deploy-actions/Apply']);
    }
    // The stable Ingress is never written.
    const stable = await cluster.client.get<KubeObject>('Ingress', { namespace: NS, name: 'web' });
    expect(stable.metadata?.generation).toBe(1);
    await nginx.promote();
    expect(await canaryIngress()).toBeUndefined();
  });

  it('aborts from 25 by deleting the canary Ingress, and routes by header and cookie when asked', async () => {
    const nginx = router('nginx', { ingress: 'web', header: 'X-Canary', 'header-value': 'yes', cookie: 'canary' });
    await nginx.setWeight(5);
    await nginx.setWeight(25);
    expect((await canaryIngress())?.metadata?.annotations).toMatchObject({
      'nginx.ingress.kubernetes.io/canary-weight': '25',
      'nginx.ingress.kubernetes.io/canary-by-header': 'X-Canary',
      'nginx.ingress.kubernetes.io/canary-by-header-value': 'yes',
      'nginx.ingress.kubernetes.io/canary-by-cookie': 'canary',
    });
    const requests = cluster.client.requests;
    await nginx.abort();
    // One DELETE: the fastest way back to 100% stable.
    expect(cluster.client.requests - requests).toBe(1);
    expect(await canaryIngress()).toBeUndefined();
    // Idempotent: aborting again (a re-run, the post step) is fine.
    await nginx.abort();
  });

  it('plans with a server-side dry run and creates nothing', async () => {
    const plan = await router('nginx', { ingress: 'web' }).plan(5);
    expect(plan).toEqual([
      'apply Ingress prod/web-canary: nginx.ingress.kubernetes.io/canary="true", nginx.ingress.kubernetes.io/canary-weight="5", backend Service web-canary (server dry run passed)',
    ]);
    expect(await canaryIngress()).toBeUndefined();
  });

  it('says which Ingress is missing, and that no path reaches the stable Service, before anything changes', async () => {
    const missing = router('nginx', { ingress: 'shop' });
    await expect(missing.validate()).rejects.toThrow(UserError);
    await expect(missing.validate()).rejects.toThrow("Ingress 'shop' not found in namespace 'prod'.");
    await expect(missing.setWeight(5)).rejects.toThrow("Ingress 'shop' not found");
    const wrongService = router('nginx', { ingress: 'web', 'stable-service': 'api' });
    await expect(wrongService.validate()).rejects.toThrow(
      "Ingress 'web' has no path whose backend is the Service 'api'.",
    );
    const noCanaryService = router('nginx', { ingress: 'web', 'canary-service': 'web-next' });
    await expect(noCanaryService.setWeight(5)).rejects.toThrow(
      "Service 'web-next' (the canary Service) not found in namespace 'prod'.",
    );
    expect(await canaryIngress()).toBeUndefined();
  });
});

describe('gateway-api router', () => {
  const route = (): KubeObject => ({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'web', namespace: NS },
    spec: {
      parentRefs: [{ name: 'public' }],
      hostnames: ['shop.example.com'],
      rules: [
        {
          name: 'api',
          matches: [{ path: { type: 'PathPrefix', value: '/api' } }],
          backendRefs: [{ name: 'web', port: 80 }],
        },
        { name: 'static', backendRefs: [{ name: 'cdn-cache', port: 80 }] },
        { name: 'pages', backendRefs: [{ name: 'web', port: 80, weight: 1 }] },
      ],
    },
  });
  const backends = async () => {
    const object = await cluster.client.get<KubeObject>(HTTPROUTE, { namespace: NS, name: 'web' });
    return (object.spec as { rules: Array<{ backendRefs: unknown[] }> }).rules.map((r) => r.backendRefs);
  };

  beforeEach(async () => {
    await cluster.client.delete(HTTPROUTE, { namespace: NS, name: 'web' }).catch(() => undefined);
    await cluster.client.create(HTTPROUTE, route());
  });

  it('sets the backendRefs weights of every rule that reaches the stable Service, and removes the canary on promote', async () => {
    const gateway = router('gateway-api', { 'http-route': 'web' });
    await gateway.validate();
    for (const weight of STEPS) {
      const state = await gateway.setWeight(weight);
      expect(state.detail).toBe(
        `HTTPRoute prod/web rule "api", rule "pages": web=${100 - weight}, web-canary=${weight}`,
      );
      expect(await backends()).toEqual([
        [
          { name: 'web', port: 80, weight: 100 - weight },
          { name: 'web-canary', port: 80, weight },
        ],
        [{ name: 'cdn-cache', port: 80 }],
        [
          { name: 'web', port: 80, weight: 100 - weight },
          { name: 'web-canary', port: 80, weight },
        ],
      ]);
    }
    await gateway.promote();
    expect(await backends()).toEqual([
      [{ name: 'web', port: 80, weight: 100 }],
      [{ name: 'cdn-cache', port: 80 }],
      [{ name: 'web', port: 80, weight: 100 }],
    ]);
    const object = await cluster.client.get<KubeObject>(HTTPROUTE, { namespace: NS, name: 'web' });
    expect(object.metadata?.annotations ?? {}).toEqual({});
  });

  it('changes only the named rule, and aborts from 25 to 100% stable', async () => {
    const gateway = router('gateway-api', { 'http-route': 'web', rules: ['pages'] });
    await gateway.setWeight(5);
    await gateway.setWeight(25);
    expect(await backends()).toEqual([
      [{ name: 'web', port: 80 }],
      [{ name: 'cdn-cache', port: 80 }],
      [
        { name: 'web', port: 80, weight: 75 },
        { name: 'web-canary', port: 80, weight: 25 },
      ],
    ]);
    const requests = cluster.client.requests;
    await gateway.abort();
    // One GET and one PUT carrying the resourceVersion that was read.
    expect(cluster.client.requests - requests).toBe(2);
    expect((await backends())[2]).toEqual([{ name: 'web', port: 80, weight: 100 }]);
  });

  it('keeps a canary backendRef the user declared, at weight 0 after abort', async () => {
    await cluster.client.patch(
      HTTPROUTE,
      { namespace: NS, name: 'web' },
      [{ op: 'add', path: '/spec/rules/0/backendRefs/-', value: { name: 'web-canary', port: 80, weight: 0 } }],
      'json',
    );
    const gateway = router('gateway-api', { 'http-route': 'web', rules: ['api'] });
    await gateway.setWeight(25);
    await gateway.abort();
    expect((await backends())[0]).toEqual([
      { name: 'web', port: 80, weight: 100 },
      { name: 'web-canary', port: 80, weight: 0 },
    ]);
  });

  it('names the missing HTTPRoute or rule before anything changes', async () => {
    await expect(router('gateway-api', { 'http-route': 'shop' }).validate()).rejects.toThrow(
      "HTTPRoute 'shop' (gateway.networking.k8s.io/v1) not found in namespace 'prod'.",
    );
    await expect(router('gateway-api', { 'http-route': 'web', rules: ['checkout'] }).setWeight(5)).rejects.toThrow(
      "HTTPRoute 'web' has no rule named checkout (rules: api, static, pages).",
    );
    await expect(router('gateway-api', { 'http-route': 'web', rules: ['static'] }).validate()).rejects.toThrow(
      "HTTPRoute 'web' rule 'static' has no backendRef to the stable Service 'web'.",
    );
    expect((await backends())[0]).toEqual([{ name: 'web', port: 80 }]);
  });

  it('plans with a server-side dry run', async () => {
    expect(await router('gateway-api', { 'http-route': 'web' }).plan(5)).toEqual([
      'update HTTPRoute prod/web (rule "api", rule "pages"): web weight 95, web-canary weight 5 (server dry run passed)',
    ]);
    expect((await backends())[0]).toEqual([{ name: 'web', port: 80 }]);
  });
});

describe('istio router', () => {
  const virtualService = (apiVersion: string): KubeObject => ({
    apiVersion: `networking.istio.io/${apiVersion}`,
    kind: 'VirtualService',
    metadata: { name: 'web', namespace: NS },
    spec: {
      hosts: ['shop.example.com'],
      gateways: ['public'],
      http: [
        { name: 'health', match: [{ uri: { exact: '/healthz' } }], route: [{ destination: { host: 'health' } }] },
        { name: 'primary', route: [{ destination: { host: 'web.prod.svc.cluster.local', port: { number: 80 } } }] },
      ],
    },
  });
  const routes = async (type = VIRTUALSERVICE) => {
    const object = await cluster.client.get<KubeObject>(type, { namespace: NS, name: 'web' });
    return (object.spec as { http: Array<{ route: unknown[] }> }).http.map((h) => h.route);
  };

  beforeEach(async () => {
    await cluster.client.delete(VIRTUALSERVICE, { namespace: NS, name: 'web' }).catch(() => undefined);
    await cluster.client.delete(VIRTUALSERVICE_BETA, { namespace: NS, name: 'web' }).catch(() => undefined);
  });

  it('sets destination weights by host 5 → 25 → 50 → 100, promote leaves 100% stable', async () => {
    await cluster.client.create(VIRTUALSERVICE, virtualService('v1'));
    const istio = router('istio', { 'virtual-service': 'web', routes: 'primary' });
    await istio.validate();
    for (const weight of STEPS) {
      await istio.setWeight(weight);
      expect(await routes()).toEqual([
        [{ destination: { host: 'health' } }],
        [
          { destination: { host: 'web.prod.svc.cluster.local', port: { number: 80 } }, weight: 100 - weight },
          { destination: { host: 'web-canary', port: { number: 80 } }, weight },
        ],
      ]);
    }
    await istio.promote();
    expect((await routes())[1]).toEqual([
      { destination: { host: 'web.prod.svc.cluster.local', port: { number: 80 } }, weight: 100 },
    ]);
  });

  it('weighs DestinationRule subsets of one host, finds a v1beta1 VirtualService, and aborts from 25', async () => {
    await cluster.client.create(VIRTUALSERVICE_BETA, virtualService('v1beta1'));
    const istio = router('istio', { 'virtual-service': 'web', 'stable-subset': 'stable', 'canary-subset': 'canary' });
    await expect(istio.validate()).rejects.toThrow("VirtualService 'web' has no http route to web/stable.");
    await cluster.client.patch(
      VIRTUALSERVICE_BETA,
      { namespace: NS, name: 'web' },
      [{ op: 'add', path: '/spec/http/1/route/0/destination/subset', value: 'stable' }],
      'json',
    );
    await istio.setWeight(5);
    await istio.setWeight(25);
    expect((await routes(VIRTUALSERVICE_BETA))[1]).toEqual([
      { destination: { host: 'web.prod.svc.cluster.local', port: { number: 80 }, subset: 'stable' }, weight: 75 },
      { destination: { host: 'web.prod.svc.cluster.local', port: { number: 80 }, subset: 'canary' }, weight: 25 },
    ]);
    await istio.abort();
    expect((await routes(VIRTUALSERVICE_BETA))[1]).toEqual([
      { destination: { host: 'web.prod.svc.cluster.local', port: { number: 80 }, subset: 'stable' }, weight: 100 },
    ]);
  });

  it('names the missing VirtualService in both API versions', async () => {
    await expect(router('istio', { 'virtual-service': 'web' }).validate()).rejects.toThrow(
      "VirtualService 'web' (networking.istio.io/v1 or networking.istio.io/v1beta1) not found in namespace 'prod'.",
    );
  });
});

describe('smi router', () => {
  const split = (): KubeObject => ({
    apiVersion: 'split.smi-spec.io/v1alpha2',
    kind: 'TrafficSplit',
    metadata: { name: 'web', namespace: NS },
    spec: { service: 'web-root', backends: [{ service: 'web', weight: 100 }] },
  });
  const backends = async () =>
    ((await cluster.client.get<KubeObject>(TRAFFICSPLIT, { namespace: NS, name: 'web' })).spec as { backends: unknown })
      .backends;

  beforeEach(async () => {
    await cluster.client.delete(TRAFFICSPLIT, { namespace: NS, name: 'web' }).catch(() => undefined);
    await cluster.client.create(TRAFFICSPLIT, split());
  });

  it('sets the backends 5 → 25 → 50 → 100 and removes the canary backend on promote', async () => {
    const smi = router('smi', { 'traffic-split': 'web' });
    await smi.validate();
    for (const weight of STEPS) {
      await smi.setWeight(weight);
      expect(await backends()).toEqual([
        { service: 'web', weight: 100 - weight },
        { service: 'web-canary', weight },
      ]);
    }
    await smi.promote();
    expect(await backends()).toEqual([{ service: 'web', weight: 100 }]);
  });

  it('aborts from 25 and names a missing TrafficSplit', async () => {
    const smi = router('smi', { 'traffic-split': 'web' });
    await smi.setWeight(5);
    await smi.setWeight(25);
    await smi.abort();
    expect(await backends()).toEqual([{ service: 'web', weight: 100 }]);
    await expect(router('smi', { 'traffic-split': 'shop' }).validate()).rejects.toThrow(
      "TrafficSplit 'shop' (split.smi-spec.io/v1alpha2) not found in namespace 'prod'.",
    );
  });

  it('never overwrites a concurrent edit: a 409 on the write makes it read again', async () => {
    // Another writer labels the split between the router's read and its write (once).
    const client = cluster.client;
    let raced = 0;
    const racing = Object.create(client) as typeof client;
    racing.replace = async (kind, object, options) => {
      if (raced++ === 0)
        await client.patch(
          TRAFFICSPLIT,
          { namespace: NS, name: 'web' },
          { metadata: { labels: { team: 'shop' } } },
          'merge',
        );
      return client.replace(kind, object, options);
    };
    const smi = createRouter('smi', parseRouterConfig('smi', { 'traffic-split': 'web' }), target, { client: racing });
    await smi.setWeight(25);
    const object = await client.get<KubeObject>(TRAFFICSPLIT, { namespace: NS, name: 'web' });
    expect(object.metadata?.labels).toEqual({ team: 'shop' });
    expect((object.spec as { backends: unknown }).backends).toEqual([
      { service: 'web', weight: 75 },
      { service: 'web-canary', weight: 25 },
    ]);
    expect(raced).toBe(2);
  });
});
