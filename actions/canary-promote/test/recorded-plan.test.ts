/**
 * A rollout started in one job and continued in another follows the plan `start` recorded (steps,
 * pauses, analysis, on-step-failure, post-promotion analysis, router), not the later job's inputs; inputs
 * that differ from the record are refused before anything changes. `finalize` refuses a canary in flight,
 * and post-promotion analysis with nothing to check is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, startCluster } from './cluster';

let c: Cluster;

beforeAll(async () => {
  c = await startCluster(21);
});

afterAll(async () => {
  await c?.stop();
});

const RESTARTS = '[{ name: restarts, provider: kubernetes, signal: restarts, max: 0 }]';

/** Every weight the record goes through, in order (repeats dropped). */
function weightsOf(app: string) {
  const weights: number[] = [];
  const stop = c.onRecord(app, (record) => {
    if (record.weight !== weights.at(-1)) weights.push(record.weight);
  });
  return { weights, stop };
}

describe('continue follows the recorded plan', () => {
  it('pause at 50, then continue with no plan inputs: weights only rise and the start analysis runs', async () => {
    await c.app('web', 'ghcr.io/acme/web:v1');
    const { weights, stop } = weightsOf('web');
    const first = await c.run({
      deployments: 'web',
      images: 'app=ghcr.io/acme/web:v2',
      steps: '25,50,75,100',
      pause: '1m',
      'pause-at': '50',
      analysis: RESTARTS,
      'router-config': '{ service: web }',
    });
    expect(first.outputs['result']).toBe('paused');
    expect(c.record('web').plan).toMatchObject({
      steps: [{ weight: 25 }, { weight: 50 }, { weight: 75 }, { weight: 100 }],
      onStepFailure: 'abort',
    });

    // What summit-release.yml's production job gives: no steps, no pause, no analysis.
    const second = await c.run({ app: 'web', action: 'continue' }, { env: { GITHUB_RUN_ID: '4300' } });
    stop();
    expect(second.errors).toEqual([]);
    expect(second.outputs['result']).toBe('promoted');
    expect(weights).toEqual([0, 25, 50, 75, 100]);
    // The 75% step was analysed with the start job's analysis, held for its 1m pause.
    expect(second.summary).toContain('| 3 | 75% | pass | All 1 metrics stayed within their limits for 1m. |');
    expect(second.summary).toContain('### Step 3 (75%) analysis: ✅ pass');
    expect(second.summary).toContain('| +60s | restarts | 0 | — | <= 0 | ✅ ok |');
    expect(c.images('web')).toEqual(['ghcr.io/acme/web:v2']);
  });

  it('refuses plan inputs that differ from the record, naming the input, before anything changes', async () => {
    await c.app('cart', 'ghcr.io/acme/cart:v1');
    await c.run({
      deployments: 'cart',
      images: 'app=ghcr.io/acme/cart:v2',
      steps: '50,100',
      pause: '1m',
      'pause-at': '50',
      'router-config': '{ service: cart }',
    });
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ steps: '10,100' }, /Input 'steps': differs from the plan the rollout of cart started with/],
      [{ analysis: RESTARTS }, /Input 'analysis': differs from the plan/],
      [{ 'on-step-failure': 'previous-step' }, /Input 'on-step-failure': differs from the plan/],
      [{ router: 'nginx' }, /Input 'router': differs from the router the rollout of cart started with \(replicas\)/],
      [{ 'pause-at': '50' }, /Input 'pause-at': must be above the weight the rollout of cart has reached \(50%\)/],
    ];
    for (const [inputs, message] of cases) {
      const before = c.snapshot();
      const refused = await c.run({ app: 'cart', action: 'continue', ...inputs }, { env: { GITHUB_RUN_ID: '4301' } });
      expect(refused.code).toBe(1);
      expect(refused.errors.join('\n')).toMatch(message);
      expect(refused.errors.join('\n')).toMatch(/Example: /);
      expect(c.snapshot()).toEqual(before);
    }
    // The same value as the record is fine.
    const same = await c.run(
      { app: 'cart', action: 'continue', steps: '50,100', pause: '1m' },
      { env: { GITHUB_RUN_ID: '4302' } },
    );
    expect(same.outputs['result']).toBe('promoted');
  });
});

describe('finalize', () => {
  it('refuses a canary in flight (left at 50% by on-cancel: leave), naming the phase and what to run', async () => {
    await c.app('mail', 'ghcr.io/acme/mail:v1');
    const paused = await c.run({
      deployments: 'mail',
      images: 'app=ghcr.io/acme/mail:v2',
      steps: '50,100',
      pause: '10m',
      'pause-at': '50',
      'router-config': '{ service: mail }',
    });
    expect(paused.outputs['result']).toBe('paused');
    const before = c.snapshot();
    const finalize = await c.run({ app: 'mail', action: 'finalize' }, { env: { GITHUB_RUN_ID: '4303' } });
    expect(finalize.code).toBe(1);
    expect(finalize.outputs['result']).not.toBe('finalized');
    expect(finalize.errors.join('\n')).toContain(
      'The rollout of "mail" is paused at 50%: finalize is for a blue-green rollout that switched',
    );
    expect(finalize.errors.join('\n')).toContain('run action: continue to go on with the steps, promote');
    // Stable, canary and record as they were (only the lease came and went).
    const { 'coordination.k8s.io/v1/leases/deploy-actions-mail': _lease, ...rest } = before;
    expect(c.snapshot()).toEqual(rest);
    expect(c.replicas('mail-canary')).toBe(2);
    expect(c.record('mail')).toMatchObject({ phase: 'paused', weight: 50 });
  });
});

describe('post-promotion-analysis', () => {
  it('with neither analysis nor a step analysis is refused before anything changes', async () => {
    await c.app('pay', 'ghcr.io/acme/pay:v1');
    const before = c.snapshot();
    const refused = await c.run({
      deployments: 'pay',
      images: 'app=ghcr.io/acme/pay:v2',
      steps: '50,100',
      'post-promotion-analysis': '10m',
      'router-config': '{ service: pay }',
    });
    expect(refused.code).toBe(1);
    expect(refused.errors.join('\n')).toMatch(/^Input 'post-promotion-analysis': has no metrics to check/);
    expect(c.snapshot()).toEqual(before);
  });

  it("without a top-level analysis checks the last step's analysis after 100%, also when a later job promotes", async () => {
    await c.app('chat', 'ghcr.io/acme/chat:v1');
    // Healthy for the 1-minute step, then crashes: only the post-promotion analysis can see it.
    c.sim.behaviour.set('ghcr.io/acme/chat:v2', { readyAfter: '2s', crashLoop: { after: '3m' } });
    const paused = await c.run({
      deployments: 'chat',
      images: 'app=ghcr.io/acme/chat:v2',
      steps: `[{ weight: 50, pause: 1m, analysis: ${RESTARTS} }, { weight: 100 }]`,
      'pause-at': '50',
      'post-promotion-analysis': '10m',
      'router-config': '{ service: chat }',
    });
    expect(paused.outputs['result']).toBe('paused');
    expect(c.record('chat').plan.postPromotion).toMatchObject({ duration: 600_000, metrics: [{ name: 'restarts' }] });
    const promoted = await c.run({ app: 'chat', action: 'promote' }, { env: { GITHUB_RUN_ID: '4304' } });
    expect(promoted.outputs['result']).toBe('rolled-back');
    expect(promoted.errors.join('\n')).toMatch(/^Rolled back to v1 because post-promotion analysis: restarts was \d+/);
    expect(c.images('chat')).toEqual(['ghcr.io/acme/chat:v1']);
  });
});
