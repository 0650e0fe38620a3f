/**
 * A Deployment's revision history and the undo that `kubectl rollout undo`
 * performs (k8s.io/kubectl/pkg/polymorphichelpers/rollback.go), as pure
 * functions over the Deployment and its ReplicaSets: the caller lists them and
 * sends the patch, so tests and dry runs see exactly what would change.
 */
import { UserError } from '../errors';
import { canonicalJson } from '../json';
import { REVISION_ANNOTATION } from './rollout-status';
import type { Deployment, PodTemplateSpec, ReplicaSet } from './types';

/** The label the Deployment controller adds to each ReplicaSet's pods; never part of a revision's identity. */
export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';
export const CHANGE_CAUSE_ANNOTATION = 'kubernetes.io/change-cause';

/**
 * The versions an undo of ours rolled back from (a JSON list of image sets, `container=image,...`): a later
 * undo to "the previous revision" skips them, so rolling back twice never re-deploys the bad version.
 */
export const ROLLED_BACK_FROM_ANNOTATION = 'deploy-actions.dev/rolled-back-from';

/** Annotations that describe the Deployment itself and so are kept, not restored, on undo (kubectl's annotationsToSkip). */
const DEPLOYMENT_OWN_ANNOTATIONS = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION_ANNOTATION,
  'deployment.kubernetes.io/revision-history',
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
  ROLLED_BACK_FROM_ANNOTATION,
]);

export interface Revision {
  revision: number;
  replicaSet: string;
  /** container name → image */
  images: Record<string, string>;
  changeCause?: string;
  createdAt?: string;
  /** Replicas the ReplicaSet runs now (the current revision has them, old ones usually 0). */
  replicas: number;
}

/** The ReplicaSets this Deployment controls, as its controller reference says. */
export function ownedReplicaSets(deployment: Deployment, replicaSets: readonly ReplicaSet[]): ReplicaSet[] {
  const uid = deployment.metadata?.uid;
  return replicaSets.filter((replicaSet) =>
    replicaSet.metadata?.ownerReferences?.some(
      (owner) =>
        owner.controller === true &&
        owner.kind === 'Deployment' &&
        (uid === undefined ? owner.name === deployment.metadata?.name : owner.uid === uid),
    ),
  );
}

