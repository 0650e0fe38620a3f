/**
 * rollback, modes `kubernetes` (the semantics of `kubectl rollout undo`, for
 * one Deployment, a list or a label selector), `image` (redeploy a named
 * tag) and the cluster half of `github` (redeploy the images of a GitHub
 * Deployment's payload; github.ts records it on GitHub through `hooks`).
 * Everything that can be wrong is found before the first write: every
 * Deployment exists, every target revision exists, every image change names a
 * container. Then all patches go out, all rollouts are awaited together, and
 * the summary says per workload what ran before and what runs now, including
 * any that did not finish.
 */
import { type RestoreResult, type RestoreSpec, restoreContextOf, restoreDatabase } from '../db/restore';
import { UserError } from '../errors';
import { type ChecksResult, renderChecksSummary } from '../http';
import type { CheckSpec } from '../http/spec';
import { formatDuration } from '../inputs/scalars';
import type { KubeClient } from '../kube/client';
import { explainDeployment } from '../kube/explain';
import { planUndo, type Revision, revisionHistory, templateImages } from '../kube/history';
import { waitForPodsGone } from '../kube/pods-gone';
import { RolloutError, type WorkloadRef, waitForRollout } from '../kube/rollout-wait';
import type { Deployment } from '../kube/types';
import {
  deploymentReplicaSets,
  describeImages,
  findDeployments,
  matchLabelsSelector,
  setImagesPatch,
  withTag,
} from '../kube/workloads';
import type { Runtime } from '../runtime/port';
import {
  type RollbackMode,
  type RollbackReport,
  stateOf,
  summaryMarkdown,
  type TimelineEntry,
  type WorkloadRestore,
  type WorkloadState,
} from './report';
import { verify } from './verify';

/** Extension points for modes built on this one (github records the rollback as GitHub Deployments). */
export interface RollbackHooks {
  /** After every check passed and before the first write; not called in a dry run or when nothing is to change. */
  beforeWrites?(mark: (event: string) => void): Promise<void>;
  /** After the rollouts and the verification, before the summary is written (its events join the timeline); not in a dry run. */
  afterRollout?(
    outcome: { result: RollbackReport['result']; workloads: readonly WorkloadRestore[] },
    mark: (event: string) => void,
  ): Promise<void>;
}

export interface RollbackRequest {
  mode: RollbackMode;
  namespace: string;
  deployments?: readonly string[] | undefined;
  selector?: string | undefined;
  /** kubernetes mode: the revision to restore (default: the previous one). */
  toRevision?: number | undefined;
  /** image mode: the tag to redeploy. */
  toVersion?: string | undefined;
  /**
   * github mode: the images to redeploy, `container` → image (every Deployment with that container) or
   * `deployment/container` → image (that Deployment's container); `imagesSource` names where they came from.
   */
  images?: Record<string, string> | undefined;
  imagesSource?: string | undefined;
  hooks?: RollbackHooks | undefined;
  reason?: string | undefined;
  /** Who asked (GITHUB_ACTOR), for the incident summary. */
  triggeredBy?: string | undefined;
  dryRun: boolean;
  timeoutMs: number;
  /** HTTP checks run once every rollout has finished (the smoke spec format). */
  verify?: CheckSpec | undefined;
  /** Restore the database before the old version starts (the caller has checked the confirmation). */
  databaseRestore?: RestoreSpec | undefined;
}

interface Change {
  deployment: Deployment;
  before: WorkloadState;
  /** The images after the change; undefined when nothing is to change. */
  target: WorkloadState | undefined;
  patch: { body: unknown; type: 'json' | 'strategic' } | undefined;
  skipReason?: string;
}

