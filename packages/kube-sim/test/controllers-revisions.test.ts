import { afterEach, describe, expect, it } from 'vitest';
import { REVISION } from '../src/controllers/deployment';
import type { KubeObject } from '../src/store';
import { deployment, harness } from './controllers-harness';

const RS = 'apps/v1/replicasets';
const DEPLOY = 'apps/v1/deployments';

describe('Deployment revisions, deadlines and strategies (virtual clock)', () => {
  let h = harness();
  afterEach(() => h.stop());

  const d = () => h.store.get(DEPLOY, 'default', 'web');
  const rsOf = (image: string) =>
    h.store.list(RS, 'default').find((rs) => rs.spec.template.spec.containers[0].image === image) as KubeObject;
  const setImage = (image: string) =>
    h.store.modify(DEPLOY, 'default', 'web', (x) => {
      x.spec.template.spec.containers[0].image = image;
    });
  const progressing = () => d().status.conditions.find((c: KubeObject) => c.type === 'Progressing');
  /** What `kubectl rollout undo --to-revision=N` does: copy the old ReplicaSet's template (minus its hash label). */
  const undoTo = (revision: number) => {
    const rs = h.store.list(RS, 'default').find((x) => x.metadata.annotations[REVISION] === String(revision))!;
    const template = structuredClone(rs.spec.template);
    delete template.metadata.labels['pod-template-hash'];
    h.store.modify(DEPLOY, 'default', 'web', (x) => {
      x.spec.template = template;
    });
  };

  it('numbers revisions, and a rollback reuses the old ReplicaSet with the next revision', async () => {
    h = harness();
    h.store.create(deployment('web', 'web:v1', 2));
    await h.run(2000);
    setImage('web:v2');
    await h.run(5000);
    setImage('web:v3');
    await h.run(5000);
    expect(
      h.store
        .list(RS, 'default')
        .map((rs) => rs.metadata.annotations[REVISION])
        .sort(),
    ).toEqual(['1', '2', '3']);
    expect(d().metadata.annotations[REVISION]).toBe('3');
    const v1Name = rsOf('web:v1').metadata.name;

    undoTo(1);
    await h.run(5000);
    expect(h.store.list(RS, 'default')).toHaveLength(3); // no new ReplicaSet
    const v1 = rsOf('web:v1');
    expect(v1.metadata.name).toBe(v1Name);
    expect(v1.metadata.annotations[REVISION]).toBe('4');
    expect(v1.metadata.annotations['deployment.kubernetes.io/revision-history']).toBe('1');
    expect(v1.spec.replicas).toBe(2);
    expect(rsOf('web:v3').spec.replicas).toBe(0);
    expect(d().metadata.annotations[REVISION]).toBe('4');
    expect(d().status).toMatchObject({ updatedReplicas: 2, availableReplicas: 2, replicas: 2 });
  });

  it('keeps revisionHistoryLimit old ReplicaSets and deletes the oldest idle ones', async () => {
    h = harness();
    h.store.create(deployment('web', 'web:v1', 1, { revisionHistoryLimit: 2 }));
    await h.run(2000);
    for (const v of ['v2', 'v3', 'v4', 'v5']) {
      setImage(`web:${v}`);
      await h.run(4000);
    }
    const revisions = h.store
      .list(RS, 'default')
      .map((rs) => Number(rs.metadata.annotations[REVISION]))
      .sort();
    expect(revisions).toEqual([3, 4, 5]);
    // Their pods went with them, each after its 30 s grace period.
    await h.run(30_000);
    expect(h.store.list('v1/pods', 'default').map((p) => p.spec.containers[0].image)).toEqual(['web:v5']);
  });

  it('marks Progressing=False ProgressDeadlineExceeded once no progress is made for progressDeadlineSeconds', async () => {
    h = harness();
    h.behaviour.set('web:broken', { readyAfter: 'never' });
    h.store.create(deployment('web', 'web:v1', 3, { progressDeadlineSeconds: 30 }));
    await h.run(2000);
    setImage('web:broken');
    await h.run(25_000);
    expect(progressing()).toMatchObject({ status: 'True' });
    await h.run(10_000);
    expect(progressing()).toMatchObject({
      status: 'False',
      reason: 'ProgressDeadlineExceeded',
      message: `ReplicaSet "${rsOf('web:broken').metadata.name}" has timed out progressing.`,
    });
    // The old pods still serve: the rollout stopped at maxUnavailable.
    expect(d().status.availableReplicas).toBeGreaterThanOrEqual(2);
    expect(d().status.conditions.find((c: KubeObject) => c.type === 'Available').status).toBe('True');
    // Fixing the image makes progress again.
    setImage('web:v3');
    await h.run(5000);
    expect(progressing()).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable' });
  });

  it('holds a paused Deployment at its old template, and resumes on unpause', async () => {
    h = harness();
    h.store.create(deployment('web', 'web:v1', 2));
    await h.run(2000);
    h.store.modify(DEPLOY, 'default', 'web', (x) => {
      x.spec.paused = true;
      x.spec.template.spec.containers[0].image = 'web:v2';
    });
    await h.run(5000);
    expect(rsOf('web:v2')).toBeUndefined();
    expect(progressing()).toMatchObject({ status: 'Unknown', reason: 'DeploymentPaused' });
    h.store.modify(DEPLOY, 'default', 'web', (x) => {
      x.spec.paused = false;
    });
    await h.run(5000);
    expect(rsOf('web:v2').spec.replicas).toBe(2);
    expect(d().status.updatedReplicas).toBe(2);
  });

  it('Recreate stops every old pod before the new ReplicaSet starts', async () => {
    h = harness();
    h.store.create(deployment('web', 'web:v1', 3, { strategy: { type: 'Recreate' } }));
    await h.run(2000);
    let overlap = false;
    const stop = h.store.watch('v1/pods', 'default', undefined, () => {
      const images = new Set(h.store.list('v1/pods', 'default').map((p) => p.spec.containers[0].image));
      if (images.has('web:v1') && images.has('web:v2')) overlap = true;
    });
    setImage('web:v2');
    await h.run(3000);
    // The old pods are Terminating for their grace period (30 s): no new pod until they are gone.
    const pods = h.store.list('v1/pods', 'default');
    expect(
      pods.map((p) => `${p.spec.containers[0].image} ${p.metadata.deletionTimestamp ? 'Terminating' : 'live'}`),
    ).toEqual(['web:v1 Terminating', 'web:v1 Terminating', 'web:v1 Terminating']);
    expect(rsOf('web:v2')).toBeUndefined();
    expect(d().status).toMatchObject({ replicas: 0, availableReplicas: 0 });
    await h.run(30_000);
    stop();
    expect(overlap).toBe(false);
    expect(rsOf('web:v1').spec.replicas).toBe(0);
    expect(d().status).toMatchObject({ replicas: 3, updatedReplicas: 3, availableReplicas: 3 });
  });

  it('counts a pod available only after minReadySeconds', async () => {
    h = harness();
    h.store.create(deployment('web', 'web:v1', 2, { minReadySeconds: 10 }));
    await h.run(2000);
    expect(d().status).toMatchObject({ readyReplicas: 2, availableReplicas: 0 });
    await h.run(10_000);
    expect(d().status).toMatchObject({ readyReplicas: 2, availableReplicas: 2 });
  });

  it('scales down not-ready pods first', async () => {
    h = harness();
    h.store.create(deployment('web', 'web:v1', 2));
    await h.run(2000);
    h.behaviour.set('web:v1', { readyAfter: '1h' });
    h.store.modify(DEPLOY, 'default', 'web', (x) => {
      x.spec.replicas = 4;
    });
    await h.run(1000);
    const ready = h.store
      .list('v1/pods', 'default')
      .filter((p) => p.status.conditions.some((c: KubeObject) => c.type === 'Ready' && c.status === 'True'));
    expect(ready).toHaveLength(2);
    h.store.modify(DEPLOY, 'default', 'web', (x) => {
      x.spec.replicas = 2;
    });
    await h.settle();
    const [terminating, live] = [true, false].map((gone) =>
      h.store
        .list('v1/pods', 'default')
        .filter((p) => !!p.metadata.deletionTimestamp === gone)
        .map((p) => p.metadata.name)
        .sort(),
    );
    expect(live).toEqual(ready.map((p) => p.metadata.name).sort());
    expect(terminating).toHaveLength(2);
    expect(h.store.get(RS, 'default', rsOf('web:v1').metadata.name).status).toMatchObject({ replicas: 2 });
  });
});
