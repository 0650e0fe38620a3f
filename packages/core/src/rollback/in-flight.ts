/**
 * rollback, mode `in-flight`: a canary or blue-green rollout that is still
 * running (its state record says progressing, paused, promoting or switched)
 * is aborted as canary-promote would abort it: traffic back to stable, the
 * canary and baseline scaled to 0, a blue-green Service switched back to blue.
 */
import { UserError } from '../errors';
import { loggedExec } from '../exec';
import type { KubeClient } from '../kube/client';
import { isNotFound } from '../kube/errors';
import { REVISION_ANNOTATION } from '../kube/rollout-status';
import type { Deployment } from '../kube/types';
import { abortRollout, equalImages, imagesOf, type RolloutOutcome, renderRolloutSummary } from '../rollout';
import { createRouter, type RouterConfig, type RouterKind } from '../routing';
import type { Runtime } from '../runtime/port';
import { APP_LABEL, IN_FLIGHT_PHASES, MANAGED_BY, type RolloutRecord, readRolloutRecord } from '../state';

export interface InFlightRequest {
  namespace: string;
  /** The rollout's key (canary-promote's `app`, by default its first Deployment's name). */
  app: string;
  reason?: string | undefined;
  triggeredBy?: string | undefined;
  /** Limit for each wait on pods (an abort during the promotion waits for the stables); default 600 s. */
  timeoutMs?: number | undefined;
  /** Take the app's rollout Lease over whoever holds it (named in the log). */
  force?: boolean | undefined;
  /** How `app` was chosen (the app input, the Deployments' in-flight records, the first Deployment's name), for the error when it has no record. */
  chosen?: string | undefined;
}

/** Whether `app` has a rollout in flight: what `mode: auto` asks before choosing. */
export async function hasRolloutInFlight(client: KubeClient, namespace: string, app: string): Promise<boolean> {
  const record = await readRolloutRecord(client, namespace, app);
  return record !== undefined && IN_FLIGHT_PHASES.includes(record.phase);
}

/**
 * The apps (record keys) with a rollout in flight that moves one of `deployments`: how `mode: in-flight` finds a
 * canary started with a label selector or its own `app`, whose record is not named after the Deployment.
 */
export async function inFlightApps(
  client: KubeClient,
  namespace: string,
  deployments: readonly string[],
): Promise<string[]> {
  const apps: string[] = [];
  for (const record of await rolloutRecords(client, namespace)) {
    if (!IN_FLIGHT_PHASES.includes(record.phase)) continue;
    if (record.workloads.some((workload) => deployments.includes(workload.stable))) apps.push(record.app);
  }
  return apps.sort();
}

/** Every rollout record in the namespace (canary-promote's ConfigMaps), sorted by app. */
async function rolloutRecords(client: KubeClient, namespace: string): Promise<RolloutRecord[]> {
  const managed = Object.entries(MANAGED_BY).map(([key, value]) => `${key}=${value}`);
  const list = await client.list<{ metadata?: { labels?: Record<string, string> }; data?: Record<string, string> }>(
    'ConfigMap',
    { namespace, labelSelector: [...managed, APP_LABEL].join(',') },
  );
  const records: RolloutRecord[] = [];
  for (const map of list.items) {
    let record: RolloutRecord | undefined;
    try {
      record = JSON.parse(map.data?.['record'] ?? '') as RolloutRecord;
    } catch {
      continue; // not a record (a config copy carries the same labels)
    }
    if (typeof record?.app !== 'string' || !Array.isArray(record.workloads)) continue;
    records.push(record);
  }
  return records.sort((a, b) => a.app.localeCompare(b.app));
}

export async function rollbackInFlight(
  rt: Runtime,
  client: KubeClient,
  request: InFlightRequest,
): Promise<RolloutOutcome> {
  const record = await readRolloutRecord(client, request.namespace, request.app);
  if (record === undefined) {
    // Say everything that was looked at, so the person on call can tell a wrong name from a wrong namespace.
    const others = (await rolloutRecords(client, request.namespace)).map(
      (other) => `${other.app} (${other.phase}: ${other.workloads.map((workload) => workload.stable).join(', ')})`,
    );
    throw new UserError(
      `No rollout record for app "${request.app}" in namespace "${request.namespace}" (looked for ConfigMap deploy-actions-${request.app}${request.chosen ? `; app chosen as ${request.chosen}` : ''}). Rollout records in "${request.namespace}": ${others.length > 0 ? others.join('; ') : 'none'}. Nothing was changed`,
      {
        hint: 'name the rollout with app: (as canary-promote was given it), or use mode: kubernetes to undo a finished rollout',
      },
    );
  }
  if (!IN_FLIGHT_PHASES.includes(record.phase)) {
    throw new UserError(
      `The rollout of app "${request.app}" is not in flight (phase ${record.phase}${record.reason ? `: ${record.reason}` : ''})`,
      { hint: 'use mode: kubernetes to undo a finished rollout' },
    );
  }
  const reason = `Rolled back${request.triggeredBy ? ` by ${request.triggeredBy}` : ''}: ${request.reason ?? 'no reason given'}`;
  const outcome = await abortRollout(rt, client, {
    namespace: request.namespace,
    app: request.app,
    reason,
    timeoutMs: request.timeoutMs,
    force: request.force,
    // The router writes through the abort's client, fenced by its Lease.
    makeRouter: (target, fenced) =>
      createRouter(record.router.kind as RouterKind, record.router.config as RouterConfig, target, {
        client: fenced ?? client,
        exec: loggedExec(rt),
        log: rt.log,
      }),
  });
  // Another run finished or aborted it between the read above and now.
  if (outcome === undefined)
    throw new UserError(`The rollout of app "${request.app}" stopped being in flight while rolling back`);
  rt.summary.append(
    `## Rolled back an in-flight ${record.strategy} of \`${request.app}\`\n\n${renderRolloutSummary(outcome)}`,
  );
  return outcome;
}

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
    .map(
      ([name, images]) =>
        `| ${name} | ${Object.entries(images)
          .map(([c, i]) => `${c}=${i}`)
          .join(', ')} |`,
    )
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