export async function rollbackDeployments(
  rt: Runtime,
  client: KubeClient,
  request: RollbackRequest,
): Promise<RollbackReport> {
  const timeline: TimelineEntry[] = [];
  const mark = (event: string) => {
    timeline.push({ at: new Date(rt.clock.now()).toISOString(), event });
    rt.log.info(event);
  };
  mark(
    `Rollback requested${request.triggeredBy ? ` by ${request.triggeredBy}` : ''}: ${request.reason ?? 'no reason given'}`,
  );

  const deployments = await findDeployments(client, {
    namespace: request.namespace,
    names: request.deployments,
    selector: request.selector,
  });
  const changes = await Promise.all(deployments.map((deployment) => planChange(client, deployment, request)));
  mark(`Planned ${changes.filter((change) => change.patch).length} of ${changes.length} Deployment(s) to change`);

  const workloads: WorkloadRestore[] = [];
  if (request.dryRun) {
    if (request.databaseRestore) mark(`Would restore the database (${request.databaseRestore.kind})`);
    for (const change of changes) {
      workloads.push(
        restoreOf(
          change,
          change.patch ? 'planned' : 'skipped',
          change.target ?? change.before,
          change.skipReason ?? 'dry run: nothing changed',
        ),
      );
    }
    return finish(rt, request, 'planned', workloads, timeline);
  }

  if (request.hooks?.beforeWrites && (request.databaseRestore || changes.some((change) => change.patch))) {
    await request.hooks.beforeWrites(mark);
  }

  let databaseRestore: RestoreResult | undefined;
  if (request.databaseRestore) {
    databaseRestore = await restoreWithAppStopped(rt, client, request, request.databaseRestore, changes, mark);
  }

  // A patch that fails (after the client's retries) must not stop the others: the ones that went out are
  // awaited and reported, so the run never ends with some workloads rolled back and nobody told.
  const unpatched = new Map<string, string>();
  const notScaled = new Map<string, string>();
  for (const change of changes) {
    if (!change.patch) continue;
    const name = change.deployment.metadata?.name ?? '';
    try {
      await client.patch('Deployment', { namespace: request.namespace, name }, change.patch.body, change.patch.type);
      mark(`Patched deployment/${name}: ${describeImages(change.target?.images ?? {})}`);
    } catch (error) {
      if (rt.signal.aborted) throw error;
      unpatched.set(name, (error as Error).message);
      mark(
        `Could not patch deployment/${name}, it still runs ${describeImages(change.before.images)}: ${(error as Error).message}`,
      );
    }
  }

  // After a restore with the app stopped, every Deployment goes back to its size (and is waited for); one whose
  // patch failed stays at 0, as the old version's data must not meet the version that broke it.
  const scaledDown = request.databaseRestore?.scaleDown === true;
  if (scaledDown) {
    for (const change of changes) {
      const name = change.deployment.metadata?.name ?? '';
      if (unpatched.has(name)) continue;
      const replicas = change.deployment.spec?.replicas ?? 1;
      try {
        await client.patch('Deployment', { namespace: request.namespace, name }, { spec: { replicas } }, 'merge');
        mark(`Scaled deployment/${name} back to ${replicas}`);
      } catch (error) {
        if (rt.signal.aborted) throw error;
        notScaled.set(name, (error as Error).message);
        mark(`Could not scale deployment/${name} back to ${replicas}: ${(error as Error).message}`);
      }
    }
  }

  const waited = changes.filter((change) => {
    const name = change.deployment.metadata?.name ?? '';
    return (change.patch || scaledDown) && !unpatched.has(name) && !notScaled.has(name);
  });
  const outcomes = await Promise.allSettled(
    waited.map((change) =>
      waitForRollout(client, refOf(change.deployment, request.namespace), {
        clock: rt.clock,
        timeoutMs: request.timeoutMs,
        signal: rt.signal,
        onProgress: (_ref, status) => rt.log.info(status.message),
      }),
    ),
  );
  const byName = new Map(waited.map((change, index) => [change.deployment.metadata?.name, outcomes[index]]));

  for (const change of changes) {
    const name = change.deployment.metadata?.name ?? '';
    const outcome = byName.get(name);
    const patchError = unpatched.get(name);
    const scaleError = notScaled.get(name);
    if (patchError !== undefined) {
      const where = scaledDown ? ', left scaled to 0' : '';
      workloads.push(restoreOf(change, 'unpatched', change.before, `not rolled back${where}: ${patchError}`));
    } else if (scaleError !== undefined) {
      const state = change.target ?? change.before;
      workloads.push(restoreOf(change, 'failed', state, `patched, but left scaled to 0: ${scaleError}`));
    } else if (outcome === undefined) {
      workloads.push(restoreOf(change, 'skipped', change.before, change.skipReason ?? 'already at the target'));
    } else if (outcome.status === 'fulfilled' && !change.patch) {
      workloads.push(restoreOf(change, 'skipped', change.before, change.skipReason ?? 'already at the target'));
    } else if (outcome.status === 'fulfilled') {
      workloads.push(
        restoreOf(change, 'restored', stateOf(outcome.value.object as Deployment), outcome.value.status.message),
      );
      mark(`deployment/${name} rolled out in ${formatDuration(outcome.value.elapsedMs)}`);
    } else {
      const error = outcome.reason;
      if (!(error instanceof RolloutError)) {
        // The patch went out but its rollout could not be watched (the API kept failing): say so, not "unexpected".
        if (rt.signal.aborted) throw error;
        workloads.push(
          restoreOf(
            change,
            'failed',
            change.target ?? change.before,
            `patched, but its rollout could not be watched: ${(error as Error).message}`,
          ),
        );
        mark(`deployment/${name} patched, its rollout could not be watched: ${(error as Error).message}`);
        continue;
      }
      const seen = error.object ? stateOf(error.object as Deployment) : change.before;
      const why = await explainDeployment(client, (error.object as Deployment | undefined) ?? change.deployment);
      workloads.push(restoreOf(change, 'failed', seen, [error.message, ...why].join('\n')));
      mark(`deployment/${name} did not finish: ${error.status.message}`);
    }
  }
  const failed = workloads.some((workload) => workload.outcome === 'failed' || workload.outcome === 'unpatched');
  const changed = workloads.some((workload) => workload.outcome === 'restored');
  const verification = request.verify && !failed ? await verify(rt, client, request, request.verify, mark) : undefined;
  const result = failed ? 'failed' : changed || databaseRestore ? 'rolled-back' : 'skipped';
  await request.hooks?.afterRollout?.({ result, workloads }, mark);
  return finish(rt, request, result, workloads, timeline, verification, databaseRestore);
}

