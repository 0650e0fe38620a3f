import { afterEach, describe, expect, it } from 'vitest';
import { REVISION } from '../src/controllers/deployment';
import { podTemplateHash } from '../src/controllers/hash';
import { newReplicaSetReplicas, resolveFenceposts, scaleDownOld } from '../src/controllers/rollout-math';
import type { KubeObject } from '../src/store';
import { deployment, harness } from './controllers-harness';

const RS = 'apps/v1/replicasets';
const DEPLOY = 'apps/v1/deployments';

describe('rolling update arithmetic', () => {
  it('rounds surge up and unavailable down, and never leaves both at zero', () => {
    expect(resolveFenceposts(undefined, undefined, 10)).toEqual([3, 2]); // 25% of 10
    expect(resolveFenceposts('50%', '50%', 3)).toEqual([2, 1]);
    expect(resolveFenceposts(0, 0, 5)).toEqual([0, 1]);
    expect(resolveFenceposts('10%', '10%', 4)).toEqual([1, 0]); // 0.4 → surge 1, unavailable 0
    expect(resolveFenceposts(2, 1, 10)).toEqual([2, 1]);
  });

  it('grows the new ReplicaSet only within maxSurge', () => {
    // 10 old pods, surge 3: the new ReplicaSet starts with 3.
    expect(newReplicaSetReplicas(10, 3, { replicas: 0, available: 0 }, [{ replicas: 10, available: 10 }])).toBe(3);
    // Already at 13 pods: no growth.
    expect(
      newReplicaSetReplicas(10, 3, { replicas: 3, available: 0 }, [
        { replicas: 10, available: 10 },
        { replicas: 3, available: 0 },
      ]),
    ).toBe(3);
    // Never past the desired count.
    expect(
      newReplicaSetReplicas(10, 3, { replicas: 9, available: 9 }, [
        { replicas: 0, available: 0 },
        { replicas: 9, available: 9 },
      ]),
    ).toBe(10);
  });

  it('scales old pods down only as far as availability allows, unhealthy ones first', () => {
    // desired 10, maxUnavailable 2, new RS 3 not yet available: 2 old pods may go.
    expect(scaleDownOld(10, 2, { replicas: 3, available: 0 }, [{ replicas: 10, available: 10 }])).toEqual([8]);
    // Old RS with 4 unavailable pods: 2 may go (13 pods, 8 must stay available, 3 new ones unavailable); unhealthy first.
    expect(scaleDownOld(10, 2, { replicas: 3, available: 0 }, [{ replicas: 10, available: 6 }])).toEqual([8]);
    // Two old ReplicaSets: the unhealthy pods of the older go first, then available pods oldest-first.
    expect(
      scaleDownOld(4, 1, { replicas: 2, available: 2 }, [
        { replicas: 2, available: 1 },
        { replicas: 2, available: 2 },
      ]),
    ).toEqual([0, 1]);
    // New RS fully available: old pods go down to what keeps 8 available.
    expect(scaleDownOld(10, 2, { replicas: 10, available: 10 }, [{ replicas: 3, available: 3 }])).toEqual([0]);
  });
});

