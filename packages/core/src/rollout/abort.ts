/**
 * Aborting: traffic back to 100% stable (capacity first), the canary and baseline to 0 pods, phase `aborted`;
 * during the promotion the stables go back to their template first. An unexpected error (`haltedBy`) aborts
 * the same way and says where things stand.
 */
import { UserError } from '../errors';
import { isNotFound } from '../kube/errors';
import type { Deployment } from '../kube/types';
import { describeImages } from '../kube/workloads';
import { LeaseLostError } from '../state/lease';
import { IN_FLIGHT_PHASES } from '../state/record';
import { type RolloutContext, sentenceOf } from './context';
import { planRestore } from './restore';
import type { RolloutOutcome } from './types';

/** How long an abort waits for the canary's pods to go before the stable Service may select them again. */
const CANARY_GONE_MS = 20_000;

/** Traffic 100% stable first (the router's abort), then the canary and baseline to 0 pods. The stable is not touched. */
export async function abortTraffic(ctx: RolloutContext, reason: string): Promise<void> {
  const { namespace } = ctx.settings;
  // Said first: a run that dies during the abort leaves a record a later run finishes as an abort (never a promotion).
  if (ctx.record.phase !== 'aborting') await ctx.save({ phase: 'aborting', reason });
  // Capacity first (replicas router): the stable back at its size and Ready before the canary loses a pod.
  const surging = ctx.units.filter((unit) => unit.router.surge);
  for (const unit of surging) await unit.router.surge!(0);
  await Promise.all(
    surging.map((unit) =>
      ctx.waitForDeployment(unit.record.stable).catch((error: unknown) => {
        if (error instanceof LeaseLostError) throw error;
        ctx.log.warning(
          `${unit.record.stable} did not get back to its size in time (${sentenceOf(error)}): the canary is removed anyway, the abort must end`,
        );
      }),
    ),
  );
  await Promise.all(ctx.units.map((unit) => unit.router.abort()));
  ctx.timeline.push({ at: ctx.rt.clock.now(), weight: 0, actual: 0 });
  for (const unit of ctx.units)
    for (const side of [unit.record.canary, unit.record.baseline]) {
      if (!side) continue;
      await ctx.client
        .patch('Deployment', { namespace, name: side }, { spec: { replicas: 0 } }, 'merge')
        .catch((error: unknown) => {
          if (!isNotFound(error)) throw error;
        });
    }
  // The stable Service may select the canary's pods again only once none serves: at 0 replicas the rest are
  // Terminating, already out of the Endpoints (waiting for them to be gone would outlast a 30 s grace period).
  const pinned = ctx.units.filter((unit) => unit.router.releaseStable);
  if (pinned.length > 0) {
    await Promise.all(pinned.map((unit) => ctx.waitForDeployment(unit.record.canary, CANARY_GONE_MS).catch(() => {})));
    for (const unit of pinned) await unit.router.releaseStable!();
  }
  await ctx.save({ phase: 'aborted', weight: 0, reason });
}

export async function abort(ctx: RolloutContext, reason: string): Promise<RolloutOutcome> {
  const { record } = ctx;
  if (!IN_FLIGHT_PHASES.includes(record.phase))
    return ctx.outcome(
      record.phase === 'aborted' ? 'aborted' : 'promoted',
      `Nothing to abort: the rollout is ${record.phase}.`,
    );
  // An abort that began during the promotion (the first promote recorded the stables' template) rolls the
  // stables back first; abortPromotion leaves a stable already on its old template alone.
  const promotionBegun = record.phase === 'aborting' && record.workloads.some((workload) => workload.stableTemplate);
  if (record.phase === 'promoting' || promotionBegun) return abortPromotion(ctx, reason);
  await abortTraffic(ctx, reason);
  return ctx.outcome('aborted', reason);
}

/** A record left in phase aborting (its run died during the abort): whatever is asked, the abort is finished. */
export function finishAbort(ctx: RolloutContext): Promise<RolloutOutcome> {
  ctx.log.warning(
    `The rollout of ${ctx.record.app} was being aborted when ${ctx.record.runUrl ?? 'the run that began it'} stopped: finishing the abort (it is never promoted)`,
  );
  return abort(ctx, ctx.record.reason ?? 'Aborted.');
}

