/**
 * strategy: rolling. Everything is checked before the first write (manifests
 * parse, kinds exist, every `${VAR}` has a value, every image names a
 * container, namespaces agree, analysis queries are accepted); then the
 * manifests are applied (or images set on existing Deployments), every
 * changed workload is awaited within one timeout, the metrics are watched for
 * `monitor`, and a failure undoes each changed workload and fails the step.
 */
import { resolveNamespace } from '../kube/inputs';
import type { Runtime } from '../runtime/port';
import { applyManifests } from './rolling-apply';
import { setImages } from './rolling-images';
import { type DeploySession, type DeployState, withSession } from './state';
import { startTimeline } from './timeline';
import type { DeployOutcome, RollingOptions } from './types';
import { describeState, monitor, type Tracked, undoAll, waitAll } from './watch';

export async function runRolling(rt: Runtime, options: RollingOptions): Promise<DeployOutcome> {
  return withSession(rt, (session) => rolling(rt, options, session));
}

/** The pipeline: apply the manifests or set the images, then (unless a dry run) wait, monitor and undo on failure. */
async function rolling(rt: Runtime, options: RollingOptions, session: DeploySession): Promise<DeployOutcome> {
  const { client } = options;
  const requestsBefore = client.requests;
  const { entries: timeline, mark } = startTimeline(rt);
  // Checked first: a wrong namespace input is the first error, whichever way the change goes.
  const namespace = resolveNamespace(options.namespace, client.contextNamespace);
  const change =
    options.manifests !== undefined && options.manifests.length > 0
      ? await applyManifests(rt, options, session, mark)
      : await setImages(rt, options, session, namespace, mark);
  session.workloads = change.waiting;
  const outcome = (verdict: DeployOutcome['verdict'], extra: Partial<DeployOutcome> = {}): DeployOutcome => ({
    strategy: 'rolling',
    verdict,
    namespace: change.namespace,
    app: change.app,
    objects: change.objects,
    workloads: change.workloads.map((workload) => workload.report),
    explanation: [],
    timeline,
    requests: client.requests - requestsBefore,
    settings: settingsOf(options),
    ...extra,
  });
  if (options.dryRun) {
    for (const workload of change.workloads) workload.report.message = 'dry run: the server accepted the change';
    mark('Dry run: the API server validated every object; nothing was changed');
    return outcome('planned');
  }
  return finish(rt, options, change.waiting, mark, outcome, session.state);
}

/** The inputs that shaped the deploy beyond the manifests, as the summary lists them. */
function settingsOf(options: RollingOptions): Record<string, string> | undefined {
  const settings: Record<string, string> = {};
  if (options.imagePullSecrets !== undefined && options.imagePullSecrets.length > 0) {
    settings['image-pull-secrets'] = options.imagePullSecrets.join(', ');
  }
  if (options.prune) settings['prune'] = 'true';
  return Object.keys(settings).length > 0 ? settings : undefined;
}

/** Wait, monitor, and undo on failure: the part after the change, shared by apply and set-image. */
async function finish(
  rt: Runtime,
  options: RollingOptions,
  waiting: readonly Tracked[],
  mark: (event: string) => void,
  outcome: (verdict: DeployOutcome['verdict'], extra?: Partial<DeployOutcome>) => DeployOutcome,
  state: DeployState | undefined,
): Promise<DeployOutcome> {
  const { client } = options;
  mark(`Waiting for ${waiting.length} workload(s) to roll out`);
  const waited = await waitAll(rt, client, waiting, options.timeoutMs);
  if (waited.failed.length > 0) {
    const names = waited.failed.map((workload) => `${workload.ref.kind.toLowerCase()}/${workload.ref.name}`);
    const reason = `${names.join(', ')} did not roll out: ${waited.failed[0]!.report.message}${
      waited.explanation.length > 0 ? `\n${waited.explanation.join('\n')}` : ''
    }`;
    mark(`Rollout failed: ${names.join(', ')}`);
    for (const line of waited.explanation) rt.log.error(line);
    if (options.undoOnFailure === false) return outcome('failed', { failure: reason, explanation: waited.explanation });
    return undo(rt, options, waiting, reason, mark, outcome, { explanation: waited.explanation });
  }
  mark(
    `Rolled out: ${waiting.map((workload) => `${workload.ref.name} ${describeState(workload.report.after)}`).join('; ')}`,
  );
  const { namespace, app } = outcome('deployed');
  if (options.analysis?.length && options.monitorMs) await state?.save('monitoring', waiting);
  const analysis = await monitor(rt, options, namespace, app, waiting);
  if (analysis === undefined) return outcome('deployed');
  mark(`Monitoring: ${analysis.verdict}: ${analysis.reason}`);
  if (analysis.verdict === 'fail') {
    return undo(rt, options, waiting, `Monitoring failed: ${analysis.reason}`, mark, outcome, { analysis });
  }
  if (analysis.verdict === 'inconclusive') {
    // No data is not evidence of harm: keep the release, say so loudly.
    rt.log.warning(`Monitoring was inconclusive, the release stays: ${analysis.reason}`);
  }
  return outcome('deployed', { analysis });
}

async function undo(
  rt: Runtime,
  options: RollingOptions,
  workloads: readonly Tracked[],
  reason: string,
  mark: (event: string) => void,
  outcome: (verdict: DeployOutcome['verdict'], extra?: Partial<DeployOutcome>) => DeployOutcome,
  extra: Partial<DeployOutcome>,
): Promise<DeployOutcome> {
  mark(`Undoing ${workloads.length} workload(s): ${reason.split('\n')[0]}`);
  // The undo gets its own time limit: the rollout may have used all of the first.
  const { undone, problems } = await undoAll(rt, options.client, workloads, options.timeoutMs);
  if (problems.length > 0) {
    mark(`Undo incomplete: ${problems.join('; ')}`);
    return outcome('failed', { ...extra, failure: `${reason}\nThe undo did not finish: ${problems.join('; ')}` });
  }
  if (undone.length === 0) {
    // Only new workloads failed: there is no earlier version to go back to.
    mark('Nothing to undo: the failed workloads were created by this deploy');
    return outcome('failed', {
      ...extra,
      failure: `${reason}\nNothing was rolled back: the failed workloads are new, with no earlier revision.`,
    });
  }
  mark(`Undone: ${undone.map((workload) => workload.ref.name).join(', ')}`);
  return outcome('rolled-back', {
    ...extra,
    failure: `${reason}\nRolled back ${undone.map((w) => `${w.ref.kind.toLowerCase()}/${w.ref.name}`).join(', ')} to the previous revision.`,
  });
}
