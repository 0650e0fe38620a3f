/** The dry run: every object and patch a start would send, each sent with dryRun=All so the API server validates it. */

import { formatDuration } from '../inputs/scalars';
import { describeImages } from '../kube/workloads';
import { uniqueMetrics } from '../metrics/spec';
import { COPY_OF_ANNOTATION } from '../state/record';
import { blueHold } from './blue-green';
import type { RolloutContext, Unit } from './context';
import { promotionPatch } from './promote';
import type { RolloutOutcome } from './types';
import { imagesOf } from './workloads';

const NOTHING_CHANGED = 'Dry run: nothing was changed.';

export async function planPreview(ctx: RolloutContext): Promise<RolloutOutcome> {
  if (ctx.settings.strategy === 'blue-green') return planBlueGreen(ctx);
  const lines: string[] = [];
  const { namespace } = ctx.settings;
  for (const unit of ctx.units) {
    lines.push(...(await planCopies(ctx, unit)));
    for (const side of [unit.canary, unit.baseline]) {
      if (!side) continue;
      await ctx.client.patch('Deployment', { namespace, name: side.metadata!.name! }, side, 'apply', {
        dryRun: true,
        force: true,
      });
      lines.push(`create Deployment ${side.metadata!.name} (${describeImages(imagesOf(side.spec?.template))})`);
    }
    for (const weight of ctx.settings.steps.map((step) => step.weight).filter((w) => w < 100))
      for (const line of await unit.router.plan(weight)) lines.push(`at ${weight}%: ${line}`);
    lines.push(await planPromotion(ctx, unit, 'at promotion'));
  }
  lines.push(...planPostPromotion(ctx));
  return ctx.outcome('planned', NOTHING_CHANGED, { plan: lines });
}

/** The promotion patch of a unit, sent with dryRun=All, as a plan line starting with `when`. */
async function planPromotion(ctx: RolloutContext, unit: Unit, when: string): Promise<string> {
  await ctx.client.patch(
    'Deployment',
    { namespace: ctx.settings.namespace, name: unit.record.stable },
    promotionPatch(ctx, unit),
    'json',
    { dryRun: true },
  );
  return `${when}: Deployment ${unit.record.stable} takes ${describeImages(unit.record.canaryImages)} (server dry run passed), then ${unit.record.canary} is deleted`;
}

/** The config copies of a unit, each sent with dryRun=All. */
async function planCopies(ctx: RolloutContext, unit: Unit): Promise<string[]> {
  const { namespace } = ctx.settings;
  const lines: string[] = [];
  for (const copy of unit.copies) {
    await ctx.client.patch(copy.kind as 'ConfigMap', { namespace, name: copy.metadata!.name! }, copy, 'apply', {
      dryRun: true,
      force: true,
    });
    lines.push(
      `create ${copy.kind} ${copy.metadata!.name} (copy of ${copy.metadata!.annotations![COPY_OF_ANNOTATION]})`,
    );
  }
  return lines;
}

function planPostPromotion(ctx: RolloutContext): string[] {
  const post = ctx.settings.postPromotion;
  if (!post || post.metrics.length === 0) return [];
  return [
    `after promotion: check ${post.metrics.map((metric) => metric.name).join(', ')} for ${formatDuration(post.duration)}; a failure rolls the stable Deployments back to their revision before promotion`,
  ];
}

/**
 * Blue-green's dry run, in the order start runs it: green at full size (server dry run), the wait until it
 * is Available, the preview, the preview checks, the switch (server dry run of the selector patch with the
 * labels green will have), blue kept for scale-down-delay or until finalize, then the promotion.
 */
async function planBlueGreen(ctx: RolloutContext): Promise<RolloutOutcome> {
  const { settings } = ctx;
  const lines: string[] = [];
  for (const unit of ctx.units) lines.push(...(await planCopies(ctx, unit)));
  for (const unit of ctx.units) {
    const green = structuredClone(unit.canary!);
    const replicas = unit.stable.spec?.replicas ?? 1;
    green.spec = { ...green.spec!, replicas };
    await ctx.client.patch(
      'Deployment',
      { namespace: settings.namespace, name: green.metadata!.name! },
      green,
      'apply',
      {
        dryRun: true,
        force: true,
      },
    );
    lines.push(
      `create Deployment ${green.metadata!.name} (${describeImages(imagesOf(green.spec?.template))}) with ${replicas} replica${replicas === 1 ? '' : 's'}, as many as ${unit.record.stable} (server dry run passed)`,
    );
  }
  lines.push(
    `wait until ${ctx.units.map((unit) => unit.record.canary).join(', ')} ${ctx.units.length === 1 ? 'is' : 'are'} Available, every pod Ready (at most ${formatDuration(settings.rolloutTimeoutMs)}); if not, green is scaled to 0 and blue keeps serving`,
  );
  const switches: string[] = [];
  for (const unit of ctx.units) {
    const [preview, ...rest] = await unit.router.plan(100, { canary: unit.canary });
    if (rest.length > 0) lines.push(preview!);
    switches.push(...(rest.length > 0 ? rest : [preview!]));
  }
  const checks = settings.previewCheckNames ?? [];
  if (checks.length > 0)
    lines.push(
      `run the preview checks against green (${checks.join(', ')}); a failure scales green to 0 before the switch, blue keeps serving`,
    );
  lines.push(...switches);
  const setting = settings.scaleDownDelay ?? 0;
  const metrics = uniqueMetrics(settings.steps.flatMap((step) => step.analysis));
  const checking =
    metrics.length > 0
      ? `checking ${metrics.map((metric) => metric.name).join(', ')} (a failure switches back to blue)`
      : 'no analysis';
  const blue = ctx.units.map((unit) => unit.record.stable).join(', ');
  if (setting === 'manual') {
    const pause = blueHold(setting, metrics.length > 0, settings.steps[0]?.pause ?? 0);
    lines.push(
      `keep blue (${blue}, ${ctx.record.stableVersion}) at full size until action: finalize (or action: abort switches back)${pause > 0 ? `; ${checking} for ${formatDuration(pause)} after the switch` : ''}`,
    );
  } else
    lines.push(
      `keep blue (${blue}, ${ctx.record.stableVersion}) at full size for scale-down-delay ${formatDuration(setting)}, ${checking}`,
    );
  for (const unit of ctx.units)
    lines.push(await planPromotion(ctx, unit, setting === 'manual' ? 'at finalize' : 'then'));
  lines.push(...planPostPromotion(ctx));
  return ctx.outcome('planned', NOTHING_CHANGED, { plan: lines });
}
