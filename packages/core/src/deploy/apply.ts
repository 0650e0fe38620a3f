/**
 * Server-side apply of the prepared manifests (fieldManager deploy-actions),
 * in dependency order (namespaces and CRDs first, workloads after the
 * ConfigMaps, Secrets and Services they use), and prune of what an earlier
 * apply of the same app left behind.
 */
import type { KubeClient } from '../kube/client';
import { FIELD_MANAGER } from '../kube/client';
import { isNotFound } from '../kube/errors';
import { RESOURCES, type ResourceType } from '../kube/resources';
import type { KubeObject } from '../kube/types';
import { COPY_OF_ANNOTATION, ROLE_LABEL, recordName, VERSION_LABEL } from '../state/record';
import type { ManifestObject } from './manifests';
import type { AppliedObject } from './types';

/** Labels on every object this suite applies, so a later apply can prune what it dropped. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'deploy-actions';
export const APP_LABEL = 'deploy-actions.dev/app';

/** Apply order, as Helm installs: what others refer to goes first. Unlisted kinds go last. */
const ORDER = [
  'Namespace',
  'CustomResourceDefinition',
  'ServiceAccount',
  'Role',
  'RoleBinding',
  'Secret',
  'ConfigMap',
  'PersistentVolumeClaim',
  'Service',
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'Job',
  'CronJob',
  'HorizontalPodAutoscaler',
  'PodDisruptionBudget',
  'Ingress',
];

/** Kinds prune looks at (never PersistentVolumeClaims or Namespaces: their data outlives a manifest). */
const PRUNABLE: Record<string, ResourceType> = {
  ConfigMap: RESOURCES.ConfigMap,
  Secret: RESOURCES.Secret,
  Service: RESOURCES.Service,
  Deployment: RESOURCES.Deployment,
  StatefulSet: RESOURCES.StatefulSet,
  DaemonSet: RESOURCES.DaemonSet,
  Job: RESOURCES.Job,
  CronJob: RESOURCES.CronJob,
  Ingress: RESOURCES.Ingress,
  HorizontalPodAutoscaler: RESOURCES.HorizontalPodAutoscaler,
  ServiceAccount: { group: '', version: 'v1', plural: 'serviceaccounts', namespaced: true },
  PodDisruptionBudget: { group: 'policy', version: 'v1', plural: 'poddisruptionbudgets', namespaced: true },
};

export interface PreparedObject {
  item: ManifestObject;
  resource: ResourceType;
  /** As the cluster had it before this apply (undefined: did not exist). */
  before?: KubeObject | undefined;
  /** As the apply left it. */
  after?: KubeObject | undefined;
  outcome?: AppliedObject['outcome'];
}

function rank(kind: string | undefined): number {
  const index = ORDER.indexOf(kind ?? '');
  return index < 0 ? ORDER.length : index;
}

/** Runs `fn` over `items` with at most `limit` at once. */
export async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  });
  await Promise.all(workers);
}

function ref(prepared: PreparedObject) {
  const meta = prepared.item.object.metadata;
  return { namespace: prepared.resource.namespaced ? meta?.namespace : undefined, name: meta?.name };
}

/**
 * Reads what each object is now (to report created / configured / unchanged
 * and to know what an undo goes back to), then applies rank by rank; objects
 * of one rank go out together.
 */
