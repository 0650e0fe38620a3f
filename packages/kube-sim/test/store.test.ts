// The in-process ObjectStore: the semantics controllers rely on, without HTTP in between.
import { VirtualClock } from '@deploy-actions/core/clock';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../src/errors';
import { ObjectStore, type WatchEvent } from '../src/store';

function newStore() {
  return new ObjectStore(new VirtualClock());
}

const cm = (name: string, labels: Record<string, string> = {}, ns = 'default') => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: ns, labels },
});

function thrown(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('expected an ApiError');
}

describe('ObjectStore', () => {
  it('hands out frozen snapshots and bumps one resourceVersion sequence across resources', () => {
    const store = newStore();
    const a = store.create(cm('a'));
    const s = store.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } });
    expect(Number(s.metadata.resourceVersion)).toBe(Number(a.metadata.resourceVersion) + 1);
    expect(() => {
      a.metadata.labels.x = 'y';
    }).toThrow(TypeError);
    expect(store.get('v1/configmaps', 'default', 'a')).toBe(a);
  });

  it('gives every object a random (version 4) uid', () => {
    const store = newStore();
    const uids = new Set<string>();
    for (let i = 0; i < 600; i++) uids.add(store.create(cm(`c${i}`)).metadata.uid);
    expect(uids.size).toBe(600);
    for (const uid of uids)
      expect(uid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('rejects stale updates and retries them in modify()', () => {
    const store = newStore();
    const a = store.create(cm('a'));
    store.update({ ...structuredClone(a), data: { x: '1' } });
    expect(thrown(() => store.update({ ...structuredClone(a), data: { x: '2' } })).code).toBe(409);
    const modified = store.modify('v1/configmaps', 'default', 'a', (d) => {
      d.data.y = '2';
    });
    expect(modified.data).toEqual({ x: '1', y: '2' });
  });

  it('does not write (nor bump the version) when an update changes nothing', () => {
    const store = newStore();
    const a = store.create(cm('a'));
    const same = store.update(structuredClone(a));
    expect(same.metadata.resourceVersion).toBe(a.metadata.resourceVersion);
  });

  it('watch: replays from a version, turns selector transitions into ADDED/DELETED, and 410s after compaction', () => {
    const store = newStore();
    const start = store.resourceVersion;
    store.create(cm('a', { tier: 'web' }));
    const events: string[] = [];
    const stop = store.watch(
      'v1/configmaps',
      'default',
      start,
      (e: WatchEvent) => events.push(`${e.type} ${e.object.metadata.name}`),
      {
        labelSelector: 'tier=web',
      },
    );
    store.create(cm('b', { tier: 'db' }));
    store.modify('v1/configmaps', 'default', 'b', (d) => {
      d.metadata.labels.tier = 'web';
    });
    store.modify('v1/configmaps', 'default', 'a', (d) => {
      d.metadata.labels.tier = 'db';
    });
    store.create(cm('c', { tier: 'web' }, 'kube-system'));
    stop();
    store.delete('v1/configmaps', 'default', 'b');
    expect(events).toEqual(['ADDED a', 'ADDED b', 'DELETED a']);

    store.compact();
    expect(thrown(() => store.watch('v1/configmaps', undefined, start, () => {})).code).toBe(410);
  });

  it('keeps the last historyLimit events per resource: resume from any of them, 410 before', () => {
    const store = new ObjectStore(new VirtualClock(), { historyLimit: 3 });
    store.create(cm('c'));
    const versions: string[] = [];
    // Enough writes to drop entries many times over (and to compact the history array).
    for (let i = 0; i < 2_500; i++) {
      versions.push(
        store.modify('v1/configmaps', 'default', 'c', (d) => {
          d.data = { i: String(i) };
        }).metadata.resourceVersion,
      );
    }
    const replayed = (from: string) => {
      const seen: string[] = [];
      store.watch('v1/configmaps', undefined, from, (e) => seen.push(e.object.data.i))();
      return seen;
    };
    // The last three events are kept: resuming after the fourth-last version replays all three.
    expect(replayed(versions.at(-4)!)).toEqual(['2497', '2498', '2499']);
    expect(replayed(versions.at(-2)!)).toEqual(['2499']);
    expect(replayed(versions.at(-1)!)).toEqual([]);
    expect(thrown(() => store.watch('v1/configmaps', undefined, versions.at(-5)!, () => {})).code).toBe(410);
  });

  it('delivers events in order even when a watcher writes from its callback', () => {
    const store = newStore();
    const seen: string[] = [];
    store.watch('v1/configmaps', undefined, undefined, (e) => {
      if (e.type === 'ADDED' && e.object.metadata.name === 'a') store.create(cm('b'));
    });
    store.watch('v1/configmaps', undefined, undefined, (e) => seen.push(`${e.type} ${e.object.metadata.name}`));
    store.create(cm('a'));
    expect(seen).toEqual(['ADDED a', 'ADDED b']);
  });

  it('deletes in the foreground: the owner waits for its dependents, which wait for their finalizers', () => {
    const store = newStore();
    const owner = store.create(cm('owner'));
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid, controller: true };
    store.create({ ...cm('dep'), metadata: { ...cm('dep').metadata, ownerReferences: [ref], finalizers: ['hold'] } });
    store.delete('v1/configmaps', 'default', 'owner', { propagationPolicy: 'Foreground' });
    const waiting = store.get('v1/configmaps', 'default', 'owner');
    expect(waiting.metadata.finalizers).toEqual(['foregroundDeletion']);
    expect(store.get('v1/configmaps', 'default', 'dep').metadata.deletionTimestamp).toBeTruthy();
    store.modify('v1/configmaps', 'default', 'dep', (d) => {
      d.metadata.finalizers = [];
    });
    expect(store.find('v1/configmaps', 'default', 'dep')).toBeUndefined();
    expect(store.find('v1/configmaps', 'default', 'owner')).toBeUndefined();
  });

  it('deleting a namespace deletes its contents, and nothing new may be created in a missing namespace', () => {
    const store = newStore();
    store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tmp' } });
    store.create(cm('x', {}, 'tmp'));
    store.delete('v1/namespaces', undefined, 'tmp');
    expect(store.find('v1/namespaces', undefined, 'tmp')).toBeUndefined();
    expect(store.list('v1/configmaps', 'tmp')).toEqual([]);
    expect(thrown(() => store.create(cm('y', {}, 'tmp')))).toMatchObject({
      code: 404,
      message: 'namespaces "tmp" not found',
    });
  });

  it('validates names, selectors and templates with 422 Invalid and field causes', () => {
    const store = newStore();
    const bad = thrown(() =>
      store.create({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web' },
        spec: {
          selector: { matchLabels: { app: 'web' } },
          template: { metadata: { labels: { app: 'other' } }, spec: { containers: [] } },
        },
      }),
    );
    expect(bad.code).toBe(422);
    expect(bad.details?.causes?.map((c) => c.field)).toEqual([
      'spec.template.metadata.labels',
      'spec.template.spec.containers',
    ]);
    expect(thrown(() => store.create(cm('UPPER'))).reason).toBe('Invalid');
  });

  it('server-side apply shares a field when two managers agree on its value', () => {
    const store = newStore();
    const events: WatchEvent[] = [];
    store.watch('v1/configmaps', 'default', store.resourceVersion, (e) => events.push(e));
    const created = store.apply({ ...cm('shared'), data: { a: '1' } }, { fieldManager: 'one' });
    expect(created.metadata.managedFields).toMatchObject([{ manager: 'one', operation: 'Apply' }]);
    // Watchers see exactly what is stored.
    expect(events.map((e) => e.object)).toEqual([store.get('v1/configmaps', 'default', 'shared')]);
    const both = store.apply({ ...cm('shared'), data: { a: '1' } }, { fieldManager: 'two' });
    expect(both.metadata.managedFields.map((m: { manager: string }) => m.manager)).toEqual(['one', 'two']);
    // 'one' stops applying data.a: 'two' still owns it, so the value stays.
    const after = store.apply(cm('shared'), { fieldManager: 'one' });
    expect(after.data).toEqual({ a: '1' });
    // Now 'two' stops as well: nobody owns it any more, so it goes.
    expect(store.apply(cm('shared'), { fieldManager: 'two' }).data).toEqual({});
  });
});
