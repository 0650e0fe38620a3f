/**
 * Config copies across releases, on kube-sim in virtual time: each release copies the ConfigMap the stable
 * uses now (after v1 → v2 that is `web-config-dav-v2`, edited or not), not the original it was once copied
 * from; a promotion removes the copies two releases back and keeps what the stable and a rollback of it
 * need. `manifests` is refused with a canary: it would never be applied.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForRollout } from '../../../packages/core/src/kube';
import { type Cluster, NS, startCluster } from './cluster';

let c: Cluster;

beforeAll(async () => {
  c = await startCluster(31);
});

afterAll(async () => {
  await c?.stop();
});

type ConfigMap = { data?: Record<string, string>; metadata?: { annotations?: Record<string, string> } };
const configMap = (name: string) => c.find<ConfigMap>('v1/configmaps', name);
const envFrom = (name: string) =>
  (c.deployment(name)?.spec?.template?.spec?.containers?.[0] as { envFrom?: Array<{ configMapRef: { name: string } }> })
    ?.envFrom?.[0]?.configMapRef.name;

async function release(version: string) {
  const run = await c.run({
    deployments: 'web',
    images: `app=ghcr.io/acme/web:${version}`,
    steps: '50,100',
    pause: '30s',
    'router-config': '{ service: web }',
  });
  expect(run.errors).toEqual([]);
  expect(run.outputs['result']).toBe('promoted');
  return run;
}

describe('config copies across releases', () => {
  it('copies the config the stable uses now, and removes copies two releases back', async () => {
    await c.app('web', 'ghcr.io/acme/web:v1', { config: true });
    await release('v2');
    expect(envFrom('web')).toBe('web-config-dav-v2');
    // The team edits the config in use (the original web-config is no longer read by any pod).
    await c.client.patch(
      'ConfigMap',
      { namespace: NS, name: 'web-config-dav-v2' },
      { data: { MODE: 'v2-tuned' } },
      'merge',
    );

    await release('v3');
    expect(envFrom('web')).toBe('web-config-dav-v3');
    expect(configMap('web-config-dav-v3')?.data).toEqual({ MODE: 'v2-tuned' });
    expect(configMap('web-config-dav-v3')?.metadata?.annotations?.['deploy-actions.dev/copy-of']).toBe(
      'web-config-dav-v2',
    );
    // v2's copy stays: a rollback of the stable to its previous revision reads it.
    expect(configMap('web-config-dav-v2')).toBeDefined();

    const v4 = await release('v4');
    expect(envFrom('web')).toBe('web-config-dav-v4');
    expect(configMap('web-config-dav-v4')?.data).toEqual({ MODE: 'v2-tuned' });
    expect(configMap('web-config-dav-v3')).toBeDefined();
    expect(configMap('web-config-dav-v2')).toBeUndefined();
    // The user's own ConfigMap is never ours to delete.
    expect(configMap('web-config')?.data).toEqual({ MODE: 'v1' });
    expect(v4.rt.lines('info')).toContain(
      'ConfigMap web-config-dav-v2: removed (a config copy no version in use or kept for rollback needs)',
    );
  });

  it("keeps a user's name with -dav- in it whole: only the suffix of a copy this action made is replaced", async () => {
    // files-dav-config is the user's own ConfigMap: before, "-dav-config" was taken for a copy's suffix (files-dav-v2).
    await c.app('files-dav', 'ghcr.io/acme/files-dav:v1', { config: true });
    const release = async (version: string) => {
      const run = await c.run({
        deployments: 'files-dav',
        images: `app=ghcr.io/acme/files-dav:${version}`,
        steps: '50,100',
        pause: '30s',
        'router-config': '{ service: files-dav }',
      });
      expect(run.errors).toEqual([]);
      expect(run.outputs['result']).toBe('promoted');
    };
    await release('v2');
    expect(envFrom('files-dav')).toBe('files-dav-config-dav-v2');
    expect(configMap('files-dav-v2')).toBeUndefined();
    // A copy of our copy: exactly its -dav-v2 is replaced.
    await release('v3');
    expect(envFrom('files-dav')).toBe('files-dav-config-dav-v3');
    expect(configMap('files-dav-config-dav-v3')?.metadata?.annotations?.['deploy-actions.dev/copy-of']).toBe(
      'files-dav-config-dav-v2',
    );
    expect(configMap('files-dav-config')?.data).toEqual({ MODE: 'v1' });
  });

  it("refuses a copy name another app's release made (a shared ConfigMap, the same tag): its copy is left as it was", async () => {
    await c.client.create('ConfigMap', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'shared-config', namespace: NS },
      data: { MODE: 'v1' },
    });
    for (const name of ['left', 'right']) {
      await c.app(name, `ghcr.io/acme/${name}:v1`);
      await c.client.patch(
        'Deployment',
        { namespace: NS, name },
        {
          spec: {
            template: {
              spec: { containers: [{ name: 'app', envFrom: [{ configMapRef: { name: 'shared-config' } }] }] },
            },
          },
        },
        'strategic',
      );
      await waitForRollout(
        c.client,
        { kind: 'Deployment', namespace: NS, name },
        { clock: c.clock, timeoutMs: 600_000 },
      );
    }
    const run = (name: string) =>
      c.run({
        deployments: name,
        images: `app=ghcr.io/acme/${name}:v2`,
        steps: '50,100',
        pause: '30s',
        'router-config': `{ service: ${name} }`,
      });
    expect((await run('left')).outputs['result']).toBe('promoted');
    expect(envFrom('left')).toBe('shared-config-dav-v2');
    const leftCopy = () =>
      c.find<ConfigMap & { metadata?: { labels?: Record<string, string> } }>('v1/configmaps', 'shared-config-dav-v2');
    expect(leftCopy()?.data).toEqual({ MODE: 'v1' });
    // Edited for right's release: writing right's copy under the same name would change what left's pods read.
    await c.client.patch(
      'ConfigMap',
      { namespace: NS, name: 'shared-config' },
      { data: { MODE: 'edited-for-right' } },
      'merge',
    );
    const refused = await run('right');
    expect(refused.code).toBe(1);
    expect(refused.errors).toEqual([
      'ConfigMap shared-config-dav-v2 exists and is app "left"\'s copy (its deploy-actions.dev/app label): "right"\'s copy of shared-config for this release would overwrite it, and pods that read it would get other config. Nothing was changed. Apps sharing shared-config make the same copy name for the same tag: release them with different tags, or give each app its own ConfigMap',
    ]);
    expect(leftCopy()?.data).toEqual({ MODE: 'v1' });
    expect(leftCopy()?.metadata?.labels?.['deploy-actions.dev/app']).toBe('left');
    expect(c.deployment('right-canary')).toBeUndefined();
    expect(envFrom('right')).toBe('shared-config');
    // Same content, still another app's copy: refused as well (right's abort or promotion would manage left's copy).
    await c.client.patch('ConfigMap', { namespace: NS, name: 'shared-config' }, { data: { MODE: 'v1' } }, 'merge');
    expect((await run('right')).errors.join('\n')).toContain('is app "left"\'s copy');
    expect(leftCopy()?.data).toEqual({ MODE: 'v1' });
  });

  it('refuses manifests (and values-file) with a canary before anything changes', async () => {
    await c.app('api', 'ghcr.io/acme/api:v1', { config: true });
    const before = c.snapshot();
    const refused = await c.run({
      deployments: 'api',
      images: 'app=ghcr.io/acme/api:v2',
      manifests: 'k8s/does-not-exist/',
    });
    expect(refused.code).toBe(1);
    expect(refused.errors.join('\n')).toMatch(
      /^Input 'manifests': applies to strategy rolling only: canary makes the new version from the running Deployment .* \(got "k8s\/does-not-exist\/"\)\. Example: manifests: k8s\/production\/ \(with strategy: rolling\)/,
    );
    expect(c.snapshot()).toEqual(before);
    expect(c.record('api')).toBeUndefined();
  });
});
