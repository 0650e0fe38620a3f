/**
 * Two promises of issue #5 checked end to end on kube-sim in virtual time: an abort of one of several
 * Deployments aborts all of them, and Secrets the pod template references (env secretKeyRef, envFrom
 * secretRef, a secret volume) are copied to versioned names like ConfigMaps, so promotion carries the
 * copies and an abort leaves the stable on the originals.
 */
import type { Deployment } from '@deploy-actions/core/kube';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, NS, startCluster } from './cluster';

let c: Cluster;

beforeAll(async () => {
  c = await startCluster(25);
  // Ready, then crashes 15 s after every start: restarts climb while a step is analysed.
  c.sim.behaviour.set('ghcr.io/acme/*:v2-bad', { readyAfter: '2s', crashLoop: { after: '15s' } });
});

afterAll(async () => {
  await c?.stop();
});

const RESTARTS = '[{ name: restarts, provider: kubernetes, signal: restarts, max: 0 }]';

describe('several Deployments', () => {
  it('one of three canaries fails: all three are aborted, each stable back to its size on its image', async () => {
    for (const name of ['auth', 'users', 'orgs'])
      await c.app(name, `ghcr.io/acme/${name}:v1`, { labels: { tier: 'platform' } });
    const { code, outputs, errors } = await c.run({
      selector: 'tier=platform',
      app: 'platform',
      images: 'auth/app=ghcr.io/acme/auth:v2\nusers/app=ghcr.io/acme/users:v2-bad\norgs/app=ghcr.io/acme/orgs:v2',
      steps: '25,50,100',
      pause: '2m',
      analysis: RESTARTS,
    });
    expect(code).toBe(1);
    expect(outputs['result']).toBe('aborted');
    expect(errors.join('\n')).toMatch(/^Aborted because step 1 \(25%\): restarts was \d+, above its max of 0/);
    for (const name of ['auth', 'users', 'orgs']) {
      expect(c.images(name)).toEqual([`ghcr.io/acme/${name}:v1`]);
      // Traffic is the replica ratio: no canary pods left, the stable at its 4 pods again.
      expect(c.replicas(`${name}-canary`)).toBe(0);
      expect(c.replicas(name)).toBe(4);
      expect(c.deployment(name)?.metadata?.annotations?.['deploy-actions.dev/stable-replicas']).toBeUndefined();
    }
    expect(c.record('platform')).toMatchObject({ phase: 'aborted', weight: 0 });
    expect(
      c
        .record('platform')
        .workloads.map((w: { stable: string }) => w.stable)
        .sort(),
    ).toEqual(['auth', 'orgs', 'users']);
  });
});

