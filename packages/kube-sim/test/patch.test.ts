// Strategic merge patch directives and JSON patch, as kubectl and controllers send them.
import { describe, expect, it } from 'vitest';
import { type Json, jsonPatch, mergePatch, strategicMerge } from '../src/patch';

const pod = {
  spec: {
    containers: [
      { name: 'app', image: 'app:1', env: [{ name: 'A', value: '1' }], ports: [{ containerPort: 80 }] },
      { name: 'sidecar', image: 'envoy:1' },
    ],
    volumes: [{ name: 'data', emptyDir: {} }],
    tolerations: [{ key: 'a' }],
  },
  metadata: { finalizers: ['x'] },
};

describe('strategic merge patch', () => {
  it('merges containers, env and ports by key and replaces lists without a key', () => {
    const out = strategicMerge(pod as unknown as Json, {
      spec: {
        containers: [{ name: 'app', image: 'app:2', env: [{ name: 'B', value: '2' }], ports: [{ containerPort: 81 }] }],
        tolerations: [{ key: 'b' }],
      },
      metadata: { finalizers: ['y'] },
    }) as typeof pod;
    expect(out.spec.containers.map((c) => c.image)).toEqual(['app:2', 'envoy:1']);
    expect(out.spec.containers[0]!.env!.map((e) => e.name)).toEqual(['A', 'B']);
    expect(out.spec.containers[0]!.ports!.map((p) => p.containerPort)).toEqual([80, 81]);
    expect(out.spec.tolerations).toEqual([{ key: 'b' }]);
    expect(out.metadata.finalizers).toEqual(['x', 'y']);
  });

  it('honours $patch delete/replace, $setElementOrder, $deleteFromPrimitiveList and $retainKeys', () => {
    const out = strategicMerge(pod as unknown as Json, {
      spec: {
        containers: [{ name: 'sidecar', $patch: 'delete' }],
        volumes: [{ name: 'cache', emptyDir: {} }, { $patch: 'replace' }],
        $retainKeys: ['containers', 'volumes'],
      },
      metadata: { '$deleteFromPrimitiveList/finalizers': ['x'] },
    }) as typeof pod;
    expect(out.spec.containers.map((c) => c.name)).toEqual(['app']);
    expect(out.spec.volumes).toEqual([{ name: 'cache', emptyDir: {} }]);
    expect(out.spec.tolerations).toBeUndefined();
    expect(out.metadata.finalizers).toEqual([]);
    const ordered = strategicMerge(pod as unknown as Json, {
      spec: { '$setElementOrder/containers': [{ name: 'sidecar' }, { name: 'app' }] },
    }) as typeof pod;
    expect(ordered.spec.containers.map((c) => c.name)).toEqual(['sidecar', 'app']);
    expect(strategicMerge(pod as unknown as Json, { spec: { $patch: 'replace', containers: [] } })).toEqual({
      ...pod,
      spec: { containers: [] },
    });
  });
});

describe('JSON patch and merge patch', () => {
  it('applies add/remove/replace/move/copy/test and rejects a failed test', () => {
    const doc = { a: [1, 2], b: { c: 'x' } };
    const out = jsonPatch(doc, [
      { op: 'add', path: '/a/-', value: 3 },
      { op: 'remove', path: '/a/0' },
      { op: 'replace', path: '/b/c', value: 'y' },
      { op: 'copy', from: '/b/c', path: '/d' },
      { op: 'move', from: '/d', path: '/e~1f' },
      { op: 'test', path: '/a', value: [2, 3] },
    ]);
    expect(out).toEqual({ a: [2, 3], b: { c: 'y' }, 'e/f': 'y' });
    expect(doc).toEqual({ a: [1, 2], b: { c: 'x' } });
    expect(() => jsonPatch(doc, [{ op: 'test', path: '/a', value: [] }])).toThrow(/test failed/);
    expect(() => jsonPatch(doc, [{ op: 'remove', path: '/zz' }])).toThrow(/nonexistent/);
  });

  it('merge patch deletes with null and replaces lists', () => {
    expect(mergePatch({ a: 1, b: { c: 2, d: 3 }, l: [1] }, { a: null, b: { c: null }, l: [2] })).toEqual({
      b: { d: 3 },
      l: [2],
    });
  });
});
