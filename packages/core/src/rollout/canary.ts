/**
 * The canary / blue-green state machine, driven from workflow steps. Every
 * transition is saved in the record before the next one starts, so a later
 * run (continue, promote, abort, finalize, the post step, rollback) knows
 * exactly where traffic and pods are. The stable Deployment is only written
 * at promotion (and by a post-promotion rollback); an abort leaves it alone,
 * except during the promotion (phase promoting), when it goes back to the
 * revision it ran before.
 */
import { InputError, UserError } from '../errors';
import { formatDuration } from '../inputs/scalars';
import { canonicalJson } from '../json';
import type { KubeClient } from '../kube/client';
import { isNotFound } from '../kube/errors';
import { planUndo, revisionOf, type UndoPlan } from '../kube/history';
import { REVISION_ANNOTATION } from '../kube/rollout-status';
import { waitForRollout } from '../kube/rollout-wait';
import type { Deployment, KubeObject, PodTemplateSpec } from '../kube/types';
import { deploymentReplicaSets } from '../kube/workloads';
import { type AnalysisResult, runAnalysis, validateAnalysis } from '../metrics/engine';
import { PodCache } from '../metrics/kubernetes';
import type { MetricProvider } from '../metrics/provider';
import {
  type MetricSpec,
  metricsByVersion,
  type ProviderConfig,
  uniqueMetrics,
  VERSION_PLACEHOLDERS,
} from '../metrics/spec';
import { BackendNotReady, getOptional } from '../routing/common';
import type { RouterState, TrafficRouter, TrafficTarget } from '../routing/types';
import type { Runtime } from '../runtime/port';
import { LeaseLostError } from '../state/lease';
import {
  APP_LABEL,
  COPY_OF_ANNOTATION,
  IN_FLIGHT_PHASES,
  MANAGED_BY,
  type RecordStore,
  ROLE_LABEL,
  type RolloutPhase,
  type RolloutPlan,
  type RolloutRecord,
  type StepVerdict,
  stableHistoryEnd,
  type WorkloadRecord,
} from '../state/record';
import { runLink } from '../state/run-identity';
import type { Step } from './plan';
import { DEFAULT_RESTART_LIMIT, guardPods, PodsFailed } from './pod-guard';
import {
  baselineTemplate,
  baselineVersion,
  changedVersion,
  configCopy,
  configRefs,
  copiedFor,
  copyName,
  equalImages,
  imagesFor,
  imagesOf,
  joinVersions,
  renameRefs,
  selectorText,
  sideDeployment,
  versionOf,
  withImages,
} from './workloads';

/** How often a pause without analysis says how long is left. */
const PROGRESS_EVERY_MS = 60_000;

/** Percentage points a step's real share may differ from its weight before weight-rounding decides. */
export const WEIGHT_TOLERANCE = 5;

export type RolloutResult = 'promoted' | 'aborted' | 'paused' | 'rolled-back' | 'planned' | 'finalized';

export interface RolloutSettings {
  strategy: 'canary' | 'blue-green';
  namespace: string;
  steps: Step[];
  pauseAt?: number | undefined;
  onStepFailure: 'abort' | 'previous-step';
  baseline: boolean;
  postPromotion?: { duration: number; metrics: MetricSpec[] } | undefined;
  /**
   * Blue-green: how long blue keeps running after the switch (analysis runs meanwhile), or `manual`:
   * the step ends after the switch (phase switched) and a later finalize removes blue, or abort switches back.
   */
  scaleDownDelay?: number | 'manual' | undefined;
  /** What start records, so later jobs follow the same plan. */
  plan?: RolloutPlan | undefined;
  /** Blue-green: checks run against green before the switch; throws a UserError when they fail. */
  previewChecks?: ((green: string) => Promise<void>) | undefined;
  /** Blue-green: the preview checks' names, for the dry-run plan. */
  previewCheckNames?: string[] | undefined;
  router: { kind: string; config: unknown };
  makeRouter: (target: TrafficTarget) => TrafficRouter;
  /**
   * A step whose weight the router cannot give within WEIGHT_TOLERANCE points (whole pods): `exact` refuses it
   * before anything changes, `nearest` takes the nearest share and says so. Default exact.
   */
  weightRounding?: 'exact' | 'nearest' | undefined;
  /** Limit for each wait on pods. */
  rolloutTimeoutMs: number;
  /** Called before each wait with how long it may take: the caller holds the app's lease that long (plus a margin). */
  holdLease?: ((ms: number) => Promise<void>) | undefined;
  providerFor?: ((config: ProviderConfig) => MetricProvider) | undefined;
}

export interface WeightPoint {
  at: number;
  weight: number;
  actual: number;
}

export interface RolloutOutcome {
  result: RolloutResult;
  record: RolloutRecord | undefined;
  reason: string;
  timeline: WeightPoint[];
  analyses: Array<{ step: number; weight: number; result: AnalysisResult }>;
  /** Dry run: what would be done. */
  plan?: string[];
  /** Router details at the last weight change (e.g. "2 of 8 pods = 25%"). */
  routing: string[];
}

interface Unit {
  stable: Deployment;
  record: WorkloadRecord;
  canary?: Deployment;
  baseline?: Deployment;
  copies: KubeObject[];
  router: TrafficRouter;
}

/** Why an abort happened, as the user reads it in the summary: one sentence. */
class StepFailed extends Error {}

export class Rollout {
  private units: Unit[] = [];
  readonly timeline: WeightPoint[] = [];
  readonly analyses: RolloutOutcome['analyses'] = [];
  private routing: string[] = [];
  private record!: RolloutRecord;
  /** The highest weight this run sized the canary for (a step that failed half-way included). */
  private highestWeight = 0;

  constructor(
    private readonly rt: Runtime,
    private readonly client: KubeClient,
    private readonly store: RecordStore,
    private readonly settings: RolloutSettings,
  ) {}

  private get log() {
    return this.rt.log;
  }

