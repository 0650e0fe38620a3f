/**
 * canary-promote end to end on kube-sim over HTTPS: the action's adapter, the
 * rollout state machine, the replicas and service routers and the simulated
 * Deployment controller and kubelet, all on one virtual clock that jumps ahead
 * whenever the process is idle (a 20-minute release runs in about a second).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '@deploy-actions/core/clock';
import type { Deployment } from '@deploy-actions/core/kube';
import { KubeClient, waitForRollout } from '@deploy-actions/core/kube';
import { createMemoryRuntime, executeAction } from '@deploy-actions/core/runtime';
import { KubeSim } from '@deploy-actions/kube-sim';
import { BehaviourTable } from '@deploy-actions/kube-sim/behaviour';
import { type RunningControllers, startControllers } from '@deploy-actions/kube-sim/controllers/index';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import canaryPromote from '../src/main';

const workspace = mkdtempSync(join(tmpdir(), 'canary-'));
const NS = 'shop';
let clock: VirtualClock;
let sim: KubeSim;
let controllers: RunningControllers;
let client: KubeClient;
let stopAuto: () => void;

function deployment(name: string, image: string, labels: Record<string, string> = {}): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS, labels: { app: name, ...labels } },
    spec: {
      replicas: 4,
      progressDeadlineSeconds: 120,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [{ name: 'app', image, envFrom: [{ configMapRef: { name: `${name}-config` } }] }],
        },
      },
    },
  };
}

async function app(name: string, image: string, labels: Record<string, string> = {}) {
  await client.create('ConfigMap', {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `${name}-config`, namespace: NS },
    data: { MODE: 'v1' },
  });
  await client.create('Service', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: NS },
    spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
  });
  await client.create('Deployment', deployment(name, image, labels));
  await waitForRollout(client, { kind: 'Deployment', namespace: NS, name }, { clock, timeoutMs: 600_000 });
}

const get = (resource: string, name: string) => sim.store.find(resource, NS, name) as Deployment | undefined;
const images = (name: string) =>
  get('apps/v1/deployments', name)?.spec?.template?.spec?.containers?.map((c) => c.image);
const replicas = (name: string) => get('apps/v1/deployments', name)?.spec?.replicas;
const record = (name: string) => {
  const map = sim.store.find('v1/configmaps', NS, `deploy-actions-${name}`) as
    | { data?: { record?: string } }
    | undefined;
  return map?.data?.record ? JSON.parse(map.data.record) : undefined;
};

async function run(inputs: Record<string, string>, env: Record<string, string> = {}) {
  const rt = createMemoryRuntime({
    clock,
    workspace,
    env: {
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: 'acme/shop',
      GITHUB_RUN_ID: '4242',
      ...env,
    },
    inputs: { kubeconfig: sim.kubeconfig(), namespace: NS, ...inputs },
  });
  const code = await executeAction(canaryPromote, rt);
  return { code, rt, outputs: rt.outputs, summary: rt.flushedSummary, errors: rt.lines('error') };
}

/** Every object in the namespace with its resourceVersion: equal snapshots mean nothing changed. */
function snapshot() {
  const versions: Record<string, string> = {};
  for (const resource of ['apps/v1/deployments', 'v1/configmaps', 'v1/services', 'coordination.k8s.io/v1/leases'])
    for (const item of sim.store.list(resource, NS) as Deployment[])
      versions[`${resource}/${item.metadata?.name}`] = item.metadata?.resourceVersion ?? '';
  return versions;
}

beforeAll(async () => {
  clock = new VirtualClock();
  sim = await KubeSim.start({ clock, scenario: { namespaces: [NS] } });
  const behaviour = new BehaviourTable();
  behaviour.set('*', { readyAfter: '3s' });
  // Starts fine, then crashes 15 s after every start: restarts climb while the step is analysed.
  behaviour.set('ghcr.io/acme/cart:v2-bad', { readyAfter: '2s', crashLoop: { after: '15s' } });
  controllers = startControllers(sim.store, clock, behaviour);
  stopAuto = clock.startAutoAdvance().stop;
  client = await KubeClient.connect({ kubeconfig: sim.kubeconfig(), env: {}, workspace }, { clock });
  await app('web', 'ghcr.io/acme/web:v1');
  await app('cart', 'ghcr.io/acme/cart:v1');
  await app('auth', 'ghcr.io/acme/auth:v1', { tier: 'api' });
  await app('users', 'ghcr.io/acme/users:v1', { tier: 'api' });
});

