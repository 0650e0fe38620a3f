/**
 * Canary and blue-green orchestration from workflow steps: the state record,
 * the per-app lease, the steps plan and the state machine. See README.md for
 * the record's shape (rollback's `mode: in-flight` reads it).
 */
import type { KubeClient } from '../kube/client';
import type { RouterDeps, TrafficRouter, TrafficTarget } from '../routing/types';
import type { Runtime } from '../runtime/port';
import { Rollout, type RolloutOutcome } from './canary';
import { IN_FLIGHT_PHASES, RecordStore } from './record';

export {
  canaryReplicas,
  Rollout,
  type RolloutOutcome,
  type RolloutResult,
  type RolloutSettings,
  type WeightPoint,
} from './canary';
export {
  CommandRollout,
  type CommandRolloutSettings,
  checkCommandAnalysis,
  NO_CLUSTER_NOTE,
  UNKNOWN_STABLE,
} from './command';
export { holderIdentity, LEASE_SECONDS, RolloutLease, readLease } from './lease';
export { describeSteps, parseSteps, type Step, type StepDefaults } from './plan';
export * from './record';
export { renderRolloutSummary } from './summary';
export * from './workloads';

export interface AbortOptions {
  namespace: string;
  app: string;
  reason: string;
  /** Builds the router the record names (rollback passes createRouter bound to its deps). */
  makeRouter: (target: TrafficTarget) => TrafficRouter;
}

/**
 * Abort the in-flight rollout of `app` as the record describes it: traffic to
 * stable, canary and baseline scaled to 0, record phase `aborted`. Returns
 * undefined when no rollout is in flight. Rollback's `mode: in-flight` calls this.
 */
export async function abortRollout(
  rt: Runtime,
  client: KubeClient,
  options: AbortOptions,
): Promise<RolloutOutcome | undefined> {
  const store = await RecordStore.load(client, options.namespace, options.app);
  const record = store.record;
  if (!record || !IN_FLIGHT_PHASES.includes(record.phase)) return undefined;
  const rollout = new Rollout(rt, client, store, {
    strategy: record.strategy,
    namespace: record.namespace,
    steps: [],
    onStepFailure: 'abort',
    baseline: record.workloads.some((w) => w.baseline !== undefined),
    router: record.router,
    makeRouter: options.makeRouter,
    rolloutTimeoutMs: 600_000,
  });
  await rollout.resume(record);
  return rollout.abort(options.reason);
}

export { trafficInputs } from './inputs';
export type { RouterDeps };
