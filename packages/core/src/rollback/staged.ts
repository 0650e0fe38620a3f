/**
 * rollback, mode `staged` (a reverse canary), for a problem found after a full promotion, when the old version
 * no longer runs. A client of the release engine (core/rollout): a release whose new version is the previous
 * template, through the same steps, routers (the stable Service pinned with isolateStable), parallel waits,
 * pod guard and analysis as a canary.
 *
 * 1. Per Deployment, the version to return to is chosen as `mode: kubernetes` would (`to-revision`, else the
 *    revision canary-promote's record says the stable had before it promoted the current release, else the
 *    previous one) and its ReplicaSet's pod template is read.
 * 2. That template runs as a temporary Deployment `<name>-canary` beside the current one (the canary's name and
 *    labels, so the same `router` and `router-config` as canary-promote's work unchanged).
 * 3. The router sends `steps` of the traffic to it (e.g. 25, 50), each held for `pause` with the `analysis`
 *    rules: the engine's canary steps.
 * 4. At 100 the engine's promotion gives the main Deployment that template (a JSON patch of `/spec/template`,
 *    what `kubectl rollout undo` restores), the router's promote sends traffic back to it, and the temporary
 *    Deployment is deleted. The record then says `rolled-back`.
 *
 * Abort (a failed step, pods that never become ready, an API failure, or `mode: in-flight` from another run):
 * the engine's abort puts 100% of the traffic back on the main Deployment, which still runs the current version
 * untouched; the temporary Deployment is then deleted. The run holds the app's lease (every write fenced by it)
 * and keeps canary-promote's state record, so no release starts meanwhile and `mode: in-flight` can abort a run
 * that died.
 *
 * Deployments on different tags keep their own versions (the record joins them, `v1.5+v3.3`, as canary-promote's
 * does); queries by version are refused then, since `{{canary}}` stands for one version.
 */
import { InputError, UserError } from '../errors';
import { renderChecksSummary } from '../http';
import type { CheckSpec } from '../http/spec';
import type { KubeClient } from '../kube/client';
import { planUndo, templateImages } from '../kube/history';
import { getOptional } from '../kube/objects';
import type { Deployment, PodTemplateSpec } from '../kube/types';
import { deploymentReplicaSets, describeImages, findDeployments } from '../kube/workloads';
import type { AnalysisResult } from '../metrics/engine';
import type { MetricProvider } from '../metrics/provider';
import {
  type MetricSpec,
  metricsByVersion,
  type ProviderConfig,
  uniqueMetrics,
  VERSION_PLACEHOLDERS,
} from '../metrics/spec';
import { table } from '../report';
import { type GivenTemplate, Rollout, type StepReport } from '../rollout/canary';
import type { Step } from '../rollout/plan';
import { changedVersion, joinVersions, sideDeployment, versionOf } from '../rollout/workloads';
import type { TrafficRouter, TrafficTarget } from '../routing/types';
import type { Runtime } from '../runtime/port';
import { LeaseLostError, RolloutLease } from '../state/lease';
import { IN_FLIGHT_PHASES, RecordStore, ROLE_LABEL, type RolloutRecord, type StepVerdict } from '../state/record';
import { runIdentity } from '../state/run-identity';
import {
  type RollbackReport,
  stateOf,
  summaryMarkdown,
  type TimelineEntry,
  type WorkloadRestore,
  type WorkloadState,
} from './report';
import { verify } from './verify';

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

