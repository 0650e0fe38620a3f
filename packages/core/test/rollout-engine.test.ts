/**
 * The release engine (core/rollout's `Rollout`) driven directly against kube-sim, without an action: prepare,
 * start, pause-at, resume in a later "job", continue, abort, finalize, a failed step, previous-step, blue-green
 * switched then finalized, the dry run, and the record each transition leaves. Virtual clock; the replicas
 * router unless a test says otherwise.
 */
import { type Cluster, startCluster } from '@deploy-actions/testkit/cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deployment } from '../src/kube/types';
import { parseAnalysisSpec } from '../src/metrics';
import type { MetricSpec } from '../src/metrics/spec';
import { Rollout } from '../src/rollout/canary';
import type { Step } from '../src/rollout/plan';
import type { RolloutSettings } from '../src/rollout/types';
import { parseRouterConfig } from '../src/routing/config';
import { createRouter } from '../src/routing/create-router';
import { createMemoryRuntime, type MemoryRuntime } from '../src/runtime';
import { RecordStore } from '../src/state/record';

const NS = 'shop';
let c: Cluster;

beforeAll(async () => {
  c = await startCluster({ namespace: NS, controllers: 'bare', readyAfter: '2s' });
  // Starts, then crashes 20 s after every start: restarts climb while a step is analysed.
  c.behaviour.set('ghcr.io/acme/*:v2-bad', { readyAfter: '2s', crashLoop: { after: '20s' } });
});

afterAll(async () => {
  await c?.stop();
});

const RESTARTS: MetricSpec[] = parseAnalysisSpec(
  '[{ name: restarts, provider: kubernetes, signal: restarts, max: 0 }]',
);
const steps = (weights: number[], pause = 60_000, analysis: MetricSpec[] = []): Step[] =>
  weights.map((weight) => ({ weight, pause, analysis }));

function runtime(): MemoryRuntime {
  return createMemoryRuntime({ clock: c.clock, env: { GITHUB_RUN_ID: '7', GITHUB_REPOSITORY: 'acme/shop' } });
}

/** A Rollout of `app` as one job builds it: its own runtime, the record loaded, the replicas router. */
async function engine(app: string, settings: Partial<RolloutSettings> = {}) {
  const rt = runtime();
  const store = await RecordStore.load(c.client, NS, app);
  const rollout = new Rollout(rt, c.client, store, {
    strategy: 'canary',
    namespace: NS,
    steps: steps([25, 50, 100]),
    onStepFailure: 'abort',
    baseline: false,
    router: { kind: 'replicas', config: { kind: 'replicas' } },
    makeRouter: (target) => createRouter('replicas', { kind: 'replicas' }, target, { client: c.client }),
    rolloutTimeoutMs: 300_000,
    ...settings,
  });
  return { rt, store, rollout };
}

const stable = (name: string) => c.deployment(name) as Deployment;

