/**
 * strategy: rolling. Everything is checked before the first write (manifests
 * parse, kinds exist, every `${VAR}` has a value, every image names a
 * container, namespaces agree, analysis queries are accepted); then the
 * manifests are applied (or images set on existing Deployments), every
 * changed workload is awaited within one timeout, the metrics are watched for
 * `monitor`, and a failure undoes each changed workload and fails the step.
 */
import { InputError } from '../errors';
import { resolveNamespace } from '../kube/inputs';
import type { RolloutKind } from '../kube/rollout-status';
import { isRolloutKind } from '../kube/rollout-status';
import type { Deployment } from '../kube/types';
import { findDeployments, setImagesPatch } from '../kube/workloads';
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
import { type DeploySession, DeployState, withSession } from './state';
import type { AppliedObject, DeployOutcome, RollingOptions } from './types';
import { checkAnalysis, describeState, monitor, type Tracked, track, undoAll, waitAll } from './watch';

export async function runRolling(rt: Runtime, options: RollingOptions): Promise<DeployOutcome> {
  return withSession(rt, (session) => rolling(rt, options, session));
}

async function rolling(rt: Runtime, options: RollingOptions, session: DeploySession): Promise<DeployOutcome> {
  const { client } = options;
  const requestsBefore = client.requests;
  const timeline: DeployOutcome['timeline'] = [];
  const mark = (event: string) => {
    timeline.push({ at: new Date(rt.clock.now()).toISOString(), event });
    rt.log.info(event);
  };
  const dryRun = options.dryRun ?? false;
  let namespace = resolveNamespace(options.namespace, client.contextNamespace);
  let app = options.app ?? '';
  let objects: AppliedObject[] = [];
  let workloads: Tracked[] = session.workloads;
  const outcome = (verdict: DeployOutcome['verdict'], extra: Partial<DeployOutcome> = {}): DeployOutcome => ({
    strategy: 'rolling',
    verdict,
    namespace,
    app,
    objects,
    workloads: workloads.map((workload) => workload.report),
    explanation: [],
    timeline,
    requests: client.requests - requestsBefore,
    settings: settingsOf(options),
    ...extra,
  });

  if (options.manifests !== undefined && options.manifests.length > 0) {
    const prepared = await prepareManifests(rt, options);
    app = prepared.app;
    namespace = prepared.namespace;
    await checkAnalysis(rt, options, namespace, app, () => workloads);
    if (!dryRun) {
      session.state = await beginState(rt, options, namespace, app);
      await options.onBeforeChange?.({
        strategy: 'rolling',
        namespace,
        app,
        workloads: prepared.objects
          .filter((object) => isRolloutKind(object.item.object.kind))
          .map(({ item }) => ({
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
        session.workloads = prepared.objects
          .filter((object) => isRolloutKind(object.item.object.kind))
          .map((object) => track(object.item.object.kind as RolloutKind, object.before, object.item.object));
        await session.state?.save('deploying', session.workloads);
      },
    });
    objects = prepared.objects.map((object) => ({
      kind: object.item.object.kind!,
      apiVersion: object.item.object.apiVersion!,
      namespace: object.resource.namespaced ? object.item.object.metadata?.namespace : undefined,
      name: object.item.object.metadata?.name ?? '',
      outcome: object.outcome ?? 'planned',
      source: object.item.source,
    }));
    for (const object of objects) rt.log.info(`${object.kind.toLowerCase()}/${object.name} ${object.outcome}`);
    if (options.prune) {
      const namespaces = [...new Set(objects.map((object) => object.namespace).filter((ns) => ns !== undefined))];
      const pruned = await prune(client, app, prepared.objects, namespaces, dryRun);
      for (const object of pruned)
        mark(`Pruned ${object.kind.toLowerCase()}/${object.name} (no longer in the manifests)`);
      objects.push(...pruned);
    }
    workloads = prepared.objects
      .filter((object) => isRolloutKind(object.item.object.kind) && object.after !== undefined)
      .filter((object) => dryRun || object.outcome === 'created' || object.outcome === 'configured')
      .map((object) => track(object.item.object.kind as RolloutKind, object.before, object.after!));
    session.workloads = workloads;
    // A changed workload whose template stayed (replicas, labels) rolls nothing out but is still awaited.
  } else {
    const images = options.images ?? {};
    // Both act on manifests: without them there is nothing to inject into or to compare against.
    if (options.imagePullSecrets !== undefined && options.imagePullSecrets.length > 0) {
      throw new InputError(
        'image-pull-secrets',
        'works on the pod templates of the manifests being applied; without manifests, add imagePullSecrets to the Deployments themselves',
        options.imagePullSecrets.join(', '),
        'ghcr-pull (with manifests: k8s/production/)',
      );
    }
    if (options.prune) {
      throw new InputError(
        'prune',
        'deletes what the manifests no longer hold, so it needs manifests',
        'true',
        'false (or give manifests: k8s/production/)',
      );
    }
    if (Object.keys(images).length === 0) {
      throw new InputError(
        'images',
        'strategy rolling needs manifests to apply, or images to set on the Deployments',
        undefined,
        'web=ghcr.io/acme/web:v1.2.3',
      );
    }
    const deployments = await findDeployments(client, {
      namespace,
      names: options.deployments,
      selector: options.selector,
    });
    app = options.app ?? deployments[0]?.metadata?.name ?? '';
    // Every Deployment must have the named containers before any is patched.
    const patches = deployments.map((deployment) => setImagesPatch(deployment, images));
    await checkAnalysis(rt, options, namespace, app, () => workloads);
    if (!dryRun) {
      session.state = await beginState(rt, options, namespace, app);
      const planned = deployments.map((deployment) => {
        const current = imagesOfObject(deployment);
        for (const [container, image] of Object.entries(images)) if (container in current) current[container] = image;
        return { kind: 'Deployment', name: deployment.metadata?.name ?? '', images: current };
      });
      await options.onBeforeChange?.({ strategy: 'rolling', namespace, app, workloads: planned });
      // Recorded before the first patch: the revision each Deployment is at is what an undo returns to.
      const deploying = deployments.map((deployment, index) => {
        const tracked = track('Deployment', deployment, deployment);
        tracked.report.after = { revision: undefined, images: planned[index]!.images };
        return tracked;
      });
      await session.state?.save('deploying', deploying);
    }
    mark(`Setting images on ${deployments.length} Deployment(s)${dryRun ? ' (dry run)' : ''}`);
    const changed: Tracked[] = [];
    await Promise.all(
      deployments.map(async (deployment, index) => {
        const name = deployment.metadata?.name ?? '';
        const after = await client.patch<Deployment>('Deployment', { namespace, name }, patches[index], 'strategic', {
          dryRun,
          fieldManager: 'deploy-actions',
        });
        const unchanged = !dryRun && after.metadata?.generation === deployment.metadata?.generation;
        objects.push({
          kind: 'Deployment',
          apiVersion: 'apps/v1',
          namespace,
          name,
          outcome: dryRun ? 'planned' : unchanged ? 'unchanged' : 'configured',
        });
        const tracked = track('Deployment', deployment, after);
        if (unchanged) tracked.report.status = 'unchanged';
        else changed.push(tracked);
        workloads.push(tracked);
      }),
    );
    workloads.sort((a, b) => a.ref.name.localeCompare(b.ref.name));
    objects.sort((a, b) => a.name.localeCompare(b.name));
    if (!dryRun) {
      const waiting = workloads.filter((workload) => workload.report.status !== 'unchanged');
      session.workloads = waiting;
      return finish(rt, options, waiting, mark, outcome, session.state);
    }
  }
  if (dryRun) {
    for (const workload of workloads) workload.report.message = 'dry run: the server accepted the change';
    mark('Dry run: the API server validated every object; nothing was changed');
    return outcome('planned');
  }
  return finish(rt, options, workloads, mark, outcome, session.state);
}

/** The lease and record, when the caller gave this run's identity. */
async function beginState(rt: Runtime, options: RollingOptions, namespace: string, app: string) {
  if (options.holder === undefined) return undefined;
  return DeployState.begin(rt, options.client, { namespace, app, strategy: 'rolling', ...options.holder });
}

/** The inputs that shaped the deploy beyond the manifests, as the summary lists them. */
function settingsOf(options: RollingOptions): Record<string, string> | undefined {
  const settings: Record<string, string> = {};
  if (options.imagePullSecrets !== undefined && options.imagePullSecrets.length > 0) {
    settings['image-pull-secrets'] = options.imagePullSecrets.join(', ');
  }
  if (options.prune) settings['prune'] = 'true';
  return Object.keys(settings).length > 0 ? settings : undefined;
}

/** Wait, monitor, and undo on failure: the part after the change, shared by apply and set-image. */
async function finish(
  rt: Runtime,
  options: RollingOptions,
  waiting: readonly Tracked[],
  mark: (event: string) => void,
  outcome: (verdict: DeployOutcome['verdict'], extra?: Partial<DeployOutcome>) => DeployOutcome,
  state: DeployState | undefined,
): Promise<DeployOutcome> {
  const { client } = options;
  mark(`Waiting for ${waiting.length} workload(s) to roll out`);
  const waited = await waitAll(rt, client, waiting, options.timeoutMs);
  if (waited.failed.length > 0) {
    const names = waited.failed.map((workload) => `${workload.ref.kind.toLowerCase()}/${workload.ref.name}`);
    const reason = `${names.join(', ')} did not roll out: ${waited.failed[0]!.report.message}${
      waited.explanation.length > 0 ? `\n${waited.explanation.join('\n')}` : ''
    }`;
    mark(`Rollout failed: ${names.join(', ')}`);
    for (const line of waited.explanation) rt.log.error(line);
    if (options.undoOnFailure === false) return outcome('failed', { failure: reason, explanation: waited.explanation });
    return undo(rt, options, waiting, reason, mark, outcome, { explanation: waited.explanation });
  }
  mark(
    `Rolled out: ${waiting.map((workload) => `${workload.ref.name} ${describeState(workload.report.after)}`).join('; ')}`,
  );
  const { namespace, app } = outcome('deployed');
  if (options.analysis?.length && options.monitorMs) await state?.save('monitoring', waiting);
  const analysis = await monitor(rt, options, namespace, app, waiting);
  if (analysis === undefined) return outcome('deployed');
  mark(`Monitoring: ${analysis.verdict}: ${analysis.reason}`);
  if (analysis.verdict === 'fail') {
    return undo(rt, options, waiting, `Monitoring failed: ${analysis.reason}`, mark, outcome, { analysis });
  }
  if (analysis.verdict === 'inconclusive') {
    // No data is not evidence of harm: keep the release, say so loudly.
    rt.log.warning(`Monitoring was inconclusive, the release stays: ${analysis.reason}`);
  }
  return outcome('deployed', { analysis });
}

async function undo(
  rt: Runtime,
  options: RollingOptions,
  workloads: readonly Tracked[],
  reason: string,
  mark: (event: string) => void,
  outcome: (verdict: DeployOutcome['verdict'], extra?: Partial<DeployOutcome>) => DeployOutcome,
  extra: Partial<DeployOutcome>,
): Promise<DeployOutcome> {
  mark(`Undoing ${workloads.length} workload(s): ${reason.split('\n')[0]}`);
  // The undo gets its own time limit: the rollout may have used all of the first.
  const { undone, problems } = await undoAll(rt, options.client, workloads, options.timeoutMs);
  if (problems.length > 0) {
    mark(`Undo incomplete: ${problems.join('; ')}`);
    return outcome('failed', { ...extra, failure: `${reason}\nThe undo did not finish: ${problems.join('; ')}` });
  }
  if (undone.length === 0) {
    // Only new workloads failed: there is no earlier version to go back to.
    mark('Nothing to undo: the failed workloads were created by this deploy');
    return outcome('failed', {
      ...extra,
      failure: `${reason}\nNothing was rolled back: the failed workloads are new, with no earlier revision.`,
    });
  }
  mark(`Undone: ${undone.map((workload) => workload.ref.name).join(', ')}`);
  return outcome('rolled-back', {
    ...extra,
    failure: `${reason}\nRolled back ${undone.map((w) => `${w.ref.kind.toLowerCase()}/${w.ref.name}`).join(', ')} to the previous revision.`,
  });
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
