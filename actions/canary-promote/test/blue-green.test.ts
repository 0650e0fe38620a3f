/**
 * Blue-green with a preview Service and preview checks, on kube-sim in virtual time. The order a user
 * relies on (Argo Rollouts' and the runbooks' "test green before switching"): green Available → the
 * preview Service created (or re-pointed) at green's version → preview checks through it → the active
 * Service switched in one patch. A failed check aborts with the active Service untouched, and the preview
 * Service never keeps pointing at a green that is scaled away: deleted when we created it, pointed back
 * when it is the user's.
 */
import type { KubeObject } from '@deploy-actions/core/kube';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, NS, startCluster } from './cluster';

let c: Cluster;

beforeAll(async () => {
  c = await startCluster(11);
  // Runs and is Ready, but its health endpoint answers 503.
  c.sim.behaviour.set('ghcr.io/acme/*:v2-sick', { readyAfter: '2s', http: { routes: { '/health': { status: 503 } } } });
});

afterAll(async () => {
  await c?.stop();
});

type Svc = KubeObject & { spec?: { selector?: Record<string, string> } };
const service = (name: string) => c.find<Svc>('v1/services', name);

/** A versioned app: Service `name` selects app + version (the active Service of blue-green). */
async function versionedApp(name: string) {
  await c.app(name, `ghcr.io/acme/${name}:v1`, { podLabels: { version: 'v1' } });
  await c.client.patch(
    'Service',
    { namespace: NS, name },
    { spec: { selector: { app: name, version: 'v1' } } },
    'merge',
  );
}

/** Every change of the named Services' `version` selector, in order, as [service, version]. */
function watchSelectors(names: string[]) {
  const seen: Array<[string, string | undefined]> = [];
  // What they select now: only changes count.
  const initial = Object.fromEntries(names.map((name) => [name, service(name)?.spec?.selector?.['version']]));
  const stop = c.sim.store.watch('v1/services', NS, undefined, (event) => {
    const object = event.object as Svc;
    const name = object.metadata?.name ?? '';
    if (!names.includes(name)) return;
    const version = event.type === 'DELETED' ? 'deleted' : object.spec?.selector?.['version'];
    const last = seen.filter(([n]) => n === name).at(-1)?.[1] ?? initial[name];
    if (last !== version) seen.push([name, version]);
  });
  return { seen, stop };
}

const inputs = (name: string, image: string, preview: string) => ({
  strategy: 'blue-green',
  deployments: name,
  images: `app=ghcr.io/acme/${name}:${image}`,
  router: 'service',
  'router-config': `{ active-service: ${name}, preview-service: ${preview}, version-label: version }`,
  'preview-checks': `[{ name: green is healthy, request: { service: '${preview}:80/health' }, expect: { status: 200 } }]`,
  'scale-down-delay': '2m',
});

