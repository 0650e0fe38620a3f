// kube-sim seen through @kubernetes/client-node 2.x: typed APIs, KubernetesObjectApi with server-side apply,
// Watch with resume, errors as Status objects, paging, dry runs, faults.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeSim } from '../src/index';

let sim: KubeSim;
let kc: k8s.KubeConfig;
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;
let objects: k8s.KubernetesObjectApi;

beforeAll(async () => {
  sim = await KubeSim.start();
  kc = new k8s.KubeConfig();
  kc.loadFromString(sim.kubeconfig());
  core = kc.makeApiClient(k8s.CoreV1Api);
  apps = kc.makeApiClient(k8s.AppsV1Api);
  objects = k8s.KubernetesObjectApi.makeApiClient(kc);
});

afterAll(async () => {
  await sim.stop();
});

function deployment(name: string, image = 'nginx:1.25', replicas = 2): k8s.V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image, ports: [{ containerPort: 8080 }] }] },
      },
    },
  };
}

async function apiError(p: Promise<unknown>): Promise<{ code: number; status: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    const err = e as k8s.ApiException<string>;
    const body = typeof err.body === 'string' ? JSON.parse(err.body) : err.body;
    return { code: err.code, status: body as Record<string, unknown> };
  }
  throw new Error('expected the request to fail');
}