  /** Everything `start` needs, checked before any write: images, config, routers, analysis queries. */
  async prepare(stables: Deployment[], images: Record<string, string>): Promise<void> {
    const { settings } = this;
    const perDeployment = imagesFor(stables, images);
    const app = this.store.app;
    // Each Deployment's own versions, from the images it is given: its version labels, config copies and
    // baseline say its own tag (auth v1.5 and users v3.3 are never both labelled v1.5).
    // Whether a Deployment changes is decided by its full image references, container by container (a new
    // digest of the same tag, another registry, a sidecar beside an unchanged first container all change it);
    // the version labels follow, the canary's always told apart from the stable's.
    const versions = stables.map((stable, index) => {
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
    const stableVersion = joinVersions(versions.map((v) => v.stable));
    const canaryVersion = joinVersions(versions.map((v) => v.canary));
    if (versions.every((v) => !v.changes))
      throw new UserError(
        `The new images are the images already running (version "${stableVersion}"): nothing to roll out (images: ${Object.values(images).join(', ')})`,
      );
    // One Deployment given the images it runs: its canary would be the stable (same version label, its config
    // copy the stable's live one, which an abort's finalize would delete). Refused: only the ones that change.
    const unchanged = stables.flatMap((stable, index) => {
      const own = versions[index]!;
      if (own.changes) return [];
      const current = imagesOf(stable.spec?.template);
      const now = Object.keys(perDeployment[index]!).map((container) => `${container}=${current[container]}`);
      return [`${stable.metadata!.name} already runs ${own.stable} (${now.join(', ')})`];
    });
    if (unchanged.length > 0) {
      const changed = stables.filter((_, index) => versions[index]!.changes);
      throw new InputError(
        'images',
        `${unchanged.join('; ')}: a Deployment given the images it runs has nothing to roll out, and its canary would carry the stable's version and config copies. Give it its new image, or leave it out of the rollout (deployments: ${changed.map((stable) => stable.metadata!.name).join(', ')})`,
        Object.entries(images)
          .map(([container, image]) => `${container}=${image}`)
          .join(', '),
        'auth/app=ghcr.io/acme/auth:v1.5, users/app=ghcr.io/acme/users:v3.3',
      );
    }
    this.checkVersionQueries(stables, versions, images);
    for (const [index, stable] of stables.entries()) {
      const name = stable.metadata!.name!;
      const own = versions[index]!;
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
          const object = await getOptional(this.client, kind, settings.namespace, original);
          if (object === undefined) continue; // optional reference: the pods run without it today
          map[original] = copyName(original, own.canary, copiedFor(object));
          const copy = configCopy(object, map[original], app, own.canary);
          await this.checkCopy(kind, copy, original);
          copies.push(copy);
        }
      }
      const suffix = settings.strategy === 'blue-green' ? 'green' : 'canary';
      const template = renameRefs(withImages(stable.spec!.template!, perDeployment[index]!, own.canary), names);
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
      const target: TrafficTarget = {
        namespace: settings.namespace,
        app,
        stable: { deployment: name },
        canary: { deployment: canary.metadata!.name! },
        ...(baseline ? { baseline: { deployment: baseline.metadata!.name! } } : {}),
      };
      const router = settings.makeRouter(target);
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
      this.units.push({ stable, record, canary, ...(baseline ? { baseline } : {}), copies, router });
    }
    // The canary (green) as it is about to be created: checks on its labels come before anything exists.
    for (const unit of this.units) await unit.router.validate({ canary: unit.canary });
    if (settings.strategy === 'canary') await this.checkAchievableWeights();
    const metrics = this.plannedMetrics();
    const queried = metrics.filter((metric) => metric.kind !== 'kubernetes');
    if (queried.length > 0) {
      await validateAnalysis({
        metrics: queried,
        targets: this.targets(stableVersion, canaryVersion),
        duration: 0,
        clock: this.rt.clock,
        signal: this.rt.signal,
        ...(settings.providerFor ? { providerFor: settings.providerFor } : {}),
      });
    }
    this.record = {
      version: 1,
      app,
      namespace: settings.namespace,
      strategy: settings.strategy,
      phase: 'progressing',
      stepIndex: -1,
      steps: settings.steps.map((step) => step.weight),
      weight: 0,
      router: settings.router,
      stableVersion,
      canaryVersion,
      workloads: this.units.map((unit) => unit.record),
      verdicts: [],
      ...runLink(this.rt.env),
      updatedAt: new Date(this.rt.clock.now()).toISOString(),
      startedAt: new Date(this.rt.clock.now()).toISOString(),
      ...(settings.plan ? { plan: settings.plan } : {}),
    };
  }

  /**
   * Before anything changes: the share each step's weight really gets (whole pods for the replicas router).
   * Off by more than WEIGHT_TOLERANCE points, the step is refused, or with weight-rounding: nearest taken and
   * said; the log lists the weight asked and given for every step either way.
   */
  private async checkAchievableWeights(): Promise<void> {
    const off: string[] = [];
    for (const step of this.settings.steps) {
      if (step.weight >= 100) continue;
      for (const unit of this.units) {
        // A canary or baseline Deployment a selector matched (it carries the stable's labels) serves no share.
        if (unit.stable.metadata?.labels?.[ROLE_LABEL] !== undefined) continue;
        const given = (await unit.router.achievableWeight?.(step.weight)) ?? step.weight;
        if (given === step.weight) continue;
        const line = `${step.weight}% of ${unit.record.stable} is served as ${given}%`;
        this.log.info(`Step at ${line} (${unit.router.name} router: whole pods)`);
        if (Math.abs(given - step.weight) > WEIGHT_TOLERANCE) off.push(line);
      }
    }
    if (off.length === 0) return;
    if (this.settings.weightRounding === 'nearest') {
      this.log.warning(`weight-rounding: nearest: ${off.join('; ')}`);
      return;
    }
    throw new InputError(
      'steps',
      `the ${this.settings.router.kind} router cannot give these weights within ${WEIGHT_TOLERANCE} points: ${off.join('; ')}. Give weights the replica counts can serve, more replicas, a router that splits by percentage (nginx, gateway-api, istio, smi), or weight-rounding: nearest to take the nearest share`,
      this.settings.steps.map((step) => step.weight).join(','),
      '25,50,75,100 (with 4 replicas), or weight-rounding: nearest',
    );
  }

