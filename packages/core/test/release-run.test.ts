/**
 * runRelease and finishUnfinishedRelease against kube-sim, without the action around them: a plan from
 * planRelease carried out under the app's Lease and record, a later job that follows the record, the post
 * step of a cancelled run, and a rolling deploy in place.
 */
import { defineInputs, mapSource } from '@deploy-actions/core/inputs';
import { kubeInputs } from '@deploy-actions/core/kube';
import {
  finishUnfinishedRelease,
  planRelease,
  type ReleaseInputs,
  releaseInputs,
  runRelease,
} from '@deploy-actions/core/rollout';
import { commonInputs, createMemoryRuntime, type MemoryRuntime } from '@deploy-actions/core/runtime';
import { type Cluster, GITHUB_ENV, startCluster } from '@deploy-actions/testkit/cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const schema = defineInputs({ ...releaseInputs, ...kubeInputs, ...commonInputs });
const STATE_KEYS = ['rollout-app', 'rollout-finished', 'rollout-mode', 'deploy-namespace'];

let c: Cluster;

beforeAll(async () => {
  c = await startCluster({ namespace: 'shop', seed: 3 });
});

afterAll(async () => {
  await c?.stop();
});

/** A runtime on the cluster's clock and the inputs a job gives (the cluster's kubeconfig and namespace added). */
function job(
  raw: Record<string, string>,
  state?: Record<string, string>,
): { rt: MemoryRuntime; inputs: ReleaseInputs } {
  const given = { kubeconfig: c.sim.kubeconfig(), namespace: 'shop', 'weight-rounding': 'nearest', ...raw };
  const rt = createMemoryRuntime({ clock: c.clock, workspace: c.workspace, env: GITHUB_ENV, inputs: given, state });
  return { rt, inputs: schema.parse(mapSource(given), { workspace: c.workspace }) };
}

const lease = (app: string) => c.find('coordination.k8s.io/v1/leases', `deploy-actions-${app}`);

describe('runRelease', () => {
  it('starts a canary that pauses where asked, then a later job follows the record to promotion', async () => {
    await c.app('shop-web', 'ghcr.io/acme/web:v1');
    const start = job({
      deployments: 'shop-web',
      images: 'app=ghcr.io/acme/web:v2',
      steps: '25,50,100',
      pause: '1m',
      'pause-at': '50',
    });
    const paused = await runRelease(start.rt, planRelease(start.inputs));
    expect(paused).toMatchObject({ kind: 'rollout', outcome: { result: 'paused' } });
    expect(c.record('shop-web')).toMatchObject({ phase: 'paused', weight: 50, steps: [25, 50, 100] });
    expect(c.replicas('shop-web-canary')).toBe(2);
    // Finished: the post step has nothing to do, and the Lease is handed back.
    expect(start.rt.state.get('rollout-finished')).toBe('true');
    expect(lease('shop-web')).toBeUndefined();

    // continue names no steps: the record's 25,50,100 are followed, from 50.
    const later = job({ app: 'shop-web', action: 'continue' });
    const plan = planRelease(later.inputs);
    expect(plan).toMatchObject({ mode: 'rollout', action: 'continue', router: undefined });
    const promoted = await runRelease(later.rt, plan);
    expect(promoted).toMatchObject({ kind: 'rollout', outcome: { result: 'promoted' } });
    expect(c.record('shop-web')).toMatchObject({ phase: 'promoted', weight: 100 });
    expect(c.images('shop-web')).toEqual(['ghcr.io/acme/web:v2']);
    expect(c.replicas('shop-web')).toBe(4);
    // The promoted canary is gone.
    expect(c.deployment('shop-web-canary')).toBeUndefined();
  });

  it('a cancelled run leaves its state; the post step aborts the rollout under the same Lease and hands it back', async () => {
    await c.app('shop-cart', 'ghcr.io/acme/cart:v1');
    const raw = { deployments: 'shop-cart', images: 'app=ghcr.io/acme/cart:v2', steps: '25,50,100', pause: '10m' };
    const main = job(raw);
    const stop = c.onRecord('shop-cart', (record) => {
      if (record.weight === 25 && record.phase === 'progressing')
        setImmediate(() => main.rt.abort(new Error('The operation was canceled.')));
    });
    await expect(runRelease(main.rt, planRelease(main.inputs))).rejects.toThrow();
    stop();
    const state = Object.fromEntries(STATE_KEYS.map((key) => [key, main.rt.state.get(key) ?? '']));
    expect(state).toMatchObject({ 'rollout-app': 'shop-cart', 'rollout-finished': 'false', 'rollout-mode': '' });
    expect(c.record('shop-cart')).toMatchObject({ phase: 'progressing', weight: 25 });
    expect(lease('shop-cart')).toBeDefined();

    const post = job(raw, state);
    const result = await finishUnfinishedRelease(post.rt, post.inputs);
    expect(result).toMatchObject({ kind: 'rollout', outcome: { result: 'aborted' } });
    expect(post.rt.lines('warning').join('\n')).toContain('Aborted by the post step');
    expect(c.record('shop-cart')).toMatchObject({ phase: 'aborted', weight: 0 });
    expect(c.replicas('shop-cart-canary')).toBe(0);
    expect(c.images('shop-cart')).toEqual(['ghcr.io/acme/cart:v1']);
    expect(lease('shop-cart')).toBeUndefined();

    // A finished main step leaves the post step nothing to do.
    const finished = job(raw, { ...state, 'rollout-finished': 'true' });
    expect(await finishUnfinishedRelease(finished.rt, finished.inputs)).toBeUndefined();
  });

  it('rolling replaces the running version in place, under the same record', async () => {
    await c.app('shop-api', 'ghcr.io/acme/api:v1');
    const deploy = job({ strategy: 'rolling', deployments: 'shop-api', images: 'app=ghcr.io/acme/api:v2' });
    const result = await runRelease(deploy.rt, planRelease(deploy.inputs));
    expect(result).toMatchObject({ kind: 'in-place', outcome: { verdict: 'deployed', app: 'shop-api' } });
    expect(c.images('shop-api')).toEqual(['ghcr.io/acme/api:v2']);
    expect(deploy.rt.state.get('rollout-mode')).toBe('rolling');
    expect(deploy.rt.state.get('rollout-finished')).toBe('true');
  });
});
