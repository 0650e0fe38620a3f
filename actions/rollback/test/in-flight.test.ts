/**
 * rollback of a canary still in flight: canary-promote starts a release and
 * pauses at 25% (its state record says so), then rollback — with the default
 * `mode: auto` — finds the record and aborts the canary. On kube-sim with its
 * controllers, over HTTPS, on a virtual clock.
 */
import canaryPromote from '@deploy-actions/action-canary-promote';
import type { ActionDefinition } from '@deploy-actions/core/runtime';
import { type Cluster, startCluster } from '@deploy-actions/testkit/cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import rollback from '../src/main';

let c: Cluster;

const app = (name: string, image: string) => c.app(name, image, { progressDeadlineSeconds: null });
/** Each run its own GitHub run id (the lease holder), as separate workflow runs are. */
const run = <I>(action: ActionDefinition<I>, inputs: Record<string, string>) =>
  c.runAction(action, inputs, { env: { GITHUB_RUN_ID: String(c.clock.now()) } });
const deployment = (name: string) => c.deployment(name);
const record = (name: string) => c.record(name);

beforeAll(async () => {
  c = await startCluster({ namespace: 'shop', controllers: 'bare', env: { GITHUB_ACTOR: 'octocat' } });
  await app('web', 'ghcr.io/acme/web:v1');
  await app('cart', 'ghcr.io/acme/cart:v1');
});

afterAll(async () => {
  await c?.stop();
});

