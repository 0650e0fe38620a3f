/**
 * One kube-sim test cluster for every action test, so the set-up lives once: kube-sim with its
 * controllers on a virtual clock (auto-advancing whenever the process is idle), a client, apps created
 * and rolled out as a user would, reads of what a user would look at (images, replicas, the rollout
 * record) straight from the sim's store, and `run`, which executes an action's step on a memory runtime
 * pointed at the cluster.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Clock, VirtualClock } from '@deploy-actions/core/clock';
import { type Deployment, KubeClient, type KubeObject, waitForRollout } from '@deploy-actions/core/kube';
import {
  type ActionDefinition,
  createMemoryRuntime,
  executeAction,
  type MemoryRuntime,
} from '@deploy-actions/core/runtime';
import { KubeSim } from '@deploy-actions/kube-sim';
import { BehaviourTable, type ImageBehaviour } from '@deploy-actions/kube-sim/behaviour';
import { type RunningControllers, startControllers } from '@deploy-actions/kube-sim/controllers/start';
import { installControllers } from '@deploy-actions/kube-sim/defaults';

/** What a run sees of GitHub unless a test says otherwise: enough for run links and lease holders. */
export const GITHUB_ENV: Readonly<Record<string, string>> = {
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_REPOSITORY: 'acme/shop',
  GITHUB_RUN_ID: '4242',
};

export interface ClusterOptions<I = unknown> {
  /** The namespace every helper works in (default `shop`). */
  namespace?: string;
  /** More namespaces to create. */
  namespaces?: string[];
  /** The scenario's seed (pod names, the simulated apps' randomness). Left out: kube-sim's default. */
  seed?: number;
  /** How long every pod takes to become Ready (default `3s`); `false` leaves it to kube-sim. */
  readyAfter?: string | false;
  /** Behaviour of particular images, on top of `readyAfter`. */
  behaviour?: Record<string, ImageBehaviour>;
  /**
   * `simulated` (default): installControllers, so the simulated apps, their metrics and the traffic
   * generator run too. `bare`: only the controllers (startControllers with the cluster's own
   * BehaviourTable), as tests that need no traffic had it. `false`: no controllers at all.
   */
  controllers?: 'simulated' | 'bare' | false;
  /** Advance the virtual clock whenever the process is idle (default true); false: the test advances it. */
  autoAdvance?: boolean;
  /** Environment of every run (default GITHUB_ENV); a run's own `env` goes on top. */
  env?: Record<string, string>;
  /** Give every run the `namespace` input (default true); false: the action must find it (a payload, say). */
  namespaceInput?: boolean;
  /** The action `run` executes (runAction takes any). */
  action?: ActionDefinition<I>;
}

export interface RunOptions {
  env?: Record<string, string>;
  phase?: 'main' | 'post';
  state?: Record<string, string>;
  /** Called with the runtime before the step starts (to cancel it later, for instance). */
  onRuntime?: (rt: MemoryRuntime) => void;
}

export interface RunContext {
  clock?: Clock;
  workspace?: string;
  /** Inputs every run gets (the cluster's kubeconfig and namespace), under the run's own. */
  inputs?: Record<string, string>;
  env?: Record<string, string>;
}

/**
 * Run an action's main step (or its post step) as a runner would, on its own memory runtime. Used by
 * the cluster's `run`, and directly by tests with no cluster (a router outside Kubernetes, helm).
 */
export async function runAction<I>(
  definition: ActionDefinition<I>,
  inputs: Record<string, string>,
  options: RunOptions & { context?: RunContext } = {},
) {
  const context = options.context ?? {};
  const rt = createMemoryRuntime({
    ...(context.clock ? { clock: context.clock } : {}),
    ...(context.workspace ? { workspace: context.workspace } : {}),
    env: { ...context.env, ...options.env },
    inputs: { ...context.inputs, ...inputs },
    ...(options.state ? { state: options.state } : {}),
  });
  options.onRuntime?.(rt);
  const code = await executeAction(definition, rt, options.phase ?? 'main');
  return {
    code,
    rt,
    outputs: rt.outputs,
    summary: rt.flushedSummary,
    errors: rt.lines('error'),
    warnings: rt.lines('warning'),
  };
}

