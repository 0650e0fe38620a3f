/**
 * Scheduler and kubelet in one: binds new pods to the simulated nodes that fit them (round robin among those; see
 * scheduler.ts for the filters), or leaves them Pending with PodScheduled False/Unschedulable and a
 * FailedScheduling event, retried when a node is added or changes, when a bound pod that requested resources
 * goes away, and 5 minutes after the last attempt (the scheduler's unschedulable-pods flush). Gives bound pods an IP, and walks
 * each container's timeline (from the behaviour table) on the sim's clock, writing pod status (phase,
 * conditions, containerStatuses) and the events a kubelet writes. Serves `/log` text from the behaviour table.
 * Removes a deleted (Terminating) pod when its grace period ends (see `stop`).
 */
import type { KubeObject, WatchEvent } from '../store';
import { key, NODES, PODS, setCondition, timestamp, writeStatus } from './common';
import type { ControllerContext } from './context';
import { missingPullSecrets, type ReferenceProblem, referenceProblem } from './pod-references';
import { filterNode, fitErrorMessage, type NodeFailure, podRequests, qosClass, type Requests } from './scheduler';
import { type ContainerSnapshot, containerTimeline, type RestartPolicy, type Step } from './timeline';

export const DEFAULT_NODES = ['kube-sim-worker-1', 'kube-sim-worker-2'];

/** Create the simulated nodes unless some exist already. */
export function ensureNodes(ctx: ControllerContext, names = DEFAULT_NODES): void {
  if (ctx.store.list(NODES, undefined).length > 0) return;
  names.forEach((name, i) => {
    const node = ctx.store.create(
      {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name,
          labels: {
            'kubernetes.io/hostname': name,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/arch': 'amd64',
            'node-role.kubernetes.io/worker': '',
          },
        },
        spec: { podCIDR: `10.244.${i + 1}.0/24` },
      },
      { fieldManager: 'kubelet' },
    );
    const now = timestamp(ctx.clock.now());
    ctx.store.modify(
      NODES,
      undefined,
      node.metadata.name,
      (draft) => {
        draft.status = {
          capacity: { cpu: '4', memory: '16Gi', pods: '110' },
          allocatable: { cpu: '4', memory: '16Gi', pods: '110' },
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'KubeletReady',
              message: 'kubelet is posting ready status',
              lastHeartbeatTime: now,
              lastTransitionTime: now,
            },
          ],
          addresses: [
            { type: 'InternalIP', address: `172.18.0.${i + 2}` },
            { type: 'Hostname', address: name },
          ],
          // Every field of NodeSystemInfo: the official clients' typed models require them all.
          nodeInfo: {
            machineID: fakeDigest(`machine/${name}`).slice(0, 32),
            systemUUID: uuidOf(fakeDigest(`system/${name}`)),
            bootID: uuidOf(fakeDigest(`boot/${name}`)),
            kernelVersion: '6.1.0',
            osImage: 'kube-sim',
            containerRuntimeVersion: 'containerd://1.7.0',
            kubeletVersion: 'v1.32.0',
            kubeProxyVersion: 'v1.32.0',
            operatingSystem: 'linux',
            architecture: 'amd64',
          },
        };
      },
      { subresource: 'status', fieldManager: 'kubelet' },
    );
  });
}

interface Running {
  abort: AbortController;
  snapshots: ContainerSnapshot[];
  /** How long its containers take to exit after SIGTERM (the slowest; Infinity when one ignores it). */
  stopAfterMs?: number;
}

/** An unschedulable pod waiting for a retry. */
interface Parked {
  pod: KubeObject;
  run: Running;
  /** It failed on resources somewhere, so a bound pod going away may help. */
  resources: boolean;
  /** Stops its 5-minute retry timer. */
  timer: AbortController;
}

