/**
 * Issue #18's table, row by row, through the action against kube-sim: a dead runner never locks anyone out,
 * and a release never serves below capacity. Every test watches the app's pods (every change, so also every
 * 250 ms) and asserts the Ready pods never drop below the Deployment's 10 replicas, that a dead run's Lease
 * lapses within 60 s, and the end state (aborted or promoted, never both). "Killed" is a kill -9: the run's
 * signal aborts, no post step runs, nothing is handed back.
 */
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { KubeObject } from '@deploy-actions/core/kube';
import type { MemoryRuntime } from '@deploy-actions/core/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import rollback from '../../rollback/src/main';
import { type Cluster, HTTPROUTE_CRD, NS, startCluster } from './cluster';

const REPLICAS = 10;
let c: Cluster;

beforeAll(async () => {
  c = await startCluster(18);
  // kube-sim's first Lease create lets the virtual clock jump (about an hour here, past a run's 30m timeout
  // when nothing else is pending): paid once before any run.
  await c.client.create('Lease', {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'warm-up', namespace: NS },
    spec: {},
  });
  await c.client.delete('Lease', { namespace: NS, name: 'warm-up' });
});

afterAll(async () => {
  await c?.stop();
});

interface Pod extends KubeObject {
  spec?: { containers?: Array<{ image?: string }> };
  status?: { conditions?: Array<{ type: string; status: string }> };
}

/** Ready pods of the app by image, as the endpoints would serve them (terminating pods do not count). */
function readyByImage(app: string): Record<string, number> {
  const pods = c.sim.store.list('v1/pods', NS, { labelSelector: `app=${app}` }) as Pod[];
  const counts: Record<string, number> = {};
  for (const pod of pods) {
    if (pod.metadata?.deletionTimestamp) continue;
    if (!pod.status?.conditions?.some((k) => k.type === 'Ready' && k.status === 'True')) continue;
    const image = pod.spec?.containers?.[0]?.image ?? '?';
    counts[image] = (counts[image] ?? 0) + 1;
  }
  return counts;
}

const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

/** Serving capacity sampled on every pod change: the lowest seen, and when. */
function capacity(app: string) {
  let min = total(readyByImage(app));
  let at = '';
  const stop = c.sim.store.watch('v1/pods', NS, undefined, () => {
    const counts = readyByImage(app);
    if (total(counts) < min) {
      min = total(counts);
      at = JSON.stringify(counts);
    }
  });
  return {
    stop,
    get min() {
      return min;
    },
    get at() {
      return at;
    },
  };
}

async function app(name: string) {
  await c.app(name, `ghcr.io/acme/${name}:v1`, { replicas: REPLICAS });
}

const release = (name: string, extra: Record<string, string> = {}) => ({
  deployments: name,
  images: `app=ghcr.io/acme/${name}:v2`,
  steps: '25,50,100',
  pause: '1m',
  'router-config': `{ service: ${name} }`,
  ...extra,
});

const lease = (name: string) =>
  c.find<{ spec?: { holderIdentity?: string; renewTime?: string; leaseDurationSeconds?: number } }>(
    'coordination.k8s.io/v1/leases',
    `deploy-actions-${name}`,
  );

/** When the Lease lapses (last renewal + duration), or now when there is none. */
function lapsesAt(name: string): number {
  const spec = lease(name)?.spec;
  if (!spec?.holderIdentity) return c.clock.now();
  return Date.parse(spec.renewTime ?? '') + (spec.leaseDurationSeconds ?? 0) * 1000;
}

/**
 * Run the release and kill it (kill -9: signal aborted, no post step) when `when` says so, on a record write.
 * Returns the kill time.
 */
async function runAndKill(
  name: string,
  when: (record: { phase: string; weight: number }) => boolean,
  inputs: Record<string, string> = release(name),
  env: Record<string, string> = {},
): Promise<number> {
  let rt: MemoryRuntime | undefined;
  let killedAt = 0;
  const stop = c.onRecord(name, (record) => {
    if (killedAt === 0 && rt && when(record)) {
      killedAt = c.clock.now();
      rt.abort(new Error('runner lost (kill -9)'));
    }
  });
  const run = await c.run(inputs, { env, onRuntime: (r) => (rt = r) });
  stop();
  expect(killedAt, `never killed: ${run.errors.join('; ')}`).toBeGreaterThan(0);
  expect(run.code).toBe(1);
  return killedAt;
}