describe('blue-green preview', () => {
  it('points the preview Service at green before the checks, then switches the active Service', async () => {
    await versionedApp('web');
    const served = (version: string) => c.sim.apps.metrics.total({ namespace: NS, app: 'web', version });
    const before = { v1: served('v1'), v2: served('v2') };
    const watch = watchSelectors(['web', 'web-preview']);
    const { code, outputs, summary } = await c.run(inputs('web', 'v2', 'web-preview'));
    watch.stop();
    expect(code).toBe(0);
    expect(outputs['result']).toBe('promoted');
    // Preview first (created at v2), checked, then the one switch of the active Service; the preview we
    // created is deleted at promotion.
    expect(watch.seen).toEqual([
      ['web-preview', 'v2'],
      ['web', 'v2'],
      ['web-preview', 'deleted'],
    ]);
    // The check was answered by green, through the preview Service.
    expect(served('v2') - before.v2).toBe(1);
    expect(served('v1') - before.v1).toBe(0);
    expect(service('web')?.spec?.selector).toEqual({ app: 'web', version: 'v2' });
    expect(c.images('web')).toEqual(['ghcr.io/acme/web:v2']);
    expect(c.deployment('web-green')).toBeUndefined();
    expect(summary).toContain('Service shop/web-preview (preview) selects version=v2');
  });

  it('a failed check aborts before the switch; the preview Service it created is removed', async () => {
    await versionedApp('cart');
    const { code, outputs, errors } = await c.run(inputs('cart', 'v2-sick', 'cart-preview'));
    expect(code).toBe(1);
    expect(outputs['result']).toBe('aborted');
    expect(errors.join('\n')).toContain('Aborted before the switch because preview checks failed');
    expect(errors.join('\n')).toContain('green is healthy');
    expect(service('cart')?.spec?.selector).toEqual({ app: 'cart', version: 'v1' });
    expect(service('cart-preview')).toBeUndefined();
    expect(c.replicas('cart-green')).toBe(0);
    expect(c.images('cart')).toEqual(['ghcr.io/acme/cart:v1']);
    expect(c.record('cart')).toMatchObject({ phase: 'aborted', weight: 0 });
  });

  it("the user's own preview Service is pointed at green, then back at what it selected after an abort", async () => {
    await versionedApp('auth');
    await c.client.create('Service', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'auth-preview', namespace: NS, labels: { team: 'identity' } },
      spec: { selector: { app: 'auth', version: 'v1' }, ports: [{ port: 80, targetPort: 8080 }] },
    });
    const watch = watchSelectors(['auth', 'auth-preview']);
    const { outputs } = await c.run(inputs('auth', 'v2-sick', 'auth-preview'));
    watch.stop();
    expect(outputs['result']).toBe('aborted');
    expect(watch.seen).toEqual([
      ['auth-preview', 'v2-sick'],
      ['auth-preview', 'v1'],
    ]);
    const preview = service('auth-preview');
    expect(preview?.spec?.selector).toEqual({ app: 'auth', version: 'v1' });
    expect(preview?.metadata?.labels).toEqual({ team: 'identity' });
    expect(preview?.metadata?.annotations?.['deploy-actions.dev/preview-previous-selector']).toBeUndefined();
    expect(service('auth')?.spec?.selector).toEqual({ app: 'auth', version: 'v1' });
  });
});

describe('blue-green with scale-down-delay: manual', () => {
  /** Start with blue kept after the switch: the step ends switched, paused, and a later job decides. */
  async function switched(name: string) {
    await versionedApp(name);
    const started = await c.run({ ...inputs(name, 'v2', `${name}-preview`), 'scale-down-delay': 'manual' });
    expect(started.errors).toEqual([]);
    expect(started.outputs['result']).toBe('paused');
    expect(started.outputs['phase']).toBe('switched');
    expect(c.record(name)).toMatchObject({ phase: 'switched', weight: 100 });
    // Users are on green; blue is still there at full size, on the old version.
    expect(service(name)?.spec?.selector).toEqual({ app: name, version: 'v2' });
    expect(c.images(name)).toEqual([`ghcr.io/acme/${name}:v1`]);
    expect(c.deployment(name)?.status?.readyReplicas).toBe(4);
    expect(c.replicas(`${name}-green`)).toBe(4);
    expect(started.summary).toContain('blue (v1) stays until action: finalize removes it, or action: abort');
  }

  it('a later finalize removes blue: the stable takes v2, green goes, the Service stays on v2', async () => {
    await switched('news');
    const watch = watchSelectors(['news']);
    const finalize = await c.run({ app: 'news', action: 'finalize' }, { env: { GITHUB_RUN_ID: '4401' } });
    watch.stop();
    expect(finalize.errors).toEqual([]);
    expect(finalize.outputs['result']).toBe('promoted');
    expect(watch.seen).toEqual([]);
    expect(c.images('news')).toEqual(['ghcr.io/acme/news:v2']);
    expect(c.deployment('news-green')).toBeUndefined();
    expect(c.record('news')).toMatchObject({ phase: 'promoted' });
  });

  it('a later abort switches the active Service back to blue in one patch and scales green to 0', async () => {
    await switched('feed');
    const watch = watchSelectors(['feed']);
    const abort = await c.run({ app: 'feed', action: 'abort' }, { env: { GITHUB_RUN_ID: '4402' } });
    watch.stop();
    expect(abort.outputs['result']).toBe('aborted');
    expect(watch.seen).toEqual([['feed', 'v1']]);
    expect(c.images('feed')).toEqual(['ghcr.io/acme/feed:v1']);
    expect(c.replicas('feed')).toBe(4);
    expect(c.replicas('feed-green')).toBe(0);
    expect(c.record('feed')).toMatchObject({ phase: 'aborted', weight: 0 });
  });

  it('refuses a scale-down-delay that is neither a duration nor manual', async () => {
    await versionedApp('docs');
    const before = c.snapshot();
    const refused = await c.run({ ...inputs('docs', 'v2', 'docs-preview'), 'scale-down-delay': 'later' });
    expect(refused.errors.join('\n')).toMatch(
      /^Input 'scale-down-delay': must be a duration \(30s, 5m, 1h30m\) or manual .*Example: scale-down-delay: 30m/,
    );
    expect(c.snapshot()).toEqual(before);
  });
});