describe('typed APIs', () => {
  it('serves the TLS certificate the kubeconfig trusts (no skip-verify)', () => {
    expect(sim.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(kc.getCurrentCluster()?.skipTLSVerify).toBeFalsy();
    expect(kc.getCurrentCluster()?.caData).toBeTruthy();
  });

  it('creates, reads, updates with resourceVersion conflicts, and bumps generation on spec changes only', async () => {
    const created = await apps.createNamespacedDeployment({ namespace: 'default', body: deployment('web') });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata?.generation).toBe(1);
    expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);
    expect(created.metadata?.managedFields?.[0]?.manager).toBeTruthy();

    const stale = structuredClone(created);
    const updated = await apps.replaceNamespacedDeployment({
      name: 'web',
      namespace: 'default',
      body: { ...created, spec: { ...created.spec!, replicas: 5 } },
    });
    expect(updated.metadata?.generation).toBe(2);
    expect(Number(updated.metadata?.resourceVersion)).toBeGreaterThan(Number(created.metadata?.resourceVersion));

    const err = await apiError(apps.replaceNamespacedDeployment({ name: 'web', namespace: 'default', body: stale }));
    expect(err.code).toBe(409);
    expect(err.status).toMatchObject({ kind: 'Status', reason: 'Conflict', code: 409 });

    // A label change is metadata: no new generation.
    const relabelled = await apps.replaceNamespacedDeployment({
      name: 'web',
      namespace: 'default',
      body: { ...updated, metadata: { ...updated.metadata, labels: { app: 'web', tier: 'front' } } },
    });
    expect(relabelled.metadata?.generation).toBe(2);

    // Status goes through /status, and does not bump the generation either.
    const withStatus = await apps.replaceNamespacedDeploymentStatus({
      name: 'web',
      namespace: 'default',
      body: { ...relabelled, status: { observedGeneration: 2, replicas: 5 } },
    });
    expect(withStatus.status?.replicas).toBe(5);
    expect(withStatus.metadata?.generation).toBe(2);
    // ...while status sent to the main resource is ignored.
    const ignored = await apps.replaceNamespacedDeployment({
      name: 'web',
      namespace: 'default',
      body: { ...withStatus, status: { replicas: 99 } },
    });
    expect(ignored.status?.replicas).toBe(5);
  });

  it('answers errors as Status objects with the right reason and code', async () => {
    expect(await apiError(core.readNamespacedPod({ name: 'nope', namespace: 'default' }))).toMatchObject({
      code: 404,
      status: { reason: 'NotFound', message: 'pods "nope" not found' },
    });
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'dup' } } });
    expect(
      await apiError(core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'dup' } } })),
    ).toMatchObject({
      code: 409,
      status: { reason: 'AlreadyExists' },
    });
    const bad = await apiError(
      core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'Bad_Name' } } }),
    );
    expect(bad).toMatchObject({ code: 422, status: { reason: 'Invalid' } });
    const noContainers = await apiError(
      core.createNamespacedPod({
        namespace: 'default',
        body: { metadata: { name: 'empty' }, spec: { containers: [] } },
      }),
    );
    expect(noContainers.code).toBe(422);
    expect(JSON.stringify(noContainers.status)).toContain('spec.containers');
    expect(
      await apiError(core.createNamespacedConfigMap({ namespace: 'missing', body: { metadata: { name: 'x' } } })),
    ).toMatchObject({ code: 404, status: { message: 'namespaces "missing" not found' } });
  });

  it('lists with label and field selectors and pages with limit/continue', async () => {
    await core.createNamespace({ body: { metadata: { name: 'paging' } } });
    for (let i = 0; i < 7; i++) {
      await core.createNamespacedConfigMap({
        namespace: 'paging',
        body: { metadata: { name: `cm-${i}`, labels: { parity: i % 2 ? 'odd' : 'even', index: String(i) } } },
      });
    }
    const odd = await core.listNamespacedConfigMap({ namespace: 'paging', labelSelector: 'parity=odd' });
    expect(odd.items.map((c) => c.metadata?.name)).toEqual(['cm-1', 'cm-3', 'cm-5']);
    const set = await core.listNamespacedConfigMap({
      namespace: 'paging',
      labelSelector: 'index in (0,6),parity!=odd',
    });
    expect(set.items.map((c) => c.metadata?.name)).toEqual(['cm-0', 'cm-6']);
    const byName = await core.listNamespacedConfigMap({ namespace: 'paging', fieldSelector: 'metadata.name=cm-4' });
    expect(byName.items.map((c) => c.metadata?.name)).toEqual(['cm-4']);

    const names: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await core.listNamespacedConfigMap({ namespace: 'paging', limit: 3, _continue: token });
      names.push(...page.items.map((c) => c.metadata!.name!));
      token = page.metadata?._continue || undefined;
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(names).toEqual(['cm-0', 'cm-1', 'cm-2', 'cm-3', 'cm-4', 'cm-5', 'cm-6']);
  });

  it('patches with JSON patch, merge patch and strategic merge patch', async () => {
    await apps.createNamespacedDeployment({ namespace: 'default', body: deployment('patchme') });
    const strategic = await apps.patchNamespacedDeployment(
      {
        name: 'patchme',
        namespace: 'default',
        body: { spec: { template: { spec: { containers: [{ name: 'sidecar', image: 'envoy:1' }] } } } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
    );
    expect(strategic.spec?.template.spec?.containers.map((c) => c.name)).toEqual(['app', 'sidecar']);
    const merge = await apps.patchNamespacedDeployment(
      {
        name: 'patchme',
        namespace: 'default',
        body: { spec: { template: { spec: { containers: [{ name: 'only', image: 'x:1' }] } } } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    expect(merge.spec?.template.spec?.containers.map((c) => c.name)).toEqual(['only']);
    const json = await apps.patchNamespacedDeployment({
      name: 'patchme',
      namespace: 'default',
      body: [{ op: 'replace', path: '/spec/replicas', value: 4 }],
    });
    expect(json.spec?.replicas).toBe(4);
  });

  it('scales through the /scale subresource', async () => {
    await apps.createNamespacedDeployment({ namespace: 'default', body: deployment('scaled', 'nginx:1', 1) });
    const scale = await apps.readNamespacedDeploymentScale({ name: 'scaled', namespace: 'default' });
    expect(scale.spec?.replicas).toBe(1);
    expect(scale.status?.selector).toBe('app=scaled');
    await apps.replaceNamespacedDeploymentScale({
      name: 'scaled',
      namespace: 'default',
      body: { ...scale, spec: { replicas: 6 } },
    });
    expect((await apps.readNamespacedDeployment({ name: 'scaled', namespace: 'default' })).spec?.replicas).toBe(6);
  });

  it('does nothing on dryRun=All', async () => {
    const dry = await core.createNamespacedConfigMap({
      namespace: 'default',
      dryRun: 'All',
      body: { metadata: { name: 'dry' }, data: { a: '1' } },
    });
    expect(dry.data).toEqual({ a: '1' });
    expect(await apiError(core.readNamespacedConfigMap({ name: 'dry', namespace: 'default' }))).toMatchObject({
      code: 404,
    });
  });

  it('garbage-collects dependents by owner reference, or orphans them', async () => {
    const owner = await apps.createNamespacedDeployment({ namespace: 'default', body: deployment('owner') });
    const ref = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'owner',
      uid: owner.metadata!.uid!,
      controller: true,
    };
    for (const name of ['dep-a', 'dep-b']) {
      await core.createNamespacedConfigMap({
        namespace: 'default',
        body: { metadata: { name, ownerReferences: [ref] } },
      });
    }
    await apps.deleteNamespacedDeployment({ name: 'owner', namespace: 'default', propagationPolicy: 'Background' });
    expect(await apiError(core.readNamespacedConfigMap({ name: 'dep-a', namespace: 'default' }))).toMatchObject({
      code: 404,
    });

    const owner2 = await apps.createNamespacedDeployment({ namespace: 'default', body: deployment('owner2') });
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'kept', ownerReferences: [{ ...ref, name: 'owner2', uid: owner2.metadata!.uid! }] } },
    });
    await apps.deleteNamespacedDeployment({ name: 'owner2', namespace: 'default', propagationPolicy: 'Orphan' });
    const kept = await core.readNamespacedConfigMap({ name: 'kept', namespace: 'default' });
    expect(kept.metadata?.ownerReferences).toBeUndefined();
  });

  it('keeps an object with finalizers until the last finalizer goes', async () => {
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'fin', finalizers: ['example.com/hold'] } },
    });
    await core.deleteNamespacedConfigMap({ name: 'fin', namespace: 'default' });
    const held = await core.readNamespacedConfigMap({ name: 'fin', namespace: 'default' });
    expect(held.metadata?.deletionTimestamp).toBeInstanceOf(Date);
    await core.patchNamespacedConfigMap(
      { name: 'fin', namespace: 'default', body: { metadata: { finalizers: null } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    expect(await apiError(core.readNamespacedConfigMap({ name: 'fin', namespace: 'default' }))).toMatchObject({
      code: 404,
    });
  });
});

