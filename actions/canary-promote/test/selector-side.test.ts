/**
 * A `selector` such as `app=cart` also matches the `cart-canary` Deployment an earlier release left (it carries
 * cart's labels): Deployments this suite created (label deploy-actions.dev/role) are never taken as stables by
 * a selector, in canary-promote and rollback alike. On kube-sim, over HTTPS, on a virtual clock.
 */
import rollback from '@deploy-actions/action-rollback';
import type { ActionDefinition } from '@deploy-actions/core/runtime';
import { type Cluster, startCluster } from '@deploy-actions/testkit/cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import canaryPromote from '../src/main';

let c: Cluster;
const run = <I>(action: ActionDefinition<I>, inputs: Record<string, string>) =>
  c.runAction(action, inputs, { env: { GITHUB_RUN_ID: String(c.clock.now()) } });
const start = (image: string) =>
  run(canaryPromote, {
    selector: 'app=cart',
    images: `app=${image}`,
    steps: '25,50,100',
    pause: '1m',
    'pause-at': '25',
    'router-config': '{ service: cart }',
  });

beforeAll(async () => {
  c = await startCluster({ namespace: 'shop', controllers: 'bare' });
  await c.app('cart', 'ghcr.io/acme/cart:v1', { progressDeadlineSeconds: null });
});

afterAll(async () => {
  await c?.stop();
});

describe('a selector never takes a Deployment the suite created as a stable', () => {
  it('canary-promote with selector app=cart after an aborted release canaries cart alone', async () => {
    expect((await start('ghcr.io/acme/cart:v2')).code).toBe(0);
    await run(canaryPromote, { selector: 'app=cart', action: 'abort' });
    expect(c.record('cart')).toMatchObject({ phase: 'aborted', weight: 0 });
    expect(c.deployment('cart-canary')).toBeDefined();

    const again = await start('ghcr.io/acme/cart:v3');
    expect(again.rt.lines('error')).toEqual([]);
    expect(again.code).toBe(0);
    expect(c.record('cart').workloads.map((w: { stable: string }) => w.stable)).toEqual(['cart']);
    expect(c.deployment('cart-canary-canary')).toBeUndefined();
    expect(c.deployment('cart-canary')?.spec?.template?.spec?.containers?.[0]?.image).toBe('ghcr.io/acme/cart:v3');
    await run(canaryPromote, { selector: 'app=cart', action: 'abort' });
    expect(c.record('cart')).toMatchObject({ phase: 'aborted', weight: 0 });
  });

  it('a selector matching only the canary is refused naming the input, nothing changed', async () => {
    const before = JSON.stringify(c.deployment('cart-canary'));
    const refused = await run(rollback, { selector: 'deploy-actions.dev/role=canary', mode: 'kubernetes' });
    expect(refused.code).toBe(1);
    const errors = refused.rt.lines('error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain("Input 'selector'");
    expect(errors[0]).toContain('cart-canary');
    expect(JSON.stringify(c.deployment('cart-canary'))).toBe(before);
  });
});