describe('blue-green: what the switch needs is checked before anything is created', () => {
  it('a pod template without the version label is refused before green exists', async () => {
    // Service and pods without any version label: nothing for the selector to switch on.
    await c.app('lamp', 'ghcr.io/acme/lamp:v1');
    const before = c.snapshot();
    const refused = await c.run({
      strategy: 'blue-green',
      deployments: 'lamp',
      images: 'app=ghcr.io/acme/lamp:v2',
      router: 'service',
      'router-config': '{ active-service: lamp, version-label: version }',
      'scale-down-delay': '2m',
    });
    expect(refused.code).toBe(1);
    expect(refused.errors.join('\n')).toContain(
      "router-config version-label 'version' is missing from the pod template labels of Deployment 'lamp'",
    );
    expect(refused.errors.join('\n')).toContain('e.g. version: v1');
    expect(c.deployment('lamp-green')).toBeUndefined();
    expect(c.snapshot()).toEqual(before);
    expect(c.record('lamp')).toBeUndefined();
  });

  it("an active Service whose selector lacks the version label is refused: green's pods would take traffic while starting", async () => {
    await c.app('desk', 'ghcr.io/acme/desk:v1', { podLabels: { version: 'v1' } });
    const before = c.snapshot();
    const refused = await c.run({
      strategy: 'blue-green',
      deployments: 'desk',
      images: 'app=ghcr.io/acme/desk:v2',
      router: 'service',
      'router-config': '{ active-service: desk, version-label: version }',
    });
    expect(refused.code).toBe(1);
    const text = refused.errors.join('\n');
    expect(text).toContain("Service 'desk' selects app=desk without the version label 'version'");
    expect(text).toContain('e.g. selector: { app: desk, version: v1 }');
    expect(c.deployment('desk-green')).toBeUndefined();
    expect(c.snapshot()).toEqual(before);
  });

  it('a switch that fails after green started leaves blue serving, green at 0 and the record aborted', async () => {
    await versionedApp('shelf');
    // Someone adds a label to the active Service's selector that green's pods lack, while green starts.
    const stop = c.sim.store.watch('apps/v1/deployments', NS, undefined, (event) => {
      const object = event.object as KubeObject;
      if (event.type !== 'ADDED' || object.metadata?.name !== 'shelf-green') return;
      void c.client.patch(
        'Service',
        { namespace: NS, name: 'shelf' },
        { spec: { selector: { tier: 'legacy' } } },
        'merge',
      );
    });
    const { code, errors } = await c.run({
      strategy: 'blue-green',
      deployments: 'shelf',
      images: 'app=ghcr.io/acme/shelf:v2',
      router: 'service',
      'router-config': '{ active-service: shelf, version-label: version }',
      'scale-down-delay': '2m',
    });
    stop();
    expect(code).toBe(1);
    const text = errors.join('\n');
    expect(text).toContain("Service 'shelf' selector tier=legacy does not match the canary Deployment's pod labels");
    expect(text).toContain('Blue (v1) serves all traffic and green was scaled to 0 (record phase: aborted)');
    expect(service('shelf')?.spec?.selector).toMatchObject({ app: 'shelf', version: 'v1' });
    expect(c.replicas('shelf-green')).toBe(0);
    expect(c.images('shelf')).toEqual(['ghcr.io/acme/shelf:v1']);
    expect(c.record('shelf')).toMatchObject({ phase: 'aborted', weight: 0 });
  });
});

