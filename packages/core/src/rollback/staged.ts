/**
 * rollback, mode `staged` (a reverse canary), for a problem found after a full
 * promotion, when the old version no longer runs:
 *
 * 1. Per Deployment, the version to return to is chosen as `mode: kubernetes`
 *    would (`to-revision`, else the revision canary-promote's record says the
 *    stable had before it promoted the current release, else the previous one)
 *    and its ReplicaSet's pod template is read.
 * 2. That template runs as a temporary Deployment `<name>-canary` beside the
 *    current one (the canary's name and labels, so the same `router` and
 *    `router-config` as canary-promote's work unchanged).
 * 3. The router sends `steps` of the traffic to it (e.g. 25, 50), each held for
 *    `pause` with the `analysis` rules, exactly as a canary step.
 * 4. At 100 the old template goes onto the main Deployment (a JSON patch of
 *    `/spec/template`, what `kubectl rollout undo` restores), the rollout is
 *    awaited, the router's promote sends traffic back to the main Deployment,
 *    and the temporary one is deleted.
 *
 * Abort (a failed step, pods that never become ready, an API failure, or
 * `mode: in-flight` from another run): the router's abort puts 100% of the
 * traffic back on the main Deployment, which still runs the current version
 * untouched, and the temporary Deployment goes. The run holds the app's lease
 * and keeps canary-promote's state record, so no release starts meanwhile and
 * `mode: in-flight` can abort a run that died.
 *
 * Deployments on different tags keep their own versions (the record joins them, `v1.5+v3.3`, as
 * canary-promote's does); queries by version are refused then, since `{{canary}}` stands for one version.
 */
import { InputError, UserError } from '../errors';
import { renderChecksSummary } from '../http';
import type { CheckSpec } from '../http/spec';
import { formatDuration } from '../inputs/scalars';
import type { KubeClient } from '../kube/client';
import { isNotFound } from '../kube/errors';
import { planUndo, templateImages } from '../kube/history';
import { waitForRollout } from '../kube/rollout-wait';
import type { Deployment, PodTemplateSpec } from '../kube/types';
import { deploymentReplicaSets, findDeployments } from '../kube/workloads';
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
import { table } from '../report';
import { canaryReplicas } from '../rollout/canary';
import type { Step } from '../rollout/plan';
import { changedVersion, joinVersions, selectorText, sideDeployment, versionOf } from '../rollout/workloads';
import { getOptional } from '../routing/common';
import type { RouterState, TrafficRouter, TrafficTarget } from '../routing/types';
import type { Runtime } from '../runtime/port';
import { RolloutLease } from '../state/lease';
import {
  IN_FLIGHT_PHASES,
  RecordStore,
  ROLE_LABEL,
  type RolloutRecord,
  type StepVerdict,
  stableHistoryEnd,
} from '../state/record';
import { runIdentity, runLink } from '../state/run-identity';
import {
  describeImages,
  type RollbackReport,
  stateOf,
  summaryMarkdown,
  type TimelineEntry,
  verify,
  type WorkloadRestore,
  type WorkloadState,
} from './index';

export interface StagedRequest {
  namespace: string;
  deployments?: readonly string[] | undefined;
  selector?: string | undefined;
  /** The record and lease key (canary-promote's `app`). */
  app: string;
  toRevision?: number | undefined;
  /** Weights back to the old version; the last one below 100 is held, then the old version is promoted. */
  steps: Step[];
  /** The `analysis` input as parsed (the metrics of steps without their own): errors name the input a metric came from. */
  analysis?: MetricSpec[] | undefined;
  router: { kind: string; config: unknown };
  makeRouter: (target: TrafficTarget) => TrafficRouter;
  reason?: string | undefined;
  triggeredBy?: string | undefined;
  dryRun: boolean;
  /** Limit for each wait on pods. */
  timeoutMs: number;
  /** HTTP checks run once the previous version serves everything (the smoke spec format). */
  verify?: CheckSpec | undefined;
  providerFor?: ((config: ProviderConfig) => MetricProvider) | undefined;
}

/** What served at one step: per workload, the pods of the current and of the previous version. */
export interface StagedStep {
  step: number;
  /** The weight asked for, and what the router reports it serves. */
  weight: number;
  actual: number;
  at: string;
  verdict: StepVerdict['verdict'];
  reason: string;
  workloads: Array<{
    name: string;
    current: { replicas: number; images: Record<string, string> };
    previous: { replicas: number; images: Record<string, string> };
  }>;
  routing: string[];
}