afterAll(async () => {
  stopAuto?.();
  controllers?.stop();
  await sim?.stop();
});

const RESTARTS = '[{ name: restarts, provider: kubernetes, signal: restarts, max: 0 }]';

describe('canary-promote, strategy canary, replicas router', () => {
  it('runs a 5→25→50→100 release: canary with the new image and copied config, then the stable takes it', async () => {
    const started = clock.now();
    const { code, outputs, summary } = await run({
      deployments: 'web',
      images: 'app=ghcr.io/acme/web:v2',
      steps: '5,25,50,100',
      pause: '5m',
      analysis: RESTARTS,
      'router-config': '{ service: web }',
    });
    expect(code).toBe(0);
    expect(outputs['result']).toBe('promoted');
    expect(outputs['phase']).toBe('promoted');
    expect(outputs['weight']).toBe('100');
    expect(outputs['stable-image']).toBe('web/app=ghcr.io/acme/web:v1');
    expect(outputs['canary-image']).toBe('web/app=ghcr.io/acme/web:v2');
    // Three analysed steps of 5 minutes each, in virtual time.
    expect(clock.now() - started).toBeGreaterThanOrEqual(15 * 60_000);
    // The stable runs the new image with the versioned config copy; the canary is gone.
    expect(images('web')).toEqual(['ghcr.io/acme/web:v2']);
    const stable = get('apps/v1/deployments', 'web');
    expect(stable?.spec?.template?.spec?.containers?.[0]?.['envFrom']).toEqual([
      { configMapRef: { name: 'web-config-dav-v2' } },
    ]);
    expect(sim.store.find('v1/configmaps', NS, 'web-config-dav-v2')).toMatchObject({ data: { MODE: 'v1' } });
    expect(get('apps/v1/deployments', 'web-canary')).toBeUndefined();
    expect(replicas('web')).toBe(4);
    expect(stable?.status).toMatchObject({ updatedReplicas: 4, availableReplicas: 4 });
    // The record and the released lease.
    expect(record('web')).toMatchObject({
      phase: 'promoted',
      weight: 100,
      stableVersion: 'v1',
      canaryVersion: 'v2',
      runUrl: 'https://github.com/acme/shop/actions/runs/4242',
    });
    expect(record('web').verdicts.map((v: { weight: number; verdict: string }) => [v.weight, v.verdict])).toEqual([
      [5, 'pass'],
      [25, 'pass'],
      [50, 'pass'],
    ]);
    expect(sim.store.find('coordination.k8s.io/v1/leases', NS, 'deploy-actions-web')).toBeUndefined();
    // The summary: verdict, chart of weight over time, checks table.
    expect(summary).toContain('### web: v1 → v2: ✅ promoted');
    expect(summary).toContain('xychart-beta');
    expect(summary).toContain('Lines, in order: weight %');
    expect(summary).toMatch(/\| \+\d+s \| restarts \| 0 \| — \| /);
    const analysis = JSON.parse(outputs['analysis'] ?? '[]');
    expect(analysis.map((step: { weight: number }) => step.weight)).toEqual([5, 25, 50]);
    expect(JSON.parse(outputs['report'] ?? '{}')).toMatchObject({ verdict: 'promoted', canaryVersion: 'v2' });
  });

  it('aborts a release whose pods crash-loop: traffic back to stable, canary at 0, stable untouched', async () => {
    const before = get('apps/v1/deployments', 'cart')?.spec?.template;
    const { code, outputs, summary, errors } = await run({
      deployments: 'cart',
      images: 'app=ghcr.io/acme/cart:v2-bad',
      steps: '10,50,100',
      pause: '2m',
      analysis: RESTARTS,
      'router-config': '{ service: cart }',
    });
    expect(code).toBe(1);
    expect(outputs['result']).toBe('aborted');
    expect(outputs['weight']).toBe('0');
    expect(images('cart')).toEqual(['ghcr.io/acme/cart:v1']);
    expect(get('apps/v1/deployments', 'cart')?.spec?.template).toEqual(before);
    expect(replicas('cart')).toBe(4);
    expect(replicas('cart-canary')).toBe(0);
    expect(record('cart')).toMatchObject({ phase: 'aborted', weight: 0 });
    expect(record('cart').reason).toMatch(/^Aborted because step 1 \(10%\): /);
    expect(errors.join('\n')).toContain('Aborted because step 1 (10%)');
    expect(summary).toContain('❌ aborted');
    expect(summary).toMatch(/restarts \| [1-9]/);
  });

  it('moves several Deployments together, pauses at 50 with the record saved, refuses a second start, continues to promotion', async () => {
    const inputs = {
      selector: 'tier=api',
      app: 'api',
      images: 'auth/app=ghcr.io/acme/auth:v2\nusers/app=ghcr.io/acme/users:v2',
      steps: '25,50,100',
      pause: '1m',
      'pause-at': '50',
      analysis: RESTARTS,
    };
    const first = await run(inputs);
    expect(first.code).toBe(0);
    expect(first.outputs['result']).toBe('paused');
    expect(first.outputs['weight']).toBe('50');
    // Replica ratio: 2 of 4 pods on each canary, the stables shrunk to the rest, templates untouched.
    for (const name of ['auth', 'users']) {
      expect(replicas(`${name}-canary`)).toBe(2);
      expect(replicas(name)).toBe(2);
      expect(images(name)).toEqual([`ghcr.io/acme/${name}:v1`]);
      expect(images(`${name}-canary`)).toEqual([`ghcr.io/acme/${name}:v2`]);
    }
    expect(record('api')).toMatchObject({ phase: 'paused', weight: 50, stepIndex: 1 });
    expect(first.summary).toContain('⏸️ paused');

    const again = await run(inputs);
    expect(again.code).toBe(1);
    expect(again.errors.join('\n')).toMatch(
      /A rollout of "api" is already paused at 50%.*use action: continue, promote or abort/,
    );

    const second = await run(
      { app: 'api', action: 'continue', steps: '25,50,100', pause: '1m' },
      { GITHUB_RUN_ID: '4243' },
    );
    expect(second.code).toBe(0);
    expect(second.outputs['result']).toBe('promoted');
    for (const name of ['auth', 'users']) {
      expect(images(name)).toEqual([`ghcr.io/acme/${name}:v2`]);
      expect(replicas(name)).toBe(4);
      expect(get('apps/v1/deployments', `${name}-canary`)).toBeUndefined();
    }
  });

  it("refuses to start while another run holds the app's lease, naming that run", async () => {
    const now = new Date(clock.now()).toISOString().replace('Z', '000Z');
    await client.create('Lease', {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: 'deploy-actions-web',
        namespace: NS,
        annotations: { 'deploy-actions.dev/run-url': 'https://github.com/acme/shop/actions/runs/9999' },
      },
      spec: { holderIdentity: '9999-1', leaseDurationSeconds: 60, renewTime: now, acquireTime: now },
    });
    const { code, errors } = await run({
      deployments: 'web',
      images: 'app=ghcr.io/acme/web:v5',
      'router-config': '{ service: web }',
    });
    expect(code).toBe(1);
    expect(errors.join('\n')).toContain('held by 9999-1 (https://github.com/acme/shop/actions/runs/9999)');
    expect(get('apps/v1/deployments', 'web-canary')).toBeUndefined();
    await client.delete('Lease', { namespace: NS, name: 'deploy-actions-web' });
  });
});

