// The meta.k8s.io Tables kubectl prints: includeObject (what `get --sort-by` needs), the printers' columns and
// the priority-1 columns `-o wide` adds, checked through kubectl and a raw Table request.
import { request } from 'node:https';
import { describe, expect, it } from 'vitest';
import { findKubectl, kubectlMissing, kubectlOk } from '../../testkit/src/kubectl';
import type { KubeObject } from '../src/types';
import { simForClients } from './python-client';

const clients = simForClients();
const bin = findKubectl();
const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';

/** GET a path asking for a Table, as kubectl's printer does. */
function getTable(path: string): Promise<{ status: number; body: KubeObject }> {
  return new Promise((resolve, reject) => {
    const req = request(`${clients.sim.url}${path}`, { ca: clients.sim.caPem, headers: { accept: TABLE } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        text += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}

function event(name: string, lastTimestamp: string, message: string) {
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name, namespace: 'default' },
    involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'default' },
    reason: 'Seen',
    type: 'Normal',
    message,
    source: { component: 'kubelet', host: 'node-1' },
    count: 1,
    firstTimestamp: lastTimestamp,
    lastTimestamp,
  };
}

describe('Table rows carry what includeObject asks for', () => {
  it('Object: the whole object in the requested version; Metadata (the default): PartialObjectMetadata; None: null', async () => {
    clients.sim.store.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'rows', namespace: 'default' },
      data: { a: '1' },
    });
    const full = await getTable('/api/v1/namespaces/default/configmaps?includeObject=Object');
    const row = full.body.rows.find((r: KubeObject) => r.cells[0] === 'rows');
    expect(row.object).toMatchObject({ kind: 'ConfigMap', apiVersion: 'v1', data: { a: '1' } });
    const one = await getTable('/api/v1/namespaces/default/configmaps/rows?includeObject=Object');
    expect(one.body.rows[0].object.data).toEqual({ a: '1' });

    const meta = await getTable('/api/v1/namespaces/default/configmaps/rows');
    expect(meta.body.rows[0].object).toMatchObject({
      kind: 'PartialObjectMetadata',
      apiVersion: 'meta.k8s.io/v1',
      metadata: { name: 'rows' },
    });
    expect(meta.body.rows[0].object.data).toBeUndefined();
    const none = await getTable('/api/v1/namespaces/default/configmaps/rows?includeObject=None');
    expect(none.body.rows[0].object).toBeNull();

    const bad = await getTable('/api/v1/namespaces/default/configmaps?includeObject=Everything');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ reason: 'BadRequest', message: 'unrecognized includeObject value: "Everything"' });
  });
});

describe.skipIf(!bin)(`kubectl${bin ? '' : ` (skipped: ${kubectlMissing})`}`, () => {
  const run = (args: string[]) => kubectlOk(args, { kubeconfig: clients.kubeconfig });

  it('get events --sort-by=.lastTimestamp orders by the objects the rows carry, with LAST SEEN first', async () => {
    // Created out of time order, names in neither order.
    clients.sim.store.create(event('b-middle', '2026-01-01T00:02:00Z', 'second'));
    clients.sim.store.create(event('c-first', '2026-01-01T00:01:00Z', 'first'));
    clients.sim.store.create(event('a-last', '2026-01-01T00:03:00Z', 'third'));
    const out = await run(['get', 'events', '--sort-by=.lastTimestamp', '--field-selector=reason=Seen']);
    const lines = out.trim().split('\n');
    expect(lines[0]!.split(/\s{2,}/)).toEqual(['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE']);
    expect(lines.slice(1).map((l) => l.trim().split(/\s+/).at(-1))).toEqual(['first', 'second', 'third']);
    const wide = await run(['get', 'events', '--sort-by=.lastTimestamp', '--field-selector=reason=Seen', '-o', 'wide']);
    expect(
      wide
        .split('\n')[0]!
        .trim()
        .split(/\s{2,}/),
    ).toEqual([
      'LAST SEEN',
      'TYPE',
      'REASON',
      'OBJECT',
      'SUBOBJECT',
      'SOURCE',
      'MESSAGE',
      'FIRST SEEN',
      'COUNT',
      'NAME',
    ]);
    expect(wide).toMatch(/pod\/web-1\s+kubelet, node-1\s+first\s+\S+\s+1\s+c-first/);
  });

  it('--sort-by works on other kinds (a numeric field, descending names)', async () => {
    for (const [name, replicas] of [
      ['sort-a', 3],
      ['sort-b', 1],
      ['sort-c', 2],
    ] as const) {
      clients.sim.store.create({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name, namespace: 'default', labels: { sort: 'yes' } },
        spec: {
          replicas,
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name } },
            spec: { containers: [{ name: 'web', image: 'nginx:1.25' }] },
          },
        },
      });
    }
    const out = await run(['get', 'deploy', '-l', 'sort=yes', '--sort-by=.spec.replicas', '--no-headers']);
    expect(
      out
        .trim()
        .split('\n')
        .map((l) => l.split(/\s+/)[0]),
    ).toEqual(['sort-b', 'sort-c', 'sort-a']);
  });
});

