/**
 * Abort the in-flight rollout an app's record describes, from another run (rollback's `mode: in-flight`, a
 * cancelled run's clean-up): under the app's Lease, through the same Rollout that started it.
 */
import { loggedExec } from '../exec';
import type { KubeClient } from '../kube/client';
import { createRouter } from '../routing/create-router';
import type { RouterConfig, RouterKind, TrafficRouter, TrafficTarget } from '../routing/types';
import type { Runtime } from '../runtime/port';
import { RolloutLease } from '../state/lease';
import { IN_FLIGHT_PHASES, RecordStore } from '../state/record';
import { runIdentity } from '../state/run-identity';
import { Rollout } from './canary';
import type { RolloutOutcome } from './types';

export interface AbortOptions {
  namespace: string;
  app: string;
  reason: string;
  /**
   * Builds the router the record names, writing through the fenced client it is given. Default: createRouter
   * with the record's router kind and config, the run's logged exec and log.
   */
  makeRouter?: ((target: TrafficTarget, client?: KubeClient) => TrafficRouter) | undefined;
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
  try {
    return await abortUnderLease(rt, lease, client, options);
  } finally {
    await lease.release();
  }
}

/**
 * The abort itself, under the app's Lease the caller holds (a post step takes over its own run's Lease,
 * and hands it back itself). Every write goes through `client` fenced by the Lease; the record is read
 * under it (the run that held it may have finished or moved the rollout since). Undefined: nothing in flight.
 */
export async function abortUnderLease(
  rt: Runtime,
  lease: RolloutLease,
  client: KubeClient,
  options: Omit<AbortOptions, 'force'>,
): Promise<RolloutOutcome | undefined> {
  const fenced = lease.fence(client);
  const store = await RecordStore.load(fenced, options.namespace, options.app);
  const record = store.record;
  if (!record || !IN_FLIGHT_PHASES.includes(record.phase)) return undefined;
  const makeRouter =
    options.makeRouter ??
    ((target: TrafficTarget, writer?: KubeClient) =>
      createRouter(record.router.kind as RouterKind, record.router.config as RouterConfig, target, {
        client: writer ?? fenced,
        exec: loggedExec(rt),
        log: rt.log,
      }));
  const rollout = new Rollout(rt, fenced, store, {
    strategy: record.strategy,
    namespace: record.namespace,
    steps: [],
    onStepFailure: 'abort',
    baseline: record.workloads.some((w) => w.baseline !== undefined),
    router: record.router,
    makeRouter: (target) => makeRouter(target, fenced),
    rolloutTimeoutMs: options.timeoutMs ?? ABORT_TIMEOUT_MS,
    holdLease: (ms) => lease.hold(ms),
  });
  await rollout.resume(record);
  if (record.phase === 'aborting') return await rollout.finishAbort();
  return await rollout.abort(options.reason);
}
