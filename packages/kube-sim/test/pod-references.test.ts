// Pods need what they reference, as on a real cluster: the ServiceAccount admission refuses a pod whose
// ServiceAccount is missing (and its ReplicaSet reports FailedCreate), a missing ConfigMap or Secret in env /
// envFrom leaves containers in CreateContainerConfigError, in a volume leaves the pod ContainerCreating with
// FailedMount events, and the rollout stalls until ProgressDeadlineExceeded; `optional: true` starts; missing
// image pull secrets only warn. Seen on a virtual clock, through kubectl, and through the Python client.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { findKubectl, kubectl, kubectlMissing, kubectlOk } from '../../testkit/src/kubectl';
import { installControllers } from '../src/defaults';
import { ApiError } from '../src/errors';
import { type KubeObject, KubeSim } from '../src/index';
import { deployment, harness } from './controllers-harness';
import { findPythonClient, pythonClientMissing, runPython } from './python-client';

const podsOf = (h: ReturnType<typeof harness>, app: string) =>
  h.store.list('v1/pods', 'default', { labelSelector: `app=${app}` });
const eventsAbout = (h: ReturnType<typeof harness>, name: string) =>
  h.store
    .list('v1/events', 'default')
    .filter((e) => e.involvedObject.name === name)
    .map((e) => `${e.type} ${e.reason}: ${e.message}`);
const waiting = (pod: KubeObject) => pod.status?.containerStatuses?.[0]?.state?.waiting;
const progressing = (d: KubeObject) => d.status?.conditions?.find((c: KubeObject) => c.type === 'Progressing');

