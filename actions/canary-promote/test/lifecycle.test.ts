/**
 * What happens around the steps of a canary, on kube-sim in virtual time: the
 * post step after a cancelled job, `on-step-failure: previous-step`,
 * post-promotion analysis that rolls back, `baseline: true`, versioned config
 * copies, the lease between two concurrent runs, a re-run that resumes from
 * the record (and another release that is refused), an HPA on the stable, and
 * bad input that must fail before the cluster changes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, HTTPROUTE_CRD, NS, startCluster } from './cluster';

let c: Cluster;

beforeAll(async () => {
  c = await startCluster(9);
  // Ready, then crashes 15 s after every start: restarts climb while a step is analysed.
  c.sim.behaviour.set('ghcr.io/acme/*:v2-bad', { readyAfter: '2s', crashLoop: { after: '15s' } });
});

afterAll(async () => {
  await c?.stop();
});

const RESTARTS = '[{ name: restarts, provider: kubernetes, signal: restarts, max: 0 }]';

/** Start the main step and cancel it (as a cancelled job does) once the record reaches `weight`. */
async function cancelledAt(app: string, weight: number, inputs: Record<string, string>, env = {}) {
  let cancel: (() => void) | undefined;
  const stop = c.onRecord(app, (record) => {
    if (record.weight === weight && record.phase === 'progressing') setImmediate(() => cancel?.());
  });
  const main = await c.run(inputs, {
    env,
    onRuntime: (rt) => {
      cancel = () => rt.abort(new Error('The operation was canceled.'));
    },
  });
  stop();
  // What the runner hands the post step: the state main saved before it was stopped.
  const state = Object.fromEntries(
    ['rollout-app', 'rollout-finished'].map((key) => [key, main.rt.state.get(key) ?? '']),
  );
  return { main, state };
}

describe('the post step after a cancelled job', () => {
  it('on-cancel: abort puts traffic back on stable and scales the canary to 0; leave keeps it', async () => {
    await c.app('web', 'ghcr.io/acme/web:v1');
    const inputs = {
      deployments: 'web',
      images: 'app=ghcr.io/acme/web:v2',
      steps: '25,50,100',
      pause: '10m',
      'router-config': '{ service: web }',
    };
    const { main, state } = await cancelledAt('web', 50, inputs);
    expect(main.code).toBe(1);
    expect(state).toEqual({ 'rollout-app': 'web', 'rollout-finished': 'false' });
    // The cancelled main step could not clean up: the canary still has half the pods.
    expect(c.record('web')).toMatchObject({ phase: 'progressing', weight: 50 });
    expect(c.replicas('web-canary')).toBe(2);
    expect(c.replicas('web')).toBe(2);

    // The cancelled main step could not hand its lease back either.
    const lease = () =>
      c.find<{ spec: { holderIdentity: string; renewTime: string; leaseDurationSeconds: number } }>(
        'coordination.k8s.io/v1/leases',
        'deploy-actions-web',
      );
    expect(lease()?.spec.holderIdentity).toBe('4242-1');

    const leave = await c.run({ ...inputs, 'on-cancel': 'leave' }, { phase: 'post', state });
    expect(leave.code).toBe(0);
    expect(leave.warnings.join('\n')).toContain('on-cancel: leave keeps it as it is');
    // leave keeps the lease, and says until when it keeps other runs out: its last hold (at most the
    // `timeout` input's 30m for a wait on pods, plus the 60 s margin) from its last renewal.
    const seconds = lease()!.spec.leaseDurationSeconds;
    expect(seconds).toBeLessThanOrEqual(30 * 60 + 60);
    const until = new Date(Date.parse(lease()!.spec.renewTime) + seconds * 1000).toISOString();
    expect(leave.warnings.join('\n')).toContain(
      `its lease deploy-actions-web stays held by this run (4242-1) until ${until}, then expires`,
    );
    expect(c.record('web')).toMatchObject({ phase: 'progressing', weight: 50 });
    expect(c.replicas('web-canary')).toBe(2);

    const post = await c.run(inputs, { phase: 'post', state });
    expect(post.code).toBe(0);
    expect(post.warnings.join('\n')).toContain('Aborted by the post step');
    expect(c.record('web')).toMatchObject({ phase: 'aborted', weight: 0 });
    expect(c.replicas('web-canary')).toBe(0);
    expect(c.replicas('web')).toBe(4);
    expect(c.images('web')).toEqual(['ghcr.io/acme/web:v1']);
    expect(post.summary).toContain('## canary-promote (post)');
    expect(post.summary).toContain('❌ aborted');
    // The post step handed back the lease of its own run: an immediate re-run is not refused.
    expect(lease()).toBeUndefined();
    const rerun = await c.run({ ...inputs, steps: '100' }, { env: { GITHUB_RUN_ID: '4243' } });
    expect(rerun.errors).toEqual([]);
    expect(rerun.outputs['result']).toBe('promoted');
    expect(c.images('web')).toEqual(['ghcr.io/acme/web:v2']);

    // A post step after a main step that finished does nothing.
    const after = await c.run(inputs, { phase: 'post', state: { 'rollout-app': 'web', 'rollout-finished': 'true' } });
    expect(after.code).toBe(0);
    expect(after.summary).toBe('');
  });
});

