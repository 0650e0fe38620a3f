// waitForPodsGone on kube-sim: deleted pods stay Terminating for their grace period, and the wait ends when
// the kubelet has removed the last one; one held by a finalizer runs out the time and is named.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, startCluster } from '../../testkit/src/cluster';
import { waitForPodsGone } from '../src/kube/pods-gone';

let c: Cluster;

beforeAll(async () => {
  c = await startCluster({ namespace: 'prod', controllers: 'bare', readyAfter: '1s' });
});

afterAll(async () => {
  await c?.stop();
});

describe('waitForPodsGone', () => {
  it('waits out the grace period of the Terminating pods, then resolves', async () => {
    await c.app('web', 'ghcr.io/acme/web:v1', { replicas: 2, service: false });
    await c.client.patch('Deployment', { namespace: 'prod', name: 'web' }, { spec: { replicas: 0 } }, 'merge');
    const from = c.clock.now();
    await c.clock.sleep(1000);
    expect(c.deployment('web')?.status?.replicas ?? 0).toBe(0);
    expect(c.podUids('app=web')).toHaveLength(2);
    await waitForPodsGone(c.client, 'prod', 'app=web', { clock: c.clock, timeoutMs: 120_000, owner: 'deployment/web' });
    expect(c.podUids('app=web')).toEqual([]);
    expect(c.clock.now() - from).toBeGreaterThanOrEqual(30_000);
  });

  it('names the pods still there when the time runs out', async () => {
    await c.client.create('Pod', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'held', namespace: 'prod', labels: { app: 'held' }, finalizers: ['example.com/hold'] },
      spec: { containers: [{ name: 'app', image: 'ghcr.io/acme/held:v1' }] },
    });
    await c.clock.sleep(2000);
    await c.client.delete('Pod', { namespace: 'prod', name: 'held' });
    const waited = waitForPodsGone(c.client, 'prod', 'app=held', {
      clock: c.clock,
      timeoutMs: 60_000,
      owner: 'deployment/held',
    });
    await expect(waited).rejects.toThrow('pods held of deployment/held still running (Terminating) after 60 s');
  });
});
