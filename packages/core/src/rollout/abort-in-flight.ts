/**
 * Abort the in-flight rollout an app's record describes, from another run (rollback's `mode: in-flight`, a
 * cancelled run's clean-up): under the app's Lease, through the same Rollout that started it.
 */
import type { KubeClient } from '../kube/client';
import type { TrafficRouter, TrafficTarget } from '../routing/types';
import type { Runtime } from '../runtime/port';
import { RolloutLease } from '../state/lease';
import { IN_FLIGHT_PHASES, RecordStore } from '../state/record';
import { runIdentity } from '../state/run-identity';
import { Rollout, type RolloutOutcome } from './canary';

export interface AbortOptions {
  namespace: string;
  app: string;
  reason: string;
  /** Builds the router the record names (rollback passes createRouter bound to its deps). */
  makeRouter: (target: TrafficTarget, client?: KubeClient) => TrafficRouter;
  /** Limit for each wait on pods (an abort during the promotion waits for the stables); default 600 s. */
  timeoutMs?: number | undefined;
  /** Take the app's Lease over whoever holds it (named in the log). */
  force?: boolean | undefined;
}

/** What abortRollout waits at most for pods when not told. */
export const ABORT_TIMEOUT_MS = 600_000;

/**
 * Abort the in-flight rollout of `app` as the record describes it: traffic to
 * stable, canary and baseline scaled to 0, record phase `aborted` (during the
 * promotion the stables go back to their template before it). Returns
 * undefined when no rollout is in flight. Rollback's `mode: in-flight` calls this.
 * It holds the app's Lease as canary-promote does (it may rewrite the stables'
 * pod templates): while another run holds it, it is refused with a UserError
 * naming that run, before anything changes; the lease is released after.
 */
export async function abortRollout(
  rt: Runtime,
  client: KubeClient,
  options: AbortOptions,
): Promise<RolloutOutcome | undefined> {
  const first = await RecordStore.load(client, options.namespace, options.app);
  if (!first.record || !IN_FLIGHT_PHASES.includes(first.record.phase)) return undefined;
  const timeoutMs = options.timeoutMs ?? ABORT_TIMEOUT_MS;
  const lease = await RolloutLease.acquire(client, {
    namespace: options.namespace,
    app: options.app,
    ...runIdentity(rt.env),
    clock: rt.clock,
    deployments: first.record.workloads.map((workload) => workload.stable),
    force: options.force,
    signal: rt.signal,
    log: (line) => rt.log.warning(line),
  });
  // Every write of the abort checks the Lease is still this run's.
  const fenced = lease.fence(client);
  try {
    // Read again under the lease: the run that held it may have finished or moved the rollout since.
    const store = await RecordStore.load(fenced, options.namespace, options.app);
    const record = store.record;
    if (!record || !IN_FLIGHT_PHASES.includes(record.phase)) return undefined;
    const rollout = new Rollout(rt, fenced, store, {
      strategy: record.strategy,
      namespace: record.namespace,
      steps: [],
      onStepFailure: 'abort',
      baseline: record.workloads.some((w) => w.baseline !== undefined),
      router: record.router,
      makeRouter: (target) => options.makeRouter(target, fenced),
      rolloutTimeoutMs: timeoutMs,
      holdLease: (ms) => lease.hold(ms),
    });
    await rollout.resume(record);
    if (record.phase === 'aborting') return await rollout.finishAbort();
    return await rollout.abort(options.reason);
  } finally {
    await lease.release();
  }
}
