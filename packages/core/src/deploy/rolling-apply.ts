/**
 * strategy rolling with manifests: read, substitute and check them (nothing
 * written), then apply them with server-side apply and prune what they dropped.
 */
import { InputError } from '../errors';
import { resolveNamespace } from '../kube/inputs';
import { isRolloutKind, type RolloutKind } from '../kube/rollout-status';
import type { Runtime } from '../runtime/port';
import { APP_LABEL, applyObjects, MANAGED_BY, MANAGED_BY_LABEL, type PreparedObject, prune } from './apply';
import { resolveKinds } from './kinds';
import {
  imagesOfObject,
  injectPullSecrets,
  loadValues,
  manifestFiles,
  readManifests,
  substituteImages,
} from './manifests';
import { beginDeployState, type DeploySession } from './state';
import type { AppliedObject, RollingOptions } from './types';
import { checkAnalysis, type Tracked, track } from './watch';

/** What a rolling change did: where, to which app, the objects it wrote and the workloads it changed. */
export interface RollingChange {
  namespace: string;
  app: string;
  objects: AppliedObject[];
  /** Every workload the change touched, as the outcome lists them. */
  workloads: Tracked[];
  /** The ones to wait for (a patch that changed nothing is not awaited). */
  waiting: Tracked[];
}

/** Checks the manifests, takes the lease, applies them (the record follows), prunes; returns what changed. */
export async function applyManifests(
  rt: Runtime,
  options: RollingOptions,
  session: DeploySession,
  mark: (event: string) => void,
): Promise<RollingChange> {
  const { client } = options;
  const dryRun = options.dryRun ?? false;
  const prepared = await prepareManifests(rt, options);
  const { namespace, app } = prepared;
  // Nothing has changed yet: there are no workloads of this deploy for the queries to target.
  await checkAnalysis(rt, options, namespace, app, () => []);
  const rollouts = prepared.objects.filter((object) => isRolloutKind(object.item.object.kind));
  if (!dryRun) {
    session.state = await beginDeployState(rt, options, 'rolling', namespace, app);
    await options.onBeforeChange?.({
      strategy: 'rolling',
      namespace,
      app,
      workloads: rollouts.map(({ item }) => ({
        kind: item.object.kind!,
        name: item.object.metadata?.name ?? '',
        images: imagesOfObject(item.object),
      })),
    });
  }
  mark(`Applying ${prepared.objects.length} object(s) with server-side apply${dryRun ? ' (dry run)' : ''}`);
  await applyObjects(client, prepared.objects, {
    dryRun,
    onBeforeWrite: async () => {
      session.workloads = rollouts.map((object) =>
        track(object.item.object.kind as RolloutKind, object.before, object.item.object),
      );
      await session.state?.save('deploying', session.workloads);
    },
  });
  const objects = prepared.objects.map(appliedObject);
  for (const object of objects) rt.log.info(`${object.kind.toLowerCase()}/${object.name} ${object.outcome}`);
  if (options.prune) {
    const namespaces = [...new Set(objects.map((object) => object.namespace).filter((ns) => ns !== undefined))];
    const pruned = await prune(client, app, prepared.objects, namespaces, dryRun);
    for (const object of pruned)
      mark(`Pruned ${object.kind.toLowerCase()}/${object.name} (no longer in the manifests)`);
    objects.push(...pruned);
  }
  // A changed workload whose template stayed (replicas, labels) rolls nothing out but is still awaited.
  const workloads = rollouts
    .filter((object) => object.after !== undefined)
    .filter((object) => dryRun || object.outcome === 'created' || object.outcome === 'configured')
    .map((object) => track(object.item.object.kind as RolloutKind, object.before, object.after!));
  return { namespace, app, objects, workloads, waiting: workloads };
}

function appliedObject(object: PreparedObject): AppliedObject {
  return {
    kind: object.item.object.kind!,
    apiVersion: object.item.object.apiVersion!,
    namespace: object.resource.namespaced ? object.item.object.metadata?.namespace : undefined,
    name: object.item.object.metadata?.name ?? '',
    outcome: object.outcome ?? 'planned',
    source: object.item.source,
  };
}

interface Prepared {
  objects: PreparedObject[];
  namespace: string;
  app: string;
}

/** Reads, substitutes, labels and checks the manifests; nothing is written. */
async function prepareManifests(rt: Runtime, options: RollingOptions): Promise<Prepared> {
  const files = manifestFiles(options.manifests ?? [], rt.workspace);
  const values = options.valuesFile ? loadValues(options.valuesFile, rt.workspace, options.environment) : {};
  const items = readManifests(files, rt.workspace, values);
  if (items.length === 0) {
    throw new InputError('manifests', 'the files hold no Kubernetes object', options.manifests?.join(', '), 'k8s/');
  }
  if (options.images && Object.keys(options.images).length > 0) substituteImages(items, options.images);
  injectPullSecrets(items, options.imagePullSecrets ?? []);
  const resources = await resolveKinds(options.client, items);
  // As kubectl: objects without a namespace go to the input's, else the kubeconfig context's, else default.
  const defaultNamespace = resolveNamespace(options.namespace, options.client.contextNamespace);
  const mismatches: string[] = [];
  for (const item of items) {
    const meta = item.object.metadata!;
    if (!resources.get(item)!.namespaced) {
      delete meta.namespace;
      continue;
    }
    if (meta.namespace === undefined || meta.namespace === '') meta.namespace = defaultNamespace;
    else if (options.namespace !== undefined && meta.namespace !== options.namespace) {
      mismatches.push(`${item.source} (${item.object.kind} ${meta.name}) says namespace "${meta.namespace}"`);
    }
  }
  if (mismatches.length > 0) {
    throw new InputError(
      'namespace',
      `the manifests name another namespace: ${mismatches.join('; ')}. Remove metadata.namespace from them or make it match`,
      options.namespace,
      mismatches.length > 0 ? (items[0]?.object.metadata?.namespace ?? 'production') : 'production',
    );
  }
  const firstWorkload = items.find((item) => isRolloutKind(item.object.kind)) ?? items[0]!;
  const app = options.app ?? firstWorkload.object.metadata!.name!;
  for (const item of items) {
    const meta = item.object.metadata!;
    meta.labels = { ...meta.labels, [MANAGED_BY_LABEL]: MANAGED_BY, [APP_LABEL]: app };
  }
  const namespace = options.namespace ?? firstWorkload.object.metadata?.namespace ?? defaultNamespace;
  return {
    objects: items.map((item) => ({ item, resource: resources.get(item)! })),
    namespace,
    app,
  };
}
