/**
 * What a staged rollback returns each Deployment to: the revision chosen as `mode: kubernetes` would
 * (`to-revision`, else the revision canary-promote's record says the stable had before the release running now,
 * else the previous one), its template, and the versions on both sides; refused before anything changes when a
 * query by version cannot tell the Deployments' tags apart.
 */
import { InputError } from '../errors';
import type { KubeClient } from '../kube/client';
import { planUndo, templateImages } from '../kube/history';
import type { Deployment, PodTemplateSpec } from '../kube/types';
import { deploymentReplicaSets } from '../kube/workloads';
import { type MetricSpec, metricsByVersion, uniqueMetrics, VERSION_PLACEHOLDERS } from '../metrics/spec';
import type { Step } from '../rollout/plan';
import type { GivenTemplate } from '../rollout/prepare';
import { changedVersion, versionOf } from '../rollout/workloads';
import type { RolloutRecord } from '../state/record';
import { stateOf, type WorkloadRestore, type WorkloadState } from './report';

/** One Deployment going back: the template to return to and the versions on both sides. */
export interface Return extends GivenTemplate {
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

/** Per Deployment: the template to return to (skipped when it runs it already), and the versions of both sides. */
export async function returnsOf(
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

/**
 * Deployments returning to different tags (or leaving different ones): a query's `{{canary}}` (the previous
 * version here), `{{stable}}` (the current one), `{{version}}` and a comparison's control stand for one
 * version, so they would read one Deployment's pods, or none, and judge the others by them. Refused before
 * anything changes, as canary-promote refuses them; kubernetes signals are per Deployment already.
 */
export function refuseVersionQueries(
  request: { steps: Step[]; analysis?: MetricSpec[] | undefined },
  returns: Return[],
): void {
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
