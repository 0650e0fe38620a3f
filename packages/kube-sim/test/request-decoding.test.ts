// What the API server refuses before it writes anything: bodies that do not decode into the resource's Go
// types (a string in an integer field, another kind), query parameters that do not parse or validate
// (dryRun, limit), and dryRun=All writes that must leave everything as it was.
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installControllers } from '../src/defaults';
import { KubeSim } from '../src/index';

let sim: KubeSim;

beforeAll(async () => {
  sim = await KubeSim.start();
  installControllers(sim);
});

afterAll(async () => {
  await sim?.stop();
});

type Answer = { status: number; body: Record<string, unknown>; headers: Record<string, unknown> };

function call(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Answer> {
  // Content-Length set: Node sends a DELETE's body unframed otherwise.
  const text = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((done, fail) => {
    const req = request(
      `${sim.url}${path}`,
      {
        method,
        ca: sim.caPem,
        headers:
          text === undefined ? {} : { 'content-type': contentType, 'content-length': String(Buffer.byteLength(text)) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => done({ status: res.statusCode ?? 0, body: JSON.parse(text), headers: res.headers }));
      },
    );
    req.on('error', fail);
    req.end(text);
  });
}

const DEPLOYMENTS = '/apis/apps/v1/namespaces/default/deployments';

function deployment(name: string, spec: Record<string, unknown> = {}, port: unknown = 8080) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image: 'nginx:1.25', ports: [{ containerPort: port }] }] },
      },
      ...spec,
    },
  };
}

const badRequest = (message: string) => ({
  status: 400,
  body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: 'BadRequest', code: 400 },
});

describe('integer fields', () => {
  it('refuses a string in spec.replicas with the decode error a real API server gives, and stores nothing', async () => {
    for (const replicas of ['three', '3']) {
      expect(await call('POST', DEPLOYMENTS, deployment('strings', { replicas }))).toMatchObject(
        badRequest(
          'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32',
        ),
      );
    }
    expect((await call('GET', `${DEPLOYMENTS}/strings`)).status).toBe(404);
    // The controllers have nothing to spin on: no writes happen while the sim idles, and it answers at once.
    const rv = Number(sim.store.resourceVersion);
    await new Promise((r) => setTimeout(r, 200));
    expect(Number(sim.store.resourceVersion) - rv).toBeLessThan(5);
    const started = performance.now();
    expect((await call('GET', DEPLOYMENTS)).status).toBe(200);
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('refuses strings, fractions and objects in the other integer fields of Deployments, Services and Jobs', async () => {
    const cases: [string, unknown, string][] = [
      [
        DEPLOYMENTS,
        deployment('d1', { minReadySeconds: '5' }),
        'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.minReadySeconds of type int32',
      ],
      [
        DEPLOYMENTS,
        deployment('d2', { progressDeadlineSeconds: 1.5 }),
        'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.progressDeadlineSeconds of type int32',
      ],
      [
        DEPLOYMENTS,
        deployment('d3', { revisionHistoryLimit: { n: 1 } }),
        'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal object into Go struct field DeploymentSpec.spec.revisionHistoryLimit of type int32',
      ],
      [
        DEPLOYMENTS,
        deployment('d4', {}, 'http'),
        'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field ContainerPort.spec.template.spec.containers.ports.containerPort of type int32',
      ],
      [
        '/api/v1/namespaces/default/services',
        { apiVersion: 'v1', kind: 'Service', metadata: { name: 's1' }, spec: { ports: [{ port: '80' }] } },
        'Service in version "v1" cannot be handled as a Service: json: cannot unmarshal string into Go struct field ServicePort.spec.ports.port of type int32',
      ],
      ...(['backoffLimit', 'parallelism', 'completions'] as const).map((field): [string, unknown, string] => [
        '/apis/batch/v1/namespaces/default/jobs',
        {
          apiVersion: 'batch/v1',
          kind: 'Job',
          metadata: { name: `j-${field.toLowerCase()}` },
          spec: {
            [field]: 'two',
            template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } },
          },
        },
        `Job in version "v1" cannot be handled as a Job: json: cannot unmarshal string into Go struct field JobSpec.spec.${field} of type int32`,
      ]),
    ];
    for (const [path, body, message] of cases)
      expect(await call('POST', path, body)).toMatchObject(badRequest(message));
    expect(sim.store.list('batch/v1/jobs', 'default')).toEqual([]);
  });

  it('refuses them on update and patch too, leaving the stored object as it was', async () => {
    const created = await call('POST', DEPLOYMENTS, deployment('typed'));
    expect(created.status).toBe(201);
    const message =
      'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32';
    const put = structuredClone(created.body) as { spec: { replicas: unknown } };
    put.spec.replicas = 'three';
    expect(await call('PUT', `${DEPLOYMENTS}/typed`, put)).toMatchObject(badRequest(message));
    const patch = await call(
      'PATCH',
      `${DEPLOYMENTS}/typed`,
      { spec: { replicas: 'three' } },
      'application/strategic-merge-patch+json',
    );
    expect(patch).toMatchObject({ status: 400, body: { reason: 'BadRequest', message } });
    expect(sim.store.get('apps/v1/deployments', 'default', 'typed').spec.replicas).toBe(1);
  });
});

