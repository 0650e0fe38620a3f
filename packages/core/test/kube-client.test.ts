/**
 * The Kubernetes client against kube-sim over HTTPS on loopback, with the
 * kubeconfig a user would have (CA data + bearer token).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeSim } from '@deploy-actions/kube-sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../src/clock';
import { InputError } from '../src/errors';
import { KubeClient } from '../src/kube/client';
import { loadKubeConfig } from '../src/kube/config';
import { KubeApiError } from '../src/kube/errors';
import type { Deployment } from '../src/kube/types';

let sim: KubeSim;
const workspace = mkdtempSync(join(tmpdir(), 'kube-client-'));

function deployment(name: string, image: string): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'prod', labels: { app: name } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            { name: 'app', image },
            { name: 'proxy', image: 'envoy:1.30' },
          ],
        },
      },
    },
  };
}

beforeAll(async () => {
  sim = await KubeSim.start({ scenario: { namespaces: ['prod'] } });
});
afterAll(async () => {
  await sim?.stop();
});

describe('loadKubeConfig', () => {
  it('reads inline YAML, a workspace path and KUBECONFIG, in that order', async () => {
    writeFileSync(join(workspace, 'kube.yaml'), sim.kubeconfig({ namespace: 'prod' }));
    const inline = await loadKubeConfig({ kubeconfig: sim.kubeconfig(), env: {}, workspace });
    expect(inline.origin).toBe('the kubeconfig input');
    const byPath = await loadKubeConfig({ kubeconfig: 'kube.yaml', env: {}, workspace });
    expect(byPath.origin).toBe(join(workspace, 'kube.yaml'));
    const byEnv = await loadKubeConfig({ env: { KUBECONFIG: join(workspace, 'kube.yaml') }, workspace });
    expect(byEnv.config.getCurrentCluster()?.server).toBe(sim.url);
  });

  it('names the contexts that exist when the context input matches none', async () => {
    const attempt = loadKubeConfig({ kubeconfig: sim.kubeconfig(), context: 'prod-eu', env: {}, workspace });
    await expect(attempt).rejects.toThrow(InputError);
    await expect(attempt).rejects.toThrow(/no such context .*contexts: kube-sim/);
  });

  it('says where to put a kubeconfig when there is none', async () => {
    const attempt = loadKubeConfig({ env: { HOME: workspace }, workspace });
    await expect(attempt).rejects.toThrow(/No Kubernetes configuration found/);
  });

  it('refuses a kubeconfig input that is neither YAML nor a file', async () => {
    const attempt = loadKubeConfig({ kubeconfig: 'missing.yaml', env: {}, workspace });
    await expect(attempt).rejects.toThrow(/Input 'kubeconfig': is neither kubeconfig YAML nor an existing file/);
  });
});

describe('KubeClient', () => {
  it('creates, reads, lists with selectors and pages, and deletes', async () => {
    const client = await KubeClient.connect({ kubeconfig: sim.kubeconfig(), env: {}, workspace });
    for (const name of ['api', 'auth', 'users']) await client.create('Deployment', deployment(name, `${name}:1`));
    const read = await client.get<Deployment>('Deployment', { namespace: 'prod', name: 'auth' });
    expect(read.spec?.template?.spec?.containers?.[0]?.image).toBe('auth:1');
    expect(read.metadata?.uid).toBeTruthy();

    const paged = await client.list<Deployment>('Deployment', { namespace: 'prod', limit: 2 });
    expect(paged.items.map((item) => item.metadata?.name).sort()).toEqual(['api', 'auth', 'users']);
    const selected = await client.list('Deployment', { namespace: 'prod', labelSelector: 'app in (api,users)' });
    expect(selected.items.map((item) => item.metadata?.name).sort()).toEqual(['api', 'users']);

    await client.delete('Deployment', { namespace: 'prod', name: 'users' });
    const missing = client.get('Deployment', { namespace: 'prod', name: 'users' });
    await expect(missing).rejects.toMatchObject({ code: 404, reason: 'NotFound' });
  });

  it('sends every patch type with the right content type', async () => {
    const client = await KubeClient.connect({ kubeconfig: sim.kubeconfig(), env: {}, workspace });
    const ref = { namespace: 'prod', name: 'api' };
    // Strategic merge: containers merge by name, so the proxy container stays.
    const strategic = await client.patch<Deployment>(
      'Deployment',
      ref,
      { spec: { template: { spec: { containers: [{ name: 'app', image: 'api:2' }] } } } },
      'strategic',
    );
    expect(strategic.spec?.template?.spec?.containers?.map((c) => c.image)).toEqual(['api:2', 'envoy:1.30']);
    const merged = await client.patch<Deployment>(
      'Deployment',
      ref,
      { metadata: { labels: { tier: 'web' } } },
      'merge',
    );
    expect(merged.metadata?.labels).toEqual({ app: 'api', tier: 'web' });
    const json = await client.patch<Deployment>(
      'Deployment',
      ref,
      [{ op: 'replace', path: '/spec/replicas', value: 5 }],
      'json',
    );
    expect(json.spec?.replicas).toBe(5);
    const applied = await client.patch<Deployment>(
      'Deployment',
      ref,
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api', annotations: { owner: 'sre' } } },
      'apply',
      { force: true },
    );
    expect(applied.metadata?.annotations?.owner).toBe('sre');
    expect(JSON.stringify(applied.metadata?.managedFields)).toContain('deploy-actions');
    // A server-side dry run changes nothing.
    await client.patch('Deployment', ref, { spec: { replicas: 9 } }, 'merge', { dryRun: true });
    expect((await client.get<Deployment>('Deployment', ref)).spec?.replicas).toBe(5);
  });

  it('reports the server Status on failure: a stale resourceVersion is a Conflict', async () => {
    const client = await KubeClient.connect({ kubeconfig: sim.kubeconfig(), env: {}, workspace });
    const current = await client.get<Deployment>('Deployment', { namespace: 'prod', name: 'auth' });
    await client.patch('Deployment', { namespace: 'prod', name: 'auth' }, { spec: { replicas: 3 } }, 'merge');
    const stale = client.replace('Deployment', current);
    await expect(stale).rejects.toBeInstanceOf(KubeApiError);
    await expect(stale).rejects.toMatchObject({ code: 409, reason: 'Conflict' });
  });

  it('retries throttling and server errors on its clock, honouring Retry-After', async () => {
    const clock = new VirtualClock();
    const auto = clock.startAutoAdvance();
    const retries: string[] = [];
    try {
      const client = await KubeClient.connect(
        { kubeconfig: sim.kubeconfig(), env: {}, workspace },
        { clock, onRetry: (message) => retries.push(message) },
      );
      const throttled = sim.faults.add({
        verb: 'get',
        resource: 'deployments',
        status: 429,
        retryAfterSeconds: 7,
        times: 1,
      });
      const started = clock.now();
      const read = await client.get<Deployment>('Deployment', { namespace: 'prod', name: 'api' });
      throttled();
      expect(read.metadata?.name).toBe('api');
      expect(client.requests).toBe(2);
      // The 429's Retry-After (7 s) was waited, on the virtual clock.
      expect(clock.now() - started).toBeGreaterThanOrEqual(7_000);

      const failing = sim.faults.add({ verb: 'get', resource: 'deployments', status: 503, times: 2 });
      await client.get<Deployment>('Deployment', { namespace: 'prod', name: 'api' });
      failing();
      expect(client.requests).toBe(5);
      // Each outage said once at its first failure and summed up when it ends, not a line per attempt.
      expect(retries).toHaveLength(4);
      expect(retries[2]).toMatch(
        /^GET \/apis\/apps\/v1\/namespaces\/prod\/deployments\/api failed \(attempt 1\): .*503/,
      );
      expect(retries[3]).toMatch(
        /^GET \/apis\/apps\/v1\/namespaces\/prod\/deployments\/api answered after 3 attempts over \d+ s$/,
      );
    } finally {
      auto.stop();
    }
  });

  it('does not retry a create the server may have carried out', async () => {
    const client = await KubeClient.connect({ kubeconfig: sim.kubeconfig(), env: {}, workspace });
    const remove = sim.faults.add({ verb: 'create', resource: 'deployments', status: 503, times: 1 });
    await expect(client.create('Deployment', deployment('once', 'once:1'))).rejects.toMatchObject({ code: 503 });
    remove();
    expect(client.requests).toBe(1);
  });
});

describe('resolveNamespace', () => {
  it('takes the input, else the context namespace, else default', async () => {
    const { resolveNamespace } = await import('../src/kube/inputs');
    expect(resolveNamespace('prod', 'shop')).toBe('prod');
    expect(resolveNamespace(undefined, 'shop')).toBe('shop');
    expect(resolveNamespace(undefined, undefined)).toBe('default');
  });
});