  /**
   * A config copy's name may exist already: this app's own copy of the same release (a start run again) is
   * written again. Another app's copy (two apps sharing a ConfigMap and a tag make the same name), an object
   * that is not a copy of ours, or one whose content differs from what would be written (its original was
   * edited since) is refused before anything changes: writing it would change the config of pods that read it.
   */
  private async checkCopy(kind: 'ConfigMap' | 'Secret', copy: KubeObject, original: string): Promise<void> {
    const name = copy.metadata!.name!;
    const existing = await getOptional(this.client, kind, this.settings.namespace, name);
    if (existing === undefined) return;
    const app = this.store.app;
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

  /**
   * Deployments given different new tags: a query's `{{canary}}` (`{{stable}}`, `{{baseline}}`, `{{version}}`,
   * and a comparison's control) stands for one version, so it would read one Deployment's pods, or none, and
   * judge the others by them. Refused before anything changes; signals of the pods (provider kubernetes) and
   * queries without a version are per Deployment already.
   */
  private checkVersionQueries(
    stables: Deployment[],
    versions: Array<{ stable: string; canary: string }>,
    images: Record<string, string>,
  ): void {
    const distinct = (pick: 'stable' | 'canary') => new Set(versions.map((v) => v[pick])).size > 1;
    if (!distinct('canary') && !distinct('stable')) return;
    // One new tag, different old ones: only what reads the old version is ambiguous.
    const ambiguous = distinct('canary') ? VERSION_PLACEHOLDERS : ['stable', 'baseline'];
    const metrics = this.plannedMetrics();
    const byVersion = metricsByVersion(metrics, ambiguous);
    if (byVersion.length === 0) return;
    const which = distinct('canary') ? 'canary' : 'stable';
    const listed = stables.map((stable, index) => `${stable.metadata!.name} ${versions[index]![which]}`).join(', ');
    throw new InputError(
      'images',
      `the Deployments ${which === 'canary' ? 'get different new tags' : 'run different tags now'} (${listed}), but ${byVersion.map((metric) => `'${metric.name}'`).join(', ')} ${byVersion.length === 1 ? 'reads' : 'read'} the metrics by version ({{canary}}, {{stable}}, {{baseline}} or compare), which stands for one version in a query: the other Deployments' pods would be judged by it, or not read at all. Give every Deployment the same tag, run one rollout per Deployment (deployments: auth with app: auth), or check them without a version (provider kubernetes signals)`,
      Object.entries(images)
        .map(([container, image]) => `${container}=${image}`)
        .join(', '),
      `auth/app=ghcr.io/acme/auth:v3.3, users/app=ghcr.io/acme/users:v3.3`,
    );
  }

  /** Rebuild the units from a saved record (continue, promote, abort, finalize). */
  async resume(record: RolloutRecord): Promise<void> {
    this.record = structuredClone(record);
    for (const workload of record.workloads) {
      const stable = await this.client.get<Deployment>('Deployment', {
        namespace: record.namespace,
        name: workload.stable,
      });
      const canary = await this.client
        .get<Deployment>('Deployment', { namespace: record.namespace, name: workload.canary })
        .catch(() => undefined);
      const baseline = workload.baseline
        ? await this.client
            .get<Deployment>('Deployment', { namespace: record.namespace, name: workload.baseline })
            .catch(() => undefined)
        : undefined;
      const router = this.settings.makeRouter({
        namespace: record.namespace,
        app: record.app,
        stable: { deployment: workload.stable },
        canary: { deployment: workload.canary },
        ...(workload.baseline ? { baseline: { deployment: workload.baseline } } : {}),
      });
      this.units.push({
        stable,
        record: workload,
        ...(canary ? { canary } : {}),
        ...(baseline ? { baseline } : {}),
        copies: [],
        router,
      });
    }
  }

  /** Dry run: every object and patch, each sent with dryRun=All so the API server validates it. */
  async plan(): Promise<RolloutOutcome> {
    if (this.settings.strategy === 'blue-green') return this.planBlueGreen();
    const lines: string[] = [];
    const { namespace } = this.settings;
    for (const unit of this.units) {
      lines.push(...(await this.planCopies(unit)));
      for (const side of [unit.canary, unit.baseline]) {
        if (!side) continue;
        await this.client.patch('Deployment', { namespace, name: side.metadata!.name! }, side, 'apply', {
          dryRun: true,
          force: true,
        });
        lines.push(`create Deployment ${side.metadata!.name} (${describeImages(imagesOf(side.spec?.template))})`);
      }
      for (const weight of this.settings.steps.map((step) => step.weight).filter((w) => w < 100))
        for (const line of await unit.router.plan(weight)) lines.push(`at ${weight}%: ${line}`);
      lines.push(await this.planPromotion(unit, 'at promotion'));
    }
    lines.push(...this.planPostPromotion());
    return this.outcome('planned', 'Dry run: nothing was changed.', lines);
  }

  /** Every metric the plan checks: the steps' analyses, then post-promotion's, each name once. */
  private plannedMetrics(): MetricSpec[] {
    return uniqueMetrics([
      ...this.settings.steps.flatMap((step) => step.analysis),
      ...(this.settings.postPromotion?.metrics ?? []),
    ]);
  }

  /** ConfigMap and Secret names the namespace's Deployments reference, leaving out the Deployments `except`. */
  private async referencedConfig(except: ReadonlySet<string | undefined> = new Set()): Promise<Set<string>> {
    const names = new Set<string>();
    const deployments = await this.client.list<Deployment>('Deployment', { namespace: this.settings.namespace });
    for (const deployment of deployments.items) {
      if (except.has(deployment.metadata?.name)) continue;
      const refs = configRefs(deployment.spec?.template);
      for (const name of [...refs.configMaps, ...refs.secrets]) names.add(name);
    }
    return names;
  }

  /** Every stable Deployment's rollout, to the end (after a promotion patch, or a patch back). */
  private async waitForStables(): Promise<void> {
    const { namespace } = this.settings;
    await Promise.all(
      this.units.map((unit) =>
        waitForRollout(
          this.client,
          { kind: 'Deployment', namespace, name: unit.record.stable },
          { clock: this.rt.clock, timeoutMs: this.settings.rolloutTimeoutMs, signal: this.rt.signal },
        ),
      ),
    );
  }

  /** The promotion patch of a unit, sent with dryRun=All, as a plan line starting with `when`. */
  private async planPromotion(unit: Unit, when: string): Promise<string> {
    await this.client.patch(
      'Deployment',
      { namespace: this.settings.namespace, name: unit.record.stable },
      this.promotionPatch(unit),
      'json',
      { dryRun: true },
    );
    return `${when}: Deployment ${unit.record.stable} takes ${describeImages(unit.record.canaryImages)} (server dry run passed), then ${unit.record.canary} is deleted`;
  }

  /** The config copies of a unit, each sent with dryRun=All. */
  private async planCopies(unit: Unit): Promise<string[]> {
    const { namespace } = this.settings;
    const lines: string[] = [];
    for (const copy of unit.copies) {
      await this.client.patch(copy.kind as 'ConfigMap', { namespace, name: copy.metadata!.name! }, copy, 'apply', {
        dryRun: true,
        force: true,
      });
      lines.push(
        `create ${copy.kind} ${copy.metadata!.name} (copy of ${copy.metadata!.annotations![COPY_OF_ANNOTATION]})`,
      );
    }
    return lines;
  }

  private planPostPromotion(): string[] {
    const post = this.settings.postPromotion;
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
  private async planBlueGreen(): Promise<RolloutOutcome> {
    const lines: string[] = [];
    const { namespace } = this.settings;
    for (const unit of this.units) lines.push(...(await this.planCopies(unit)));
    for (const unit of this.units) {
      const green = structuredClone(unit.canary!);
      const replicas = unit.stable.spec?.replicas ?? 1;
      green.spec = { ...green.spec!, replicas };
      await this.client.patch('Deployment', { namespace, name: green.metadata!.name! }, green, 'apply', {
        dryRun: true,
        force: true,
      });
      lines.push(
        `create Deployment ${green.metadata!.name} (${describeImages(imagesOf(green.spec?.template))}) with ${replicas} replica${replicas === 1 ? '' : 's'}, as many as ${unit.record.stable} (server dry run passed)`,
      );
    }
    lines.push(
      `wait until ${this.units.map((unit) => unit.record.canary).join(', ')} ${this.units.length === 1 ? 'is' : 'are'} Available, every pod Ready (at most ${formatDuration(this.settings.rolloutTimeoutMs)}); if not, green is scaled to 0 and blue keeps serving`,
    );
    const switches: string[] = [];
    for (const unit of this.units) {
      const [preview, ...rest] = await unit.router.plan(100, { canary: unit.canary });
      if (rest.length > 0) lines.push(preview!);
      switches.push(...(rest.length > 0 ? rest : [preview!]));
    }
    const checks = this.settings.previewCheckNames ?? [];
    if (checks.length > 0)
      lines.push(
        `run the preview checks against green (${checks.join(', ')}); a failure scales green to 0 before the switch, blue keeps serving`,
      );
    lines.push(...switches);
    const setting = this.settings.scaleDownDelay ?? 0;
    const metrics = uniqueMetrics(this.settings.steps.flatMap((step) => step.analysis));
    const checking =
      metrics.length > 0
        ? `checking ${metrics.map((metric) => metric.name).join(', ')} (a failure switches back to blue)`
        : 'no analysis';
    const blue = this.units.map((unit) => unit.record.stable).join(', ');
    if (setting === 'manual') {
      const pause = metrics.length > 0 ? (this.settings.steps[0]?.pause ?? 0) : 0;
      lines.push(
        `keep blue (${blue}, ${this.record.stableVersion}) at full size until action: finalize (or action: abort switches back)${pause > 0 ? `; ${checking} for ${formatDuration(pause)} after the switch` : ''}`,
      );
    } else
      lines.push(
        `keep blue (${blue}, ${this.record.stableVersion}) at full size for scale-down-delay ${formatDuration(setting)}, ${checking}`,
      );
    for (const unit of this.units) {
      lines.push(await this.planPromotion(unit, setting === 'manual' ? 'at finalize' : 'then'));
    }
    lines.push(...this.planPostPromotion());
    return this.outcome('planned', 'Dry run: nothing was changed.', lines);
  }

  async start(): Promise<RolloutOutcome> {
    const previous = this.store.record;
    if (previous && IN_FLIGHT_PHASES.includes(previous.phase)) {
      const same = previous.canaryVersion === this.record.canaryVersion && previous.strategy === this.record.strategy;
      if (!same || previous.phase === 'paused' || previous.phase === 'switched') {
        throw new UserError(
          `A rollout of "${previous.app}" is already ${previous.phase} at ${previous.weight}% (${previous.stableVersion} → ${previous.canaryVersion}${previous.runUrl ? `, started by ${previous.runUrl}` : ''}); use action: continue, promote or abort instead of start`,
        );
      }
      if (previous.phase === 'aborting' || previous.phase === 'promoting') {
        // A run died during the abort (finish it, never promote) or the promotion (finish it).
        this.record = structuredClone(previous);
        for (const unit of this.units)
          unit.record = this.record.workloads.find((workload) => workload.stable === unit.record.stable) ?? unit.record;
        return previous.phase === 'aborting' ? this.finishAbort() : this.promote();
      }
      // The same release, left half-way by a run that died: pick it up at the step it reached.
      this.log.warning(
        `Resuming the rollout of ${previous.app} at ${previous.weight}% where ${previous.runUrl ?? 'an earlier run'} left it`,
      );
      this.record.stepIndex = previous.stepIndex;
      this.record.weight = previous.weight; // traffic is still there until the step is set again
      this.record.verdicts = previous.verdicts;
      // The stable-history window ends where the release began, not at this re-run (its canary has had traffic).
      if (previous.startedAt !== undefined) this.record.startedAt = previous.startedAt;
    }
    const { namespace } = this.settings;
    await this.rt.log.group('Create the new version beside the stable one', async () => {
      for (const unit of this.units) {
        for (const copy of unit.copies) {
          await this.client.patch(copy.kind as 'ConfigMap', { namespace, name: copy.metadata!.name! }, copy, 'apply', {
            force: true,
          });
          this.log.info(
            `${copy.kind} ${copy.metadata!.name}: copy of ${copy.metadata!.annotations![COPY_OF_ANNOTATION]}`,
          );
        }
        for (const planned of [unit.canary, unit.baseline]) {
          if (!planned) continue;
          // A resumed release keeps the pods that serve: its canary keeps its size (never re-applied at 0).
          const existing = await getOptional<Deployment>(this.client, 'Deployment', namespace, planned.metadata!.name!);
          const side = existing
            ? { ...planned, spec: { ...planned.spec!, replicas: existing.spec?.replicas ?? 0 } }
            : planned;
          await this.client.patch('Deployment', { namespace, name: side.metadata!.name! }, side, 'apply', {
            force: true,
          });
          this.log.info(`Deployment ${side.metadata!.name}: ${describeImages(imagesOf(side.spec?.template))}`);
        }
      }
    });
    await this.save({ phase: 'progressing' });
    if (this.settings.strategy === 'blue-green') return this.blueGreen();
    return this.runSteps(Math.max(0, this.record.stepIndex));
  }

  async continue(): Promise<RolloutOutcome> {
    const { phase } = this.record;
    if (phase === 'aborting') return this.finishAbort();
    if (phase === 'switched') return this.promote();
    if (phase !== 'paused' && phase !== 'progressing')
      throw new UserError(
        `The rollout of "${this.record.app}" is ${phase}: nothing to continue (start a new one with action: start)`,
      );
    await this.save({ phase: 'progressing' });
    return this.runSteps(this.record.stepIndex + 1);
  }

  private targets(stable = this.record.stableVersion, canary = this.record.canaryVersion) {
    return {
      canary,
      stable,
      // The baseline runs the stable version, but its pods carry their own version label value.
      ...(this.settings.baseline ? { baseline: baselineVersion(stable) } : {}),
      namespace: this.settings.namespace,
      app: this.store.app,
    };
  }

  private async save(change: Partial<RolloutRecord>) {
    Object.assign(this.record, change, { updatedAt: new Date(this.rt.clock.now()).toISOString() });
    await this.store.save(this.record);
  }

  private async holdLease(ms: number): Promise<void> {
    await this.settings.holdLease?.(ms);
  }

  /** Size the canary (and baseline) for `weight`, move traffic, wait for the pods. */
  private async setWeight(weight: number): Promise<void> {
    const { namespace } = this.settings;
    if (weight > 0) await this.holdLease(this.settings.rolloutTimeoutMs);
    this.routing = [];
    const replicasRouter = this.settings.router.kind === 'replicas';
    const states = new Map<Unit, RouterState>();
    // Size every unit first, then wait for all of them at once: 20 Deployments wait as long as one.
    for (const unit of this.units) {
      const stableReplicas = unit.stable.spec?.replicas ?? 1;
      const replicas = weight === 0 ? 0 : canaryReplicas(this.settings.router.kind, stableReplicas, weight);
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
          await this.client.patch('Deployment', { namespace, name: side }, { spec: { replicas } }, 'merge');
        }
      }
    }
    // Going back (previous-step) adds no canary pods: nothing of the canary's to wait for.
    const growing = weight >= Math.max(this.highestWeight, this.record.weight);
    this.highestWeight = Math.max(this.highestWeight, weight);
    if (weight > 0 && growing) await Promise.all(this.units.map((unit) => this.waitSides(unit)));
    // A weight going down (previous-step) grew the stable: its pods Ready before the canary gives any up.
    if (replicasRouter) await Promise.all(this.units.map((unit) => this.waitStable(unit)));
    let actualSum = 0;
    for (const unit of this.units) {
      const state =
        states.get(unit) ??
        (await unit.router.setWeight(weight).catch((error: unknown) => {
          // No Ready pod behind the canary's backend: a failed step (verdict, abort), not a broken run.
          throw error instanceof BackendNotReady ? new StepFailed(error.message) : error;
        }));
      actualSum += state.actualWeight;
      this.routing.push(`${unit.record.stable}: ${state.detail}`);
      this.log.info(`${unit.record.stable}: ${state.detail}`);
    }
    const actual = Math.round((actualSum / this.units.length) * 10) / 10;
    this.timeline.push({ at: this.rt.clock.now(), weight, actual });
  }

