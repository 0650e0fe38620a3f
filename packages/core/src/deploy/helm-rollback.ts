/** After a failed helm upgrade or monitoring: `helm rollback <release> <previous revision> --wait`, then await what it restored. */

import { lastLines } from './helm-command';
import type { HelmDeploy } from './helm-context';
import { readStatus } from './helm-release';
import { workloadsOf } from './helm-workloads';
import type { DeployOutcome, HelmReleaseReport } from './types';
import { type Tracked, waitAll } from './watch';

export interface HelmRollback {
  verdict: Extract<DeployOutcome['verdict'], 'failed' | 'rolled-back'>;
  /** The reason, and what the rollback did about it. */
  failure: string;
  report: HelmReleaseReport;
}

/** Rolls the release back to its previous revision (unless told not to, or there is none) and says how that went. */
export async function rollBackRelease(
  deploy: HelmDeploy,
  report: HelmReleaseReport,
  workloads: readonly Tracked[],
  reason: string,
): Promise<HelmRollback> {
  const { rt, options, release, namespace } = deploy;
  if (options.undoOnFailure === false) return { verdict: 'failed', failure: reason, report };
  if (report.previousRevision === undefined) {
    return {
      verdict: 'failed',
      failure: `${reason}\nThe release had no earlier revision to roll back to; remove it with: helm uninstall ${release} --namespace ${namespace}`,
      report,
    };
  }
  deploy.timeline.mark(`helm rollback ${release} ${report.previousRevision}: ${reason.split('\n')[0]}`);
  const rolled = await deploy.helm(
    [
      'rollback',
      release,
      String(report.previousRevision),
      '--namespace',
      namespace,
      '--wait',
      '--timeout',
      deploy.timeoutArg,
    ],
    true,
  );
  const after = await readStatus(deploy);
  // The report keeps the failed revision; the one helm created for the rollback goes beside it.
  const rolledBack: HelmReleaseReport = {
    ...report,
    ...after?.state,
    rollbackRevision: after ? after.state.revision : report.revision,
    revision: report.revision,
  };
  for (const workload of workloads) {
    if (workload.report.status !== 'failed') workload.report.status = rolled.exitCode === 0 ? 'undone' : 'undo-failed';
  }
  if (rolled.exitCode !== 0) {
    return {
      verdict: 'failed',
      failure: `${reason}\nhelm rollback failed (exit ${rolled.exitCode}): ${rt.redact(lastLines(rolled.stderr))}`,
      report: rolledBack,
    };
  }
  const restored = workloadsOf(after?.manifest, namespace);
  const states = await waitAll(rt, options.client, restored, options.timeoutMs);
  reportRestored(workloads, restored, rolledBack.previousRevision);
  return {
    verdict: states.failed.length > 0 ? 'failed' : 'rolled-back',
    failure: `${reason}\nRolled back release ${release} to revision ${rolledBack.previousRevision} (now revision ${rolledBack.rollbackRevision}).`,
    report: rolledBack,
  };
}

/** Each workload's report after the rollback: what it runs now, and whether it got back. */
function reportRestored(workloads: readonly Tracked[], restored: readonly Tracked[], revision: number | undefined) {
  for (const workload of workloads) {
    const back = restored.find((item) => item.ref.name === workload.ref.name && item.ref.kind === workload.ref.kind);
    if (back === undefined) continue;
    // Before the deploy's state when it was read; else the failed revision, so the row shows what went back.
    workload.report.before ??= workload.report.after;
    workload.report.after = back.report.after;
    workload.report.status = back.report.status === 'rolled-out' ? 'undone' : 'undo-failed';
    workload.report.message = `back to release revision ${revision}: ${back.report.message}`;
  }
}
