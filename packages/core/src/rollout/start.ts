/**
 * Starting and going on: `start` creates the new version beside the stable (config copies, canary or green,
 * baseline) and runs the strategy; a start run again for the same release picks it up where its run died.
 * `continue` goes on from a pause.
 */
import { UserError } from '../errors';
import { getOptional } from '../kube/objects';
import type { Deployment } from '../kube/types';
import { describeImages } from '../kube/workloads';
import { COPY_OF_ANNOTATION, IN_FLIGHT_PHASES, type RolloutRecord } from '../state/record';
import { finishAbort } from './abort';
import { blueGreen } from './blue-green';
import type { RolloutContext } from './context';
import { promote } from './promote';
import { runSteps } from './steps';
import type { RolloutOutcome } from './types';
import { imagesOf } from './workloads';

/**
 * What `start` does given the record it finds: a fresh start (none, or one finished); refuse (another release
 * in flight, or this one paused or switched: continue, promote or abort it); finish an abort or a promotion a
 * run died in; or resume at the step a dead run reached (same release, progressing).
 */
export function startDecision(
  previous: RolloutRecord | undefined,
  next: { canaryVersion: string; strategy: RolloutRecord['strategy'] },
): 'fresh' | 'refuse' | 'finish-abort' | 'finish-promotion' | 'resume' {
  if (!previous || !IN_FLIGHT_PHASES.includes(previous.phase)) return 'fresh';
  const same = previous.canaryVersion === next.canaryVersion && previous.strategy === next.strategy;
  if (!same || previous.phase === 'paused' || previous.phase === 'switched') return 'refuse';
  if (previous.phase === 'aborting') return 'finish-abort';
  if (previous.phase === 'promoting') return 'finish-promotion';
  return 'resume';
}

export async function start(ctx: RolloutContext): Promise<RolloutOutcome> {
  const previous = ctx.store.record;
  const decision = startDecision(previous, ctx.record);
  if (previous && decision === 'refuse')
    throw new UserError(
      `A rollout of "${previous.app}" is already ${previous.phase} at ${previous.weight}% (${previous.stableVersion} → ${previous.canaryVersion}${previous.runUrl ? `, started by ${previous.runUrl}` : ''}); use action: continue, promote or abort instead of start`,
    );
  if (previous && (decision === 'finish-abort' || decision === 'finish-promotion')) {
    // A run died during the abort (finish it, never promote) or the promotion (finish it).
    ctx.record = structuredClone(previous);
    for (const unit of ctx.units)
      unit.record = ctx.record.workloads.find((workload) => workload.stable === unit.record.stable) ?? unit.record;
    return decision === 'finish-abort' ? finishAbort(ctx) : promote(ctx);
  }
  if (previous && decision === 'resume') {
    // The same release, left half-way by a run that died: pick it up at the step it reached.
    ctx.log.warning(
      `Resuming the rollout of ${previous.app} at ${previous.weight}% where ${previous.runUrl ?? 'an earlier run'} left it`,
    );
    ctx.record.stepIndex = previous.stepIndex;
    ctx.record.weight = previous.weight; // traffic is still there until the step is set again
    ctx.record.verdicts = previous.verdicts;
    // The stable-history window ends where the release began, not at this re-run (its canary has had traffic).
    if (previous.startedAt !== undefined) ctx.record.startedAt = previous.startedAt;
  }
  await ctx.rt.log.group('Create the new version beside the stable one', () => createSides(ctx));
  await ctx.save({ phase: 'progressing' });
  if (ctx.settings.strategy === 'blue-green') return blueGreen(ctx);
  return runSteps(ctx, Math.max(0, ctx.record.stepIndex));
}

/** The config copies, the canary (green) and the baseline, applied; a resumed release keeps the canary's size. */
async function createSides(ctx: RolloutContext): Promise<void> {
  const { namespace } = ctx.settings;
  const { client, log } = ctx;
  for (const unit of ctx.units) {
    for (const copy of unit.copies) {
      await client.patch(copy.kind as 'ConfigMap', { namespace, name: copy.metadata!.name! }, copy, 'apply', {
        force: true,
      });
      log.info(`${copy.kind} ${copy.metadata!.name}: copy of ${copy.metadata!.annotations![COPY_OF_ANNOTATION]}`);
    }
    for (const planned of [unit.canary, unit.baseline]) {
      if (!planned) continue;
      // A resumed release keeps the pods that serve: its canary keeps its size (never re-applied at 0).
      const existing = await getOptional<Deployment>(client, 'Deployment', namespace, planned.metadata!.name!);
      const side = existing
        ? { ...planned, spec: { ...planned.spec!, replicas: existing.spec?.replicas ?? 0 } }
        : planned;
      await client.patch('Deployment', { namespace, name: side.metadata!.name! }, side, 'apply', { force: true });
      log.info(`Deployment ${side.metadata!.name}: ${describeImages(imagesOf(side.spec?.template))}`);
    }
  }
}

/** Go on from a pause (or a run that stopped between steps) with the next step. */
export async function continueSteps(ctx: RolloutContext): Promise<RolloutOutcome> {
  const { phase } = ctx.record;
  if (phase === 'aborting') return finishAbort(ctx);
  if (phase === 'switched') return promote(ctx);
  if (phase !== 'paused' && phase !== 'progressing')
    throw new UserError(
      `The rollout of "${ctx.record.app}" is ${phase}: nothing to continue (start a new one with action: start)`,
    );
  await ctx.save({ phase: 'progressing' });
  return runSteps(ctx, ctx.record.stepIndex + 1);
}
