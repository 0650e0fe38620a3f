/**
 * The state record and lease of a rolling or helm deploy: the same ConfigMap
 * `deploy-actions-<app>` and Lease canaries keep (state/record.ts,
 * state/lease.ts, used as they are), so a canary and a plain deploy of one
 * app exclude each other, rollback reads what happened, and the post step of
 * a cancelled job knows what to undo.
 */
import { UserError } from '../errors';
import type { KubeClient } from '../kube/client';
import type { RolloutKind } from '../kube/rollout-status';
import type { PodTemplateSpec } from '../kube/types';
import type { Runtime } from '../runtime/port';
import { RolloutLease } from '../state/lease';
import { IN_FLIGHT_PHASES, RecordStore, type RolloutRecord } from '../state/record';
import type { RunIdentity } from '../state/run-identity';
import type { DeployCommonOptions, DeployOutcome, HelmReleaseReport, WorkloadReport } from './types';
import type { Tracked } from './watch';

/** deploying (changing / waiting) and monitoring are the phases a cancelled job leaves for its post step. */
export type DeployPhase = 'deploying' | 'monitoring' | 'deployed' | 'rolled-back' | 'failed';
export const UNFINISHED_DEPLOY_PHASES: readonly DeployPhase[] = ['deploying', 'monitoring'];

/** One changed workload. `stable`, `stableImages`, `canaryImages` are named as in canary records, so rollback reads both. */
export interface DeployWorkloadRecord {
  kind: RolloutKind;
  stable: string;
  /** Revision and images before this deploy (what an undo returns to). */
  stableRevision?: number | undefined;
  stableImages: Record<string, string>;
  /** Revision and images this deploy rolled out. */
  revision?: number | undefined;
  canaryImages: Record<string, string>;
  /** After an undo: the revision the undo made (the old template again). */
  undoneRevision?: number | undefined;
  /** Created by this deploy: nothing to undo to. */
  created: boolean;
  /** StatefulSets and DaemonSets: the pod template before, which an undo puts back (they keep no ReplicaSets). */
  templateBefore?: PodTemplateSpec | undefined;
  status: WorkloadReport['status'];
}

export interface DeployRecord {
  version: 1;
  app: string;
  namespace: string;
  strategy: 'rolling' | 'helm';
  phase: DeployPhase;
  /** 100 while the new version serves, 0 once undone (the canary record's field, for readers of both). */
  weight: number;
  /** Image tags of the first workload before and after. */
  stableVersion: string;
  canaryVersion: string;
  workloads: DeployWorkloadRecord[];
  helm?: { release: string; chart: string; previousRevision?: number; revision?: number; rollbackRevision?: number };
  reason?: string;
  runUrl?: string;
  runId?: string;
  updatedAt: string;
}

export function workloadRecords(workloads: readonly Tracked[]): DeployWorkloadRecord[] {
  return workloads.map(({ ref, before, report }) => ({
    kind: ref.kind,
    stable: ref.name,
    stableRevision: report.before?.revision,
    stableImages: report.before?.images ?? {},
    revision: report.after?.revision,
    canaryImages: report.after?.images ?? {},
    created: before === undefined,
    ...(ref.kind !== 'Deployment' && before !== undefined
      ? { templateBefore: (before['spec'] as { template?: PodTemplateSpec } | undefined)?.template }
      : {}),
    status: report.status,
  }));
}

function tagOf(images: Record<string, string> | undefined): string {
  const image = Object.values(images ?? {})[0] ?? '';
  return image.slice(image.lastIndexOf(':') + 1);
}

/** The app's lease (held from before the first change to the end) and its record. */
export class DeployState {
  private constructor(
    private readonly rt: Runtime,
    private readonly store: RecordStore,
    private readonly lease: RolloutLease,
    private readonly base: Pick<DeployRecord, 'app' | 'namespace' | 'strategy' | 'runUrl' | 'runId'>,
  ) {}

  /**
   * Takes the lease (a run holding it is named in the error) and refuses an app whose canary or blue-green
   * rollout is still in flight; nothing is written then but the lease, which is handed back.
   */
  static async begin(
    rt: Runtime,
    client: KubeClient,
    options: { namespace: string; app: string; strategy: 'rolling' | 'helm' } & RunIdentity,
  ): Promise<DeployState> {
    const { app, strategy } = options;
    const state = await DeployState.take(rt, client, options);
    try {
      const previous = state.store.record;
      if (previous && IN_FLIGHT_PHASES.includes(previous.phase)) {
        throw new UserError(
          `A ${previous.strategy} rollout of "${app}" is ${previous.phase} at ${previous.weight}% (${previous.stableVersion} → ${previous.canaryVersion}${previous.runUrl ? `, started by ${previous.runUrl}` : ''}): a ${strategy} deploy would change the Deployments under it`,
          { hint: 'Finish it first with canary-promote action: promote or action: abort' },
        );
      }
      return state;
    } catch (error) {
      await state.release();
      throw error;
    }
  }

