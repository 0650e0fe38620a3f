/**
 * strategy rolling without manifests: set images on existing Deployments
 * (strategic merge patches), after checking that every named container exists.
 */
import { InputError } from '../errors';
import type { KubeClient } from '../kube/client';
import type { Deployment } from '../kube/types';
import { findDeployments, setImagesPatch } from '../kube/workloads';
import type { Runtime } from '../runtime/port';
import { imagesOfObject } from './manifests';
import type { RollingChange } from './rolling-apply';
import { beginDeployState, type DeploySession } from './state';
import type { AppliedObject, RollingOptions } from './types';
import { checkAnalysis, type Tracked, track } from './watch';

/** Finds the Deployments, takes the lease, records the plan and patches each; returns what changed. */
export async function setImages(
  rt: Runtime,
  options: RollingOptions,
  session: DeploySession,
  namespace: string,
  mark: (event: string) => void,
): Promise<RollingChange> {
  const { client } = options;
  const dryRun = options.dryRun ?? false;
  const images = imagesToSet(options);
  const deployments = await findDeployments(client, {
    namespace,
    names: options.deployments,
    selector: options.selector,
  });
  const app = options.app ?? deployments[0]?.metadata?.name ?? '';
  // Every Deployment must have the named containers before any is patched.
  const patches = deployments.map((deployment) => setImagesPatch(deployment, images));
  // Nothing has changed yet: there are no workloads of this deploy for the queries to target.
  await checkAnalysis(rt, options, namespace, app, () => []);
  if (!dryRun) await beginImageChange(rt, options, session, { namespace, app, deployments, images });
  mark(`Setting images on ${deployments.length} Deployment(s)${dryRun ? ' (dry run)' : ''}`);
  // The record's workloads grow as each patch lands: an error half-way records the ones patched so far.
  const workloads: Tracked[] = [];
  session.workloads = workloads;
  const objects = await Promise.all(
    deployments.map(async (deployment, index) => {
      const patched = await patchImages(client, namespace, deployment, patches[index], dryRun);
      workloads.push(patched.workload);
      return patched.object;
    }),
  );
  workloads.sort((a, b) => a.ref.name.localeCompare(b.ref.name));
  objects.sort((a, b) => a.name.localeCompare(b.name));
  const waiting = dryRun ? workloads : workloads.filter((workload) => workload.report.status !== 'unchanged');
  return { namespace, app, objects, workloads, waiting };
}

/** The images input, checked against the inputs that need manifests. */
function imagesToSet(options: RollingOptions): Record<string, string> {
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
  return images;
}

/** Takes the lease, hands the plan to onBeforeChange and records the Deployments before the first patch. */
async function beginImageChange(
  rt: Runtime,
  options: RollingOptions,
  session: DeploySession,
  change: { namespace: string; app: string; deployments: Deployment[]; images: Record<string, string> },
): Promise<void> {
  const { namespace, app, deployments, images } = change;
  session.state = await beginDeployState(rt, options, 'rolling', namespace, app);
  const planned = deployments.map((deployment) => {
    const current = imagesOfObject(deployment);
    for (const [container, image] of Object.entries(images)) if (container in current) current[container] = image;
    return { kind: 'Deployment', name: deployment.metadata?.name ?? '', images: current };
  });
  await options.onBeforeChange?.({ strategy: 'rolling', namespace, app, workloads: planned });
  // The revision each Deployment is at is what an undo returns to.
  const deploying = deployments.map((deployment, index) => {
    const tracked = track('Deployment', deployment, deployment);
    tracked.report.after = { revision: undefined, images: planned[index]!.images };
    return tracked;
  });
  await session.state?.save('deploying', deploying);
}

/** One Deployment's patch: the object as the outcome lists it, and the workload to await (unless unchanged). */
async function patchImages(
  client: KubeClient,
  namespace: string,
  deployment: Deployment,
  patch: ReturnType<typeof setImagesPatch> | undefined,
  dryRun: boolean,
): Promise<{ object: AppliedObject; workload: Tracked }> {
  const name = deployment.metadata?.name ?? '';
  const after = await client.patch<Deployment>('Deployment', { namespace, name }, patch, 'strategic', {
    dryRun,
    fieldManager: 'deploy-actions',
  });
  const unchanged = !dryRun && after.metadata?.generation === deployment.metadata?.generation;
  const workload = track('Deployment', deployment, after);
  if (unchanged) workload.report.status = 'unchanged';
  const object: AppliedObject = {
    kind: 'Deployment',
    apiVersion: 'apps/v1',
    namespace,
    name,
    outcome: dryRun ? 'planned' : unchanged ? 'unchanged' : 'configured',
  };
  return { object, workload };
}