/** podMaxInUnschedulablePodsDuration: an unschedulable pod is tried again after this long at the latest. */
const UNSCHEDULABLE_RETRY_MS = 300_000;
/** The volume manager's exponential back-off for a failed mount: 500 ms doubling up to 2m2s. */
const MOUNT_RETRY_FIRST_MS = 500;
const MOUNT_RETRY_MAX_MS = 122_000;
/** The pod worker's back-off after a failed sync (CreateContainerConfigError). */
const CONFIG_RETRY_MS = 10_000;
const NOTHING: Requests = { cpu: 0, memory: 0 };
/**
 * The reason a pod's run or parked retry is aborted with: `abort()` without one builds a DOMException (and
 * captures its stack) per pod, 2-3% of kube-sim's CPU in a rollout. Nothing reads the reason.
 */
const STOPPED = new Error('kube-sim: the pod is gone');

export class Kubelet {
  private readonly running = new Map<string, Running>();
  private nextNode = 0;
  private readonly ipCounters = new Map<string, number>();
  /** The scheduler's cache: requests of the active pods bound to each node (by pod uid, and summed by node). */
  private readonly bound = new Map<string, { node: string; requests: Requests }>();
  private readonly used = new Map<string, Requests>();
  private readonly parked = new Map<string, Parked>();
  /** Deleted pods being stopped: first seen deleted (`since`), when they go, and the timer that removes them. */
  private readonly stopping = new Map<
    string,
    { since: number; due: number; timer: AbortController; stopAfterMs: number }
  >();
  private retryQueued = false;
  private retryEveryone = false;

  constructor(private readonly ctx: ControllerContext) {}

  start(): () => void {
    const stopNodes = this.ctx.store.watch(NODES, undefined, undefined, (e) => {
      if (e.type !== 'DELETED') this.retryParked(true);
    });
    const stop = this.ctx.store.watch(PODS, undefined, undefined, (e) => {
      const pod = e.object;
      const uid = pod.metadata.uid as string;
      this.account(e);
      if (e.type === 'DELETED' || pod.metadata.deletionTimestamp) {
        const run = this.running.get(uid);
        run?.abort.abort(STOPPED);
        this.running.delete(uid);
        this.unpark(uid);
        if (e.type === 'DELETED') this.forget(uid);
        else this.stop(pod, run?.stopAfterMs);
        return;
      }
      if (!this.running.has(uid) && !pod.status?.startTime) {
        const run: Running = { abort: new AbortController(), snapshots: [] };
        this.running.set(uid, run);
        // Through the shared budget: a ReplicaSet creating hundreds of pods must not start them all in one go.
        const turn = this.ctx.budget.turn();
        if (turn) void turn.then(() => this.launch(pod, run));
        else queueMicrotask(() => this.launch(pod, run));
      }
    });
    return () => {
      stop();
      stopNodes();
      for (const run of this.running.values()) run.abort.abort(STOPPED);
      this.running.clear();
      for (const uid of [...this.stopping.keys()]) this.forget(uid);
      for (const uid of [...this.parked.keys()]) this.unpark(uid);
    };
  }