/** One Deployment going back: the template to return to and the versions on both sides. */
interface Return extends GivenTemplate {
  name: string;
  /** The temporary Deployment running the previous template. */
  side: string;
  before: WorkloadState;
  target: WorkloadState;
}

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
  let analyses: StagedReport['analyses'] = [];
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

  // Everything is checked before the first write; every write once the Lease is taken is fenced by it.
  let lease: RolloutLease | undefined;
  const fenced = client.fenced(() => lease?.check() ?? Promise.resolve());
  const found = (
    await findDeployments(client, { namespace, names: request.deployments, selector: request.selector })
  ).filter((deployment) => deployment.metadata?.labels?.[ROLE_LABEL] === undefined);
  const store = await RecordStore.load(fenced, namespace, app);
  const previous = store.record;
  if (previous && IN_FLIGHT_PHASES.includes(previous.phase)) {
    throw new UserError(
      `A rollout of "${app}" is ${previous.phase} at ${previous.weight}% (${previous.stableVersion} → ${previous.canaryVersion}${previous.runUrl ? `, ${previous.runUrl}` : ''}): a staged rollback needs a finished release`,
      { hint: 'use mode: in-flight to abort the rollout in flight' },
    );
  }
  const { returns, skipped } = await returnsOf(client, found, request.toRevision, previous);
  if (returns.length === 0) {
    mark('Every Deployment already runs the version to return to');
    return report('skipped', skipped);
  }
  refuseVersionQueries(request, returns);
  const currentVersion = joinVersions(returns.map((entry) => entry.stableVersion));
  const previousVersion = joinVersions(returns.map((entry) => entry.version));
  const rollout = new Rollout(rt, fenced, store, {
    strategy: 'canary',
    namespace,
    steps: request.steps,
    onStepFailure: 'abort',
    baseline: false,
    router: request.router,
    makeRouter: request.makeRouter,
    // The replica counts decide the shares a staged rollback can give: the nearest, said in the log.
    weightRounding: 'nearest',
    rolloutTimeoutMs: request.timeoutMs,
    holdLease: (ms) => lease?.hold(ms) ?? Promise.resolve(),
    ...(request.providerFor ? { providerFor: request.providerFor } : {}),
    onStep: async (step) => {
      mark(`Step ${step.index + 1}: ${step.weight}% to ${previousVersion} (${step.routing.join('; ')})`);
      steps.push(await stepOf(client, namespace, returns, step, rt.clock.now()));
    },
  });
  await rollout.prepareTemplates(returns, {
    reason: `Staged rollback to ${previousVersion}: ${request.reason ?? 'no reason given'}`,
  });
  const weights = request.steps.map((step) => step.weight).filter((weight) => weight < 100);
  mark(
    `Planned: ${returns.map((entry) => `deployment/${entry.name} ${currentVersion} → revision ${entry.target.revision}`).join(', ')}; traffic back in steps ${[...weights, 100].join('% → ')}%`,
  );
  if (request.dryRun) {
    const lines = await dryRun(client, request, returns, weights);
    const workloads = returns.map(
      (entry): WorkloadRestore => ({
        name: entry.name,
        outcome: 'planned',
        before: entry.before,
        after: entry.target,
        message: 'dry run: nothing changed',
      }),
    );
    return report('planned', [...workloads, ...skipped], { plan: lines });
  }

  lease = await RolloutLease.acquire(client, {
    namespace,
    app,
    ...runIdentity(rt.env),
    clock: rt.clock,
    deployments: returns.map((entry) => entry.name),
    signal: rt.signal,
    log: (line) => rt.log.warning(line),
  });
  try {
    mark(
      `Starting ${returns.map((entry) => `deployment/${entry.side} (${describeImages(entry.target.images)})`).join(', ')} beside the current version`,
    );
    const outcome = await rollout.start().catch((error: unknown) => {
      throw stopped(rollout, error, returns, previousVersion, mark);
    });
    analyses = outcome.analyses;
    if (outcome.result === 'aborted') {
      const why = outcome.stepFailure ?? outcome.reason;
      // The engine scaled the temporary Deployments to 0; a staged rollback leaves none behind.
      let state = 'Traffic is back on the current version and the temporary Deployments are removed';
      try {
        await rollout.finalize();
        await rollout.settle('aborted', `Staged rollback aborted because ${why}`);
      } catch (error) {
        if (error instanceof LeaseLostError) throw error;
        state = `Traffic is back on the current version; removing the temporary Deployments failed (${(error as Error).message}): delete ${returns.map((entry) => entry.side).join(', ')}`;
      }
      mark(`Aborted because ${why}. ${state}`);
      const workloads = returns.map(
        (entry): WorkloadRestore => ({
          name: entry.name,
          outcome: 'failed',
          before: entry.before,
          after: entry.before,
          message: `aborted: ${why}`,
        }),
      );
      return report('aborted', [...workloads, ...skipped]);
    }
    mark(
      `100%: ${returns.map((entry) => `deployment/${entry.name} (revision ${entry.target.revision}'s template)`).join(', ')} run ${previousVersion}; temporary Deployments removed`,
    );
    const last = { index: steps.length, weight: 100, actual: 100, routing: [] };
    steps.push(
      await stepOf(
        client,
        namespace,
        returns,
        { ...last, verdict: 'skipped', reason: 'previous version promoted' },
        rt.clock.now(),
      ),
    );
    await rollout.settle(
      'rolled-back',
      `Rolled back to ${previousVersion} in steps${request.triggeredBy ? ` by ${request.triggeredBy}` : ''}: ${request.reason ?? 'no reason given'}`,
    );
    const workloads: WorkloadRestore[] = [];
    for (const entry of returns) {
      const now = await client.get<Deployment>('Deployment', { namespace, name: entry.name });
      workloads.push({
        name: entry.name,
        outcome: 'restored',
        before: entry.before,
        after: stateOf(now),
        message: `back to revision ${entry.target.revision} in ${request.steps.length} step(s)`,
      });
    }
    const verification = request.verify ? await verify(rt, client, request, request.verify, mark) : undefined;
    return report('rolled-back', [...workloads, ...skipped], verification ? { verification } : {});
  } finally {
    await lease.release();
  }
}