describe('a re-run', () => {
  it('resumes the same release from the step the record reached; another release is refused', async () => {
    await c.app('cart', 'ghcr.io/acme/cart:v1');
    const inputs = {
      deployments: 'cart',
      images: 'app=ghcr.io/acme/cart:v2',
      steps: '25,50,75,100',
      pause: '5m',
      analysis: RESTARTS,
      'router-config': '{ service: cart }',
    };
    await cancelledAt('cart', 50, inputs, { GITHUB_RUN_ATTEMPT: '1' });
    expect(c.record('cart')).toMatchObject({ phase: 'progressing', weight: 50, stepIndex: 1 });
    // The release's start: where the stable's own history ends for count comparisons.
    const startedAt = c.record('cart').startedAt;
    expect(startedAt).toMatch(/^\d{4}-/);

    const before = c.snapshot();
    const other = await c.run({ ...inputs, images: 'app=ghcr.io/acme/cart:v3' }, { env: { GITHUB_RUN_ATTEMPT: '2' } });
    expect(other.code).toBe(1);
    expect(other.errors.join('\n')).toMatch(
      /A rollout of "cart" is already progressing at 50% \(v1 → v2, started by https:\/\/github.com\/acme\/shop\/actions\/runs\/4242\)/,
    );
    expect(c.images('cart-canary')).toEqual(['ghcr.io/acme/cart:v2']);
    // Only the lease was taken and given back.
    const { 'coordination.k8s.io/v1/leases/deploy-actions-cart': _lease, ...rest } = before;
    expect(c.snapshot()).toEqual(rest);

    const weights: number[] = [];
    const stop = c.onRecord('cart', (record) => {
      if (record.weight !== weights.at(-1)) weights.push(record.weight);
    });
    const startedAtSeen = new Set<string | undefined>();
    const seen = c.onRecord('cart', (record) => startedAtSeen.add(record.startedAt as string | undefined));
    const again = await c.run(inputs, { env: { GITHUB_RUN_ATTEMPT: '3' } });
    stop();
    seen();
    // Kept by the re-run that resumed (a new start time would take the canary's traffic as the stable's history).
    expect([...startedAtSeen]).toEqual([startedAt]);
    expect(c.record('cart').startedAt).toBe(startedAt);
    expect(again.code).toBe(0);
    expect(again.outputs['result']).toBe('promoted');
    expect(again.warnings.join('\n')).toContain('Resuming the rollout of cart at 50%');
    // It picked up at 50% (the step it reached), not from 25%.
    expect(weights).toEqual([50, 75, 100]);
    expect(c.record('cart').verdicts.map((v: { weight: number }) => v.weight)).toEqual([25, 50, 75]);
    expect(c.images('cart')).toEqual(['ghcr.io/acme/cart:v2']);
  });
});

