/**
 * The informer against kube-sim over HTTPS: one list, then one watch that
 * keeps the cache current; resumed after a dropped watch, relisted after 410
 * Gone, failures surfaced, and no watch left open after close(). Changes are
 * awaited through onChange, never by sleeping.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeSim } from '@deploy-actions/kube-sim';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../src/clock';
import { KubeClient } from '../src/kube/client';
import { KubeApiError } from '../src/kube/errors';
import { Informer } from '../src/kube/informer';
import type { KubeObject } from '../src/kube/types';

const workspace = mkdtempSync(join(tmpdir(), 'kube-informer-'));
const PODS = 'v1/pods';

let sim: KubeSim;
let clock: VirtualClock;
let client: KubeClient;
let informers: Informer[];
/** The sim's own in-process watches (CRDs). */
let baseWatches: number;

beforeEach(async () => {
  clock = new VirtualClock();
  sim = await KubeSim.start({ clock, scenario: { namespaces: ['prod'] } });
  baseWatches = sim.store.watchCount;
  client = await KubeClient.connect({ kubeconfig: sim.kubeconfig(), env: {}, workspace }, { clock, attempts: 1 });
  informers = [];
});
afterEach(async () => {
  await Promise.all(informers.map((informer) => informer.close()));
  await sim.stop();
});

function pod(name: string, app = 'web'): void {
  sim.store.create(
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'prod', labels: { app } },
      spec: { containers: [{ name: 'app', image: `${app}:2` }] },
    },
    { fieldManager: 'test' },
  );
}

function restart(name: string): void {
  sim.store.modify(
    PODS,
    'prod',
    name,
    (draft) => {
      const previous = (draft.status?.containerStatuses?.[0]?.restartCount as number | undefined) ?? 0;
      draft.status = { ...draft.status, containerStatuses: [{ name: 'app', restartCount: previous + 1 }] };
    },
    { subresource: 'status' },
  );
}

/** An informer of app=web pods whose `next(n)` resolves once it has taken in n more changes. */
function informer() {
  let changes = 0;
  let waiting: { at: number; resolve: () => void } | undefined;
  const created = new Informer(client, 'Pod', {
    clock,
    namespace: 'prod',
    labelSelector: 'app=web',
    onChange: () => {
      changes++;
      if (waiting && changes >= waiting.at) waiting.resolve();
    },
  });
  informers.push(created);
  const next = (count = 1) =>
    new Promise<void>((resolve) => {
      waiting = { at: changes + count, resolve };
    });
  const restarts = async () =>
    Object.fromEntries(
      (await created.items()).map((item: KubeObject) => [
        item.metadata?.name,
        (item as { status?: { containerStatuses?: Array<{ restartCount?: number }> } }).status?.containerStatuses?.[0]
          ?.restartCount ?? 0,
      ]),
    );
  return { informer: created, next, restarts };
}

/**
 * Pod lists and watches the sim served, once every informer is closed: kube-sim counts a watch when it ends,
 * and the close reaches it over the socket, so this waits for its open watch count to return to where it was.
 */
async function requestsAfterClose(): Promise<{ lists: number; watches: number }> {
  await Promise.all(informers.map((informer) => informer.close()));
  await expect.poll(() => sim.store.watchCount).toBe(baseWatches);
  const counts = () => ({ lists: sim.stats.count('list', 'pods'), watches: sim.stats.count('watch', 'pods') });
  await expect.poll(() => counts().watches).toBe(client.requests - counts().lists);
  return counts();
}

describe('Informer', () => {
  it('lists once, then follows adds, changes and deletes over one watch, however often it is read', async () => {
    pod('web-1');
    pod('other-1', 'other');
    const { informer: cache, next, restarts } = informer();
    expect(await restarts()).toEqual({ 'web-1': 0 });

    let changed = next();
    pod('web-2');
    await changed;
    changed = next();
    restart('web-1');
    await changed;
    expect(await restarts()).toEqual({ 'web-1': 1, 'web-2': 0 });

    changed = next();
    sim.store.delete(PODS, 'prod', 'web-2');
    await changed;
    for (let read = 0; read < 50; read++) await cache.items();
    expect(await restarts()).toEqual({ 'web-1': 1 });
    expect(await requestsAfterClose()).toEqual({ lists: 1, watches: 1 });
  });

  it('resumes a dropped watch from its resourceVersion: a change made while no watch was open is not lost', async () => {
    pod('web-1');
    const { next, restarts } = informer();
    await restarts();
    let changed = next();
    restart('web-1');
    await changed;

    changed = next();
    sim.faults.dropWatches('pods');
    // Before the informer has watched again.
    restart('web-1');
    await changed;
    expect(await restarts()).toEqual({ 'web-1': 2 });
    // Resumed, not relisted.
    expect(await requestsAfterClose()).toEqual({ lists: 1, watches: 2 });
  });

  it('lists again after 410 Gone', async () => {
    pod('web-1');
    const { next, restarts } = informer();
    await restarts();
    let changed = next();
    restart('web-1');
    await changed;

    // Within one tick, so before the informer can watch again: a change it has not seen, then the history
    // compacted past its resourceVersion (its resumed watch gets 410 Gone), then one more change.
    changed = next();
    sim.faults.dropWatches('pods');
    restart('web-1');
    sim.store.compact();
    restart('web-1');
    await changed;
    expect(await restarts()).toEqual({ 'web-1': 3 });
    // The resumed watch's 410, then a new list and watch.
    expect(await requestsAfterClose()).toEqual({ lists: 2, watches: 3 });
  });

  it('answers with the failure while it cannot list, and recovers with a later list', async () => {
    pod('web-1');
    sim.faults.add({ verb: 'list', resource: 'pods', status: 500, times: 1 });
    const { informer: cache, next } = informer();
    await expect(cache.items()).rejects.toBeInstanceOf(KubeApiError);
    const listed = next();
    // The retry waits for its backoff on the virtual clock.
    await clock.advance(5_000);
    await listed;
    expect((await cache.items()).map((item) => item.metadata?.name)).toEqual(['web-1']);
    expect(await requestsAfterClose()).toEqual({ lists: 2, watches: 1 });
  });

  it('leaves no watch open after close()', async () => {
    pod('web-1');
    const { informer: cache, restarts } = informer();
    await restarts();
    await expect.poll(() => sim.store.watchCount).toBe(baseWatches + 1);
    await cache.close();
    await expect.poll(() => sim.store.watchCount).toBe(baseWatches);
    await expect(cache.items()).rejects.toThrow('informer closed');
  });
});
