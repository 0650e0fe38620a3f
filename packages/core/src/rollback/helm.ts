/**
 * rollback, mode `helm`: `helm history`, choose the revision (the given one,
 * or the newest earlier one that served), `helm rollback --wait`, then read
 * the history again to report the revision helm created for the rollback.
 */
import { type HelmCli, type HelmRevision, helmRollbackTarget } from '../helm';
import { table } from '../report';
import type { Runtime } from '../runtime/port';

export interface HelmRollbackRequest {
  release: string;
  namespace: string;
  toRevision?: number | undefined;
  reason?: string | undefined;
  triggeredBy?: string | undefined;
  dryRun: boolean;
  timeoutMs: number;
}

export interface HelmRollbackReport {
  result: 'rolled-back' | 'planned';
  release: string;
  namespace: string;
  reason: string | undefined;
  triggeredBy: string | undefined;
  from: HelmRevision;
  to: HelmRevision;
  /** The revision helm recorded for the rollback (undefined on dry run). */
  created: HelmRevision | undefined;
  commands: string[][];
}

export async function rollbackHelm(
  rt: Runtime,
  helm: HelmCli,
  request: HelmRollbackRequest,
): Promise<HelmRollbackReport> {
  const history = await helm.history(request.release, request.namespace);
  const { current, target } = helmRollbackTarget(request.release, history, request.toRevision);
  rt.log.info(
    `Helm release ${request.release}: revision ${current.revision} (${current.chart}, app ${current.app_version}) → revision ${target.revision} (${target.chart}, app ${target.app_version})`,
  );
  let created: HelmRevision | undefined;
  if (!request.dryRun) {
    await helm.rollback(request.release, target.revision, request.namespace, request.timeoutMs);
    const after = await helm.history(request.release, request.namespace);
    created = after.at(-1);
  }
  const report: HelmRollbackReport = {
    result: request.dryRun ? 'planned' : 'rolled-back',
    release: request.release,
    namespace: request.namespace,
    reason: request.reason,
    triggeredBy: request.triggeredBy,
    from: current,
    to: target,
    created,
    commands: helm.commands,
  };
  rt.summary.append(helmSummary(report));
  return report;
}

function helmSummary(report: HelmRollbackReport): string {
  const row = (label: string, entry: HelmRevision | undefined) =>
    entry
      ? [label, entry.revision, entry.chart, entry.app_version, entry.status, entry.updated]
      : [label, '', '', '', '', ''];
  return [
    `## ${report.result === 'planned' ? 'Helm rollback planned (dry run, nothing changed)' : 'Rolled back'}: release \`${report.release}\` in \`${report.namespace}\``,
    '',
    `**Reason:** ${report.reason ?? 'not given'}  `,
    `**Triggered by:** ${report.triggeredBy ?? 'unknown'}`,
    '',
    table(
      ['', 'revision', 'chart', 'app version', 'status', 'updated'],
      [row('before', report.from), row('restored', report.to), row('now running', report.created)],
    ),
    `Commands: ${report.commands.map((command) => `\`${command.join(' ')}\``).join(', ')}`,
    '',
  ].join('\n');
}
