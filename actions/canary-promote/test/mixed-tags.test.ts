/**
 * A version per Deployment, where one of them is given the image it already runs: refused before anything
 * changes (its canary would carry the stable's version label, and its config copy would be the stable's live
 * one, which finalize after an abort deleted). And finalize after an abort keeps any config copy a Deployment
 * still references (another Deployment was pointed at it by hand; another app's release of the same tag is
 * refused before it writes the same name, see config-copies.test.ts).
 */
import { type Deployment, waitForRollout } from '@deploy-actions/core/kube';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, NS, startCluster } from './cluster';

let c: Cluster;

beforeAll(async () => {
  c = await startCluster(23);
});

afterAll(async () => {
  await c?.stop();
});

describe('several Deployments, one given the image it runs', () => {
  it('is refused with an input error naming it, before anything changes', async () => {
    await c.app('auth', 'ghcr.io/acme/auth:v1.4', { config: true, labels: { tier: 'id' } });
    await c.app('users', 'ghcr.io/acme/users:v3.2', { config: true, labels: { tier: 'id' } });
    const before = c.snapshot();
    const refused = await c.run({
      selector: 'tier=id',
      app: 'identity',
      images: 'auth/app=ghcr.io/acme/auth:v1.5\nusers/app=ghcr.io/acme/users:v3.2',
      steps: '50,100',
      pause: '1m',
    });
    expect(refused.code).toBe(1);
    expect(refused.errors.join('\n')).toBe(
      "Input 'images': users already runs v3.2 (app=ghcr.io/acme/users:v3.2): a Deployment given the images it runs has nothing to roll out, and its canary would carry the stable's version and config copies. Give it its new image, or leave it out of the rollout (deployments: auth) (got \"auth/app=ghcr.io/acme/auth:v1.5, users/app=ghcr.io/acme/users:v3.2\"). Example: images: auth/app=ghcr.io/acme/auth:v1.5, users/app=ghcr.io/acme/users:v3.3",
    );
    expect(c.snapshot()).toEqual(before);
    expect(c.find('v1/configmaps', 'users-config-dav-v3.2')).toBeUndefined();
  });
});

describe('finalize after an abort', () => {
  /** Deployment `name` reading the ConfigMap shared-config (envFrom), rolled out. */
  async function reading(name: string) {
    await c.app(name, `ghcr.io/acme/${name}:v1`);
    await c.client.patch(
      'Deployment',
      { namespace: NS, name },
      {
        spec: {
          template: { spec: { containers: [{ name: 'app', envFrom: [{ configMapRef: { name: 'shared-config' } }] }] } },
        },
      },
      'strategic',
    );
    await waitForRollout(c.client, { kind: 'Deployment', namespace: NS, name }, { clock: c.clock, timeoutMs: 600_000 });
  }
  const envFrom = (name: string) =>
    (
      c.deployment(name)?.spec?.template?.spec?.containers?.[0] as {
        envFrom?: Array<{ configMapRef: { name: string } }>;
      }
    )?.envFrom?.[0]?.configMapRef.name;

  it('keeps a config copy another Deployment still references', async () => {
    await c.client.create('ConfigMap', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'shared-config', namespace: NS },
      data: { MODE: 'v1' },
    });
    await reading('left');
    await reading('right');
    const right = await c.run({
      deployments: 'right',
      images: 'app=ghcr.io/acme/right:v2',
      steps: '50,100',
      pause: '30s',
      'pause-at': '50',
      'router-config': '{ service: right }',
    });
    expect(right.outputs['result']).toBe('paused');
    // left is pointed at right's copy by hand while right's release is paused.
    await c.client.patch(
      'Deployment',
      { namespace: NS, name: 'left' },
      {
        spec: {
          template: {
            spec: { containers: [{ name: 'app', envFrom: [{ configMapRef: { name: 'shared-config-dav-v2' } }] }] },
          },
        },
      },
      'strategic',
    );
    await waitForRollout(
      c.client,
      { kind: 'Deployment', namespace: NS, name: 'left' },
      { clock: c.clock, timeoutMs: 600_000 },
    );
    expect(envFrom('left')).toBe('shared-config-dav-v2');
    expect((await c.run({ app: 'right', action: 'abort' })).outputs['result']).toBe('aborted');
    const finalized = await c.run({ app: 'right', action: 'finalize' });
    expect(finalized.code).toBe(0);
    expect(finalized.outputs['result']).toBe('finalized');
    expect(finalized.errors).toEqual([]);
    expect(c.deployment('right-canary')).toBeUndefined();
    // left's stable reads it: not right's aborted release's to delete.
    expect(c.find('v1/configmaps', 'shared-config-dav-v2')).toBeDefined();
    expect(finalized.rt.lines('info')).toContain(
      'ConfigMap shared-config-dav-v2: kept (a Deployment still references it)',
    );
    expect(c.find<Deployment>('apps/v1/deployments', 'left')?.status).toMatchObject({ availableReplicas: 4 });
  });
});