/** Run `fn` until it is not refused for a held Lease; returns its result and the virtual ms it took. */
async function whenLeaseFree(fn: () => ReturnType<typeof c.run>) {
  const started = c.clock.now();
  for (;;) {
    const result = await fn();
    const held = result.errors.some((line) => line.includes('is held by'));
    if (!held) return { result, waited: c.clock.now() - started };
    expect(result.errors.join('\n')).toContain('force: true');
    await c.clock.sleep(5_000);
  }
}

function expectOneVersion(name: string, image: string) {
  expect(readyByImage(name)).toEqual({ [image]: REPLICAS });
}

describe('a dead runner never locks anyone out', () => {
  it('killed during the promotion: its Lease lapses within 60 s and abort then rolls back, never below capacity', async () => {
    await app('alpha');
    const cap = capacity('alpha');
    const killed = await runAndKill('alpha', (record) => record.phase === 'promoting');
    expect(lapsesAt('alpha') - killed).toBeLessThanOrEqual(60_000);
    const { result, waited } = await whenLeaseFree(() =>
      c.run({ app: 'alpha', action: 'abort' }, { env: { GITHUB_RUN_ID: '5001' } }),
    );
    expect(waited).toBeLessThanOrEqual(60_000);
    expect(result.outputs['result']).toBe('aborted');
    await c.clock.sleep(10_000);
    cap.stop();
    expect(c.record('alpha')).toMatchObject({ phase: 'aborted' });
    expectOneVersion('alpha', 'ghcr.io/acme/alpha:v1');
    expect(cap.min, cap.at).toBeGreaterThanOrEqual(REPLICAS);
    expect(lease('alpha')).toBeUndefined();
  });

  it('killed mid-step: abort is refused naming the holder and suggesting force; force: true takes the Lease at once', async () => {
    await app('bravo');
    const cap = capacity('bravo');
    await runAndKill('bravo', (record) => record.weight === 50);
    const refused = await c.run({ app: 'bravo', action: 'abort' }, { env: { GITHUB_RUN_ID: '5002' } });
    expect(refused.code).toBe(1);
    expect(refused.errors.join('\n')).toMatch(/lease deploy-actions-bravo is held by 4242-1 .*force: true/);
    const forced = await c.run({ app: 'bravo', action: 'abort', force: 'true' }, { env: { GITHUB_RUN_ID: '5002' } });
    expect(forced.outputs['result']).toBe('aborted');
    expect(forced.warnings.join('\n')).toContain('Took over the rollout lease of "bravo" from 4242-1');
    await c.clock.sleep(10_000);
    cap.stop();
    expectOneVersion('bravo', 'ghcr.io/acme/bravo:v1');
    expect(cap.min, cap.at).toBeGreaterThanOrEqual(REPLICAS);
  });

  it('killed during an abort, then start run again (a GitHub re-run): it finishes the abort, never promotes', async () => {
    await app('charlie');
    const cap = capacity('charlie');
    // A crash-looping v2 fails the first step; the run is killed once the abort has begun.
    c.sim.behaviour.set('ghcr.io/acme/charlie:v2', { crashLoop: { after: '2s' } });
    await runAndKill('charlie', (record) => record.phase === 'aborting');
    const again = await c.run(release('charlie'), { env: { GITHUB_RUN_ATTEMPT: '2' } });
    expect(again.outputs['result']).toBe('aborted');
    expect(again.warnings.join('\n')).toContain('finishing the abort (it is never promoted)');
    await c.clock.sleep(10_000);
    cap.stop();
    expect(c.record('charlie')).toMatchObject({ phase: 'aborted' });
    expect(c.images('charlie')).toEqual(['ghcr.io/acme/charlie:v1']);
    expectOneVersion('charlie', 'ghcr.io/acme/charlie:v1');
    expect(cap.min, cap.at).toBeGreaterThanOrEqual(REPLICAS);
  });

  it('killed mid-step, then re-run: the canary pods that serve are kept (not re-created at 0) and it promotes', async () => {
    await app('delta');
    const cap = capacity('delta');
    await runAndKill('delta', (record) => record.weight === 50 && record.phase === 'progressing');
    await c.clock.sleep(5_000);
    const canaryPods = c.podUids('app=delta,deploy-actions.dev/role=canary');
    expect(canaryPods.length).toBeGreaterThan(0);
    let keptAtResume: string[] = [];
    const stop = c.onRecord('delta', (record) => {
      if (record.phase === 'progressing' && keptAtResume.length === 0)
        keptAtResume = c.podUids('app=delta,deploy-actions.dev/role=canary');
    });
    const again = await c.run(release('delta'), { env: { GITHUB_RUN_ATTEMPT: '2' } });
    stop();
    expect(again.outputs['result']).toBe('promoted');
    expect(keptAtResume).toEqual(canaryPods);
    await c.clock.sleep(10_000);
    cap.stop();
    expectOneVersion('delta', 'ghcr.io/acme/delta:v2');
    expect(cap.min, cap.at).toBeGreaterThanOrEqual(REPLICAS);
  });

  it('a GitHub re-run during the promotion finishes the promotion', async () => {
    await app('echo');
    const cap = capacity('echo');
    await runAndKill('echo', (record) => record.phase === 'promoting');
    const again = await c.run(release('echo'), { env: { GITHUB_RUN_ATTEMPT: '2' } });
    expect(again.errors).toEqual([]);
    expect(again.outputs['result']).toBe('promoted');
    await c.clock.sleep(10_000);
    cap.stop();
    expect(c.record('echo')).toMatchObject({ phase: 'promoted' });
    expectOneVersion('echo', 'ghcr.io/acme/echo:v2');
    expect(cap.min, cap.at).toBeGreaterThanOrEqual(REPLICAS);
  });
});