describe.skipIf(!bin)(`kubectl -o wide${bin ? '' : ` (skipped: ${kubectlMissing})`}`, () => {
  const ctl = simForClients({ controllers: true });
  const run = (args: string[], input?: string) =>
    kubectlOk(args, { kubeconfig: ctl.kubeconfig, ...(input ? { input } : {}) });
  /** The header and the row of `name` from `kubectl get ... -o wide`, split on the column gaps. */
  const wide = async (args: string[], name: string) => {
    const lines = (await run([...args, '-o', 'wide'])).trim().split('\n');
    const row = lines.find((l) => l.split(/\s+/)[0] === name);
    return { header: lines[0]!.trim().split(/\s{2,}/), row: row?.trim().split(/\s{2,}/) };
  };

  it('shows the priority-1 columns of pods, deployments, replicasets, services and nodes', async () => {
    ctl.sim.behaviour.set('*', { readyAfter: '50ms' });
    await run(
      ['apply', '-f', '-'],
      `apiVersion: apps/v1
kind: Deployment
metadata: {name: shop}
spec:
  replicas: 1
  selector:
    matchLabels: {app: shop}
    matchExpressions: [{key: tier, operator: In, values: [web, edge]}]
  template:
    metadata: {labels: {app: shop, tier: web}}
    spec:
      containers:
      - {name: web, image: 'nginx:1.27'}
      - {name: log, image: 'busybox:1.36'}
---
apiVersion: v1
kind: Service
metadata: {name: shop}
spec:
  selector: {tier: web, app: shop}
  ports: [{port: 80, targetPort: 8080}]
`,
    );
    await kubectlOk(['rollout', 'status', 'deployment/shop', '--timeout=20s'], {
      kubeconfig: ctl.kubeconfig,
      timeoutMs: 30_000,
    });
    const pod = ctl.sim.store.list('v1/pods', 'default').find((p) => p.metadata.labels?.app === 'shop')!;
    const rs = ctl.sim.store.list('apps/v1/replicasets', 'default').find((r) => r.metadata.labels?.app === 'shop')!;
    const node = ctl.sim.store.get('v1/nodes', undefined, pod.spec.nodeName);
    const internalIP = node.status.addresses.find((a: { type: string }) => a.type === 'InternalIP').address;

    const pods = await wide(['get', 'pods'], pod.metadata.name);
    expect(pods.header).toEqual([
      'NAME',
      'READY',
      'STATUS',
      'RESTARTS',
      'AGE',
      'IP',
      'NODE',
      'NOMINATED NODE',
      'READINESS GATES',
    ]);
    expect(pods.row!.slice(-4)).toEqual([pod.status.podIP, pod.spec.nodeName, '<none>', '<none>']);

    const selector = 'app=shop,tier in (edge,web)';
    const deploy = await wide(['get', 'deployments'], 'shop');
    expect(deploy.header).toEqual([
      'NAME',
      'READY',
      'UP-TO-DATE',
      'AVAILABLE',
      'AGE',
      'CONTAINERS',
      'IMAGES',
      'SELECTOR',
    ]);
    expect(deploy.row!.slice(-3)).toEqual(['web,log', 'nginx:1.27,busybox:1.36', selector]);

    const replicasets = await wide(['get', 'replicasets'], rs.metadata.name);
    expect(replicasets.header).toEqual([
      'NAME',
      'DESIRED',
      'CURRENT',
      'READY',
      'AGE',
      'CONTAINERS',
      'IMAGES',
      'SELECTOR',
    ]);
    // The ReplicaSet's selector also carries the pod-template-hash the controller adds.
    expect(replicasets.row!.slice(-3)).toEqual([
      'web,log',
      'nginx:1.27,busybox:1.36',
      `app=shop,pod-template-hash=${rs.metadata.labels['pod-template-hash']},tier in (edge,web)`,
    ]);

    const services = await wide(['get', 'services'], 'shop');
    expect(services.header).toEqual(['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE', 'SELECTOR']);
    const svc = ctl.sim.store.get('v1/services', 'default', 'shop');
    expect(services.row).toEqual([
      'shop',
      'ClusterIP',
      svc.spec.clusterIP,
      '<none>',
      '80/TCP',
      expect.any(String),
      'app=shop,tier=web',
    ]);

    const nodes = await wide(['get', 'nodes'], node.metadata.name);
    expect(nodes.header).toEqual([
      'NAME',
      'STATUS',
      'ROLES',
      'AGE',
      'VERSION',
      'INTERNAL-IP',
      'EXTERNAL-IP',
      'OS-IMAGE',
      'KERNEL-VERSION',
      'CONTAINER-RUNTIME',
    ]);
    const info = node.status.nodeInfo;
    expect(nodes.row!.slice(4)).toEqual([
      info.kubeletVersion,
      internalIP,
      '<none>',
      info.osImage,
      info.kernelVersion,
      info.containerRuntimeVersion,
    ]);
    // Without -o wide the same Tables print only the priority-0 columns.
    expect(
      (await run(['get', 'nodes']))
        .split('\n')[0]!
        .trim()
        .split(/\s{2,}/),
    ).toEqual(['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION']);
  });
});
