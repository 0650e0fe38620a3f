/**
 * Moving traffic: the canary (and baseline) sized for a weight, every Deployment's new pods awaited at once
 * under the pod guard, then the routers' shares. Used by the steps, blue-green (green's pods) and abort.
 */
import { BackendNotReady } from '../routing/common';
import type { RouterState } from '../routing/types';
import { type RolloutContext, StepFailed, type Unit } from './context';
import { DEFAULT_RESTART_LIMIT, guardPods, PodsFailed } from './pod-guard';

/** Canary pods for a weight when the router splits traffic itself (the replicas router sizes both sides on its own). */
export function canaryReplicas(_router: string, stableReplicas: number, weight: number): number {
  if (weight >= 100) return stableReplicas;
  // Routers other than replicas split traffic themselves: give the canary its share of the capacity (an HPA scales the rest).
  return Math.max(1, Math.ceil((stableReplicas * weight) / 100));
}

/** Size the canary (and baseline) for `weight`, move traffic, wait for the pods. */
export async function setWeight(ctx: RolloutContext, weight: number): Promise<void> {
  const { namespace } = ctx.settings;
  if (weight > 0) await ctx.holdLease(ctx.settings.rolloutTimeoutMs);
  ctx.routing = [];
  const replicasRouter = ctx.settings.router.kind === 'replicas';
  const states = new Map<Unit, RouterState>();
  // Size every unit first, then wait for all of them at once: 20 Deployments wait as long as one.
  for (const unit of ctx.units) {
    const stableReplicas = unit.stable.spec?.replicas ?? 1;
    const replicas = weight === 0 ? 0 : canaryReplicas(ctx.settings.router.kind, stableReplicas, weight);
    if (replicasRouter) {
      // The replica router sizes canary, baseline and stable itself: the pod ratio is the traffic share.
      // Surge first: the side that grows gets its pods now, the other gives pods up once they are Ready.
      if (unit.router.surge) await unit.router.surge(weight);
      else states.set(unit, await unit.router.setWeight(weight));
    } else {
      // Before any canary pod is Ready: the stable Service must not send the stable's share to it.
      if (weight > 0) await unit.router.isolateStable?.();
      // Pods first, traffic once they are ready.
      for (const side of [unit.record.canary, unit.record.baseline]) {
        if (!side) continue;
        await ctx.client.patch('Deployment', { namespace, name: side }, { spec: { replicas } }, 'merge');
      }
    }
  }
  // Going back (previous-step) adds no canary pods: nothing of the canary's to wait for.
  const growing = weight >= Math.max(ctx.highestWeight, ctx.record.weight);
  ctx.highestWeight = Math.max(ctx.highestWeight, weight);
  if (weight > 0 && growing) await Promise.all(ctx.units.map((unit) => waitSides(ctx, unit)));
  // A weight going down (previous-step) grew the stable: its pods Ready before the canary gives any up.
  if (replicasRouter) await ctx.waitForStables();
  let actualSum = 0;
  for (const unit of ctx.units) {
    const state =
      states.get(unit) ??
      (await unit.router.setWeight(weight).catch((error: unknown) => {
        // No Ready pod behind the canary's backend: a failed step (verdict, abort), not a broken run.
        throw error instanceof BackendNotReady ? new StepFailed(error.message) : error;
      }));
    actualSum += state.actualWeight;
    ctx.routing.push(`${unit.record.stable}: ${state.detail}`);
    ctx.log.info(`${unit.record.stable}: ${state.detail}`);
  }
  const actual = Math.round((actualSum / ctx.units.length) * 10) / 10;
  ctx.timeline.push({ at: ctx.rt.clock.now(), weight, actual });
}

/** Restarts of a canary container above this abort the wait: the plan's restarts limit, else the default. */
function restartLimit(ctx: RolloutContext): number {
  const limits = ctx.settings.steps
    .flatMap((step) => step.analysis)
    .flatMap((metric) => (metric.kind === 'kubernetes' && metric.signal === 'restarts' ? [metric.max] : []));
  return limits.length > 0 ? Math.min(...limits) : DEFAULT_RESTART_LIMIT;
}

/**
 * The canary's (and baseline's) pods Ready. A pod that cannot start (pull error, crash loop, missing config,
 * OOMKilled, restarts above the limit) fails the step at once, with the reason; progress is said every 30 s.
 */
export async function waitSides(ctx: RolloutContext, unit: Unit): Promise<void> {
  const stop = new AbortController();
  const names = [unit.record.canary, unit.record.baseline].filter((name): name is string => name !== undefined);
  const guard = guardPods({
    client: ctx.client,
    namespace: ctx.settings.namespace,
    deployments: names,
    clock: ctx.rt.clock,
    signal: AbortSignal.any([stop.signal, ctx.rt.signal]),
    restartLimit: restartLimit(ctx),
    log: (line) => ctx.log.info(line),
  }).catch((error: unknown) => {
    if (error instanceof PodsFailed)
      throw new StepFailed(`the new version's pods cannot become ready: ${error.message}`);
    throw error;
  });
  const ready = Promise.all(
    names.map((name) =>
      ctx.waitForDeployment(name).catch((error: unknown) => {
        throw new StepFailed(`the new version's pods did not become ready: ${(error as Error).message}`);
      }),
    ),
  );
  try {
    await Promise.race([ready, guard.then(() => new Promise<never>(() => {}))]);
  } finally {
    stop.abort();
  }
}
