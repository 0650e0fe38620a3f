/**
 * An abort while the stable takes the new version (record phase promoting): a promotion whose stable rollout
 * never becomes ready, then the post step's abort (and a hand abort). The abort must roll the stable back to
 * the revision it ran before the promotion, so the cluster serves the old version the record names, not leave
 * it on the new one (or part-way) under a record that says aborted.
 */
import type { KubeObject, PodTemplateSpec } from '@deploy-actions/core/kube';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, startCluster } from './cluster';

let c: Cluster;

beforeAll(async () => {
  c = await startCluster(17);
});

afterAll(async () => {
  await c?.stop();
});

/** A canary of v2 paused at 50 %, then v2's new pods never Ready: a promotion that times out. */
async function failedPromotion(app: string) {
  await c.app(app, `ghcr.io/acme/${app}:v1`);
  const inputs = {
    deployments: app,
    images: `app=ghcr.io/acme/${app}:v2`,
    steps: '50,100',
    pause: '1m',
    'pause-at': '50',
    'router-config': `{ service: ${app} }`,
  };
  const paused = await c.run(inputs);
  expect(paused.outputs['result']).toBe('paused');
  const revision = c.deployment(app)?.metadata?.annotations?.['deployment.kubernetes.io/revision'];
  // The canary's pods started already and stay Ready; the stable's new pods never are.
  c.sim.behaviour.set(`ghcr.io/acme/${app}:v2`, { readyAfter: 'never' });
  const promote = await c.run({ app, action: 'promote', timeout: '3m' });
  expect(promote.code).toBe(1);
  const error = promote.errors.join('\n');
  expect(error).toContain('Promotion of v2 did not finish');
  expect(error).toContain(
    'run action: promote again to finish it, or action: abort (what the post step of this job does with on-cancel: abort',
  );
  expect(error).toContain('to roll them back to v1, the revision each ran before');
  expect(c.record(app)).toMatchObject({ phase: 'promoting' });
  // The outputs say so too: result is the verdict word, phase the record's, the JSON document in report.
  expect(promote.outputs['result']).toBe('failed');
  expect(promote.outputs['phase']).toBe('promoting');
  expect(JSON.parse(promote.outputs['report'] ?? '{}')).toMatchObject({
    action: 'canary-promote',
    verdict: 'failure',
    error: expect.stringContaining('Promotion of v2 did not finish'),
  });
  expect(c.images(app)).toEqual([`ghcr.io/acme/${app}:v2`]);
  const state = Object.fromEntries(
    ['rollout-app', 'rollout-finished'].map((key) => [key, promote.rt.state.get(key) ?? '']),
  );
  expect(state).toEqual({ 'rollout-app': app, 'rollout-finished': 'false' });
  return { state, revision: Number(revision) };
}

async function expectOldVersionServing(app: string) {
  expect(c.images(app)).toEqual([`ghcr.io/acme/${app}:v1`]);
  // Back at its size before the canary (the router's abort gives the replicas back once v1 runs).
  expect(c.replicas(app)).toBe(4);
  await c.clock.sleep(30_000);
  expect(c.deployment(app)?.status).toMatchObject({ updatedReplicas: 4, availableReplicas: 4, replicas: 4 });
  expect(c.replicas(`${app}-canary`)).toBe(0);
  expect(c.record(app)).toMatchObject({ phase: 'aborted', weight: 0 });
}