export function revisionOf(replicaSet: ReplicaSet): number | undefined {
  const value = replicaSet.metadata?.annotations?.[REVISION_ANNOTATION];
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

export function templateImages(template: PodTemplateSpec | undefined): Record<string, string> {
  const images: Record<string, string> = {};
  for (const container of template?.spec?.containers ?? []) images[container.name] = container.image ?? '';
  return images;
}

/** Every revision of the Deployment, oldest first (what `kubectl rollout history` lists). */
export function revisionHistory(deployment: Deployment, replicaSets: readonly ReplicaSet[]): Revision[] {
  const revisions: Revision[] = [];
  for (const replicaSet of ownedReplicaSets(deployment, replicaSets)) {
    const revision = revisionOf(replicaSet);
    if (revision === undefined) continue;
    const changeCause = replicaSet.metadata?.annotations?.[CHANGE_CAUSE_ANNOTATION];
    revisions.push({
      revision,
      replicaSet: replicaSet.metadata?.name ?? '',
      images: templateImages(replicaSet.spec?.template),
      ...(changeCause === undefined ? {} : { changeCause }),
      ...(replicaSet.metadata?.creationTimestamp === undefined
        ? {}
        : { createdAt: replicaSet.metadata.creationTimestamp }),
      replicas: replicaSet.status?.replicas ?? replicaSet.spec?.replicas ?? 0,
    });
  }
  return revisions.sort((a, b) => a.revision - b.revision);
}

export type UndoPlan =
  | {
      kind: 'patch';
      /** The revision being restored and the one it replaces. */
      from: Revision | undefined;
      to: Revision;
      /** A JSON patch (application/json-patch+json), exactly what kubectl sends. */
      patch: Array<{ op: 'replace'; path: string; value: unknown }>;
    }
  | { kind: 'skip'; to: Revision; reason: string };

/**
 * What `kubectl rollout undo [--to-revision=N]` would do: restore the pod template
 * and annotations of the chosen ReplicaSet. `toRevision` 0 (or undefined) means
 * the revision before the newest. Throws a UserError naming the revisions that
 * exist when the target does not.
 */
export function planUndo(deployment: Deployment, replicaSets: readonly ReplicaSet[], toRevision = 0): UndoPlan {
  const name = deployment.metadata?.name ?? '';
  const history = revisionHistory(deployment, replicaSets);
  const rolledBack = rolledBackFrom(deployment);
  const known = history.map((entry) => entry.revision).join(', ') || 'none';
  if (!Number.isInteger(toRevision) || toRevision < 0) {
    throw new UserError(`Revision ${toRevision} of deployment "${name}" does not exist; revisions: ${known}`);
  }
  let target: Revision | undefined;
  if (toRevision > 0) {
    target = history.find((entry) => entry.revision === toRevision);
    if (target === undefined) {
      throw new UserError(`Revision ${toRevision} of deployment "${name}" does not exist; revisions: ${known}`);
    }
  } else {
    target = history.length >= 2 ? history[history.length - 2] : undefined;
    if (target === undefined) {
      throw new UserError(`Deployment "${name}" has no previous revision to roll back to (revisions: ${known})`);
    }
    // The newest earlier revision that is not a version rolled back from (nor the one running now).
    const running = imagesKey(templateImages(deployment.spec?.template));
    const good = history
      .slice(0, -1)
      .filter((entry) => !rolledBack.has(imagesKey(entry.images)) && imagesKey(entry.images) !== running);
    target = good.at(-1);
    if (target === undefined) {
      const bad = history.slice(0, -1).map((entry) => `${entry.revision} (${imagesKey(entry.images)})`);
      throw new UserError(
        `Deployment "${name}" has no earlier good revision to roll back to: revisions ${bad.join(', ')} run versions already rolled back from (or the one running now)`,
        { hint: 'Give to-revision to choose one anyway, or mode: image with to-version' },
      );
    }
  }
  if (deployment.spec?.paused) {
    throw new UserError(`Deployment "${name}" is paused; resume it before rolling back`, {
      hint: `kubectl rollout resume deployment/${name}`,
    });
  }
  const replicaSet = ownedReplicaSets(deployment, replicaSets).find((rs) => rs.metadata?.name === target.replicaSet);
  const restored = withoutHashLabel(replicaSet?.spec?.template);
  if (canonicalJson(restored) === canonicalJson(withoutHashLabel(deployment.spec?.template))) {
    return { kind: 'skip', to: target, reason: `current template already matches revision ${target.revision}` };
  }
  const annotations: Record<string, string> = {};
  for (const [key, value] of Object.entries(deployment.metadata?.annotations ?? {})) {
    if (DEPLOYMENT_OWN_ANNOTATIONS.has(key)) annotations[key] = value;
  }
  for (const [key, value] of Object.entries(replicaSet?.metadata?.annotations ?? {})) {
    if (!DEPLOYMENT_OWN_ANNOTATIONS.has(key)) annotations[key] = value;
  }
  // The version replaced now joins the versions rolled back from.
  rolledBack.add(imagesKey(templateImages(deployment.spec?.template)));
  annotations[ROLLED_BACK_FROM_ANNOTATION] = JSON.stringify([...rolledBack]);
  const current = Number(deployment.metadata?.annotations?.[REVISION_ANNOTATION]);
  return {
    kind: 'patch',
    from: history.find((entry) => entry.revision === current),
    to: target,
    patch: [
      { op: 'replace', path: '/spec/template', value: restored },
      { op: 'replace', path: '/metadata/annotations', value: annotations },
    ],
  };
}

/** `app=web:1.2,proxy=envoy:1.30`: a version as the images of its containers, sorted by container. */
export function imagesKey(images: Record<string, string>): string {
  return Object.keys(images)
    .sort()
    .map((container) => `${container}=${images[container]}`)
    .join(',');
}

/** The image sets the Deployment's undos rolled back from (its annotation; unreadable counts as none). */
export function rolledBackFrom(deployment: Deployment): Set<string> {
  const text = deployment.metadata?.annotations?.[ROLLED_BACK_FROM_ANNOTATION];
  try {
    const list: unknown = text === undefined ? [] : JSON.parse(text);
    return new Set(Array.isArray(list) ? list.filter((item): item is string => typeof item === 'string') : []);
  } catch {
    return new Set();
  }
}

function withoutHashLabel(template: PodTemplateSpec | undefined): PodTemplateSpec {
  const copy = structuredClone(template ?? {});
  if (copy.metadata?.labels) {
    delete copy.metadata.labels[POD_TEMPLATE_HASH_LABEL];
  }
  return copy;
}