/**
 * The state a failed rollback left, for the error line and the summary: which Deployments are rolled back, which
 * are not, and the run that finishes the job (only the ones not rolled back: `rollout undo` again on the others
 * would go back to the bad version).
 */
export function incompleteMessage(
  report: Pick<RollbackReport, 'workloads' | 'namespace' | 'mode'>,
  request?: Pick<RollbackRequest, 'toRevision' | 'toVersion'>,
): string | undefined {
  const names = (outcomes: Array<WorkloadRestore['outcome']>) =>
    report.workloads.filter((workload) => outcomes.includes(workload.outcome)).map((workload) => workload.name);
  const unpatched = names(['unpatched']);
  const stuck = names(['failed']);
  if (unpatched.length === 0 && stuck.length === 0) return undefined;
  const done = names(['restored', 'skipped']);
  const list = (items: string[]) => items.map((name) => `deployment/${name}`).join(', ');
  const parts = [
    `Rolled back: ${done.length > 0 ? list(done) : 'none'}.`,
    ...(stuck.length > 0 ? [`Patched but not rolled out: ${list(stuck)}.`] : []),
    ...(unpatched.length > 0 ? [`Not rolled back (still on the version before): ${list(unpatched)}.`] : []),
  ];
  const next: string[] = [];
  if (unpatched.length > 0) {
    const target =
      report.mode === 'image' && request?.toVersion
        ? `mode: image, to-version: ${request.toVersion}, `
        : report.mode === 'kubernetes'
          ? `mode: kubernetes, ${request?.toRevision ? `to-revision: ${request.toRevision}, ` : ''}`
          : '';
    next.push(`run this step again with ${target}deployments: ${unpatched.join(', ')} (only those)`);
  }
  if (stuck.length > 0) {
    next.push(
      `check ${stuck.map((name) => `kubectl -n ${report.namespace} rollout status deployment/${name}`).join('; ')}`,
    );
  }
  return `${parts.join(' ')} Next: ${next.join('; then ')}.`;
}

