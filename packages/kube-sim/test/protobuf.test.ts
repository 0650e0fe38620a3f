// Protobuf request bodies: the bodies kubectl 1.33 sent for its `create <kind>` generators (fixtures) decode to
// exactly the JSON kubectl 1.31 sent for the same commands; malformed bodies get 400, unknown kinds 415; and a
// real kubectl >= 1.32 creates objects through kube-sim (skipped when none is installed).
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findKubectl } from '../../testkit/src/kubectl';
import { ApiError } from '../src/errors';
import { KubeSim } from '../src/index';
import { decodeObject, protobufBodyToJson } from '../src/protobuf/body';

// biome-ignore lint/suspicious/noExplicitAny: decoded objects are read loosely (deep paths) in assertions
type Decoded = any;

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures/protobuf');
const fixture = (name: string) => readFileSync(join(fixtures, `${name}.pb`));
const expected = (name: string) => JSON.parse(readFileSync(join(fixtures, `${name}.json`), 'utf8'));
const b64 = (s: string) => Buffer.from(s).toString('base64');

// A minimal protobuf writer, to build bodies the fixtures do not cover.
const varint = (n: bigint | number): number[] => {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  do {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v ? b | 0x80 : b);
  } while (v);
  return out;
};
const num = (field: number, n: bigint | number) => [...varint(field << 3), ...varint(n)];
const len = (field: number, bytes: number[] | string) => {
  const b = typeof bytes === 'string' ? [...Buffer.from(bytes)] : bytes;
  return [...varint((field << 3) | 2), ...varint(b.length), ...b];
};
const envelope = (apiVersion: string, kind: string, raw: number[]) =>
  Buffer.from([0x6b, 0x38, 0x73, 0x00, ...len(1, [...len(1, apiVersion), ...len(2, kind)]), ...len(2, raw)]);

function apiError(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error('expected an ApiError');
}