describe('blue-green: the plan and the steps', () => {
  it('the dry run is the blue-green plan: green at full size, Available, preview, checks, the switch, blue kept', async () => {
    await versionedApp('mint');
    const before = c.snapshot();
    const { code, outputs, summary } = await c.run({
      ...inputs('mint', 'v2', 'mint-preview'),
      analysis: '[{ name: restarts, provider: kubernetes, signal: restarts, max: 0 }]',
      'dry-run': 'true',
    });
    expect(code).toBe(0);
    expect(outputs['result']).toBe('planned');
    const plan = JSON.parse(outputs['report'] ?? '{}').plan as string[];
    expect(plan).toEqual([
      'create Deployment mint-green (app=ghcr.io/acme/mint:v2) with 4 replicas, as many as mint (server dry run passed)',
      'wait until mint-green is Available, every pod Ready (at most 30m); if not, green is scaled to 0 and blue keeps serving',
      'point Service shop/mint-preview (preview) at version=v2',
      'run the preview checks against green (green is healthy); a failure scales green to 0 before the switch, blue keeps serving',
      'patch Service shop/mint spec.selector version: v1 → v2 (server dry run passed)',
      'keep blue (mint, v1) at full size for scale-down-delay 2m, checking restarts (a failure switches back to blue)',
      'then: Deployment mint takes app=ghcr.io/acme/mint:v2 (server dry run passed), then mint-green is deleted',
    ]);
    expect(summary).not.toContain('at 5%');
    expect(c.snapshot()).toEqual(before);
  });

  it('with scale-down-delay manual the plan keeps blue until finalize', async () => {
    await versionedApp('sage');
    const { outputs } = await c.run({
      ...inputs('sage', 'v2', 'sage-preview'),
      'scale-down-delay': 'manual',
      'dry-run': 'true',
    });
    const plan = JSON.parse(outputs['report'] ?? '{}').plan as string[];
    expect(plan.slice(-2)).toEqual([
      'keep blue (sage, v1) at full size until action: finalize (or action: abort switches back)',
      'at finalize: Deployment sage takes app=ghcr.io/acme/sage:v2 (server dry run passed), then sage-green is deleted',
    ]);
  });

  it('refuses steps below 100: blue-green switches in one patch', async () => {
    await versionedApp('plum');
    const before = c.snapshot();
    const refused = await c.run({ ...inputs('plum', 'v2', 'plum-preview'), steps: '25,100' });
    expect(refused.code).toBe(1);
    expect(refused.errors.join('\n')).toMatch(
      /^Input 'steps': blue-green switches all traffic to green in one patch after the preview checks, so weights below 100 \(25%\) would never be used: .* \(got "25,100"\)\. Example: steps: 100, or \[\{ weight: 100/,
    );
    expect(c.snapshot()).toEqual(before);
    // The one step at 100 is taken: its pause and analysis run after the switch.
    const planned = await c.run({ ...inputs('plum', 'v2', 'plum-preview'), steps: '100', 'dry-run': 'true' });
    expect(planned.outputs['result']).toBe('planned');
  });

  it('refuses router service with strategy canary: it cannot send a share', async () => {
    await versionedApp('pear');
    const before = c.snapshot();
    const refused = await c.run({ ...inputs('pear', 'v2', 'pear-preview'), strategy: 'canary' });
    expect(refused.code).toBe(1);
    expect(refused.errors.join('\n')).toMatch(/^Input 'router': service switches a Service selector/);
    expect(c.snapshot()).toEqual(before);
  });
});