describe('abort during phase promoting', () => {
  it('the post step after a failed promotion rolls the stable back to its revision before it and says so', async () => {
    const { state, revision } = await failedPromotion('web');
    const post = await c.run({ app: 'web', action: 'promote' }, { phase: 'post', state });
    expect(post.code).toBe(0);
    const said = post.warnings.join('\n');
    expect(said).toContain('Aborted by the post step');
    expect(said).toContain(
      `The promotion of v2 had begun: the stable Deployments were rolled back (web to revision ${revision}) and web runs v1; traffic is back on it and the canary at 0.`,
    );
    await expectOldVersionServing('web');
    expect(c.record('web').reason).toContain('web runs v1');
  });

  it('a post step timed out in a stuck abort still hands the Lease back', async () => {
    const { state } = await failedPromotion('pay');
    const lease = () => c.find('coordination.k8s.io/v1/leases', 'deploy-actions-pay');
    // v1's pods are replaced by pods that never become ready: the abort's wait for the stable never ends.
    c.sim.behaviour.set('ghcr.io/acme/pay:v1', { readyAfter: 'never' });
    const pods = await c.client.list<KubeObject & { spec?: { containers?: { image?: string }[] } }>('Pod', {
      namespace: c.namespace,
      labelSelector: 'app=pay',
    });
    for (const pod of pods.items)
      if (pod.spec?.containers?.[0]?.image === 'ghcr.io/acme/pay:v1')
        await c.client.delete('Pod', { namespace: c.namespace, name: pod.metadata?.name });
    const post = await c.run({ app: 'pay', action: 'promote', timeout: '2m' }, { phase: 'post', state });
    expect(post.code).toBe(1);
    expect(post.errors.join('\n')).toContain('Timed out after 2m');
    expect(c.record('pay')).toMatchObject({ phase: 'aborting' });
    expect(lease()).toBeUndefined();
  });

  it('no ReplicaSet left with the template before the promotion: the hand fix names its images and its ConfigMaps and Secrets', async () => {
    await c.app('mall', 'ghcr.io/acme/mall:v1', { config: true });
    const paused = await c.run({
      deployments: 'mall',
      images: 'app=ghcr.io/acme/mall:v2',
      steps: '50,100',
      pause: '1m',
      'pause-at': '50',
      'router-config': '{ service: mall }',
    });
    expect(paused.outputs['result']).toBe('paused');
    c.sim.behaviour.set('ghcr.io/acme/mall:v2', { readyAfter: 'never' });
    const promote = await c.run({ app: 'mall', action: 'promote', timeout: '3m' });
    expect(promote.code).toBe(1);
    // The ReplicaSet of v1's template is gone (deleted by hand, or past revisionHistoryLimit).
    const replicaSets = await c.client.list<KubeObject & { spec?: { template?: PodTemplateSpec } }>('ReplicaSet', {
      namespace: c.namespace,
      labelSelector: 'app=mall',
    });
    for (const replicaSet of replicaSets.items)
      if (replicaSet.spec?.template?.spec?.containers?.[0]?.image === 'ghcr.io/acme/mall:v1')
        await c.client.delete('ReplicaSet', { namespace: c.namespace, name: replicaSet.metadata?.name });
    const abort = await c.run({ app: 'mall', action: 'abort', timeout: '3m' });
    expect(abort.code).toBe(1);
    const error = abort.errors.join('\n');
    expect(error).toContain(
      'Deployment mall has no ReplicaSet left with the template it ran before the promotion (app=ghcr.io/acme/mall:v1; ConfigMaps: mall-config; Secrets: none; revisions: 2)',
    );
    expect(error).toContain(
      'give it those images and those ConfigMap and Secret names by hand (rollback with mode: kubernetes and its revision, or kubectl set image plus kubectl edit for the ConfigMap and Secret references)',
    );
  });

  it('action: abort does the same', async () => {
    await failedPromotion('shop');
    const abort = await c.run({ app: 'shop', action: 'abort' });
    // An abort fails the step (as every aborted rollout does), saying where things stand.
    expect(abort.errors).toEqual([
      'Aborted by hand. The promotion of v2 had begun: the stable Deployments were rolled back (shop to revision 1) and shop runs v1; traffic is back on it and the canary at 0.',
    ]);
    expect(abort.outputs['result']).toBe('aborted');
    await expectOldVersionServing('shop');
    expect(abort.summary).toContain('shop runs v1');
  });

  it('promote run again after a failed promotion keeps the revision the stable ran before it: abort restores v1', async () => {
    const { revision } = await failedPromotion('cart');
    // The second promote finds the stable on v2 (its new revision): what it ran before is still revision 1.
    const again = await c.run({ app: 'cart', action: 'promote', timeout: '3m' });
    expect(again.code).toBe(1);
    expect(again.errors.join('\n')).toContain('Promotion of v2 did not finish');
    expect(c.record('cart')).toMatchObject({ phase: 'promoting' });
    expect(c.record('cart').workloads[0]).toMatchObject({
      stableRevision: revision,
      stableTemplate: { images: { app: 'ghcr.io/acme/cart:v1' }, configMaps: [], secrets: [] },
    });
    const abort = await c.run({ app: 'cart', action: 'abort', timeout: '3m' });
    expect(abort.errors).toEqual([
      `Aborted by hand. The promotion of v2 had begun: the stable Deployments were rolled back (cart to revision ${revision}) and cart runs v1; traffic is back on it and the canary at 0.`,
    ]);
    await expectOldVersionServing('cart');
  });

  it('abort again after an abort that patched one stable and failed on the next: the second abort finishes', async () => {
    await c.app('aa', 'ghcr.io/acme/aa:v1', { labels: { tier: 'plat' } });
    await c.app('bb', 'ghcr.io/acme/bb:v1', { labels: { tier: 'plat' } });
    const paused = await c.run({
      selector: 'tier=plat',
      app: 'plat',
      images: 'aa/app=ghcr.io/acme/aa:v2\nbb/app=ghcr.io/acme/bb:v2',
      steps: '50,100',
      pause: '1m',
      'pause-at': '50',
    });
    expect(paused.outputs['result']).toBe('paused');
    c.sim.behaviour.set('ghcr.io/acme/aa:v2', { readyAfter: 'never' });
    c.sim.behaviour.set('ghcr.io/acme/bb:v2', { readyAfter: 'never' });
    const promote = await c.run({ app: 'plat', action: 'promote', timeout: '3m' });
    expect(promote.code).toBe(1);
    expect(c.images('aa')).toEqual(['ghcr.io/acme/aa:v2']);
    expect(c.images('bb')).toEqual(['ghcr.io/acme/bb:v2']);
    // The first abort restores aa (its v1 ReplicaSet becomes revision 3), then bb's patch gets a 503.
    const off = c.sim.faults.add({ verb: 'patch', resource: 'deployments', name: 'bb', status: 503 });
    const first = await c.run({ app: 'plat', action: 'abort', timeout: '3m' });
    off();
    expect(first.code).toBe(1);
    const error = first.errors.join('\n');
    expect(error).toContain('Abort during the promotion of v2 did not finish');
    expect(error).toContain('(patched: aa to revision 1) (not patched: bb)');
    expect(error).toContain('run action: abort again');
    expect(c.record('plat')).toMatchObject({ phase: 'aborting' });
    expect(c.images('aa')).toEqual(['ghcr.io/acme/aa:v1']);
    expect(c.images('bb')).toEqual(['ghcr.io/acme/bb:v2']);
    const second = await c.run({ app: 'plat', action: 'abort', timeout: '3m' });
    expect(second.errors).toEqual([
      "Aborted by hand. The promotion of v2 had begun: the stable Deployments were rolled back (bb to revision 1; aa ran v1's template already) and aa, bb run v1; traffic is back on them and the canary at 0.",
    ]);
    expect(c.images('aa')).toEqual(['ghcr.io/acme/aa:v1']);
    expect(c.images('bb')).toEqual(['ghcr.io/acme/bb:v1']);
    expect(c.record('plat')).toMatchObject({ phase: 'aborted', weight: 0 });
    await c.clock.sleep(30_000);
    for (const name of ['aa', 'bb']) expect(c.deployment(name)?.status?.updatedReplicas).toBe(c.replicas(name));
  });
});