describe('server-side apply through KubernetesObjectApi', () => {
  it('creates, updates, records managers and reports conflicts between managers unless forced', async () => {
    const spec: k8s.V1Deployment = {
      ...deployment('applied'),
      metadata: { name: 'applied', namespace: 'default', labels: { app: 'applied' } },
    };
    const first = await objects.patch(spec, undefined, undefined, 'deployer', false, k8s.PatchStrategy.ServerSideApply);
    expect(first.metadata?.managedFields?.map((m) => [m.manager, m.operation])).toEqual([['deployer', 'Apply']]);

    // Another manager changes replicas with an update: it now owns spec.replicas.
    await apps.patchNamespacedDeployment(
      { name: 'applied', namespace: 'default', body: { spec: { replicas: 7 } }, fieldManager: 'autoscaler' },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const conflict = await apiError(
      objects.patch(
        { ...spec, spec: { ...spec.spec!, replicas: 3 } },
        undefined,
        undefined,
        'deployer',
        false,
        k8s.PatchStrategy.ServerSideApply,
      ),
    );
    expect(conflict.code).toBe(409);
    expect(conflict.status.reason).toBe('Conflict');
    expect(String(conflict.status.message)).toContain('autoscaler');
    expect(String(conflict.status.message)).toContain('.spec.replicas');

    const forced = (await objects.patch(
      { ...spec, spec: { ...spec.spec!, replicas: 3 } },
      undefined,
      undefined,
      'deployer',
      true,
      k8s.PatchStrategy.ServerSideApply,
    )) as k8s.V1Deployment;
    expect(forced.spec?.replicas).toBe(3);

    // Applying without a field the manager owned before removes it.
    const noPorts = structuredClone(spec);
    delete noPorts.spec!.template.spec!.containers[0]!.ports;
    const pruned = (await objects.patch(
      noPorts,
      undefined,
      undefined,
      'deployer',
      true,
      k8s.PatchStrategy.ServerSideApply,
    )) as k8s.V1Deployment;
    expect(pruned.spec?.template.spec?.containers[0]?.ports).toBeUndefined();
    expect(pruned.spec?.template.spec?.containers[0]?.image).toBe('nginx:1.25');
  });

  it('stores custom resources once their CRD exists', async () => {
    await objects.create({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'httproutes.gateway.networking.k8s.io' },
      spec: {
        group: 'gateway.networking.k8s.io',
        names: { plural: 'httproutes', singular: 'httproute', kind: 'HTTPRoute' },
        scope: 'Namespaced',
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } }],
      },
    } as k8s.KubernetesObject);
    const route = {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        rules: [
          {
            backendRefs: [
              { name: 'web-stable', weight: 90 },
              { name: 'web-canary', weight: 10 },
            ],
          },
        ],
      },
    };
    await objects.patch(route, undefined, undefined, 'canary', false, k8s.PatchStrategy.ServerSideApply);
    const read = (await objects.read({
      apiVersion: route.apiVersion,
      kind: route.kind,
      metadata: route.metadata,
    })) as unknown as typeof route;
    expect(read.spec.rules[0]!.backendRefs.map((b) => b.weight)).toEqual([90, 10]);
    const list = await objects.list('gateway.networking.k8s.io/v1', 'HTTPRoute', 'default');
    expect(list.items.map((i) => i.metadata?.name)).toEqual(['web']);
  });
});