export interface StagedReport extends RollbackReport {
  steps: StagedStep[];
  analyses: Array<{ step: number; weight: number; result: AnalysisResult }>;
  /** Dry run: what would be done. */
  plan?: string[];
}

interface Unit {
  name: string;
  stable: Deployment;
  /** The temporary Deployment running the previous template. */
  side: Deployment;
  template: PodTemplateSpec;
  before: WorkloadState;
  target: WorkloadState;
  router: TrafficRouter;
  /** The side Deployment's version label: never the current version's, or {{canary}} would select the stable's pods too. */
  version: string;
}

class StepFailed extends Error {}

/** The revision canary-promote's record says the stable had before it promoted the release running now. */
function recordedRevision(record: RolloutRecord | undefined, deployment: Deployment): number | undefined {
  if (record?.phase !== 'promoted') return undefined;
  const workload = record.workloads.find((entry) => entry.stable === deployment.metadata?.name);
  if (workload?.stableRevision === undefined) return undefined;
  const current = templateImages(deployment.spec?.template);
  const same = Object.entries(workload.canaryImages).every(([container, image]) => current[container] === image);
  return same ? workload.stableRevision : undefined;
}

export async function rollbackStaged(rt: Runtime, client: KubeClient, request: StagedRequest): Promise<StagedReport> {
  const { namespace, app } = request;
  const timeline: TimelineEntry[] = [];
  const mark = (event: string) => {
    timeline.push({ at: new Date(rt.clock.now()).toISOString(), event });
    rt.log.info(event);
  };
  mark(
    `Staged rollback requested${request.triggeredBy ? ` by ${request.triggeredBy}` : ''}: ${request.reason ?? 'no reason given'}`,
  );
  const steps: StagedStep[] = [];
  const analyses: StagedReport['analyses'] = [];
  const report = (result: RollbackReport['result'], workloads: WorkloadRestore[], extra: Partial<StagedReport> = {}) =>
    finish(rt, {
      result,
      mode: 'staged',
      namespace,
      reason: request.reason,
      triggeredBy: request.triggeredBy,
      workloads,
      timeline,
      steps,
      analyses,
      ...extra,
    });

  // Everything is checked before the first write.
  const found = (
    await findDeployments(client, { namespace, names: request.deployments, selector: request.selector })
  ).filter((deployment) => deployment.metadata?.labels?.[ROLE_LABEL] === undefined);
  const store = await RecordStore.load(client, namespace, app);
  const previous = store.record;
  if (previous && IN_FLIGHT_PHASES.includes(previous.phase)) {
    throw new UserError(
      `A rollout of "${app}" is ${previous.phase} at ${previous.weight}% (${previous.stableVersion} → ${previous.canaryVersion}${previous.runUrl ? `, ${previous.runUrl}` : ''}): a staged rollback needs a finished release`,
      { hint: 'use mode: in-flight to abort the rollout in flight' },
    );
  }
  const units: Unit[] = [];
  const skipped: WorkloadRestore[] = [];
  for (const stable of found) {
    const name = stable.metadata?.name ?? '';
    const replicaSets = await deploymentReplicaSets(client, stable);
    const plan = planUndo(stable, replicaSets, request.toRevision ?? recordedRevision(previous, stable) ?? 0);
    const before = stateOf(stable);
    if (plan.kind === 'skip') {
      skipped.push({ name, outcome: 'skipped', before, after: before, message: plan.reason });
      continue;
    }
    const template = plan.patch[0]!.value as PodTemplateSpec;
    const images = templateImages(template);
    // A release that changed only a digest, a sidecar or a ConfigMap keeps the tag: named as canary-promote does.
    const version = changedVersion(before.images, images, versionOf(before.images, 'current'));
    const side = sideDeployment(stable, { role: 'canary', name: `${name}-canary`, version, template }, app, 0);
    const router = request.makeRouter({
      namespace,
      app,
      stable: { deployment: name },
      canary: { deployment: side.metadata!.name! },
    });
    units.push({
      name,
      stable,
      side,
      template,
      before,
      target: { revision: plan.to.revision, images },
      router,
      version,
    });
  }
  if (units.length === 0) {
    mark('Every Deployment already runs the version to return to');
    return report('skipped', skipped);
  }
  for (const unit of units) await unit.router.validate();
  // Each Deployment's own versions (as canary-promote keeps them): their tags joined when they differ.
  const versions = units.map((unit) => ({
    current: versionOf(unit.before.images, 'current'),
    previous: unit.version,
  }));
  const currentVersion = joinVersions(versions.map((v) => v.current));
  const previousVersion = joinVersions(versions.map((v) => v.previous));
  refuseVersionQueries(request, units, versions);
  const targets = { canary: previousVersion, stable: currentVersion, namespace, app };
  const queried = uniqueMetrics(request.steps.flatMap((step) => step.analysis)).filter(
    (metric) => metric.kind !== 'kubernetes',
  );
  if (queried.length > 0) {
    await validateAnalysis({
      metrics: queried,
      targets,
      duration: 0,
      clock: rt.clock,
      signal: rt.signal,
      ...(request.providerFor ? { providerFor: request.providerFor } : {}),
    });
  }
  const weights = request.steps.map((step) => step.weight).filter((weight) => weight < 100);
  mark(
    `Planned: ${units.map((unit) => `deployment/${unit.name} ${currentVersion} → revision ${unit.target.revision}`).join(', ')}; traffic back in steps ${[...weights, 100].join('% → ')}%`,
  );

  if (request.dryRun) {
    const lines: string[] = [];
    for (const unit of units) {
      await client.patch('Deployment', { namespace, name: unit.side.metadata!.name! }, unit.side, 'apply', {
        dryRun: true,
        force: true,
      });
      lines.push(
        `create Deployment ${unit.side.metadata!.name} (revision ${unit.target.revision}: ${describeImages(unit.target.images)})`,
      );
      for (const weight of weights)
        for (const line of await unit.router.plan(weight)) lines.push(`at ${weight}%: ${line}`);
      await client.patch('Deployment', { namespace, name: unit.name }, templatePatch(unit), 'json', { dryRun: true });
      lines.push(
        `at 100%: Deployment ${unit.name} takes revision ${unit.target.revision}'s template, then ${unit.side.metadata!.name} is deleted`,
      );
    }
    const workloads = units.map(
      (unit): WorkloadRestore => ({
        name: unit.name,
        outcome: 'planned',
        before: unit.before,
        after: unit.target,
        message: 'dry run: nothing changed',
      }),
    );
    return report('planned', [...workloads, ...skipped], { plan: lines });
  }

  const lease = await RolloutLease.acquire(client, {
    namespace,
    app,
    ...runIdentity(rt.env),
    clock: rt.clock,
  });
  try {
    const record: RolloutRecord = {
      version: 1,
      app,
      namespace,
      strategy: 'canary',
      phase: 'progressing',
      stepIndex: -1,
      steps: request.steps.map((step) => step.weight),
      weight: 0,
      router: request.router,
      stableVersion: currentVersion,
      canaryVersion: previousVersion,
      workloads: units.map((unit, index) => ({
        stable: unit.name,
        stableVersion: versions[index]!.current,
        canaryVersion: versions[index]!.previous,
        canary: unit.side.metadata!.name!,
        stableImages: unit.before.images,
        canaryImages: unit.target.images,
        configCopies: { configMaps: {}, secrets: {} },
        ...(unit.before.revision !== undefined ? { stableRevision: unit.before.revision } : {}),
      })),
      verdicts: [],
      reason: `Staged rollback to ${previousVersion}: ${request.reason ?? 'no reason given'}`,
      ...runLink(rt.env),
      updatedAt: new Date(rt.clock.now()).toISOString(),
      // The end of the stable-history window for count comparisons: the current version's traffic before this.
      startedAt: new Date(rt.clock.now()).toISOString(),
    };
    const save = async (change: Partial<RolloutRecord>) => {
      Object.assign(record, change, { updatedAt: new Date(rt.clock.now()).toISOString() });
      if (lease.lost) throw lease.lost;
      await store.save(record);
    };
    await save({});
    const staged = new Staged(rt, client, request, units, targets, stableHistoryEnd(record));
    try {
      for (const unit of units) {
        await client.patch('Deployment', { namespace, name: unit.side.metadata!.name! }, unit.side, 'apply', {
          force: true,
        });
      }
      mark(
        `Started ${units.map((unit) => `deployment/${unit.side.metadata!.name} (${describeImages(unit.target.images)})`).join(', ')} beside the current version`,
      );
      for (const [index, step] of request.steps.entries()) {
        if (step.weight >= 100) break;
        const result = await rt.log.group(`Step ${index + 1}: ${step.weight}% back to ${previousVersion}`, async () => {
          const state = await staged.setWeight(step.weight);
          await save({ stepIndex: index, weight: step.weight });
          mark(`Step ${index + 1}: ${step.weight}% to ${previousVersion} (${state.routing.join('; ')})`);
          const analysis = await staged.analyse(step);
          if (analysis) analyses.push({ step: index, weight: step.weight, result: analysis });
          const verdict: StepVerdict['verdict'] = analysis ? analysis.verdict : 'skipped';
          const reason = analysis?.reason ?? `held ${formatDuration(step.pause)}, no analysis`;
          steps.push({
            step: index + 1,
            weight: step.weight,
            actual: state.actual,
            at: new Date(rt.clock.now()).toISOString(),
            verdict,
            reason,
            workloads: await staged.serving(),
            routing: state.routing,
          });
          await save({
            verdicts: [
              ...record.verdicts,
              { step: index, weight: step.weight, verdict, reason, at: new Date(rt.clock.now()).toISOString() },
            ],
          });
          return analysis;
        });
        if (result && result.verdict !== 'pass')
          throw new StepFailed(`step ${index + 1} (${step.weight}%): ${result.reason}`);
      }
    } catch (error) {
      const why = error instanceof StepFailed ? error.message : `the run stopped: ${(error as Error).message}`;
      let state = 'Traffic is back on the current version and the temporary Deployments are removed';
      try {
        await staged.abort();
        await save({ phase: 'aborted', weight: 0, reason: `Staged rollback aborted because ${why}` });
      } catch (second) {
        state = `Returning traffic to the current version also failed (${(second as Error).message}); run rollback with mode: in-flight`;
      }
      mark(`Aborted because ${why}. ${state}`);
      const workloads = units.map(
        (unit): WorkloadRestore => ({
          name: unit.name,
          outcome: 'failed',
          before: unit.before,
          after: unit.before,
          message: `aborted: ${why}`,
        }),
      );
      if (!(error instanceof StepFailed) && !(error instanceof UserError)) {
        throw new UserError(`Staged rollback stopped: ${(error as Error).message}. ${state}.`, { cause: error });
      }
      const done = report('aborted', [...workloads, ...skipped]);
      return done;
    }

    // 100%: the old template onto the main Deployments.
    await save({ phase: 'promoting' });
    const restored = await rt.log.group(
      `Return ${units.map((unit) => unit.name).join(', ')} to ${previousVersion}`,
      () => staged.promote(mark),
    );
    steps.push({
      step: steps.length + 1,
      weight: 100,
      actual: 100,
      at: new Date(rt.clock.now()).toISOString(),
      verdict: 'skipped',
      reason: 'previous version promoted',
      workloads: await staged.serving(),
      routing: [],
    });
    await save({
      phase: 'rolled-back',
      weight: 100,
      reason: `Rolled back to ${previousVersion} in steps${request.triggeredBy ? ` by ${request.triggeredBy}` : ''}: ${request.reason ?? 'no reason given'}`,
    });
    const workloads = units.map(
      (unit): WorkloadRestore => ({
        name: unit.name,
        outcome: 'restored',
        before: unit.before,
        after: restored.get(unit.name) ?? unit.target,
        message: `back to revision ${unit.target.revision} in ${request.steps.length} step(s)`,
      }),
    );
    const verification = request.verify ? await verify(rt, client, request, request.verify, mark) : undefined;
    return report('rolled-back', [...workloads, ...skipped], verification ? { verification } : {});
  } finally {
    await lease.release();
  }
}