/**
 * Abort while the stables take the new template (phase promoting: a promotion that failed, or whose job was
 * cancelled): traffic alone would leave the stables on the new version, or part-way, under a record saying
 * aborted. Each stable goes back to the revision it ran before the promotion (as post-promotion rollback
 * does), the abort waits until they run it, then traffic goes back to them and the canary to 0.
 */
async function abortPromotion(ctx: RolloutContext, reason: string): Promise<RolloutOutcome> {
  const { namespace } = ctx.settings;
  const { stableVersion, canaryVersion } = ctx.record;
  const undone: string[] = [];
  const already: string[] = [];
  const pending = ctx.units.map((unit) => unit.record.stable);
  try {
    await ctx.holdLease(ctx.settings.rolloutTimeoutMs);
    if (ctx.record.phase !== 'aborting') await ctx.save({ phase: 'aborting', reason });
    for (const unit of ctx.units) {
      const name = unit.record.stable;
      const stable = await ctx.client.get<Deployment>('Deployment', { namespace, name });
      // A stable on its old template (never took the new one, or an earlier abort restored it) is left alone.
      const plan = await planRestore(ctx, unit, stable);
      if (plan?.kind !== 'patch') {
        already.push(name);
        pending.splice(pending.indexOf(name), 1);
        continue;
      }
      await ctx.client.patch('Deployment', { namespace, name }, plan.patch, 'json');
      undone.push(`${name} to revision ${plan.to.revision}`);
      pending.splice(pending.indexOf(name), 1);
      ctx.log.info(
        `Deployment ${name}: back to revision ${plan.to.revision} (${describeImages(unit.record.stableImages)})`,
      );
    }
    await ctx.waitForStables();
  } catch (error) {
    const message = sentenceOf(error);
    throw new UserError(
      `Abort during the promotion of ${canaryVersion} did not finish: rolling the stable Deployments back to ${stableVersion} failed: ${message}${undone.length > 0 ? ` (patched: ${undone.join(', ')})` : ''}${pending.length > 0 ? ` (not patched: ${pending.join(', ')})` : ''}. The record says phase aborting and the stables may run ${canaryVersion}, ${stableVersion} or a mix; traffic and the canary were not changed: run action: abort again (it leaves a stable already back on its template before the promotion alone and rolls back the others), or rollback with mode: kubernetes`,
    );
  }
  const one = ctx.units.length === 1;
  const stables = ctx.units.map((unit) => unit.record.stable).join(', ');
  const text = `${reason.replace(/\.?$/, '.')} The promotion of ${canaryVersion} had begun: ${
    undone.length > 0
      ? `the stable Deployments were rolled back (${undone.join(', ')}${already.length > 0 ? `; ${already.join(', ')} ran ${stableVersion}'s template already` : ''}) and`
      : 'the stable Deployments had not taken it yet (or an earlier abort restored them) and'
  } ${stables} ${one ? 'runs' : 'run'} ${stableVersion}; traffic is back on ${one ? 'it' : 'them'} and the canary at 0.`;
  await abortTraffic(ctx, text);
  ctx.log.warning(text);
  return ctx.outcome('aborted', text);
}

/** An unexpected error (API down, cancelled): try to put traffic back on stable, then say where things stand. */
export async function haltedBy(ctx: RolloutContext, error: unknown): Promise<Error> {
  // A run that lost its Lease changes nothing more: the run holding it now decides.
  if (error instanceof LeaseLostError) return error;
  const message = sentenceOf(error);
  const { phase, weight, stableVersion } = ctx.record;
  // Cancelled or timed out: this run's requests are cancelled too; the post step (on GitHub) or the CLI's
  // clean-up aborts the release with a fresh signal.
  if (ctx.rt.signal.aborted)
    return new UserError(
      `${message}. The release stays ${phase} at ${weight}% until the post step (the CLI's clean-up) aborts it (on-cancel: abort); else run action: abort`,
      { cause: error },
    );
  try {
    await abortTraffic(ctx, `the run stopped: ${message}`);
    return new UserError(
      ctx.settings.strategy === 'blue-green'
        ? `${message}. Blue (${stableVersion}) serves all traffic and green was scaled to 0 (record phase: aborted).`
        : `${message}. Traffic was returned to the stable version and the canary scaled to 0 (record phase: aborted).`,
      { cause: error },
    );
  } catch (second) {
    return new UserError(
      `${message}. Returning traffic to stable also failed (${(second as Error).message}); the record says phase ${ctx.record.phase} at ${ctx.record.weight}%: run action: abort`,
      { cause: error },
    );
  }
}
