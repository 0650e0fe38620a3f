/**
 * Blue-green by Service selector on kube-sim: the active Service's selector
 * is switched in one patch, a preview Service points at the new version
 * meanwhile, and abort switches back.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '../src/kube/types';
import { createRouter, parseRouterConfig, type TrafficRouter } from '../src/routing';
import { type Cluster, deployment, NS, service, startCluster, target } from './routing-fixtures';

let cluster: Cluster;
const BLUE = { app: 'web', track: 'blue' };
const GREEN = { app: 'web', track: 'green' };

beforeAll(async () => {
  cluster = await startCluster();
});
afterAll(async () => {
  await cluster?.stop();
});

const selector = async (name: string) =>
  ((await cluster.client.get<KubeObject>('Service', { namespace: NS, name })).spec as { selector: unknown }).selector;
const exists = (name: string) =>
  cluster.client.get('Service', { namespace: NS, name }).then(
    () => true,
    () => false,
  );

function router(config: unknown): TrafficRouter {
  return createRouter('service', parseRouterConfig('service', config), target, { client: cluster.client });
}

beforeEach(async () => {
  for (const name of ['web', 'web-preview'])
    await cluster.client.delete('Service', { namespace: NS, name }).catch(() => undefined);
  for (const name of ['web', 'web-canary'])
    await cluster.client.delete('Deployment', { namespace: NS, name }).catch(() => undefined);
  await cluster.client.create('Service', service('web', { app: 'web', version: 'v1' }));
  // Each Deployment selects its own track; the version label only marks the pods (and may change).
  await cluster.client.create('Deployment', deployment('web', 3, { ...BLUE, version: 'v1' }, 'shop:1.0', BLUE));
  await cluster.client.create(
    'Deployment',
    deployment('web-canary', 3, { ...GREEN, version: 'v2' }, 'shop:1.1', GREEN),
  );
});

describe('service router', () => {
  it('points a preview Service at green, switches the active selector at 100 in one patch, and cleans up on promote', async () => {
    const bg = router({ 'active-service': 'web', 'preview-service': 'web-preview' });
    await bg.validate();
    expect(await bg.setWeight(0)).toEqual({
      weight: 0,
      actualWeight: 0,
      detail: 'Service prod/web selects version=v1 (stable)',
    });
    expect(await selector('web-preview')).toEqual({ app: 'web', version: 'v2' });
    const preview = await cluster.client.get<KubeObject>('Service', { namespace: NS, name: 'web-preview' });
    expect(preview.metadata?.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'deploy-actions',
      'deploy-actions.dev/role': 'preview',
    });
    expect((preview.spec as { ports: unknown }).ports).toEqual([
      { name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 },
    ]);
    const requests = cluster.client.requests;
    expect((await bg.setWeight(100)).detail).toBe('Service prod/web selects version=v2 (canary)');
    // 3 reads (Service, both Deployments), the preview read and patch, the one active patch.
    expect(cluster.client.requests - requests).toBe(6);
    expect(await selector('web')).toEqual({ app: 'web', version: 'v2' });

    // Promotion: the stable Deployment takes the new template (version v2), then the router selects it.
    await cluster.client.patch(
      'Deployment',
      { namespace: NS, name: 'web' },
      { spec: { template: { metadata: { labels: { version: 'v2' } } } } },
      'strategic',
    );
    await bg.promote();
    expect(await selector('web')).toEqual({ app: 'web', version: 'v2' });
    expect(await exists('web-preview')).toBe(false);
  });

  it('aborts from 100 back to blue with one patch', async () => {
    const bg = router({ 'active-service': 'web', 'preview-service': 'web-preview' });
    await bg.setWeight(100);
    expect(await selector('web')).toEqual({ app: 'web', version: 'v2' });
    await bg.abort();
    expect(await selector('web')).toEqual({ app: 'web', version: 'v1' });
    expect(await exists('web-preview')).toBe(false);
  });

  it('refuses weights between 0 and 100, and says which label tells the versions apart when none does', async () => {
    const bg = router({ 'active-service': 'web' });
    await expect(bg.setWeight(25)).rejects.toThrow(
      'The service router switches all traffic at once: a weight must be 0 or 100 (got 25).',
    );
    // A canary built with the stable's labels: nothing for a selector to switch on.
    await cluster.client.delete('Deployment', { namespace: NS, name: 'web-canary' });
    await cluster.client.create(
      'Deployment',
      deployment('web-canary', 3, { ...BLUE, version: 'v1' }, 'shop:1.1', BLUE),
    );
    await expect(bg.validate()).rejects.toThrow(
      "The pod templates of Deployments 'web' and 'web-canary' have no label telling the versions apart",
    );
    await expect(router({ 'active-service': 'shop' }).validate()).rejects.toThrow(
      "Service 'shop' not found in namespace 'prod'.",
    );
    expect(await selector('web')).toEqual({ app: 'web', version: 'v1' });
  });

  it('plans the switch with a server-side dry run', async () => {
    expect(await router({ 'active-service': 'web', 'version-label': 'version' }).plan(100)).toEqual([
      'patch Service prod/web spec.selector version: v1 → v2 (server dry run passed)',
    ]);
    expect(await selector('web')).toEqual({ app: 'web', version: 'v1' });
  });
});
