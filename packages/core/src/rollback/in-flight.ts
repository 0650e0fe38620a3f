/**
 * rollback, mode `in-flight`: a canary or blue-green rollout that is still
 * running (its state record says progressing, paused, promoting or switched)
 * is aborted as canary-promote would abort it: traffic back to stable, the
 * canary and baseline scaled to 0, a blue-green Service switched back to blue.
 */
import { UserError } from '../errors';
import { loggedExec } from '../exec';
import type { KubeClient } from '../kube/client';
import { abortRollout, type RolloutOutcome, renderRolloutSummary } from '../rollout';
import { createRouter, type RouterConfig, type RouterKind } from '../routing';
import type { Runtime } from '../runtime/port';
import { APP_LABEL, IN_FLIGHT_PHASES, MANAGED_BY, type RolloutRecord, readRolloutRecord } from '../state';
import type { RollbackInputs } from './inputs';
import { type RollbackOutcome, restoredOutputs } from './outcome';
import { triggeredBy } from './triggered-by';
import { verifyAfter } from './verify';

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

/** Left for the step's own wrap-up when a wait gets the rest of the step's time: its error, which says where things stand, comes before the step's timeout. */
const WAIT_MARGIN_MS = 15_000;

/**
 * `mode: in-flight` as the action runs it (also what `mode: auto` chose): a dry run says what it would abort;
 * else the abort, with each wait given what is left of the step's timeout (from `startedAt`), then `verify`.
 */
export async function inFlightMode(
  rt: Runtime,
  client: KubeClient,
  values: RollbackInputs & { namespace: string },
  app: string,
  startedAt: number,
): Promise<RollbackOutcome> {
  if (values['dry-run']) {
    const inFlight = await hasRolloutInFlight(client, values.namespace, app);
    const message = inFlight
      ? `would abort the rollout of ${app} in flight (dry run, nothing changed)`
      : `no rollout of ${app} is in flight: nothing to abort`;
    rt.summary.append(`## Rollback planned: ${message}\n`);
    return { result: { verdict: 'planned', mode: 'in-flight', app, message } };
  }
  const named = [...(values.deployments ?? []), ...(values.selector ? [`selector ${values.selector}`] : [])];
  const outcome = await rollbackInFlight(rt, client, {
    namespace: values.namespace,
    app,
    chosen: values.app
      ? 'the app input'
      : `canary-promote's default, the first Deployment's name: no in-flight record moves ${named.join(', ')}`,
    reason: values.reason,
    triggeredBy: triggeredBy(rt.env),
    force: values.force,
    // Each wait gets what is left of the step's timeout, less a margin, so the wait's own error comes first.
    timeoutMs: Math.max(1_000, startedAt + values.timeout - WAIT_MARGIN_MS - rt.clock.now()),
  });
  const restored = Object.fromEntries(
    (outcome.record?.workloads ?? []).map((workload) => [
      workload.stable,
      { before: { images: workload.canaryImages }, after: { images: workload.stableImages }, outcome: 'restored' },
    ]),
  );
  const who = { namespace: values.namespace, reason: values.reason, triggeredBy: triggeredBy(rt.env) };
  const checked = await verifyAfter(rt, client, values.namespace, values.verify);
  return {
    result: {
      verdict: 'rolled-back',
      mode: 'in-flight',
      app,
      reason: outcome.reason,
      record: outcome.record,
      ...(checked.verification ? { verification: checked.verification } : {}),
    },
    restored: restoredOutputs('rolled-back', { ...who, environment: values.environment }, restored),
    ...(checked.failure ? { failure: checked.failure } : {}),
  };
}
