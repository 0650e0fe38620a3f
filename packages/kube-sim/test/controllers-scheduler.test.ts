import { afterEach, describe, expect, it } from 'vitest';
import { bytes, fitErrorMessage, milliCpu, parseQuantity, podRequests, qosClass } from '../src/controllers/scheduler';
import type { KubeObject } from '../src/store';
import { deployment, harness } from './controllers-harness';

describe('quantities and requests', () => {
  it('parses Kubernetes quantities: cpu rounded up to millicores, memory to bytes', () => {
    expect(milliCpu('250m')).toBe(250);
    expect(milliCpu('1')).toBe(1000);
    expect(milliCpu('0.1')).toBe(100);
    expect(milliCpu('1.5')).toBe(1500);
    expect(milliCpu(2)).toBe(2000);
    expect(milliCpu('100u')).toBe(1);
    expect(bytes('128Mi')).toBe(128 * 2 ** 20);
    expect(bytes('1G')).toBe(1e9);
    expect(bytes('1.5Gi')).toBe(1.5 * 2 ** 30);
    expect(bytes('2e3')).toBe(2000);
    expect(bytes('12k')).toBe(12_000);
    expect(parseQuantity('lots')).toBeUndefined();
    expect(parseQuantity('1mi')).toBeUndefined();
    expect(milliCpu(undefined)).toBe(0);
  });

  it('sums containers, takes a larger init container instead, defaults requests to limits, adds overhead', () => {
    const pod = {
      spec: {
        initContainers: [{ name: 'init', resources: { requests: { cpu: '3' } } }],
        containers: [
          { name: 'a', resources: { requests: { cpu: '500m', memory: '64Mi' } } },
          { name: 'b', resources: { limits: { cpu: '1', memory: '64Mi' } } },
          { name: 'c' },
        ],
        overhead: { cpu: '100m' },
      },
    };
    expect(podRequests(pod)).toEqual({ cpu: 3100, memory: 128 * 2 ** 20 });
  });

  it('computes qosClass as the API server does', () => {
    const c = (resources?: KubeObject) => ({
      spec: { containers: [{ name: 'a', ...(resources ? { resources } : {}) }] },
    });
    expect(qosClass(c())).toBe('BestEffort');
    expect(qosClass(c({ requests: { cpu: '100m' } }))).toBe('Burstable');
    expect(qosClass(c({ limits: { cpu: '1', memory: '1Gi' } }))).toBe('Guaranteed');
    expect(qosClass(c({ requests: { cpu: '1000m', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } }))).toBe(
      'Guaranteed',
    );
  });

  it('words the FitError as kube-scheduler does: reasons counted and sorted, then the preemption part', () => {
    expect(
      fitErrorMessage([
        { reasons: ['Insufficient cpu', 'Insufficient memory'], resolvable: true },
        { reasons: ["node(s) didn't match Pod's node affinity/selector"], resolvable: false },
        { reasons: ['Insufficient cpu'], resolvable: true },
      ]),
    ).toBe(
      "0/3 nodes are available: 1 Insufficient memory, 1 node(s) didn't match Pod's node affinity/selector, 2 Insufficient cpu. " +
        'preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.',
    );
    expect(fitErrorMessage([])).toBe('no nodes available to schedule pods');
  });
});

