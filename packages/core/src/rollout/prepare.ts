/**
 * Before anything changes: the units a release needs (the canary or green beside each stable, its baseline,
 * its config copies, its router) and every check that can refuse it (images, config copies, router labels,
 * the weights a router can give, analysis queries); then the record `start` saves. `resume` rebuilds the units
 * from a saved record instead.
 */
import { UserError } from '../errors';
import { getOptional } from '../kube/objects';
import { REVISION_ANNOTATION } from '../kube/rollout-status';
import type { Deployment, KubeObject, PodTemplateSpec } from '../kube/types';
import { validateAnalysis } from '../metrics/engine';
import type { TrafficTarget } from '../routing/types';
import type { RolloutRecord } from '../state/record';
import { runLink } from '../state/run-identity';
import type { RolloutContext, Unit, VersionedWorkload } from './context';
import {
  checkAchievableWeights,
  checkCopy,
  checkVersionQueries,
  refuseUnchanged,
  type Versions,
} from './prepare-checks';
import {
  baselineTemplate,
  baselineVersion,
  changedVersion,
  configCopy,
  configRefs,
  copiedFor,
  copyName,
  imagesFor,
  imagesOf,
  joinVersions,
  renameRefs,
  sideDeployment,
  versionOf,
  withImages,
} from './workloads';

/** A template given whole as the new version of one stable (staged rollback: a previous revision's). */
export interface GivenTemplate {
  stable: Deployment;
  template: PodTemplateSpec;
  /** The versions of the stable now and of the template (their version labels). */
  stableVersion: string;
  version: string;
}

/** Everything `start` needs, checked before any write: images, config, routers, analysis queries. */
export async function prepare(
  ctx: RolloutContext,
  stables: Deployment[],
  images: Record<string, string>,
): Promise<void> {
  const perDeployment = imagesFor(stables, images);
  const versions = versionsOf(stables, perDeployment);
  const stableVersion = joinVersions(versions.map((v) => v.stable));
  const canaryVersion = joinVersions(versions.map((v) => v.canary));
  if (versions.every((v) => !v.changes))
    throw new UserError(
      `The new images are the images already running (version "${stableVersion}"): nothing to roll out (images: ${Object.values(images).join(', ')})`,
    );
  refuseUnchanged(stables, versions, perDeployment, images);
  checkVersionQueries(ctx, stables, versions, images);
  for (const [index, stable] of stables.entries())
    ctx.units.push(await unitFor(ctx, stable, versions[index]!, perDeployment[index]!));
  await checkAndRecord(ctx, stableVersion, canaryVersion);
}

/**
 * The units of a release whose new version is a template given whole (staged rollback), without config copies
 * or baseline; the same checks of routers, weights (weight-rounding decides) and analysis as `prepare`.
 */
export async function prepareTemplates(
  ctx: RolloutContext,
  given: GivenTemplate[],
  extra: Partial<RolloutRecord> = {},
): Promise<void> {
  const app = ctx.store.app;
  for (const { stable, template, stableVersion, version } of given) {
    const name = stable.metadata!.name!;
    const canary = sideDeployment(stable, { role: 'canary', name: `${name}-canary`, version, template }, app, 0);
    const record: VersionedWorkload = {
      stable: name,
      stableVersion,
      canaryVersion: version,
      canary: canary.metadata!.name!,
      stableImages: imagesOf(stable.spec?.template),
      canaryImages: imagesOf(template),
      configCopies: { configMaps: {}, secrets: {} },
    };
    const stableRevision = Number(stable.metadata?.annotations?.[REVISION_ANNOTATION]);
    if (Number.isFinite(stableRevision)) record.stableRevision = stableRevision;
    const router = ctx.settings.makeRouter(targetOf(ctx, name, canary.metadata!.name!));
    ctx.units.push({ stable, record, canary, copies: [], router, promotionTemplate: template });
  }
  await checkAndRecord(
    ctx,
    joinVersions(given.map((entry) => entry.stableVersion)),
    joinVersions(given.map((entry) => entry.version)),
    extra,
  );
}

/**
 * Each Deployment's own versions, from the images it is given: its version labels, config copies and baseline
 * say its own tag (auth v1.5 and users v3.3 are never both labelled v1.5). Whether a Deployment changes is
 * decided by its full image references, container by container (a new digest of the same tag, another
 * registry, a sidecar beside an unchanged first container all change it); the version labels follow, the
 * canary's always told apart from the stable's.
 */
function versionsOf(stables: Deployment[], perDeployment: Array<Record<string, string>>): Versions[] {
  return stables.map((stable, index) => {
    const current = imagesOf(stable.spec?.template);
    const given = perDeployment[index]!;
    // (A Deployment given no image at all, e.g. a canary the selector matched, is left to the later checks.)
    const changes =
      Object.keys(given).length === 0 ||
      Object.entries(given).some(([container, image]) => current[container] !== image);
    const stableLabel = versionOf(Object.fromEntries(Object.keys(given).map((c) => [c, current[c]!])), 'stable');
    return {
      stable: stableLabel,
      canary: changes ? changedVersion(current, given, stableLabel) : stableLabel,
      changes,
    };
  });
}

