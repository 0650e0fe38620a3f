/**
 * What a rollback reports: per workload what ran before and what runs now, the timeline, the headline of each
 * verdict and the incident summary. A leaf of rollback/: every mode (staged rollback too) imports it, it imports
 * none of them.
 */
import type { RestoreResult } from '../db/restore';
import type { ChecksResult } from '../http';
import { templateImages } from '../kube/history';
import { REVISION_ANNOTATION } from '../kube/rollout-status';
import type { Deployment } from '../kube/types';
import { describeImages } from '../kube/workloads';
import { table } from '../report';

export type RollbackMode = 'kubernetes' | 'image' | 'github';

export interface WorkloadState {
  revision: number | undefined;
  images: Record<string, string>;
}

export interface WorkloadRestore {
  name: string;
  /**
   * planned (dry run), skipped (already at the target), restored (patched and rolled out), failed (patched, but
   * the rollout did not finish), unpatched (the patch never went out: it still runs the version before).
   */
  outcome: 'planned' | 'skipped' | 'restored' | 'failed' | 'unpatched';
  before: WorkloadState;
  after: WorkloadState;
  message: string;
}

export interface TimelineEntry {
  at: string;
  event: string;
}

export interface RollbackReport {
  /** rolled-back, skipped (nothing to change), planned (dry run), failed, or aborted (a staged rollback that stopped: the current version still serves). */
  result: 'rolled-back' | 'skipped' | 'planned' | 'failed' | 'aborted';
  mode: RollbackMode | 'staged';
  namespace: string;
  reason: string | undefined;
  triggeredBy: string | undefined;
  workloads: WorkloadRestore[];
  timeline: TimelineEntry[];
  /** The `verify` checks, when given and the rollouts finished. */
  verification?: ChecksResult;
  databaseRestore?: RestoreResult;
  /** When it stopped half-way: which workloads are rolled back, which are not, and what to run next. */
  incomplete?: string;
}

/** Every verdict of a rollback run (a mode's report result, or auto's nothing-to-roll-back) and its headline. */
export type RollbackVerdict = RollbackReport['result'] | 'nothing-to-roll-back';

export const HEADLINES: Record<RollbackVerdict, string> = {
  'rolled-back': 'Rolled back',
  skipped: 'Nothing to roll back',
  planned: 'Rollback planned (dry run, nothing changed)',
  failed: 'Rollback did not finish',
  aborted: 'Staged rollback aborted (the current version still serves)',
  'nothing-to-roll-back': 'Nothing to roll back',
};

/** The Deployment's revision and container images. */
export function stateOf(deployment: Deployment): WorkloadState {
  const revision = Number(deployment.metadata?.annotations?.[REVISION_ANNOTATION]);
  return {
    revision: Number.isInteger(revision) ? revision : undefined,
    images: templateImages(deployment.spec?.template),
  };
}

/** The incident summary: why, who, what ran before and what runs now, and when each step happened. */
export function summaryMarkdown(report: RollbackReport): string {
  const revision = (state: WorkloadState) => (state.revision === undefined ? '' : String(state.revision));
  const rows = report.workloads.map((workload) => [
    `deployment/${workload.name}`,
    workload.outcome,
    revision(workload.before),
    describeImages(workload.before.images),
    revision(workload.after),
    describeImages(workload.after.images),
    workload.message,
  ]);
  return [
    `## ${HEADLINES[report.result]}: ${report.workloads.length} Deployment(s) in \`${report.namespace}\``,
    '',
    `**Reason:** ${report.reason ?? 'not given'}  `,
    `**Triggered by:** ${report.triggeredBy ?? 'unknown'}  `,
    `**Mode:** ${report.mode}  `,
    `**Database:** ${report.databaseRestore ? `restored (${report.databaseRestore.kind}: \`${report.databaseRestore.ran}\`)` : 'not restored'}`,
    '',
    ...(report.incomplete ? [`**Left half-way:** ${report.incomplete}`, ''] : []),
    table(
      ['workload', 'outcome', 'revision before', 'images before', 'revision after', 'images after', 'status'],
      rows,
    ),
    '### Timeline',
    '',
    table(
      ['time (UTC)', 'event'],
      report.timeline.map((entry) => [entry.at, entry.event]),
    ),
  ].join('\n');
}
