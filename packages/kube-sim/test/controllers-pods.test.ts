import { afterEach, describe, expect, it } from 'vitest';
import { BehaviourTable, resolveBehaviour } from '../src/behaviour';
import { containerTimeline, restartDelay } from '../src/controllers/timeline';
import type { KubeObject } from '../src/store';
import { deployment, harness } from './controllers-harness';

describe('behaviour table', () => {
  it('picks the most specific matching pattern, and defaults to Ready after 1 s', () => {
    const t = new BehaviourTable();
    t.set('ghcr.io/acme/*', { readyAfter: '3s' });
    t.set('ghcr.io/acme/web:v2*', { readyAfter: '5s' });
    expect(t.resolve('ghcr.io/acme/web:v2.1').readyAfterMs).toBe(5000);
    expect(t.resolve('ghcr.io/acme/api:v1').readyAfterMs).toBe(3000);
    expect(t.resolve('nginx:1.27').readyAfterMs).toBe(1000);
    expect(t.resolve('nginx:1.27', true)).toMatchObject({ exitAfterMs: 1000, exitCode: 0 });
  });

  it('refuses a malformed duration where it is set', () => {
    expect(() => new BehaviourTable().set('x', { readyAfter: 'soon' })).toThrow(/readyAfter must be a duration/);
  });
});

describe('container timeline', () => {
  it('backs off crash-looping restarts 10s, 20s, 40s ... capped at 5m, the first restart immediate', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9].map(restartDelay)).toEqual([
      0, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000,
    ]);
    const steps = containerTimeline({
      container: 'web',
      image: 'web:bad',
      podName: 'web-1',
      namespace: 'default',
      behaviour: resolveBehaviour({ crashLoop: { after: '2s' } }, false),
      restartPolicy: 'Always',
      start: 0,
    });
    const seen: string[] = [];
    for (const step of steps) {
      const s = step.snapshot;
      const state = Object.keys(s.state)[0];
      const reason = 'waiting' in s.state ? s.state.waiting.reason : '';
      seen.push(`${step.at / 1000}s ${state}${reason ? `:${reason}` : ''} restarts=${s.restartCount}`);
      if (seen.length >= 8) break;
    }
    expect(seen).toEqual([
      '0s running restarts=0',
      '2s running restarts=1', // exits at 2s, restarted at once
      '4s waiting:CrashLoopBackOff restarts=1', // exits again: back-off 10s
      '14s running restarts=2',
      '16s waiting:CrashLoopBackOff restarts=2', // back-off 20s
      '36s running restarts=3',
      '38s waiting:CrashLoopBackOff restarts=3', // back-off 40s
      '78s running restarts=4',
    ]);
  });
});