function templatePatch(unit: Unit) {
  return [{ op: 'replace', path: '/spec/template', value: unit.template }];
}

/** The traffic moves of one staged rollback (the steps of a canary, with the previous version as the canary). */
class Staged {
  constructor(
    private readonly rt: Runtime,
    private readonly client: KubeClient,
    private readonly request: StagedRequest,
    private readonly units: Unit[],
    private readonly targets: { canary: string; stable: string; namespace: string; app: string },
    /** Where the current version's own history ends (the staged rollback's start): count comparisons read it. */
    private readonly history: { stableHistoryEnd?: number },
  ) {}

  /** Size the temporary Deployment for `weight`, wait for its pods, move the traffic (as canary.ts does). */
  async setWeight(weight: number): Promise<{ actual: number; routing: string[] }> {
    const { namespace, router } = this.request;
    const routing: string[] = [];
    let sum = 0;
    for (const unit of this.units) {
      const side = unit.side.metadata!.name!;
      let state: RouterState;
      if (router.kind === 'replicas') {
        state = await unit.router.setWeight(weight);
        await this.waitSide(side);
      } else {
        const replicas = canaryReplicas(router.kind, unit.stable.spec?.replicas ?? 1, weight);
        await this.client.patch('Deployment', { namespace, name: side }, { spec: { replicas } }, 'merge');
        await this.waitSide(side);
        state = await unit.router.setWeight(weight);
      }
      sum += state.actualWeight;
      routing.push(`${unit.name}: ${state.detail}`);
    }
    return { actual: Math.round((sum / this.units.length) * 10) / 10, routing };
  }