describe('canary-promote refuses bad input before anything in the cluster changes', () => {
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['weights not increasing', { steps: '5,50,25' }, /Input 'steps': weights must increase/],
    ['a weight above 100', { steps: '5,150' }, /Input 'steps': step 2: weight 150 must be above 0 and at most 100/],
    ['an unknown router', { router: 'haproxy' }, /Input 'router'/],
    ['a missing Deployment', { deployments: 'nope' }, /Deployment not found in namespace "shop": nope/],
    [
      'an image naming no container',
      { images: 'sidecar=envoy:2' },
      /Input 'images': deployment "web" has no container "sidecar"/,
    ],
    ['a duration like 5 minutes', { pause: '5 minutes' }, /Input 'pause'/],
    ['a missing Service for the router', { 'router-config': '{ service: nope }' }, /nope/],
  ];
  it.each(cases)('%s', async (_name, inputs, message) => {
    const before = snapshot();
    const { code, errors } = await run({ deployments: 'web', images: 'app=ghcr.io/acme/web:v3', ...inputs });
    expect(code).toBe(1);
    expect(errors.join('\n')).toMatch(message);
    expect(snapshot()).toEqual(before);
  });

  it('a dry run prints the plan, checked by the API server, and changes nothing', async () => {
    const before = snapshot();
    const { code, outputs, summary } = await run({
      deployments: 'web',
      images: 'app=ghcr.io/acme/web:v3',
      'router-config': '{ service: web }',
      'dry-run': 'true',
    });
    expect(code).toBe(0);
    expect(outputs['result']).toBe('planned');
    expect(summary).toContain('create Deployment web-canary (app=ghcr.io/acme/web:v3)');
    expect(summary).toContain('create ConfigMap web-config-dav-v3');
    expect(summary).toContain('at promotion: Deployment web takes app=ghcr.io/acme/web:v3');
    expect(snapshot()).toEqual(before);
  });
});