export type RunResult = Awaited<ReturnType<typeof runAction>>;

export interface AppOptions {
  replicas?: number;
  /** A ConfigMap `<name>-config` the app reads through envFrom (what a canary must copy). */
  config?: boolean;
  /** Labels on the Deployment itself, besides app=name (what a selector input matches). */
  labels?: Record<string, string>;
  /** Labels on the pod template, besides app=name (a version label, for instance). */
  podLabels?: Record<string, string>;
  /** Containers after `app` (sidecars). */
  sidecars?: Array<{ name: string; image: string }>;
  /** Default 120; null leaves it to the API server (600). */
  progressDeadlineSeconds?: number | null;
  /** Create the Service `name` selecting app=name (default true). */
  service?: boolean;
}

export type Cluster<I = unknown> = Awaited<ReturnType<typeof startCluster<I>>>;

export async function startCluster<I = unknown>(options: ClusterOptions<I> = {}) {
  const NS = options.namespace ?? 'shop';
  const workspace = mkdtempSync(join(tmpdir(), 'kube-cluster-'));
  const clock = new VirtualClock();
  const namespaces = [NS, ...(options.namespaces ?? [])];
  const sim = await KubeSim.start({
    clock,
    scenario: { namespaces, ...(options.seed === undefined ? {} : { seed: options.seed }) },
  });
  const mode = options.controllers ?? 'simulated';
  let behaviour = new BehaviourTable();
  let controllers: RunningControllers | undefined;
  if (mode === 'simulated') behaviour = installControllers(sim).behaviour;
  if (options.readyAfter !== false) behaviour.set('*', { readyAfter: options.readyAfter ?? '3s' });
  for (const [pattern, entry] of Object.entries(options.behaviour ?? {})) behaviour.set(pattern, entry);
  if (mode === 'bare') controllers = startControllers(sim.store, clock, behaviour);
  const stopAuto = options.autoAdvance === false ? () => {} : clock.startAutoAdvance().stop;
  const client = await KubeClient.connect({ kubeconfig: sim.kubeconfig(), env: {}, workspace }, { clock });

  const find = <T = KubeObject>(resource: string, name: string) => sim.store.find(resource, NS, name) as T | undefined;
  const deployment = (name: string) => find<Deployment>('apps/v1/deployments', name);
  const rolledOut = (name: string) =>
    waitForRollout(client, { kind: 'Deployment', namespace: NS, name }, { clock, timeoutMs: 600_000 });
  const context = (): RunContext => ({
    clock,
    workspace,
    inputs: { kubeconfig: sim.kubeconfig(), ...(options.namespaceInput === false ? {} : { namespace: NS }) },
    env: options.env ?? GITHUB_ENV,
  });

  const cluster = {
    namespace: NS,
    clock,
    sim,
    /** The table that drives the pods (sim.behaviour, or the bare controllers' own). */
    behaviour,
    client,
    workspace,
    find,
    deployment,
    images: (name: string) => deployment(name)?.spec?.template?.spec?.containers?.map((c) => c.image),
    replicas: (name: string) => deployment(name)?.spec?.replicas,
    /** The rollout record deploy-actions keeps for `app` (its ConfigMap), parsed. */
    record: (app: string) => {
      const map = find<{ data?: { record?: string } }>('v1/configmaps', `deploy-actions-${app}`);
      return map?.data?.record ? JSON.parse(map.data.record) : undefined;
    },
    /** uid of every pod the selector matches, sorted. */
    podUids: (selector: string) =>
      (sim.store.list('v1/pods', NS, { labelSelector: selector }) as KubeObject[])
        .map((pod) => pod.metadata?.uid ?? '')
        .sort(),
    /** Every object in the namespace with its resourceVersion: equal snapshots mean nothing changed. */
    snapshot() {
      const versions: Record<string, string> = {};
      for (const resource of [
        'apps/v1/deployments',
        'v1/configmaps',
        'v1/services',
        'networking.k8s.io/v1/ingresses',
        'coordination.k8s.io/v1/leases',
      ])
        for (const item of sim.store.list(resource, NS) as KubeObject[])
          versions[`${resource}/${item.metadata?.name}`] = item.metadata?.resourceVersion ?? '';
      return versions;
    },

    /** A Service `name` selecting app=name, and a Deployment of `replicas` (4) pods running `image`, rolled out. */
    async app(name: string, image: string, app: AppOptions = {}) {
      if (app.config)
        await client.create('ConfigMap', {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `${name}-config`, namespace: NS },
          data: { MODE: 'v1' },
        });
      if (app.service !== false)
        await client.create('Service', {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name, namespace: NS },
          spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
        });
      const deadline = app.progressDeadlineSeconds === undefined ? 120 : app.progressDeadlineSeconds;
      await client.create('Deployment', {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name, namespace: NS, labels: { app: name, ...app.labels } },
        spec: {
          replicas: app.replicas ?? 4,
          ...(deadline === null ? {} : { progressDeadlineSeconds: deadline }),
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name, ...app.podLabels } },
            spec: {
              containers: [
                {
                  name: 'app',
                  image,
                  ...(app.config ? { envFrom: [{ configMapRef: { name: `${name}-config` } }] } : {}),
                },
                ...(app.sidecars ?? []),
              ],
            },
          },
        },
      } satisfies Deployment);
      await rolledOut(name);
    },

    /** A new release: `container` of Deployment `name` runs `image` (and the pod template gets `podLabels`), rolled out. */
    async setImage(name: string, container: string, image: string, podLabels?: Record<string, string>) {
      await client.patch(
        'Deployment',
        { namespace: NS, name },
        {
          spec: {
            template: {
              ...(podLabels ? { metadata: { labels: podLabels } } : {}),
              spec: { containers: [{ name: container, image }] },
            },
          },
        },
        'strategic',
      );
      await rolledOut(name);
    },

    /** Run a step of `definition` against this cluster (its kubeconfig, namespace, clock and workspace). */
    runAction<J>(definition: ActionDefinition<J>, inputs: Record<string, string>, run: RunOptions = {}) {
      return runAction(definition, inputs, { ...run, context: context() });
    },

    /** Run a step of the cluster's action (options.action). */
    run(inputs: Record<string, string>, run: RunOptions = {}) {
      if (!options.action) throw new Error('startCluster: pass options.action to use run(), or call runAction()');
      return runAction(options.action, inputs, { ...run, context: context() });
    },

    /**
     * Call `fn` synchronously on every write of the app's record (watch callbacks run inside the
     * write, so what `fn` reads is the cluster exactly as the step that saved the record left it).
     */
    onRecord(app: string, fn: (record: Record<string, unknown> & { phase: string; weight: number }) => void) {
      return sim.store.watch('v1/configmaps', NS, undefined, (event) => {
        const object = event.object as { metadata?: { name?: string }; data?: { record?: string } };
        if (event.type === 'DELETED' || object.metadata?.name !== `deploy-actions-${app}`) return;
        if (object.data?.record) fn(JSON.parse(object.data.record));
      });
    },

    async stop() {
      stopAuto();
      controllers?.stop();
      await sim.stop();
    },
  };
  return cluster;
}

/** The Gateway API HTTPRoute CRD, as the Gateway API's install manifest registers it. */
export const HTTPROUTE_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'httproutes.gateway.networking.k8s.io' },
  spec: {
    group: 'gateway.networking.k8s.io',
    scope: 'Namespaced',
    names: { plural: 'httproutes', singular: 'httproute', kind: 'HTTPRoute', listKind: 'HTTPRouteList' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
      },
    ],
  },
};