describe('custom resources with subresources', () => {
  it('serves an Argo Rollout with /status and /scale, and forgets the kind when its CRD goes', async () => {
    const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
    await ext.createCustomResourceDefinition({
      body: {
        metadata: { name: 'rollouts.argoproj.io' },
        spec: {
          group: 'argoproj.io',
          names: { plural: 'rollouts', singular: 'rollout', kind: 'Rollout', shortNames: ['ro'] },
          scope: 'Namespaced',
          versions: [
            {
              name: 'v1alpha1',
              served: true,
              storage: true,
              schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } },
              subresources: {
                status: {},
                scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' },
              },
            },
          ],
        },
      },
    });
    const crd = await ext.readCustomResourceDefinition({ name: 'rollouts.argoproj.io' });
    expect(crd.status?.conditions?.find((c) => c.type === 'Established')?.status).toBe('True');

    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const target = { group: 'argoproj.io', version: 'v1alpha1', namespace: 'default', plural: 'rollouts' };
    const created = (await custom.createNamespacedCustomObject({
      ...target,
      body: {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Rollout',
        metadata: { name: 'shop' },
        spec: { replicas: 3, strategy: { canary: { steps: [{ setWeight: 20 }] } } },
        status: { phase: 'ignored on create' },
      },
    })) as k8s.KubernetesObject & { status?: unknown; metadata: { generation: number } };
    expect(created.status).toBeUndefined();
    expect(created.metadata.generation).toBe(1);

    await custom.patchNamespacedCustomObjectStatus(
      { ...target, name: 'shop', body: { status: { phase: 'Progressing', replicas: 3 } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await custom.patchNamespacedCustomObjectScale(
      { ...target, name: 'shop', body: { spec: { replicas: 5 } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const read = (await custom.getNamespacedCustomObject({ ...target, name: 'shop' })) as {
      spec: { replicas: number };
      status: { phase: string };
      metadata: { generation: number };
    };
    expect(read.spec.replicas).toBe(5);
    expect(read.status.phase).toBe('Progressing');
    expect(read.metadata.generation).toBe(2);

    const watched: string[] = [];
    const stop = sim.store.watch('argoproj.io/v1alpha1/rollouts', undefined, sim.store.resourceVersion, (e) =>
      watched.push(`${e.type} ${e.object.metadata.name}`),
    );
    await ext.deleteCustomResourceDefinition({ name: 'rollouts.argoproj.io' });
    stop();
    expect(watched).toEqual(['DELETED shop']);
    const gone = await apiError(custom.getNamespacedCustomObject({ ...target, name: 'shop' }));
    expect(gone.code).toBe(404);
  });
});

describe('watch', () => {
  it('streams events, resumes from a resourceVersion after the server drops the watch, and gets 410 when too old', async () => {
    await core.createNamespace({ body: { metadata: { name: 'watched' } } });
    const list = await core.listNamespacedConfigMap({ namespace: 'watched' });
    const watch = new k8s.Watch(kc);
    const seen: string[] = [];
    let lastRv = list.metadata!.resourceVersion!;
    const ended = new Promise<unknown>((resolve) => {
      void watch.watch(
        '/api/v1/namespaces/watched/configmaps',
        { resourceVersion: lastRv },
        (type, obj) => {
          seen.push(`${type} ${obj.metadata.name}`);
          lastRv = obj.metadata.resourceVersion;
        },
        resolve,
      );
    });
    await core.createNamespacedConfigMap({ namespace: 'watched', body: { metadata: { name: 'one' } } });
    await expect.poll(() => seen).toEqual(['ADDED one']);
    sim.faults.dropWatches('configmaps');
    await ended;
    // Written while no watch was open: the resumed watch must still see it.
    await core.createNamespacedConfigMap({ namespace: 'watched', body: { metadata: { name: 'two' } } });
    await core.deleteNamespacedConfigMap({ name: 'one', namespace: 'watched' });
    const resumed: string[] = [];
    const controller = await watch.watch(
      '/api/v1/namespaces/watched/configmaps',
      { resourceVersion: lastRv },
      (type, obj) => resumed.push(`${type} ${obj.metadata.name}`),
      () => {},
    );
    await expect.poll(() => resumed).toEqual(['ADDED two', 'DELETED one']);
    controller.abort();

    sim.store.compact();
    const errors: unknown[] = [];
    await new Promise<void>((resolve) => {
      void watch.watch(
        '/api/v1/namespaces/watched/configmaps',
        { resourceVersion: list.metadata!.resourceVersion! },
        (type, obj) => errors.push({ type, obj }),
        () => resolve(),
      );
    });
    expect(errors).toMatchObject([{ type: 'ERROR', obj: { kind: 'Status', code: 410, reason: 'Expired' } }]);
  });
});

describe('faults and stats', () => {
  it('answers 429 with Retry-After and 503 as injected, then recovers, and counts requests', async () => {
    const before = sim.stats.count('get', 'configmaps');
    const remove = sim.faults.add({ verb: 'get', resource: 'configmaps', status: 429, retryAfterSeconds: 3, times: 1 });
    const limited = await apiError(core.readNamespacedConfigMap({ name: 'dup', namespace: 'default' }));
    expect(limited).toMatchObject({
      code: 429,
      status: { reason: 'TooManyRequests', details: { retryAfterSeconds: 3 } },
    });
    const ok = await core.readNamespacedConfigMap({ name: 'dup', namespace: 'default' });
    expect(ok.metadata?.name).toBe('dup');
    remove();
    sim.faults.add({ verb: 'create', resource: 'configmaps', status: 503, times: 1 });
    expect(
      (await apiError(core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'x503' } } })))
        .code,
    ).toBe(503);
    sim.faults.add({ verb: 'update', resource: 'configmaps', status: 409, times: 1 });
    const dup = await core.readNamespacedConfigMap({ name: 'dup', namespace: 'default' });
    expect(
      (await apiError(core.replaceNamespacedConfigMap({ name: 'dup', namespace: 'default', body: dup }))).status.reason,
    ).toBe('Conflict');
    expect(sim.stats.count('get', 'configmaps') - before).toBe(3);
    expect(sim.stats.percentile(99)).toBeGreaterThan(0);
  });

  it('closes a watch after N events when told to, and delays requests by the injected latency', async () => {
    sim.faults.add({ verb: 'watch', resource: 'secrets', dropWatchAfterEvents: 2, times: 1 });
    const seen: string[] = [];
    const done = new Promise<void>((resolve) => {
      void new k8s.Watch(kc).watch(
        '/api/v1/namespaces/default/secrets',
        { resourceVersion: sim.store.resourceVersion },
        (type, obj) => seen.push(`${type} ${obj.metadata.name}`),
        () => resolve(),
      );
    });
    await expect.poll(() => sim.store.watchCount).toBeGreaterThan(1);
    for (const name of ['s1', 's2', 's3'])
      await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name } } });
    await done;
    expect(seen).toEqual(['ADDED s1', 'ADDED s2']);

    sim.faults.add({ verb: 'get', resource: 'secrets', name: 's3', latencyMs: 150, times: 1 });
    const started = performance.now();
    await core.readNamespacedSecret({ name: 's3', namespace: 'default' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('reaches simulated apps through the service proxy and reads pod logs', async () => {
    await core.createNamespacedService({
      namespace: 'default',
      body: {
        metadata: { name: 'echo' },
        spec: { selector: { app: 'echo' }, ports: [{ port: 80, targetPort: 8080 }] },
      },
    });
    sim.registerProxyHandler(async (req) =>
      req.service === 'echo'
        ? { status: 200, headers: { 'content-type': 'text/plain' }, body: `${req.method} ${req.port} ${req.path}` }
        : undefined,
    );
    const text = await core.connectGetNamespacedServiceProxyWithPath({
      name: 'echo:80',
      namespace: 'default',
      path: 'healthz',
    });
    expect(text).toBe('GET 80 /healthz');

    await core.createNamespacedPod({
      namespace: 'default',
      body: { metadata: { name: 'logger' }, spec: { containers: [{ name: 'main', image: 'busybox' }] } },
    });
    sim.registerLogHandler((req) => (req.pod.metadata.name === 'logger' ? 'line 1\nline 2\nline 3\n' : undefined));
    const log = await core.readNamespacedPodLog({ name: 'logger', namespace: 'default', tailLines: 2 });
    expect(log).toBe('line 2\nline 3\n');
  });
});

