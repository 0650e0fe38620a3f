/**
 * The gates that read the cluster (cluster, workload, references, backup) and the manifests gate's
 * server-side dry-run, against kube-sim over its real HTTPS API.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeObject } from '@deploy-actions/core/kube';
import { APP_LABEL, MANAGED_BY, ROLE_LABEL, VERSION_LABEL } from '@deploy-actions/core/state';
import { type Cluster, startCluster } from '@deploy-actions/testkit/cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import preflight from '../src/main';
import type { PreflightResult } from './support';

async function run(cluster: Cluster, inputs: Record<string, string>, files: Record<string, string> = {}) {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(cluster.workspace, path, '..'), { recursive: true });
    writeFileSync(join(cluster.workspace, path), text);
  }
  const result = await cluster.runAction(preflight, inputs);
  const document = JSON.parse(result.outputs['result'] ?? '{}') as PreflightResult;
  const gate = (name: string) => document.gates.find((g) => g.name === name)!;
  return { ...result, document, gate };
}

describe('against a running cluster', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster({ behaviour: { 'ghcr.io/acme/crashy:*': { crashLoop: { after: '2s' } } } });
    await cluster.app('web', 'ghcr.io/acme/web:v1', { replicas: 3 });
  });
  afterAll(() => cluster.stop());

  it('cluster: Ready nodes with headroom pass; a node under memory pressure or too little headroom fails', async () => {
    const ok = await run(cluster, { gates: 'cluster' });
    expect(ok.code).toBe(0);
    expect(ok.gate('cluster')).toMatchObject({ status: 'pass' });
    expect(ok.gate('cluster').message).toMatch(/^\d+ nodes Ready with no pressure/);

    // Pods requesting most of the cluster's CPU leave less headroom than the policy wants.
    const nodes = cluster.sim.store.list('v1/nodes', undefined) as KubeObject[];
    const cpu = nodes.length * 4;
    await cluster.client.create('Deployment', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'batch', namespace: cluster.namespace },
      spec: {
        replicas: nodes.length,
        selector: { matchLabels: { app: 'batch' } },
        template: {
          metadata: { labels: { app: 'batch' } },
          spec: {
            containers: [
              {
                name: 'batch',
                image: 'ghcr.io/acme/batch:v1',
                resources: { requests: { cpu: '3500m', memory: '1Gi' } },
              },
            ],
          },
        },
      },
    });
    const tight = await run(
      cluster,
      { gates: 'cluster' },
      {
        '.github/deploy-policy.yml': 'defaults:\n  gates:\n    cluster: { min-headroom: 20% }\n',
      },
    );
    expect(tight.gate('cluster').status).toBe('fail');
    expect(tight.gate('cluster').message).toContain(`of allocatable CPU is not requested`);
    expect(tight.gate('cluster').details.cpu).toBe(cpu);

    const node = nodes[0]!.metadata!.name!;
    // The kubelet reports pressure through the node's status.
    const pressure = (on: boolean) =>
      cluster.sim.store.modify(
        'v1/nodes',
        undefined,
        node,
        (draft) => {
          const status = draft['status'] as { conditions: Array<{ type: string; status: string }> };
          status.conditions = status.conditions.filter((c) => c.type !== 'MemoryPressure');
          if (on) status.conditions.push({ type: 'MemoryPressure', status: 'True' });
        },
        { subresource: 'status' },
      );
    pressure(true);
    const underPressure = await run(cluster, { gates: 'cluster' });
    expect(underPressure.gate('cluster').message).toContain(`${node} has MemoryPressure`);
    pressure(false);
    await cluster.client.delete('Deployment', { namespace: cluster.namespace, name: 'batch' });
  });

  it('workload: the serving Deployment healthy passes; one crash-looping fails with its pods named', async () => {
    const ok = await run(cluster, { workload: 'web' });
    expect(ok.gate('workload')).toMatchObject({ status: 'pass', value: 'web 3/3' });
    await cluster.app('api', 'ghcr.io/acme/web:v1', { replicas: 2 });
    await cluster.client.patch(
      'Deployment',
      { namespace: cluster.namespace, name: 'api' },
      { spec: { template: { spec: { containers: [{ name: 'app', image: 'ghcr.io/acme/crashy:v2' }] } } } },
      'strategic',
    );
    await cluster.clock.sleep(120_000);
    const bad = await run(cluster, { workload: 'web, api, gone' });
    expect(bad.code).toBe(1);
    const message = bad.gate('workload').message;
    expect(message).toContain('in CrashLoopBackOff');
    expect(message).toMatch(/api: pod api-[\w-]+ restarted \d+ times/);
    expect(message).toContain(`Deployment ${cluster.namespace}/gone does not exist`);
    expect(message).not.toMatch(/web:/);
  });

  it('workload: a crash-looping canary beside the stable (its labels plus our role) is left out and named', async () => {
    // What canary-promote creates beside web: web's labels plus the role, its own selector, another image.
    const side = { [ROLE_LABEL]: 'canary', [VERSION_LABEL]: 'v2', [APP_LABEL]: 'web' };
    await cluster.client.create('Deployment', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: 'web-canary',
        namespace: cluster.namespace,
        labels: { app: 'web', ...MANAGED_BY, ...side },
        annotations: { 'deploy-actions.dev/stable': 'web' },
      },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web', [ROLE_LABEL]: 'canary' } },
        template: {
          metadata: { labels: { app: 'web', ...side } },
          spec: { containers: [{ name: 'app', image: 'ghcr.io/acme/crashy:v2' }] },
        },
      },
    });
    await cluster.clock.sleep(120_000);
    const canaryPods = (
      await cluster.client.list('Pod', {
        namespace: cluster.namespace,
        labelSelector: `app=web,${ROLE_LABEL}=canary`,
      })
    ).items.map((pod) => pod.metadata?.name ?? '');
    expect(canaryPods).toHaveLength(2);

    const result = await run(cluster, { workload: 'web' });
    const gate = result.gate('workload');
    expect(gate).toMatchObject({ status: 'pass', value: 'web 3/3' });
    expect(gate.message).toContain(`web healthy in ${cluster.namespace}`);
    expect(gate.message).toContain(`left out 2 pod(s)`);
    for (const pod of canaryPods) expect(gate.message).toContain(pod);
    expect(gate.details).toMatchObject({ sidePods: { web: [...canaryPods].sort() } });

    // Named itself, the canary is judged on its own pods (the stable's are not its side).
    const canary = await run(cluster, { workload: 'web-canary' });
    expect(canary.gate('workload').status).toBe('fail');
    expect(canary.gate('workload').message).toContain('web-canary: 2 pod(s) in CrashLoopBackOff');
    await cluster.client.delete('Deployment', { namespace: cluster.namespace, name: 'web-canary' });
  });
});

describe('against stored objects (no controllers)', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster({ controllers: false });
  });
  afterAll(() => cluster.stop());

  const manifest = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  replicas: 2
  selector: { matchLabels: { app: shop } }
  template:
    metadata: { labels: { app: shop } }
    spec:
      imagePullSecrets: [{ name: ghcr-pull }]
      containers:
        - name: shop
          image: ghcr.io/acme/shop:v2
          envFrom: [{ configMapRef: { name: shop-config } }]
          env:
            - name: DB_PASSWORD
              valueFrom: { secretKeyRef: { name: shop-db, key: password } }
            - name: FEATURE
              valueFrom: { configMapKeyRef: { name: flags, key: feature, optional: true } }
      volumes:
        - name: tls
          secret: { secretName: shop-tls }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: shop-config }
data: { MODE: production }
`;

  it('references: missing Secrets and keys are named with who references them; present ones pass', async () => {
    const ns = cluster.namespace;
    await cluster.client.create('Secret', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'shop-db', namespace: ns },
      data: { user: 'c2hvcA==' },
    });
    const missing = await run(
      cluster,
      { gates: 'references' },
      {
        'k8s/shop.yaml': manifest,
        '.github/deploy-policy.yml': 'defaults:\n  gates:\n    references: { manifests: [k8s/] }\n',
      },
    );
    expect(missing.code).toBe(1);
    const message = missing.gate('references').message;
    expect(message).toContain('Secret ghcr-pull is missing (referenced by Deployment shop (k8s/shop.yaml:1))');
    expect(message).toContain('Secret shop-tls is missing');
    expect(message).toContain('Secret shop-db has no key password');
    // The ConfigMap the manifests create and the optional flags ConfigMap are not required to exist.
    expect(message).not.toContain('shop-config');
    expect(message).not.toContain('flags');

    for (const name of ['ghcr-pull', 'shop-tls'])
      await cluster.client.create('Secret', {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name, namespace: ns },
        data: { x: 'eA==' },
      });
    await cluster.client.patch('Secret', { namespace: ns, name: 'shop-db' }, { data: { password: 'cw==' } }, 'merge');
    const ok = await run(cluster, { gates: 'references' });
    expect(ok.gate('references')).toMatchObject({ status: 'pass', value: '3 of 3 found' });
  });

  it('backup: the newest succeeded Job by prefix, a CronJob’s last success, or a file, against a maximum age', async () => {
    const ns = cluster.namespace;
    const now = cluster.clock.now();
    const job = (name: string, finishedAgo: number, succeeded: boolean) => ({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name, namespace: ns },
      spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'dump', image: 'postgres:16' }] } } },
      status: succeeded
        ? {
            succeeded: 1,
            completionTime: new Date(now - finishedAgo).toISOString(),
            conditions: [{ type: 'Complete', status: 'True' }],
          }
        : { failed: 1, conditions: [{ type: 'Failed', status: 'True' }] },
    });
    for (const [name, ago, ok] of [
      ['db-backup-29000100', 30 * 3600_000, true],
      ['db-backup-29000200', 6 * 3600_000, true],
      ['db-backup-29000300', 1 * 3600_000, false],
      ['other-29000300', 600_000, true],
    ] as const) {
      // A Job's status is written through its status subresource, as the job controller does.
      const created = await cluster.client.create('Job', job(name, ago, ok));
      await cluster.client.request('PUT', `/apis/batch/v1/namespaces/${ns}/jobs/${name}/status`, {
        body: { ...created, status: job(name, ago, ok).status },
      });
    }
    const recent = await run(
      cluster,
      { gates: 'backup' },
      {
        '.github/deploy-policy.yml': 'defaults:\n  gates:\n    backup: { job-prefix: db-backup-, max-age: 24h }\n',
      },
    );
    expect(recent.gate('backup')).toMatchObject({ status: 'pass', value: '6h old', limit: 'newer than 1d' });
    expect(recent.gate('backup').message).toContain(`Job ${ns}/db-backup-29000200`);
    const strict = await run(
      cluster,
      { gates: 'backup' },
      {
        '.github/deploy-policy.yml': 'defaults:\n  gates:\n    backup: { job-prefix: db-backup-, max-age: 4h }\n',
      },
    );
    expect(strict.gate('backup')).toMatchObject({ status: 'fail', value: '6h old' });

    await cluster.client.create('CronJob', {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'nightly', namespace: ns },
      spec: {
        schedule: '0 2 * * *',
        jobTemplate: {
          spec: {
            template: { spec: { restartPolicy: 'Never', containers: [{ name: 'dump', image: 'postgres:16' }] } },
          },
        },
      },
    });
    const never = await run(
      cluster,
      { gates: 'backup' },
      {
        '.github/deploy-policy.yml': 'defaults:\n  gates:\n    backup: { cronjob: nightly, max-age: 24h }\n',
      },
    );
    expect(never.gate('backup')).toMatchObject({ status: 'fail', value: 'none' });
    expect(never.gate('backup').message).toBe(`No successful backup found (CronJob ${ns}/nightly)`);
  });

  it('manifests: schema errors point at file and line offline; a valid set is dry-run on the server and nothing is stored', async () => {
    const broken = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: three
  selector: { matchLabels: { app: api } }
  template:
    metadata: { labels: { app: api } }
    spec:
      containers:
        - name: api
          image: ghcr.io/acme/api:v1
          imagePullPolicy: Sometimes
`;
    const bad = await run(cluster, { gates: 'manifests', manifests: 'deploy/' }, { 'deploy/api.yaml': broken });
    expect(bad.code).toBe(1);
    const errors = bad.rt.logs.filter((l) => l.level === 'error' && l.props?.file === 'deploy/api.yaml');
    expect(errors.map((l) => [l.props?.startLine, l.message])).toEqual([
      [6, 'Deployment api: spec.replicas must be an integer'],
      [
        14,
        'Deployment api: spec.template.spec.containers.0.imagePullPolicy must be one of Always, IfNotPresent, Never',
      ],
    ]);

    const good = await run(cluster, { gates: 'manifests', manifests: 'ok/' }, { 'ok/shop.yaml': manifest });
    expect(good.code).toBe(0);
    expect(good.gate('manifests').message).toContain(
      '2 object(s) in 1 file(s) valid (schema + server dry-run, 2 dry-runs)',
    );
    expect(cluster.find('apps/v1/deployments', 'shop')).toBeUndefined();

    // An unknown field passes the OpenAPI schema (it does not forbid them); the server's strict field validation refuses it.
    const typo = manifest.replace(
      'image: ghcr.io/acme/shop:v2',
      'image: ghcr.io/acme/shop:v2\n          imagePullPolicyy: Always',
    );
    const strict = await run(cluster, { gates: 'manifests', manifests: 'typo/' }, { 'typo/shop.yaml': typo });
    expect(strict.code).toBe(1);
    const dryRun = strict.rt.logs.find((l) => l.level === 'error' && l.props?.file === 'typo/shop.yaml');
    expect(dryRun?.props?.startLine).toBe(1);
    expect(dryRun?.message).toMatch(
      /^dry-run: .*\.spec\.template\.spec\.containers\[0\]\.imagePullPolicyy: field not declared in schema/,
    );
  });
});