  /**
   * A deleted pod on this node: its containers are stopped (their status reports end) and the pod is removed
   * (DELETE with grace 0, as the kubelet does) when its grace period ends, counted from the deletion; a second
   * DELETE that shortened the period moves that time. Containers ignore SIGTERM unless their behaviour has
   * `stopAfter`, so the pod takes its whole period (or until its slowest container exits), unless none of them
   * is running (never started, waiting for an image or a ConfigMap, in back-off): then there is nothing to
   * stop and it goes at once. Its requests stay on the node until it is gone.
   */
  private stop(pod: KubeObject, stopAfterMs = Number.POSITIVE_INFINITY): void {
    const { clock } = this.ctx;
    const uid = pod.metadata.uid as string;
    const grace = (pod.metadata.deletionGracePeriodSeconds ?? 0) as number;
    // Grace 0 is the API server's own (it removes such a pod, or keeps it for its finalizers); unbound pods are not ours.
    if (grace === 0 || !pod.spec?.nodeName) {
      this.forget(uid);
      return;
    }
    const now = clock.now();
    const known = this.stopping.get(uid);
    const since = known?.since ?? now;
    const anyRunning = (pod.status?.containerStatuses ?? []).some((c: KubeObject) => c.state?.running);
    const due = anyRunning ? since + Math.min(grace * 1000, known?.stopAfterMs ?? stopAfterMs) : now;
    if (known && known.due <= due) return;
    known?.timer.abort(STOPPED);
    const timer = new AbortController();
    this.stopping.set(uid, { since, due, timer, stopAfterMs: known?.stopAfterMs ?? stopAfterMs });
    const { namespace, name } = pod.metadata;
    void (async () => {
      await clock.sleep(Math.max(0, due - now), timer.signal);
      const turn = this.ctx.budget.turn();
      if (turn) await turn;
      if (timer.signal.aborted || this.stopping.get(uid)?.timer !== timer) return;
      this.stopping.delete(uid);
      if (this.ctx.store.find(PODS, namespace, name)?.metadata.uid !== uid) return;
      this.ctx.store.delete(PODS, namespace, name, { gracePeriodSeconds: 0, preconditions: { uid } });
    })().catch((error) => {
      if (!timer.signal.aborted) console.error(`kube-sim kubelet: removing pod ${key(namespace, name)}:`, error);
    });
  }

  private forget(uid: string): void {
    const known = this.stopping.get(uid);
    if (!known) return;
    known.timer.abort(STOPPED);
    this.stopping.delete(uid);
  }

  /** Keep the per-node sums of requests: a pod counts from its binding until it is deleted or finished. */
  private account(e: WatchEvent): void {
    const pod = e.object;
    const uid = pod.metadata.uid as string;
    const phase = pod.status?.phase;
    if (e.type === 'DELETED' || phase === 'Succeeded' || phase === 'Failed') {
      const b = this.bound.get(uid);
      if (!b) return;
      this.bound.delete(uid);
      const sum = this.used.get(b.node);
      if (sum) {
        sum.cpu -= b.requests.cpu;
        sum.memory -= b.requests.memory;
      }
      if (b.requests.cpu > 0 || b.requests.memory > 0) this.retryParked(false);
      return;
    }
    const node: string | undefined = pod.spec?.nodeName;
    if (node && !this.bound.has(uid)) this.bind(uid, node, podRequests(pod));
  }

  private bind(uid: string, node: string, requests: Requests): void {
    if (this.bound.has(uid)) return;
    this.bound.set(uid, { node, requests });
    const sum = this.used.get(node) ?? { cpu: 0, memory: 0 };
    sum.cpu += requests.cpu;
    sum.memory += requests.memory;
    this.used.set(node, sum);
  }

  /**
   * The scheduling cycle: the name of a node that fits the pod (round robin among them), or undefined after
   * marking the pod unschedulable and parking it for a retry.
   */
  private schedule(pod: KubeObject, run: Running): string | undefined {
    const nodes = this.ctx.store.list(NODES, undefined).filter((n) => !n.metadata.deletionTimestamp);
    const requests = podRequests(pod);
    const fits: string[] = [];
    const failures: NodeFailure[] = [];
    for (const node of nodes) {
      const failure = filterNode(pod, requests, node, this.used.get(node.metadata.name) ?? NOTHING);
      if (failure) failures.push(failure);
      else fits.push(node.metadata.name);
    }
    if (fits.length > 0) return fits[this.nextNode++ % fits.length];
    this.unschedulable(
      pod,
      run,
      fitErrorMessage(failures),
      failures.some((f) => f.resolvable),
    );
    return undefined;
  }