  /** The stable's rollout (after the surge grew it), within the rollout timeout. */
  private async waitStable(unit: Unit): Promise<void> {
    await waitForRollout(
      this.client,
      { kind: 'Deployment', namespace: this.settings.namespace, name: unit.record.stable },
      { clock: this.rt.clock, timeoutMs: this.settings.rolloutTimeoutMs, signal: this.rt.signal },
    );
  }

  /** Restarts of a canary container above this abort the wait: the plan's restarts limit, else the default. */
  private restartLimit(): number {
    const limits = this.settings.steps
      .flatMap((step) => step.analysis)
      .flatMap((metric) => (metric.kind === 'kubernetes' && metric.signal === 'restarts' ? [metric.max] : []));
    return limits.length > 0 ? Math.min(...limits) : DEFAULT_RESTART_LIMIT;
  }

  /**
   * The canary's (and baseline's) pods Ready. A pod that cannot start (pull error, crash loop, missing config,
   * OOMKilled, restarts above the limit) fails the step at once, with the reason; progress is said every 30 s.
   */
  private async waitSides(unit: Unit) {
    const stop = new AbortController();
    const names = [unit.record.canary, unit.record.baseline].filter((name): name is string => name !== undefined);
    const guard = guardPods({
      client: this.client,
      namespace: this.settings.namespace,
      deployments: names,
      clock: this.rt.clock,
      signal: AbortSignal.any([stop.signal, this.rt.signal]),
      restartLimit: this.restartLimit(),
      log: (line) => this.log.info(line),
    }).catch((error: unknown) => {
      if (error instanceof PodsFailed)
        throw new StepFailed(`the new version's pods cannot become ready: ${error.message}`);
      throw error;
    });
    try {
      await Promise.race([this.waitSidesReady(unit), guard.then(() => new Promise<never>(() => {}))]);
    } finally {
      stop.abort();
    }
  }

