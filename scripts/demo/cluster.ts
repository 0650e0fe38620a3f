/**
 * The demo's production: kube-sim on loopback with the market app (Deployment `market`, 10 pods behind the
 * Service `market` in namespace `prod`), simulated traffic to it, and what each version of the image does:
 * the good releases answer as the runbook's baseline says (0.02 % errors, under its 0.05 %; p99 about 500 ms), the bad one fails
 * 8 % of its requests and answers slowly.
 */
import { join } from 'node:path';
import { KubeSim } from '@deploy-actions/kube-sim';
import { installControllers, type SimulatedCluster } from '@deploy-actions/kube-sim/defaults';
import { LiveMetrics } from './metrics';

export const NAMESPACE = 'prod';
export const APP = 'market';
/** Requests per second the simulated users send (accelerated: the canary's 5 % still sees 50 a second). */
const RPS = 1000;

export interface Production {
  sim: KubeSim;
  cluster: SimulatedCluster;
  metrics: LiveMetrics;
  kubeconfig: string;
  stop(): Promise<void>;
}

const GOOD = { readyAfter: '200ms', http: { errorRate: 0.0002, latencyMs: { p50: 120, p99: 480 } } };
const BAD = { readyAfter: '200ms', http: { errorRate: 0.08, latencyMs: { p50: 300, p99: 2600 } } };

export async function startProduction(image: string, workdir: string): Promise<Production> {
  const sim = await KubeSim.start({ port: 0 });
  const cluster = installControllers(sim, { seed: 21 });
  for (const tag of ['v1.0.0', 'v1.1.0']) cluster.behaviour.set(`${image}:${tag}`, GOOD);
  cluster.behaviour.set(`${image}:v1.2.0`, BAD);
  const kubeconfig = join(workdir, 'kubeconfig.yaml');
  sim.writeKubeconfig(kubeconfig);
  const labels = { app: APP };
  await sim.store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
  await sim.store.create({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: APP, namespace: NAMESPACE, labels },
    spec: {
      replicas: 10,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: APP, image: `${image}:v1.0.0`, ports: [{ containerPort: 8080 }] }] },
      },
    },
  });
  await sim.store.create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: APP, namespace: NAMESPACE },
    spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] },
  });
  await ready(sim);
  const traffic = cluster.traffic.start({ service: APP, namespace: NAMESPACE, rps: RPS, path: '/api/listings' });
  const metrics = new LiveMetrics(() => cluster.apps.metrics.render());
  await metrics.start();
  return {
    sim,
    cluster,
    metrics,
    kubeconfig,
    async stop() {
      traffic.stop();
      await metrics.stop();
      await sim.stop();
    },
  };
}

/** Wait (on kube-sim's watch) until the market Deployment has all its pods ready. */
function ready(sim: KubeSim): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = sim.store.watch('apps/v1/deployments', NAMESPACE, undefined, (event) => {
      const d = event.object as { spec?: { replicas?: number }; status?: { readyReplicas?: number } };
      if ((d.status?.readyReplicas ?? 0) === d.spec?.replicas) {
        stop();
        resolve();
      }
    });
  });
}

/** The image the stable Deployment runs now, read from kube-sim's store. */
export function stableImage(sim: KubeSim): string {
  const d = sim.store.get('apps/v1/deployments', NAMESPACE, APP) as {
    spec: { template: { spec: { containers: { image: string }[] } } };
  };
  return d.spec.template.spec.containers[0]!.image;
}

/**
 * The weight canary-promote has set for `version`, from its rollout record (the ConfigMap
 * `deploy-actions-market`, which a later run reads to pick up where this one stopped).
 */
export function rolloutWeight(sim: KubeSim, version: string): number {
  const record = sim.store.find('v1/configmaps', NAMESPACE, `deploy-actions-${APP}`) as
    | { data?: { record?: string } }
    | undefined;
  if (record?.data?.record === undefined) return 0;
  const { weight, phase, canaryVersion } = JSON.parse(record.data.record) as Record<string, unknown>;
  // The record of the release before says 100 % (promoted) until this one starts.
  if (canaryVersion !== version || phase === 'aborted') return 0;
  return Number(weight);
}