  private async waitSide(name: string) {
    await waitForRollout(
      this.client,
      { kind: 'Deployment', namespace: this.request.namespace, name },
      { clock: this.rt.clock, timeoutMs: this.request.timeoutMs, signal: this.rt.signal },
    ).catch((error: unknown) => {
      throw new StepFailed(`the previous version's pods did not become ready: ${(error as Error).message}`);
    });
  }

  async analyse(step: Step): Promise<AnalysisResult | undefined> {
    if (step.analysis.length === 0) {
      if (step.pause > 0) await this.rt.clock.sleep(step.pause, this.rt.signal);
      return undefined;
    }
    // One list + watch per workload for the step's analysis (a pod cache), not a list per check.
    const pods = new PodCache(this.client, { namespace: this.request.namespace, clock: this.rt.clock });
    return runAnalysis({
      metrics: step.analysis,
      targets: this.targets,
      duration: step.pause,
      clock: this.rt.clock,
      signal: this.rt.signal,
      canaryPods: pods.source(() => this.units.map((unit) => selectorText(unit.side))),
      ...this.history,
      ...(this.request.providerFor ? { providerFor: this.request.providerFor } : {}),
      onMeasurement: (m) =>
        this.rt.log.info(
          `  ${m.metric}: ${m.value ?? '—'} (${m.threshold}) ${m.outcome}${m.note ? `: ${m.note}` : ''}`,
        ),
    }).finally(() => pods.close());
  }