  private async waitSidesReady(unit: Unit) {
    const { namespace } = this.settings;
    await Promise.all(
      [unit.record.canary, unit.record.baseline]
        .filter((name): name is string => name !== undefined)
        .map((name) =>
          waitForRollout(
            this.client,
            { kind: 'Deployment', namespace, name },
            { clock: this.rt.clock, timeoutMs: this.settings.rolloutTimeoutMs, signal: this.rt.signal },
          ).catch((error: unknown) => {
            throw new StepFailed(`the new version's pods did not become ready: ${(error as Error).message}`);
          }),
        ),
    );
  }

  /** The pods the kubernetes signals read: post-promotion analysis reads the stable's (the canary is gone). */
  private podSelectors(): string[] {
    const promoted = this.record.phase === 'promoted';
    return this.units.flatMap((unit) => {
      const source = promoted ? unit.stable : unit.canary;
      return source ? [selectorText(source)] : [];
    });
  }

  private async analyse(stepIndex: number, weight: number, metrics: MetricSpec[], duration: number) {
    const until = new Date(this.rt.clock.now() + duration).toISOString().slice(11, 19);
    if (metrics.length === 0) {
      if (duration > 0) {
        this.log.info(`Holding ${weight}% for ${formatDuration(duration)} (until ${until} UTC), no analysis`);
        await this.pauseWithProgress(weight, duration);
      }
      return undefined;
    }
    this.log.info(
      `Holding ${weight}% for ${formatDuration(duration)} (until ${until} UTC), checking ${metrics.map((metric) => `${metric.name} every ${formatDuration(metric.interval)}`).join(', ')}`,
    );
    // One list + watch per selector for the whole analysis, not a list per check.
    const pods = new PodCache(this.client, { namespace: this.settings.namespace, clock: this.rt.clock });
    const result = await runAnalysis({
      metrics,
      targets: this.targets(),
      duration,
      clock: this.rt.clock,
      signal: this.rt.signal,
      canaryPods: pods.source(() => this.podSelectors()),
      ...stableHistoryEnd(this.record),
      ...(this.settings.providerFor ? { providerFor: this.settings.providerFor } : {}),
      onMeasurement: (m) =>
        this.log.info(`  ${m.metric}: ${m.value ?? '—'} (${m.threshold}) ${m.outcome}${m.note ? `: ${m.note}` : ''}`),
    }).finally(() => pods.close());
    this.analyses.push({ step: stepIndex, weight, result });
    return result;
  }

  /** A pause without checks: a line with the time left every PROGRESS_EVERY_MS, so a long wait is never silent. */
  private async pauseWithProgress(weight: number, duration: number): Promise<void> {
    const end = this.rt.clock.now() + duration;
    for (let left = duration; left > 0; left = end - this.rt.clock.now()) {
      await this.rt.clock.sleep(Math.min(left, PROGRESS_EVERY_MS), this.rt.signal);
      const now = end - this.rt.clock.now();
      if (now > 0) this.log.info(`  ${weight}%: ${formatDuration(now)} of the pause left`);
    }
  }

  private verdict(step: number, weight: number, verdict: StepVerdict['verdict'], reason: string): StepVerdict[] {
    // The share really served at this weight (the last time it was set), recorded beside the one asked.
    const served = [...this.timeline].reverse().find((point) => point.weight === weight)?.actual;
    return [
      ...this.record.verdicts,
      {
        step,
        weight,
        ...(served === undefined ? {} : { served }),
        verdict,
        reason,
        at: new Date(this.rt.clock.now()).toISOString(),
      },
    ];
  }

  private async runSteps(from: number): Promise<RolloutOutcome> {
    const { steps, pauseAt } = this.settings;
    for (let index = from; index < steps.length; index++) {
      const step = steps[index]!;
      if (step.weight >= 100) break;
      try {
        await this.rt.log.group(`Step ${index + 1}: ${step.weight}% to ${this.record.canaryVersion}`, async () => {
          await this.setWeight(step.weight).catch(async (error: unknown) => {
            if (!(error instanceof StepFailed)) throw error;
            // The canary's pods failed before the analysis: the step's verdict says so.
            const reason = `step ${index + 1} (${step.weight}%): ${error.message}`;
            await this.save({ verdicts: this.verdict(index, step.weight, 'fail', error.message) });
            throw new StepFailed(reason);
          });
          await this.save({ stepIndex: index, weight: step.weight });
          // The step's pause and analysis: the lease must outlast them, not be renewed during them.
          await this.holdLease(step.pause);
          const result = await this.analyse(index, step.weight, step.analysis, step.pause);
          if (result && result.verdict !== 'pass') {
            await this.save({ verdicts: this.verdict(index, step.weight, result.verdict, result.reason) });
            throw new StepFailed(`step ${index + 1} (${step.weight}%): ${result.reason}`);
          }
          await this.save({
            verdicts: this.verdict(
              index,
              step.weight,
              result ? 'pass' : 'skipped',
              result?.reason ?? `held ${formatDuration(step.pause)}, no analysis`,
            ),
          });
        });
      } catch (error) {
        if (!(error instanceof StepFailed)) throw await this.haltedBy(error);
        return this.stepFailed(index, error.message);
      }
      if (pauseAt !== undefined && step.weight >= pauseAt && index < steps.length - 1) {
        const reason = `Paused at ${step.weight}% (pause-at ${pauseAt}); continue with action: continue, or stop with action: abort.`;
        await this.save({ phase: 'paused', reason });
        return this.outcome('paused', reason);
      }
    }
    return this.promote();
  }

  /** An unexpected error (API down, cancelled): try to put traffic back on stable, then say where things stand. */
  private async haltedBy(error: unknown): Promise<Error> {
    // A run that lost its Lease changes nothing more: the run holding it now decides.
    if (error instanceof LeaseLostError) return error;
    const message = sentenceOf(error);
    // Cancelled or timed out: this run's requests are cancelled too; the post step (on GitHub) or the CLI's
    // clean-up aborts the release with a fresh signal.
    if (this.rt.signal.aborted)
      return new UserError(
        `${message}. The release stays ${this.record.phase} at ${this.record.weight}% until the post step (the CLI's clean-up) aborts it (on-cancel: abort); else run action: abort`,
      );
    try {
      await this.abortTraffic(`the run stopped: ${message}`);
      return new UserError(
        this.settings.strategy === 'blue-green'
          ? `${message}. Blue (${this.record.stableVersion}) serves all traffic and green was scaled to 0 (record phase: aborted).`
          : `${message}. Traffic was returned to the stable version and the canary scaled to 0 (record phase: aborted).`,
      );
    } catch (second) {
      return new UserError(
        `${message}. Returning traffic to stable also failed (${(second as Error).message}); the record says phase ${this.record.phase} at ${this.record.weight}%: run action: abort`,
      );
    }
  }