describe('scheduler (virtual clock)', () => {
  let h = harness();
  afterEach(() => h.stop());

  const pod = (name: string, spec: KubeObject = {}, containerExtra: KubeObject = {}): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: name } },
    spec: { containers: [{ name: 'main', image: 'web:v1', ...containerExtra }], ...spec },
  });
  const cpu = (amount: string) => ({ resources: { requests: { cpu: amount } } });
  const get = (name: string) => h.store.get('v1/pods', 'default', name);
  const scheduled = (name: string) => get(name).status.conditions?.find((c: KubeObject) => c.type === 'PodScheduled');
  const events = (name: string, reason: string) =>
    h.store.list('v1/events', 'default').filter((e) => e.involvedObject.name === name && e.reason === reason);
  const node = (name: string, extra: { labels?: Record<string, string>; spec?: KubeObject; cpu?: string } = {}) => {
    h.store.create({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { 'kubernetes.io/hostname': name, ...extra.labels } },
      spec: extra.spec ?? {},
    });
    h.store.modify(
      'v1/nodes',
      undefined,
      name,
      (draft) => {
        draft.status = { allocatable: { cpu: extra.cpu ?? '4', memory: '16Gi', pods: '110' } };
      },
      { subresource: 'status' },
    );
  };

  it('schedules pods without requests or selectors round robin, as before', async () => {
    h = harness();
    for (const n of ['a', 'b', 'c']) h.store.create(pod(n));
    await h.settle();
    expect(['a', 'b', 'c'].map((n) => get(n).spec.nodeName)).toEqual([
      'kube-sim-worker-1',
      'kube-sim-worker-2',
      'kube-sim-worker-1',
    ]);
    expect(get('a').status.qosClass).toBe('BestEffort');
    expect(scheduled('a').status).toBe('True');
  });

  it('leaves a pod that requests more cpu than any node has Pending, Unschedulable, with a FailedScheduling event', async () => {
    h = harness();
    h.store.create(pod('big', {}, cpu('5')));
    await h.run(60_000);
    const p = get('big');
    expect(p.spec.nodeName).toBeUndefined();
    expect(p.status.phase).toBe('Pending');
    expect(p.status.qosClass).toBe('Burstable');
    expect(p.status.containerStatuses).toBeUndefined();
    const message =
      '0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.';
    expect(scheduled('big')).toMatchObject({ status: 'False', reason: 'Unschedulable', message, lastProbeTime: null });
    const failed = events('big', 'FailedScheduling');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ type: 'Warning', message, source: { component: 'default-scheduler' }, count: 1 });
    expect(events('big', 'Scheduled')).toHaveLength(0);
    // The unschedulable-pods flush retries it after 5 minutes: the one Event counts the second attempt.
    await h.run(300_000, 10_000);
    expect(events('big', 'FailedScheduling')[0]!.count).toBe(2);
  });

  it('counts the requests of pods already bound, and schedules a pending pod once one of them goes away', async () => {
    h = harness();
    for (const n of ['p1', 'p2', 'p3', 'p4']) h.store.create(pod(n, {}, cpu('3')));
    await h.settle();
    expect(['p1', 'p2', 'p3', 'p4'].map((n) => get(n).spec.nodeName)).toEqual([
      'kube-sim-worker-1',
      'kube-sim-worker-2',
      undefined,
      undefined,
    ]);
    expect(scheduled('p3').message).toBe(
      '0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.',
    );
    // Pods without requests still fit where the cpu is taken.
    h.store.create(pod('small'));
    await h.settle();
    expect(get('small').spec.nodeName).toBeDefined();
    h.store.delete('v1/pods', 'default', 'p2');
    await h.settle();
    // p2 is Terminating for its grace period (30 s) and holds its cpu until it is gone, as on a cluster.
    expect(get('p2').metadata).toMatchObject({ deletionGracePeriodSeconds: 30 });
    expect(get('p3').spec.nodeName).toBeUndefined();
    await h.run(29_000);
    expect(get('p3').spec.nodeName).toBeUndefined();
    await h.run(1000);
    expect(h.store.find('v1/pods', 'default', 'p2')).toBeUndefined();
    // The oldest pending pod takes the freed cpu; the other still waits.
    expect(get('p3').spec.nodeName).toBe('kube-sim-worker-2');
    expect(scheduled('p3').status).toBe('True');
    expect(get('p4').spec.nodeName).toBeUndefined();
    expect(events('p3', 'Scheduled')[0]!.message).toBe('Successfully assigned default/p3 to kube-sim-worker-2');
    await h.run(2000);
    expect(get('p3').status.phase).toBe('Running');
  });

  it('matches nodeSelector and required node affinity, and binds when a matching node appears', async () => {
    h = harness();
    h.store.create(pod('ssd', { nodeSelector: { disk: 'ssd' } }));
    const affinity = (operator: string, values?: string[]) => ({
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator, ...(values ? { values } : {}) }] }],
          },
        },
      },
    });
    h.store.create(pod('zone-b', affinity('In', ['b'])));
    h.store.create(pod('not-a', affinity('NotIn', ['a'])));
    h.store.create(pod('has-zone', affinity('Exists')));
    await h.settle();
    expect(get('not-a').spec.nodeName).toMatch(/^kube-sim-worker-/); // no zone label: NotIn holds
    for (const n of ['ssd', 'zone-b', 'has-zone']) {
      expect(get(n).spec.nodeName).toBeUndefined();
      expect(scheduled(n)).toMatchObject({
        status: 'False',
        reason: 'Unschedulable',
        message:
          "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
      });
    }
    node('worker-ssd', { labels: { disk: 'ssd', zone: 'a' } });
    await h.settle();
    expect(get('ssd').spec.nodeName).toBe('worker-ssd');
    expect(get('has-zone').spec.nodeName).toBe('worker-ssd');
    expect(get('zone-b').spec.nodeName).toBeUndefined();
    expect(scheduled('zone-b').message).toBe(
      "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
    );
    // A node whose labels change is a cluster event too.
    h.store.modify('v1/nodes', undefined, 'kube-sim-worker-1', (draft) => {
      draft.metadata.labels.zone = 'b';
    });
    await h.settle();
    expect(get('zone-b').spec.nodeName).toBe('kube-sim-worker-1');
  });

  it('keeps pods off nodes with NoSchedule taints they do not tolerate, and off cordoned nodes', async () => {
    h = harness();
    for (const n of ['kube-sim-worker-1', 'kube-sim-worker-2']) {
      h.store.modify('v1/nodes', undefined, n, (draft) => {
        draft.spec.taints = [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }];
      });
    }
    h.store.create(pod('plain'));
    h.store.create(
      pod('tolerant', { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }] }),
    );
    h.store.create(pod('everything', { tolerations: [{ operator: 'Exists' }] }));
    await h.settle();
    expect(get('plain').spec.nodeName).toBeUndefined();
    expect(scheduled('plain').message).toBe(
      '0/2 nodes are available: 2 node(s) had untolerated taint {dedicated: gpu}. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.',
    );
    expect(get('tolerant').spec.nodeName).toBeDefined();
    expect(get('everything').spec.nodeName).toBeDefined();
    node('cordoned', { spec: { unschedulable: true } });
    await h.settle();
    expect(scheduled('plain').message).toBe(
      '0/3 nodes are available: 1 node(s) were unschedulable, 2 node(s) had untolerated taint {dedicated: gpu}. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.',
    );
    h.store.modify('v1/nodes', undefined, 'cordoned', (draft) => {
      draft.spec.unschedulable = false;
    });
    await h.settle();
    expect(get('plain').spec.nodeName).toBe('cordoned');
  });

  it("leaves a Deployment's surplus replicas Pending and aggregates their FailedScheduling events", async () => {
    h = harness();
    h.store.create(
      deployment('web', 'web:v1', 3, {
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'web', image: 'web:v1', resources: { requests: { cpu: '3' } } }] },
        },
      }),
    );
    await h.run(30_000);
    const pods = h.store.list('v1/pods', 'default');
    expect(pods.filter((p) => p.spec.nodeName)).toHaveLength(2);
    const pending = pods.filter((p) => !p.spec.nodeName);
    expect(pending).toHaveLength(1);
    expect(pending[0]!.status.phase).toBe('Pending');
    const d = h.store.get('apps/v1/deployments', 'default', 'web');
    expect(d.status).toMatchObject({ replicas: 3, readyReplicas: 2, unavailableReplicas: 1 });
    // Scaling down removes the unscheduled pod first.
    h.store.modify('apps/v1/deployments', 'default', 'web', (draft) => {
      draft.spec.replicas = 2;
    });
    await h.run(1000);
    expect(h.store.list('v1/pods', 'default').every((p) => p.spec.nodeName)).toBe(true);
  });
});
