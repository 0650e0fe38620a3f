/** Starts every simulated controller on one store and clock. */
import { type Clock, VirtualClock } from '@deploy-actions/core/clock';
import type { BehaviourTable } from '../behaviour';
import type { ObjectStore } from '../store';
import type { ControllerContext } from './context';
import { CronJobController } from './cronjob';
import { DaemonSetController } from './daemonset';
import { appsDefaults } from './defaulting';
import { DeploymentController } from './deployment';
import { EndpointsController } from './endpoints';
import { EventRecorder } from './events';
import { HorizontalPodAutoscalerController } from './hpa';
import { JobController } from './job';
import { ensureNodes, Kubelet } from './kubelet';
import { OwnerIndex } from './owner-index';
import type { RequestCounts } from './pod-metrics';
import { Budget } from './queue';
import { Random } from './random';
import { ReplicaSetController } from './replicaset';
import { StatefulSetController } from './statefulset';

export interface RunningControllers {
  readonly context: ControllerContext;
  readonly kubelet: Kubelet;
  stop(): void;
}

export interface StartOptions {
  seed?: number;
  nodes?: string[];
  /**
   * Reconcile bursts hand the event loop back after this many ms, so API requests stay fast under load.
   * Default: 2 on a real clock (measured in bench/kube-sim against 1, 4 and 8: the lowest request latency
   * without a longer rollout); Infinity on a VirtualClock, where a test's advance() must see every
   * reconcile finish (auto-advance waits for quiet either way).
   */
  yieldAfterMs?: number;
  /**
   * Requests answered so far per `<namespace>/<pod>`: the load behind the `cpu.perRps` behaviour the HPA
   * controller's metrics read (installControllers passes the simulated apps' counters). Without it, pods use
   * their `cpu.idle` only.
   */
  requestCounts?: RequestCounts;
}

const defaultedStores = new WeakSet<ObjectStore>();

export function startControllers(
  store: ObjectStore,
  clock: Clock,
  behaviour: BehaviourTable,
  options: StartOptions = {},
): RunningControllers {
  const abort = new AbortController();
  const context: ControllerContext = {
    store,
    clock,
    behaviour,
    random: new Random(options.seed ?? 1),
    events: new EventRecorder(store, clock),
    signal: abort.signal,
    pods: new OwnerIndex(store, 'v1/pods'),
    replicaSets: new OwnerIndex(store, 'apps/v1/replicasets'),
    budget: new Budget(options.yieldAfterMs ?? (clock instanceof VirtualClock ? Number.POSITIVE_INFINITY : 2)),
  };
  // Admission steps cannot be removed from the store; a flag makes a second start reuse the first.
  if (!defaultedStores.has(store)) {
    defaultedStores.add(store);
    store.addAdmission(appsDefaults);
  }
  ensureNodes(context, options.nodes);
  const kubelet = new Kubelet(context);
  const stops = [
    context.pods.start(),
    context.replicaSets.start(),
    kubelet.start(),
    new ReplicaSetController(context).start(),
    new DeploymentController(context).start(),
    new StatefulSetController(context).start(),
    new DaemonSetController(context).start(),
    new JobController(context).start(),
    new CronJobController(context).start(),
    new EndpointsController(context).start(),
    new HorizontalPodAutoscalerController(context, options.requestCounts).start(),
  ];
  return {
    context,
    kubelet,
    stop() {
      abort.abort();
      for (const stop of stops.reverse()) stop();
    },
  };
}