  private async stepFailed(index: number, reason: string): Promise<RolloutOutcome> {
    const previous = index > 0 ? this.settings.steps[index - 1]!.weight : 0;
    if (this.settings.onStepFailure === 'previous-step' && previous > 0) {
      await this.setWeight(previous).catch((error: unknown) => {
        throw this.leftAfter(
          reason,
          `going back to ${previous}% failed`,
          error,
          `the canary may have its pods and traffic for ${previous}% or ${this.settings.steps[index]!.weight}%: run action: abort to return traffic to stable, or action: continue once the cause is fixed`,
        );
      });
      const text = `Back at ${previous}% because ${reason}; fix and continue with action: continue, or stop with action: abort.`;
      await this.save({ phase: 'paused', stepIndex: index - 1, weight: previous, reason: text });
      this.log.error(text);
      return this.outcome('paused', text);
    }
    const text = `Aborted because ${reason}`;
    await this.abortTraffic(text).catch((error: unknown) => {
      if (error instanceof LeaseLostError) throw error;
      throw this.leftAfter(
        reason,
        'returning traffic to stable failed',
        error,
        'traffic may still go to the canary: run action: abort (or rollback with mode: in-flight)',
      );
    });
    // The action reports the outcome's failure (one error line, one annotation): not logged here too.
    return this.outcome('aborted', text);
  }

  /** A step failed and what should follow did not finish: what happened, the state the record keeps, what to run. */
  private leftAfter(reason: string, what: string, error: unknown, next: string): UserError {
    const message = sentenceOf(error);
    const { phase, weight } = this.record;
    return new UserError(
      `Step failed (${reason.replace(/\.+$/, '')}), then ${what}: ${message}. The record says phase ${phase} at ${weight}%; ${next}`,
    );
  }

  /** Traffic 100% stable first (the router's abort), then the canary and baseline to 0 pods. The stable is not touched. */
  private async abortTraffic(reason: string): Promise<void> {
    const { namespace } = this.settings;
    // Said first: a run that dies during the abort leaves a record a later run finishes as an abort (never a promotion).
    if (this.record.phase !== 'aborting') await this.save({ phase: 'aborting', reason });
    // Capacity first (replicas router): the stable back at its size and Ready before the canary loses a pod.
    const surging = this.units.filter((unit) => unit.router.surge);
    for (const unit of surging) await unit.router.surge!(0);
    await Promise.all(
      surging.map((unit) =>
        this.waitStable(unit).catch((error: unknown) => {
          if (error instanceof LeaseLostError) throw error;
          this.log.warning(
            `${unit.record.stable} did not get back to its size in time (${sentenceOf(error)}): the canary is removed anyway, the abort must end`,
          );
        }),
      ),
    );
    await Promise.all(this.units.map((unit) => unit.router.abort()));
    this.timeline.push({ at: this.rt.clock.now(), weight: 0, actual: 0 });
    for (const unit of this.units)
      for (const side of [unit.record.canary, unit.record.baseline]) {
        if (!side) continue;
        await this.client
          .patch('Deployment', { namespace, name: side }, { spec: { replicas: 0 } }, 'merge')
          .catch((error: unknown) => {
            if (!isNotFound(error)) throw error;
          });
      }
    // The stable Service may select the canary pods again only once they are gone.
    const pinned = this.units.filter((unit) => unit.router.releaseStable);
    if (pinned.length > 0) {
      await Promise.all(
        pinned.map((unit) =>
          waitForRollout(
            this.client,
            { kind: 'Deployment', namespace, name: unit.record.canary },
            { clock: this.rt.clock, timeoutMs: 20_000, signal: this.rt.signal },
          ).catch(() => {}),
        ),
      );
      for (const unit of pinned) await unit.router.releaseStable!();
    }
    await this.save({ phase: 'aborted', weight: 0, reason });
  }

  async abort(reason: string): Promise<RolloutOutcome> {
    if (!IN_FLIGHT_PHASES.includes(this.record.phase))
      return this.outcome(
        this.record.phase === 'aborted' ? 'aborted' : 'promoted',
        `Nothing to abort: the rollout is ${this.record.phase}.`,
      );
    // An abort that began during the promotion (the first promote recorded the stables' template) rolls the
    // stables back first; abortPromotion leaves a stable already on its old template alone.
    const promotionBegun =
      this.record.phase === 'aborting' && this.record.workloads.some((workload) => workload.stableTemplate);
    if (this.record.phase === 'promoting' || promotionBegun) return this.abortPromotion(reason);
    await this.abortTraffic(reason);
    return this.outcome('aborted', reason);
  }

  /**
   * Abort while the stables take the new template (phase promoting: a promotion that failed, or whose job was
   * cancelled): traffic alone would leave the stables on the new version, or part-way, under a record saying
   * aborted. Each stable goes back to the revision it ran before the promotion (as post-promotion rollback
   * does), the abort waits until they run it, then traffic goes back to them and the canary to 0.
   */
  private async abortPromotion(reason: string): Promise<RolloutOutcome> {
    const { namespace } = this.settings;
    const { stableVersion, canaryVersion } = this.record;
    const undone: string[] = [];
    const already: string[] = [];
    const pending = this.units.map((unit) => unit.record.stable);
    try {
      await this.holdLease(this.settings.rolloutTimeoutMs);
      if (this.record.phase !== 'aborting') await this.save({ phase: 'aborting', reason });
      for (const unit of this.units) {
        const name = unit.record.stable;
        const stable = await this.client.get<Deployment>('Deployment', { namespace, name });
        // A stable on its old template (never took the new one, or an earlier abort restored it) is left alone.
        const plan = await this.planRestore(unit, stable);
        if (plan?.kind !== 'patch') {
          already.push(name);
          pending.splice(pending.indexOf(name), 1);
          continue;
        }
        await this.client.patch('Deployment', { namespace, name }, plan.patch, 'json');
        undone.push(`${name} to revision ${plan.to.revision}`);
        pending.splice(pending.indexOf(name), 1);
        this.log.info(
          `Deployment ${name}: back to revision ${plan.to.revision} (${describeImages(unit.record.stableImages)})`,
        );
      }
      await this.waitForStables();
    } catch (error) {
      const message = sentenceOf(error);
      throw new UserError(
        `Abort during the promotion of ${canaryVersion} did not finish: rolling the stable Deployments back to ${stableVersion} failed: ${message}${undone.length > 0 ? ` (patched: ${undone.join(', ')})` : ''}${pending.length > 0 ? ` (not patched: ${pending.join(', ')})` : ''}. The record says phase aborting and the stables may run ${canaryVersion}, ${stableVersion} or a mix; traffic and the canary were not changed: run action: abort again (it leaves a stable already back on its template before the promotion alone and rolls back the others), or rollback with mode: kubernetes`,
      );
    }
    const stables = this.units.map((unit) => unit.record.stable).join(', ');
    const text = `${reason.replace(/\.?$/, '.')} The promotion of ${canaryVersion} had begun: ${
      undone.length > 0
        ? `the stable Deployments were rolled back (${undone.join(', ')}${already.length > 0 ? `; ${already.join(', ')} ran ${stableVersion}'s template already` : ''}) and`
        : 'the stable Deployments had not taken it yet (or an earlier abort restored them) and'
    } ${stables} ${this.units.length === 1 ? 'runs' : 'run'} ${stableVersion}; traffic is back on ${this.units.length === 1 ? 'it' : 'them'} and the canary at 0.`;
    await this.abortTraffic(text);
    this.log.warning(text);
    return this.outcome('aborted', text);
  }