  /** PodScheduled False/Unschedulable (written when it changes), a FailedScheduling event, and a parked retry. */
  private unschedulable(pod: KubeObject, run: Running, message: string, resources: boolean): void {
    const { store, clock, events } = this.ctx;
    const uid = pod.metadata.uid as string;
    const conditions: KubeObject[] = pod.status?.conditions ?? [];
    const old = conditions.find((c) => c.type === 'PodScheduled');
    if (old?.status !== 'False' || old.reason !== 'Unschedulable' || old.message !== message) {
      const next = setCondition(
        conditions,
        { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message },
        clock.now(),
      ).map((c) => (c.type === 'PodScheduled' ? { type: c.type, status: c.status, lastProbeTime: null, ...c } : c));
      pod = writeStatus(
        store,
        PODS,
        pod,
        { ...pod.status, phase: 'Pending', conditions: next, qosClass: qosClass(pod) },
        'kube-scheduler',
      );
    }
    events.record(pod, 'Warning', 'FailedScheduling', message, { component: 'default-scheduler' });
    this.unpark(uid);
    const timer = new AbortController();
    this.parked.set(uid, { pod, run, resources, timer });
    clock.sleep(UNSCHEDULABLE_RETRY_MS, timer.signal).then(
      () => {
        const parked = this.parked.get(uid);
        if (parked?.timer !== timer) return;
        this.parked.delete(uid);
        this.relaunch(parked);
      },
      () => {},
    );
  }

  private unpark(uid: string): void {
    const parked = this.parked.get(uid);
    if (!parked) return;
    parked.timer.abort(STOPPED);
    this.parked.delete(uid);
  }

  /** Try parked pods again, once per burst of changes: all of them, or those that lacked resources. */
  private retryParked(everyone: boolean): void {
    if (this.parked.size === 0) return;
    this.retryEveryone ||= everyone;
    if (this.retryQueued) return;
    this.retryQueued = true;
    queueMicrotask(() => {
      const all = this.retryEveryone;
      this.retryQueued = false;
      this.retryEveryone = false;
      // In the order they were parked (oldest attempt first), as the scheduling queue pops equal priorities.
      for (const [uid, parked] of [...this.parked]) {
        if (!all && !parked.resources) continue;
        if (this.parked.get(uid) !== parked) continue;
        this.unpark(uid);
        this.relaunch(parked);
      }
    });
  }

  private relaunch(parked: Parked): void {
    if (parked.run.abort.signal.aborted || this.ctx.signal.aborted) return;
    const { namespace, name, uid } = parked.pod.metadata;
    const live = this.ctx.store.find(PODS, namespace, name);
    if (live && live.metadata.uid === uid) this.launch(live, parked.run);
  }

  /** Text for `kubectl logs`: the behaviour's `logs` for that container's image. */
  logs(pod: KubeObject, container: string | undefined): string | undefined {
    const c = (pod.spec?.containers ?? []).find((x: KubeObject) => !container || x.name === container);
    if (!c) return undefined;
    const runToCompletion = (pod.spec?.restartPolicy ?? 'Always') !== 'Always';
    return this.ctx.behaviour.resolve(c.image, runToCompletion).logs;
  }

  private launch(created: KubeObject, run: Running): void {
    const { store, events } = this.ctx;
    const ns = created.metadata.namespace;
    const name = created.metadata.name;
    if (run.abort.signal.aborted) return;
    let pod = store.find(PODS, ns, name);
    if (!pod || pod.metadata.uid !== created.metadata.uid) return;

    let nodeName: string | undefined = pod.spec?.nodeName;
    if (!nodeName) {
      nodeName = this.schedule(pod, run);
      if (!nodeName) return;
      const chosen = nodeName;
      this.bind(pod.metadata.uid as string, chosen, podRequests(pod));
      // The binding subresource, simplified: the scheduler sets spec.nodeName.
      pod = store.modify(
        PODS,
        ns,
        name,
        (draft) => {
          draft.spec.nodeName = chosen;
        },
        { fieldManager: 'kube-scheduler' },
      );
      events.record(pod, 'Normal', 'Scheduled', `Successfully assigned ${ns}/${name} to ${nodeName}`, {
        component: 'default-scheduler',
      });
    }
    const pullWarning = missingPullSecrets(store, pod);
    if (pullWarning) {
      events.record(pod, 'Warning', 'FailedToRetrieveImagePullSecret', pullWarning, {
        component: 'kubelet',
        host: nodeName,
      });
    }
    if (referenceProblem(store, pod)) {
      const node_ = nodeName;
      void this.awaitReferences(pod, run, node_).then((ready) => {
        if (ready) this.runContainers(ready, run, node_);
      });
      return;
    }
    this.runContainers(pod, run, nodeName);
  }

