/**
 * `mode: auto` after canary-promote stopped a release: the stable it never touched still serves, so there is
 * nothing to undo. Found from the rollout record, reported (summary, outputs, `verify`) without a change.
 */
import type { KubeClient } from '../kube/client';
import { isNotFound } from '../kube/errors';
import { REVISION_ANNOTATION } from '../kube/rollout-status';
import type { Deployment } from '../kube/types';
import { describeImages } from '../kube/workloads';
import { equalImages, imagesOf } from '../rollout/workloads';
import type { Runtime } from '../runtime/port';
import { type RolloutRecord, readRolloutRecord } from '../state/record';
import type { InFlightRequest } from './in-flight';
import { type RollbackInputs, refuseDatabaseRestore } from './inputs';
import { type RollbackOutcome, restoredOutputs } from './outcome';
import { triggeredBy } from './triggered-by';
import { verifyAfter } from './verify';

/** What `mode: auto` reports when the app's last release was aborted (or rolled back) and the stable serves. */
export interface NothingToRollBack {
  result: 'nothing-to-roll-back';
  app: string;
  namespace: string;
  /** The version serving, as the record names it (the image tag). */
  serving: string;
  /** Per stable Deployment, container → image now running. */
  workloads: Record<string, Record<string, string>>;
  message: string;
  record: RolloutRecord;
}

/**
 * `mode: auto` after canary-promote stopped a release: the record says `aborted` (or `rolled-back`) and every
 * stable Deployment still runs the images the record says it had (an aborted release never changed the stable:
 * same revision too). Then the version that served before the release still serves and there is nothing to
 * undo; `kubectl rollout undo` semantics would instead fail ("no previous revision") or, worse, go back a
 * release further. Anything else (no record, another phase, a stable changed since): undefined, the normal
 * modes decide.
 */
export async function nothingToRollBack(
  rt: Runtime,
  client: KubeClient,
  request: InFlightRequest,
): Promise<NothingToRollBack | undefined> {
  const record = await readRolloutRecord(client, request.namespace, request.app);
  if (!record || (record.phase !== 'aborted' && record.phase !== 'rolled-back')) return undefined;
  const workloads: Record<string, Record<string, string>> = {};
  for (const workload of record.workloads) {
    let stable: Deployment;
    try {
      stable = await client.get<Deployment>('Deployment', { namespace: request.namespace, name: workload.stable });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    const images = imagesOf(stable.spec?.template);
    if (!equalImages(images, workload.stableImages)) return undefined;
    const revision = Number(stable.metadata?.annotations?.[REVISION_ANNOTATION]);
    // Aborted: the stable was never written. Rolled back: it has a new revision with the old template.
    if (record.phase === 'aborted' && workload.stableRevision !== undefined && revision !== workload.stableRevision)
      return undefined;
    workloads[workload.stable] = images;
  }
  if (record.workloads.length === 0) return undefined;
  const what = record.phase === 'aborted' ? 'was aborted' : 'was already rolled back';
  const message = `Nothing to roll back: the release of ${record.canaryVersion} ${what}${record.reason ? ` (${record.reason.replace(/\.$/, '')})` : ''}, and ${record.stableVersion} is serving, as before it started.`;
  rt.log.info(message);
  const rows = Object.entries(workloads)
    .map(([name, images]) => `| ${name} | ${describeImages(images)} |`)
    .join('\n');
  rt.summary.append(
    `## Rollback: nothing to roll back for \`${request.app}\`\n\n${message}${request.reason ? ` Asked because: ${request.reason}.` : ''}\n\n| Deployment | serving |\n| --- | --- |\n${rows}\n`,
  );
  return {
    result: 'nothing-to-roll-back',
    app: request.app,
    namespace: request.namespace,
    serving: record.stableVersion,
    workloads,
    message,
    record,
  };
}

/**
 * The outcome of `mode: auto` when there is nothing to roll back: every stable workload `skipped` with the
 * images it serves, and the `verify` checks run on what serves. A database restore is refused (the data
 * belongs to the version that still serves).
 */
export async function nothingToRollBackOutcome(
  rt: Runtime,
  client: KubeClient,
  nothing: NothingToRollBack,
  values: RollbackInputs & { namespace: string },
): Promise<RollbackOutcome> {
  refuseDatabaseRestore(
    values,
    `auto here (the release of ${nothing.app} was ${nothing.record.phase}: nothing to roll back)`,
  );
  const { record, ...report } = nothing;
  const restored = Object.fromEntries(
    Object.entries(nothing.workloads).map(([name, images]) => [
      name,
      { before: { images }, after: { images }, outcome: 'skipped' },
    ]),
  );
  const who = { namespace: values.namespace, reason: values.reason, triggeredBy: triggeredBy(rt.env) };
  const done = 'Nothing to roll back (the version from before the release still serves)';
  const checked = await verifyAfter(rt, client, values.namespace, values.verify, done);
  return {
    result: {
      verdict: nothing.result,
      mode: 'auto',
      ...report,
      phase: record.phase,
      ...(checked.verification ? { verification: checked.verification } : {}),
    },
    restored: restoredOutputs(nothing.result, { ...who, environment: values.environment }, restored),
    ...(checked.failure ? { failure: checked.failure } : {}),
  };
}
