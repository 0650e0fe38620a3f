/**
 * strategy rolling against pods the scheduler cannot place: kube-sim's nodes have 4 cpu each, the new
 * template asks for 8, so its pod stays Pending (PodScheduled False/Unschedulable, FailedScheduling), the
 * Deployment hits its progress deadline, and the failure carries the scheduler's own message.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeSim } from '@deploy-actions/kube-sim';
import { type Cluster, startCluster } from '@deploy-actions/testkit/cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VirtualClock } from '../src/clock';
import { renderDeploySummary, runRolling } from '../src/deploy';
import type { KubeClient } from '../src/kube/client';
import type { Deployment } from '../src/kube/types';
import { createMemoryRuntime } from '../src/runtime';

const SCHEDULER_MESSAGE =
  '0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.';
let cluster: Cluster;
let workspace: string;
let clock: VirtualClock;
let sim: KubeSim;
let client: KubeClient;

function write(path: string, text: string): string {
  const full = join(workspace, path);
  mkdirSync(join(full, '..'), { recursive: true });
  writeFileSync(full, text);
  return path;
}

function manifest(cpu: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: batch
spec:
  replicas: 2
  progressDeadlineSeconds: 60
  selector:
    matchLabels: { app: batch }
  template:
    metadata:
      labels: { app: batch }
    spec:
      containers:
        - name: batch
          image: ghcr.io/acme/batch:1.0
          resources:
            requests: { cpu: "${cpu}", memory: 256Mi }
`;
}

const runtime = () => createMemoryRuntime({ clock, workspace, inputs: {} });

beforeAll(async () => {
  cluster = await startCluster({ namespace: 'prod', controllers: 'bare', readyAfter: '2s' });
  ({ clock, sim, client, workspace } = cluster);
});

afterAll(async () => {
  await cluster?.stop();
});

describe('rolling: pods that no node can hold', () => {
  it('fails at the progress deadline naming the scheduler message, and undoes to the revision that fit', async () => {
    write('k8s/batch.yaml', manifest('500m'));
    const options = { client, namespace: 'prod', timeoutMs: 300_000, manifests: ['k8s/batch.yaml'] };
    expect((await runRolling(runtime(), options)).verdict).toBe('deployed');

    write('k8s/batch.yaml', manifest('8'));
    const outcome = await runRolling(runtime(), options);
    expect(outcome.verdict).toBe('rolled-back');
    expect(outcome.failure).toContain('deployment/batch did not roll out');
    expect(outcome.failure).toContain('progress deadline');
    const pending = outcome.explanation.find((line) => line.includes('not scheduled'));
    expect(pending).toMatch(/^deployment\/batch: pod batch-[a-z0-9]+-[a-z0-9]{5}: not scheduled \(Unschedulable\): /);
    expect(pending).toContain(SCHEDULER_MESSAGE);
    expect(
      outcome.explanation.some((line) => line.includes('event FailedScheduling') && line.includes(SCHEDULER_MESSAGE)),
    ).toBe(true);
    expect(outcome.failure).toContain(SCHEDULER_MESSAGE);
    expect(renderDeploySummary(outcome)).toContain('Insufficient cpu');

    // Undone: the template that fits is back, both replicas run, the unschedulable pod is gone.
    const deployment = sim.store.get('apps/v1/deployments', 'prod', 'batch') as Deployment;
    expect(deployment.spec?.template?.spec?.containers?.[0]?.resources).toMatchObject({ requests: { cpu: '500m' } });
    expect(deployment.status).toMatchObject({ updatedReplicas: 2, availableReplicas: 2 });
    const pods = sim.store.list('v1/pods', 'prod') as Array<{ spec: { nodeName?: string } }>;
    expect(pods).toHaveLength(2);
    expect(pods.every((pod) => pod.spec.nodeName)).toBe(true);
  });
});
