/**
 * rollback of a canary still in flight: canary-promote starts a release and
 * pauses at 25% (its state record says so), then rollback — with the default
 * `mode: auto` — finds the record and aborts the canary. On kube-sim with its
 * controllers, over HTTPS, on a virtual clock.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import canaryPromote from '@deploy-actions/action-canary-promote';
import { VirtualClock } from '@deploy-actions/core/clock';
import { type Deployment, KubeClient, waitForRollout } from '@deploy-actions/core/kube';
import { type ActionDefinition, createMemoryRuntime, executeAction } from '@deploy-actions/core/runtime';
import { KubeSim } from '@deploy-actions/kube-sim';
import { BehaviourTable } from '@deploy-actions/kube-sim/behaviour';
import { type RunningControllers, startControllers } from '@deploy-actions/kube-sim/controllers/index';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import rollback from '../src/main';

const NS = 'shop';
const workspace = mkdtempSync(join(tmpdir(), 'rollback-in-flight-'));
let clock: VirtualClock;
let sim: KubeSim;
let controllers: RunningControllers;
let client: KubeClient;
let stopAuto: () => void;
const behaviour = new BehaviourTable().set('*', { readyAfter: '3s' });

async function app(name: string, image: string) {
  await client.create('Service', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: NS },
    spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
  });
  await client.create('Deployment', {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS, labels: { app: name } },
    spec: {
      replicas: 4,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image }] } },
    },
  } satisfies Deployment);
  await waitForRollout(client, { kind: 'Deployment', namespace: NS, name }, { clock, timeoutMs: 600_000 });
}

async function run<I>(action: ActionDefinition<I>, inputs: Record<string, string>) {
  const rt = createMemoryRuntime({
    clock,
    workspace,
    env: { GITHUB_ACTOR: 'octocat', GITHUB_RUN_ID: String(clock.now()) },
    inputs: { kubeconfig: sim.kubeconfig(), namespace: NS, ...inputs },
  });
  const code = await executeAction(action, rt);
  return { code, rt, outputs: rt.outputs, summary: rt.flushedSummary };
}

const deployment = (name: string) => sim.store.find('apps/v1/deployments', NS, name) as Deployment | undefined;
const record = (name: string) => {
  const map = sim.store.find('v1/configmaps', NS, `deploy-actions-${name}`) as
    | { data?: { record?: string } }
    | undefined;
  return map?.data?.record ? JSON.parse(map.data.record) : undefined;
};

beforeAll(async () => {
  clock = new VirtualClock();
  sim = await KubeSim.start({ clock, scenario: { namespaces: [NS] } });
  controllers = startControllers(sim.store, clock, behaviour);
  stopAuto = clock.startAutoAdvance().stop;
  client = await KubeClient.connect({ kubeconfig: sim.kubeconfig(), env: {}, workspace }, { clock });
  await app('web', 'ghcr.io/acme/web:v1');
  await app('cart', 'ghcr.io/acme/cart:v1');
});

afterAll(async () => {
  stopAuto?.();
  controllers?.stop();
  await sim?.stop();
});

describe('rollback of a rollout in flight', () => {
  it('mode auto finds the paused canary and aborts it: traffic and pods back on stable', async () => {
    const started = await run(canaryPromote, {
      deployments: 'web',
      images: 'app=ghcr.io/acme/web:v2',
      steps: '25,50,100',
      pause: '1m',
      'pause-at': '25',
      'router-config': '{ service: web }',
    });
    expect(started.code).toBe(0);
    expect(record('web')).toMatchObject({ phase: 'paused', weight: 25 });
    expect(deployment('web-canary')?.spec?.replicas).toBe(1);

    const rolledBack = await run(rollback, { deployments: 'web', reason: 'checkout errors at 25%' });
    expect(rolledBack.code).toBe(0);
    expect(rolledBack.rt.lines('info')).toContain('mode auto: in-flight (a rollout of web is in flight)');
    expect(JSON.parse(rolledBack.outputs['result'] ?? '{}')).toMatchObject({
      verdict: 'rolled-back',
      mode: 'in-flight',
    });
    expect(record('web')).toMatchObject({ phase: 'aborted', weight: 0 });
    expect(record('web').reason).toContain('Rolled back by octocat: checkout errors at 25%');
    expect(deployment('web-canary')?.spec?.replicas ?? 0).toBe(0);
    expect(deployment('web')?.spec?.replicas).toBe(4);
    expect(deployment('web')?.spec?.template?.spec?.containers?.[0]?.image).toBe('ghcr.io/acme/web:v1');
    expect(JSON.parse(rolledBack.outputs['restored'] ?? '{}')).toEqual({
      web: {
        before: { images: { app: 'ghcr.io/acme/web:v2' } },
        after: { images: { app: 'ghcr.io/acme/web:v1' } },
        outcome: 'restored',
      },
    });
    expect(rolledBack.summary).toContain('Rolled back an in-flight canary of `web`');
  });

  it('mode in-flight says so when nothing is in flight, changing nothing', async () => {
    const { code, rt } = await run(rollback, { deployments: 'web', mode: 'in-flight' });
    expect(code).toBe(1);
    expect(rt.lines('error').join('\n')).toContain('The rollout of app "web" is not in flight (phase aborted');
  });

  it('finds a canary started with a selector and its own app from the selector alone, or from app alone', async () => {
    const started = await run(canaryPromote, {
      selector: 'app=cart',
      app: 'shop-cart',
      images: 'app=ghcr.io/acme/cart:v2',
      steps: '25,50,100',
      pause: '1m',
      'pause-at': '25',
      'router-config': '{ service: cart }',
    });
    expect(started.code).toBe(0);
    expect(record('shop-cart')).toMatchObject({ phase: 'paused', weight: 25 });
    expect(record('cart')).toBeUndefined();

    // The selector also matches cart-canary (it carries cart's labels): only the stable counts.
    const rolledBack = await run(rollback, { selector: 'app=cart', mode: 'in-flight', reason: 'cart 5xx' });
    expect(rolledBack.rt.lines('error')).toEqual([]);
    expect(rolledBack.code).toBe(0);
    expect(JSON.parse(rolledBack.outputs['result'] ?? '{}')).toMatchObject({ mode: 'in-flight', app: 'shop-cart' });
    expect(record('shop-cart')).toMatchObject({ phase: 'aborted', weight: 0 });
    expect(deployment('cart-canary')?.spec?.replicas ?? 0).toBe(0);
    expect(deployment('cart')?.spec?.replicas).toBe(4);
    expect(deployment('cart')?.spec?.template?.spec?.containers?.[0]?.image).toBe('ghcr.io/acme/cart:v1');

    const again = await run(canaryPromote, {
      selector: 'app=cart',
      app: 'shop-cart',
      images: 'app=ghcr.io/acme/cart:v3',
      steps: '25,50,100',
      pause: '1m',
      'pause-at': '25',
      'router-config': '{ service: cart }',
    });
    expect(again.code).toBe(0);
    const byApp = await run(rollback, { app: 'shop-cart', reason: 'cart 5xx again' });
    expect(byApp.code).toBe(0);
    expect(byApp.rt.lines('info')).toContain('mode auto: in-flight (a rollout of shop-cart is in flight)');
    expect(record('shop-cart')).toMatchObject({ phase: 'aborted', canaryVersion: 'v3' });
  });

  it('mode auto after canary-promote aborted a release: nothing to roll back, the stable still serves', async () => {
    await app('feed', 'ghcr.io/acme/feed:v1');
    behaviour.set('ghcr.io/acme/feed:v2-bad', { readyAfter: '2s', crashLoop: { after: '15s' } });
    const aborted = await run(canaryPromote, {
      deployments: 'feed',
      images: 'app=ghcr.io/acme/feed:v2-bad',
      steps: '25,100',
      pause: '2m',
      analysis: '[{ name: restarts, provider: kubernetes, signal: restarts, max: 0 }]',
      'router-config': '{ service: feed }',
    });
    expect(aborted.outputs['result']).toBe('aborted');
    const template = deployment('feed')?.spec?.template;

    // As leanvibe-production.yml's `if: failure()` step runs it: default mode, the Deployment, a reason.
    const { code, rt, outputs, summary } = await run(rollback, { deployments: 'feed', reason: 'release failed' });
    expect(rt.lines('error')).toEqual([]);
    expect(code).toBe(0);
    expect(JSON.parse(outputs['result'] ?? '{}')).toMatchObject({
      verdict: 'nothing-to-roll-back',
      mode: 'auto',
      app: 'feed',
      serving: 'v1',
      phase: 'aborted',
    });
    expect(JSON.parse(outputs['restored'] ?? '{}')).toEqual({
      feed: {
        before: { images: { app: 'ghcr.io/acme/feed:v1' } },
        after: { images: { app: 'ghcr.io/acme/feed:v1' } },
        outcome: 'skipped',
      },
    });
    expect(summary).toContain('Nothing to roll back: the release of v2-bad was aborted');
    expect(summary).toContain('v1 is serving, as before it started');
    expect(summary).toContain('| feed | app=ghcr.io/acme/feed:v1 |');
    // Nothing was written: the stable's template (and so its revision) is as the abort left it.
    expect(deployment('feed')?.spec?.template).toEqual(template);
    expect(deployment('feed')?.metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe('1');

    // An explicit mode kubernetes still means `rollout undo`, which has no previous revision here.
    const undo = await run(rollback, { deployments: 'feed', mode: 'kubernetes' });
    expect(undo.code).toBe(1);
  });

  it('names the app input when nothing identifies the rollout', async () => {
    const { code, rt } = await run(rollback, { mode: 'in-flight' });
    expect(code).toBe(1);
    expect(rt.lines('error').join('\n')).toContain("Input 'deployments': name the Deployments to roll back");
  });
});
