/**
 * Whether a Deployment changes is decided by its full image references, container by container, not by the
 * first container's tag: a new digest (`web@sha256:aaa…` → `@sha256:bbb…`, no tag: both once read as
 * "latest"), the same tag from another registry, and a sidecar changed beside an unchanged first container
 * are all releases. The canary's version label is then told apart from the stable's (the digest, the changed
 * container's tag, or the tag with a hash of the new images); the same images are still refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, startCluster } from './cluster';

let c: Cluster;

beforeAll(async () => {
  c = await startCluster(29);
});

afterAll(async () => {
  await c?.stop();
});

const start = (name: string, images: string) =>
  c.run({
    deployments: name,
    images,
    steps: '50,100',
    pause: '1m',
    'pause-at': '50',
    'router-config': `{ service: ${name} }`,
  });

const podVersion = (name: string) =>
  c.deployment(name)?.spec?.template?.metadata?.labels?.['deploy-actions.dev/version'];

describe('the images a Deployment runs, compared in full', () => {
  it('a new digest of an image given by digest only is a release, labelled by its digest', async () => {
    const a = `sha256:${'a'.repeat(64)}`;
    const b = `sha256:${'b'.repeat(64)}`;
    await c.app('dig', `ghcr.io/acme/dig@${a}`);
    const run = await start('dig', `app=ghcr.io/acme/dig@${b}`);
    expect(run.errors).toEqual([]);
    expect(run.outputs['result']).toBe('paused');
    expect(c.record('dig')).toMatchObject({
      stableVersion: 'sha256-aaaaaaaaaaaa',
      canaryVersion: 'sha256-bbbbbbbbbbbb',
    });
    expect(c.images('dig-canary')).toEqual([`ghcr.io/acme/dig@${b}`]);
    expect(podVersion('dig-canary')).toBe('sha256-bbbbbbbbbbbb');
  });

  it('the same tag from another registry is a release, its label told apart from the stable one', async () => {
    await c.app('reg', 'docker.io/acme/reg:v1');
    const run = await start('reg', 'app=ghcr.io/acme/reg:v1');
    expect(run.errors).toEqual([]);
    expect(run.outputs['result']).toBe('paused');
    const record = c.record('reg');
    expect(record.stableVersion).toBe('v1');
    expect(record.canaryVersion).toMatch(/^v1-[0-9a-f]{8}$/);
    expect(c.images('reg-canary')).toEqual(['ghcr.io/acme/reg:v1']);
    expect(podVersion('reg-canary')).toBe(record.canaryVersion);
  });

  it('a changed sidecar beside an unchanged first container is a release, labelled by the sidecar tag', async () => {
    await c.app('side', 'ghcr.io/acme/side:v1', { sidecars: [{ name: 'proxy', image: 'ghcr.io/acme/envoy:1.30' }] });
    const run = await start('side', 'app=ghcr.io/acme/side:v1\nproxy=ghcr.io/acme/envoy:1.31');
    expect(run.errors).toEqual([]);
    expect(run.outputs['result']).toBe('paused');
    expect(c.record('side')).toMatchObject({ stableVersion: 'v1', canaryVersion: '1.31' });
    expect(c.deployment('side-canary')?.spec?.template?.spec?.containers?.map((x) => x.image)).toEqual([
      'ghcr.io/acme/side:v1',
      'ghcr.io/acme/envoy:1.31',
    ]);
  });

  it('the images it runs already are refused, nothing changed', async () => {
    const a = `sha256:${'c'.repeat(64)}`;
    await c.app('same', `ghcr.io/acme/same@${a}`);
    const before = c.snapshot();
    const run = await start('same', `app=ghcr.io/acme/same@${a}`);
    expect(run.code).toBe(1);
    expect(run.errors).toEqual([
      `The new images are the images already running (version "sha256-cccccccccccc"): nothing to roll out (images: ghcr.io/acme/same@${a})`,
    ]);
    expect(c.snapshot()).toEqual(before);
  });
});
