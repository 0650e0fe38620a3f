/**
 * strategy rolling keeps the same state record and lease as canaries, on kube-sim in virtual time: what
 * the record says after a deploy and after monitoring undid one, a second deploy (rolling or canary)
 * refused while the first holds the lease, and the post step of a job cancelled during `monitor`.
 */
import { type Cluster, startCluster } from '@deploy-actions/testkit/cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import canaryPromote from '../src/main';

const NS = 'shop';
const RUN_URL = 'https://github.com/acme/shop/actions/runs/4242';
const RESTARTS = '[{ name: restarts, provider: kubernetes, signal: restarts, max: 0 }]';
let c: Cluster;

beforeAll(async () => {
  c = await startCluster({ namespace: NS, controllers: 'bare', readyAfter: '2s', action: canaryPromote });
  // Ready, then crashes 15 s after every start: restarts climb while the deploy is monitored.
  c.behaviour.set('ghcr.io/acme/*:v2-bad', { readyAfter: '2s', crashLoop: { after: '15s' } });
});

afterAll(async () => {
  await c?.stop();
});

const lease = (app: string) =>
  c.find<{ spec: { holderIdentity: string } }>('coordination.k8s.io/v1/leases', `deploy-actions-${app}`);

/** Every phase the record goes through while `fn` runs. */
async function phasesOf<T>(app: string, fn: () => Promise<T>): Promise<{ result: T; phases: string[] }> {
  const phases: string[] = [];
  const stop = c.onRecord(app, (record) => {
    if (record.phase !== phases.at(-1)) phases.push(record.phase);
  });
  try {
    return { result: await fn(), phases };
  } finally {
    stop();
  }
}

describe('strategy rolling: the state record', () => {
  it('follows the deploy (deploying → monitoring → deployed) with revisions and images per workload', async () => {
    await c.app('web', 'ghcr.io/acme/web:v1', { replicas: 2 });
    const { result, phases } = await phasesOf('web', () =>
      c.run({
        strategy: 'rolling',
        deployments: 'web',
        images: 'app=ghcr.io/acme/web:v2',
        analysis: RESTARTS,
        monitor: '2m',
      }),
    );
    expect(result.errors).toEqual([]);
    expect(result.outputs['result']).toBe('deployed');
    expect(phases).toEqual(['deploying', 'monitoring', 'deployed']);
    expect(c.record('web')).toMatchObject({
      app: 'web',
      namespace: NS,
      strategy: 'rolling',
      phase: 'deployed',
      weight: 100,
      stableVersion: 'v1',
      canaryVersion: 'v2',
      runUrl: RUN_URL,
      runId: '4242',
      workloads: [
        {
          kind: 'Deployment',
          stable: 'web',
          stableRevision: 1,
          stableImages: { app: 'ghcr.io/acme/web:v1' },
          revision: 2,
          canaryImages: { app: 'ghcr.io/acme/web:v2' },
          created: false,
          status: 'rolled-out',
        },
      ],
    });
    // The lease was held for the run and handed back at its end.
    expect(lease('web')).toBeUndefined();
  });

  it('after monitoring failed: rolled-back, what was rolled out and the undo revision, and why', async () => {
    await c.app('cart', 'ghcr.io/acme/cart:v1', { replicas: 2 });
    const { code, outputs, errors } = await c.run({
      strategy: 'rolling',
      deployments: 'cart',
      images: 'app=ghcr.io/acme/cart:v2-bad',
      analysis: RESTARTS,
      monitor: '5m',
    });
    expect(code).toBe(1);
    expect(outputs['result']).toBe('rolled-back');
    expect(errors.join('\n')).toMatch(/^Monitoring failed: restarts was \d+, above its max of 0/);
    expect(c.images('cart')).toEqual(['ghcr.io/acme/cart:v1']);
    const record = c.record('cart');
    expect(record).toMatchObject({
      strategy: 'rolling',
      phase: 'rolled-back',
      weight: 0,
      stableVersion: 'v1',
      canaryVersion: 'v2-bad',
      workloads: [
        {
          stable: 'cart',
          stableRevision: 1,
          stableImages: { app: 'ghcr.io/acme/cart:v1' },
          revision: 2,
          canaryImages: { app: 'ghcr.io/acme/cart:v2-bad' },
          undoneRevision: 3,
          status: 'undone',
        },
      ],
    });
    expect(record.reason).toMatch(/^Monitoring failed: restarts was \d+/);
    expect(lease('cart')).toBeUndefined();
  });
});