describe('protocol details', () => {
  it('sends BOOKMARK events to watches that allow them', async () => {
    const quick = await KubeSim.start({ bookmarkIntervalMs: 20 });
    try {
      const qc = new k8s.KubeConfig();
      qc.loadFromString(quick.kubeconfig());
      const types: string[] = [];
      const controller = await new k8s.Watch(qc).watch(
        '/api/v1/namespaces/default/pods',
        { allowWatchBookmarks: true },
        (type, obj) => types.push(`${type} ${obj.metadata.resourceVersion}`),
        () => {},
      );
      await expect.poll(() => types.some((t) => t.startsWith('BOOKMARK '))).toBe(true);
      expect(types[0]).toBe(`BOOKMARK ${quick.store.resourceVersion}`);
      controller.abort();
    } finally {
      await quick.stop();
    }
  });

  it('answers 400 for a malformed body, 405 for a POST to a named object and 415 for an unknown patch type', async () => {
    const post = (path: string, body: string, contentType = 'application/json', method = 'POST') =>
      fetchJson(`${sim.url}${path}`, { method, body, headers: { 'content-type': contentType } });
    expect(await post('/api/v1/namespaces/default/configmaps', '{not json')).toMatchObject({
      code: 400,
      reason: 'BadRequest',
    });
    expect(await post('/api/v1/namespaces/default/configmaps/x', '{}')).toMatchObject({
      code: 405,
      reason: 'MethodNotAllowed',
    });
    expect(await post('/api/v1/namespaces/default/configmaps/dup', '{}', 'text/plain', 'PATCH')).toMatchObject({
      code: 415,
      reason: 'UnsupportedMediaType',
    });
  });
});

