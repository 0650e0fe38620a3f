// kube-sim seen through a real kubectl: discovery, get -o json, apply (client-side and server-side), create,
// patch (strategic, merge, json), label, delete, get --watch, api-resources.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findKubectl, kubectl, kubectlMissing, kubectlOk } from '../../testkit/src/kubectl';
import { KubeSim } from '../src/index';

const bin = findKubectl();

describe.skipIf(!bin)(`kubectl against kube-sim${bin ? '' : ` (skipped: ${kubectlMissing})`}`, () => {
  let sim: KubeSim;
  let dir: string;
  let kubeconfig: string;
  const run = (args: string[], input?: string) => kubectlOk(args, { kubeconfig, ...(input ? { input } : {}) });
  const json = async (args: string[]) => JSON.parse(await run([...args, '-o', 'json']));

  beforeAll(async () => {
    sim = await KubeSim.start();
    dir = mkdtempSync(join(tmpdir(), 'kube-sim-kubectl-'));
    kubeconfig = join(dir, 'kubeconfig.yaml');
    sim.writeKubeconfig(kubeconfig);
  });

  afterAll(async () => {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const deployment = (image: string, replicas = 2) => `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: ${image}
        env: [{name: MODE, value: blue}]
        ports: [{containerPort: 8080}]
`;

  it('lists API resources from discovery, with short names and kinds', async () => {
    const out = await run(['api-resources', '--no-headers']);
    const rows = out.split('\n').map((l) => l.trim().split(/\s+/));
    const deploy = rows.find((r) => r[0] === 'deployments');
    expect(deploy).toEqual(['deployments', 'deploy', 'apps/v1', 'true', 'Deployment']);
    expect(rows.find((r) => r[0] === 'namespaces')).toEqual(['namespaces', 'ns', 'v1', 'false', 'Namespace']);
    expect(rows.some((r) => r[0] === 'leases' && r.includes('coordination.k8s.io/v1'))).toBe(true);
    expect(rows.some((r) => r[0] === 'horizontalpodautoscalers' && r.includes('autoscaling/v2'))).toBe(true);
    expect(await run(['version', '-o', 'json'])).toContain('"serverVersion"');
  });

  it('applies client-side, then re-applies changes as a strategic patch, and reads them back with get -o json', async () => {
    expect(await run(['apply', '-f', '-'], deployment('nginx:1.25'))).toContain('deployment.apps/web created');
    expect(await run(['apply', '-f', '-'], deployment('nginx:1.26', 3))).toContain('deployment.apps/web configured');
    const d = await json(['get', 'deployment', 'web']);
    expect(d.spec.replicas).toBe(3);
    expect(d.spec.template.spec.containers[0].image).toBe('nginx:1.26');
    expect(d.metadata.generation).toBe(2);
    expect(d.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).toContain('nginx:1.26');
    // managedFields read from the store: `get` hides them in newer kubectl and has no flag for them in older ones.
    const managers = sim.store
      .get('apps/v1/deployments', 'default', 'web')
      .metadata.managedFields.map((m: { manager: string }) => m.manager);
    expect(managers).toContain('kubectl-client-side-apply');
  });

  it('patches with strategic merge (by container name), merge and JSON patches, and labels', async () => {
    await run([
      'patch',
      'deployment',
      'web',
      '-p',
      JSON.stringify({
        spec: { template: { spec: { containers: [{ name: 'web', env: [{ name: 'EXTRA', value: '1' }] }] } } },
      }),
    ]);
    let d = await json(['get', 'deploy', 'web']);
    expect(d.spec.template.spec.containers[0].env).toEqual([
      { name: 'MODE', value: 'blue' },
      { name: 'EXTRA', value: '1' },
    ]);
    await run(['patch', 'deploy', 'web', '--type', 'merge', '-p', '{"spec":{"paused":true}}']);
    await run([
      'patch',
      'deploy',
      'web',
      '--type',
      'json',
      '-p',
      '[{"op":"replace","path":"/spec/replicas","value":1}]',
    ]);
    await run(['label', 'deploy', 'web', 'tier=frontend']);
    d = await json(['get', 'deploy', 'web']);
    expect(d.spec.paused).toBe(true);
    expect(d.spec.replicas).toBe(1);
    expect(d.metadata.labels).toEqual({ app: 'web', tier: 'frontend' });
    const selected = await json(['get', 'deploy', '-l', 'tier in (frontend,backend)']);
    expect(selected.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(['web']);
    const failed = await kubectl(
      ['patch', 'deploy', 'web', '--type', 'json', '-p', '[{"op":"test","path":"/spec/replicas","value":9}]'],
      {
        kubeconfig,
      },
    );
    expect(failed.code).not.toBe(0);
  });

  it('applies server-side, reports a field conflict with another manager, and takes over with --force-conflicts', async () => {
    const cm = (value: string) =>
      `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"settings"},"data":{"level":"${value}"}}`;
    expect(await run(['apply', '--server-side', '-f', '-'], cm('info'))).toContain(
      'configmap/settings serverside-applied',
    );
    const conflict = await kubectl(['apply', '--server-side', '--field-manager', 'other', '-f', '-'], {
      kubeconfig,
      input: cm('debug'),
    });
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toContain('conflict');
    expect(conflict.stderr).toContain('.data.level');
    await run(['apply', '--server-side', '--field-manager', 'other', '--force-conflicts', '-f', '-'], cm('debug'));
    const got = await json(['get', 'configmap', 'settings']);
    expect(got.data.level).toBe('debug');
    const managers = sim.store
      .get('v1/configmaps', 'default', 'settings')
      .metadata.managedFields.map((m: { manager: string }) => m.manager);
    expect(managers).toContain('other');
  });

  it('creates objects imperatively, rejects invalid ones with the server message, and deletes', async () => {
    await run(['create', 'namespace', 'team-a']);
    await run(['create', 'configmap', 'conf', '-n', 'team-a', '--from-literal=a=1']);
    const bad = await kubectl(['create', 'configmap', 'Not_Valid', '-n', 'team-a'], { kubeconfig });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('is invalid');
    const missing = await kubectl(['get', 'configmap', 'nope', '-n', 'team-a'], { kubeconfig });
    expect(missing.stderr).toContain('configmaps "nope" not found');
    expect(await run(['delete', 'configmap', 'conf', '-n', 'team-a'])).toContain('configmap "conf" deleted');
    expect((await json(['get', 'configmaps', '-n', 'team-a'])).items).toEqual([]);
    expect(await run(['get', 'deploy'])).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\nweb\s/);
  });

  it('deletes with --cascade=orphan, background and foreground as the garbage collector would', async () => {
    const owned = (owner: string) => {
      const o = sim.store.create({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: owner, namespace: 'default' },
      });
      const ref = { apiVersion: 'v1', kind: 'ConfigMap', name: owner, uid: o.metadata.uid, blockOwnerDeletion: true };
      sim.store.create({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `${owner}-child`, namespace: 'default', ownerReferences: [ref] },
      });
    };
    for (const mode of ['orphan', 'background', 'foreground']) owned(`gc-${mode}`);
    for (const mode of ['orphan', 'background', 'foreground'])
      await run(['delete', 'configmap', `gc-${mode}`, `--cascade=${mode}`]);
    const left = await json(['get', 'configmaps']);
    const names = left.items.map((i: { metadata: { name: string } }) => i.metadata.name);
    expect(names.filter((n: string) => n.startsWith('gc-'))).toEqual(['gc-orphan-child']);
    expect(
      left.items.find((i: { metadata: { name: string } }) => i.metadata.name === 'gc-orphan-child').metadata
        .ownerReferences,
    ).toBeUndefined();
  });

  it('watches with get --watch and prints objects (as names, and as table rows) as they change', async () => {
    const watchesBefore = sim.store.watchCount;
    const watch = (extra: string[]) =>
      kubectl(['get', 'configmaps', '-n', 'default', '--watch', ...extra, '--request-timeout', '20s'], {
        kubeconfig,
        timeoutMs: 20_000,
      });
    const byName = watch(['-o', 'name']);
    const asTable = watch([]);
    // Deterministic: create only once both watches are registered in the store.
    await expect.poll(() => sim.store.watchCount, { timeout: 10_000 }).toBe(watchesBefore + 2);
    const eventsBefore = sim.stats.watchEvents;
    sim.store.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'seen-by-watch', namespace: 'default' },
      data: { a: '1', b: '2' },
    });
    await expect.poll(() => sim.stats.watchEvents, { timeout: 5_000 }).toBe(eventsBefore + 2);
    sim.faults.dropWatches('configmaps');
    expect((await byName).stdout).toContain('configmap/seen-by-watch');
    const table = (await asTable).stdout;
    expect(table).toMatch(/^NAME\s+DATA\s+AGE$/m);
    expect(table).toMatch(/^seen-by-watch\s+2\s+\d+s$/m);
  });
});