describe('a holder proven dead is taken over at once', () => {
  it('same host, its PID gone: the next abort takes the Lease without waiting, saying why', async () => {
    await app('papa');
    const paused = await c.run(release('papa', { 'pause-at': '25' }));
    expect(paused.errors).toEqual([]);
    expect(paused.outputs['result']).toBe('paused');
    // A CLI run on this host that died holding the Lease a moment ago.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    const now = new Date(c.clock.now()).toISOString();
    await c.client.create('Lease', {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: 'deploy-actions-papa',
        namespace: NS,
        labels: { 'app.kubernetes.io/managed-by': 'deploy-actions', 'deploy-actions.dev/app': 'papa' },
        annotations: { 'deploy-actions.dev/host': hostname(), 'deploy-actions.dev/pid': String(dead) },
      },
      spec: { holderIdentity: `local-${dead}-x1`, leaseDurationSeconds: 30, acquireTime: now, renewTime: now },
    });
    const started = c.clock.now();
    const abort = await c.run({ app: 'papa', action: 'abort' }, { env: { GITHUB_RUN_ID: '5016' } });
    expect(abort.outputs['result']).toBe('aborted');
    expect(c.clock.now() - started).toBeLessThan(30_000);
    expect(abort.warnings.join('\n')).toContain(
      `Took over the rollout lease of "papa" from local-${dead}-x1: its process ${dead} on ${hostname()} is gone`,
    );
  });

  it('a GitHub run the API reports cancelled: the next abort takes the Lease without waiting', async () => {
    await app('quebec');
    const asked: string[] = [];
    const api = createServer((req, res) => {
      asked.push(req.url ?? '');
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify(
          req.url === '/repos/acme/shop/actions/runs/4242/attempts/1'
            ? { status: 'completed', conclusion: 'cancelled' }
            : { status: 'in_progress' },
        ),
      );
    });
    await new Promise<void>((done) => api.listen(0, '127.0.0.1', done));
    try {
      await runAndKill('quebec', (record) => record.weight === 50);
      const started = c.clock.now();
      const abort = await c.run(
        { app: 'quebec', action: 'abort', token: 'ghs_test' },
        { env: { GITHUB_RUN_ID: '5017', GITHUB_API_URL: `http://127.0.0.1:${(api.address() as AddressInfo).port}` } },
      );
      expect(abort.errors.filter((line) => line !== 'Aborted by hand.')).toEqual([]);
      expect(abort.outputs['result']).toBe('aborted');
      expect(c.clock.now() - started).toBeLessThan(30_000);
      expect(abort.warnings.join('\n')).toContain(
        'from 4242-1 (https://github.com/acme/shop/actions/runs/4242): GitHub reports its run 4242 (attempt 1) cancelled',
      );
      expect(asked).toContain('/repos/acme/shop/actions/runs/4242/attempts/1');
    } finally {
      api.close();
    }
  });
});

