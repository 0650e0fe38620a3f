/**
 * Shared setup of the router tests: kube-sim on loopback (HTTPS), a
 * KubeClient connected the way a user's would be, the CRDs of the mesh and
 * gateway APIs registered through apiextensions.k8s.io/v1, and builders of
 * the objects a team already has in its namespace.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeSim } from '@deploy-actions/kube-sim';
import type { Clock } from '../src/clock';
import { KubeClient } from '../src/kube/client';
import type { ResourceType } from '../src/kube/resources';
import type { Deployment, KubeObject } from '../src/kube/types';
import type { TrafficTarget } from '../src/routing';

export const NS = 'prod';

export const CRD: ResourceType = {
  group: 'apiextensions.k8s.io',
  version: 'v1',
  plural: 'customresourcedefinitions',
  namespaced: false,
};
export const HTTPROUTE: ResourceType = {
  group: 'gateway.networking.k8s.io',
  version: 'v1',
  plural: 'httproutes',
  namespaced: true,
};
export const VIRTUALSERVICE: ResourceType = {
  group: 'networking.istio.io',
  version: 'v1',
  plural: 'virtualservices',
  namespaced: true,
};
export const VIRTUALSERVICE_BETA: ResourceType = { ...VIRTUALSERVICE, version: 'v1beta1' };
export const TRAFFICSPLIT: ResourceType = {
  group: 'split.smi-spec.io',
  version: 'v1alpha2',
  plural: 'trafficsplits',
  namespaced: true,
};

export const target: TrafficTarget = {
  namespace: NS,
  app: 'web',
  stable: { deployment: 'web', service: 'web' },
  canary: { deployment: 'web-canary', service: 'web-canary' },
};

export interface Cluster {
  sim: KubeSim;
  client: KubeClient;
  stop(): Promise<void>;
}

export async function startCluster(options: { clock?: Clock } = {}): Promise<Cluster> {
  const sim = await KubeSim.start({
    scenario: { namespaces: [NS] },
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const workspace = mkdtempSync(join(tmpdir(), 'routing-'));
  const client = await KubeClient.connect(
    { kubeconfig: sim.kubeconfig(), env: {}, workspace },
    options.clock ? { clock: options.clock } : {},
  );
  return { sim, client, stop: () => sim.stop() };
}

function crd(group: string, kind: string, plural: string, versions: string[]): KubeObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: versions.map((name, i) => ({
        name,
        served: true,
        storage: i === 0,
        schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
      })),
    },
  };
}

/** The CRDs a Gateway API / Istio / SMI installation brings, created over the API as kubectl apply would. */
export async function registerCrds(client: KubeClient): Promise<void> {
  for (const definition of [
    crd('gateway.networking.k8s.io', 'HTTPRoute', 'httproutes', ['v1', 'v1beta1']),
    crd('networking.istio.io', 'VirtualService', 'virtualservices', ['v1', 'v1beta1']),
    crd('split.smi-spec.io', 'TrafficSplit', 'trafficsplits', ['v1alpha2', 'v1alpha4']),
  ])
    await client.create(CRD, definition);
}

export function service(name: string, selector: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: NS },
    spec: { selector, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  };
}

/** A Deployment whose pods carry `labels`; it selects them by `selector` (default: all of `labels`). */
export function deployment(
  name: string,
  replicas: number,
  labels: Record<string, string>,
  image: string,
  selector: Record<string, string> = labels,
): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS, labels: { app: 'web' } },
    spec: {
      replicas,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: 'app', image, ports: [{ containerPort: 8080 }] }] },
      },
    },
  };
}
