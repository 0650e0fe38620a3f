/**
 * After the change: wait for every changed workload (one deadline for all),
 * explain a stuck rollout with its pods' states and events, watch the
 * analysis metrics for `monitor`, and undo each workload to what it ran
 * before. Shared by the rolling and helm strategies.
 */
import { UserError } from '../errors';
import { formatDuration } from '../inputs/scalars';
import type { KubeClient } from '../kube/client';
import { explainDeployment } from '../kube/explain';
import { planUndo, templateImages } from '../kube/history';
import { REVISION_ANNOTATION, type RolloutKind } from '../kube/rollout-status';
import { RolloutError, type WorkloadRef, waitForRollout } from '../kube/rollout-wait';
import type { Deployment, KubeObject, PodTemplateSpec } from '../kube/types';
import { deploymentReplicaSets, matchLabelsSelector } from '../kube/workloads';
import { type AnalysisResult, runAnalysis, validateAnalysis } from '../metrics/engine';
import { PodCache, type PodLike } from '../metrics/kubernetes';
import type { Runtime } from '../runtime/port';
import type { DeployCommonOptions, WorkloadReport, WorkloadState } from './types';

/** A workload the deploy changed: what it was, and its report (updated as the run goes on). */
export interface Tracked {
  ref: WorkloadRef;
  /** The object before the change; undefined when the deploy created it. */
  before: KubeObject | undefined;
  report: WorkloadReport;
}

export function stateOf(object: KubeObject | undefined): WorkloadState | undefined {
  if (object === undefined) return undefined;
  const revision = object.metadata?.annotations?.[REVISION_ANNOTATION];
  const template = (object['spec'] as { template?: PodTemplateSpec } | undefined)?.template;
  return {
    revision: revision !== undefined && /^\d+$/.test(revision) ? Number(revision) : undefined,
    images: templateImages(template),
  };
}

export function track(kind: RolloutKind, before: KubeObject | undefined, after: KubeObject): Tracked {
  const namespace = after.metadata?.namespace ?? '';
  const name = after.metadata?.name ?? '';
  return {
    ref: { kind, namespace, name },
    before,
    report: { kind, namespace, name, before: stateOf(before), after: stateOf(after), status: 'planned', message: '' },
  };
}

/**
 * Waits for all of them within `timeoutMs` together. Failed rollouts are
 * marked `failed` with kubectl's message; the lines that explain them (pods
 * in ImagePullBackOff / CrashLoopBackOff / unschedulable, their Warning events) are returned.
 */
export async function waitAll(
  rt: Runtime,
  client: KubeClient,
  workloads: readonly Tracked[],
  timeoutMs: number,
): Promise<{ failed: Tracked[]; explanation: string[] }> {
  const failed: Tracked[] = [];
  const explanation: string[] = [];
  await Promise.all(
    workloads.map(async (workload) => {
      try {
        const result = await waitForRollout(client, workload.ref, {
          clock: rt.clock,
          timeoutMs,
          signal: rt.signal,
          onProgress: (ref, status) => rt.log.info(`${ref.kind.toLowerCase()}/${ref.name}: ${status.message}`),
        });
        workload.report.status = 'rolled-out';
        workload.report.after = stateOf(result.object);
        workload.report.message = result.status.message;
        workload.report.elapsedMs = result.elapsedMs;
      } catch (error) {
        // Not found or deleted while waiting: a failed rollout too, without pods to explain it.
        if (!(error instanceof UserError)) throw error;
        workload.report.status = 'failed';
        workload.report.message =
          error instanceof RolloutError && error.timedOut
            ? `${workload.ref.kind} "${workload.ref.name}" was still rolling out when the timeout of ${formatDuration(timeoutMs)} (one limit for all workloads) ran out; last status: ${error.status.message}`
            : error.message;
        failed.push(workload);
        if (!(error instanceof RolloutError)) return;
        if (error.object) workload.report.after = stateOf(error.object);
        if (workload.ref.kind === 'Deployment') {
          const object =
            (error.object as Deployment | undefined) ?? (await client.get<Deployment>('Deployment', workload.ref));
          const lines = await explainDeployment(client, object).catch(() => []);
          explanation.push(...lines.map((line) => `deployment/${workload.ref.name}: ${line}`));
        }
      }
    }),
  );
  return { failed, explanation };
}

/** The pods of the workloads, for the analysis' kubernetes signals (restarts, not-ready, crashloop). */
export function podSource(client: KubeClient, workloads: () => readonly Tracked[]) {
  return async (): Promise<readonly PodLike[]> => {
    const pods: PodLike[] = [];
    for (const workload of workloads()) {
      const object = await client.get(workload.ref.kind, workload.ref);
      // StatefulSets and DaemonSets select their pods the same way as Deployments.
      const labelSelector = matchLabelsSelector(object as Deployment);
      const list = await client.list('Pod', {
        namespace: workload.ref.namespace,
        ...(labelSelector ? { labelSelector } : {}),
      });
      pods.push(...(list.items as PodLike[]));
    }
    return pods;
  };
}

function analysisTargets(workloads: readonly Tracked[], namespace: string, app: string) {
  const first = workloads[0]?.report;
  const image = (state: WorkloadState | undefined) => Object.values(state?.images ?? {})[0] ?? '';
  const tag = (ref: string) => ref.slice(ref.lastIndexOf(':') + 1);
  const canary = image(first?.after);
  const stable = image(first?.before);
  return { canary: tag(canary) || canary, stable: tag(stable) || stable, namespace, app };
}

