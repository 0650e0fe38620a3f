/**
 * rollback of rollouts in flight, beyond a paused canary: a blue-green switched to green goes back to
 * blue, `verify` runs after the abort, a missing record is a clear error, and a database restore is
 * refused. canary-promote starts the rollouts, on kube-sim with its controllers, on a virtual clock.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import canaryPromote from '@deploy-actions/action-canary-promote';
import type { ActionDefinition } from '@deploy-actions/core/runtime';
import { type Cluster, startCluster } from '@deploy-actions/testkit/cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import rollback from '../src/main';

let c: Cluster;
let health: Server;
let base = '';
/** What the app's /health answers (the checks run against it after the rollback). */
let healthy = true;

/** Each run its own GitHub run id (the lease holder), as separate workflow runs are. */
const run = <I>(action: ActionDefinition<I>, inputs: Record<string, string>) =>
  c.runAction(action, inputs, { env: { GITHUB_RUN_ID: String(c.clock.now()), GITHUB_ACTOR: 'octocat' } });

const selector = (service: string) =>
  (c.find<{ spec?: { selector?: Record<string, string> } }>('v1/services', service)?.spec?.selector ?? {}) as Record<
    string,
    string
  >;

/** Blue (v1) behind Service `name`, which selects app + version, then green (v2) switched to and left there. */
async function switchedToGreen(name: string) {
  await c.app(name, `ghcr.io/acme/${name}:v1`, {
    service: false,
    podLabels: { version: 'v1' },
    progressDeadlineSeconds: null,
  });
  await c.client.create('Service', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: c.namespace },
    spec: { selector: { app: name, version: 'v1' }, ports: [{ port: 80, targetPort: 8080 }] },
  });
  const started = await run(canaryPromote, {
    strategy: 'blue-green',
    deployments: name,
    images: `app=ghcr.io/acme/${name}:v2`,
    router: 'service',
    'router-config': `{ active-service: ${name}, version-label: version }`,
    // Blue stays until a later job finalizes or aborts: the rollout is in flight, switched.
    'scale-down-delay': 'manual',
  });
  expect(started.errors).toEqual([]);
  expect(c.record(name)).toMatchObject({ phase: 'switched' });
  expect(selector(name)).toEqual({ app: name, version: 'v2' });
  expect(c.deployment(`${name}-green`)?.status?.readyReplicas).toBe(4);
}