describe('query parameters', () => {
  it('answers 422 for a dryRun other than All, on every write, and writes nothing', async () => {
    const invalidDryRun = (kind: string) => ({
      status: 422,
      body: {
        kind: 'Status',
        reason: 'Invalid',
        code: 422,
        message: `${kind}.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"Bogus"}: supported values: "All"`,
        details: {
          name: '',
          group: 'meta.k8s.io',
          kind,
          causes: [
            {
              reason: 'FieldValueNotSupported',
              message: 'Unsupported value: []string{"Bogus"}: supported values: "All"',
              field: 'dryRun',
            },
          ],
        },
      },
    });
    const cms = '/api/v1/namespaces/default/configmaps';
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bogus' }, data: { a: '1' } };
    expect(await call('POST', `${cms}?dryRun=Bogus`, cm)).toMatchObject(invalidDryRun('CreateOptions'));
    expect(sim.store.find('v1/configmaps', 'default', 'bogus')).toBeUndefined();
    const created = await call('POST', cms, cm);
    const rv = (created.body.metadata as { resourceVersion: string }).resourceVersion;
    expect(await call('PUT', `${cms}/bogus?dryRun=Bogus`, { ...created.body, data: { a: '2' } })).toMatchObject(
      invalidDryRun('UpdateOptions'),
    );
    expect(
      await call('PATCH', `${cms}/bogus?dryRun=Bogus`, { data: { a: '3' } }, 'application/merge-patch+json'),
    ).toMatchObject(invalidDryRun('PatchOptions'));
    expect(await call('DELETE', `${cms}/bogus?dryRun=Bogus`)).toMatchObject(invalidDryRun('DeleteOptions'));
    expect(await call('DELETE', `${cms}/bogus`, { dryRun: ['Bogus'] })).toMatchObject(invalidDryRun('DeleteOptions'));
    const kept = sim.store.get('v1/configmaps', 'default', 'bogus');
    expect(kept.metadata.resourceVersion).toBe(rv);
    expect(kept.data).toEqual({ a: '1' });
  });

  it('changes nothing on update, patch and delete with dryRun=All, and answers with the object as it would be', async () => {
    const cms = '/api/v1/namespaces/default/configmaps';
    const created = await call('POST', cms, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'dry' },
      data: { a: '1' },
    });
    const rv = (created.body.metadata as { resourceVersion: string }).resourceVersion;
    const storeRv = sim.store.resourceVersion;

    const put = await call('PUT', `${cms}/dry?dryRun=All`, { ...created.body, data: { a: 'put' } });
    expect(put).toMatchObject({ status: 200, body: { data: { a: 'put' } } });
    const patch = await call(
      'PATCH',
      `${cms}/dry?dryRun=All`,
      { data: { a: 'patch' } },
      'application/merge-patch+json',
    );
    expect(patch).toMatchObject({ status: 200, body: { data: { a: 'patch' } } });
    const del = await call('DELETE', `${cms}/dry?dryRun=All`);
    expect(del).toMatchObject({ status: 200, body: { metadata: { name: 'dry' } } });

    const kept = sim.store.get('v1/configmaps', 'default', 'dry');
    expect(kept.data).toEqual({ a: '1' });
    expect(kept.metadata.resourceVersion).toBe(rv);
    // The sim's controllers may write meanwhile; none of those writes is a ConfigMap's.
    expect(
      sim.store.list('v1/configmaps', 'default').filter((c) => Number(c.metadata.resourceVersion) > Number(storeRv)),
    ).toEqual([]);
  });

  it('answers 400 for a limit that is not an integer, and lists everything for a limit of 0 or less', async () => {
    const cms = '/api/v1/namespaces/default/configmaps';
    expect(await call('GET', `${cms}?limit=abc`)).toMatchObject(
      badRequest('strconv.ParseInt: parsing "abc": invalid syntax'),
    );
    expect(await call('GET', `${cms}?watch=true&timeoutSeconds=soon`)).toMatchObject(
      badRequest('strconv.ParseInt: parsing "soon": invalid syntax'),
    );
    const all = sim.store.list('v1/configmaps', 'default').length;
    const negative = await call('GET', `${cms}?limit=-1`);
    expect(negative.status).toBe(200);
    expect((negative.body.items as unknown[]).length).toBe(all);
    expect(negative.body.metadata).not.toHaveProperty('continue');
  });
});

describe('a body of another kind than the URL', () => {
  it('answers 400 naming the kind in the body and the kind of the resource, as the decoder does', async () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    };
    expect(await call('POST', '/api/v1/namespaces/default/configmaps', pod)).toMatchObject(
      badRequest(
        'Pod in version "v1" cannot be handled as a ConfigMap: converting (v1.Pod) to (core.ConfigMap): unknown conversion',
      ),
    );
    expect(await call('POST', DEPLOYMENTS, { ...pod, apiVersion: 'v1' })).toMatchObject(
      badRequest(
        'Pod in version "v1" cannot be handled as a Deployment: converting (v1.Pod) to (apps.Deployment): unknown conversion',
      ),
    );
    expect(await call('POST', DEPLOYMENTS, { ...deployment('old'), apiVersion: 'extensions/v1beta1' })).toMatchObject(
      badRequest(
        'Deployment in version "v1beta1" cannot be handled as a Deployment: no kind "Deployment" is registered for version "extensions/v1beta1" in scheme "pkg/api/legacyscheme/scheme.go:30"',
      ),
    );
    expect(sim.store.find('v1/configmaps', 'default', 'p')).toBeUndefined();
  });
});
