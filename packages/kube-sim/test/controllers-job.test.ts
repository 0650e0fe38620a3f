import { afterEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '../src/store';
import { harness } from './controllers-harness';

const JOBS = 'batch/v1/jobs';

const job = (name: string, image: string, spec: KubeObject = {}): KubeObject => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name, namespace: 'default' },
  spec: {
    template: { spec: { restartPolicy: 'Never', containers: [{ name: 'migrate', image }] } },
    ...spec,
  },
});

describe('Job controller (virtual clock)', () => {
  let h = harness();
  afterEach(() => h.stop());
  const get = (name: string) => h.store.get(JOBS, 'default', name);
  const conditions = (name: string) =>
    (get(name).status.conditions ?? []).map((c: KubeObject) => `${c.type}=${c.status}/${c.reason}`);

  it('completes when its pod exits 0, with SuccessCriteriaMet and Complete, and the pod keeps its logs', async () => {
    h = harness();
    h.behaviour.set('migrate:ok', { exitAfter: '3s', logs: ['applying 0001_init.sql', 'done'] });
    h.store.create(job('db-migrate', 'migrate:ok'));
    await h.settle();
    expect(get('db-migrate').status).toMatchObject({ active: 1 });
    const pod = h.store.list('v1/pods', 'default')[0]!;
    expect(pod.metadata.name).toMatch(/^db-migrate-[a-z0-9]{5}$/);
    expect(pod.metadata.labels['job-name']).toBe('db-migrate');
    await h.run(3000);
    expect(conditions('db-migrate')).toEqual([
      'SuccessCriteriaMet=True/CompletionsReached',
      'Complete=True/CompletionsReached',
    ]);
    expect(get('db-migrate').status).toMatchObject({ succeeded: 1 });
    expect(get('db-migrate').status.active).toBeUndefined();
    expect(get('db-migrate').status.completionTime).toBeDefined();
    const done = h.store.get('v1/pods', 'default', pod.metadata.name);
    expect(done.status.phase).toBe('Succeeded');
    expect(done.status.containerStatuses[0].state.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(h.controllers.kubelet.logs(done, 'migrate')).toBe('applying 0001_init.sql\ndone\n');
  });

  it('retries failed pods with back-off and fails with BackoffLimitExceeded past backoffLimit', async () => {
    h = harness();
    h.behaviour.set('migrate:bad', { exitAfter: '1s', exitCode: 1 });
    h.store.create(job('db-migrate', 'migrate:bad', { backoffLimit: 2 }));
    // Pods at 0 s (fails 1 s), 11 s (fails 12 s), 32 s (fails 33 s): 3 failures > backoffLimit 2.
    await h.run(20_000);
    expect(h.store.list('v1/pods', 'default')).toHaveLength(2);
    expect(get('db-migrate').status.failed).toBe(2); // the second pod failed at 12 s; the third waits for a 20 s back-off
    await h.run(20_000);
    expect(h.store.list('v1/pods', 'default')).toHaveLength(3);
    expect(conditions('db-migrate')).toEqual([
      'FailureTarget=True/BackoffLimitExceeded',
      'Failed=True/BackoffLimitExceeded',
    ]);
    expect(get('db-migrate').status.failed).toBe(3);
    expect(h.store.list('v1/events', 'default').some((e) => e.reason === 'BackoffLimitExceeded')).toBe(true);
  });

  it('fails with DeadlineExceeded after activeDeadlineSeconds: FailureTarget at once, Failed once its pod is gone', async () => {
    h = harness();
    h.behaviour.set('migrate:slow', { exitAfter: '10m' });
    h.store.create(job('db-migrate', 'migrate:slow', { activeDeadlineSeconds: 60 }));
    await h.run(59_000);
    expect(get('db-migrate').status.conditions).toBeUndefined();
    await h.run(2000);
    // 1.31+: the terminal condition waits for the pods, which take their grace period (30 s) to stop.
    expect(conditions('db-migrate')).toEqual(['FailureTarget=True/DeadlineExceeded']);
    expect(get('db-migrate').status).toMatchObject({ terminating: 1, ready: 0 });
    expect(get('db-migrate').status.active).toBeUndefined();
    const [pod] = h.store.list('v1/pods', 'default');
    expect(pod?.metadata).toMatchObject({ deletionGracePeriodSeconds: 30 });
    await h.run(30_000);
    expect(conditions('db-migrate')).toEqual(['FailureTarget=True/DeadlineExceeded', 'Failed=True/DeadlineExceeded']);
    expect(get('db-migrate').status.terminating).toBe(0);
    expect(h.store.list('v1/pods', 'default')).toHaveLength(0);
  });

  it('runs completions with parallelism', async () => {
    h = harness();
    h.behaviour.set('batch:ok', { exitAfter: '2s' });
    h.store.create(job('batch', 'batch:ok', { completions: 4, parallelism: 2 }));
    await h.settle();
    expect(get('batch').status.active).toBe(2);
    await h.run(2000);
    expect(get('batch').status).toMatchObject({ succeeded: 2, active: 2 });
    await h.run(2000);
    expect(get('batch').status.succeeded).toBe(4);
    expect(conditions('batch')).toContain('Complete=True/CompletionsReached');
  });
});
