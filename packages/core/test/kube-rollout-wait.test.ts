/**
 * Waiting for rollouts against kube-sim over HTTPS. The test plays the
 * Deployment controller by writing the status subresource, one step each
 * time the waiter reports progress, so every run sees the same sequence.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeSim } from '@deploy-actions/kube-sim';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { systemClock, VirtualClock } from '../src/clock';
import { UserError } from '../src/errors';
import { KubeClient } from '../src/kube/client';
import { RolloutError, type WorkloadRef, waitForRollout, waitForRollouts } from '../src/kube/rollout-wait';
import type { Deployment } from '../src/kube/types';

let sim: KubeSim;
const workspace = mkdtempSync(join(tmpdir(), 'kube-wait-'));
const DEPLOYMENTS = 'apps/v1/deployments';
const HOUR = 3_600_000;

type Status = NonNullable<Deployment['status']>;

/** A rolling update of 3 replicas as the controller reports it, ending rolled out. */
const ROLLING: Status[] = [
  { observedGeneration: 1, replicas: 4, updatedReplicas: 1, availableReplicas: 3 },
  { observedGeneration: 1, replicas: 4, updatedReplicas: 3, availableReplicas: 3 },
  { observedGeneration: 1, replicas: 3, updatedReplicas: 3, availableReplicas: 2 },
  { observedGeneration: 1, replicas: 3, updatedReplicas: 3, availableReplicas: 3 },
];

function create(name: string): WorkloadRef {
  sim.store.create(
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: 'prod' },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: `${name}:2` }] } },
      },
    },
    { fieldManager: 'test' },
  );
  return { kind: 'Deployment', namespace: 'prod', name };
}

function setStatus(ref: WorkloadRef, status: Status): void {
  sim.store.modify(
    DEPLOYMENTS,
    ref.namespace,
    ref.name,
    (draft) => {
      draft.status = status;
    },
    { subresource: 'status' },
  );
}

/** Plays `steps` one by one, each after the waiter reported the previous state; `between` runs before each step. */
function controller(ref: WorkloadRef, steps: Status[], between?: (index: number) => void) {
  const messages: string[] = [];
  let next = 0;
  return {
    messages,
    onProgress: (_ref: WorkloadRef, status: { message: string }) => {
      messages.push(status.message);
      const step = steps[next];
      if (step === undefined) return;
      const index = next++;
      setImmediate(() => {
        between?.(index);
        setStatus(ref, step);
      });
    },
  };
}

let client: KubeClient;
beforeAll(async () => {
  sim = await KubeSim.start({ scenario: { namespaces: ['prod'] } });
});
beforeEach(async () => {
  client = await KubeClient.connect({ kubeconfig: sim.kubeconfig(), env: {}, workspace });
});
afterAll(async () => {
  await sim?.stop();
});

describe('waitForRollout', () => {
  it('follows a rolling update with kubectl’s messages over one GET and one watch', async () => {
    const ref = create('web');
    const play = controller(ref, ROLLING);
    const result = await waitForRollout(client, ref, {
      clock: systemClock,
      timeoutMs: HOUR,
      onProgress: play.onProgress,
    });
    expect(play.messages).toEqual([
      'Waiting for deployment spec update to be observed...',
      'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...',
      'Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...',
      'Waiting for deployment "web" rollout to finish: 2 of 3 updated replicas are available...',
      'deployment "web" successfully rolled out',
    ]);
    expect(result.status.state).toBe('done');
    expect((result.object as Deployment).status?.availableReplicas).toBe(3);
    expect(client.requests).toBe(2);
  });

  it('resumes when the server drops the watch, and starts over after 410 Gone', async () => {
    const ref = create('dropped');
    const play = controller(ref, ROLLING, (index) => {
      if (index === 1) sim.faults.dropWatches();
      if (index === 2) {
        // History compacted past the waiter's resourceVersion: the resumed watch gets 410 Gone.
        sim.store.compact();
        sim.faults.dropWatches();
      }
    });
    const result = await waitForRollout(client, ref, {
      clock: systemClock,
      timeoutMs: HOUR,
      onProgress: play.onProgress,
    });
    expect(result.status.message).toBe('deployment "dropped" successfully rolled out');
    expect(play.messages).toHaveLength(5);
    // No state was missed, and the extra requests are the resumes, not polling.
    expect(client.requests).toBeGreaterThanOrEqual(4);
    expect(client.requests).toBeLessThanOrEqual(6);
  });

  it('fails at once on ProgressDeadlineExceeded', async () => {
    const ref = create('stuck');
    const play = controller(ref, [
      {
        observedGeneration: 1,
        replicas: 4,
        updatedReplicas: 1,
        availableReplicas: 3,
        conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }],
      },
    ]);
    const waiting = waitForRollout(client, ref, { clock: systemClock, timeoutMs: HOUR, onProgress: play.onProgress });
    await expect(waiting).rejects.toBeInstanceOf(RolloutError);
    await expect(waiting).rejects.toMatchObject({
      timedOut: false,
      message: 'Deployment "stuck" rollout failed: deployment "stuck" exceeded its progress deadline',
    });
  });

  it('gives up after its timeout on virtual time, with the last status, and few requests', async () => {
    const ref = create('slow');
    setStatus(ref, ROLLING[0]!);
    const clock = new VirtualClock();
    const auto = clock.startAutoAdvance();
    try {
      const started = clock.now();
      const waiting = waitForRollout(client, ref, { clock, timeoutMs: 10 * 60_000 });
      await expect(waiting).rejects.toMatchObject({
        timedOut: true,
        message:
          'Deployment "slow" did not finish rolling out in time; last status: Waiting for deployment "slow" rollout to finish: 1 out of 3 new replicas have been updated...',
      });
      expect(clock.now() - started).toBe(10 * 60_000);
      expect(client.requests).toBe(2);
    } finally {
      auto.stop();
    }
  });

  it('says so when the workload does not exist', async () => {
    const waiting = waitForRollout(
      client,
      { kind: 'Deployment', namespace: 'prod', name: 'nope' },
      {
        clock: systemClock,
        timeoutMs: HOUR,
      },
    );
    await expect(waiting).rejects.toThrow(new UserError('Deployment "nope" not found in namespace "prod"'));
  });

  it('stops when the run is cancelled', async () => {
    const ref = create('cancelled');
    const cancel = new AbortController();
    const waiting = waitForRollout(client, ref, {
      clock: systemClock,
      timeoutMs: HOUR,
      signal: cancel.signal,
      onProgress: () => setImmediate(() => cancel.abort(new Error('job cancelled'))),
    });
    await expect(waiting).rejects.toThrow('job cancelled');
  });
});

describe('waitForRollouts', () => {
  it('waits for several Deployments together and reports each', async () => {
    const refs = ['auth', 'user', 'org'].map(create);
    const players = new Map(refs.map((ref) => [ref.name, controller(ref, ROLLING)]));
    const results = await waitForRollouts(client, refs, {
      clock: systemClock,
      timeoutMs: HOUR,
      onProgress: (ref, status) => players.get(ref.name)?.onProgress(ref, status),
    });
    expect(results.map((result) => result.status.message)).toEqual([
      'deployment "auth" successfully rolled out',
      'deployment "user" successfully rolled out',
      'deployment "org" successfully rolled out',
    ]);
    expect(client.requests).toBe(6);
  });
});
