import { describe, expect, it } from 'vitest';
import { daemonSetRolloutStatus, deploymentRolloutStatus, statefulSetRolloutStatus } from '../src/kube/rollout-status';
import type { Deployment } from '../src/kube/types';

function deployment(
  status: Deployment['status'],
  extra: { generation?: number; replicas?: number; revision?: string } = {},
): Deployment {
  return {
    metadata: {
      name: 'web',
      generation: extra.generation ?? 2,
      annotations: extra.revision === undefined ? {} : { 'deployment.kubernetes.io/revision': extra.revision },
    },
    spec: { replicas: extra.replicas ?? 3 },
    status,
  };
}

describe('deploymentRolloutStatus (kubectl rollout status rules)', () => {
  it('waits until the controller has observed the new generation', () => {
    const status = deploymentRolloutStatus(
      deployment({ observedGeneration: 1, replicas: 3, updatedReplicas: 3, availableReplicas: 3 }),
    );
    expect(status).toEqual({ state: 'waiting', message: 'Waiting for deployment spec update to be observed...' });
  });

  it('walks through the same messages kubectl prints during a rolling update', () => {
    const steps = [
      { observedGeneration: 2, replicas: 4, updatedReplicas: 1, availableReplicas: 3 },
      { observedGeneration: 2, replicas: 4, updatedReplicas: 3, availableReplicas: 3 },
      { observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 2 },
      { observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3 },
    ].map((status) => deploymentRolloutStatus(deployment(status)));
    expect(steps.map((step) => step.message)).toEqual([
      'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...',
      'Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...',
      'Waiting for deployment "web" rollout to finish: 2 of 3 updated replicas are available...',
      'deployment "web" successfully rolled out',
    ]);
    expect(steps.map((step) => step.state)).toEqual(['waiting', 'waiting', 'waiting', 'done']);
  });

  it('fails on ProgressDeadlineExceeded even while replicas are missing', () => {
    const status = deploymentRolloutStatus(
      deployment({
        observedGeneration: 2,
        replicas: 4,
        updatedReplicas: 1,
        conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }],
      }),
    );
    expect(status).toEqual({ state: 'failed', message: 'deployment "web" exceeded its progress deadline' });
  });

  it('fails when a specific revision was asked for and another one runs', () => {
    const done = { observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3 };
    expect(deploymentRolloutStatus(deployment(done, { revision: '4' }), 3)).toEqual({
      state: 'failed',
      message: 'desired revision (3) is different from the running revision (4)',
    });
    expect(deploymentRolloutStatus(deployment(done, { revision: '3' }), 3).state).toBe('done');
  });

  it('treats a Deployment scaled to zero as rolled out once observed', () => {
    const status = deploymentRolloutStatus(deployment({ observedGeneration: 2 }, { replicas: 0 }));
    expect(status.state).toBe('done');
  });
});

describe('statefulSetRolloutStatus', () => {
  const base = { metadata: { name: 'db', generation: 3 }, spec: { replicas: 3 } };

  it('waits for ready pods, then for the update revision to become current', () => {
    expect(statefulSetRolloutStatus({ ...base, status: { observedGeneration: 3, readyReplicas: 1 } }).message).toBe(
      'Waiting for 2 pods to be ready...',
    );
    const rolling = statefulSetRolloutStatus({
      ...base,
      status: {
        observedGeneration: 3,
        readyReplicas: 3,
        updatedReplicas: 2,
        currentRevision: 'db-1',
        updateRevision: 'db-2',
      },
    });
    expect(rolling).toEqual({
      state: 'waiting',
      message: 'waiting for statefulset rolling update to complete 2 pods at revision db-2...',
    });
    const done = statefulSetRolloutStatus({
      ...base,
      status: {
        observedGeneration: 3,
        readyReplicas: 3,
        currentReplicas: 3,
        currentRevision: 'db-2',
        updateRevision: 'db-2',
      },
    });
    expect(done).toEqual({ state: 'done', message: 'statefulset rolling update complete 3 pods at revision db-2...' });
  });

  it('counts only the pods above the partition', () => {
    const partitioned = {
      ...base,
      spec: { replicas: 3, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } },
    };
    expect(
      statefulSetRolloutStatus({
        ...partitioned,
        status: { observedGeneration: 3, readyReplicas: 3, updatedReplicas: 0 },
      }).state,
    ).toBe('waiting');
    expect(
      statefulSetRolloutStatus({
        ...partitioned,
        status: { observedGeneration: 3, readyReplicas: 3, updatedReplicas: 1 },
      }),
    ).toEqual({ state: 'done', message: 'partitioned roll out complete: 1 new pods have been updated...' });
  });

  it('refuses OnDelete, which has no rollout to follow', () => {
    const status = statefulSetRolloutStatus({ ...base, spec: { replicas: 3, updateStrategy: { type: 'OnDelete' } } });
    expect(status.state).toBe('failed');
  });
});

describe('daemonSetRolloutStatus', () => {
  it('waits for updated then available pods on every node', () => {
    const meta = { name: 'agent', generation: 5 };
    expect(
      daemonSetRolloutStatus({
        metadata: meta,
        status: { observedGeneration: 5, desiredNumberScheduled: 3, updatedNumberScheduled: 1 },
      }).message,
    ).toBe('Waiting for daemon set "agent" rollout to finish: 1 out of 3 new pods have been updated...');
    expect(
      daemonSetRolloutStatus({
        metadata: meta,
        status: { observedGeneration: 5, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 2 },
      }).message,
    ).toBe('Waiting for daemon set "agent" rollout to finish: 2 of 3 updated pods are available...');
    expect(
      daemonSetRolloutStatus({
        metadata: meta,
        status: { observedGeneration: 5, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 3 },
      }).state,
    ).toBe('done');
  });
});
