// kube-sim seen through the official Kubernetes Python client (python3-kubernetes): what it sends differs from
// client-go's habits (booleans as `True`), and the API server's parameter codec reads every value but `0` and
// `false` as true, so watches stream, server-side apply takes ownership with force=True, bookmarks arrive.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeSim } from '../src/index';
import { findPythonClient, pythonClientMissing, runPython } from './python-client';

const python = findPythonClient();

describe.skipIf(!python)(
  `the Python client against kube-sim${python ? '' : ` (skipped: ${pythonClientMissing})`}`,
  () => {
    let sim: KubeSim;
    let dir: string;
    let kubeconfig: string;
    const py = (script: string) => runPython(script, kubeconfig);

    beforeAll(async () => {
      sim = await KubeSim.start({ bookmarkIntervalMs: 100 });
      dir = mkdtempSync(join(tmpdir(), 'kube-sim-python-'));
      kubeconfig = join(dir, 'kubeconfig.yaml');
      sim.writeKubeconfig(kubeconfig);
    });

    afterAll(async () => {
      await sim.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('watch=True streams events from a resourceVersion (not a list, not a busy loop)', async () => {
      const seen = await py(`
rv = v1.list_namespaced_config_map('default').metadata.resource_version
for n in ['w1', 'w2']:
    v1.create_namespaced_config_map('default', {'metadata': {'name': n}})
events = []
w = watch.Watch()
for e in w.stream(v1.list_namespaced_config_map, 'default', resource_version=rv, timeout_seconds=5):
    events.append([e['type'], e['object'].metadata.name])
    if len(events) == 2: w.stop()
plain = v1.list_namespaced_config_map('default', watch=False)
out({'events': events, 'list': [c.metadata.name for c in plain.items]})
`);
      expect(seen).toEqual({
        events: [
          ['ADDED', 'w1'],
          ['ADDED', 'w2'],
        ],
        list: ['w1', 'w2'],
      });
    });

    it('allow_watch_bookmarks=True gets BOOKMARK events', async () => {
      const types = await py(`
types = set()
w = watch.Watch()
for e in w.stream(v1.list_namespaced_config_map, 'default', allow_watch_bookmarks=True, timeout_seconds=2):
    types.add(e['type'])
    if 'BOOKMARK' in types: w.stop()
out(sorted(types))
`);
      expect(types).toContain('BOOKMARK');
    });

    it('server-side apply with force=True takes the fields over; without it the conflict is a 409', async () => {
      const result = (await py(`
cms = dyn.resources.get(api_version='v1', kind='ConfigMap')
# This client's REST layer sends an apply-patch+yaml body only when it is already a string.
body = lambda v: json.dumps({'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': 'owned', 'namespace': 'default'}, 'data': {'k': v}})
apply = lambda v, **kw: cms.server_side_apply(body=body(v), name='owned', namespace='default', **kw)
apply('a', field_manager='first')
try:
    apply('b', field_manager='second')
    conflict = None
except ApiException as e:
    conflict = e.status
forced = apply('b', field_manager='second', force_conflicts=True)
out({'conflict': conflict, 'data': forced.data.k, 'managers': [m.manager for m in forced.metadata.managedFields]})
`)) as { conflict: number; data: string; managers: string[] };
      expect(result.conflict).toBe(409);
      expect(result.data).toBe('b');
      expect(result.managers).toContain('second');
      expect(result.managers).not.toContain('first');
    });

    it('force on a patch that is not an apply is 422, as ValidatePatchOptions words it', async () => {
      const answer = await py(`
v1.create_namespaced_config_map('default', {'metadata': {'name': 'plain'}})
try:
    v1.patch_namespaced_config_map('plain', 'default', {'data': {'k': 'v'}}, force=True)
    out(None)
except ApiException as e:
    out(status_of(e))
`);
      expect(answer).toMatchObject({
        status: 422,
        body: {
          reason: 'Invalid',
          message: 'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch',
        },
      });
    });
  },
);