/** Per Deployment: the template to return to (skipped when it runs it already), and the versions of both sides. */
async function returnsOf(
  client: KubeClient,
  found: Deployment[],
  toRevision: number | undefined,
  previous: RolloutRecord | undefined,
): Promise<{ returns: Return[]; skipped: WorkloadRestore[] }> {
  const returns: Return[] = [];
  const skipped: WorkloadRestore[] = [];
  for (const stable of found) {
    const name = stable.metadata?.name ?? '';
    const replicaSets = await deploymentReplicaSets(client, stable);
    const plan = planUndo(stable, replicaSets, toRevision ?? recordedRevision(previous, stable) ?? 0);
    const before = stateOf(stable);
    if (plan.kind === 'skip') {
      skipped.push({ name, outcome: 'skipped', before, after: before, message: plan.reason });
      continue;
    }
    const template = plan.patch[0]!.value as PodTemplateSpec;
    const images = templateImages(template);
    const stableVersion = versionOf(before.images, 'current');
    // A release that changed only a digest, a sidecar or a ConfigMap keeps the tag: named as canary-promote does.
    // The side's version label is never the current version's, or {{canary}} would select the stable's pods too.
    const version = changedVersion(before.images, images, stableVersion);
    returns.push({
      name,
      side: `${name}-canary`,
      stable,
      template,
      stableVersion,
      version,
      before,
      target: { revision: plan.to.revision, images },
    });
  }
  return { returns, skipped };
}

/** Dry run: the temporary Deployment, the router's moves and the template patch, each sent with dryRun=All. */
async function dryRun(client: KubeClient, request: StagedRequest, returns: Return[], weights: number[]) {
  const { namespace, app } = request;
  const lines: string[] = [];
  for (const entry of returns) {
    const side = sideDeployment(
      entry.stable,
      { role: 'canary', name: entry.side, version: entry.version, template: entry.template },
      app,
      0,
    );
    await client.patch('Deployment', { namespace, name: entry.side }, side, 'apply', { dryRun: true, force: true });
    lines.push(
      `create Deployment ${entry.side} (revision ${entry.target.revision}: ${describeImages(entry.target.images)})`,
    );
    const router = request.makeRouter({
      namespace,
      app,
      stable: { deployment: entry.name },
      canary: { deployment: entry.side },
    });
    for (const weight of weights) for (const line of await router.plan(weight)) lines.push(`at ${weight}%: ${line}`);
    const patch = [{ op: 'replace', path: '/spec/template', value: entry.template }];
    await client.patch('Deployment', { namespace, name: entry.name }, patch, 'json', { dryRun: true });
    lines.push(
      `at 100%: Deployment ${entry.name} takes revision ${entry.target.revision}'s template, then ${entry.side} is deleted`,
    );
  }
  return lines;
}

