/**
 * Promotion: the stables take the new template (full size first, surge-safe), the routers send everything
 * to them, the canary objects go, old config copies are cleaned up; then the post-promotion analysis, whose
 * failure rolls the stables back to the template they ran before.
 */
import { UserError } from '../errors';
import { isNotFound } from '../kube/errors';
import { REVISION_ANNOTATION } from '../kube/rollout-status';
import type { Deployment } from '../kube/types';
import { LeaseLostError } from '../state/lease';
import { APP_LABEL, COPY_OF_ANNOTATION, MANAGED_BY } from '../state/record';
import { finishAbort } from './abort';
import { analyse } from './analysis';
import { type RolloutContext, sentenceOf, type Unit, type VersionedWorkload } from './context';
import { planRestore } from './restore';
import type { RolloutOutcome } from './types';
import { configRefs, imagesOf, renameRefs, withImages } from './workloads';

/** The annotation the replicas router keeps the stable's size in while it shrinks it. */
const STABLE_REPLICAS_ANNOTATION = 'deploy-actions.dev/stable-replicas';

export async function promote(ctx: RolloutContext): Promise<RolloutOutcome> {
  if (ctx.record.phase === 'aborting') return finishAbort(ctx);
  // Two waits for the stables' rollout at most.
  await ctx.holdLease(2 * ctx.settings.rolloutTimeoutMs);
  // A promote run again (the record says promoting): the stables have the new template already, maybe part-way;
  // what they ran before the promotion is what the first promote recorded, and stays so.
  const again = ctx.record.phase === 'promoting';
  await ctx.save({ phase: 'promoting' });
  const { canaryVersion, stableVersion } = ctx.record;
  try {
    await ctx.rt.log.group(`Promote ${canaryVersion}`, () => replaceStables(ctx, again));
  } catch (error) {
    if (error instanceof LeaseLostError) throw error;
    throw new UserError(
      `Promotion of ${canaryVersion} did not finish: ${sentenceOf(error)}. The record says phase promoting; the stable Deployments may be part-way through their rollout to ${canaryVersion}: run action: promote again to finish it, or action: abort (what the post step of this job does with on-cancel: abort; rollback's mode: in-flight does the same) to roll them back to ${stableVersion}, the revision each ran before, with traffic on them and the canary at 0`,
      { cause: error },
    );
  }
  await ctx.save({ phase: 'promoted', weight: 100, reason: `Promoted ${canaryVersion}.` });
  const post = ctx.settings.postPromotion;
  if (post && post.metrics.length > 0) {
    await ctx.holdLease(post.duration);
    const result = await ctx.rt.log.group('Post-promotion analysis', () =>
      analyse(ctx, ctx.settings.steps.length, 100, post.metrics, post.duration),
    );
    if (result && result.verdict !== 'pass') return rollBackStable(ctx, `post-promotion analysis: ${result.reason}`);
  }
  return ctx.outcome('promoted', `Promoted ${canaryVersion} to 100%.`);
}

/** The stables onto the new template, the routers to them, the canary objects removed. */
async function replaceStables(ctx: RolloutContext, again: boolean): Promise<void> {
  const { namespace } = ctx.settings;
  const { client } = ctx;
  for (const unit of ctx.units) {
    unit.stable = await client.get<Deployment>('Deployment', { namespace, name: unit.record.stable });
    if (!again) {
      const revision = Number(unit.stable.metadata?.annotations?.[REVISION_ANNOTATION]);
      if (Number.isFinite(revision)) unit.record.stableRevision = revision;
      unit.record.stableTemplate = {
        images: imagesOf(unit.stable.spec?.template),
        ...configRefs(unit.stable.spec?.template),
      };
    }
    // A pin to the old pods would leave the stable Service without pods once they are replaced.
    await unit.router.releaseStable?.();
    await unit.router.releaseAutoscaler?.();
  }
  await ctx.save({ workloads: ctx.units.map((unit) => unit.record) });
  // The replicas router shrank the stable while the canary took its share: back to full size (and Ready)
  // before its pods are replaced, so the rolling update never takes capacity below the stable's size.
  for (const unit of ctx.units) {
    const current = await client.get<Deployment>('Deployment', { namespace, name: unit.record.stable });
    const base = Number(current.metadata?.annotations?.[STABLE_REPLICAS_ANNOTATION]);
    if (Number.isInteger(base) && base > (current.spec?.replicas ?? 0))
      await client.patch('Deployment', { namespace, name: unit.record.stable }, { spec: { replicas: base } }, 'merge');
  }
  await ctx.waitForStables();
  for (const unit of ctx.units)
    await client.patch('Deployment', { namespace, name: unit.record.stable }, promotionPatch(ctx, unit), 'json');
  await ctx.waitForStables();
  for (const unit of ctx.units) await unit.router.promote();
  ctx.timeline.push({ at: ctx.rt.clock.now(), weight: 100, actual: 100 });
  for (const unit of ctx.units)
    for (const side of [unit.record.canary, unit.record.baseline])
      if (side)
        await client.delete('Deployment', { namespace, name: side }).catch((error: unknown) => {
          if (!isNotFound(error)) throw error;
        });
  ctx.log.info(`The stable Deployments run ${ctx.record.canaryVersion}; canary objects removed`);
  // A template given whole (staged rollback) made no copies and removes none: the copies it references belong
  // to the releases that made them, and the version it replaced may be rolled forward to again.
  if (ctx.units.every((unit) => unit.promotionTemplate === undefined)) await removeOldCopies(ctx);
}