describe('rollback in-flight after a death', () => {
  it('force: true takes the Lease of a killed run at once and returns traffic to the stable', async () => {
    await app('romeo');
    const cap = capacity('romeo');
    await runAndKill('romeo', (record) => record.weight === 50);
    const started = c.clock.now();
    const rolled = await c.runAction(
      rollback,
      { mode: 'in-flight', deployments: 'romeo', reason: 'runner lost', force: 'true' },
      { env: { GITHUB_RUN_ID: '5018' } },
    );
    expect(rolled.code).toBe(0);
    expect(c.clock.now() - started).toBeLessThan(30_000);
    expect(rolled.warnings.join('\n')).toContain('Took over the rollout lease of "romeo" from 4242-1');
    await c.clock.sleep(10_000);
    cap.stop();
    expect(c.record('romeo')).toMatchObject({ phase: 'aborted' });
    expectOneVersion('romeo', 'ghcr.io/acme/romeo:v1');
    expect(cap.min, cap.at).toBeGreaterThanOrEqual(REPLICAS);
  });
});

describe('the Lease is a real lock', () => {
  it('a run whose Lease was taken over changes nothing more and stops, saying so', async () => {
    await app('foxtrot');
    const cap = capacity('foxtrot');
    let forced: Awaited<ReturnType<typeof c.run>> | undefined;
    let taking: Promise<void> | undefined;
    const stop = c.onRecord('foxtrot', (record) => {
      if (record.weight === 50 && !taking)
        taking = c
          .run({ app: 'foxtrot', action: 'abort', force: 'true' }, { env: { GITHUB_RUN_ID: '5006' } })
          .then((r) => {
            forced = r;
          });
    });
    const first = await c.run(release('foxtrot', { pause: '5m' }));
    stop();
    await taking;
    expect(forced?.outputs['result']).toBe('aborted');
    expect(first.code).toBe(1);
    // Taken over by 5006-1 (which, done, handed it back: the Lease may be gone by the next write).
    expect(first.errors.join('\n')).toMatch(
      /This run lost the rollout lease of "foxtrot" (to 5006-1|\(it was deleted\)).*changed nothing more and stopped/,
    );
    await c.clock.sleep(10_000);
    cap.stop();
    expect(c.record('foxtrot')).toMatchObject({ phase: 'aborted' });
    expectOneVersion('foxtrot', 'ghcr.io/acme/foxtrot:v1');
    expect(cap.min, cap.at).toBeGreaterThanOrEqual(REPLICAS);
  });

  it('a second release of the same Deployment under another app is refused', async () => {
    await app('golf');
    const first = await c.run(release('golf', { 'pause-at': '25' }));
    expect(first.outputs['result']).toBe('paused');
    // The first release keeps its Lease while a later job of it is at work: a second app tries meanwhile.
    let other: Promise<Awaited<ReturnType<typeof c.run>>> | undefined;
    const holder = await c.run(
      { app: 'golf', action: 'continue', 'pause-at': '50' },
      {
        env: { GITHUB_RUN_ID: '5007' },
        onRuntime: () => {
          other = c.clock
            .sleep(2_000)
            .then(() =>
              c.run(
                { ...release('golf'), app: 'golf-two', images: 'app=ghcr.io/acme/golf:v3' },
                { env: { GITHUB_RUN_ID: '5008' } },
              ),
            );
        },
      },
    );
    const refused = await other!;
    expect(refused.code).toBe(1);
    expect(refused.errors.join('\n')).toMatch(
      /Deployment golf is being rolled out by another release \(app "golf".*force: true/,
    );
    expect(holder.outputs['result']).toBe('paused');
    expect(c.record('golf-two')).toBeUndefined();
  });

  it('one 409 on the Lease and one on the record are read again and retried', async () => {
    await app('hotel');
    const offLease = c.sim.faults.add({ verb: 'update', resource: 'leases', status: 409, times: 1 });
    const offRecord = c.sim.faults.add({
      verb: 'update',
      resource: 'configmaps',
      name: 'deploy-actions-hotel',
      status: 409,
      times: 1,
    });
    const run = await c.run(release('hotel'));
    offLease();
    offRecord();
    expect(run.errors).toEqual([]);
    expect(run.outputs['result']).toBe('promoted');
  });
});

describe('outages are ridden out', () => {
  it('500s from the API for 30 s during the promotion: it waits them out and promotes', async () => {
    await app('india');
    const cap = capacity('india');
    let off: (() => void) | undefined;
    const stop = c.onRecord('india', (record) => {
      if (record.phase === 'promoting' && !off) {
        off = c.sim.faults.add({ resource: 'deployments', status: 500 });
        void c.clock.sleep(30_000).then(() => off?.());
      }
    });
    const run = await c.run(release('india'));
    stop();
    off?.();
    expect(run.errors).toEqual([]);
    expect(run.outputs['result']).toBe('promoted');
    expect(run.warnings.join('\n')).toContain('500');
    // Each request says its outage once and sums it up at the end, not a warning per attempt.
    const failures = run.warnings.filter((line) => line.includes(' failed (attempt'));
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.length).toBe(new Set(failures.map((line) => line.split(' failed (')[0])).size);
    expect(run.warnings.filter((line) => /\(attempt [2-9]/.test(line))).toEqual([]);
    expect(run.warnings.join('\n')).toMatch(/answered after \d+ attempts over [2-4]\d s/);
    await c.clock.sleep(10_000);
    cap.stop();
    expectOneVersion('india', 'ghcr.io/acme/india:v2');
    expect(cap.min, cap.at).toBeGreaterThanOrEqual(REPLICAS);
  });

  it('500s for 25 s at a step boundary: the step goes on', async () => {
    await app('juliet');
    let off: (() => void) | undefined;
    const stop = c.onRecord('juliet', (record) => {
      if (record.weight === 25 && !off) {
        off = c.sim.faults.add({ status: 500, resource: 'deployments' });
        void c.clock.sleep(25_000).then(() => off?.());
      }
    });
    const run = await c.run(release('juliet', { pause: '5s' }));
    stop();
    off?.();
    expect(run.errors).toEqual([]);
    expect(run.outputs['result']).toBe('promoted');
  });
});

describe('capacity never dips', () => {
  it('every step of the replicas router, then promotion: Ready pods never below the replicas', async () => {
    await app('kilo');
    const cap = capacity('kilo');
    const run = await c.run(release('kilo', { steps: '10,30,50,80,100', pause: '20s' }));
    expect(run.outputs['result']).toBe('promoted');
    await c.clock.sleep(10_000);
    cap.stop();
    expectOneVersion('kilo', 'ghcr.io/acme/kilo:v2');
    expect(cap.min, cap.at).toBeGreaterThanOrEqual(REPLICAS);
  });

  it('abort at 50% by hand: the stable back to size and Ready before the canary goes', async () => {
    await app('lima');
    const cap = capacity('lima');
    const paused = await c.run(release('lima', { 'pause-at': '50' }));
    expect(paused.outputs['result']).toBe('paused');
    const abort = await c.run({ app: 'lima', action: 'abort' }, { env: { GITHUB_RUN_ID: '5012' } });
    expect(abort.outputs['result']).toBe('aborted');
    await c.clock.sleep(10_000);
    cap.stop();
    expectOneVersion('lima', 'ghcr.io/acme/lima:v1');
    expect(cap.min, cap.at).toBeGreaterThanOrEqual(REPLICAS);
  });

  it('a canary image that cannot be pulled aborts within seconds, the stable untouched', async () => {
    await app('mike');
    c.sim.behaviour.set('ghcr.io/acme/mike:v2', { pullError: 'not found' });
    const cap = capacity('mike');
    const started = c.clock.now();
    const run = await c.run(release('mike', { steps: '50,100' }));
    expect(run.outputs['result']).toBe('aborted');
    expect(c.clock.now() - started).toBeLessThan(30_000);
    expect(run.errors.join('\n')).toMatch(/ImagePullBackOff|ErrImagePull/);
    cap.stop();
    expect(c.replicas('mike')).toBe(REPLICAS);
    expectOneVersion('mike', 'ghcr.io/acme/mike:v1');
    expect(cap.min, cap.at).toBeGreaterThanOrEqual(REPLICAS);
  });

  it('a crash-looping canary aborts at once with the reason, the stable untouched', async () => {
    await app('november');
    c.sim.behaviour.set('ghcr.io/acme/november:v2', { crashLoop: { after: '1s' } });
    const cap = capacity('november');
    const run = await c.run(release('november', { steps: '50,100' }));
    expect(run.outputs['result']).toBe('aborted');
    expect(run.errors.join('\n')).toMatch(/CrashLoopBackOff|restarted/);
    cap.stop();
    expectOneVersion('november', 'ghcr.io/acme/november:v1');
    expect(cap.min, cap.at).toBeGreaterThanOrEqual(REPLICAS);
  });
});

describe('endpoints Ready before weight moves (gateway-api)', () => {
  it('a canary Service that selects no Ready pod gets no weight: the step aborts, the route stays on stable', async () => {
    await app('sierra');
    // The canary Service selects a label no pod carries.
    await c.client.create('Service', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'sierra-canary', namespace: NS },
      spec: { selector: { app: 'sierra', track: 'nothing' }, ports: [{ port: 80, targetPort: 8080 }] },
    });
    if (!c.sim.store.find('apiextensions.k8s.io/v1/customresourcedefinitions', undefined, HTTPROUTE_CRD.metadata.name))
      c.sim.store.create(HTTPROUTE_CRD);
    const httpRoutes = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes', namespaced: true };
    await c.client.create(httpRoutes, {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'sierra', namespace: NS },
      spec: { parentRefs: [{ name: 'public' }], rules: [{ backendRefs: [{ name: 'sierra', port: 80 }] }] },
    });
    const run = await c.run({
      ...release('sierra', { steps: '50,100' }),
      router: 'gateway-api',
      'router-config': '{ http-route: sierra }',
    });
    expect(run.code).toBe(1);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toContain("Service 'sierra-canary' (the canary Service) has no ready endpoints");
    // A step verdict like any other: the release ends aborted (not failed), the record names the step.
    expect(run.outputs['result']).toBe('aborted');
    expect(c.record('sierra')).toMatchObject({ phase: 'aborted', weight: 0 });
    expect(c.record('sierra').verdicts).toEqual([
      expect.objectContaining({
        step: 0,
        weight: 50,
        verdict: 'fail',
        reason: expect.stringContaining('no ready endpoints'),
      }),
    ]);
    const route = await c.client.get<KubeObject & { spec?: { rules?: Array<{ backendRefs?: unknown[] }> } }>(
      httpRoutes,
      { namespace: NS, name: 'sierra' },
    );
    // Only the stable backend (the canary's was never added, or removed again by the abort).
    expect(route.spec?.rules?.[0]?.backendRefs).toEqual([expect.objectContaining({ name: 'sierra', port: 80 })]);
    expectOneVersion('sierra', 'ghcr.io/acme/sierra:v1');
  });
});