describe('older API versions', () => {
  it('serves batch/v1 CronJobs as batch/v1beta1 too, listed in discovery only for kubectl before 1.21', async () => {
    await kc.makeApiClient(k8s.BatchV1Api).createNamespacedCronJob({
      namespace: 'default',
      body: {
        metadata: { name: 'nightly' },
        spec: {
          schedule: '0 3 * * *',
          jobTemplate: {
            spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'm', image: 'migrate:1' }] } } },
          },
        },
      },
    });
    const old = await fetchJson(`${sim.url}/apis/batch/v1beta1/namespaces/default/cronjobs/nightly`, {
      method: 'GET',
      body: '',
      headers: {},
    });
    expect(old).toMatchObject({ apiVersion: 'batch/v1beta1', kind: 'CronJob', spec: { schedule: '0 3 * * *' } });
    const groups = (ua: string) =>
      fetchJson(`${sim.url}/apis/batch`, { method: 'GET', body: '', headers: { 'user-agent': ua } }).then((g) =>
        (g.versions as { version: string }[]).map((v) => v.version),
      );
    expect(await groups('kubectl/v1.33.1 (linux/amd64) kubernetes/abc')).toEqual(['v1']);
    expect(await groups('kubectl/v1.20.2 (linux/amd64) kubernetes/abc')).toEqual(['v1beta1', 'v1']);
  });
});

/** A raw HTTPS request trusting the sim's certificate; returns the parsed JSON body. */
async function fetchJson(url: string, init: { method: string; body: string; headers: Record<string, string> }) {
  const { request } = await import('node:https');
  return new Promise<Record<string, unknown>>((resolve, reject) => {
    const req = request(url, { method: init.method, headers: init.headers, ca: sim.caPem }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        text += d;
      });
      res.on('end', () => resolve(JSON.parse(text)));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}
