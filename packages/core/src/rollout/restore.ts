/**
 * Putting a stable back on the template it ran before the promotion: the abort of a promotion and the
 * post-promotion rollback both use it.
 */
import { UserError } from '../errors';
import { planUndo, revisionOf, type UndoPlan } from '../kube/history';
import type { Deployment, PodTemplateSpec } from '../kube/types';
import { deploymentReplicaSets, describeImages } from '../kube/workloads';
import type { RolloutContext, Unit } from './context';
import { configRefs, equalImages, imagesOf } from './workloads';

/**
 * The undo that puts a stable back on the template it ran before the promotion (images and config references,
 * as the first promote recorded them; older records: the images at start and none of the new config copies).
 * Undefined when it runs that template already. The target is found by template, not by revision number:
 * Kubernetes gives a restored ReplicaSet the next revision, so the recorded number is gone after one undo.
 */
export async function planRestore(ctx: RolloutContext, unit: Unit, stable: Deployment): Promise<UndoPlan | undefined> {
  const before = unit.record.stableTemplate;
  const copies = new Set([
    ...Object.values(unit.record.configCopies.configMaps),
    ...Object.values(unit.record.configCopies.secrets),
  ]);
  const images = before?.images ?? unit.record.stableImages;
  const isBefore = (template: PodTemplateSpec | undefined) => {
    if (!equalImages(imagesOf(template), images)) return false;
    const refs = configRefs(template);
    if (before)
      return (
        refs.configMaps.join('\n') === [...before.configMaps].sort().join('\n') &&
        refs.secrets.join('\n') === [...before.secrets].sort().join('\n')
      );
    return ![...refs.configMaps, ...refs.secrets].some((name) => copies.has(name));
  };
  if (isBefore(stable.spec?.template)) return undefined;
  const name = stable.metadata!.name!;
  const replicaSets = await deploymentReplicaSets(ctx.client, stable);
  const revisions = replicaSets
    .filter((replicaSet) => isBefore(replicaSet.spec?.template))
    .map(revisionOf)
    .filter((revision): revision is number => revision !== undefined);
  if (revisions.length === 0) {
    // The template compared is the images and the ConfigMap/Secret names its pods use: the hand fix needs both.
    const config = before
      ? [
          `ConfigMaps: ${[...before.configMaps].sort().join(', ') || 'none'}`,
          `Secrets: ${[...before.secrets].sort().join(', ') || 'none'}`,
        ].join('; ')
      : copies.size > 0
        ? `none of the ConfigMap/Secret copies ${[...copies].sort().join(', ')}`
        : '';
    throw new UserError(
      `Deployment ${name} has no ReplicaSet left with the template it ran before the promotion (${describeImages(images)}${config ? `; ${config}` : ''}; revisions: ${
        replicaSets
          .map(revisionOf)
          .filter((revision) => revision !== undefined)
          .sort((a, b) => a - b)
          .join(', ') || 'none'
      }): give it those images${config ? ' and those ConfigMap and Secret names' : ''} by hand (rollback with mode: kubernetes and its revision, or kubectl set image${config ? ' plus kubectl edit for the ConfigMap and Secret references' : ''})`,
    );
  }
  const recorded = unit.record.stableRevision;
  const target = recorded !== undefined && revisions.includes(recorded) ? recorded : Math.max(...revisions);
  return planUndo(stable, replicaSets, target);
}