describe('finalize', () => {
  it('exits 0 when it finalizes an aborted release', async () => {
    await app('oscar');
    const paused = await c.run(release('oscar', { 'pause-at': '25' }));
    expect(paused.outputs['result']).toBe('paused');
    await c.run({ app: 'oscar', action: 'abort' });
    const finalize = await c.run({ app: 'oscar', action: 'finalize' });
    expect(finalize.code).toBe(0);
    expect(finalize.errors).toEqual([]);
    expect(finalize.outputs['result']).toBe('finalized');
  });
});

/** A seeded generator (mulberry32): the chaos test is the same run after run. */
function seeded(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('chaos: the run killed at 20 random moments', () => {
  it('the next run, abort or rollback in-flight always ends with one version at full capacity within 60 s', async () => {
    const random = seeded(1818);
    // One release takes about 70 virtual seconds (two 25 s pauses, pods Ready in 3 s, the promotion): every
    // moment of it can be hit, from the first write to the canary's removal.
    const followUps = ['re-run', 'abort', 'rollback'] as const;
    const outcomes: string[] = [];
    for (let i = 0; i < 20; i++) {
      const name = `chaos-${i}`;
      await app(name);
      const cap = capacity(name);
      const killAfter = Math.floor(random() * 70_000);
      const followUp = followUps[Math.floor(random() * followUps.length)]!;
      let rt: MemoryRuntime | undefined;
      let killedAt = 0;
      const inputs = release(name, { pause: '25s' });
      const run = c.run(inputs, { env: { GITHUB_RUN_ID: `${6000 + i}` }, onRuntime: (r) => (rt = r) });
      void c.clock.sleep(killAfter).then(() => {
        killedAt = c.clock.now();
        rt?.abort(new Error('runner lost (kill -9)'));
      });
      const first = await run;
      if (killedAt === 0) {
        // The release ended before the kill: nothing to recover.
        outcomes.push(`${i}: finished first (${first.outputs['result']})`);
        expect(first.outputs['result']).toBe('promoted');
      } else {
        expect(lapsesAt(name) - killedAt).toBeLessThanOrEqual(60_000);
        const started = c.clock.now();
        const next =
          followUp === 're-run'
            ? () => c.run(inputs, { env: { GITHUB_RUN_ID: `${6000 + i}`, GITHUB_RUN_ATTEMPT: '2' } })
            : followUp === 'abort'
              ? () => c.run({ app: name, action: 'abort' }, { env: { GITHUB_RUN_ID: `${7000 + i}` } })
              : () =>
                  c.runAction(
                    rollback,
                    { mode: 'in-flight', deployments: name, reason: 'chaos' },
                    { env: { GITHUB_RUN_ID: `${7000 + i}` } },
                  );
        const { result } = await whenLeaseFree(next);
        expect(result.errors.join('; ')).not.toContain('lost the rollout lease');
        // One version Ready at full capacity: within 60 s of the kill for abort and rollback (the Lease lapses
        // in 30 s), within 60 s of its end for a re-run (it goes on with the release's remaining steps).
        const from = followUp === 're-run' ? c.clock.now() : killedAt;
        let whole = 0;
        for (let waited = 0; waited <= 60_000 && whole === 0; waited += 1_000) {
          const counts = readyByImage(name);
          if (Object.keys(counts).length === 1 && total(counts) === REPLICAS) whole = c.clock.now();
          else await c.clock.sleep(1_000);
        }
        expect(whole, `${i} ${followUp}: ${JSON.stringify(readyByImage(name))}`).toBeGreaterThan(0);
        expect(whole - from, `${i} ${followUp}`).toBeLessThanOrEqual(60_000);
        void started;
        const phase = c.record(name)?.phase;
        outcomes.push(`${i}: killed at ${killAfter} ms, ${followUp} → ${phase}`);
        expect(['aborted', 'promoted'], `${i}: ${followUp}`).toContain(phase);
        const image = `ghcr.io/acme/${name}:${phase === 'promoted' ? 'v2' : 'v1'}`;
        expectOneVersion(name, image);
      }
      cap.stop();
      expect(cap.min, `${i}: ${cap.at}`).toBeGreaterThanOrEqual(REPLICAS);
    }
    expect(outcomes).toHaveLength(20);
    // The seed hits every kind of moment: steps, aborts, promotions (the follow-up promotes or aborts).
    expect(outcomes.filter((line) => line.includes('killed')).length, outcomes.join('\n')).toBeGreaterThanOrEqual(18);
  }, 180_000);
});