describe('Deployment controller (virtual clock)', () => {
  let h = harness();
  afterEach(() => h.stop());

  const replicaSets = () => h.store.list(RS, 'default');
  const byImage = (image: string) =>
    replicaSets().find((rs) => rs.spec.template.spec.containers[0].image === image) as KubeObject;

  it('creates a ReplicaSet named by the pod-template hash with revision 1, and becomes Available', async () => {
    h = harness();
    h.store.create(deployment('web', 'ghcr.io/acme/web:v1', 3));
    await h.settle();
    const rs = replicaSets()[0]!;
    const hash = podTemplateHash(h.store.get(DEPLOY, 'default', 'web').spec.template);
    expect(rs.metadata.name).toBe(`web-${hash}`);
    expect(hash).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{6,10}$/);
    expect(rs.metadata.labels['pod-template-hash']).toBe(hash);
    expect(rs.spec.selector.matchLabels).toEqual({ app: 'web', 'pod-template-hash': hash });
    expect(rs.metadata.annotations[REVISION]).toBe('1');
    expect(rs.metadata.ownerReferences[0]).toMatchObject({ kind: 'Deployment', name: 'web', controller: true });
    const pods = h.store.list('v1/pods', 'default');
    expect(pods).toHaveLength(3);
    for (const p of pods) expect(p.metadata.name).toMatch(new RegExp(`^web-${hash}-[bcdfghjklmnpqrstvwxz2456789]{5}$`));

    let d = h.store.get(DEPLOY, 'default', 'web');
    expect(d.metadata.annotations[REVISION]).toBe('1');
    expect(d.status.conditions.find((c: KubeObject) => c.type === 'Available').status).toBe('False');
    await h.run(1000);
    d = h.store.get(DEPLOY, 'default', 'web');
    expect(d.status).toMatchObject({
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      observedGeneration: 1,
    });
    expect(d.status.unavailableReplicas).toBe(0);
    expect(d.status.conditions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' }),
        expect.objectContaining({ type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' }),
      ]),
    );
    const events = h.store.list('v1/events', 'default').map((e) => `${e.reason}: ${e.message}`);
    expect(events).toContain(`ScalingReplicaSet: Scaled up replica set web-${hash} from 0 to 3`);
    expect(events.filter((e) => e.startsWith('Scheduled:'))).toHaveLength(3);
    expect(events.filter((e) => e.startsWith('Started:'))).toHaveLength(3);
  });

  it('rolls 10 pods with maxSurge 3 / maxUnavailable 2 (25%) without breaking either bound', async () => {
    h = harness();
    h.behaviour.set('web:v2', { readyAfter: '5s' });
    h.store.create(deployment('web', 'web:v1', 10));
    await h.run(2000);
    const v1 = byImage('web:v1');
    h.store.modify(DEPLOY, 'default', 'web', (d) => {
      d.spec.template.spec.containers[0].image = 'web:v2';
    });
    await h.settle();
    // First step: 3 surge pods of v2 and v1 down to 8 (2 unavailable allowed), which leaves room for 2 more v2.
    expect(byImage('web:v2').spec.replicas).toBe(5);
    expect(byImage('web:v1').spec.replicas).toBe(8);
    const scaling = h.store
      .list('v1/events', 'default')
      .filter((e) => e.reason === 'ScalingReplicaSet')
      .map((e) => e.message.replace(/web-\w+/, (n: string) => (n === v1.metadata.name ? 'v1' : 'v2')));
    expect(scaling).toEqual([
      'Scaled up replica set v1 from 0 to 10',
      'Scaled up replica set v2 from 0 to 3',
      'Scaled down replica set v1 from 10 to 8',
      'Scaled up replica set v2 from 3 to 5',
    ]);
    expect(
      h.store.get(DEPLOY, 'default', 'web').status.conditions.find((c: KubeObject) => c.type === 'Progressing'),
    ).toMatchObject({
      status: 'True',
      reason: 'ReplicaSetUpdated',
      message: `ReplicaSet "${byImage('web:v2').metadata.name}" is progressing.`,
    });

    const steps: string[] = [];
    let worstTotal = 0;
    let worstAvailable = 10;
    let mostTerminating = 0;
    await h.run(60_000, 500, () => {
      const rss = replicaSets();
      const total = rss.reduce((n, rs) => n + rs.spec.replicas, 0);
      // The bounds count pods that are not terminating, as on a cluster: old pods stay Terminating for 30 s.
      const all = h.store.list('v1/pods', 'default');
      const pods = all.filter((p) => !p.metadata.deletionTimestamp).length;
      mostTerminating = Math.max(mostTerminating, all.length - pods);
      const available = rss.reduce((n, rs) => n + (rs.status?.availableReplicas ?? 0), 0);
      worstTotal = Math.max(worstTotal, total, pods);
      worstAvailable = Math.min(worstAvailable, available);
      const step = `${byImage('web:v1').spec.replicas}/${byImage('web:v2').spec.replicas}`;
      if (steps.at(-1) !== step) steps.push(step);
    });
    expect(worstTotal).toBeLessThanOrEqual(13);
    expect(worstAvailable).toBeGreaterThanOrEqual(8);
    expect(mostTerminating).toBeGreaterThan(0);
    expect(h.store.list('v1/pods', 'default')).toHaveLength(10); // the last old pods went 30 s after their deletion
    // v2 pods are Ready after 5s: then 5 old pods may go, which makes room for 5 more new ones.
    expect(steps).toEqual(['8/5', '3/10', '0/10']);
    const d = h.store.get(DEPLOY, 'default', 'web');
    expect(d.metadata.annotations[REVISION]).toBe('2');
    expect(d.status).toMatchObject({ replicas: 10, updatedReplicas: 10, availableReplicas: 10 });
    expect(v1.metadata.annotations[REVISION]).toBe('1');
  });
});