  /** Replicas and images of both versions now, per workload. */
  async serving(): Promise<StagedStep['workloads']> {
    const { namespace } = this.request;
    const read = async (name: string) => {
      const object = await getOptional<Deployment>(this.client, 'Deployment', namespace, name);
      return { replicas: object?.spec?.replicas ?? 0, images: templateImages(object?.spec?.template) };
    };
    return Promise.all(
      this.units.map(async (unit) => ({
        name: unit.name,
        current: await read(unit.name),
        previous: await read(unit.side.metadata!.name!),
      })),
    );
  }

  /** Traffic 100% on the main Deployments (still the current version), then the temporary ones removed. */
  async abort(): Promise<void> {
    await Promise.all(this.units.map((unit) => unit.router.abort()));
    await this.removeSides();
  }

  private async removeSides() {
    for (const unit of this.units)
      await this.client
        .delete('Deployment', { namespace: this.request.namespace, name: unit.side.metadata!.name! })
        .catch((error: unknown) => {
          if (!isNotFound(error)) throw error;
        });
  }

  /**
   * The previous template onto each main Deployment (traffic still split), its rollout awaited at full size, then
   * the router's promote (all traffic to the main Deployments) and the temporary Deployments deleted.
   */
  async promote(mark: (event: string) => void): Promise<Map<string, WorkloadState>> {
    const { namespace } = this.request;
    const wait = (name: string) =>
      waitForRollout(
        this.client,
        { kind: 'Deployment', namespace, name },
        { clock: this.rt.clock, timeoutMs: this.request.timeoutMs, signal: this.rt.signal },
      );
    try {
      for (const unit of this.units) {
        await this.client.patch('Deployment', { namespace, name: unit.name }, templatePatch(unit), 'json');
        mark(
          `Patched deployment/${unit.name}: revision ${unit.target.revision}'s template (${describeImages(unit.target.images)})`,
        );
      }
      await Promise.all(this.units.map((unit) => wait(unit.name)));
      // The replicas router shrank the main Deployment while the temporary one took its share: full size first.
      for (const unit of this.units) {
        const current = await this.client.get<Deployment>('Deployment', { namespace, name: unit.name });
        const base = Number(current.metadata?.annotations?.['deploy-actions.dev/stable-replicas']);
        if (Number.isInteger(base) && base > (current.spec?.replicas ?? 0))
          await this.client.patch('Deployment', { namespace, name: unit.name }, { spec: { replicas: base } }, 'merge');
      }
      const done = await Promise.all(this.units.map((unit) => wait(unit.name)));
      for (const unit of this.units) await unit.router.promote();
      await this.removeSides();
      mark(
        `100%: ${this.units.map((unit) => `deployment/${unit.name}`).join(', ')} run ${this.targets.canary}; temporary Deployments removed`,
      );
      return new Map(this.units.map((unit, index) => [unit.name, stateOf(done[index]!.object as Deployment)]));
    } catch (error) {
      throw new UserError(
        `Returning ${this.units.map((unit) => unit.name).join(', ')} to ${this.targets.canary} did not finish: ${(error as Error).message}. The temporary Deployments still serve their share; run the staged rollback again, or mode: kubernetes`,
        { cause: error },
      );
    }
  }
}