beforeAll(async () => {
  c = await startCluster({ namespace: 'shop', controllers: 'bare' });
  health = createServer((_req, res) => {
    res.statusCode = healthy ? 200 : 503;
    res.end(healthy ? 'ok' : 'down');
  });
  await new Promise<void>((resolve) => health.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(health.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => health?.close(() => resolve()));
  await c?.stop();
});

describe('rollback of a blue-green rollout in flight', () => {
  it('switches the active Service back to blue, removes green, then runs the verify checks', async () => {
    await switchedToGreen('web');
    const rolledBack = await run(rollback, {
      deployments: 'web',
      reason: 'checkout errors on green',
      verify: `[{ name: health, request: { url: "${base}/health" }, expect: { status: 200 } }]`,
    });
    expect(rolledBack.errors).toEqual([]);
    expect(rolledBack.code).toBe(0);
    expect(rolledBack.rt.lines('info')).toContain('mode auto: in-flight (a rollout of web is in flight)');
    // Users reach blue again: the one Service selects v1, whose pods are the blue Deployment's.
    expect(selector('web')).toEqual({ app: 'web', version: 'v1' });
    expect(c.deployment('web')?.spec?.template?.spec?.containers?.[0]?.image).toBe('ghcr.io/acme/web:v1');
    expect(c.deployment('web')?.status?.readyReplicas).toBe(4);
    expect(c.deployment('web-green')?.spec?.replicas ?? 0).toBe(0);
    // The green pods are Terminating for their grace period (30 s), as on a cluster: let it pass.
    await c.clock.sleep(30_000);
    expect(c.podUids('app=web,version=v2')).toEqual([]);
    expect(c.record('web')).toMatchObject({ phase: 'aborted' });
    expect(c.record('web').reason).toContain('Rolled back by octocat: checkout errors on green');

    const result = JSON.parse(rolledBack.outputs['result'] ?? '{}');
    expect(result).toMatchObject({ verdict: 'rolled-back', mode: 'in-flight', verification: { passed: true } });
    expect(rolledBack.summary).toContain('Rolled back an in-flight blue-green of `web`');
    expect(rolledBack.summary).toContain('Verification after the rollback: 1 passed, 0 failed');
    expect(rolledBack.outputs['restored-images']).toBe('web: app=ghcr.io/acme/web:v2 → app=ghcr.io/acme/web:v1');
  });

  it('fails the step when the checks fail after the abort, saying it did roll back', async () => {
    await switchedToGreen('api');
    healthy = false;
    try {
      const rolledBack = await run(rollback, {
        mode: 'in-flight',
        deployments: 'api',
        verify: `[{ name: health, request: { url: "${base}/health" }, expect: { status: 200 } }]`,
      });
      expect(rolledBack.code).toBe(1);
      expect(rolledBack.errors.at(-1)).toMatch(/^Rolled back, but verification failed: health: /);
      expect(selector('api')).toEqual({ app: 'api', version: 'v1' });
    } finally {
      healthy = true;
    }
  });
});

describe('rollback in-flight, refused before anything changes', () => {
  it('a missing state record: names what it looked for and the records there are, nothing changed', async () => {
    await c.app('cart', 'ghcr.io/acme/cart:v1', { progressDeadlineSeconds: null });
    const before = c.snapshot();
    const { code, errors } = await run(rollback, { mode: 'in-flight', deployments: 'cart', reason: 'cart 5xx' });
    expect(code).toBe(1);
    const error = errors.join('\n');
    expect(error).toContain(
      'No rollout record for app "cart" in namespace "shop" (looked for ConfigMap deploy-actions-cart; app chosen as ' +
        "canary-promote's default, the first Deployment's name: no in-flight record moves cart)",
    );
    expect(error).toContain('Rollout records in "shop": api (aborted: api); web (aborted: web). Nothing was changed');
    expect(error).toContain('name the rollout with app:');
    expect(c.snapshot()).toEqual(before);
  });

  it('a database restore with mode in-flight, given or chosen by auto: an input error, the rollout untouched', async () => {
    await switchedToGreen('feed');
    const before = c.snapshot();
    for (const mode of ['in-flight', 'auto']) {
      const { code, errors } = await run(rollback, {
        mode,
        deployments: 'feed',
        'database-restore': '{ cronjob: db-restore }',
        'confirm-database-restore': 'true',
      });
      expect(code).toBe(1);
      expect(errors.join('\n')).toMatch(
        /^Input 'database-restore': is not supported with mode: in-flight.*traffic back on the stable version.*Example: database-restore: \{ cronjob: db-restore \}/,
      );
    }
    expect(c.snapshot()).toEqual(before);
    expect(c.record('feed')).toMatchObject({ phase: 'switched' });
    expect(selector('feed')).toEqual({ app: 'feed', version: 'v2' });
  });
});

describe('mode auto after canary-promote aborted a release', () => {
  it('changes nothing and still runs the verify checks against the version that serves', async () => {
    await c.app('news', 'ghcr.io/acme/news:v1', { progressDeadlineSeconds: null });
    c.behaviour.set('ghcr.io/acme/news:v2-bad', { readyAfter: '2s', crashLoop: { after: '15s' } });
    const aborted = await run(canaryPromote, {
      deployments: 'news',
      images: 'app=ghcr.io/acme/news:v2-bad',
      steps: '25,100',
      pause: '2m',
      analysis: '[{ name: restarts, provider: kubernetes, signal: restarts, max: 0 }]',
      'router-config': '{ service: news }',
    });
    expect(aborted.outputs['result']).toBe('aborted');
    const before = c.deployment('news')?.metadata?.resourceVersion;
    healthy = false;
    try {
      const { code, errors, outputs, summary } = await run(rollback, {
        deployments: 'news',
        verify: `[{ name: health, request: { url: "${base}/health" }, expect: { status: 200 } }]`,
      });
      expect(code).toBe(1);
      expect(JSON.parse(outputs['result'] ?? '{}')).toMatchObject({
        verdict: 'nothing-to-roll-back',
        verification: { passed: false },
      });
      expect(errors.at(-1)).toMatch(
        /^Nothing to roll back \(the version from before the release still serves\), but verification failed: health: /,
      );
      expect(summary).toContain('Verification after the rollback: 0 passed, 1 failed');
      expect(c.deployment('news')?.metadata?.resourceVersion).toBe(before);
    } finally {
      healthy = true;
    }
  });
});
