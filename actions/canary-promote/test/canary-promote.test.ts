/**
 * canary-promote end to end on kube-sim over HTTPS: the action's adapter, the
 * rollout state machine, the replicas and service routers and the simulated
 * Deployment controller and kubelet, all on one virtual clock that jumps ahead
 * whenever the process is idle (a 20-minute release runs in about a second).
 */
import { type Cluster, startCluster } from '@deploy-actions/testkit/cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import canaryPromote from '../src/main';

const NS = 'shop';
let c: Cluster;

const images = (name: string) => c.images(name);
const replicas = (name: string) => c.replicas(name);
const record = (name: string) => c.record(name);
// 4-pod apps cannot serve the default steps' 5% exactly: these tests take the nearest share (weights-served.test.ts
// tests the refusal).
const run = (inputs: Record<string, string>, env: Record<string, string> = {}) =>
  c.run({ 'weight-rounding': 'nearest', ...inputs }, { env });

beforeAll(async () => {
  c = await startCluster({
    namespace: NS,
    controllers: 'bare',
    // Starts fine, then crashes 15 s after every start: restarts climb while the step is analysed.
    behaviour: { 'ghcr.io/acme/cart:v2-bad': { readyAfter: '2s', crashLoop: { after: '15s' } } },
    action: canaryPromote,
  });
  await c.app('web', 'ghcr.io/acme/web:v1', { config: true });
  await c.app('cart', 'ghcr.io/acme/cart:v1', { config: true });
  await c.app('auth', 'ghcr.io/acme/auth:v1', { config: true, labels: { tier: 'api' } });
  await c.app('users', 'ghcr.io/acme/users:v1', { config: true, labels: { tier: 'api' } });
});

afterAll(async () => {
  await c?.stop();
});

const RESTARTS = '[{ name: restarts, provider: kubernetes, signal: restarts, max: 0 }]';

describe('canary-promote, strategy canary, replicas router', () => {
  it('runs a 5→25→50→100 release: canary with the new image and copied config, then the stable takes it', async () => {
    const started = c.clock.now();
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
    expect(c.clock.now() - started).toBeGreaterThanOrEqual(15 * 60_000);
    // The stable runs the new image with the versioned config copy; the canary is gone.
    expect(images('web')).toEqual(['ghcr.io/acme/web:v2']);
    const stable = c.deployment('web');
    expect(stable?.spec?.template?.spec?.containers?.[0]?.['envFrom']).toEqual([
      { configMapRef: { name: 'web-config-dav-v2' } },
    ]);
    expect(c.sim.store.find('v1/configmaps', NS, 'web-config-dav-v2')).toMatchObject({ data: { MODE: 'v1' } });
    expect(c.deployment('web-canary')).toBeUndefined();
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
    expect(c.sim.store.find('coordination.k8s.io/v1/leases', NS, 'deploy-actions-web')).toBeUndefined();
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
    const before = c.deployment('cart')?.spec?.template;
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
    expect(c.deployment('cart')?.spec?.template).toEqual(before);
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
      expect(c.deployment(`${name}-canary`)).toBeUndefined();
    }
  });

  it("refuses to start while another run holds the app's lease, naming that run", async () => {
    const now = new Date(c.clock.now()).toISOString().replace('Z', '000Z');
    await c.client.create('Lease', {
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
    expect(c.deployment('web-canary')).toBeUndefined();
    await c.client.delete('Lease', { namespace: NS, name: 'deploy-actions-web' });
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
    const before = c.snapshot();
    const { code, errors } = await run({ deployments: 'web', images: 'app=ghcr.io/acme/web:v3', ...inputs });
    expect(code).toBe(1);
    expect(errors.join('\n')).toMatch(message);
    expect(c.snapshot()).toEqual(before);
  });

  it('a dry run prints the plan, checked by the API server, and changes nothing', async () => {
    const before = c.snapshot();
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
    expect(c.snapshot()).toEqual(before);
  });
});

describe('canary-promote, strategy blue-green, service router', () => {
  it('starts green beside blue, switches the Service selector in one patch, keeps blue for the delay, then promotes', async () => {
    await c.app('shop', 'ghcr.io/acme/shop:v1', { service: false, podLabels: { version: 'v1' } });
    await c.client.create('Service', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'shop', namespace: NS },
      spec: { selector: { app: 'shop', version: 'v1' }, ports: [{ port: 80, targetPort: 8080 }] },
    });
    const selectors: string[] = [];
    const stop = c.sim.store.watch('v1/services', NS, undefined, (event) => {
      const object = event.object as { metadata?: { name?: string }; spec?: { selector?: Record<string, string> } };
      if (object.metadata?.name === 'shop') selectors.push(object.spec?.selector?.['version'] ?? '');
    });
    const started = c.clock.now();
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
    expect(c.clock.now() - started).toBeGreaterThanOrEqual(2 * 60_000);
    // v1 (blue) → v2 (green, one patch) and it stays on v2 after the stable takes the new template.
    expect(selectors.filter((v, i) => v !== selectors[i - 1])).toEqual(['v1', 'v2']);
    expect(images('shop')).toEqual(['ghcr.io/acme/shop:v2']);
    expect(c.deployment('shop')?.spec?.template?.metadata?.labels).toMatchObject({ version: 'v2' });
    expect(c.deployment('shop-green')).toBeUndefined();
    expect(summary).toContain('### shop: v1 → v2: ✅ promoted');
  });
});