describe('pods and what they reference (virtual clock)', () => {
  let h = harness();
  afterEach(() => {
    h.stop();
    h = harness();
  });

  it('gives every namespace its default ServiceAccount', () => {
    h.store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
    for (const ns of ['default', 'kube-system', 'team']) {
      expect(h.store.find('v1/serviceaccounts', ns, 'default')?.metadata.name).toBe('default');
    }
  });

  it('refuses a pod whose ServiceAccount does not exist, and defaults serviceAccountName', () => {
    const pod = (name: string, sa?: string) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default' },
      spec: { ...(sa ? { serviceAccountName: sa } : {}), containers: [{ name: 'c', image: 'nginx:1.27' }] },
    });
    let refused: unknown;
    try {
      h.store.create(pod('p1', 'ghost'));
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).toStatus()).toMatchObject({
      code: 403,
      reason: 'Forbidden',
      message:
        'pods "p1" is forbidden: error looking up service account default/ghost: serviceaccount "ghost" not found',
      details: { name: 'p1', kind: 'pods' },
    });
    const created = h.store.create(pod('p2'));
    expect(created.spec).toMatchObject({ serviceAccountName: 'default', serviceAccount: 'default' });
  });

  it('a Deployment whose ServiceAccount is missing: FailedCreate, ReplicaFailure, then pods once it exists', async () => {
    h.store.create(
      deployment('web', 'nginx:1.27', 2, {
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { serviceAccountName: 'web-sa', containers: [{ name: 'app', image: 'nginx:1.27' }] },
        },
      }),
    );
    await h.run(5000);
    expect(podsOf(h, 'web')).toEqual([]);
    const rs = h.store.list('apps/v1/replicasets', 'default')[0]!;
    const refusal = `pods "${rs.metadata.name}-" is forbidden: error looking up service account default/web-sa: serviceaccount "web-sa" not found`;
    expect(eventsAbout(h, rs.metadata.name)).toContain(`Warning FailedCreate: Error creating: ${refusal}`);
    const d = h.store.get('apps/v1/deployments', 'default', 'web');
    expect(d.status.conditions).toContainEqual(
      expect.objectContaining({ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: refusal }),
    );
    h.store.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'web-sa', namespace: 'default' } });
    await h.run(15_000);
    const after = h.store.get('apps/v1/deployments', 'default', 'web');
    expect(after.status).toMatchObject({ readyReplicas: 2 });
    expect(after.status.conditions.some((c: KubeObject) => c.type === 'ReplicaFailure')).toBe(false);
  });

  it('a missing ConfigMap in envFrom: CreateContainerConfigError, the rollout stalls past its deadline, then starts', async () => {
    h.store.create(
      deployment('api', 'ghcr.io/acme/api:v1', 2, {
        progressDeadlineSeconds: 60,
        template: {
          metadata: { labels: { app: 'api' } },
          spec: {
            containers: [
              { name: 'app', image: 'ghcr.io/acme/api:v1', envFrom: [{ configMapRef: { name: 'api-config' } }] },
            ],
          },
        },
      }),
    );
    await h.run(30_000);
    const pods = podsOf(h, 'api');
    expect(pods).toHaveLength(2);
    for (const pod of pods) {
      expect(pod.status.phase).toBe('Pending');
      expect(waiting(pod)).toEqual({
        reason: 'CreateContainerConfigError',
        message: 'configmap "api-config" not found',
      });
    }
    expect(eventsAbout(h, pods[0]!.metadata.name)).toContain('Warning Failed: Error: configmap "api-config" not found');
    await h.run(60_000);
    const stalled = h.store.get('apps/v1/deployments', 'default', 'api');
    expect(progressing(stalled)).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
    h.store.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'api-config', namespace: 'default' },
      data: { A: '1' },
    });
    await h.run(15_000);
    expect(podsOf(h, 'api').map((p) => p.status.phase)).toEqual(['Running', 'Running']);
    expect(h.store.get('apps/v1/deployments', 'default', 'api').status.readyReplicas).toBe(2);
  });

  it('a missing key of a Secret in env names the key, as the kubelet does', async () => {
    h.store.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db', namespace: 'default' },
      data: { user: 'dQ==' },
    });
    const env = [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }];
    h.store.create(
      deployment('db', 'ghcr.io/acme/db:v1', 1, {
        template: {
          metadata: { labels: { app: 'db' } },
          spec: { containers: [{ name: 'app', image: 'ghcr.io/acme/db:v1', env }] },
        },
      }),
    );
    await h.run(5000);
    expect(waiting(podsOf(h, 'db')[0]!)).toEqual({
      reason: 'CreateContainerConfigError',
      message: "couldn't find key password in Secret default/db",
    });
  });

  it('a missing Secret in a volume: ContainerCreating with FailedMount events until it exists', async () => {
    h.store.create(
      deployment('tls', 'ghcr.io/acme/tls:v1', 1, {
        template: {
          metadata: { labels: { app: 'tls' } },
          spec: {
            volumes: [{ name: 'certs', secret: { secretName: 'tls-certs' } }],
            containers: [
              { name: 'app', image: 'ghcr.io/acme/tls:v1', volumeMounts: [{ name: 'certs', mountPath: '/certs' }] },
            ],
          },
        },
      }),
    );
    await h.run(10_000);
    const pod = podsOf(h, 'tls')[0]!;
    expect(pod.status.phase).toBe('Pending');
    expect(waiting(pod)).toEqual({ reason: 'ContainerCreating' });
    expect(pod.status.conditions).toContainEqual(
      expect.objectContaining({ type: 'PodReadyToStartContainers', status: 'False' }),
    );
    expect(eventsAbout(h, pod.metadata.name)).toContain(
      'Warning FailedMount: MountVolume.SetUp failed for volume "certs" : secret "tls-certs" not found',
    );
    h.store.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'tls-certs', namespace: 'default' },
      data: {},
    });
    await h.run(20_000);
    expect(podsOf(h, 'tls')[0]!.status.phase).toBe('Running');
  });

  it('optional references start without their objects; missing image pull secrets only warn', async () => {
    h.store.create(
      deployment('opt', 'ghcr.io/acme/opt:v1', 1, {
        template: {
          metadata: { labels: { app: 'opt' } },
          spec: {
            imagePullSecrets: [{ name: 'regcred' }],
            volumes: [{ name: 'extra', configMap: { name: 'nope', optional: true } }],
            containers: [
              {
                name: 'app',
                image: 'ghcr.io/acme/opt:v1',
                envFrom: [{ secretRef: { name: 'nope', optional: true } }],
                env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'nope', key: 'x', optional: true } } }],
              },
            ],
          },
        },
      }),
    );
    await h.run(5000);
    const pod = podsOf(h, 'opt')[0]!;
    expect(pod.status.phase).toBe('Running');
    expect(h.store.get('apps/v1/deployments', 'default', 'opt').status.readyReplicas).toBe(1);
    expect(eventsAbout(h, pod.metadata.name)).toContain(
      'Warning FailedToRetrieveImagePullSecret: Unable to retrieve some image pull secrets (regcred); attempting to pull the image may not succeed.',
    );
  });
});