  /** The lease (same holder: the post step takes over what its cancelled main step held) and the record as it is. */
  static async take(
    rt: Runtime,
    client: KubeClient,
    options: { namespace: string; app: string; strategy: 'rolling' | 'helm' } & RunIdentity,
  ): Promise<DeployState> {
    const { namespace, app, strategy } = options;
    const lease = await RolloutLease.acquire(client, {
      namespace,
      app,
      holder: options.holder,
      runUrl: options.runUrl,
      clock: rt.clock,
    });
    try {
      const store = await RecordStore.load(client, namespace, app);
      return new DeployState(rt, store, lease, {
        app,
        namespace,
        strategy,
        ...(options.runUrl ? { runUrl: options.runUrl } : {}),
        ...(options.runId ? { runId: options.runId } : {}),
      });
    } catch (error) {
      await lease.release();
      throw error;
    }
  }

  /** The post step learns the strategy from the record it took over. */
  adopt(strategy: 'rolling' | 'helm'): void {
    this.base.strategy = strategy;
  }

  /** The record as it stands (what the last save wrote), if this run or an earlier one wrote one. */
  get record(): DeployRecord | undefined {
    const record = this.store.record as unknown as DeployRecord | undefined;
    return record && (record.strategy === 'rolling' || record.strategy === 'helm') ? record : undefined;
  }

  async save(
    phase: DeployPhase,
    workloads: readonly Tracked[],
    extra: { helm?: HelmReleaseReport | undefined; reason?: string | undefined } = {},
  ): Promise<void> {
    const records = workloadRecords(workloads);
    // An undo overwrites a report's `after`: the record keeps what was rolled out, and the undo's revision beside it.
    for (const record of records) {
      if (record.status !== 'undone' && record.status !== 'undo-failed') continue;
      const rolledOut = this.record?.workloads.find((w) => w.kind === record.kind && w.stable === record.stable);
      if (rolledOut === undefined) continue;
      record.undoneRevision = record.revision;
      record.revision = rolledOut.revision;
      record.canaryImages = rolledOut.canaryImages;
    }
    const record: DeployRecord = {
      version: 1,
      ...this.base,
      phase,
      weight: phase === 'rolled-back' ? 0 : 100,
      stableVersion: tagOf(records[0]?.stableImages),
      canaryVersion: tagOf(records[0]?.canaryImages),
      workloads: records,
      ...(extra.helm
        ? {
            helm: {
              release: extra.helm.release,
              chart: extra.helm.chart,
              ...(extra.helm.previousRevision !== undefined ? { previousRevision: extra.helm.previousRevision } : {}),
              ...(extra.helm.revision !== undefined ? { revision: extra.helm.revision } : {}),
              ...(extra.helm.rollbackRevision !== undefined ? { rollbackRevision: extra.helm.rollbackRevision } : {}),
            },
          }
        : this.record?.helm
          ? { helm: this.record.helm }
          : {}),
      ...(extra.reason ? { reason: extra.reason } : {}),
      updatedAt: new Date(this.rt.clock.now()).toISOString(),
    };
    // RecordStore is typed for canary records; the ConfigMap, its labels and the resourceVersion checks are the same.
    await this.store.save(record as unknown as RolloutRecord);
  }

  /** The last phase: what the deploy ended as, and why. */
  async settle(outcome: DeployOutcome, workloads: readonly Tracked[]): Promise<void> {
    const phase =
      outcome.verdict === 'deployed' ? 'deployed' : outcome.verdict === 'rolled-back' ? 'rolled-back' : 'failed';
    await this.save(phase, workloads, {
      helm: outcome.helm,
      reason: outcome.failure?.split('\n')[0] ?? outcome.analysis?.reason,
    });
  }

  /** Hands the lease back, also after the run's signal aborted (withSession keeps it then, for the post step). */
  async release(): Promise<void> {
    await this.lease.release();
  }
}

/** The lease and record, when the caller gave this run's identity (`holder`); undefined when it did not. */
export async function beginDeployState(
  rt: Runtime,
  options: DeployCommonOptions,
  strategy: 'rolling' | 'helm',
  namespace: string,
  app: string,
): Promise<DeployState | undefined> {
  if (options.holder === undefined) return undefined;
  return DeployState.begin(rt, options.client, { namespace, app, strategy, ...options.holder });
}

/** The lease and record of a run (when it has a holder), and the workloads the record describes so far. */
export interface DeploySession {
  state?: DeployState | undefined;
  workloads: Tracked[];
}

/**
 * Runs a deploy with its session: the record's last phase follows the outcome and the lease is handed back at
 * the end. A cancelled or failing run leaves the phase where it was (deploying / monitoring): its post step
 * undoes from there.
 */
export async function withSession(
  rt: Runtime,
  run: (session: DeploySession) => Promise<DeployOutcome>,
): Promise<DeployOutcome> {
  const session: DeploySession = { workloads: [] };
  try {
    const outcome = await run(session);
    if (outcome.verdict !== 'planned') await session.state?.settle(outcome, session.workloads);
    return outcome;
  } catch (error) {
    // The phase stays (deploying / monitoring) so the post step undoes, as after a cancel; the reason says why.
    const phase = session.state?.record?.phase;
    if (session.state && phase && !rt.signal.aborted) {
      await session.state
        .save(phase, session.workloads, { reason: `Stopped by an error: ${(error as Error).message}` })
        .catch((second: Error) => rt.log.warning(`The state record could not be updated: ${second.message}`));
    }
    throw error;
  } finally {
    // Cancelled or timed out: the lease stays for the post step, which takes it over (same holder) to undo or leave.
    if (!rt.signal.aborted) await session.state?.release();
  }
}