/** Scale the app to 0 (unless scale-down: false), wait until its pods are gone, then restore. */
async function restoreWithAppStopped(
  rt: Runtime,
  client: KubeClient,
  request: RollbackRequest,
  spec: RestoreSpec,
  changes: Change[],
  mark: (event: string) => void,
): Promise<RestoreResult> {
  if (spec.scaleDown) {
    const stopped: string[] = [];
    try {
      for (const change of changes) {
        const name = change.deployment.metadata?.name ?? '';
        await client.patch('Deployment', { namespace: request.namespace, name }, { spec: { replicas: 0 } }, 'merge');
        stopped.push(`deployment/${name}`);
      }
    } catch (error) {
      if (rt.signal.aborted) throw error;
      throw new UserError(
        `Could not stop the app for the database restore: ${(error as Error).message}. ${stopped.length > 0 ? `${stopped.join(', ')} are scaled to 0, the others unchanged` : 'Nothing was changed'}; the database was not touched and no rollback was applied`,
        { hint: 'scale them back with kubectl scale, or run this step again', cause: error },
      );
    }
    await Promise.all(
      changes.map((change) =>
        waitForRollout(client, refOf(change.deployment, request.namespace), {
          clock: rt.clock,
          timeoutMs: request.timeoutMs,
          signal: rt.signal,
          until: (object) => {
            const running = (object as Deployment).status?.replicas ?? 0;
            const name = object.metadata?.name ?? '';
            return running === 0
              ? { state: 'done', message: `deployment "${name}" stopped` }
              : { state: 'waiting', message: `Waiting for ${running} pods of deployment "${name}" to stop...` };
          },
        }),
      ),
    );
    // replicas 0 counts no Terminating pod, but those still run (and use the database) for their grace period.
    await Promise.all(
      changes.map((change) =>
        waitForPodsGone(client, request.namespace, matchLabelsSelector(change.deployment), {
          clock: rt.clock,
          timeoutMs: request.timeoutMs,
          signal: rt.signal,
          owner: `deployment/${change.deployment.metadata?.name}`,
        }),
      ),
    );
    mark(
      `Stopped ${changes.map((change) => `deployment/${change.deployment.metadata?.name}`).join(', ')} for the database restore`,
    );
  }
  let restored: RestoreResult;
  try {
    restored = await restoreDatabase(
      spec,
      restoreContextOf(rt, { client, namespace: request.namespace, timeoutMs: request.timeoutMs }),
    );
  } catch (error) {
    // Starting either version on data in an unknown state could make things worse: stay stopped, and say so.
    const names = changes.map((change) => `deployment/${change.deployment.metadata?.name}`).join(', ');
    const state = spec.scaleDown ? `${names} are left scaled to 0` : `${names} were not changed`;
    throw new UserError(`Database restore failed: ${(error as Error).message}. ${state}; no rollback was applied`, {
      cause: error,
    });
  }
  mark(`Database restored (${restored.kind}: ${restored.ran})`);
  return restored;
}

async function planChange(client: KubeClient, deployment: Deployment, request: RollbackRequest): Promise<Change> {
  const before = stateOf(deployment);
  const replicaSets = await deploymentReplicaSets(client, deployment);
  if (request.mode === 'kubernetes') {
    const plan = planUndo(deployment, replicaSets, request.toRevision ?? 0);
    if (plan.kind === 'skip')
      return { deployment, before, target: undefined, patch: undefined, skipReason: plan.reason };
    return {
      deployment,
      before,
      target: { revision: plan.to.revision, images: plan.to.images },
      patch: { body: plan.patch, type: 'json' },
    };
  }
  if (request.mode === 'github') {
    const images = imagesForDeployment(deployment, request.images ?? {}, request.imagesSource ?? 'the images');
    const target = { revision: undefined, images: { ...before.images, ...images } };
    if (Object.entries(images).every(([container, image]) => before.images[container] === image)) {
      return {
        deployment,
        before,
        target: undefined,
        patch: undefined,
        skipReason: `already runs ${describeImages(images)}`,
      };
    }
    return {
      deployment,
      before,
      target,
      patch: { body: setImagesPatch(deployment, images, 'images'), type: 'strategic' },
    };
  }
  const tag = request.toVersion;
  if (!tag) throw new UserError('mode: image needs to-version (the tag to redeploy, e.g. v0.9.5)');
  const images = imagesToRetag(deployment, revisionHistory(deployment, replicaSets), tag);
  const target = { revision: undefined, images: { ...before.images, ...images } };
  if (Object.entries(images).every(([container, image]) => before.images[container] === image)) {
    return { deployment, before, target: undefined, patch: undefined, skipReason: `already runs ${tag}` };
  }
  return {
    deployment,
    before,
    target,
    patch: { body: setImagesPatch(deployment, images, 'to-version'), type: 'strategic' },
  };
}

