/**
 * Issue #17 items 7 and 8 for rollback: a second rollback to "the previous revision" used to re-deploy the
 * version the first one rolled back from; it goes to the last good version now (the Deployment records the
 * versions rolled back from), or refuses and says so. A to-version that is not an image tag is refused
 * before anything is patched (it used to patch production and report rolled-back).
 */
import type { Deployment } from '@deploy-actions/core/kube';
import { type Cluster, startCluster } from '@deploy-actions/testkit/cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import rollback from '../src/main';
import { parsed } from './outputs';

let c: Cluster;

function images(name: string) {
  const object = c.sim.store.get('apps/v1/deployments', 'prod', name) as Deployment;
  return object.spec?.template?.spec?.containers?.map((container) => container.image);
}

async function release(name: string, list: string[]) {
  await c.app(name, list[0]!, { service: false, replicas: 2, progressDeadlineSeconds: 60 });
  for (const image of list.slice(1)) await c.setImage(name, 'app', image);
}

beforeAll(async () => {
  c = await startCluster({ namespace: 'prod', controllers: 'bare', action: rollback });
});

afterAll(async () => {
  await c?.stop();
});

describe('rollback "previous" twice (item 8)', () => {
  it('the second rollback goes to the last good version, not back to the bad one', async () => {
    await release('shop', ['shop:1.0', 'shop:1.1', 'shop:1.2']);
    const first = parsed(await c.run({ deployments: 'shop', reason: 'shop:1.2 errors' }));
    expect(first.code).toBe(0);
    expect(images('shop')).toEqual(['shop:1.1']);
    // shop:1.1 turns out bad too: "previous" again must not bring shop:1.2 back.
    const second = parsed(await c.run({ deployments: 'shop', reason: 'shop:1.1 errors too' }));
    expect(second.errors).toBe('');
    expect(second.code).toBe(0);
    expect(images('shop')).toEqual(['shop:1.0']);
    expect(second.restored.shop).toMatchObject({
      before: { images: { app: 'shop:1.1' } },
      after: { images: { app: 'shop:1.0' } },
    });
  });

  it('refuses when every earlier revision is a version rolled back from, and changes nothing', async () => {
    await release('cart', ['cart:1.0', 'cart:2.0']);
    expect(parsed(await c.run({ deployments: 'cart' })).code).toBe(0);
    expect(images('cart')).toEqual(['cart:1.0']);
    const before = c.snapshot();
    const refused = parsed(await c.run({ deployments: 'cart' }));
    expect(refused.code).toBe(1);
    expect(refused.errors.split('\n')).toHaveLength(1);
    expect(refused.errors).toMatch(
      /Deployment "cart" has no earlier good revision to roll back to: revisions .*cart:2\.0.* run versions already rolled back from/,
    );
    expect(c.snapshot()).toEqual(before);
    // Asked for by number, it is still done.
    const asked = parsed(await c.run({ deployments: 'cart', 'to-revision': '2' }));
    expect(asked.code).toBe(0);
    expect(images('cart')).toEqual(['cart:2.0']);
  });
});

describe('to-version is an image tag (item 7)', () => {
  it.each(['bad tag!!', 'v1;reboot', '.hidden', 'x'.repeat(129), 'v1:latest', '$(id)'])(
    'refuses to-version %j before anything is patched',
    async (tag) => {
      const before = c.snapshot();
      const refused = parsed(await c.run({ deployments: 'shop', mode: 'image', 'to-version': tag }));
      expect(refused.code).toBe(1);
      expect(refused.errors.split('\n')).toHaveLength(1);
      expect(refused.errors).toMatch(/^Input 'to-version': is not an image tag/);
      expect(c.snapshot()).toEqual(before);
    },
  );
});
