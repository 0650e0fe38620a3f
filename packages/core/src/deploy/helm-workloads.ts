/** The workloads of a helm release: on the cluster before the upgrade, and in the manifest helm applied. */
import { parseAllDocuments } from 'yaml';
import { isRolloutKind, ROLLOUT_KINDS, type RolloutKind } from '../kube/rollout-status';
import type { KubeObject } from '../kube/types';
import type { HelmOptions } from './types';
import { stateOf, type Tracked, track } from './watch';

/** The release's workloads on the cluster now: helm marks what it installs with its release annotations. */
export async function releaseWorkloads(
  client: HelmOptions['client'],
  namespace: string,
  name: string,
): Promise<KubeObject[]> {
  const found: KubeObject[] = [];
  for (const kind of ROLLOUT_KINDS) {
    const list = await client.list(kind, { namespace });
    for (const object of list.items) {
      const annotations = object.metadata?.annotations ?? {};
      if (annotations['meta.helm.sh/release-name'] !== name) continue;
      if ((annotations['meta.helm.sh/release-namespace'] ?? namespace) !== namespace) continue;
      found.push({ ...object, kind });
    }
  }
  return found;
}

/** The Deployments, StatefulSets and DaemonSets in a release's manifest. */
export function workloadsOf(manifest: string | undefined, namespace: string): Tracked[] {
  if (!manifest) return [];
  const found: Tracked[] = [];
  for (const document of parseAllDocuments(manifest) as ReturnType<typeof parseAllDocuments> & unknown[]) {
    const object = document.toJS() as KubeObject | null;
    if (!object || !isRolloutKind(object.kind) || !object.metadata?.name) continue;
    const placed = { ...object, metadata: { ...object.metadata, namespace: object.metadata.namespace ?? namespace } };
    found.push(track(object.kind as RolloutKind, undefined, placed));
  }
  return found;
}

/** The workloads an upgrade applied, each with what it ran before (from the objects read before the upgrade). */
export function touchedWorkloads(
  manifest: string | undefined,
  namespace: string,
  previous: readonly KubeObject[],
): Tracked[] {
  return workloadsOf(manifest, namespace).map((workload) => {
    const before = previous.find(
      (object) => object.kind === workload.ref.kind && object.metadata?.name === workload.ref.name,
    );
    return { ...workload, before, report: { ...workload.report, before: stateOf(before) } };
  });
}
