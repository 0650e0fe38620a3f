/**
 * Installs the simulated kube-controller-manager, scheduler and kubelet on a KubeSim, with the behaviour
 * table that drives pods (`sim.behaviour`), the simulated apps behind the service proxy, their metrics
 * listener (`sim.metricsUrl`) and the traffic generator (`sim.traffic`).
 */
import { SimulatedApps } from './apps/apps';
import { MetricsListener } from './apps/listener';
import { TrafficGenerator } from './apps/traffic';
import { BehaviourTable, type ImageBehaviour } from './behaviour';
import { Random } from './controllers/random';
import { type RunningControllers, startControllers } from './controllers/start';
import type { KubeSim } from './kube-sim';

export interface InstallOptions {
  /** Seed of the random generator (pod names, error rates, latencies). Default: the scenario's `seed`, else 1. */
  seed?: number;
  /** Node names to create when the sim has none. */
  nodes?: string[];
  /** Port of the metrics listener (default: any free port). */
  metricsPort?: number;
  /** Real-time slice after which simulated work lets API requests through (default 2 ms on a real clock). */
  yieldAfterMs?: number;
}

/** What installControllers adds to a KubeSim. */
export interface SimulatedCluster {
  behaviour: BehaviourTable;
  apps: SimulatedApps;
  traffic: TrafficGenerator;
  /** `http://127.0.0.1:<port>/metrics`, once the sim has started. */
  readonly metricsUrl: string;
  /** The running controllers (undefined before start and after stop). */
  readonly runningControllers: RunningControllers | undefined;
}

declare module './index' {
  interface KubeSim extends SimulatedCluster {}
}

const installed = new WeakMap<object, SimulatedCluster>();

/**
 * Register the controllers on a sim (once; later calls return the same handle). Scenario keys read:
 * `behaviour` (or `images`): `{ '<image pattern>': { readyAfter: '5s', ... } }`, and `seed`.
 */
export function installControllers(sim: KubeSim, options: InstallOptions = {}): SimulatedCluster {
  const existing = installed.get(sim);
  if (existing) return existing;
  const scenario = (sim.scenario ?? {}) as Record<string, unknown>;
  const behaviour = new BehaviourTable().load(
    (scenario.behaviour ?? scenario.images) as Record<string, ImageBehaviour> | undefined,
  );
  const seed = options.seed ?? (typeof scenario.seed === 'number' ? scenario.seed : 1);
  const random = new Random(seed ^ 0x5eed);
  const apps = new SimulatedApps(sim.store, sim.clock, behaviour, random);
  const traffic = new TrafficGenerator(sim.store, sim.clock, apps, random);
  const listener = new MetricsListener(apps.metrics);
  let running: RunningControllers | undefined;
  const cluster: SimulatedCluster = {
    behaviour,
    apps,
    traffic,
    get metricsUrl() {
      return listener.url;
    },
    get runningControllers() {
      return running;
    },
  };
  installed.set(sim, cluster);
  for (const name of ['behaviour', 'apps', 'traffic', 'metricsUrl', 'runningControllers'] as const) {
    Object.defineProperty(sim, name, { get: () => cluster[name], configurable: true });
  }
  sim.registerProxyHandler((req) => apps.proxy(req));
  sim.registerLogHandler((req) => running?.kubelet.logs(req.pod, req.container));
  void sim.registerController({
    async start() {
      running = startControllers(sim.store, sim.clock, behaviour, {
        seed,
        requestCounts: () => apps.metrics.requestsByPod(),
        ...(options.nodes ? { nodes: options.nodes } : {}),
        ...(options.yieldAfterMs !== undefined ? { yieldAfterMs: options.yieldAfterMs } : {}),
      });
      await listener.start(options.metricsPort);
    },
    async stop() {
      traffic.stopAll();
      running?.stop();
      running = undefined;
      await listener.stop();
    },
  });
  return cluster;
}

export { BehaviourTable, type ImageBehaviour } from './behaviour';
