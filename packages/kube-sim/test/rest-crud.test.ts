// Plain REST round trips a real API server answers in a known way: HPA and Lease CRUD with resourceVersion
// conflicts, the pods/status subresource, and injected 429/500 faults as Status objects with their headers.
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubeObject, KubeSim } from '../src/index';

let sim: KubeSim;

beforeAll(async () => {
  sim = await KubeSim.start();
});

afterAll(async () => {
  await sim?.stop();
});

type Answer = { status: number; body: KubeObject; headers: Record<string, unknown> };

function call(method: string, path: string, body?: unknown): Promise<Answer> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((done, fail) => {
    const headers: Record<string, string> =
      text === undefined
        ? {}
        : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) };
    const req = request(`${sim.url}${path}`, { method, ca: sim.caPem, headers }, (res) => {
      let out = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        out += d;
      });
      res.on('end', () => done({ status: res.statusCode ?? 0, body: JSON.parse(out), headers: res.headers }));
    });
    req.on('error', fail);
    req.end(text);
  });
}

const conflict = (qualified: string, name: string) =>
  `Operation cannot be fulfilled on ${qualified} "${name}": the object has been modified; please apply your changes to the latest version and try again`;

/** create, get, update with the current resourceVersion, 409 with a stale one, delete, 404. */
async function roundTrip(opts: {
  collection: string;
  body: KubeObject;
  change: (obj: KubeObject) => void;
  group: string;
  resource: string;
}) {
  const { collection, body, change, group, resource } = opts;
  const name = body.metadata.name as string;
  const qualified = `${resource}.${group}`;
  const created = await call('POST', collection, body);
  expect(created.status).toBe(201);
  expect(created.body.metadata).toMatchObject({ name, namespace: 'default', uid: expect.any(String) });
  // Only kinds whose strategy sets it (workloads, Ingress, CRDs...) have a generation; HPAs and Leases do not.
  expect(created.body.metadata).not.toHaveProperty('generation');

  const got = await call('GET', `${collection}/${name}`);
  expect(got).toMatchObject({ status: 200, body: created.body });

  const next = structuredClone(created.body);
  change(next);
  const updated = await call('PUT', `${collection}/${name}`, next);
  expect(updated.status).toBe(200);
  expect(Number(updated.body.metadata.resourceVersion)).toBeGreaterThan(Number(created.body.metadata.resourceVersion));
  expect(updated.body.spec).toEqual(next.spec);

  const stale = await call('PUT', `${collection}/${name}`, next);
  expect(stale).toMatchObject({
    status: 409,
    body: { kind: 'Status', reason: 'Conflict', code: 409, message: conflict(qualified, name) },
  });

  const deleted = await call('DELETE', `${collection}/${name}`);
  expect(deleted).toMatchObject({
    status: 200,
    body: {
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Success',
      details: { name, group, kind: resource, uid: created.body.metadata.uid },
    },
  });
  expect(await call('GET', `${collection}/${name}`)).toMatchObject({
    status: 404,
    body: {
      kind: 'Status',
      reason: 'NotFound',
      code: 404,
      message: `${qualified} "${name}" not found`,
      details: { name, group, kind: resource },
    },
  });
}

describe('CRUD over REST', () => {
  it('HorizontalPodAutoscaler (autoscaling/v2)', async () => {
    await roundTrip({
      collection: '/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers',
      group: 'autoscaling',
      resource: 'horizontalpodautoscalers',
      body: {
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: 'web' },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
          minReplicas: 2,
          maxReplicas: 5,
          metrics: [
            { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
          ],
        },
      },
      change: (hpa) => {
        hpa.spec.maxReplicas = 10;
      },
    });
  });

  it('Lease (coordination.k8s.io/v1)', async () => {
    await roundTrip({
      collection: '/apis/coordination.k8s.io/v1/namespaces/default/leases',
      group: 'coordination.k8s.io',
      resource: 'leases',
      body: {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: 'deploy-lock' },
        spec: {
          holderIdentity: 'run-1',
          leaseDurationSeconds: 15,
          acquireTime: '2026-11-23T13:00:00.000000Z',
          renewTime: '2026-11-23T13:00:00.000000Z',
          leaseTransitions: 0,
        },
      },
      change: (lease) => {
        lease.spec.holderIdentity = 'run-2';
        lease.spec.renewTime = '2026-11-23T13:00:10.000000Z';
        lease.spec.leaseTransitions = 1;
      },
    });
  });

  it('pods/status: a PUT there changes the status only, a PUT to the pod changes everything but the status', async () => {
    const pods = '/api/v1/namespaces/default/pods';
    const created = await call('POST', pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'status-pod' },
      spec: { containers: [{ name: 'app', image: 'nginx:1.25' }] },
      status: { phase: 'Running' },
    });
    expect(created.status).toBe(201);
    expect(created.body.status.phase).toBe('Pending');

    const running = structuredClone(created.body);
    running.status = {
      phase: 'Running',
      podIP: '10.244.1.7',
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-11-23T13:00:00Z' }],
    };
    running.metadata.labels = { ignored: 'yes' };
    const put = await call('PUT', `${pods}/status-pod/status`, running);
    expect(put.status).toBe(200);
    expect(put.body.status).toMatchObject(running.status);
    expect(put.body.metadata.labels).toBeUndefined();
    expect(Number(put.body.metadata.resourceVersion)).toBeGreaterThan(Number(created.body.metadata.resourceVersion));
    // The version the status write replaced is stale now.
    expect(await call('PUT', `${pods}/status-pod/status`, running)).toMatchObject({
      status: 409,
      body: { reason: 'Conflict', message: conflict('pods', 'status-pod') },
    });

    const relabel = structuredClone(put.body);
    relabel.metadata.labels = { tier: 'web' };
    relabel.status.phase = 'Failed';
    const main = await call('PUT', `${pods}/status-pod`, relabel);
    expect(main.status).toBe(200);
    expect(main.body.metadata.labels).toEqual({ tier: 'web' });
    expect(main.body.status.phase).toBe('Running');
    expect((await call('GET', `${pods}/status-pod/status`)).body.status.podIP).toBe('10.244.1.7');
  });
});

describe('injected faults', () => {
  it('answers 429 TooManyRequests with a Retry-After header and retryAfterSeconds', async () => {
    sim.faults.add({ verb: 'list', resource: 'configmaps', status: 429, retryAfterSeconds: 7, times: 1 });
    const limited = await call('GET', '/api/v1/namespaces/default/configmaps');
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('7');
    expect(limited.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'the server has received too many requests and has asked us to try again later',
      reason: 'TooManyRequests',
      details: { retryAfterSeconds: 7 },
      code: 429,
    });
    expect((await call('GET', '/api/v1/namespaces/default/configmaps')).status).toBe(200);
  });

  it('answers 500 InternalError as NewInternalError does: the message, and the cause in details', async () => {
    sim.faults.add({ verb: 'get', resource: 'configmaps', status: 500, times: 1 });
    const failed = await call('GET', '/api/v1/namespaces/default/configmaps/any');
    expect(failed.status).toBe(500);
    expect(failed.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Internal error occurred: injected fault',
      reason: 'InternalError',
      details: { causes: [{ message: 'injected fault' }] },
      code: 500,
    });
    expect((await call('GET', '/api/v1/namespaces/default/configmaps/any')).status).toBe(404);
  });
});