/**
 * Deployments returning to different tags (or leaving different ones): a query's `{{canary}}` (the previous
 * version here), `{{stable}}` (the current one), `{{version}}` and a comparison's control stand for one
 * version, so they would read one Deployment's pods, or none, and judge the others by them. Refused before
 * anything changes, as canary-promote refuses them; kubernetes signals are per Deployment already.
 */
function refuseVersionQueries(
  request: StagedRequest,
  units: Unit[],
  versions: Array<{ current: string; previous: string }>,
): void {
  const distinct = (pick: 'current' | 'previous') => new Set(versions.map((v) => v[pick])).size > 1;
  if (!distinct('previous') && !distinct('current')) return;
  // One tag to return to, different ones running now: only what reads the current version is ambiguous.
  const ambiguous = distinct('previous') ? VERSION_PLACEHOLDERS : ['stable', 'baseline'];
  const byVersion = metricsByVersion(uniqueMetrics(request.steps.flatMap((step) => step.analysis)), ambiguous);
  if (byVersion.length === 0) return;
  const which = distinct('previous') ? 'previous' : 'current';
  const listed = units.map((unit, index) => `${unit.name} ${versions[index]![which]}`).join(', ');
  // The input they came from: the analysis input, or a step's own analysis (steps).
  const input = byVersion.every((metric) => request.analysis?.includes(metric)) ? 'analysis' : 'steps';
  throw new InputError(
    input,
    `the Deployments ${which === 'previous' ? 'return to different tags' : 'run different tags now'} (${listed}), but ${byVersion.map((metric) => `'${metric.name}'`).join(', ')} ${byVersion.length === 1 ? 'reads' : 'read'} the metrics by version ({{canary}}, {{stable}}, {{version}} or compare), which stands for one version in a query: the other Deployments' pods would be judged by it, or not read at all. Roll back one Deployment at a time (deployments: auth), or check them without a version (provider kubernetes signals)`,
    byVersion.map((metric) => metric.name).join(', '),
    input === 'analysis'
      ? '[{ name: restarts, provider: kubernetes, signal: restarts, max: 0 }]'
      : '[{ weight: 50, pause: 5m, analysis: [{ name: restarts, provider: kubernetes, signal: restarts, max: 0 }] }, { weight: 100 }]',
  );
}

function finish(rt: Runtime, report: StagedReport): StagedReport {
  rt.summary.append(summaryMarkdown(report));
  if (report.verification)
    rt.summary.append(renderChecksSummary(report.verification, 'Verification after the rollback'));
  if (report.steps.length > 0) {
    rt.summary.append(
      [
        '### Steps',
        '',
        table(
          ['step', 'weight to previous', 'served', 'previous version pods', 'current version pods', 'verdict'],
          report.steps.map((step) => [
            String(step.step),
            `${step.weight}%`,
            `${step.actual}%`,
            step.workloads
              .map((w) => `${w.name}: ${w.previous.replicas} × ${describeImages(w.previous.images) || '—'}`)
              .join('; '),
            step.workloads
              .map((w) => `${w.name}: ${w.current.replicas} × ${describeImages(w.current.images)}`)
              .join('; '),
            `${step.verdict}: ${step.reason}`,
          ]),
        ),
      ].join('\n'),
    );
  }
  if (report.plan) rt.summary.append(['### Plan', '', ...report.plan.map((line) => `- ${line}`), ''].join('\n'));
  return report;
}