describe('canary-promote, strategy blue-green, service router', () => {
  it('starts green beside blue, switches the Service selector in one patch, keeps blue for the delay, then promotes', async () => {
    await client.create('Deployment', {
      ...deployment('shop', 'ghcr.io/acme/shop:v1'),
      spec: {
        ...deployment('shop', 'ghcr.io/acme/shop:v1').spec,
        template: {
          metadata: { labels: { app: 'shop', version: 'v1' } },
          spec: { containers: [{ name: 'app', image: 'ghcr.io/acme/shop:v1' }] },
        },
      },
    });
    await client.create('Service', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'shop', namespace: NS },
      spec: { selector: { app: 'shop', version: 'v1' }, ports: [{ port: 80, targetPort: 8080 }] },
    });
    await waitForRollout(client, { kind: 'Deployment', namespace: NS, name: 'shop' }, { clock, timeoutMs: 600_000 });
    const selectors: string[] = [];
    const stop = sim.store.watch('v1/services', NS, undefined, (event) => {
      const object = event.object as { metadata?: { name?: string }; spec?: { selector?: Record<string, string> } };
      if (object.metadata?.name === 'shop') selectors.push(object.spec?.selector?.['version'] ?? '');
    });
    const started = clock.now();
    const { code, outputs, summary } = await run({
      strategy: 'blue-green',
      deployments: 'shop',
      images: 'app=ghcr.io/acme/shop:v2',
      router: 'service',
      'router-config': '{ active-service: shop, version-label: version }',
      'scale-down-delay': '2m',
    });
    stop();
    expect(code).toBe(0);
    expect(outputs['result']).toBe('promoted');
    expect(clock.now() - started).toBeGreaterThanOrEqual(2 * 60_000);
    // v1 (blue) → v2 (green, one patch) and it stays on v2 after the stable takes the new template.
    expect(selectors.filter((v, i) => v !== selectors[i - 1])).toEqual(['v1', 'v2']);
    expect(images('shop')).toEqual(['ghcr.io/acme/shop:v2']);
    expect(get('apps/v1/deployments', 'shop')?.spec?.template?.metadata?.labels).toMatchObject({ version: 'v2' });
    expect(get('apps/v1/deployments', 'shop-green')).toBeUndefined();
    expect(summary).toContain('### shop: v1 → v2: ✅ promoted');
  });
});