/**
 * Which containers get the tag: those the latest release changed (their image
 * differs from the previous revision's), so sidecars keep theirs; with no
 * history to tell, the only container.
 */
function imagesToRetag(deployment: Deployment, history: Revision[], tag: string): Record<string, string> {
  const current = templateImages(deployment.spec?.template);
  const previous = history.length >= 2 ? history[history.length - 2] : undefined;
  let containers = previous ? Object.keys(current).filter((name) => previous.images[name] !== current[name]) : [];
  if (containers.length === 0 && Object.keys(current).length === 1) containers = Object.keys(current);
  if (containers.length === 0) {
    throw new UserError(
      `Cannot tell which container of deployment "${deployment.metadata?.name}" to set to ${tag}: its last release changed none, and it has ${Object.keys(current).length} containers (${Object.keys(current).join(', ')})`,
      { hint: 'use mode: kubernetes with to-revision, or canary-promote with images: container=image:tag' },
    );
  }
  return Object.fromEntries(containers.map((name) => [name, withTag(current[name] ?? '', tag)]));
}

/**
 * The images of `images` that apply to this Deployment: `name/container` keys for it, and bare `container` keys
 * naming one of its containers. A Deployment none of them applies to is an error (nothing would be restored).
 */
export function imagesForDeployment(
  deployment: Deployment,
  images: Record<string, string>,
  source: string,
): Record<string, string> {
  const name = deployment.metadata?.name ?? '';
  const containers = Object.keys(templateImages(deployment.spec?.template));
  const picked: Record<string, string> = {};
  for (const [key, image] of Object.entries(images)) {
    if (!key.includes('/') && containers.includes(key)) picked[key] ??= image;
  }
  // A scoped key wins over a bare one for the same container.
  for (const [key, image] of Object.entries(images)) {
    const slash = key.indexOf('/');
    if (slash > 0 && key.slice(0, slash) === name && containers.includes(key.slice(slash + 1)))
      picked[key.slice(slash + 1)] = image;
  }
  if (Object.keys(picked).length === 0) {
    throw new UserError(
      `${source} (${Object.keys(images).join(', ')}) name no container of deployment "${name}" (its containers: ${containers.join(', ')})`,
      { hint: 'name the Deployments the release changed in deployments:, or use mode: kubernetes' },
    );
  }
  return picked;
}

function refOf(deployment: Deployment, namespace: string): WorkloadRef {
  return { kind: 'Deployment', namespace, name: deployment.metadata?.name ?? '' };
}

function restoreOf(
  change: Change,
  outcome: WorkloadRestore['outcome'],
  after: WorkloadState,
  message: string,
): WorkloadRestore {
  return { name: change.deployment.metadata?.name ?? '', outcome, before: change.before, after, message };
}

function finish(
  rt: Runtime,
  request: RollbackRequest,
  result: RollbackReport['result'],
  workloads: WorkloadRestore[],
  timeline: TimelineEntry[],
  verification?: ChecksResult,
  databaseRestore?: RestoreResult,
): RollbackReport {
  const report: RollbackReport = {
    result,
    mode: request.mode,
    namespace: request.namespace,
    reason: request.reason,
    triggeredBy: request.triggeredBy,
    workloads,
    timeline,
    ...(verification ? { verification } : {}),
    ...(databaseRestore ? { databaseRestore } : {}),
  };
  const incomplete = incompleteMessage(report, request);
  if (incomplete) report.incomplete = incomplete;
  rt.summary.append(summaryMarkdown(report));
  if (verification) rt.summary.append(renderChecksSummary(verification, 'Verification after the rollback'));
  return report;
}