describe('protobuf bodies from kubectl create generators', () => {
  const names = readdirSync(fixtures)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length));

  it('has a fixture for every generator the runbooks use', () => {
    expect(names).toEqual(
      expect.arrayContaining(['secret-generic', 'namespace', 'job-from-cronjob', 'deployment', 'configmap']),
    );
  });

  it.each(names)('%s decodes to the JSON kubectl 1.31 sent for the same command', (name) => {
    expect(decodeObject(fixture(name))).toEqual(expected(name));
  });

  it('keeps Secret data and ConfigMap binaryData as base64, as JSON carries bytes', () => {
    expect(decodeObject(fixture('secret-generic')).data).toEqual({ password: b64('hunter2'), user: b64('admin') });
    const cm = decodeObject(fixture('configmap')) as { data: object; binaryData: object };
    expect(cm.data).toEqual({ mode: 'blue', 'app.properties': 'host=db\nport=5432\n' });
    expect(cm.binaryData).toEqual({ 'blob.bin': Buffer.from([0, 1, 0xff, 0xfe]).toString('base64') });
  });

  it('decodes nested messages: pod template, IntOrString ports, ingress paths, owner references', () => {
    const d = decodeObject(fixture('deployment')) as Decoded;
    expect(d.spec.replicas).toBe(3);
    expect(d.spec.template.spec.containers[0]).toEqual({
      name: 'nginx',
      image: 'nginx:1.25',
      ports: [{ containerPort: 8080 }],
      resources: {},
    });
    expect((decodeObject(fixture('service-clusterip')) as Decoded).spec.ports[0]).toEqual({
      name: '80-8080',
      protocol: 'TCP',
      port: 80,
      targetPort: 8080,
    });
    const ing = decodeObject(fixture('ingress')) as Decoded;
    expect(ing.spec.rules[1].http.paths[0]).toEqual({
      path: '/api',
      pathType: 'Exact',
      backend: { service: { name: 'web', port: { name: 'http' } } },
    });
    const job = decodeObject(fixture('job-from-cronjob')) as Decoded;
    expect(job.metadata.ownerReferences[0]).toMatchObject({
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      controller: true,
    });
    expect(job.spec.template.spec.containers[0].command).toEqual(['sh', '-c', 'echo hi']);
  });

  it('writes Time as RFC 3339, keeps pointer zeros, reads negative and packed integers, skips unknown fields', () => {
    const meta = [
      ...len(1, 'web'),
      ...len(8, [...num(1, 1_700_000_000), ...num(2, 5)]), // creationTimestamp with nanos
      ...num(10, 0), // deletionGracePeriodSeconds: a pointer, so 0 is kept
      ...num(7, 0), // generation: not a pointer, so 0 is dropped
      ...len(99, 'a field from a newer Kubernetes'),
    ];
    const container = [...len(1, 'c'), ...len(2, 'img'), ...len(15, [...num(4, -1)])]; // runAsUser -1
    const podSpec = [...len(2, container), ...len(14, [...len(4, [...varint(1000), ...varint(2000)])])]; // packed
    const spec = [...num(1, 0), ...len(3, [...len(2, podSpec)])]; // replicas: 0
    const obj = decodeObject(envelope('apps/v1', 'Deployment', [...len(1, meta), ...len(2, spec)])) as Decoded;
    expect(obj.metadata).toEqual({
      name: 'web',
      creationTimestamp: '2023-11-14T22:13:20Z',
      deletionGracePeriodSeconds: 0,
    });
    expect(obj.spec.replicas).toBe(0);
    expect(obj.spec.template.spec.containers[0].securityContext).toEqual({ runAsUser: -1 });
    expect(obj.spec.template.spec.securityContext).toEqual({ supplementalGroups: [1000, 2000] });
  });

  it('answers 400 BadRequest naming what failed for a malformed body', () => {
    const ct = 'application/vnd.kubernetes.protobuf';
    const truncated = apiError(() => protobufBodyToJson(fixture('deployment').subarray(0, 100), ct));
    expect(truncated.code).toBe(400);
    expect(truncated.reason).toBe('BadRequest');
    expect(truncated.message).toMatch(/could not be decoded as protobuf: .*runs past the end/);
    const noMagic = apiError(() => protobufBodyToJson(Buffer.from('{"kind":"Secret"}'), ct));
    expect(noMagic.code).toBe(400);
    expect(noMagic.message).toContain('does not start with the Kubernetes protobuf prefix');
    const badWire = envelope('v1', 'Secret', [...num(1, 5)]); // metadata as a varint
    expect(apiError(() => protobufBodyToJson(badWire, ct)).message).toContain('Secret.metadata: wire type 0');
  });

  it('answers 415 naming the kind and the workaround for a kind without a field table, and for CBOR', () => {
    const err = apiError(() => protobufBodyToJson(fixture('priorityclass'), 'application/vnd.kubernetes.protobuf'));
    expect(err.code).toBe(415);
    expect(err.message).toContain('scheduling.k8s.io/v1, Kind=PriorityClass');
    expect(err.message).toContain("'kubectl create -f'");
    const cbor = apiError(() => protobufBodyToJson(Buffer.from([0xa0]), 'application/cbor'));
    expect(cbor.code).toBe(415);
  });
});

describe('protobuf bodies over HTTP', () => {
  let sim: KubeSim;
  beforeAll(async () => {
    sim = await KubeSim.start({ tls: false });
  });
  afterAll(() => sim.stop());

  const post = (path: string, body: Buffer) =>
    fetch(`${sim.url}${path}`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/vnd.kubernetes.protobuf',
        Accept: 'application/vnd.kubernetes.protobuf,application/json',
      },
      body,
    });

  it('creates the object and answers in JSON', async () => {
    const res = await post('/api/v1/namespaces/default/secrets', fixture('secret-generic'));
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(((await res.json()) as { metadata: { name: string } }).metadata.name).toBe('creds');
    expect(sim.store.get('v1/secrets', 'default', 'creds').data.password).toBe(b64('hunter2'));
  });

  it('deletes with a protobuf DeleteOptions body, as helm does when it prunes release history', async () => {
    sim.store.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'sh.helm.release.v1.web.v1', namespace: 'default' },
    });
    const body = envelope('v1', 'DeleteOptions', [...len(4, 'Background'), ...len(2, [...len(2, '')])]);
    const res = await fetch(`${sim.url}/api/v1/namespaces/default/secrets/sh.helm.release.v1.web.v1`, {
      method: 'DELETE',
      headers: { 'Content-Type': 'application/vnd.kubernetes.protobuf', Accept: 'application/json' },
      body,
    });
    expect(res.status).toBe(200);
    expect(() => sim.store.get('v1/secrets', 'default', 'sh.helm.release.v1.web.v1')).toThrow(/not found/);
    const decoded = JSON.parse(protobufBodyToJson(body, 'application/vnd.kubernetes.protobuf').toString());
    expect(decoded).toMatchObject({ kind: 'DeleteOptions', propagationPolicy: 'Background' });
  });

  it('answers a Status 400 for a body that does not decode', async () => {
    const res = await post('/api/v1/namespaces/default/secrets', fixture('secret-generic').subarray(0, 40));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ kind: 'Status', reason: 'BadRequest', code: 400 });
  });
});

