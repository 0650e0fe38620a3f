// Graceful pod termination through real clients (client-node, kubectl, the Python client) on a virtual clock the
// test moves: a deleted running pod stays Terminating (deletionTimestamp, deletionGracePeriodSeconds) for its
// grace period, out of the Endpoints, counted by nobody's replicas, then the kubelet removes it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '@deploy-actions/core/clock';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findKubectl, kubectl, kubectlMissing, kubectlOk } from '../../testkit/src/kubectl';
import { installControllers } from '../src/defaults';
import { type KubeObject, KubeSim } from '../src/index';
import { findPythonClient, pythonClientMissing, runPython } from './python-client';

const NS = 'default';

describe('graceful pod termination', () => {
  const clock = new VirtualClock();
  let sim: KubeSim;
  let dir: string;
  let kubeconfig: string;
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let apps: k8s.AppsV1Api;

  beforeAll(async () => {
    sim = await KubeSim.start({ clock });
    installControllers(sim, { seed: 3 });
    dir = mkdtempSync(join(tmpdir(), 'kube-sim-grace-'));
    kubeconfig = join(dir, 'kubeconfig.yaml');
    sim.writeKubeconfig(kubeconfig);
    kc = new k8s.KubeConfig();
    kc.loadFromString(sim.kubeconfig());
    core = kc.makeApiClient(k8s.CoreV1Api);
    apps = kc.makeApiClient(k8s.AppsV1Api);
  });

  afterAll(async () => {
    await sim?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const pod = (name: string, spec: KubeObject = {}, labels: Record<string, string> = {}): k8s.V1Pod => ({
    metadata: { name, labels: { app: name, ...labels } },
    spec: { containers: [{ name: 'app', image: `ghcr.io/acme/${name}:v1` }], ...spec },
  });
  const running = async (name: string, spec?: KubeObject, labels?: Record<string, string>) => {
    await core.createNamespacedPod({ namespace: NS, body: pod(name, spec, labels) });
    await clock.advance(2000);
    expect((await core.readNamespacedPod({ name, namespace: NS })).status?.phase).toBe('Running');
  };
  const exists = (name: string) => sim.store.find('v1/pods', NS, name) !== undefined;

  it('client-node: Terminating for the grace period (MODIFIED), out of the Endpoints, then gone (DELETED)', async () => {
    await running('web-a', {}, { tier: 'web' });
    await core.createNamespacedService({
      namespace: NS,
      body: { metadata: { name: 'web' }, spec: { selector: { tier: 'web' }, ports: [{ port: 80 }] } },
    });
    await clock.advance(0);
    const ep = () => core.readNamespacedEndpoints({ name: 'web', namespace: NS });
    expect((await ep()).subsets?.[0]?.addresses).toHaveLength(1);

    const events: string[] = [];
    let sawDeleted: () => void = () => {};
    const deleted = new Promise<void>((resolve) => {
      sawDeleted = resolve;
    });
    const watch = await new k8s.Watch(kc).watch(
      `/api/v1/namespaces/${NS}/pods`,
      { fieldSelector: 'metadata.name=web-a', resourceVersion: sim.store.resourceVersion },
      (type: string, obj: KubeObject) => {
        events.push(`${type} ${obj.metadata.deletionGracePeriodSeconds ?? '-'}`);
        if (type === 'DELETED') sawDeleted();
      },
      () => {},
    );
    const deletedAt = clock.now();
    const returned = await core.deleteNamespacedPod({ name: 'web-a', namespace: NS });
    expect(returned.metadata?.deletionGracePeriodSeconds).toBe(30);
    expect(returned.metadata?.deletionTimestamp?.getTime()).toBe(deletedAt + 30_000);
    await clock.advance(0);
    const live = await core.readNamespacedPod({ name: 'web-a', namespace: NS });
    expect(live.metadata?.deletionTimestamp).toBeDefined();
    expect(live.status?.phase).toBe('Running');
    expect((await ep()).subsets ?? []).toEqual([]);
    // A DELETE without a shorter period changes nothing.
    await core.deleteNamespacedPod({ name: 'web-a', namespace: NS });
    await clock.advance(29_000);
    expect(exists('web-a')).toBe(true);
    await clock.advance(1000);
    expect(exists('web-a')).toBe(false);
    await deleted;
    watch.abort();
    expect(events).toEqual(['MODIFIED 30', 'DELETED 30']);
    const error = await core.readNamespacedPod({ name: 'web-a', namespace: NS }).catch((e) => e);
    expect(error.code).toBe(404);
  });

  it('client-node: the pod’s terminationGracePeriodSeconds, a shorter second DELETE, and gracePeriodSeconds 0', async () => {
    await running('grace-10', { terminationGracePeriodSeconds: 10 });
    const deletedAt = clock.now();
    const marked = await core.deleteNamespacedPod({ name: 'grace-10', namespace: NS });
    expect(marked.metadata?.deletionGracePeriodSeconds).toBe(10);
    await clock.advance(2000);
    // Shortened to 5 s, counted from the first deletion: 3 s left.
    const shorter = await core.deleteNamespacedPod({ name: 'grace-10', namespace: NS, gracePeriodSeconds: 5 });
    expect(shorter.metadata?.deletionGracePeriodSeconds).toBe(5);
    expect(shorter.metadata?.deletionTimestamp?.getTime()).toBe(deletedAt + 5000);
    await clock.advance(2900);
    expect(exists('grace-10')).toBe(true);
    await clock.advance(100);
    expect(exists('grace-10')).toBe(false);

    await running('forced');
    await core.deleteNamespacedPod({ name: 'forced', namespace: NS, gracePeriodSeconds: 0 });
    expect(exists('forced')).toBe(false);
  });

  it('client-node: an update keeps a Terminating pod; finalizers keep it past the period until removed', async () => {
    await running('kept', {});
    await core.deleteNamespacedPod({ name: 'kept', namespace: NS });
    const marked = await core.readNamespacedPod({ name: 'kept', namespace: NS });
    marked.metadata!.labels = { ...marked.metadata!.labels, seen: 'yes' };
    const relabelled = await core.replaceNamespacedPod({ name: 'kept', namespace: NS, body: marked });
    expect(relabelled.metadata?.labels?.seen).toBe('yes');
    expect(relabelled.metadata?.deletionGracePeriodSeconds).toBe(30);
    expect(exists('kept')).toBe(true);
    await clock.advance(30_000);
    expect(exists('kept')).toBe(false);

    await running('finalized', {});
    const withFinalizer = await core.readNamespacedPod({ name: 'finalized', namespace: NS });
    withFinalizer.metadata!.finalizers = ['example.com/keep'];
    await core.replaceNamespacedPod({ name: 'finalized', namespace: NS, body: withFinalizer });
    await core.deleteNamespacedPod({ name: 'finalized', namespace: NS });
    await clock.advance(30_000);
    // The kubelet is done (its DELETE with grace 0); the finalizer holds the object.
    const held = await core.readNamespacedPod({ name: 'finalized', namespace: NS });
    expect(held.metadata).toMatchObject({ deletionGracePeriodSeconds: 0, finalizers: ['example.com/keep'] });
    held.metadata!.finalizers = [];
    await core.replaceNamespacedPod({ name: 'finalized', namespace: NS, body: held });
    expect(exists('finalized')).toBe(false);
  });

  it('client-node: a deleted namespace stays Terminating until its pods have had their grace period', async () => {
    await core.createNamespace({ body: { metadata: { name: 'temp' } } });
    await core.createNamespacedPod({ namespace: 'temp', body: pod('worker') });
    await clock.advance(2000);
    await core.deleteNamespace({ name: 'temp' });
    expect((await core.readNamespace({ name: 'temp' })).status?.phase).toBe('Terminating');
    expect(
      (await core.readNamespacedPod({ name: 'worker', namespace: 'temp' })).metadata?.deletionTimestamp,
    ).toBeDefined();
    await clock.advance(30_000);
    expect(sim.store.find('v1/pods', 'temp', 'worker')).toBeUndefined();
    expect(sim.store.find('v1/namespaces', undefined, 'temp')).toBeUndefined();
  });

  it('client-node: a container whose behaviour exits on SIGTERM (stopAfter) ends its pod early, never past the period', async () => {
    sim.behaviour.set('ghcr.io/acme/quick:*', { stopAfter: '3s' });
    sim.behaviour.set('ghcr.io/acme/slow:*', { stopAfter: '1m' });
    await running('quick');
    await running('slow', { terminationGracePeriodSeconds: 10 });
    await core.deleteNamespacedPod({ name: 'quick', namespace: NS });
    await core.deleteNamespacedPod({ name: 'slow', namespace: NS });
    await clock.advance(2900);
    expect([exists('quick'), exists('slow')]).toEqual([true, true]);
    await clock.advance(100);
    expect([exists('quick'), exists('slow')]).toEqual([false, true]);
    await clock.advance(7000);
    expect(exists('slow')).toBe(false); // killed when its 10 s ran out
  });

  it('client-node: pods with nothing to stop go at once (unschedulable, finished)', async () => {
    await core.createNamespacedPod({ namespace: NS, body: pod('nowhere', { nodeSelector: { disk: 'none' } }) });
    await clock.advance(0);
    expect((await core.readNamespacedPod({ name: 'nowhere', namespace: NS })).status?.phase).toBe('Pending');
    await core.deleteNamespacedPod({ name: 'nowhere', namespace: NS });
    expect(exists('nowhere')).toBe(false);

    sim.behaviour.set('ghcr.io/acme/once:*', { exitAfter: '1s' });
    await core.createNamespacedPod({ namespace: NS, body: pod('once', { restartPolicy: 'Never' }) });
    await clock.advance(3000);
    expect(sim.store.get('v1/pods', NS, 'once').status.phase).toBe('Succeeded');
    await core.deleteNamespacedPod({ name: 'once', namespace: NS });
    expect(exists('once')).toBe(false);
  });

  it('client-node: a ReplicaSet scaled down counts its terminating pods in neither replicas nor availableReplicas', async () => {
    await apps.createNamespacedDeployment({
      namespace: NS,
      body: {
        metadata: { name: 'shop' },
        spec: {
          replicas: 3,
          selector: { matchLabels: { app: 'shop' } },
          template: {
            metadata: { labels: { app: 'shop' } },
            spec: { containers: [{ name: 'app', image: 'ghcr.io/acme/shop:v1' }] },
          },
        },
      },
    });
    await clock.advance(2000);
    await apps.replaceNamespacedDeploymentScale({
      name: 'shop',
      namespace: NS,
      body: { metadata: { name: 'shop', namespace: NS }, spec: { replicas: 1 } },
    });
    await clock.advance(0);
    const pods = (await core.listNamespacedPod({ namespace: NS, labelSelector: 'app=shop' })).items;
    expect(pods.filter((p) => p.metadata?.deletionTimestamp)).toHaveLength(2);
    const [rs] = (await apps.listNamespacedReplicaSet({ namespace: NS, labelSelector: 'app=shop' })).items;
    // The DeploymentReplicaSetTerminatingReplicas gate (alpha in 1.33) is off: no terminatingReplicas.
    expect(rs?.status).toEqual(
      expect.objectContaining({ replicas: 1, readyReplicas: 1, availableReplicas: 1, fullyLabeledReplicas: 1 }),
    );
    expect(rs?.status).not.toHaveProperty('terminatingReplicas');
    const d = await apps.readNamespacedDeployment({ name: 'shop', namespace: NS });
    expect(d.status).toMatchObject({ replicas: 1, availableReplicas: 1 });
    await clock.advance(30_000);
    expect((await core.listNamespacedPod({ namespace: NS, labelSelector: 'app=shop' })).items).toHaveLength(1);
  });

  describe.skipIf(!findKubectl())(`kubectl${findKubectl() ? '' : ` (skipped: ${kubectlMissing})`}`, () => {
    const run = (args: string[]) => kubectlOk(args, { kubeconfig });

    it('delete --wait=false leaves the pod Terminating; --grace-period=0 --force removes it at once', async () => {
      await running('ctl-a');
      await running('ctl-b');
      expect(await run(['delete', 'pod', 'ctl-a', '--wait=false'])).toContain('pod "ctl-a" deleted');
      const row = await run(['get', 'pod', 'ctl-a', '--no-headers']);
      expect(row).toMatch(/^ctl-a\s+1\/1\s+Terminating\s+0\s/);
      expect(await run(['delete', 'pod', 'ctl-b', '--grace-period=0', '--force'])).toContain(
        'pod "ctl-b" force deleted',
      );
      const missing = await kubectl(['get', 'pod', 'ctl-b'], { kubeconfig });
      expect(missing.stderr).toContain('pods "ctl-b" not found');
      await clock.advance(30_000);
      const gone = await kubectl(['get', 'pod', 'ctl-a'], { kubeconfig });
      expect(gone.code).not.toBe(0);
      expect(gone.stderr).toContain('pods "ctl-a" not found');
    });

    it('a Recreate rollout starts the new pods only once the old ones are gone', async () => {
      const manifest = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: recreate}
spec:
  replicas: 2
  strategy: {type: Recreate}
  selector: {matchLabels: {app: recreate}}
  template:
    metadata: {labels: {app: recreate}}
    spec:
      terminationGracePeriodSeconds: 20
      containers: [{name: app, image: ghcr.io/acme/recreate:v1}]
`;
      await kubectlOk(['apply', '-f', '-'], { kubeconfig, input: manifest });
      await clock.advance(2000);
      await run(['set', 'image', 'deployment/recreate', 'app=ghcr.io/acme/recreate:v2']);
      await clock.advance(0);
      const images = async () =>
        (
          await run([
            'get',
            'pods',
            '-l',
            'app=recreate',
            '--no-headers',
            '-o',
            'custom-columns=I:.spec.containers[0].image,D:.metadata.deletionTimestamp',
          ])
        )
          .trim()
          .split('\n')
          .map((line) => `${line.split(/\s+/)[0]} ${line.split(/\s+/)[1] === '<none>' ? 'live' : 'Terminating'}`);
      expect(await images()).toEqual(['ghcr.io/acme/recreate:v1 Terminating', 'ghcr.io/acme/recreate:v1 Terminating']);
      await clock.advance(19_000);
      expect(await images()).toEqual(['ghcr.io/acme/recreate:v1 Terminating', 'ghcr.io/acme/recreate:v1 Terminating']);
      await clock.advance(1000);
      await clock.advance(2000);
      expect(await images()).toEqual(['ghcr.io/acme/recreate:v2 live', 'ghcr.io/acme/recreate:v2 live']);
      expect(await run(['rollout', 'status', 'deployment/recreate', '--timeout=5s'])).toContain(
        'deployment "recreate" successfully rolled out',
      );
    });
  });

  describe.skipIf(!findPythonClient())(
    `the Python client${findPythonClient() ? '' : ` (skipped: ${pythonClientMissing})`}`,
    () => {
      it('delete_namespaced_pod returns the Terminating pod; grace_period_seconds=0 deletes at once', async () => {
        await running('py-a');
        await running('py-b');
        const seen = await runPython(
          `
p = v1.delete_namespaced_pod('py-a', 'default')
live = v1.read_namespaced_pod('py-a', 'default')
v1.delete_namespaced_pod('py-b', 'default', body=client.V1DeleteOptions(grace_period_seconds=0))
try:
    v1.read_namespaced_pod('py-b', 'default')
    gone = False
except ApiException as e:
    gone = e.status == 404
out({'grace': p.metadata.deletion_grace_period_seconds, 'terminating': live.metadata.deletion_timestamp is not None, 'b_gone': gone})
`,
          kubeconfig,
        );
        expect(seen).toEqual({ grace: 30, terminating: true, b_gone: true });
        await clock.advance(30_000);
        expect(exists('py-a')).toBe(false);
      });
    },
  );
});