describe('on-step-failure: previous-step', () => {
  it('returns to the previous weight and stops there, paused; abort then ends it', async () => {
    await c.app('auth', 'ghcr.io/acme/auth:v1');
    const { code, outputs, summary, errors } = await c.run({
      deployments: 'auth',
      images: 'app=ghcr.io/acme/auth:v2-bad',
      // The first step is only held; the second is analysed and fails.
      steps: `[{ weight: 25, pause: 1m, analysis: [] }, { weight: 50, pause: 5m, analysis: ${RESTARTS} }, { weight: 100 }]`,
      'on-step-failure': 'previous-step',
      'router-config': '{ service: auth }',
    });
    expect(code).toBe(0);
    expect(outputs['result']).toBe('paused');
    expect(outputs['weight']).toBe('25');
    // The crash loop ends the wait for the 50% pods at once (or the analysis catches the restarts).
    expect(errors.join('\n')).toMatch(
      /^Back at 25% because step 2 \(50%\): (restarts was \d+, above its max of 0|the new version's pods cannot become ready: .*(CrashLoopBackOff|restarted))/,
    );
    expect(c.replicas('auth-canary')).toBe(1);
    expect(c.replicas('auth')).toBe(3);
    expect(c.images('auth')).toEqual(['ghcr.io/acme/auth:v1']);
    expect(c.record('auth')).toMatchObject({ phase: 'paused', weight: 25, stepIndex: 0 });
    expect(summary).toContain('⏸️ paused');
    expect(summary).toMatch(/\| 2 \| 50% \| fail \| /);

    const abort = await c.run({ app: 'auth', action: 'abort' }, { env: { GITHUB_RUN_ID: '4300' } });
    expect(abort.outputs['result']).toBe('aborted');
    expect(c.replicas('auth-canary')).toBe(0);
    expect(c.replicas('auth')).toBe(4);
  });
});

describe('on-step-failure: previous-step, when going back fails', () => {
  it('says what failed, the phase and weight the record keeps, and what to run', async () => {
    await c.app('memo', 'ghcr.io/acme/memo:v1');
    // Once the 50 % step is set, every patch of the Deployments fails: going back to 25 % cannot happen.
    const faults: Array<() => void> = [];
    const stop = c.onRecord('memo', (record) => {
      if ((record.verdicts as Array<{ verdict: string }>).some((v) => v.verdict === 'fail') && faults.length === 0)
        for (const name of ['memo', 'memo-canary'])
          faults.push(c.sim.faults.add({ verb: 'patch', resource: 'deployments', name, status: 503 }));
    });
    const run = await c.run({
      deployments: 'memo',
      images: 'app=ghcr.io/acme/memo:v2-bad',
      steps: `[{ weight: 25, pause: 1m, analysis: [] }, { weight: 50, pause: 5m, analysis: ${RESTARTS} }, { weight: 100 }]`,
      'on-step-failure': 'previous-step',
      'router-config': '{ service: memo }',
    });
    stop();
    for (const off of faults) off();
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(
      /^Step failed \(step 2 \(50%\): (restarts was \d+|the new version's pods cannot become ready).*\), then going back to 25% failed: .*\. The record says phase progressing at (25|50)%; the canary may have its pods and traffic for 25% or 50%: run action: abort to return traffic to stable, or action: continue once the cause is fixed$/,
    );
    expect(c.record('memo')).toMatchObject({ phase: 'progressing' });
    const abort = await c.run({ app: 'memo', action: 'abort' }, { env: { GITHUB_RUN_ID: '4310' } });
    expect(abort.outputs['result']).toBe('aborted');
    expect(c.replicas('memo-canary')).toBe(0);
    expect(c.replicas('memo')).toBe(4);
  });

  it('on-step-failure: abort, when returning traffic fails, says so too', async () => {
    await c.app('blog', 'ghcr.io/acme/blog:v1');
    const faults: Array<() => void> = [];
    const stop = c.onRecord('blog', (record) => {
      if ((record.verdicts as Array<{ verdict: string }>).some((v) => v.verdict === 'fail') && faults.length === 0)
        for (const name of ['blog', 'blog-canary'])
          faults.push(c.sim.faults.add({ verb: 'patch', resource: 'deployments', name, status: 503 }));
    });
    const run = await c.run({
      deployments: 'blog',
      images: 'app=ghcr.io/acme/blog:v2-bad',
      steps: `[{ weight: 25, pause: 1m, analysis: [] }, { weight: 50, pause: 5m, analysis: ${RESTARTS} }, { weight: 100 }]`,
      'router-config': '{ service: blog }',
    });
    stop();
    for (const off of faults) off();
    expect(run.errors.join('\n')).toMatch(
      /^Step failed \(step 2 \(50%\): (restarts was \d+|the new version's pods cannot become ready).*\), then returning traffic to stable failed: .*\. The record says phase aborting at (25|50)%; traffic may still go to the canary: run action: abort \(or rollback with mode: in-flight\)$/,
    );
    const abort = await c.run({ app: 'blog', action: 'abort' }, { env: { GITHUB_RUN_ID: '4311' } });
    expect(abort.outputs['result']).toBe('aborted');
    expect(c.replicas('blog-canary')).toBe(0);
  });
});

describe('post-promotion analysis', () => {
  it('rolls the stable back to the previous version when the promoted pods fail', async () => {
    await c.app('pay', 'ghcr.io/acme/pay:v1');
    // Crashes only 3 minutes after each start: the canary steps (1 minute each) pass, the promoted pods fail.
    c.sim.behaviour.set('ghcr.io/acme/pay:v2', { readyAfter: '2s', crashLoop: { after: '3m' } });
    const { code, outputs, summary, errors } = await c.run({
      deployments: 'pay',
      images: 'app=ghcr.io/acme/pay:v2',
      steps: '50,100',
      pause: '1m',
      analysis: RESTARTS,
      'post-promotion-analysis': '10m',
      'router-config': '{ service: pay }',
    });
    expect(errors.join('\n')).toMatch(/^Rolled back to v1 because post-promotion analysis: restarts was \d+/);
    expect(code).toBe(1);
    expect(outputs['result']).toBe('rolled-back');
    expect(c.images('pay')).toEqual(['ghcr.io/acme/pay:v1']);
    expect(c.deployment('pay')?.status).toMatchObject({ updatedReplicas: 4, availableReplicas: 4 });
    expect(c.record('pay')).toMatchObject({ phase: 'rolled-back', weight: 0 });
    expect(summary).toContain('↩️ rolled back');
  });
});

describe('baseline: true', () => {
  it('starts a baseline of the stable version with the canary, always the canary’s size, removed at promotion', async () => {
    await c.app('feed', 'ghcr.io/acme/feed:v1', { replicas: 8 });
    const seen: unknown[][] = [];
    const ready = (name: string) => c.deployment(name)?.status?.readyReplicas;
    let created: Array<string | undefined> = [];
    const stop = c.onRecord('feed', (record) => {
      if (record.phase === 'progressing' && record.weight > 0 && record.weight !== seen.at(-1)?.[0])
        seen.push([
          record.weight,
          [c.replicas('feed-canary'), ready('feed-canary')],
          [c.replicas('feed-baseline'), ready('feed-baseline')],
          c.images('feed-baseline'),
        ]);
      if (created.length === 0)
        created = ['feed-canary', 'feed-baseline'].map((name) => c.deployment(name)?.metadata?.creationTimestamp);
    });
    const { code, outputs } = await c.run({
      deployments: 'feed',
      images: 'app=ghcr.io/acme/feed:v2',
      steps: '25,50,100',
      pause: '2m',
      baseline: 'true',
      analysis: RESTARTS,
      'router-config': '{ service: feed }',
    });
    stop();
    expect(code).toBe(0);
    expect(outputs['result']).toBe('promoted');
    // Created together, and at each step the same size as the canary and Ready before the analysis starts.
    expect(created[0]).toBeDefined();
    expect(created[1]).toBe(created[0]);
    expect(seen).toEqual([
      [25, [2, 2], [2, 2], ['ghcr.io/acme/feed:v1']],
      [50, [4, 4], [4, 4], ['ghcr.io/acme/feed:v1']],
    ]);
    expect(c.record('feed').workloads[0]).toMatchObject({ baseline: 'feed-baseline' });
    expect(c.deployment('feed-baseline')).toBeUndefined();
    expect(c.deployment('feed-canary')).toBeUndefined();
  });
});

describe('config copies', () => {
  it('the canary runs on a versioned copy; abort leaves the stable on the original, finalize removes the copy', async () => {
    await c.app('mail', 'ghcr.io/acme/mail:v1', { config: true });
    const paused = await c.run({
      deployments: 'mail',
      images: 'app=ghcr.io/acme/mail:v2',
      steps: '25,100',
      pause: '1m',
      'pause-at': '25',
      'router-config': '{ service: mail }',
    });
    expect(paused.outputs['result']).toBe('paused');
    const envFrom = (name: string) => c.deployment(name)?.spec?.template?.spec?.containers?.[0]?.['envFrom'];
    expect(envFrom('mail-canary')).toEqual([{ configMapRef: { name: 'mail-config-dav-v2' } }]);
    expect(envFrom('mail')).toEqual([{ configMapRef: { name: 'mail-config' } }]);
    expect(c.find('v1/configmaps', 'mail-config-dav-v2')).toMatchObject({
      data: { MODE: 'v1' },
      metadata: { labels: { 'deploy-actions.dev/version': 'v2' } },
    });
    // A change to the config for v2 goes to the copy: the stable pods keep reading the original.
    await c.client.patch('ConfigMap', { namespace: NS, name: 'mail-config-dav-v2' }, { data: { MODE: 'v2' } }, 'merge');

    const abort = await c.run({ app: 'mail', action: 'abort' }, { env: { GITHUB_RUN_ID: '4301' } });
    expect(abort.outputs['result']).toBe('aborted');
    expect(envFrom('mail')).toEqual([{ configMapRef: { name: 'mail-config' } }]);
    expect(c.find('v1/configmaps', 'mail-config')).toMatchObject({ data: { MODE: 'v1' } });

    const finalize = await c.run({ app: 'mail', action: 'finalize' }, { env: { GITHUB_RUN_ID: '4302' } });
    expect(finalize.code).toBe(0); // finalizing was done (the aborted release failed in its own run)
    expect(finalize.outputs['result']).toBe('finalized');
    expect(c.find('v1/configmaps', 'mail-config-dav-v2')).toBeUndefined();
    expect(c.deployment('mail-canary')).toBeUndefined();
    expect(c.find('v1/configmaps', 'mail-config')).toMatchObject({ data: { MODE: 'v1' } });
  });
});

describe('the lease', () => {
  it('a second run started while the first is at 25% fails naming the first, which goes on to promote', async () => {
    await c.app('news', 'ghcr.io/acme/news:v1');
    const inputs = {
      deployments: 'news',
      images: 'app=ghcr.io/acme/news:v2',
      steps: '25,100',
      pause: '5m',
      'router-config': '{ service: news }',
    };
    let second: Promise<Awaited<ReturnType<Cluster['run']>>> | undefined;
    const stop = c.onRecord('news', (record) => {
      if (record.weight === 25 && second === undefined)
        second = c.run({ ...inputs, images: 'app=ghcr.io/acme/news:v3' }, { env: { GITHUB_RUN_ID: '5000' } });
    });
    const first = await c.run(inputs);
    stop();
    const refused = await second!;
    expect(refused.code).toBe(1);
    expect(refused.errors.join('\n')).toContain(
      'lease deploy-actions-news is held by 4242-1 (https://github.com/acme/shop/actions/runs/4242)',
    );
    expect(first.outputs['result']).toBe('promoted');
    expect(c.images('news')).toEqual(['ghcr.io/acme/news:v2']);
    expect(c.find('coordination.k8s.io/v1/leases', 'deploy-actions-news')).toBeUndefined();
  });
});

describe('an HPA on the stable', () => {
  it('sizes the split from the HPA, keeps the stable at minReplicas, and leaves the stable at its size after promotion', async () => {
    await c.app('chat', 'ghcr.io/acme/chat:v1', { replicas: 6 });
    await c.client.create('HorizontalPodAutoscaler', {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'chat', namespace: NS },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'chat' },
        minReplicas: 3,
        maxReplicas: 10,
        metrics: [
          { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
        ],
      },
    });
    await c.client.patch(
      'HorizontalPodAutoscaler',
      { namespace: NS, name: 'chat', subresource: 'status' },
      { status: { currentReplicas: 6, desiredReplicas: 6 } },
      'merge',
    );
    const seen: Array<[number, number | undefined, number | undefined]> = [];
    const stop = c.onRecord('chat', (record) => {
      if (record.phase === 'progressing' && record.weight > 0 && record.weight !== seen.at(-1)?.[0])
        seen.push([record.weight, c.replicas('chat-canary'), c.replicas('chat')]);
    });
    const { code, summary } = await c.run({
      deployments: 'chat',
      images: 'app=ghcr.io/acme/chat:v2',
      steps: '25,75,100',
      pause: '1m',
      'router-config': '{ service: chat }',
    });
    stop();
    expect(code).toBe(0);
    expect(seen).toEqual([
      // 2 of 6 would be 33 %: with an HPA the total may grow (up to half of 6, under its maximum 10), 2 of 8.
      [25, 2, 6],
      [75, 5, 3], // 6 × 75% = 5 canary, but the HPA's minReplicas keeps the stable at 3 (no growth then)
    ]);
    expect(summary).toContain("stable kept at the HPA's minReplicas 3");
    expect(c.replicas('chat')).toBe(6);
    expect(c.images('chat')).toEqual(['ghcr.io/acme/chat:v2']);
    expect(c.find('autoscaling/v2/horizontalpodautoscalers', 'chat')).toMatchObject({
      spec: { minReplicas: 3, maxReplicas: 10, scaleTargetRef: { name: 'chat' } },
    });
  });
});

describe('bad input fails before anything changes', () => {
  beforeAll(async () => {
    await c.app('shop', 'ghcr.io/acme/shop:v1');
    await c.canaryService('shop');
    c.sim.store.create(HTTPROUTE_CRD);
  });
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['a missing Ingress', { router: 'nginx', 'router-config': '{ ingress: nope }' }, /Ingress 'nope' not found/],
    [
      'a missing HTTPRoute',
      { router: 'gateway-api', 'router-config': '{ http-route: nope }' },
      /HTTPRoute 'nope' \(gateway.networking.k8s.io\/v1\) not found/,
    ],
    ['a missing Service', { router: 'replicas', 'router-config': '{ service: nope }' }, /Service 'nope' not found/],
    ['weights not increasing', { steps: '5,50,25' }, /weights must increase/],
    ['a duration like 5 minutes', { pause: '5 minutes' }, /Input 'pause'/],
  ];
  it.each(cases)('%s', async (_name, inputs, message) => {
    const before = c.snapshot();
    const { code, errors } = await c.run({ deployments: 'shop', images: 'app=ghcr.io/acme/shop:v2', ...inputs });
    expect(code).toBe(1);
    expect(errors.join('\n')).toMatch(message);
    expect(c.snapshot()).toEqual(before);
    expect(c.deployment('shop-canary')).toBeUndefined();
    expect(c.record('shop')).toBeUndefined();
  });
});
