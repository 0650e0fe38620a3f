/**
 * The checks that refuse a release before anything changes: Deployments given the images they run, queries by
 * version across different tags, weights a router cannot give, config copies that would overwrite another's.
 */
import { InputError, UserError } from '../errors';
import { canonicalJson } from '../json';
import { getOptional } from '../kube/objects';
import type { Deployment, KubeObject } from '../kube/types';
import { describeImages } from '../kube/workloads';
import { metricsByVersion, VERSION_PLACEHOLDERS } from '../metrics/spec';
import { APP_LABEL, ROLE_LABEL } from '../state/record';
import type { RolloutContext } from './context';
import { copiedFor, imagesOf } from './workloads';

/** Percentage points a step's real share may differ from its weight before weight-rounding decides. */
export const WEIGHT_TOLERANCE = 5;

/** A Deployment's versions: the stable's, the canary's, and whether its images change at all. */
export interface Versions {
  stable: string;
  canary: string;
  changes: boolean;
}

/**
 * One Deployment given the images it runs: its canary would be the stable (same version label, its config
 * copy the stable's live one, which an abort's finalize would delete). Refused: only the ones that change.
 */
export function refuseUnchanged(
  stables: Deployment[],
  versions: Versions[],
  perDeployment: Array<Record<string, string>>,
  images: Record<string, string>,
): void {
  const unchanged = stables.flatMap((stable, index) => {
    const own = versions[index]!;
    if (own.changes) return [];
    const current = imagesOf(stable.spec?.template);
    const now = Object.keys(perDeployment[index]!).map((container) => `${container}=${current[container]}`);
    return [`${stable.metadata!.name} already runs ${own.stable} (${now.join(', ')})`];
  });
  if (unchanged.length === 0) return;
  const changed = stables.filter((_, index) => versions[index]!.changes);
  throw new InputError(
    'images',
    `${unchanged.join('; ')}: a Deployment given the images it runs has nothing to roll out, and its canary would carry the stable's version and config copies. Give it its new image, or leave it out of the rollout (deployments: ${changed.map((stable) => stable.metadata!.name).join(', ')})`,
    describeImages(images),
    'auth/app=ghcr.io/acme/auth:v1.5, users/app=ghcr.io/acme/users:v3.3',
  );
}

/**
 * Deployments given different new tags: a query's `{{canary}}` (`{{stable}}`, `{{baseline}}`, `{{version}}`,
 * and a comparison's control) stands for one version, so it would read one Deployment's pods, or none, and
 * judge the others by them. Refused before anything changes; signals of the pods (provider kubernetes) and
 * queries without a version are per Deployment already.
 */
export function checkVersionQueries(
  ctx: RolloutContext,
  stables: Deployment[],
  versions: Versions[],
  images: Record<string, string>,
): void {
  const distinct = (pick: 'stable' | 'canary') => new Set(versions.map((v) => v[pick])).size > 1;
  if (!distinct('canary') && !distinct('stable')) return;
  // One new tag, different old ones: only what reads the old version is ambiguous.
  const ambiguous = distinct('canary') ? VERSION_PLACEHOLDERS : ['stable', 'baseline'];
  const byVersion = metricsByVersion(ctx.plannedMetrics(), ambiguous);
  if (byVersion.length === 0) return;
  const which = distinct('canary') ? 'canary' : 'stable';
  const listed = stables.map((stable, index) => `${stable.metadata!.name} ${versions[index]![which]}`).join(', ');
  throw new InputError(
    'images',
    `the Deployments ${which === 'canary' ? 'get different new tags' : 'run different tags now'} (${listed}), but ${byVersion.map((metric) => `'${metric.name}'`).join(', ')} ${byVersion.length === 1 ? 'reads' : 'read'} the metrics by version ({{canary}}, {{stable}}, {{baseline}} or compare), which stands for one version in a query: the other Deployments' pods would be judged by it, or not read at all. Give every Deployment the same tag, run one rollout per Deployment (deployments: auth with app: auth), or check them without a version (provider kubernetes signals)`,
    describeImages(images),
    `auth/app=ghcr.io/acme/auth:v3.3, users/app=ghcr.io/acme/users:v3.3`,
  );
}