  /**
   * A pod whose ConfigMaps or Secrets are missing waits as the kubelet makes it wait: a volume that cannot be
   * mounted keeps it ContainerCreating (FailedMount, retried with the volume manager's back-off up to 2m2s);
   * an env reference keeps its containers in CreateContainerConfigError (retried every 10 s, the pod worker's
   * back-off). Resolves with the pod once everything is there, or undefined when it went away.
   */
  private async awaitReferences(pod: KubeObject, run: Running, nodeName: string): Promise<KubeObject | undefined> {
    const { store, clock, events } = this.ctx;
    const { namespace: ns, name, uid } = pod.metadata;
    const host = { component: 'kubelet', host: nodeName };
    let mountDelay = MOUNT_RETRY_FIRST_MS;
    for (;;) {
      const live = store.find(PODS, ns, name);
      if (run.abort.signal.aborted || !live || live.metadata.uid !== uid || live.metadata.deletionTimestamp) return;
      const problem = referenceProblem(store, live);
      if (!problem) return live;
      this.reportBlocked(live, problem, nodeName);
      let wait: number;
      if (problem.stage === 'mount') {
        const message = `MountVolume.SetUp failed for volume "${problem.volume}" : ${problem.message}`;
        events.record(live, 'Warning', 'FailedMount', message, host);
        wait = mountDelay;
        mountDelay = Math.min(mountDelay * 2, MOUNT_RETRY_MAX_MS);
      } else {
        const inits = new Set((live.spec?.initContainers ?? []).map((c: KubeObject) => c.name));
        for (const [container, message] of problem.containers) {
          const path = `spec.${inits.has(container) ? 'initContainers' : 'containers'}{${container}}`;
          events.record(live, 'Warning', 'Failed', `Error: ${message}`, host, path);
        }
        wait = CONFIG_RETRY_MS;
      }
      try {
        await clock.sleep(wait, run.abort.signal);
      } catch {
        return;
      }
      const turn = this.ctx.budget.turn();
      if (turn) await turn;
    }
  }

  /** Pending, containers waiting: ContainerCreating before the mount, CreateContainerConfigError after it. */
  private reportBlocked(pod: KubeObject, problem: ReferenceProblem, nodeName: string): void {
    const { store, clock } = this.ctx;
    const now = clock.now();
    const node = store.find(NODES, undefined, nodeName);
    const hostIP = node?.status?.addresses?.find((a: KubeObject) => a.type === 'InternalIP')?.address ?? '172.18.0.2';
    const containers: KubeObject[] = pod.spec?.containers ?? [];
    let conditions: KubeObject[] = pod.status?.conditions ?? [];
    const put = (type: string, ok: boolean, reason?: string, message?: string) => {
      conditions = setCondition(
        conditions,
        { type, status: ok ? 'True' : 'False', ...(reason ? { reason } : {}), ...(message ? { message } : {}) },
        now,
      );
    };
    const unready = `containers with unready status: [${containers.map((c) => c.name).join(' ')}]`;
    put('PodReadyToStartContainers', problem.stage === 'config');
    put('Initialized', true);
    put('Ready', false, 'ContainersNotReady', unready);
    put('ContainersReady', false, 'ContainersNotReady', unready);
    put('PodScheduled', true);
    const waiting = (c: KubeObject) => {
      const message = problem.stage === 'config' ? problem.containers.get(c.name) : undefined;
      return message ? { reason: 'CreateContainerConfigError', message } : { reason: 'ContainerCreating' };
    };
    const status: KubeObject = {
      phase: 'Pending',
      conditions,
      hostIP,
      hostIPs: [{ ip: hostIP }],
      startTime: pod.status?.startTime ?? timestamp(now),
      containerStatuses: containers.map((c) => ({
        name: c.name,
        image: c.image,
        imageID: '',
        ready: false,
        started: false,
        restartCount: 0,
        state: { waiting: waiting(c) },
        lastState: {},
      })),
      qosClass: qosClass(pod),
    };
    if (JSON.stringify(pod.status) !== JSON.stringify(status)) writeStatus(store, PODS, pod, status, 'kubelet');
  }