describe('Secret copies', () => {
  /** A Deployment reading three Secrets three ways, each Secret holding the v1 value. */
  async function appWithSecrets(name: string) {
    for (const secret of ['db', 'api', 'tls'])
      await c.client.create('Secret', {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: `${name}-${secret}`, namespace: NS },
        stringData: { value: `${secret}-v1` },
      });
    await c.client.create('Service', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: NS },
      spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
    });
    await c.client.create('Deployment', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: NS, labels: { app: name } },
      spec: {
        replicas: 4,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            containers: [
              {
                name: 'app',
                image: `ghcr.io/acme/${name}:v1`,
                env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: `${name}-db`, key: 'value' } } }],
                envFrom: [{ secretRef: { name: `${name}-api` } }],
                volumeMounts: [{ name: 'tls', mountPath: '/tls' }],
              },
            ],
            volumes: [{ name: 'tls', secret: { secretName: `${name}-tls` } }],
          },
        },
      },
    } satisfies Deployment);
  }

  /** The three Secret names a Deployment's template references. */
  function secretRefs(name: string) {
    const spec = c.deployment(name)?.spec?.template?.spec as
      | {
          containers: Array<{
            env: Array<{ valueFrom: { secretKeyRef: { name: string } } }>;
            envFrom: Array<{ secretRef: { name: string } }>;
          }>;
          volumes: Array<{ secret: { secretName: string } }>;
        }
      | undefined;
    const container = spec?.containers[0];
    return [
      container?.env[0]?.valueFrom.secretKeyRef.name,
      container?.envFrom[0]?.secretRef.name,
      spec?.volumes[0]?.secret.secretName,
    ];
  }
  const secretValue = (name: string) =>
    c.find<{ data?: Record<string, string>; stringData?: Record<string, string> }>('v1/secrets', name);

  it('the canary and then the promoted stable use versioned copies of every Secret', async () => {
    await appWithSecrets('pay');
    const paused = await c.run({
      deployments: 'pay',
      images: 'app=ghcr.io/acme/pay:v2',
      steps: '50,100',
      pause: '1m',
      'pause-at': '50',
      'router-config': '{ service: pay }',
    });
    expect(paused.outputs['result']).toBe('paused');
    const copies = ['pay-db-dav-v2', 'pay-api-dav-v2', 'pay-tls-dav-v2'];
    expect(secretRefs('pay-canary')).toEqual(copies);
    expect(secretRefs('pay')).toEqual(['pay-db', 'pay-api', 'pay-tls']);
    for (const copy of copies)
      expect(c.find('v1/secrets', copy)).toMatchObject({
        metadata: {
          labels: { 'deploy-actions.dev/version': 'v2' },
          annotations: { 'deploy-actions.dev/copy-of': copy.replace('-dav-v2', '') },
        },
      });
    const content = (name: string) => secretValue(name)?.data ?? secretValue(name)?.stringData;
    expect(content('pay-db')).toBeDefined();
    expect(content('pay-db-dav-v2')).toEqual(content('pay-db'));
    expect(c.record('pay').workloads[0].configCopies.secrets).toEqual({
      'pay-api': 'pay-api-dav-v2',
      'pay-db': 'pay-db-dav-v2',
      'pay-tls': 'pay-tls-dav-v2',
    });

    const promoted = await c.run({ app: 'pay', action: 'promote' }, { env: { GITHUB_RUN_ID: '4501' } });
    expect(promoted.outputs['result']).toBe('promoted');
    // The stable carries the new config with the new image: a rollback of the stable brings back the originals.
    expect(c.images('pay')).toEqual(['ghcr.io/acme/pay:v2']);
    expect(secretRefs('pay')).toEqual(copies);
    expect(c.find('v1/secrets', 'pay-db')).toBeDefined();
  });

  it('an abort leaves the stable on the original Secrets; finalize removes the copies', async () => {
    await appWithSecrets('bank');
    const paused = await c.run({
      deployments: 'bank',
      images: 'app=ghcr.io/acme/bank:v2',
      steps: '50,100',
      pause: '1m',
      'pause-at': '50',
      'router-config': '{ service: bank }',
    });
    expect(paused.outputs['result']).toBe('paused');
    expect(secretRefs('bank-canary')).toEqual(['bank-db-dav-v2', 'bank-api-dav-v2', 'bank-tls-dav-v2']);

    const abort = await c.run({ app: 'bank', action: 'abort' }, { env: { GITHUB_RUN_ID: '4502' } });
    expect(abort.outputs['result']).toBe('aborted');
    expect(c.images('bank')).toEqual(['ghcr.io/acme/bank:v1']);
    expect(secretRefs('bank')).toEqual(['bank-db', 'bank-api', 'bank-tls']);
    expect(c.replicas('bank-canary')).toBe(0);

    await c.run({ app: 'bank', action: 'finalize' }, { env: { GITHUB_RUN_ID: '4503' } });
    for (const copy of ['bank-db-dav-v2', 'bank-api-dav-v2', 'bank-tls-dav-v2'])
      expect(c.find('v1/secrets', copy)).toBeUndefined();
    for (const original of ['bank-db', 'bank-api', 'bank-tls']) expect(c.find('v1/secrets', original)).toBeDefined();
    expect(c.deployment('bank-canary')).toBeUndefined();
  });
});