describe('kubelet (virtual clock)', () => {
  let h = harness();
  afterEach(() => h.stop());

  const pod = (name: string, image: string, restartPolicy = 'Always'): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: name } },
    spec: { restartPolicy, containers: [{ name: 'main', image }] },
  });
  const get = (name: string) => h.store.get('v1/pods', 'default', name);
  const cond = (p: KubeObject, type: string) => p.status.conditions.find((c: KubeObject) => c.type === type)?.status;
  const events = (name: string) =>
    h.store
      .list('v1/events', 'default')
      .filter((e) => e.involvedObject.name === name)
      .map((e) => ({ reason: e.reason, type: e.type, count: e.count, message: e.message }));

  it('schedules a pod, gives it an IP and makes it Ready when its behaviour says', async () => {
    h = harness();
    h.behaviour.set('web:v1', { readyAfter: '5s' });
    h.store.create(pod('web', 'web:v1'));
    await h.settle();
    let p = get('web');
    expect(p.spec.nodeName).toMatch(/^kube-sim-worker-/);
    expect(p.status.podIP).toMatch(/^10\.244\.\d+\.\d+$/);
    expect(p.status.hostIP).toMatch(/^172\.18\.0\.\d+$/);
    expect(p.status.phase).toBe('Running');
    expect(cond(p, 'PodScheduled')).toBe('True');
    expect(cond(p, 'Ready')).toBe('False');
    expect(p.status.containerStatuses[0]).toMatchObject({
      name: 'main',
      image: 'web:v1',
      ready: false,
      started: true,
      restartCount: 0,
    });
    expect(p.status.containerStatuses[0].state.running.startedAt).toBeDefined();
    await h.run(4000);
    expect(cond(get('web'), 'Ready')).toBe('False');
    await h.run(1000);
    p = get('web');
    expect(cond(p, 'Ready')).toBe('True');
    expect(cond(p, 'ContainersReady')).toBe('True');
    expect(events('web').map((e) => e.reason)).toEqual(['Scheduled', 'Pulling', 'Pulled', 'Created', 'Started']);
  });

  it('crash-loops with a growing restartCount, CrashLoopBackOff and a BackOff event counted up', async () => {
    h = harness();
    h.behaviour.set('web:bad', { crashLoop: { after: '1s', exitCode: 2 } });
    h.store.create(pod('web', 'web:bad'));
    await h.run(2500);
    let c = get('web').status.containerStatuses[0];
    expect(c.state.waiting).toMatchObject({ reason: 'CrashLoopBackOff' });
    expect(c.state.waiting.message).toContain('back-off 10s restarting failed container=main');
    expect(c.restartCount).toBe(1);
    expect(c.lastState.terminated).toMatchObject({ exitCode: 2, reason: 'Error' });
    expect(cond(get('web'), 'Ready')).toBe('False');
    await h.run(60_000);
    c = get('web').status.containerStatuses[0];
    // Starts at 0, 1, 12, 33 and 74 s (each run lasts 1 s): at 62.5 s the 40 s back-off after the third restart is on.
    expect(c.restartCount).toBe(3);
    expect(c.state.waiting.message).toContain('back-off 40s');
    const backoff = events('web').find((e) => e.reason === 'BackOff');
    expect(backoff).toMatchObject({ type: 'Warning', count: 3 });
    expect(backoff!.message).toBe('Back-off restarting failed container main in pod web_default');
  });

  it('reports ErrImagePull, then ImagePullBackOff, with Failed events', async () => {
    h = harness();
    h.behaviour.set('ghcr.io/acme/web:typo', { pullError: 'not found' });
    h.store.create(pod('web', 'ghcr.io/acme/web:typo'));
    await h.settle();
    expect(get('web').status.containerStatuses[0].state.waiting.reason).toBe('ErrImagePull');
    expect(get('web').status.phase).toBe('Pending');
    await h.run(1000);
    expect(get('web').status.containerStatuses[0].state.waiting.reason).toBe('ImagePullBackOff');
    const reasons = events('web').map((e) => `${e.type}/${e.reason}: ${e.message}`);
    expect(reasons).toContain('Warning/Failed: Error: ErrImagePull');
    expect(reasons).toContain('Normal/BackOff: Back-off pulling image "ghcr.io/acme/web:typo"');
    expect(reasons.some((r) => r.startsWith('Warning/Failed: Failed to pull image "ghcr.io/acme/web:typo"'))).toBe(
      true,
    );
  });

  it('flips readiness off later, with an Unhealthy event, and never-ready stays not Ready', async () => {
    h = harness();
    h.behaviour.set('web:flaky', { readyAfter: '1s', notReadyAfter: '30s' });
    h.behaviour.set('web:never', { readyAfter: 'never' });
    h.store.create(pod('flaky', 'web:flaky'));
    h.store.create(pod('never', 'web:never'));
    await h.run(2000);
    expect(cond(get('flaky'), 'Ready')).toBe('True');
    await h.run(29_000);
    expect(cond(get('flaky'), 'Ready')).toBe('False');
    expect(events('flaky').find((e) => e.reason === 'Unhealthy')?.message).toMatch(/^Readiness probe failed/);
    expect(cond(get('never'), 'Ready')).toBe('False');
    expect(get('never').status.phase).toBe('Running');
    expect(events('never').some((e) => e.reason === 'Unhealthy')).toBe(true);
  });

  it('lists Ready pod IPs of a Service in its Endpoints, and moves them as readiness changes', async () => {
    h = harness();
    h.behaviour.set('web:v1', { readyAfter: '2s' });
    h.store.create(
      deployment('web', 'web:v1', 2, {
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'web', image: 'web:v1', ports: [{ name: 'http', containerPort: 8080 }] }] },
        },
      }),
    );
    h.store.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default' },
      spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    });
    await h.run(1000);
    let ep = h.store.get('v1/endpoints', 'default', 'web');
    expect(ep.subsets[0].addresses).toBeUndefined();
    expect(ep.subsets[0].notReadyAddresses).toHaveLength(2);
    expect(ep.subsets[0].ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
    await h.run(1000);
    ep = h.store.get('v1/endpoints', 'default', 'web');
    const ips = h.store
      .list('v1/pods', 'default')
      .map((p) => p.status.podIP)
      .sort();
    expect(ep.subsets[0].addresses.map((a: KubeObject) => a.ip).sort()).toEqual(ips);
    expect(ep.subsets[0].notReadyAddresses).toBeUndefined();
  });
});