  private runContainers(pod: KubeObject, run: Running, nodeName: string): void {
    const { store, clock, events } = this.ctx;
    const ns = pod.metadata.namespace;
    const name = pod.metadata.name;
    const created = pod;
    const node = store.find(NODES, undefined, nodeName);
    const hostIP = node?.status?.addresses?.find((a: KubeObject) => a.type === 'InternalIP')?.address ?? '172.18.0.2';
    const podIP = this.allocateIp(node);
    const start = clock.now();
    const restartPolicy: RestartPolicy = pod.spec?.restartPolicy ?? 'Always';
    const runToCompletion = restartPolicy !== 'Always';
    const containers: KubeObject[] = pod.spec?.containers ?? [];
    const behaviours = containers.map((c) => this.ctx.behaviour.resolve(c.image, runToCompletion));
    run.stopAfterMs = Math.max(0, ...behaviours.map((b) => b.stopAfterMs ?? Number.POSITIVE_INFINITY));
    const timelines = containers.map((c, i) =>
      containerTimeline({
        container: c.name,
        image: c.image,
        podName: name,
        namespace: ns,
        behaviour: behaviours[i]!,
        restartPolicy,
        start,
      }),
    );
    const heads: (Step | undefined)[] = timelines.map((t) => t.next().value ?? undefined);
    run.snapshots = containers.map(() => ({
      state: { waiting: { reason: 'ContainerCreating' } },
      lastState: {},
      ready: false,
      started: false,
      restartCount: 0,
    }));
    const base: Record<string, string> = {
      podIP,
      hostIP,
      nodeName: nodeName ?? '',
      startTime: pod.status?.startTime ?? timestamp(start),
    };

    const loop = async () => {
      for (;;) {
        const due = heads.reduce<number | undefined>(
          (m, h) => (h && (m === undefined || h.at < m) ? h.at : m),
          undefined,
        );
        if (due === undefined) return;
        const wait = due - clock.now();
        if (wait > 0) await clock.sleep(wait, run.abort.signal);
        const turn = this.ctx.budget.turn();
        if (turn) await turn;
        if (run.abort.signal.aborted) return;
        const current = store.find(PODS, ns, name);
        if (!current || current.metadata.uid !== created.metadata.uid || current.metadata.deletionTimestamp) return;
        heads.forEach((head, i) => {
          if (!head || head.at > clock.now()) return;
          run.snapshots[i] = head.snapshot;
          const fieldPath = `spec.containers{${containers[i]!.name}}`;
          for (const ev of head.events) {
            events.record(current, ev.type, ev.reason, ev.message, { component: 'kubelet', host: nodeName }, fieldPath);
          }
          heads[i] = head.done ? undefined : (timelines[i]!.next().value ?? undefined);
        });
        this.reportStatus(current, containers, run, base);
      }
    };
    loop().catch((error) => {
      if (!run.abort.signal.aborted) console.error(`kube-sim kubelet: pod ${key(ns, name)}:`, error);
    });
  }

  private allocateIp(node: KubeObject | undefined): string {
    const cidr: string = node?.spec?.podCIDR ?? '10.244.1.0/24';
    const prefix = cidr.split('.').slice(0, 3).join('.');
    const n = (this.ipCounters.get(prefix) ?? 1) + 1;
    this.ipCounters.set(prefix, n);
    // Beyond 254 pods on one node, spill into the next /24 (a simplification).
    const [a, b, c] = prefix.split('.').map(Number) as [number, number, number];
    const third = c + Math.floor((n - 2) / 253);
    return `${a}.${b}.${third}.${((n - 2) % 253) + 2}`;
  }