/** A kubectl that sends protobuf: >= 1.32, and not the Cloud SDK dispatcher (it runs the server's minor, 1.31). */
function protobufKubectl(): string | undefined {
  const sdk = '/usr/lib/google-cloud-sdk/bin';
  let versioned: string[] = [];
  try {
    versioned = readdirSync(sdk)
      .filter((f) => /^kubectl\.1\.\d+$/.test(f))
      .sort((a, b) => Number(b.split('.')[2]) - Number(a.split('.')[2]))
      .map((f) => join(sdk, f));
  } catch {}
  for (const bin of [process.env.KUBECTL, findKubectl(), ...versioned]) {
    if (!bin) continue;
    try {
      const out = execFileSync(bin, ['version', '--client', '-o', 'json'], { encoding: 'utf8', timeout: 10_000 });
      const v = JSON.parse(out).clientVersion as { minor: string; gitVersion: string };
      if (Number.parseInt(v.minor, 10) >= 32 && !v.gitVersion.includes('dispatcher')) return bin;
    } catch {}
  }
  return undefined;
}

const pbKubectl = protobufKubectl();
const why = 'no kubectl >= 1.32 found (set KUBECTL to one, or install the Cloud SDK kubectl.1.32+ binaries)';

describe.skipIf(!pbKubectl)(
  `kubectl >= 1.32 create generators against kube-sim${pbKubectl ? '' : ` (skipped: ${why})`}`,
  () => {
    let sim: KubeSim;
    let dir: string;
    let kubeconfig: string;
    let protobufRequests = 0;
    // Asynchronous: kube-sim serves from this process, so a blocking call would stall its TLS handshakes.
    const run = (args: string[], input = '') =>
      new Promise<string>((resolve, reject) => {
        const child = execFile(
          pbKubectl!,
          args,
          { encoding: 'utf8', env: { ...process.env, KUBECONFIG: kubeconfig }, timeout: 30_000 },
          (error, stdout, stderr) =>
            error ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr}`)) : resolve(stdout),
        );
        child.stdin?.end(input);
      });
    const get = async (args: string[]) => JSON.parse(await run(['get', ...args, '-o', 'json']));

    beforeAll(async () => {
      sim = await KubeSim.start();
      dir = mkdtempSync(join(tmpdir(), 'kube-sim-protobuf-'));
      kubeconfig = join(dir, 'kubeconfig.yaml');
      sim.writeKubeconfig(kubeconfig);
      // Count what kubectl really sends, so a JSON-only kubectl cannot pass these tests by accident.
      (sim as unknown as { server: Server }).server.prependListener('request', (req: IncomingMessage) => {
        if (/protobuf/.test(req.headers['content-type'] ?? '')) protobufRequests++;
      });
    });

    afterAll(async () => {
      await sim.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('creates a Secret with base64 data, a Namespace and a ConfigMap with binary data', async () => {
      expect(await run(['create', 'secret', 'generic', 'creds', '--from-literal=password=hunter2'])).toContain(
        'created',
      );
      expect((await get(['secret', 'creds'])).data).toEqual({ password: b64('hunter2') });
      await run([
        'create',
        'secret',
        'docker-registry',
        'regcred',
        '--docker-server=r.example.com',
        '--docker-username=u',
        '--docker-password=p',
      ]);
      const reg = await get(['secret', 'regcred']);
      expect(reg.type).toBe('kubernetes.io/dockerconfigjson');
      expect(Buffer.from(reg.data['.dockerconfigjson'], 'base64').toString()).toContain('r.example.com');

      await run(['create', 'namespace', 'team-a']);
      expect((await get(['namespace', 'team-a'])).status.phase).toBe('Active');

      writeFileSync(join(dir, 'blob.bin'), Buffer.from([0, 1, 0xff]));
      await run(['create', 'configmap', 'cfg', '--from-literal=mode=blue', `--from-file=${join(dir, 'blob.bin')}`]);
      const cm = await get(['configmap', 'cfg']);
      expect(cm.data).toEqual({ mode: 'blue' });
      expect(cm.binaryData).toEqual({ 'blob.bin': Buffer.from([0, 1, 0xff]).toString('base64') });
    });

    it('creates a Deployment, a Service and a ServiceAccount', async () => {
      await run(['create', 'deployment', 'web', '--image=nginx:1.25', '--replicas=3', '--port=8080']);
      const d = sim.store.get('apps/v1/deployments', 'default', 'web');
      expect(d.spec.replicas).toBe(3);
      expect(d.spec.template.spec.containers[0].image).toBe('nginx:1.25');
      expect(d.spec.template.spec.containers[0].ports).toEqual([expect.objectContaining({ containerPort: 8080 })]);

      await run(['create', 'service', 'clusterip', 'web', '--tcp=80:8080']);
      const svc = await get(['service', 'web']);
      expect(svc.spec.ports[0]).toMatchObject({ port: 80, targetPort: 8080, protocol: 'TCP' });
      expect(svc.spec.clusterIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);

      await run(['create', 'serviceaccount', 'robot']);
      expect((await get(['serviceaccount', 'robot'])).metadata.name).toBe('robot');
    });

    it('creates a Job from a CronJob, carrying the CronJob template', async () => {
      await run([
        'create',
        'cronjob',
        'nightly',
        '--image=busybox:1.36',
        '--schedule=0 3 * * *',
        '--',
        'sh',
        '-c',
        'echo hi',
      ]);
      await run(['create', 'job', 'manual', '--from=cronjob/nightly']);
      const cron = await get(['cronjob', 'nightly']);
      const job = await get(['job', 'manual']);
      expect(job.spec.template.spec.containers[0]).toMatchObject({
        image: 'busybox:1.36',
        command: ['sh', '-c', 'echo hi'],
      });
      expect(job.metadata.annotations['cronjob.kubernetes.io/instantiate']).toBe('manual');
      expect(job.metadata.ownerReferences[0]).toMatchObject({
        kind: 'CronJob',
        name: 'nightly',
        uid: cron.metadata.uid,
      });
    });

    it('creates an Ingress and a PodDisruptionBudget, all of the above over protobuf', async () => {
      await run(['create', 'ingress', 'web', '--class=nginx', '--rule=example.com/*=web:80']);
      const ing = await get(['ingress', 'web']);
      expect(ing.spec.ingressClassName).toBe('nginx');
      expect(ing.spec.rules[0].http.paths[0]).toMatchObject({ path: '/', pathType: 'Prefix' });
      await run(['create', 'poddisruptionbudget', 'pdb', '--selector=app=web', '--min-available=1']);
      expect((await get(['pdb', 'pdb'])).spec.minAvailable).toBe(1);
      expect(protobufRequests).toBe(11);
    });

    it('still creates and applies manifests, which kubectl sends as JSON', async () => {
      const manifest = JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'from-file' },
        data: { a: '1' },
      });
      const before = protobufRequests;
      expect(await run(['create', '-f', '-'], manifest)).toContain('configmap/from-file created');
      expect(await run(['apply', '-f', '-'], manifest.replace('"1"', '"2"'))).toContain(
        'configmap/from-file configured',
      );
      expect((await get(['configmap', 'from-file'])).data).toEqual({ a: '2' });
      expect(protobufRequests).toBe(before);
    });
  },
);