/** Runs every query once before anything changes: a rejected query is a typo to fix, not a reason to roll back later. */
export async function checkAnalysis(
  rt: Runtime,
  options: DeployCommonOptions,
  namespace: string,
  app: string,
  workloads: () => readonly Tracked[],
): Promise<void> {
  if (!options.analysis?.length || !options.monitorMs) return;
  await validateAnalysis({
    metrics: options.analysis,
    targets: analysisTargets(workloads(), namespace, app),
    duration: options.monitorMs,
    clock: rt.clock,
    signal: rt.signal,
    canaryPods: podSource(options.client, workloads),
    ...(options.providerFor ? { providerFor: options.providerFor } : {}),
  });
}

/** `monitor`: the analysis for that long after the rollout. Undefined when there is nothing to watch. */
export async function monitor(
  rt: Runtime,
  options: DeployCommonOptions,
  namespace: string,
  app: string,
  workloads: readonly Tracked[],
): Promise<AnalysisResult | undefined> {
  if (!options.analysis?.length || !options.monitorMs) return undefined;
  rt.log.info(
    `Monitoring ${options.analysis.map((metric) => metric.name).join(', ')} for ${options.monitorMs / 1000}s`,
  );
  // One list + watch per workload for the whole monitor (a pod cache), not a list per check.
  const selectors = await Promise.all(
    workloads.map(async (workload) => {
      const object = await options.client.get(workload.ref.kind, workload.ref);
      return { namespace: workload.ref.namespace, selector: matchLabelsSelector(object as Deployment) ?? '' };
    }),
  );
  const caches = new Map<string, PodCache>();
  for (const { namespace: ns } of selectors)
    if (!caches.has(ns)) caches.set(ns, new PodCache(options.client, { namespace: ns, clock: rt.clock }));
  const canaryPods = async (signal?: AbortSignal): Promise<readonly PodLike[]> => {
    const pods: PodLike[] = [];
    for (const { namespace: ns, selector } of selectors) pods.push(...(await caches.get(ns)!.pods([selector], signal)));
    return pods;
  };
  return runAnalysis({
    metrics: options.analysis,
    targets: analysisTargets(workloads, namespace, app),
    duration: options.monitorMs,
    clock: rt.clock,
    signal: rt.signal,
    canaryPods,
    onMeasurement: (measurement) =>
      rt.log.info(
        `${measurement.metric}: ${measurement.value ?? '—'} (${measurement.threshold}) ${measurement.outcome}${measurement.note ? `: ${measurement.note}` : ''}`,
      ),
    ...(options.providerFor ? { providerFor: options.providerFor } : {}),
  }).finally(() => Promise.all([...caches.values()].map((cache) => cache.close())));
}

/**
 * Puts each workload back to what it ran before: Deployments as `kubectl
 * rollout undo --to-revision=<before>` does (planUndo), StatefulSets and
 * DaemonSets by restoring their previous pod template; then waits for them.
 * Workloads the deploy created have nothing to go back to and are left as they are.
 */
export async function undoAll(
  rt: Runtime,
  client: KubeClient,
  workloads: readonly Tracked[],
  timeoutMs: number,
): Promise<{ undone: Tracked[]; problems: string[] }> {
  const undone: Tracked[] = [];
  const problems: string[] = [];
  for (const workload of workloads) {
    const { ref, before, report } = workload;
    if (before === undefined) {
      report.message += ' (created by this deploy: nothing to go back to, left in place)';
      continue;
    }
    try {
      if (ref.kind === 'Deployment') {
        const current = await client.get<Deployment>('Deployment', ref);
        const replicaSets = await deploymentReplicaSets(client, current);
        const plan = planUndo(current, replicaSets, report.before?.revision ?? 0);
        if (plan.kind === 'skip') continue;
        await client.patch('Deployment', ref, plan.patch, 'json');
      } else {
        const template = (before['spec'] as { template?: PodTemplateSpec } | undefined)?.template;
        await client.patch(ref.kind, ref, [{ op: 'replace', path: '/spec/template', value: template }], 'json');
      }
      rt.log.info(`Undoing ${ref.kind.toLowerCase()}/${ref.name} to ${describeState(report.before)}`);
      undone.push(workload);
    } catch (error) {
      report.status = 'undo-failed';
      const why = error instanceof UserError ? error.message : String(error);
      report.message = `undo failed: ${why}`;
      problems.push(`${ref.kind.toLowerCase()}/${ref.name}: ${why}`);
    }
  }
  await Promise.all(
    undone.map(async (workload) => {
      try {
        const result = await waitForRollout(client, workload.ref, { clock: rt.clock, timeoutMs, signal: rt.signal });
        workload.report.status = 'undone';
        workload.report.message = `back to ${describeState(workload.report.before)}: ${result.status.message}`;
        workload.report.after = stateOf(result.object);
      } catch (error) {
        if (!(error instanceof RolloutError)) throw error;
        workload.report.status = 'undo-failed';
        workload.report.message = `the undo did not roll out: ${error.message}`;
        problems.push(`${workload.ref.kind.toLowerCase()}/${workload.ref.name}: ${error.message}`);
      }
    }),
  );
  return { undone, problems };
}

export function describeState(state: WorkloadState | undefined): string {
  if (state === undefined) return 'nothing';
  const images = Object.entries(state.images)
    .map(([name, image]) => `${name}=${image}`)
    .join(', ');
  return state.revision === undefined ? images : `revision ${state.revision} (${images})`;
}
