/**
 * rollback mode in-flight whose abort gets stuck: a promotion of v2 that never became ready, then v1's pods
 * never ready either, so the abort's wait for the stables never ends. Whether the step times out or the job
 * is cancelled, the app's Lease is handed back (else another workflow's abort is refused until it expires).
 * On kube-sim with its controllers, on a virtual clock.
 */
import canaryPromote from '@deploy-actions/action-canary-promote';
import type { KubeObject } from '@deploy-actions/core/kube';
import type { ActionDefinition, MemoryRuntime } from '@deploy-actions/core/runtime';
import { type Cluster, startCluster } from '@deploy-actions/testkit/cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import rollback from '../src/main';

let c: Cluster;

type Pod = KubeObject & { spec?: { containers?: { image?: string }[] } };

/** Each run its own GitHub run id (the lease holder), as separate workflow runs are. */
const run = <I>(action: ActionDefinition<I>, inputs: Record<string, string>, onRuntime?: (rt: MemoryRuntime) => void) =>
  c.runAction(action, inputs, {
    env: { GITHUB_RUN_ID: String(c.clock.now()), GITHUB_ACTOR: 'octocat' },
    ...(onRuntime ? { onRuntime } : {}),
  });

const lease = (app: string) => c.find('coordination.k8s.io/v1/leases', `deploy-actions-${app}`);

beforeAll(async () => {
  c = await startCluster({ namespace: 'shop', controllers: 'bare' });
});

afterAll(async () => {
  await c?.stop();
});

/** A canary of v2 paused at 50 %, a promotion whose pods never become ready, then v1's new pods never ready either. */
async function stuckPromotion(app: string) {
  await c.app(app, `ghcr.io/acme/${app}:v1`, { progressDeadlineSeconds: null });
  const paused = await run(canaryPromote, {
    deployments: app,
    images: `app=ghcr.io/acme/${app}:v2`,
    steps: '50,100',
    pause: '1m',
    'pause-at': '50',
    'router-config': `{ service: ${app} }`,
  });
  expect(paused.outputs['result']).toBe('paused');
  c.behaviour.set(`ghcr.io/acme/${app}:v2`, { readyAfter: 'never' });
  const promote = await run(canaryPromote, { app, action: 'promote', timeout: '3m' });
  expect(promote.code).toBe(1);
  expect(c.record(app)).toMatchObject({ phase: 'promoting' });
  // A main step that timed out keeps the Lease for its post step (not run here): gone as if that had run.
  await c.client.delete('Lease', { namespace: 'shop', name: `deploy-actions-${app}` }).catch(() => {});
  // v1's pods are replaced by pods that never become ready: the abort's wait for the stable never ends.
  c.behaviour.set(`ghcr.io/acme/${app}:v1`, { readyAfter: 'never' });
  const pods = await c.client.list<Pod>('Pod', { namespace: 'shop', labelSelector: `app=${app}` });
  for (const pod of pods.items)
    if (pod.spec?.containers?.[0]?.image === `ghcr.io/acme/${app}:v1`)
      await c.client.delete('Pod', { namespace: 'shop', name: pod.metadata?.name });
}

describe('rollback in-flight whose abort never finishes', () => {
  it('timed out: the step fails and the Lease is gone', async () => {
    await stuckPromotion('web');
    const rolledBack = await run(rollback, { mode: 'in-flight', app: 'web', timeout: '2m' });
    expect(rolledBack.code).toBe(1);
    // The wait's own error comes before the step's timeout: it says where things stand.
    const error = rolledBack.errors.join('\n');
    expect(error).toContain('Abort during the promotion of v2 did not finish');
    expect(error).toContain('(patched: web to revision 1)');
    expect(error).not.toContain('Timed out after 2m');
    // The abort began: a later run finishes it (never promotes).
    expect(c.record('web')).toMatchObject({ phase: 'aborting' });
    expect(lease('web')).toBeUndefined();
  });

  it('cancelled mid-wait: the Lease is gone', async () => {
    await stuckPromotion('cart');
    let cancel: (() => void) | undefined;
    const at = c.clock.now();
    void c.clock.sleep(60_000).then(() => cancel?.());
    const rolledBack = await run(rollback, { mode: 'in-flight', app: 'cart', timeout: '30m' }, (rt) => {
      cancel = () => rt.abort(new Error('The operation was canceled.'));
    });
    expect(rolledBack.code).toBe(1);
    expect(rolledBack.errors.join('\n')).toContain('The operation was canceled');
    expect(c.clock.now() - at).toBeLessThan(5 * 60_000);
    expect(c.record('cart')).toMatchObject({ phase: 'aborting' });
    expect(lease('cart')).toBeUndefined();
  });
});