/** One stable's unit: its config copies (checked), its canary (or green) and baseline, its router, its record. */
async function unitFor(
  ctx: RolloutContext,
  stable: Deployment,
  own: Versions,
  images: Record<string, string>,
): Promise<Unit> {
  const { settings } = ctx;
  const app = ctx.store.app;
  const name = stable.metadata!.name!;
  const refs = configRefs(stable.spec?.template);
  const copies: KubeObject[] = [];
  const names = { configMaps: {} as Record<string, string>, secrets: {} as Record<string, string> };
  for (const [kind, list, map] of [
    ['ConfigMap', refs.configMaps, names.configMaps],
    ['Secret', refs.secrets, names.secrets],
  ] as const) {
    for (const original of list) {
      // The object the stable's pods use now (after earlier releases a `-dav-<tag>` copy, maybe edited since):
      // the config in use goes on with the new version, not the original it was once copied from.
      const object = await getOptional(ctx.client, kind, settings.namespace, original);
      if (object === undefined) continue; // optional reference: the pods run without it today
      map[original] = copyName(original, own.canary, copiedFor(object));
      const copy = configCopy(object, map[original], app, own.canary);
      await checkCopy(ctx, kind, copy, original);
      copies.push(copy);
    }
  }
  const suffix = settings.strategy === 'blue-green' ? 'green' : 'canary';
  const template = renameRefs(withImages(stable.spec!.template!, images, own.canary), names);
  const canary = sideDeployment(
    stable,
    { role: 'canary', name: `${name}-${suffix}`, version: own.canary, template },
    app,
    0,
  );
  const baseline = settings.baseline
    ? sideDeployment(
        stable,
        {
          role: 'baseline',
          name: `${name}-baseline`,
          version: baselineVersion(own.stable),
          template: baselineTemplate(stable.spec!.template!, own.stable),
        },
        app,
        0,
      )
    : undefined;
  const router = settings.makeRouter(targetOf(ctx, name, canary.metadata!.name!, baseline?.metadata?.name));
  const record: VersionedWorkload = {
    stable: name,
    stableVersion: own.stable,
    canaryVersion: own.canary,
    canary: canary.metadata!.name!,
    ...(baseline ? { baseline: baseline.metadata!.name! } : {}),
    stableImages: imagesOf(stable.spec?.template),
    canaryImages: imagesOf(template),
    configCopies: names,
  };
  const stableRevision = Number(stable.metadata?.annotations?.[REVISION_ANNOTATION]);
  if (Number.isFinite(stableRevision)) record.stableRevision = stableRevision;
  return { stable, record, canary, ...(baseline ? { baseline } : {}), copies, router };
}

function targetOf(ctx: RolloutContext, stable: string, canary: string, baseline?: string): TrafficTarget {
  return {
    namespace: ctx.settings.namespace,
    app: ctx.store.app,
    stable: { deployment: stable },
    canary: { deployment: canary },
    ...(baseline ? { baseline: { deployment: baseline } } : {}),
  };
}

/** The checks every release runs once its units exist (routers, weights, analysis queries), then its record. */
async function checkAndRecord(
  ctx: RolloutContext,
  stableVersion: string,
  canaryVersion: string,
  extra: Partial<RolloutRecord> = {},
): Promise<void> {
  const { settings, rt } = ctx;
  // The canary (green) as it is about to be created: checks on its labels come before anything exists.
  for (const unit of ctx.units) await unit.router.validate({ canary: unit.canary });
  if (settings.strategy === 'canary') await checkAchievableWeights(ctx);
  const queried = ctx.plannedMetrics().filter((metric) => metric.kind !== 'kubernetes');
  if (queried.length > 0) {
    await validateAnalysis({
      metrics: queried,
      targets: ctx.targets(stableVersion, canaryVersion),
      duration: 0,
      clock: rt.clock,
      signal: rt.signal,
      ...(settings.providerFor ? { providerFor: settings.providerFor } : {}),
    });
  }
  ctx.record = {
    version: 1,
    app: ctx.store.app,
    namespace: settings.namespace,
    strategy: settings.strategy,
    phase: 'progressing',
    stepIndex: -1,
    steps: settings.steps.map((step) => step.weight),
    weight: 0,
    router: settings.router,
    stableVersion,
    canaryVersion,
    workloads: ctx.units.map((unit) => unit.record),
    verdicts: [],
    ...runLink(rt.env),
    updatedAt: new Date(rt.clock.now()).toISOString(),
    startedAt: new Date(rt.clock.now()).toISOString(),
    ...(settings.plan ? { plan: settings.plan } : {}),
    ...extra,
  };
}

/** Rebuild the units from a saved record (continue, promote, abort, finalize). */
export async function resume(ctx: RolloutContext, record: RolloutRecord): Promise<void> {
  ctx.record = structuredClone(record);
  // A side that cannot be read (gone, or an API error) is left out: an abort or finalize goes on without it.
  const optional = (name: string) =>
    ctx.client.get<Deployment>('Deployment', { namespace: record.namespace, name }).catch(() => undefined);
  for (const workload of record.workloads) {
    const stable = await ctx.client.get<Deployment>('Deployment', {
      namespace: record.namespace,
      name: workload.stable,
    });
    const canary = await optional(workload.canary);
    const baseline = workload.baseline ? await optional(workload.baseline) : undefined;
    const router = ctx.settings.makeRouter({
      namespace: record.namespace,
      app: record.app,
      stable: { deployment: workload.stable },
      canary: { deployment: workload.canary },
      ...(workload.baseline ? { baseline: { deployment: workload.baseline } } : {}),
    });
    ctx.units.push({
      stable,
      record: workload,
      ...(canary ? { canary } : {}),
      ...(baseline ? { baseline } : {}),
      copies: [],
      router,
    });
  }
}
