/**
 * rollback, mode `helm`: `helm history`, choose the revision (the given one,
 * or the newest earlier one that served), `helm rollback --wait`, then read
 * the history again to report the revision helm created for the rollback.
 */
import { InputError } from '../errors';
import { loggedExec } from '../exec';
import { HelmCli, type HelmRevision, helmRollbackTarget } from '../helm';
import { KubeClient } from '../kube/client';
import { loadKubeConfig } from '../kube/config';
import { kubeSource, resolveNamespace } from '../kube/inputs';
import { withKubeconfigFile } from '../kube/kubeconfig-file';
import { table } from '../report';
import type { Runtime } from '../runtime/port';
import type { RollbackInputs } from './inputs';
import { type RollbackOutcome, restoredOutputs } from './outcome';
import { HEADLINES } from './report';
import { triggeredBy } from './triggered-by';
import { needsServiceProxy, verifyAfter } from './verify';

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
    `## ${report.result === 'planned' ? 'Helm rollback planned (dry run, nothing changed)' : HEADLINES['rolled-back']}: release \`${report.release}\` in \`${report.namespace}\``,
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

/**
 * `mode: helm` as the action runs it. Helm reads a kubeconfig file: inline kubeconfig content is written to a
 * private temp file for it (under RUNNER_TEMP on a runner) and removed afterwards.
 */
export async function helmMode(rt: Runtime, values: RollbackInputs): Promise<RollbackOutcome> {
  const release = values.release;
  if (!release) throw new InputError('release', 'is required with mode: helm', undefined, 'api-platform');
  if (!values.kubeconfig) return helmModeWith(rt, { ...values, release }, undefined, undefined);
  const { config } = await loadKubeConfig(kubeSource(rt, values));
  const contextNamespace = config.getContextObject(config.getCurrentContext())?.namespace;
  return withKubeconfigFile(
    config,
    (path) => helmModeWith(rt, { ...values, release }, path, contextNamespace),
    rt.env['RUNNER_TEMP'] || undefined,
  );
}

async function helmModeWith(
  rt: Runtime,
  values: RollbackInputs & { release: string },
  kubeconfigPath: string | undefined,
  contextNamespace: string | undefined,
): Promise<RollbackOutcome> {
  const namespace = resolveNamespace(values.namespace, contextNamespace);
  // Checks through a Service need the API server; connecting first means a bad kubeconfig changes nothing.
  const client =
    values.verify && needsServiceProxy(values.verify)
      ? await KubeClient.connect(kubeSource(rt, values), {
          clock: rt.clock,
          signal: rt.signal,
          onRetry: (message) => rt.log.warning(message),
        })
      : undefined;
  const helm = new HelmCli({ kubeconfigPath, context: values.context, exec: loggedExec(rt) });
  const report = await rollbackHelm(rt, helm, {
    release: values.release,
    namespace,
    toRevision: values['to-revision'],
    reason: values.reason,
    triggeredBy: triggeredBy(rt.env),
    dryRun: values['dry-run'],
    timeoutMs: values.timeout,
  });
  const restored = {
    [values.release]: {
      before: { revision: report.from.revision, chart: report.from.chart, appVersion: report.from.app_version },
      after: report.created
        ? { revision: report.created.revision, chart: report.created.chart, appVersion: report.created.app_version }
        : { revision: report.to.revision, chart: report.to.chart, appVersion: report.to.app_version },
      outcome: report.result === 'planned' ? 'planned' : 'restored',
    },
  };
  const outputs = restoredOutputs(report.result, { ...report, environment: values.environment }, restored);
  // `helm rollback --wait` returned: the release's resources are ready, so the checks can run.
  const checked = report.result === 'planned' ? {} : await verifyAfter(rt, client, namespace, values.verify);
  return {
    result: {
      verdict: report.result,
      mode: 'helm',
      ...report,
      ...(checked.verification ? { verification: checked.verification } : {}),
    },
    restored: outputs,
    ...(checked.failure ? { failure: checked.failure } : {}),
  };
}
