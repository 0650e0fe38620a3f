// The simulated controllers seen through a real kubectl on a real-time sim: rollout status / history / undo,
// scale, wait, create job --from=cronjob, logs, cascading delete, and the service proxy. Deleted pods stay
// Terminating for their 30 s grace period (longer than this file runs), as kubectl shows them on a cluster.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findKubectl, kubectl, kubectlMissing, kubectlOk } from '../../testkit/src/kubectl';
import { installControllers } from '../src/defaults';
import { type KubeObject, KubeSim } from '../src/index';

const bin = findKubectl();

describe.skipIf(!bin)(`kubectl with the simulated controllers${bin ? '' : ` (skipped: ${kubectlMissing})`}`, () => {
  let sim: KubeSim;
  let dir: string;
  let kubeconfig: string;
  const run = (args: string[], input?: string) => kubectlOk(args, { kubeconfig, ...(input ? { input } : {}) });
  const attempt = (args: string[]) => kubectl(args, { kubeconfig, timeoutMs: 30_000 });
  const json = async (args: string[]) => JSON.parse(await run([...args, '-o', 'json']));
  const terminating = (pods: KubeObject[]) => pods.filter((p) => p.metadata.deletionTimestamp);
  const live = (pods: KubeObject[]) => pods.filter((p) => !p.metadata.deletionTimestamp);

  beforeAll(async () => {
    sim = await KubeSim.start();
    installControllers(sim);
    // Real time: keep readiness quick so each rollout takes a fraction of a second.
    sim.behaviour.set('*', { readyAfter: '50ms' });
    sim.behaviour.set('ghcr.io/acme/broken:*', { readyAfter: 'never' });
    sim.behaviour.set('ghcr.io/acme/migrate:*', { exitAfter: '100ms', logs: ['migrating', 'applied 3 migrations'] });
    dir = mkdtempSync(join(tmpdir(), 'kube-sim-ctl-'));
    kubeconfig = join(dir, 'kubeconfig.yaml');
    sim.writeKubeconfig(kubeconfig);
  });

  afterAll(async () => {
    await sim?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const deployment = (name: string, image: string, replicas = 3, extra = '') => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: ${replicas}
  ${extra}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
      - name: web
        image: ${image}
        ports: [{name: http, containerPort: 8080}]
`;

  it('rollout status waits for a rollout and reports success', async () => {
    await run(['apply', '-f', '-'], deployment('web', 'ghcr.io/acme/web:v1'));
    const out = await run(['rollout', 'status', 'deployment/web', '--timeout=20s']);
    expect(out).toContain('deployment "web" successfully rolled out');
    const d = await json(['get', 'deployment', 'web']);
    expect(d.status).toMatchObject({ replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 });
    expect(d.metadata.annotations['deployment.kubernetes.io/revision']).toBe('1');
    const rs = await json(['get', 'rs', '-l', 'app=web']);
    expect(rs.items).toHaveLength(1);
    expect(rs.items[0].metadata.name).toBe(`web-${rs.items[0].metadata.labels['pod-template-hash']}`);
  });

  it('set image, rollout history and rollout undo (also --to-revision) behave as on a cluster', async () => {
    await run(['set', 'image', 'deployment/web', 'web=ghcr.io/acme/web:v2']);
    expect(await run(['rollout', 'status', 'deployment/web', '--timeout=20s'])).toContain('successfully rolled out');
    const history = await run(['rollout', 'history', 'deployment/web']);
    expect(history).toMatch(/REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/);
    expect(await run(['rollout', 'history', 'deployment/web', '--revision=1'])).toContain('ghcr.io/acme/web:v1');

    expect(await run(['rollout', 'undo', 'deployment/web'])).toContain('deployment.apps/web rolled back');
    await run(['rollout', 'status', 'deployment/web', '--timeout=20s']);
    let d = await json(['get', 'deployment', 'web']);
    expect(d.spec.template.spec.containers[0].image).toBe('ghcr.io/acme/web:v1');
    expect(d.metadata.annotations['deployment.kubernetes.io/revision']).toBe('3');
    // Revision 1 became 3: the history lists 2 and 3.
    expect(await run(['rollout', 'history', 'deployment/web'])).toMatch(
      /REVISION\s+CHANGE-CAUSE\n2\s+<none>\n3\s+<none>/,
    );
    expect((await json(['get', 'rs', '-l', 'app=web'])).items).toHaveLength(2);

    await run(['rollout', 'undo', 'deployment/web', '--to-revision=2']);
    await run(['rollout', 'status', 'deployment/web', '--timeout=20s']);
    d = await json(['get', 'deployment', 'web']);
    expect(d.spec.template.spec.containers[0].image).toBe('ghcr.io/acme/web:v2');
    expect(d.metadata.annotations['deployment.kubernetes.io/revision']).toBe('4');
    // The replaced pods are still listed, Terminating for their 30 s grace period (real time here), as on a cluster.
    const pods: KubeObject[] = (await json(['get', 'pods', '-l', 'app=web'])).items;
    expect(live(pods).map((p) => p.spec.containers[0].image)).toEqual([
      'ghcr.io/acme/web:v2',
      'ghcr.io/acme/web:v2',
      'ghcr.io/acme/web:v2',
    ]);
    expect(pods.length).toBeGreaterThan(3);
    const table = await run(['get', 'pods', '-l', 'app=web', '--no-headers']);
    expect(table.split('\n').filter((line) => /\sTerminating\s/.test(line))).toHaveLength(pods.length - 3);
  });

  it('scale and wait --for=condition=Available', async () => {
    await run(['scale', 'deployment/web', '--replicas=5']);
    expect(await run(['wait', '--for=condition=Available', 'deployment/web', '--timeout=20s'])).toContain(
      'condition met',
    );
    await run(['rollout', 'status', 'deployment/web', '--timeout=20s']);
    const d = await json(['get', 'deployment', 'web']);
    expect(d.status).toMatchObject({ replicas: 5, readyReplicas: 5, availableReplicas: 5 });
    const before: KubeObject[] = (await json(['get', 'pods', '-l', 'app=web'])).items;
    expect(live(before)).toHaveLength(5);
    await run(['scale', 'deployment/web', '--replicas=2']);
    await run(['rollout', 'status', 'deployment/web', '--timeout=20s']);
    const after: KubeObject[] = (await json(['get', 'pods', '-l', 'app=web'])).items;
    expect(live(after)).toHaveLength(2);
    // The three scaled away are Terminating, not gone yet.
    const wasLive = new Set(live(before).map((p) => p.metadata.name));
    expect(terminating(after).filter((p) => wasLive.has(p.metadata.name))).toHaveLength(3);
  });

  it('rollout status fails when the progress deadline passes', async () => {
    await run(['apply', '-f', '-'], deployment('stuck', 'ghcr.io/acme/web:v1', 2, 'progressDeadlineSeconds: 1'));
    await run(['rollout', 'status', 'deployment/stuck', '--timeout=20s']);
    await run(['set', 'image', 'deployment/stuck', 'web=ghcr.io/acme/broken:v2']);
    const r = await attempt(['rollout', 'status', 'deployment/stuck', '--timeout=20s']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('deployment "stuck" exceeded its progress deadline');
    const d = await json(['get', 'deployment', 'stuck']);
    const progressing = d.status.conditions.find((c: { type: string }) => c.type === 'Progressing');
    expect(progressing).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
    // kubectl describe-style explanation: the pods of the new ReplicaSet are not Ready.
    const pods = await json(['get', 'pods', '-l', 'app=stuck']);
    const broken = pods.items.filter((p: KubeObject) => p.spec.containers[0].image.includes('broken'));
    expect(broken.length).toBeGreaterThan(0);
    expect(broken[0].status.conditions.find((c: { type: string }) => c.type === 'Ready').status).toBe('False');
  });

  it('create job --from=cronjob runs the job to completion, and logs shows its output', async () => {
    await run(
      ['apply', '-f', '-'],
      `
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly-migrate}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      backoffLimit: 1
      template:
        spec:
          restartPolicy: Never
          containers: [{name: migrate, image: ghcr.io/acme/migrate:v7}]
`,
    );
    await run(['create', 'job', 'manual-1', '--from=cronjob/nightly-migrate']);
    expect(await run(['wait', '--for=condition=Complete', 'job/manual-1', '--timeout=20s'])).toContain('condition met');
    const job = await json(['get', 'job', 'manual-1']);
    expect(job.metadata.annotations['cronjob.kubernetes.io/instantiate']).toBe('manual');
    expect(job.status).toMatchObject({ succeeded: 1 });
    expect(await run(['logs', 'job/manual-1'])).toBe('migrating\napplied 3 migrations\n');
  });

  it('delete cascades to ReplicaSets and pods; --cascade=orphan leaves them', async () => {
    await run(['apply', '-f', '-'], deployment('gone', 'ghcr.io/acme/web:v1', 2));
    await run(['rollout', 'status', 'deployment/gone', '--timeout=20s']);
    await run(['delete', 'deployment', 'gone', '--wait=true']);
    expect((await json(['get', 'rs', '-l', 'app=gone'])).items).toHaveLength(0);
    // Garbage collection deleted the pods: Terminating for their grace period, then gone.
    const doomed: KubeObject[] = (await json(['get', 'pods', '-l', 'app=gone'])).items;
    expect(doomed).toHaveLength(2);
    expect(terminating(doomed)).toHaveLength(2);
    expect(doomed[0]!.metadata.deletionGracePeriodSeconds).toBe(30);
    // --grace-period=0 --force removes them at once.
    expect(await run(['delete', 'pods', '-l', 'app=gone', '--grace-period=0', '--force'])).toContain('force deleted');
    expect((await json(['get', 'pods', '-l', 'app=gone'])).items).toHaveLength(0);

    await run(['apply', '-f', '-'], deployment('kept', 'ghcr.io/acme/web:v1', 2));
    await run(['rollout', 'status', 'deployment/kept', '--timeout=20s']);
    await run(['delete', 'deployment', 'kept', '--cascade=orphan']);
    const rs = await json(['get', 'rs', '-l', 'app=kept']);
    expect(rs.items).toHaveLength(1);
    expect(rs.items[0].metadata.ownerReferences).toBeUndefined();
    expect((await json(['get', 'pods', '-l', 'app=kept'])).items).toHaveLength(2);
  });

  it('serves a simulated app through the service proxy and counts it in the metrics', async () => {
    sim.behaviour.set('ghcr.io/acme/shop:*', {
      readyAfter: '50ms',
      http: { status: 200, body: { ok: true }, latencyMs: 1 },
    });
    await run(['apply', '-f', '-'], deployment('shop', 'ghcr.io/acme/shop:v1', 2));
    await run(
      ['apply', '-f', '-'],
      `
apiVersion: v1
kind: Service
metadata: {name: shop}
spec:
  selector: {app: shop}
  ports: [{name: http, port: 80, targetPort: http}]
`,
    );
    await run(['rollout', 'status', 'deployment/shop', '--timeout=20s']);
    const ep = await json(['get', 'endpoints', 'shop']);
    expect(ep.subsets[0].addresses).toHaveLength(2);
    expect(ep.subsets[0].ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
    for (let i = 0; i < 4; i++) {
      expect(
        JSON.parse(await run(['get', '--raw', '/api/v1/namespaces/default/services/shop:80/proxy/healthz'])),
      ).toEqual({ ok: true });
    }
    const text = await (await fetch(sim.metricsUrl)).text();
    const pods = (await json(['get', 'pods', '-l', 'app=shop'])).items.map(
      (p: { metadata: { name: string } }) => p.metadata.name,
    );
    for (const pod of pods) {
      // Round robin: two requests each.
      expect(text).toContain(
        `http_requests_total{namespace="default",app="shop",version="v1",pod="${pod}",code="200"} 2`,
      );
    }
    expect(text).toContain('# TYPE http_request_duration_seconds histogram');
  });

  it('rollout status follows StatefulSets and DaemonSets', async () => {
    await run(
      ['apply', '-f', '-'],
      `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: postgres:16}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: agent, image: fluent-bit:3}]}
`,
    );
    expect(await run(['rollout', 'status', 'statefulset/db', '--timeout=20s'])).toContain(
      'partitioned roll out complete: 2 new pods have been updated',
    );
    expect(await run(['rollout', 'status', 'daemonset/agent', '--timeout=20s'])).toContain(
      'daemon set "agent" successfully rolled out',
    );
    const pods = await json(['get', 'pods', '-l', 'app=db']);
    expect(pods.items.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual(['db-0', 'db-1']);
    const nodes = await json(['get', 'nodes']);
    expect((await json(['get', 'pods', '-l', 'app=agent'])).items).toHaveLength(nodes.items.length);
  });
});