describe('rollback of a rollout in flight', () => {
  it('mode auto finds the paused canary and aborts it: traffic and pods back on stable', async () => {
    const started = await run(canaryPromote, {
      deployments: 'web',
      images: 'app=ghcr.io/acme/web:v2',
      steps: '25,50,100',
      pause: '1m',
      'pause-at': '25',
      'router-config': '{ service: web }',
    });
    expect(started.code).toBe(0);
    expect(record('web')).toMatchObject({ phase: 'paused', weight: 25 });
    expect(deployment('web-canary')?.spec?.replicas).toBe(1);

    const rolledBack = await run(rollback, { deployments: 'web', reason: 'checkout errors at 25%' });
    expect(rolledBack.code).toBe(0);
    expect(rolledBack.rt.lines('info')).toContain('mode auto: in-flight (a rollout of web is in flight)');
    expect(JSON.parse(rolledBack.outputs['result'] ?? '{}')).toMatchObject({
      verdict: 'rolled-back',
      mode: 'in-flight',
    });
    expect(record('web')).toMatchObject({ phase: 'aborted', weight: 0 });
    expect(record('web').reason).toContain('Rolled back by octocat: checkout errors at 25%');
    expect(deployment('web-canary')?.spec?.replicas ?? 0).toBe(0);
    expect(deployment('web')?.spec?.replicas).toBe(4);
    expect(deployment('web')?.spec?.template?.spec?.containers?.[0]?.image).toBe('ghcr.io/acme/web:v1');
    expect(JSON.parse(rolledBack.outputs['restored'] ?? '{}')).toEqual({
      web: {
        before: { images: { app: 'ghcr.io/acme/web:v2' } },
        after: { images: { app: 'ghcr.io/acme/web:v1' } },
        outcome: 'restored',
      },
    });
    expect(rolledBack.summary).toContain('Rolled back an in-flight canary of `web`');
  });

  it('mode in-flight says so when nothing is in flight, changing nothing', async () => {
    const { code, rt } = await run(rollback, { deployments: 'web', mode: 'in-flight' });
    expect(code).toBe(1);
    expect(rt.lines('error').join('\n')).toContain('The rollout of app "web" is not in flight (phase aborted');
  });

  it('finds a canary started with a selector and its own app from the selector alone, or from app alone', async () => {
    const started = await run(canaryPromote, {
      selector: 'app=cart',
      app: 'shop-cart',
      images: 'app=ghcr.io/acme/cart:v2',
      steps: '25,50,100',
      pause: '1m',
      'pause-at': '25',
      'router-config': '{ service: cart }',
    });
    expect(started.code).toBe(0);
    expect(record('shop-cart')).toMatchObject({ phase: 'paused', weight: 25 });
    expect(record('cart')).toBeUndefined();

    // The selector also matches cart-canary (it carries cart's labels): only the stable counts.
    const rolledBack = await run(rollback, { selector: 'app=cart', mode: 'in-flight', reason: 'cart 5xx' });
    expect(rolledBack.rt.lines('error')).toEqual([]);
    expect(rolledBack.code).toBe(0);
    expect(JSON.parse(rolledBack.outputs['result'] ?? '{}')).toMatchObject({ mode: 'in-flight', app: 'shop-cart' });
    expect(record('shop-cart')).toMatchObject({ phase: 'aborted', weight: 0 });
    expect(deployment('cart-canary')?.spec?.replicas ?? 0).toBe(0);
    expect(deployment('cart')?.spec?.replicas).toBe(4);
    expect(deployment('cart')?.spec?.template?.spec?.containers?.[0]?.image).toBe('ghcr.io/acme/cart:v1');

    const again = await run(canaryPromote, {
      selector: 'app=cart',
      app: 'shop-cart',
      images: 'app=ghcr.io/acme/cart:v3',
      steps: '25,50,100',
      pause: '1m',
      'pause-at': '25',
      'router-config': '{ service: cart }',
    });
    expect(again.code).toBe(0);
    const byApp = await run(rollback, { app: 'shop-cart', reason: 'cart 5xx again' });
    expect(byApp.code).toBe(0);
    expect(byApp.rt.lines('info')).toContain('mode auto: in-flight (a rollout of shop-cart is in flight)');
    expect(record('shop-cart')).toMatchObject({ phase: 'aborted', canaryVersion: 'v3' });
  });

  it('mode auto after canary-promote aborted a release: nothing to roll back, the stable still serves', async () => {
    await app('feed', 'ghcr.io/acme/feed:v1');
    c.behaviour.set('ghcr.io/acme/feed:v2-bad', { readyAfter: '2s', crashLoop: { after: '15s' } });
    const aborted = await run(canaryPromote, {
      deployments: 'feed',
      images: 'app=ghcr.io/acme/feed:v2-bad',
      steps: '25,100',
      pause: '2m',
      analysis: '[{ name: restarts, provider: kubernetes, signal: restarts, max: 0 }]',
      'router-config': '{ service: feed }',
    });
    expect(aborted.outputs['result']).toBe('aborted');
    const template = deployment('feed')?.spec?.template;

    // As leanvibe-production.yml's `if: failure()` step runs it: default mode, the Deployment, a reason.
    const { code, rt, outputs, summary } = await run(rollback, { deployments: 'feed', reason: 'release failed' });
    expect(rt.lines('error')).toEqual([]);
    expect(code).toBe(0);
    expect(JSON.parse(outputs['result'] ?? '{}')).toMatchObject({
      verdict: 'nothing-to-roll-back',
      mode: 'auto',
      app: 'feed',
      serving: 'v1',
      phase: 'aborted',
    });
    expect(JSON.parse(outputs['restored'] ?? '{}')).toEqual({
      feed: {
        before: { images: { app: 'ghcr.io/acme/feed:v1' } },
        after: { images: { app: 'ghcr.io/acme/feed:v1' } },
        outcome: 'skipped',
      },
    });
    expect(summary).toContain('Nothing to roll back: the release of v2-bad was aborted');
    expect(summary).toContain('v1 is serving, as before it started');
    expect(summary).toContain('| feed | app=ghcr.io/acme/feed:v1 |');
    // Nothing was written: the stable's template (and so its revision) is as the abort left it.
    expect(deployment('feed')?.spec?.template).toEqual(template);
    expect(deployment('feed')?.metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe('1');

    // An explicit mode kubernetes still means `rollout undo`, which has no previous revision here.
    const undo = await run(rollback, { deployments: 'feed', mode: 'kubernetes' });
    expect(undo.code).toBe(1);
  });

  it('names the app input when nothing identifies the rollout', async () => {
    const { code, rt } = await run(rollback, { mode: 'in-flight' });
    expect(code).toBe(1);
    expect(rt.lines('error').join('\n')).toContain("Input 'deployments': name the Deployments to roll back");
  });
  it("mode in-flight refuses while another run holds the app's lease, naming it, and takes and releases it otherwise", async () => {
    await app('mail', 'ghcr.io/acme/mail:v1');
    const started = await run(canaryPromote, {
      deployments: 'mail',
      images: 'app=ghcr.io/acme/mail:v2',
      steps: '25,50,100',
      pause: '1m',
      'pause-at': '25',
      'router-config': '{ service: mail }',
    });
    expect(started.code).toBe(0);
    expect(record('mail')).toMatchObject({ phase: 'paused', weight: 25 });
    // A promote of mail in another workflow holds the lease now.
    const now = new Date(c.clock.now()).toISOString().replace('Z', '000Z');
    await c.client.create('Lease', {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: 'deploy-actions-mail',
        namespace: 'shop',
        annotations: { 'deploy-actions.dev/run-url': 'https://github.com/acme/shop/actions/runs/9999' },
      },
      spec: { holderIdentity: '9999-1', leaseDurationSeconds: 600, renewTime: now, acquireTime: now },
    });
    const refused = await run(rollback, { deployments: 'mail', mode: 'in-flight', reason: 'mail 5xx' });
    expect(refused.code).toBe(1);
    expect(refused.rt.lines('error').join('\n')).toContain(
      'Another run is rolling out "mail" in "shop": lease deploy-actions-mail is held by 9999-1 (https://github.com/acme/shop/actions/runs/9999)',
    );
    expect(record('mail')).toMatchObject({ phase: 'paused', weight: 25 });
    expect(deployment('mail-canary')?.spec?.replicas).toBe(1);
    expect(
      c.find<{ spec?: { holderIdentity?: string } }>('coordination.k8s.io/v1/leases', 'deploy-actions-mail')?.spec
        ?.holderIdentity,
    ).toBe('9999-1');

    await c.client.delete('Lease', { namespace: 'shop', name: 'deploy-actions-mail' });
    const rolledBack = await run(rollback, { deployments: 'mail', mode: 'in-flight', reason: 'mail 5xx' });
    expect(rolledBack.code).toBe(0);
    expect(record('mail')).toMatchObject({ phase: 'aborted', weight: 0 });
    expect(deployment('mail-canary')?.spec?.replicas ?? 0).toBe(0);
    // Taken for the abort and handed back after it.
    expect(c.find('coordination.k8s.io/v1/leases', 'deploy-actions-mail')).toBeUndefined();
  });
});