export async function applyObjects(
  client: KubeClient,
  objects: PreparedObject[],
  options: {
    dryRun: boolean;
    onApplied?: (object: PreparedObject) => void;
    /** After the reads, before the first write: the state record learns what an undo would return to. */
    onBeforeWrite?: () => Promise<void>;
  },
): Promise<void> {
  await eachLimited(objects, 16, async (prepared) => {
    prepared.before = await client.get(prepared.resource, ref(prepared)).catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });
  });
  await options.onBeforeWrite?.();
  const ranks = [...new Set(objects.map((prepared) => rank(prepared.item.object.kind)))].sort((a, b) => a - b);
  for (const current of ranks) {
    const batch = objects.filter((prepared) => rank(prepared.item.object.kind) === current);
    await eachLimited(batch, 16, async (prepared) => {
      // force: the workflow is the source of truth for the fields it sets (as Flux and Argo CD apply),
      // so fields an earlier `kubectl apply` or `kubectl edit` took over are taken back instead of failing.
      prepared.after = await client.patch(prepared.resource, ref(prepared), prepared.item.object, 'apply', {
        fieldManager: FIELD_MANAGER,
        force: true,
        dryRun: options.dryRun,
      });
      prepared.outcome = options.dryRun
        ? 'planned'
        : prepared.before === undefined
          ? 'created'
          : prepared.before.metadata?.resourceVersion === prepared.after.metadata?.resourceVersion
            ? 'unchanged'
            : 'configured';
      options.onApplied?.(prepared);
    });
  }
}

/**
 * Canary and blue-green label what they make with the same managed-by and app labels: the rollout record
 * ConfigMap, the canary / baseline / green Deployments (role label) and the versioned ConfigMap / Secret copies a
 * promoted stable runs on (version label, copy-of annotation). None of them is in anyone's manifests, and deleting
 * them would lose the record or break the promoted pods, so prune never touches them.
 */
function madeByRollout(object: KubeObject, app: string): boolean {
  const meta = object.metadata ?? {};
  return (
    meta.name === recordName(app) ||
    meta.labels?.[ROLE_LABEL] !== undefined ||
    meta.labels?.[VERSION_LABEL] !== undefined ||
    meta.annotations?.[COPY_OF_ANNOTATION] !== undefined
  );
}

/**
 * Deletes objects labelled for `app` by an earlier apply that are not among
 * `kept`, in the namespaces the manifests use. Only the kinds in PRUNABLE
 * (and kinds the manifests hold) are looked at.
 */
export async function prune(
  client: KubeClient,
  app: string,
  kept: readonly PreparedObject[],
  namespaces: readonly string[],
  dryRun: boolean,
): Promise<AppliedObject[]> {
  const resources = new Map<string, ResourceType>();
  for (const prepared of kept) {
    if (prepared.resource.namespaced) resources.set(prepared.item.object.kind!, prepared.resource);
  }
  for (const [kind, resource] of Object.entries(PRUNABLE)) if (!resources.has(kind)) resources.set(kind, resource);
  const keep = new Set(
    kept.map((prepared) => `${prepared.item.object.kind}/${ref(prepared).namespace}/${ref(prepared).name}`),
  );
  const labelSelector = `${MANAGED_BY_LABEL}=${MANAGED_BY},${APP_LABEL}=${app}`;
  const pruned: AppliedObject[] = [];
  for (const namespace of namespaces) {
    for (const [kind, resource] of resources) {
      const list = await client.list(resource, { namespace, labelSelector }).catch((error: unknown) => {
        if (isNotFound(error)) return { items: [] as KubeObject[] };
        throw error;
      });
      for (const object of list.items) {
        const name = object.metadata?.name ?? '';
        if (keep.has(`${kind}/${namespace}/${name}`)) continue;
        // Objects a controller made from ours (ReplicaSets, Jobs of a CronJob) carry no labels of ours; owned ones are skipped anyway.
        if ((object.metadata?.ownerReferences ?? []).some((owner) => owner.controller)) continue;
        if (madeByRollout(object, app)) continue;
        // A dry run only lists: no request that deletes, not even a server-side dry-run one.
        if (!dryRun) await client.delete(resource, { namespace, name }, { propagationPolicy: 'Background' });
        pruned.push({
          kind,
          apiVersion: resource.group === '' ? resource.version : `${resource.group}/${resource.version}`,
          namespace,
          name,
          outcome: dryRun ? 'planned' : 'pruned',
        });
      }
    }
  }
  return pruned;
}