describe('strategy rolling: the lease', () => {
  it('a second rolling deploy or a canary of the app is refused while a deploy holds it, and changes nothing', async () => {
    await c.app('pay', 'ghcr.io/acme/pay:v1', { replicas: 2 });
    type Run = Awaited<ReturnType<Cluster['run']>>;
    const state = () => ({
      template: JSON.stringify(c.deployment('pay')?.spec?.template),
      generation: c.deployment('pay')?.metadata?.generation,
      record: c.find<{ metadata: { resourceVersion: string } }>('v1/configmaps', 'deploy-actions-pay')?.metadata
        .resourceVersion,
    });
    let refused:
      | Promise<{ runs: Run[]; before: ReturnType<typeof state>; after: ReturnType<typeof state> }>
      | undefined;
    const stop = c.onRecord('pay', (record) => {
      if (record.phase !== 'monitoring' || refused) return;
      // While the first run monitors (holding the lease): another run's rolling deploy and canary.
      const other = { GITHUB_RUN_ID: '5151' };
      const before = state();
      refused = Promise.all([
        c.run({ strategy: 'rolling', deployments: 'pay', images: 'app=ghcr.io/acme/pay:v3' }, { env: other }),
        c.run({ deployments: 'pay', images: 'app=ghcr.io/acme/pay:v3', steps: '50,100', pause: '1m' }, { env: other }),
      ]).then((runs) => ({ runs, before, after: state() }));
    });
    const first = await c.run({
      strategy: 'rolling',
      deployments: 'pay',
      images: 'app=ghcr.io/acme/pay:v2',
      analysis: RESTARTS,
      monitor: '3m',
    });
    stop();
    expect(refused).toBeDefined();
    const { runs, before, after } = await refused!;
    for (const second of runs) {
      expect(second.code).toBe(1);
      expect(second.errors.join('\n')).toContain(
        `Another run is rolling out "pay" in "${NS}": lease deploy-actions-pay is held by 4242-1 (${RUN_URL})`,
      );
    }
    // Refused before any change: the Deployment and the record as the first run had them.
    expect(after).toEqual(before);
    expect(c.find(`apps/v1/deployments`, 'pay-canary')).toBeUndefined();
    expect(first.outputs['result']).toBe('deployed');
    expect(c.images('pay')).toEqual(['ghcr.io/acme/pay:v2']);
  });
});

describe('strategy rolling: the post step after a cancelled job', () => {
  it('on-cancel: leave keeps the new version; abort undoes it to the previous revision and hands back the lease', async () => {
    await c.app('shop', 'ghcr.io/acme/shop:v1', { replicas: 2 });
    const inputs = {
      strategy: 'rolling',
      deployments: 'shop',
      images: 'app=ghcr.io/acme/shop:v2',
      analysis: RESTARTS,
      monitor: '10m',
    };
    let cancel: (() => void) | undefined;
    const stop = c.onRecord('shop', (record) => {
      if (record.phase === 'monitoring') setImmediate(() => cancel?.());
    });
    const main = await c.run(inputs, {
      onRuntime: (rt) => {
        cancel = () => rt.abort(new Error('The operation was canceled.'));
      },
    });
    stop();
    expect(main.code).toBe(1);
    // What the runner hands the post step: the state main saved before it was stopped.
    const state = Object.fromEntries(
      ['rollout-app', 'rollout-finished', 'rollout-mode', 'deploy-namespace'].map((key) => [
        key,
        main.rt.state.get(key) ?? '',
      ]),
    );
    expect(state).toEqual({
      'rollout-app': 'shop',
      'rollout-finished': 'false',
      'rollout-mode': 'rolling',
      'deploy-namespace': NS,
    });
    expect(c.record('shop')).toMatchObject({ phase: 'monitoring', weight: 100 });
    expect(c.images('shop')).toEqual(['ghcr.io/acme/shop:v2']);
    expect(lease('shop')?.spec.holderIdentity).toBe('4242-1');

    const leave = await c.run({ ...inputs, 'on-cancel': 'leave' }, { phase: 'post', state });
    expect(leave.code).toBe(0);
    expect(leave.warnings.join('\n')).toContain(
      'The rolling deploy of shop did not finish; on-cancel: leave keeps the new version as it is, not undone',
    );
    expect(c.images('shop')).toEqual(['ghcr.io/acme/shop:v2']);
    expect(c.record('shop')).toMatchObject({ phase: 'monitoring' });

    const post = await c.run(inputs, { phase: 'post', state });
    expect(post.code).toBe(0);
    expect(post.warnings.join('\n')).toContain(
      'Undone by the post step: the job stopped while the rolling deploy was monitoring',
    );
    expect(c.images('shop')).toEqual(['ghcr.io/acme/shop:v1']);
    expect(c.deployment('shop')?.status).toMatchObject({ updatedReplicas: 2, availableReplicas: 2 });
    expect(c.record('shop')).toMatchObject({
      phase: 'rolled-back',
      weight: 0,
      workloads: [{ stable: 'shop', stableRevision: 1, revision: 2, undoneRevision: 3, status: 'undone' }],
    });
    expect(post.summary).toContain('## canary-promote (post)');
    expect(post.summary).toContain('↩️ rolled back');
    expect(lease('shop')).toBeUndefined();

    // A post step after a main step that finished does nothing.
    const after = await c.run(inputs, { phase: 'post', state: { ...state, 'rollout-finished': 'true' } });
    expect(after.summary).toBe('');
  });
});