/**
 * Before anything changes: the share each step's weight really gets (whole pods for the replicas router).
 * Off by more than WEIGHT_TOLERANCE points, the step is refused, or with weight-rounding: nearest taken and
 * said; the log lists the weight asked and given for every step either way.
 */
export async function checkAchievableWeights(ctx: RolloutContext): Promise<void> {
  const { settings, log } = ctx;
  const off: string[] = [];
  for (const step of settings.steps) {
    if (step.weight >= 100) continue;
    for (const unit of ctx.units) {
      // A canary or baseline Deployment a selector matched (it carries the stable's labels) serves no share.
      if (unit.stable.metadata?.labels?.[ROLE_LABEL] !== undefined) continue;
      const given = (await unit.router.achievableWeight?.(step.weight)) ?? step.weight;
      if (given === step.weight) continue;
      const line = `${step.weight}% of ${unit.record.stable} is served as ${given}%`;
      log.info(`Step at ${line} (${unit.router.name} router: whole pods)`);
      if (Math.abs(given - step.weight) > WEIGHT_TOLERANCE) off.push(line);
    }
  }
  if (off.length === 0) return;
  if (settings.weightRounding === 'nearest') {
    log.warning(`weight-rounding: nearest: ${off.join('; ')}`);
    return;
  }
  throw new InputError(
    'steps',
    `the ${settings.router.kind} router cannot give these weights within ${WEIGHT_TOLERANCE} points: ${off.join('; ')}. Give weights the replica counts can serve, more replicas, a router that splits by percentage (nginx, gateway-api, istio, smi), or weight-rounding: nearest to take the nearest share`,
    settings.steps.map((step) => step.weight).join(','),
    '25,50,75,100 (with 4 replicas), or weight-rounding: nearest',
  );
}

/**
 * A config copy's name may exist already: this app's own copy of the same release (a start run again) is
 * written again. Another app's copy (two apps sharing a ConfigMap and a tag make the same name), an object
 * that is not a copy of ours, or one whose content differs from what would be written (its original was
 * edited since) is refused before anything changes: writing it would change the config of pods that read it.
 */
export async function checkCopy(
  ctx: RolloutContext,
  kind: 'ConfigMap' | 'Secret',
  copy: KubeObject,
  original: string,
): Promise<void> {
  const name = copy.metadata!.name!;
  const existing = await getOptional(ctx.client, kind, ctx.settings.namespace, name);
  if (existing === undefined) return;
  const app = ctx.store.app;
  const owner = copiedFor(existing) === null ? undefined : existing.metadata?.labels?.[APP_LABEL];
  const content = (object: KubeObject) => {
    const { data, binaryData, stringData, type } = object as KubeObject & Record<string, unknown>;
    return canonicalJson({ data, binaryData, stringData, type });
  };
  const why =
    owner === undefined
      ? `exists and is not a config copy this action made`
      : owner !== app
        ? `exists and is app "${owner}"'s copy (its ${APP_LABEL} label)`
        : content(existing) !== content(copy)
          ? `exists (an earlier start of this release made it) with content different from ${original}'s now`
          : undefined;
  if (why === undefined) return;
  throw new UserError(
    `${kind} ${name} ${why}: "${app}"'s copy of ${original} for this release would overwrite it, and pods that read it would get other config. Nothing was changed. ${
      owner !== undefined && owner !== app
        ? `Apps sharing ${original} make the same copy name for the same tag: release them with different tags, or give each app its own ${kind}`
        : `Delete ${name} once no pod reads it (kubectl delete ${kind.toLowerCase()} ${name}), or rename ${original}`
    }`,
  );
}