  /**
   * The undo that puts a stable back on the template it ran before the promotion (images and config references,
   * as the first promote recorded them; older records: the images at start and none of the new config copies).
   * Undefined when it runs that template already. The target is found by template, not by revision number:
   * Kubernetes gives a restored ReplicaSet the next revision, so the recorded number is gone after one undo.
   */
  private async planRestore(unit: Unit, stable: Deployment): Promise<UndoPlan | undefined> {
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
    const replicaSets = await deploymentReplicaSets(this.client, stable);
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

  /** The JSON patch that gives the stable the canary's template (new images, versioned config), labels kept. */
  private promotionPatch(unit: Unit) {
    const template = renameRefs(
      withImages(
        unit.stable.spec!.template!,
        unit.record.canaryImages,
        (unit.record as VersionedWorkload).canaryVersion ?? this.record.canaryVersion,
      ),
      unit.record.configCopies,
    );
    return [{ op: 'replace', path: '/spec/template', value: template }];
  }

  /** A record left in phase aborting (its run died during the abort): whatever is asked, the abort is finished. */
  finishAbort(): Promise<RolloutOutcome> {
    this.log.warning(
      `The rollout of ${this.record.app} was being aborted when ${this.record.runUrl ?? 'the run that began it'} stopped: finishing the abort (it is never promoted)`,
    );
    return this.abort(this.record.reason ?? 'Aborted.');
  }

  async promote(): Promise<RolloutOutcome> {
    if (this.record.phase === 'aborting') return this.finishAbort();
    const { namespace } = this.settings;
    // Two waits for the stables' rollout at most.
    await this.holdLease(2 * this.settings.rolloutTimeoutMs);
    // A promote run again (the record says promoting): the stables have the new template already, maybe part-way;
    // what they ran before the promotion is what the first promote recorded, and stays so.
    const again = this.record.phase === 'promoting';
    await this.save({ phase: 'promoting' });
    try {
      await this.rt.log.group(`Promote ${this.record.canaryVersion}`, async () => {
        for (const unit of this.units) {
          unit.stable = await this.client.get<Deployment>('Deployment', { namespace, name: unit.record.stable });
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
        await this.save({ workloads: this.units.map((unit) => unit.record) });
        // The replicas router shrank the stable while the canary took its share: back to full size (and Ready)
        // before its pods are replaced, so the rolling update never takes capacity below the stable's size.
        for (const unit of this.units) {
          const current = await this.client.get<Deployment>('Deployment', { namespace, name: unit.record.stable });
          const base = Number(current.metadata?.annotations?.['deploy-actions.dev/stable-replicas']);
          if (Number.isInteger(base) && base > (current.spec?.replicas ?? 0))
            await this.client.patch(
              'Deployment',
              { namespace, name: unit.record.stable },
              { spec: { replicas: base } },
              'merge',
            );
        }
        await this.waitForStables();
        for (const unit of this.units)
          await this.client.patch(
            'Deployment',
            { namespace, name: unit.record.stable },
            this.promotionPatch(unit),
            'json',
          );
        await this.waitForStables();
        for (const unit of this.units) await unit.router.promote();
        this.timeline.push({ at: this.rt.clock.now(), weight: 100, actual: 100 });
        for (const unit of this.units)
          for (const side of [unit.record.canary, unit.record.baseline])
            if (side)
              await this.client.delete('Deployment', { namespace, name: side }).catch((error: unknown) => {
                if (!isNotFound(error)) throw error;
              });
        this.log.info(`The stable Deployments run ${this.record.canaryVersion}; canary objects removed`);
        await this.removeOldCopies();
      });
    } catch (error) {
      if (error instanceof LeaseLostError) throw error;
      throw new UserError(
        `Promotion of ${this.record.canaryVersion} did not finish: ${sentenceOf(error)}. The record says phase promoting; the stable Deployments may be part-way through their rollout to ${this.record.canaryVersion}: run action: promote again to finish it, or action: abort (what the post step of this job does with on-cancel: abort; rollback's mode: in-flight does the same) to roll them back to ${this.record.stableVersion}, the revision each ran before, with traffic on them and the canary at 0`,
      );
    }
    await this.save({ phase: 'promoted', weight: 100, reason: `Promoted ${this.record.canaryVersion}.` });
    const post = this.settings.postPromotion;
    if (post && post.metrics.length > 0) {
      await this.holdLease(post.duration);
      const result = await this.rt.log.group('Post-promotion analysis', () =>
        this.analyse(this.settings.steps.length, 100, post.metrics, post.duration),
      );
      if (result && result.verdict !== 'pass') return this.rollBackStable(`post-promotion analysis: ${result.reason}`);
    }
    return this.outcome('promoted', `Promoted ${this.record.canaryVersion} to 100%.`);
  }

  /**
   * After promotion: config copies of this app older than the two versions rollback needs (the stable's new
   * one and the one it ran before) are deleted, as are an aborted release's. A copy any Deployment in the
   * namespace still references is kept. A failure here is a warning: the release is out.
   */
  private async removeOldCopies(): Promise<void> {
    const { namespace } = this.settings;
    const keep = new Set<string>();
    for (const unit of this.units)
      for (const map of [unit.record.configCopies.configMaps, unit.record.configCopies.secrets])
        for (const [before, after] of Object.entries(map)) keep.add(before).add(after);
    try {
      for (const name of await this.referencedConfig()) keep.add(name);
      const selector = `${Object.entries(MANAGED_BY)
        .map(([key, value]) => `${key}=${value}`)
        .join(',')},${APP_LABEL}=${this.store.app}`;
      for (const kind of ['ConfigMap', 'Secret'] as const) {
        const list = await this.client.list(kind, { namespace, labelSelector: selector });
        for (const object of list.items) {
          const name = object.metadata?.name ?? '';
          if (object.metadata?.annotations?.[COPY_OF_ANNOTATION] === undefined || keep.has(name)) continue;
          await this.client.delete(kind, { namespace, name }).catch((error: unknown) => {
            if (!isNotFound(error)) throw error;
          });
          this.log.info(`${kind} ${name}: removed (a config copy no version in use or kept for rollback needs)`);
        }
      }
    } catch (error) {
      this.log.warning(`Old config copies of ${this.store.app} were not removed: ${(error as Error).message}`);
    }
  }

  /** Post-promotion failure: undo each stable to the revision it had before promotion. */
  private async rollBackStable(reason: string): Promise<RolloutOutcome> {
    const { namespace } = this.settings;
    for (const unit of this.units) {
      const stable = await this.client.get<Deployment>('Deployment', { namespace, name: unit.record.stable });
      const plan = await this.planRestore(unit, stable);
      if (plan?.kind === 'patch')
        await this.client.patch('Deployment', { namespace, name: unit.record.stable }, plan.patch, 'json');
    }
    await this.waitForStables();
    const text = `Rolled back to ${this.record.stableVersion} because ${reason}`;
    await this.save({ phase: 'rolled-back', weight: 0, reason: text });
    // Reported once, by the action, as the outcome's failure.
    return this.outcome('rolled-back', text);
  }

  /** Blue-green: green at full size, preview checks, one switch of the active Service, blue kept for the delay. */
  private async blueGreen(): Promise<RolloutOutcome> {
    const { namespace } = this.settings;
    await this.holdLease(this.settings.rolloutTimeoutMs);
    try {
      await this.rt.log.group('Start green', async () => {
        for (const unit of this.units) {
          const replicas = unit.stable.spec?.replicas ?? 1;
          await this.client.patch(
            'Deployment',
            { namespace, name: unit.record.canary },
            { spec: { replicas } },
            'merge',
          );
        }
        for (const unit of this.units) await this.waitSides(unit);
      });
      // The preview Service must select green before anything checks it through that Service.
      for (const unit of this.units) {
        const detail = await unit.router.preparePreview?.();
        if (detail) {
          this.log.info(`${unit.record.stable}: ${detail}`);
          this.routing.push(`${unit.record.stable}: ${detail}`);
        }
      }
      if (this.settings.previewChecks)
        await this.rt.log.group('Preview checks', async () => {
          for (const unit of this.units)
            await this.settings.previewChecks!(unit.record.canary).catch((error: unknown) => {
              throw new StepFailed(`preview checks failed: ${(error as Error).message}`);
            });
        });
      // The switch is inside the abort path too: whatever stops it leaves blue serving and green at 0.
      for (const unit of this.units) {
        const state = await unit.router.setWeight(100);
        this.routing.push(`${unit.record.stable}: ${state.detail}`);
      }
    } catch (error) {
      if (!(error instanceof StepFailed)) throw await this.haltedBy(error);
      const text = `Aborted before the switch because ${error.message}`;
      await this.abortTraffic(text);
      return this.outcome('aborted', text);
    }
    this.timeline.push({ at: this.rt.clock.now(), weight: 100, actual: 100 });
    const setting = this.settings.scaleDownDelay ?? 0;
    const manual = setting === 'manual';
    const metrics = uniqueMetrics(this.settings.steps.flatMap((step) => step.analysis));
    // manual: the analysis runs for the step's pause (when there is one); blue then waits for a later job.
    const delay = manual ? (metrics.length > 0 ? (this.settings.steps[0]?.pause ?? 0) : 0) : setting;
    await this.save({
      phase: 'switched',
      stepIndex: 0,
      weight: 100,
      ...(manual ? {} : { scaleDownAt: new Date(this.rt.clock.now() + delay).toISOString() }),
    });
    await this.holdLease(delay);
    const result = await this.analyse(0, 100, metrics, delay);
    if (result && result.verdict !== 'pass') {
      const text = `Switched back to blue because ${result.reason}`;
      await this.abortTraffic(text);
      return this.outcome('aborted', text);
    }
    await this.save({
      verdicts: this.verdict(
        0,
        100,
        result ? 'pass' : 'skipped',
        result?.reason ?? (delay > 0 ? `held ${formatDuration(delay)}, no analysis` : 'no analysis'),
      ),
    });
    if (manual) {
      const reason = `Switched to ${this.record.canaryVersion}; blue (${this.record.stableVersion}) stays until action: finalize removes it, or action: abort switches back to it.`;
      await this.save({ reason });
      return this.outcome('paused', reason);
    }
    return this.promote();
  }

  /**
   * Blue-green switched: blue takes the new version (promote), green goes. After promotion, abort or
   * rollback: remove what is left (Deployments, config copies of an aborted version). A canary still
   * in flight is refused: removing its pods would leave the stable shrunk and the record in flight.
   */
  async finalize(): Promise<RolloutOutcome> {
    if (this.record.phase === 'aborting') await this.finishAbort();
    const { phase, app, weight } = this.record;
    if (phase === 'switched') return this.promote();
    if (phase === 'progressing' || phase === 'paused' || phase === 'promoting')
      throw new UserError(
        `The rollout of "${app}" is ${phase} at ${weight}%: finalize is for a blue-green rollout that switched (it removes blue) or cleans up after promoted, aborted or rolled-back; ${
          phase === 'promoting'
            ? `run action: promote to finish the promotion, or abort to roll the stables back to ${this.record.stableVersion}`
            : 'run action: continue to go on with the steps, promote to go to 100% now, or abort to return traffic to stable'
        }. Nothing was changed.`,
      );
    const { namespace } = this.settings;
    for (const unit of this.units)
      for (const side of [unit.record.canary, unit.record.baseline])
        if (side) await this.client.delete('Deployment', { namespace, name: side }).catch(() => {});
    if (this.record.phase === 'aborted') {
      // A copy a Deployment still references is not the aborted version's alone (a stable runs it, or
      // a user pointed another Deployment at it by hand): kept, as removeOldCopies keeps them.
      const sides = new Set(this.units.flatMap((unit) => [unit.record.canary, unit.record.baseline]));
      const inUse = await this.referencedConfig(sides);
      for (const unit of this.units)
        for (const [kind, map] of [
          ['ConfigMap', unit.record.configCopies.configMaps],
          ['Secret', unit.record.configCopies.secrets],
        ] as const)
          for (const name of Object.values(map)) {
            if (inUse.has(name)) {
              this.log.info(`${kind} ${name}: kept (a Deployment still references it)`);
              continue;
            }
            await this.client.delete(kind, { namespace, name }).catch(() => {});
          }
    }
    // Finalizing is what was asked and it was done: the step succeeds (the aborted release failed in its own run).
    return this.outcome(
      'finalized',
      `Finalized: canary objects of ${this.record.canaryVersion} removed${this.record.phase === 'aborted' ? ' (the release was aborted)' : ''}.`,
    );
  }

  outcome(result: RolloutResult, reason: string, plan?: string[]): RolloutOutcome {
    return {
      result,
      record: this.record,
      reason,
      timeline: this.timeline,
      analyses: this.analyses,
      routing: this.routing,
      ...(plan ? { plan } : {}),
    };
  }

  get current(): RolloutRecord {
    return this.record;
  }
  get phase(): RolloutPhase {
    return this.record.phase;
  }
}

/** Canary pods for a weight when the router splits traffic itself (the replicas router sizes both sides on its own). */
export function canaryReplicas(_router: string, stableReplicas: number, weight: number): number {
  if (weight >= 100) return stableReplicas;
  // Routers other than replicas split traffic themselves: give the canary its share of the capacity (an HPA scales the rest).
  return Math.max(1, Math.ceil((stableReplicas * weight) / 100));
}

/** An error's message as a clause, its final period dropped, to go on inside a longer sentence. */
function sentenceOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\.+$/, '');
}

/** A workload's record with its own versions (records written before them have none: the rollout's). */
type VersionedWorkload = WorkloadRecord & { stableVersion?: string; canaryVersion?: string };

function describeImages(images: Record<string, string>): string {
  return Object.entries(images)
    .map(([container, image]) => `${container}=${image}`)
    .join(', ');
}
