/**
 * Shared set-up of the canary-promote scenario and lifecycle tests: kube-sim
 * with its controllers, simulated apps and traffic generator on one virtual
 * clock (auto-advancing whenever the process is idle), a client, and helpers
 * that read what a user would look at (images, replicas, routing objects, the
 * record) straight from the sim's store.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '@deploy-actions/core/clock';
import { type Deployment, KubeClient, type KubeObject, waitForRollout } from '@deploy-actions/core/kube';
import { createMemoryRuntime, executeAction } from '@deploy-actions/core/runtime';
import { KubeSim } from '@deploy-actions/kube-sim';
import { installControllers } from '@deploy-actions/kube-sim/defaults';
import canaryPromote from '../src/main';

export const NS = 'shop';

export type Cluster = Awaited<ReturnType<typeof startCluster>>;

export async function startCluster(seed = 1) {
  const workspace = mkdtempSync(join(tmpdir(), 'canary-cluster-'));
  const clock = new VirtualClock();
  const sim = await KubeSim.start({ clock, scenario: { namespaces: [NS], seed } });
  installControllers(sim);
  sim.behaviour.set('*', { readyAfter: '3s' });
  const stopAuto = clock.startAutoAdvance().stop;
  const client = await KubeClient.connect({ kubeconfig: sim.kubeconfig(), env: {}, workspace }, { clock });

  const find = <T = KubeObject>(resource: string, name: string) => sim.store.find(resource, NS, name) as T | undefined;
  const deployment = (name: string) => find<Deployment>('apps/v1/deployments', name);

  const cluster = {
    clock,
    sim,
    client,
    workspace,
    find,
    deployment,
    images: (name: string) => deployment(name)?.spec?.template?.spec?.containers?.map((c) => c.image),
    replicas: (name: string) => deployment(name)?.spec?.replicas,
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

    /** A Service `name` selecting app=name, and a Deployment of `replicas` pods running `image`, rolled out. */
    async app(
      name: string,
      image: string,
      options: { replicas?: number; config?: boolean; extraLabels?: Record<string, string> } = {},
    ) {
      if (options.config)
        await client.create('ConfigMap', {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `${name}-config`, namespace: NS },
          data: { MODE: 'v1' },
        });
      await client.create('Service', {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace: NS },
        spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
      });
      await client.create('Deployment', {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name, namespace: NS, labels: { app: name } },
        spec: {
          replicas: options.replicas ?? 4,
          progressDeadlineSeconds: 120,
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name, ...options.extraLabels } },
            spec: {
              containers: [
                {
                  name: 'app',
                  image,
                  ...(options.config ? { envFrom: [{ configMapRef: { name: `${name}-config` } }] } : {}),
                },
              ],
            },
          },
        },
      } satisfies Deployment);
      await waitForRollout(client, { kind: 'Deployment', namespace: NS, name }, { clock, timeoutMs: 600_000 });
    },

    /** The Service the nginx and gateway-api routers send the canary share to: the canary pods only. */
    async canaryService(name: string) {
      await client.create('Service', {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: `${name}-canary`, namespace: NS },
        spec: {
          selector: { app: name, 'deploy-actions.dev/role': 'canary' },
          ports: [{ port: 80, targetPort: 8080 }],
        },
      });
    },

    /** Run the action's main step (or its post step) as a runner would, with its own memory runtime. */
    async run(
      inputs: Record<string, string>,
      options: {
        env?: Record<string, string>;
        phase?: 'main' | 'post';
        state?: Record<string, string>;
        /** Called with the runtime before the step starts (to cancel it later, for instance). */
        onRuntime?: (rt: ReturnType<typeof createMemoryRuntime>) => void;
      } = {},
    ) {
      const rt = createMemoryRuntime({
        clock,
        workspace,
        env: {
          GITHUB_SERVER_URL: 'https://github.com',
          GITHUB_REPOSITORY: 'acme/shop',
          GITHUB_RUN_ID: '4242',
          ...options.env,
        },
        inputs: { kubeconfig: sim.kubeconfig(), namespace: NS, ...inputs },
        ...(options.state ? { state: options.state } : {}),
      });
      options.onRuntime?.(rt);
      const code = await executeAction(canaryPromote, rt, options.phase ?? 'main');
      return {
        code,
        rt,
        outputs: rt.outputs,
        summary: rt.flushedSummary,
        errors: rt.lines('error'),
        warnings: rt.lines('warning'),
      };
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