/**
 * After promotion: config copies of this app older than the two versions rollback needs (the stable's new
 * one and the one it ran before) are deleted, as are an aborted release's. A copy any Deployment in the
 * namespace still references is kept. A failure here is a warning: the release is out.
 */
async function removeOldCopies(ctx: RolloutContext): Promise<void> {
  const { namespace } = ctx.settings;
  const keep = new Set<string>();
  for (const unit of ctx.units)
    for (const map of [unit.record.configCopies.configMaps, unit.record.configCopies.secrets])
      for (const [before, after] of Object.entries(map)) keep.add(before).add(after);
  try {
    for (const name of await ctx.referencedConfig()) keep.add(name);
    const selector = `${Object.entries(MANAGED_BY)
      .map(([key, value]) => `${key}=${value}`)
      .join(',')},${APP_LABEL}=${ctx.store.app}`;
    for (const kind of ['ConfigMap', 'Secret'] as const) {
      const list = await ctx.client.list(kind, { namespace, labelSelector: selector });
      for (const object of list.items) {
        const name = object.metadata?.name ?? '';
        if (object.metadata?.annotations?.[COPY_OF_ANNOTATION] === undefined || keep.has(name)) continue;
        await ctx.client.delete(kind, { namespace, name }).catch((error: unknown) => {
          if (!isNotFound(error)) throw error;
        });
        ctx.log.info(`${kind} ${name}: removed (a config copy no version in use or kept for rollback needs)`);
      }
    }
  } catch (error) {
    ctx.log.warning(`Old config copies of ${ctx.store.app} were not removed: ${(error as Error).message}`);
  }
}

/** Post-promotion failure: undo each stable to the revision it had before promotion. */
async function rollBackStable(ctx: RolloutContext, reason: string): Promise<RolloutOutcome> {
  const { namespace } = ctx.settings;
  for (const unit of ctx.units) {
    const stable = await ctx.client.get<Deployment>('Deployment', { namespace, name: unit.record.stable });
    const plan = await planRestore(ctx, unit, stable);
    if (plan?.kind === 'patch')
      await ctx.client.patch('Deployment', { namespace, name: unit.record.stable }, plan.patch, 'json');
  }
  await ctx.waitForStables();
  const text = `Rolled back to ${ctx.record.stableVersion} because ${reason}`;
  await ctx.save({ phase: 'rolled-back', weight: 0, reason: text });
  // Reported once, by the action, as the outcome's failure.
  return ctx.outcome('rolled-back', text);
}

/**
 * The JSON patch that gives the stable the new template: the one given whole, else the stable's own with the
 * canary's images and versioned config (labels kept).
 */
export function promotionPatch(ctx: RolloutContext, unit: Unit) {
  const template =
    unit.promotionTemplate ??
    renameRefs(
      withImages(
        unit.stable.spec!.template!,
        unit.record.canaryImages,
        (unit.record as VersionedWorkload).canaryVersion ?? ctx.record.canaryVersion,
      ),
      unit.record.configCopies,
    );
  return [{ op: 'replace', path: '/spec/template', value: template }];
}