const bin = findKubectl();

describe.skipIf(!bin)(`kubectl: pods and what they reference${bin ? '' : ` (skipped: ${kubectlMissing})`}`, () => {
  let sim: KubeSim;
  let dir: string;
  let kubeconfig: string;
  const run = (args: string[], input?: string) => kubectlOk(args, { kubeconfig, ...(input ? { input } : {}) });

  beforeAll(async () => {
    sim = await KubeSim.start();
    installControllers(sim);
    sim.behaviour.set('*', { readyAfter: '50ms' });
    dir = mkdtempSync(join(tmpdir(), 'kube-sim-refs-'));
    kubeconfig = join(dir, 'kubeconfig.yaml');
    sim.writeKubeconfig(kubeconfig);
  });

  afterAll(async () => {
    await sim?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('kubectl run with a missing ServiceAccount is Forbidden, worded as the API server words it', async () => {
    const out = await kubectl(
      ['run', 'lonely', '--image=nginx:1.27', '--overrides={"spec":{"serviceAccountName":"ghost"}}'],
      {
        kubeconfig,
      },
    );
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain(
      'Error from server (Forbidden): pods "lonely" is forbidden: error looking up service account default/ghost: serviceaccount "ghost" not found',
    );
    expect((await run(['get', 'serviceaccount', 'default', '-o', 'name'])).trim()).toBe('serviceaccount/default');
  });

  it('rollout status fails on the progress deadline while a ConfigMap is missing; get pods shows why', async () => {
    await run(
      ['apply', '-f', '-'],
      `apiVersion: apps/v1
kind: Deployment
metadata: {name: cfg}
spec:
  replicas: 1
  progressDeadlineSeconds: 1
  selector: {matchLabels: {app: cfg}}
  template:
    metadata: {labels: {app: cfg}}
    spec:
      containers:
      - name: web
        image: ghcr.io/acme/cfg:v1
        env: [{name: MODE, valueFrom: {configMapKeyRef: {name: cfg-settings, key: mode}}}]
`,
    );
    const status = await kubectl(['rollout', 'status', 'deployment/cfg', '--timeout=20s'], {
      kubeconfig,
      timeoutMs: 30_000,
    });
    expect(status.code).not.toBe(0);
    expect(status.stderr).toContain('deployment "cfg" exceeded its progress deadline');
    const pods = await run(['get', 'pods', '-l', 'app=cfg', '--no-headers']);
    expect(pods).toContain('CreateContainerConfigError');
  });
});

const python = findPythonClient();

describe.skipIf(!python)(
  `Python client: ServiceAccount admission${python ? '' : ` (skipped: ${pythonClientMissing})`}`,
  () => {
    let sim: KubeSim;
    let dir: string;

    beforeAll(async () => {
      sim = await KubeSim.start();
      dir = mkdtempSync(join(tmpdir(), 'kube-sim-refs-py-'));
      sim.writeKubeconfig(join(dir, 'kubeconfig.yaml'));
    });

    afterAll(async () => {
      await sim?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('create_namespaced_pod with a missing ServiceAccount raises 403 Forbidden', async () => {
      const answer = await runPython(
        `
pod = {'metadata': {'generateName': 'job-'}, 'spec': {'serviceAccountName': 'robot', 'containers': [{'name': 'c', 'image': 'busybox:1.36'}]}}
try:
    v1.create_namespaced_pod('default', pod)
    out(None)
except ApiException as e:
    out(status_of(e))
`,
        join(dir, 'kubeconfig.yaml'),
      );
      expect(answer).toMatchObject({
        status: 403,
        body: {
          reason: 'Forbidden',
          message:
            'pods "job-" is forbidden: error looking up service account default/robot: serviceaccount "robot" not found',
        },
      });
    });
  },
);
