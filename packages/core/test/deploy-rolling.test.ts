/**
 * strategy rolling end to end on kube-sim over HTTPS: its Deployment,
 * ReplicaSet and kubelet controllers roll pods out according to the images'
 * behaviour (ready after 2 s, crash-looping, failing to pull), all on one
 * virtual clock that jumps ahead whenever the process is idle.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeSim } from '@deploy-actions/kube-sim';
import { type Cluster, startCluster } from '@deploy-actions/testkit/cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VirtualClock } from '../src/clock';
import { renderDeploySummary, runRolling } from '../src/deploy';
import { UserError } from '../src/errors';
import { KubeClient } from '../src/kube/client';
import type { Deployment } from '../src/kube/types';
import { parseAnalysisSpec } from '../src/metrics';
import { createMemoryRuntime } from '../src/runtime';

const DEPLOYMENTS = 'apps/v1/deployments';
let cluster: Cluster;
let workspace: string;
let clock: VirtualClock;
let sim: KubeSim;
let client: KubeClient;

function write(path: string, text: string): string {
  const full = join(workspace, path);
  mkdirSync(join(full, '..'), { recursive: true });
  writeFileSync(full, text);
  return path;
}

function deploymentYaml(name: string, image: string, extra = ''): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: 3
  progressDeadlineSeconds: 60
  selector:
    matchLabels: { app: ${name} }
  template:
    metadata:
      labels: { app: ${name} }
    spec:
      containers:
        - name: ${name}
          image: ${image}
${extra}`;
}

function current(name: string, namespace = 'prod') {
  const object = sim.store.get(DEPLOYMENTS, namespace, name) as Deployment;
  return {
    images: object.spec?.template?.spec?.containers?.map((container) => container.image),
    revision: object.metadata?.annotations?.['deployment.kubernetes.io/revision'],
    replicas: object.spec?.replicas,
    status: object.status,
    labels: object.metadata?.labels,
    pullSecrets: object.spec?.template?.spec?.['imagePullSecrets'],
  };
}

function runtime(inputs: Record<string, string> = {}) {
  return createMemoryRuntime({ clock, workspace, inputs });
}

const base = () => ({ client, namespace: 'prod', timeoutMs: 300_000 });

beforeAll(async () => {
  cluster = await startCluster({
    namespace: 'prod',
    namespaces: ['staging'],
    controllers: 'bare',
    readyAfter: '2s',
    behaviour: {
      '*:crash': { crashLoop: { after: '1s', exitCode: 1 } },
      '*:nopull': { pullError: 'manifest unknown: tag nopull not found' },
      '*:flaky': { readyAfter: '1s', crashLoop: { after: '15s', exitCode: 137 } },
      '*:never': { readyAfter: 'never' },
    },
  });
  ({ clock, sim, client, workspace } = cluster);
});

afterAll(async () => {
  await cluster?.stop();
});

describe('rolling: apply manifests', () => {
  it('applies a folder of multi-document YAML with images, ${VAR} values, namespace and pull secrets, and waits', async () => {
    write(
      'k8s/app/web.yaml',
      `${deploymentYaml('web', 'ghcr.io/acme/web:placeholder')}---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
data:
  LOG_LEVEL: \${LOG_LEVEL}
  replicas-note: "\${REPLICAS} replicas"
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: { app: web }
  ports: [{ port: 80 }]
`,
    );
    write(
      'k8s/app/api.yml',
      deploymentYaml('api', 'ghcr.io/acme/api:${API_TAG}').replace('replicas: 3', 'replicas: ${REPLICAS}'),
    );
    write(
      'deploy/values.yaml',
      'LOG_LEVEL: info\nstaging:\n  REPLICAS: 1\n  API_TAG: "1.0"\nproduction:\n  REPLICAS: 2\n  API_TAG: "2.0"\n',
    );
    const rt = runtime();
    const outcome = await runRolling(rt, {
      ...base(),
      manifests: ['k8s/app'],
      valuesFile: 'deploy/values.yaml',
      environment: 'production',
      images: { web: 'ghcr.io/acme/web:v1.2.3' },
      imagePullSecrets: ['ghcr'],
    });
    expect(outcome.verdict).toBe('deployed');
    expect(outcome.failure).toBeUndefined();
    expect(current('web').images).toEqual(['ghcr.io/acme/web:v1.2.3']);
    expect(current('web').status).toMatchObject({ replicas: 3, updatedReplicas: 3, availableReplicas: 3 });
    // An unquoted ${REPLICAS} became the number 2; the quoted one stayed text.
    expect(current('api')).toMatchObject({ images: ['ghcr.io/acme/api:2.0'], replicas: 2 });
    expect(current('api').pullSecrets).toEqual([{ name: 'ghcr' }]);
    expect(current('web').labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'deploy-actions',
      'deploy-actions.dev/app': 'api',
    });
    const config = sim.store.get('v1/configmaps', 'prod', 'web-config') as { data: Record<string, string> };
    expect(config.data).toEqual({ LOG_LEVEL: 'info', 'replicas-note': '2 replicas' });
    const managers = (
      sim.store.get(DEPLOYMENTS, 'prod', 'web').metadata as {
        managedFields: Array<{ manager: string; operation: string }>;
      }
    ).managedFields;
    expect(managers.some((entry) => entry.manager === 'deploy-actions' && entry.operation === 'Apply')).toBe(true);
    expect(outcome.objects.map((object) => `${object.kind}/${object.name} ${object.outcome}`)).toEqual([
      'Deployment/api created',
      'Deployment/web created',
      'ConfigMap/web-config created',
      'Service/web created',
    ]);
    expect(outcome.workloads.map((workload) => [workload.name, workload.status])).toEqual([
      ['api', 'rolled-out'],
      ['web', 'rolled-out'],
    ]);
    const summary = renderDeploySummary(outcome);
    expect(summary).toContain('deployed');
    expect(summary).toContain('| deployment/web |');

    // The same manifests again: nothing changes, nothing is awaited.
    const again = await runRolling(runtime(), {
      ...base(),
      manifests: ['k8s/app'],
      valuesFile: 'deploy/values.yaml',
      environment: 'production',
      images: { web: 'ghcr.io/acme/web:v1.2.3' },
      imagePullSecrets: ['ghcr'],
    });
    expect(again.objects.every((object) => object.outcome === 'unchanged')).toBe(true);
    expect(again.workloads).toEqual([]);
  });

  it('fails on the progress deadline with the pod events that explain it, and undoes to the previous revision', async () => {
    write('k8s/pay/pay.yaml', deploymentYaml('pay', 'ghcr.io/acme/pay:1.0'));
    expect((await runRolling(runtime(), { ...base(), manifests: ['k8s/pay/pay.yaml'] })).verdict).toBe('deployed');
    const rt = runtime();
    const outcome = await runRolling(rt, {
      ...base(),
      manifests: ['k8s/pay/pay.yaml'],
      images: { pay: 'ghcr.io/acme/pay:nopull' },
    });
    expect(outcome.verdict).toBe('rolled-back');
    expect(outcome.failure).toContain('deployment/pay did not roll out');
    expect(outcome.failure).toContain('progress deadline');
    expect(outcome.failure).toMatch(/ImagePullBackOff|ErrImagePull/);
    expect(outcome.explanation.some((line) => line.includes('manifest unknown'))).toBe(true);
    expect(current('pay')).toMatchObject({ images: ['ghcr.io/acme/pay:1.0'], revision: '3' });
    expect(current('pay').status).toMatchObject({ updatedReplicas: 3, availableReplicas: 3 });
    expect(outcome.workloads[0]).toMatchObject({
      name: 'pay',
      status: 'undone',
      before: { revision: 1, images: { pay: 'ghcr.io/acme/pay:1.0' } },
      after: { revision: 3, images: { pay: 'ghcr.io/acme/pay:1.0' } },
    });
    expect(renderDeploySummary(outcome)).toMatch(/ImagePullBackOff|ErrImagePull/);
  });

  it('a new Deployment that crash-loops fails with CrashLoopBackOff and is left in place (nothing to undo to)', async () => {
    write('k8s/new/n.yaml', deploymentYaml('fresh', 'ghcr.io/acme/fresh:crash'));
    const outcome = await runRolling(runtime(), { ...base(), manifests: ['k8s/new'] });
    expect(outcome.verdict).toBe('failed');
    expect(outcome.failure).toContain('Nothing was rolled back');
    expect(outcome.explanation.some((line) => line.includes('CrashLoopBackOff'))).toBe(true);
    expect(current('fresh').images).toEqual(['ghcr.io/acme/fresh:crash']);
  });

  it('monitors after the rollout and undoes when a kubernetes restarts signal breaches', async () => {
    write('k8s/cart/cart.yaml', deploymentYaml('cart', 'ghcr.io/acme/cart:1.0'));
    expect((await runRolling(runtime(), { ...base(), manifests: ['k8s/cart'] })).verdict).toBe('deployed');
    const analysis = parseAnalysisSpec(
      '- name: restarts\n  provider: kubernetes\n  signal: restarts\n  max: 2\n  interval: 10s\n',
    );
    const outcome = await runRolling(runtime(), {
      ...base(),
      manifests: ['k8s/cart'],
      images: { cart: 'ghcr.io/acme/cart:flaky' },
      analysis,
      monitorMs: 600_000,
    });
    expect(outcome.verdict).toBe('rolled-back');
    expect(outcome.failure).toContain('Monitoring failed');
    expect(outcome.analysis?.verdict).toBe('fail');
    expect(current('cart').images).toEqual(['ghcr.io/acme/cart:1.0']);
    expect(outcome.workloads[0]?.status).toBe('undone');
    const summary = renderDeploySummary(outcome);
    expect(summary).toContain('restarts');
  });

  it('prunes objects an earlier apply of the same app labelled that the manifests no longer hold', async () => {
    write(
      'k8s/shop/a.yaml',
      `${deploymentYaml('shop', 'shop:1')}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shop-old\ndata: { a: "1" }\n`,
    );
    await runRolling(runtime(), { ...base(), manifests: ['k8s/shop'], app: 'shop' });
    expect(sim.store.find('v1/configmaps', 'prod', 'shop-old')).toBeDefined();
    write(
      'k8s/shop/a.yaml',
      `${deploymentYaml('shop', 'shop:1')}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shop-new\ndata: { a: "2" }\n`,
    );
    const outcome = await runRolling(runtime(), { ...base(), manifests: ['k8s/shop'], app: 'shop', prune: true });
    expect(outcome.verdict).toBe('deployed');
    expect(sim.store.find('v1/configmaps', 'prod', 'shop-old')).toBeUndefined();
    expect(sim.store.find('v1/configmaps', 'prod', 'shop-new')).toBeDefined();
    // Another app's objects are not touched.
    expect(sim.store.find('v1/configmaps', 'prod', 'web-config')).toBeDefined();
    expect(outcome.objects.find((object) => object.outcome === 'pruned')).toMatchObject({
      kind: 'ConfigMap',
      name: 'shop-old',
    });
  });
});

describe('rolling: more shapes', () => {
  it('a dry run sends every object to the server with dryRun and changes nothing', async () => {
    write('k8s/dry/d.yaml', deploymentYaml('dry', 'dry:1'));
    const outcome = await runRolling(runtime(), { ...base(), manifests: ['k8s/dry/*.yaml'], dryRun: true });
    expect(outcome.verdict).toBe('planned');
    expect(outcome.objects).toMatchObject([{ kind: 'Deployment', name: 'dry', outcome: 'planned' }]);
    expect(sim.store.find(DEPLOYMENTS, 'prod', 'dry')).toBeUndefined();
    expect(renderDeploySummary(outcome)).toContain('planned (dry run)');
  });

  it('waits for a StatefulSet and reads ${VAR} from a .env values file', async () => {
    write(
      'k8s/db/db.yaml',
      `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  serviceName: db
  replicas: \${DB_REPLICAS}
  selector: { matchLabels: { app: db } }
  template:
    metadata: { labels: { app: db } }
    spec: { containers: [{ name: db, image: "postgres:\${PG}" }] }
`,
    );
    write('deploy/prod.env', '# production\nDB_REPLICAS=2\nexport PG="16.4"\n');
    const outcome = await runRolling(runtime(), { ...base(), manifests: ['k8s/db'], valuesFile: 'deploy/prod.env' });
    expect(outcome.verdict).toBe('deployed');
    expect(outcome.workloads).toMatchObject([{ kind: 'StatefulSet', name: 'db', status: 'rolled-out' }]);
    const db = sim.store.get('apps/v1/statefulsets', 'prod', 'db') as Deployment;
    expect(db.spec?.replicas).toBe(2);
    expect(db.spec?.template?.spec?.containers?.[0]?.image).toBe('postgres:16.4');
  });

  it('a per-environment values file without the named environment is an error naming the sections', async () => {
    write('k8s/env/e.yaml', deploymentYaml('envy', 'envy:${TAG}'));
    write('deploy/env.yaml', 'staging:\n  TAG: "1"\nproduction:\n  TAG: "2"\n');
    await expect(
      runRolling(runtime(), { ...base(), manifests: ['k8s/env'], valuesFile: 'deploy/env.yaml', environment: 'qa' }),
    ).rejects.toThrow(
      "Input 'environment': the values file deploy/env.yaml has no section 'qa' (it has staging, production)",
    );
    expect(sim.store.find(DEPLOYMENTS, 'prod', 'envy')).toBeUndefined();
  });
});

describe('rolling: set images on existing Deployments', () => {
  it('sets the image like kubectl set image and waits for the rollout', async () => {
    write('k8s/billing.yaml', deploymentYaml('billing', 'billing:1'));
    await runRolling(runtime(), { ...base(), manifests: ['k8s/billing.yaml'] });
    const outcome = await runRolling(runtime(), {
      ...base(),
      deployments: ['billing'],
      images: { billing: 'billing:2' },
    });
    expect(outcome.verdict).toBe('deployed');
    expect(current('billing')).toMatchObject({ images: ['billing:2'], revision: '2' });
    expect(outcome.workloads[0]).toMatchObject({
      status: 'rolled-out',
      before: { revision: 1, images: { billing: 'billing:1' } },
      after: { revision: 2, images: { billing: 'billing:2' } },
    });
  });

  it('refuses an image for a container the Deployment does not have, before patching any', async () => {
    const before = current('billing');
    await expect(
      runRolling(runtime(), {
        ...base(),
        deployments: ['billing', 'pay'],
        images: { billing: 'billing:3', worker: 'w:1' },
      }),
    ).rejects.toThrow(/Input 'images'.*no container "worker"/);
    expect(current('billing').images).toEqual(before.images);
  });
});

describe('rolling: bad input changes nothing', () => {
  const attempt = (options: Partial<Parameters<typeof runRolling>[1]>) =>
    runRolling(runtime(), { ...base(), ...options }).then(
      () => undefined,
      (error: unknown) => error as UserError,
    );
  const writesBefore = () => sim.stats.count('patch') + sim.stats.count('create') + sim.stats.count('update');

  it('a manifest that does not parse: file, line and column', async () => {
    write('bad/broken.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n data: [oops\n');
    const writes = writesBefore();
    const error = await attempt({ manifests: ['bad/broken.yaml'] });
    expect(error).toBeInstanceOf(UserError);
    expect(error?.message).toMatch(/bad\/broken\.yaml is not valid YAML at line 5, column \d+/);
    expect(writesBefore()).toBe(writes);
  });

  it('an unknown kind, with the manifest it is in', async () => {
    write(
      'bad/kind.yaml',
      `${deploymentYaml('zzz', 'z:1')}---\napiVersion: apps/v1\nkind: Deploymnet\nmetadata:\n  name: typo\n`,
    );
    const writes = writesBefore();
    const error = await attempt({ manifests: ['bad/kind.yaml'] });
    expect(error?.message).toContain('bad/kind.yaml:18: unknown kind "Deploymnet" in apps/v1');
    expect(writesBefore()).toBe(writes);
    expect(sim.store.find(DEPLOYMENTS, 'prod', 'zzz')).toBeUndefined();
  });

  it('a ${VAR} with no value', async () => {
    write('bad/var.yaml', deploymentYaml('zzz', 'z:${TAG}'));
    const error = await attempt({ manifests: ['bad/var.yaml'] });
    expect(error?.message).toContain('No value for ${TAG} (bad/var.yaml line 16, column 18)');
    expect(sim.store.find(DEPLOYMENTS, 'prod', 'zzz')).toBeUndefined();
  });

  it('an image name that matches no container', async () => {
    write('bad/img.yaml', deploymentYaml('zzz', 'z:1'));
    const error = await attempt({ manifests: ['bad/img.yaml'], images: { web: 'web:9' } });
    expect(error?.message).toMatch(/Input 'images': no container named "web" in the manifests; containers there: zzz/);
    expect(sim.store.find(DEPLOYMENTS, 'prod', 'zzz')).toBeUndefined();
  });

  it('a namespace in a manifest that differs from the namespace input', async () => {
    write('bad/ns.yaml', deploymentYaml('zzz', 'z:1').replace('  name: zzz\n', '  name: zzz\n  namespace: staging\n'));
    const error = await attempt({ manifests: ['bad/ns.yaml'] });
    expect(error?.message).toMatch(/Input 'namespace'.*bad\/ns\.yaml:1 \(Deployment zzz\) says namespace "staging"/);
    expect(sim.store.find(DEPLOYMENTS, 'staging', 'zzz')).toBeUndefined();
  });
});

describe('rolling: the kubeconfig context namespace', () => {
  it('without a namespace input, goes where the context points (as kubectl does), not to default', async () => {
    const staging = await KubeClient.connect(
      { kubeconfig: sim.kubeconfig({ namespace: 'staging' }), env: {}, workspace },
      { clock },
    );
    const options = { client: staging, timeoutMs: 300_000 };
    write('k8s/ctx/ctx.yaml', deploymentYaml('ctx', 'ctx:1'));
    const applied = await runRolling(runtime(), { ...options, manifests: ['k8s/ctx'] });
    expect(applied.verdict).toBe('deployed');
    expect(applied.namespace).toBe('staging');
    expect(current('ctx', 'staging').images).toEqual(['ctx:1']);
    expect(sim.store.find(DEPLOYMENTS, 'default', 'ctx')).toBeUndefined();

    // `kubectl set image` without -n: the context's namespace too.
    const set = await runRolling(runtime(), { ...options, deployments: ['ctx'], images: { ctx: 'ctx:2' } });
    expect(set.verdict).toBe('deployed');
    expect(current('ctx', 'staging')).toMatchObject({ images: ['ctx:2'], revision: '2' });

    // A manifest's own namespace still wins over the context's (only a namespace input makes it a mismatch).
    write(
      'k8s/ctx2/c.yaml',
      deploymentYaml('ctx2', 'ctx:1').replace('  name: ctx2\n', '  name: ctx2\n  namespace: prod\n'),
    );
    expect((await runRolling(runtime(), { ...options, manifests: ['k8s/ctx2'] })).verdict).toBe('deployed');
    expect(current('ctx2', 'prod').images).toEqual(['ctx:1']);
  });
});

const podSpec = (name: string, image: string) => `  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec: { containers: [{ name: ${name}, image: "${image}" }] }
`;
const statefulSetYaml = (name: string, image: string) =>
  `apiVersion: apps/v1\nkind: StatefulSet\nmetadata: { name: ${name} }\nspec:\n  serviceName: ${name}\n  replicas: 2\n${podSpec(name, image)}`;
const daemonSetYaml = (name: string, image: string) =>
  `apiVersion: apps/v1\nkind: DaemonSet\nmetadata: { name: ${name} }\nspec:\n${podSpec(name, image)}`;
const images = (resource: string, name: string) =>
  (sim.store.get(resource, 'prod', name) as Deployment).spec?.template?.spec?.containers?.map((c) => c.image);

describe('rolling: more workload kinds, undo of several, one timeout', () => {
  it('rolls a DaemonSet out on every node, as kubectl rollout status waits for it', async () => {
    write('k8s/agent/a.yaml', daemonSetYaml('agent', 'ghcr.io/acme/agent:1'));
    expect((await runRolling(runtime(), { ...base(), manifests: ['k8s/agent'] })).verdict).toBe('deployed');
    const outcome = await runRolling(runtime(), {
      ...base(),
      manifests: ['k8s/agent'],
      images: { agent: 'ghcr.io/acme/agent:2' },
    });
    expect(outcome.verdict).toBe('deployed');
    expect(outcome.workloads).toMatchObject([
      {
        kind: 'DaemonSet',
        name: 'agent',
        status: 'rolled-out',
        before: { images: { agent: 'ghcr.io/acme/agent:1' } },
        after: { images: { agent: 'ghcr.io/acme/agent:2' } },
      },
    ]);
    expect(outcome.workloads[0]?.message).toMatch(/successfully rolled out/);
    const daemonSet = sim.store.get('apps/v1/daemonsets', 'prod', 'agent') as { status: Record<string, number> };
    expect(daemonSet.status['desiredNumberScheduled']).toBeGreaterThan(0);
    expect(daemonSet.status).toMatchObject({
      updatedNumberScheduled: daemonSet.status['desiredNumberScheduled'],
      numberAvailable: daemonSet.status['desiredNumberScheduled'],
    });
    const pods = sim.store.list('v1/pods', 'prod', { labelSelector: 'app=agent' }) as Array<{
      spec: { containers: Array<{ image: string }> };
    }>;
    expect(pods.length).toBe(daemonSet.status['desiredNumberScheduled']);
    expect(pods.map((pod) => pod.spec.containers[0]?.image)).toEqual(pods.map(() => 'ghcr.io/acme/agent:2'));
  });

  it('undoes a Deployment and a StatefulSet together when monitoring fails, and waits for both', async () => {
    write(
      'k8s/multi/m.yaml',
      `${deploymentYaml('m-web', 'ghcr.io/acme/m-web:1')}---\n${statefulSetYaml('m-db', 'ghcr.io/acme/m-db:1')}`,
    );
    expect((await runRolling(runtime(), { ...base(), manifests: ['k8s/multi'] })).verdict).toBe('deployed');
    const outcome = await runRolling(runtime(), {
      ...base(),
      manifests: ['k8s/multi'],
      images: { 'm-web': 'ghcr.io/acme/m-web:flaky', 'm-db': 'ghcr.io/acme/m-db:flaky' },
      analysis: parseAnalysisSpec(
        '- name: restarts\n  provider: kubernetes\n  signal: restarts\n  max: 2\n  interval: 10s\n',
      ),
      monitorMs: 600_000,
    });
    expect(outcome.verdict).toBe('rolled-back');
    expect(outcome.failure).toContain('Rolled back deployment/m-web, statefulset/m-db to the previous revision.');
    expect(images(DEPLOYMENTS, 'm-web')).toEqual(['ghcr.io/acme/m-web:1']);
    expect(images('apps/v1/statefulsets', 'm-db')).toEqual(['ghcr.io/acme/m-db:1']);
    const db = sim.store.get('apps/v1/statefulsets', 'prod', 'm-db') as { status: Record<string, unknown> };
    expect(db.status).toMatchObject({ updatedReplicas: 2, readyReplicas: 2 });
    expect(db.status['currentRevision']).toBe(db.status['updateRevision']);
    expect(outcome.workloads.map((w) => [w.kind, w.name, w.status])).toEqual([
      ['Deployment', 'm-web', 'undone'],
      ['StatefulSet', 'm-db', 'undone'],
    ]);
  });

  it('one timeout for all: the error names the workloads still waiting when it ran out', async () => {
    write(
      'k8s/slow/s.yaml',
      `${deploymentYaml('quick', 'ghcr.io/acme/quick:1')}---\n${deploymentYaml('slow', 'ghcr.io/acme/slow:never').replace('progressDeadlineSeconds: 60', 'progressDeadlineSeconds: 3600')}`,
    );
    const started = clock.now();
    const outcome = await runRolling(runtime(), { ...base(), manifests: ['k8s/slow'], timeoutMs: 45_000 });
    expect(outcome.verdict).toBe('failed');
    expect(outcome.failure).toMatch(
      /^deployment\/slow did not roll out: Deployment "slow" was still rolling out when the timeout of 45s \(one limit for all workloads\) ran out; last status: .*0 of 3 updated replicas are available/,
    );
    expect(outcome.failure).not.toContain('deployment/quick');
    expect(outcome.workloads.map((w) => [w.name, w.status])).toEqual([
      ['quick', 'rolled-out'],
      ['slow', 'failed'],
    ]);
    // One limit for the whole wait, not one per workload.
    expect(clock.now() - started).toBeLessThan(60_000);
  });
});