  private reportStatus(pod: KubeObject, containers: KubeObject[], run: Running, base: Record<string, string>): void {
    const { store, clock } = this.ctx;
    const now = clock.now();
    const snaps = run.snapshots;
    const allReady = snaps.length > 0 && snaps.every((s) => s.ready);
    const terminated = snaps.map((s) => ('terminated' in s.state ? s.state.terminated : undefined));
    let phase: string;
    if (terminated.every((t) => t !== undefined))
      phase = terminated.every((t) => t!.exitCode === 0) ? 'Succeeded' : 'Failed';
    else if (snaps.some((s) => 'running' in s.state || s.restartCount > 0 || 'terminated' in s.lastState))
      phase = 'Running';
    else phase = 'Pending';
    const finished = phase === 'Succeeded' || phase === 'Failed';

    const prevConditions: KubeObject[] = pod.status?.conditions ?? [];
    let conditions = prevConditions;
    const put = (type: string, ok: boolean, reason?: string) => {
      conditions = setCondition(
        conditions,
        { type, status: ok ? 'True' : 'False', ...(ok || !reason ? {} : { reason }) },
        now,
      );
    };
    put('PodReadyToStartContainers', true);
    put('Initialized', true);
    put('Ready', allReady && !finished, finished ? 'PodCompleted' : 'ContainersNotReady');
    put('ContainersReady', allReady && !finished, finished ? 'PodCompleted' : 'ContainersNotReady');
    put('PodScheduled', true);
    for (const c of conditions) if (c.status === 'True') delete c.reason;
    if (!allReady || finished) {
      const notReady = containers.filter((_, i) => !snaps[i]!.ready).map((c) => c.name);
      for (const c of conditions) {
        if ((c.type === 'Ready' || c.type === 'ContainersReady') && c.status === 'False' && !finished) {
          c.message = `containers with unready status: [${notReady.join(' ')}]`;
        }
      }
    }

    const containerStatuses = containers.map((c, i) => {
      const s = snaps[i]!;
      const runningOrDone = 'running' in s.state || 'terminated' in s.state || s.restartCount > 0;
      return {
        name: c.name,
        image: c.image,
        imageID: runningOrDone ? `${c.image.split(':')[0]}@sha256:${imageDigest(c.image)}` : '',
        ...(runningOrDone
          ? { containerID: `containerd://${imageDigest(`${pod.metadata.uid}/${c.name}/${s.restartCount}`)}` }
          : {}),
        ready: s.ready,
        started: s.started,
        restartCount: s.restartCount,
        state: s.state,
        lastState: s.lastState,
      };
    });
    const status: KubeObject = {
      phase,
      conditions,
      hostIP: base.hostIP,
      hostIPs: [{ ip: base.hostIP }],
      podIP: base.podIP,
      podIPs: [{ ip: base.podIP }],
      startTime: base.startTime,
      containerStatuses,
      qosClass: qosClass(pod),
    };
    const live = store.find(PODS, pod.metadata.namespace, pod.metadata.name);
    // Gone, or a new pod with the same name (a StatefulSet's): nothing to report for this one.
    if (!live || live.metadata.uid !== pod.metadata.uid) return;
    writeStatus(store, PODS, live, status, 'kubelet');
  }
}

const digests = new Map<string, string>();

/** A stable fake digest: 64 hex characters derived from the text (remembered: each status report asks again). */
function imageDigest(text: string): string {
  let out = digests.get(text);
  if (out !== undefined) return out;
  out = fakeDigest(text);
  if (digests.size >= 4096) digests.delete(digests.keys().next().value!);
  digests.set(text, out);
  return out;
}

/** 32 hex digits in the 8-4-4-4-12 form of a UUID. */
function uuidOf(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

function fakeDigest(text: string): string {
  let out = '';
  let h = 2166136261;
  for (let round = 0; out.length < 64; round++) {
    for (const ch of `${text}#${round}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
    out += h.toString(16).padStart(8, '0');
  }
  return out.slice(0, 64);
}
