/**
 * Finalize: a blue-green rollout that switched is promoted (blue goes); after promoted, aborted or rolled-back
 * what is left is removed (Deployments, config copies of an aborted version). A canary still in flight is
 * refused: removing its pods would leave the stable shrunk and the record in flight.
 */
import { UserError } from '../errors';
import { finishAbort } from './abort';
import type { RolloutContext } from './context';
import { promote } from './promote';
import type { RolloutOutcome } from './types';

export async function finalize(ctx: RolloutContext): Promise<RolloutOutcome> {
  if (ctx.record.phase === 'aborting') await finishAbort(ctx);
  const { phase, app, weight } = ctx.record;
  if (phase === 'switched') return promote(ctx);
  if (phase === 'progressing' || phase === 'paused' || phase === 'promoting')
    throw new UserError(
      `The rollout of "${app}" is ${phase} at ${weight}%: finalize is for a blue-green rollout that switched (it removes blue) or cleans up after promoted, aborted or rolled-back; ${
        phase === 'promoting'
          ? `run action: promote to finish the promotion, or abort to roll the stables back to ${ctx.record.stableVersion}`
          : 'run action: continue to go on with the steps, promote to go to 100% now, or abort to return traffic to stable'
      }. Nothing was changed.`,
    );
  const { namespace } = ctx.settings;
  for (const unit of ctx.units)
    for (const side of [unit.record.canary, unit.record.baseline])
      if (side) await ctx.client.delete('Deployment', { namespace, name: side }).catch(() => {});
  const aborted = ctx.record.phase === 'aborted';
  if (aborted) {
    // A copy a Deployment still references is not the aborted version's alone (a stable runs it, or
    // a user pointed another Deployment at it by hand): kept, as removeOldCopies keeps them.
    const sides = new Set(ctx.units.flatMap((unit) => [unit.record.canary, unit.record.baseline]));
    const inUse = await ctx.referencedConfig(sides);
    for (const unit of ctx.units)
      for (const [kind, map] of [
        ['ConfigMap', unit.record.configCopies.configMaps],
        ['Secret', unit.record.configCopies.secrets],
      ] as const)
        for (const name of Object.values(map)) {
          if (inUse.has(name)) {
            ctx.log.info(`${kind} ${name}: kept (a Deployment still references it)`);
            continue;
          }
          await ctx.client.delete(kind, { namespace, name }).catch(() => {});
        }
  }
  // Finalizing is what was asked and it was done: the step succeeds (the aborted release failed in its own run).
  return ctx.outcome(
    'finalized',
    `Finalized: canary objects of ${ctx.record.canaryVersion} removed${aborted ? ' (the release was aborted)' : ''}.`,
  );
}