describe('Rollout, driven directly', () => {
  it('prepare + start: every step held, verdicts with the share served, the stable promoted, the canary gone', async () => {
    await c.app('web', 'ghcr.io/acme/web:v1', { podLabels: { version: 'v1' } });
    const seen: Array<[number, number | undefined, number | undefined]> = [];
    const stop = c.onRecord('web', (record) => {
      if (record.phase === 'progressing' && record.weight > 0 && seen.at(-1)?.[0] !== record.weight)
        seen.push([record.weight, c.replicas('web-canary'), c.replicas('web')]);
    });
    const { rollout } = await engine('web');
    await rollout.prepare([stable('web')], { app: 'ghcr.io/acme/web:v2' });
    expect(rollout.current).toMatchObject({ phase: 'progressing', stableVersion: 'v1', canaryVersion: 'v2' });
    // Nothing is written by prepare.
    expect(c.deployment('web-canary')).toBeUndefined();
    expect(c.record('web')).toBeUndefined();
    const outcome = await rollout.start();
    stop();
    expect(outcome.result).toBe('promoted');
    // The replicas router: the pod ratio is the share (4 pods: 1 of 4, then 2 of 4).
    expect(seen).toEqual([
      [25, 1, 3],
      [50, 2, 2],
    ]);
    expect(outcome.timeline.map((point) => [point.weight, point.actual])).toEqual([
      [25, 25],
      [50, 50],
      [100, 100],
    ]);
    expect(c.record('web')).toMatchObject({
      phase: 'promoted',
      weight: 100,
      verdicts: [
        { step: 0, weight: 25, served: 25, verdict: 'skipped', reason: 'held 1m, no analysis' },
        { step: 1, weight: 50, served: 50, verdict: 'skipped', reason: 'held 1m, no analysis' },
      ],
    });
    expect(c.images('web')).toEqual(['ghcr.io/acme/web:v2']);
    expect(stable('web').spec?.template?.metadata?.labels).toMatchObject({ version: 'v2' });
    expect(c.replicas('web')).toBe(4);
    expect(c.deployment('web-canary')).toBeUndefined();
  });

  it('pause-at stops the run; a later job resumes the record and continues to promotion', async () => {
    await c.app('cart', 'ghcr.io/acme/cart:v1');
    const first = await engine('cart', { pauseAt: 25 });
    await first.rollout.prepare([stable('cart')], { app: 'ghcr.io/acme/cart:v2' });
    const paused = await first.rollout.start();
    expect(paused.result).toBe('paused');
    expect(paused.reason).toBe(
      'Paused at 25% (pause-at 25); continue with action: continue, or stop with action: abort.',
    );
    expect(c.record('cart')).toMatchObject({ phase: 'paused', stepIndex: 0, weight: 25 });
    expect([c.replicas('cart-canary'), c.replicas('cart')]).toEqual([1, 3]);

    const second = await engine('cart');
    await second.rollout.resume(second.store.record!);
    const done = await second.rollout.continue();
    expect(done.result).toBe('promoted');
    expect(done.timeline.map((point) => point.weight)).toEqual([50, 100]);
    expect(c.record('cart')).toMatchObject({ phase: 'promoted', stepIndex: 1 });
    expect(c.images('cart')).toEqual(['ghcr.io/acme/cart:v2']);
    expect(c.deployment('cart-canary')).toBeUndefined();
  });

  it('abort from another job: the stable back to its size, the canary at 0, the stable never touched; finalize removes it', async () => {
    await c.app('auth', 'ghcr.io/acme/auth:v1');
    const generation = stable('auth').metadata?.generation;
    const first = await engine('auth', { pauseAt: 50 });
    await first.rollout.prepare([stable('auth')], { app: 'ghcr.io/acme/auth:v2' });
    expect((await first.rollout.start()).result).toBe('paused');
    expect([c.replicas('auth-canary'), c.replicas('auth')]).toEqual([2, 2]);

    const second = await engine('auth');
    await second.rollout.resume(second.store.record!);
    const aborted = await second.rollout.abort('Aborted by hand.');
    expect(aborted).toMatchObject({ result: 'aborted', reason: 'Aborted by hand.' });
    expect(c.record('auth')).toMatchObject({ phase: 'aborted', weight: 0, reason: 'Aborted by hand.' });
    expect([c.replicas('auth-canary'), c.replicas('auth')]).toEqual([0, 4]);
    expect(c.images('auth')).toEqual(['ghcr.io/acme/auth:v1']);
    // Only the size changed (the replicas router gave pods back): the template is the one it had.
    expect(stable('auth').spec?.template?.spec?.containers?.[0]?.image).toBe('ghcr.io/acme/auth:v1');
    expect(stable('auth').metadata?.generation).toBeGreaterThan(generation ?? 0);

    const third = await engine('auth');
    await third.rollout.resume(third.store.record!);
    expect((await third.rollout.abort('again')).reason).toBe('Nothing to abort: the rollout is aborted.');
    const finalized = await third.rollout.finalize();
    expect(finalized.result).toBe('finalized');
    expect(c.deployment('auth-canary')).toBeUndefined();
  });

  it('a failed analysis aborts: the verdict and the step failure say why, traffic back on the stable', async () => {
    await c.app('pay', 'ghcr.io/acme/pay:v1');
    const { rollout } = await engine('pay', { steps: steps([25, 50, 100], 120_000, RESTARTS) });
    await rollout.prepare([stable('pay')], { app: 'ghcr.io/acme/pay:v2-bad' });
    const outcome = await rollout.start();
    expect(outcome.result).toBe('aborted');
    expect(outcome.stepFailure).toMatch(/^step 1 \(25%\): .*restarts/);
    expect(outcome.reason).toBe(`Aborted because ${outcome.stepFailure}`);
    expect(outcome.analyses.map((entry) => [entry.step, entry.weight, entry.result.verdict])).toEqual([
      [0, 25, 'fail'],
    ]);
    expect(c.record('pay')).toMatchObject({ phase: 'aborted', weight: 0, verdicts: [{ step: 0, verdict: 'fail' }] });
    expect([c.replicas('pay-canary'), c.replicas('pay')]).toEqual([0, 4]);
    expect(c.images('pay')).toEqual(['ghcr.io/acme/pay:v1']);
  });

  it('on-step-failure previous-step: a failing second step goes back to the first weight and pauses there', async () => {
    await c.app('books', 'ghcr.io/acme/books:v1');
    c.behaviour.set('ghcr.io/acme/books:v2', { readyAfter: '2s', crashLoop: { after: '90s' } });
    const { rollout } = await engine('books', {
      steps: steps([25, 50, 100], 60_000, RESTARTS),
      onStepFailure: 'previous-step',
    });
    await rollout.prepare([stable('books')], { app: 'ghcr.io/acme/books:v2' });
    const outcome = await rollout.start();
    expect(outcome.result).toBe('paused');
    expect(outcome.reason).toMatch(/^Back at 25% because step 2 \(50%\): .*restarts/);
    expect(c.record('books')).toMatchObject({
      phase: 'paused',
      stepIndex: 0,
      weight: 25,
      verdicts: [
        { step: 0, verdict: 'pass' },
        { step: 1, verdict: 'fail' },
      ],
    });
    expect([c.replicas('books-canary'), c.replicas('books')]).toEqual([1, 3]);
  });

  it('a dry run (plan) sends every write with dryRun=All and changes nothing', async () => {
    await c.app('media', 'ghcr.io/acme/media:v1');
    const before = c.snapshot();
    const { rollout } = await engine('media');
    await rollout.prepare([stable('media')], { app: 'ghcr.io/acme/media:v2' });
    const outcome = await rollout.plan();
    expect(outcome.result).toBe('planned');
    expect(outcome.plan).toContain('create Deployment media-canary (app=ghcr.io/acme/media:v2)');
    expect(outcome.plan?.at(-1)).toBe(
      'at promotion: Deployment media takes app=ghcr.io/acme/media:v2 (server dry run passed), then media-canary is deleted',
    );
    expect(c.snapshot()).toEqual(before);
  });
  it('blue-green, scale-down-delay manual: green at full size, one switch, switched until a later finalize promotes', async () => {
    await c.app('news', 'ghcr.io/acme/news:v1', { podLabels: { version: 'v1' } });
    await c.client.patch(
      'Service',
      { namespace: NS, name: 'news' },
      { spec: { selector: { app: 'news', version: 'v1' } } },
      'merge',
    );
    const config = parseRouterConfig('service', { 'active-service': 'news', 'version-label': 'version' });
    const blueGreen: Partial<RolloutSettings> = {
      strategy: 'blue-green',
      steps: steps([100], 0),
      scaleDownDelay: 'manual',
      router: { kind: 'service', config },
      makeRouter: (target) => createRouter('service', config, target, { client: c.client }),
    };
    const selector = () => c.find<{ spec: { selector: Record<string, string> } }>('v1/services', 'news')?.spec.selector;
    const first = await engine('news', blueGreen);
    await first.rollout.prepare([stable('news')], { app: 'ghcr.io/acme/news:v2' });
    const switched = await first.rollout.start();
    expect(switched.result).toBe('paused');
    expect(c.record('news')).toMatchObject({
      phase: 'switched',
      weight: 100,
      verdicts: [{ step: 0, verdict: 'skipped' }],
    });
    // Users are on green; blue still runs v1 at full size.
    expect(selector()).toEqual({ app: 'news', version: 'v2' });
    expect([c.replicas('news-green'), c.replicas('news')]).toEqual([4, 4]);
    expect(c.images('news')).toEqual(['ghcr.io/acme/news:v1']);

    const second = await engine('news', blueGreen);
    await second.rollout.resume(second.store.record!);
    expect((await second.rollout.finalize()).result).toBe('promoted');
    expect(c.images('news')).toEqual(['ghcr.io/acme/news:v2']);
    expect(selector()).toEqual({ app: 'news', version: 'v2' });
    expect(c.deployment('news-green')).toBeUndefined();
    expect(c.record('news')).toMatchObject({ phase: 'promoted' });
  });
});