/** A step as the report shows it: the weight, the verdict, and the pods of both versions now. */
async function stepOf(
  client: KubeClient,
  namespace: string,
  returns: Return[],
  step: StepReport,
  at: number,
): Promise<StagedStep> {
  const read = async (name: string) => {
    const object = await getOptional<Deployment>(client, 'Deployment', namespace, name);
    return { replicas: object?.spec?.replicas ?? 0, images: templateImages(object?.spec?.template) };
  };
  const workloads = await Promise.all(
    returns.map(async (entry) => ({
      name: entry.name,
      current: await read(entry.name),
      previous: await read(entry.side),
    })),
  );
  return {
    step: step.index + 1,
    weight: step.weight,
    actual: step.actual,
    at: new Date(at).toISOString(),
    verdict: step.verdict,
    reason: step.reason,
    workloads,
    routing: step.routing,
  };
}

/** The run stopped (API failure, cancelled, the promotion did not finish): what state it left, as one error. */
function stopped(
  rollout: Rollout,
  error: unknown,
  returns: Return[],
  previousVersion: string,
  mark: (event: string) => void,
): Error {
  if (error instanceof LeaseLostError) return error;
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const message = (cause instanceof Error ? cause.message : String(cause)).replace(/\.+$/, '');
  const names = returns.map((entry) => entry.name).join(', ');
  const { phase, weight } = rollout.current;
  if (phase === 'promoting' || phase === 'promoted') {
    mark(`Returning ${names} to ${previousVersion} did not finish: ${message}`);
    return new UserError(
      `Returning ${names} to ${previousVersion} did not finish: ${message}. The record says phase ${phase}; the Deployments may be part-way to ${previousVersion}: run rollback with mode: in-flight to put them back on the version they ran before, or mode: kubernetes`,
      { cause: error },
    );
  }
  const state =
    phase === 'aborted'
      ? 'Traffic is back on the current version and the temporary Deployments are at 0'
      : `The record says phase ${phase} at ${weight}%; run rollback with mode: in-flight`;
  mark(`Aborted because the run stopped: ${message}. ${state}`);
  return new UserError(`Staged rollback stopped: ${message}. ${state}.`, { cause: error });
}

/**
 * Deployments returning to different tags (or leaving different ones): a query's `{{canary}}` (the previous
 * version here), `{{stable}}` (the current one), `{{version}}` and a comparison's control stand for one
 * version, so they would read one Deployment's pods, or none, and judge the others by them. Refused before
 * anything changes, as canary-promote refuses them; kubernetes signals are per Deployment already.
 */
function refuseVersionQueries(request: StagedRequest, returns: Return[]): void {
  const distinct = (pick: 'stableVersion' | 'version') => new Set(returns.map((entry) => entry[pick])).size > 1;
  if (!distinct('version') && !distinct('stableVersion')) return;
  // One tag to return to, different ones running now: only what reads the current version is ambiguous.
  const ambiguous = distinct('version') ? VERSION_PLACEHOLDERS : ['stable', 'baseline'];
  const byVersion = metricsByVersion(uniqueMetrics(request.steps.flatMap((step) => step.analysis)), ambiguous);
  if (byVersion.length === 0) return;
  const which = distinct('version') ? 'version' : 'stableVersion';
  const listed = returns.map((entry) => `${entry.name} ${entry[which]}`).join(', ');
  // The input they came from: the analysis input, or a step's own analysis (steps).
  const input = byVersion.every((metric) => request.analysis?.includes(metric)) ? 'analysis' : 'steps';
  throw new InputError(
    input,
    `the Deployments ${which === 'version' ? 'return to different tags' : 'run different tags now'} (${listed}), but ${byVersion.map((metric) => `'${metric.name}'`).join(', ')} ${byVersion.length === 1 ? 'reads' : 'read'} the metrics by version ({{canary}}, {{stable}}, {{version}} or compare), which stands for one version in a query: the other Deployments' pods would be judged by it, or not read at all. Roll back one Deployment at a time (deployments: auth), or check them without a version (provider kubernetes signals)`,
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
