/** rollback: put the last good version back. Modes kubernetes, image, in-flight and helm run; github and staged are still to come (issue #7). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRestoreSpec } from '@deploy-actions/core/db';
import { InputError } from '@deploy-actions/core/errors';
import { HelmCli } from '@deploy-actions/core/helm';
import { checkSpecInput } from '@deploy-actions/core/http';
import { boolean, defineInputs, integer, list, numberList, string, structured } from '@deploy-actions/core/inputs';
import { findDeployments, KubeClient, kubeInputs, loadKubeConfig, resolveNamespace } from '@deploy-actions/core/kube';
import {
  hasRolloutInFlight,
  rollbackHelm,
  rollbackInFlight,
  rollback as rollbackWorkloads,
} from '@deploy-actions/core/rollback';
import { type ActionDefinition, commonInputs, type Runtime } from '@deploy-actions/core/runtime';
import { inputsOnlyOutcome } from '@deploy-actions/core/scaffold';

export const inputs = defineInputs({
  mode: string({ choices: ['auto', 'kubernetes', 'image', 'in-flight', 'helm', 'github', 'staged'], default: 'auto' }),
  deployments: list({ example: 'auth-service, user-service, org-service' }),
  selector: string({ example: 'tier=api' }),
  'to-revision': integer({ min: 1, example: '2' }),
  'to-version': string({ example: 'v0.9.5' }),
  release: string({ example: 'api-platform' }),
  steps: numberList({ min: 1, max: 100, increasing: true, example: '25,50,100' }),
  verify: checkSpecInput({
    example: '[{ name: health, request: { url: https://api/health }, expect: { status: 200 } }]',
  }),
  reason: string({ example: 'error rate above 5% after v1.4.0' }),
  'database-restore': structured({ example: '{ pg-dump: backups/pre-v1.4.0.dump }' }),
  'confirm-database-restore': boolean({ default: 'false' }),
  ...kubeInputs,
  ...commonInputs,
});

type Inputs = ReturnType<typeof inputs.parse>;

const rollback: ActionDefinition<Inputs> = {
  name: 'rollback',
  inputs,
  async run(rt, values) {
    if (values['database-restore'] !== undefined && !values['confirm-database-restore']) {
      throw new InputError('confirm-database-restore', 'must be true to restore a database', 'false', 'true');
    }
    if (values.mode === 'helm') return helmMode(rt, values);
    if (values.mode === 'github' || values.mode === 'staged') {
      return inputsOnlyOutcome(rt, 'rollback', `mode ${values.mode}: issue #7`, inputs, values);
    }
    if (values.mode === 'image' && !values['to-version']) {
      throw new InputError('to-version', 'is required with mode: image', undefined, 'v0.9.5');
    }
    if (!values.deployments?.length && !values.selector) {
      throw new InputError(
        'deployments',
        'name the Deployments to roll back (or give a selector)',
        undefined,
        'auth-service, user-service',
      );
    }
    const databaseRestore =
      values['database-restore'] === undefined
        ? undefined
        : parseRestoreSpec(values['database-restore'], { workspace: rt.workspace, env: rt.env });
    const client = await KubeClient.connect(
      { kubeconfig: values.kubeconfig, context: values.context, env: rt.env, workspace: rt.workspace },
      { clock: rt.clock, signal: rt.signal, onRetry: (message) => rt.log.warning(message) },
    );
    const namespace = resolveNamespace(values.namespace, client.contextNamespace);
    // The rollout record is keyed by app: canary-promote's default, the first Deployment's name.
    const app =
      values.deployments?.[0] ??
      (await findDeployments(client, { namespace, selector: values.selector }))[0]?.metadata?.name ??
      '';
    let mode = values.mode;
    if (mode === 'auto') {
      mode = (await hasRolloutInFlight(client, namespace, app))
        ? 'in-flight'
        : values['to-version']
          ? 'image'
          : 'kubernetes';
      rt.log.info(`mode auto: ${mode}${mode === 'in-flight' ? ` (a rollout of ${app} is in flight)` : ''}`);
    }
    if (mode === 'in-flight') return inFlightMode(rt, client, { ...values, namespace }, app);
    if (mode !== 'kubernetes' && mode !== 'image') throw new Error(`unexpected mode ${mode}`);
    const report = await rollbackWorkloads(rt, client, {
      mode,
      namespace,
      deployments: values.deployments,
      selector: values.selector,
      toRevision: values['to-revision'],
      toVersion: values['to-version'],
      reason: values.reason,
      triggeredBy: rt.env['GITHUB_ACTOR'],
      dryRun: values['dry-run'],
      timeoutMs: values.timeout,
      verify: values.verify,
      databaseRestore,
    });
    const restored = Object.fromEntries(
      report.workloads.map((workload) => [
        workload.name,
        { before: workload.before, after: workload.after, outcome: workload.outcome },
      ]),
    );
    const failed = report.workloads.filter((workload) => workload.outcome === 'failed');
    const failure =
      failed.length > 0
        ? `Rollback did not finish for ${failed.map((workload) => `deployment/${workload.name}`).join(', ')}: ${failed[0]?.message}`
        : report.verification && !report.verification.passed
          ? `Rolled back, but verification failed: ${report.verification.checks
              .filter((check) => check.outcome === 'failed')
              .map((check) => `${check.name}: ${check.error ?? 'failed'}`)
              .join('; ')}`
          : undefined;
    return {
      result: { verdict: report.result, ...report, apiRequests: client.requests },
      outputs: { restored },
      ...(failure ? { failure } : {}),
    };
  },
};

async function inFlightMode(rt: Runtime, client: KubeClient, values: Inputs & { namespace: string }, app: string) {
  if (values['dry-run']) {
    const inFlight = await hasRolloutInFlight(client, values.namespace, app);
    const message = inFlight
      ? `would abort the rollout of ${app} in flight (dry run, nothing changed)`
      : `no rollout of ${app} is in flight: nothing to abort`;
    rt.summary.append(`## Rollback planned: ${message}\n`);
    return { result: { verdict: 'planned', mode: 'in-flight', app, message } };
  }
  const outcome = await rollbackInFlight(rt, client, {
    namespace: values.namespace,
    app,
    reason: values.reason,
    triggeredBy: rt.env['GITHUB_ACTOR'],
  });
  const restored = Object.fromEntries(
    (outcome.record?.workloads ?? []).map((workload) => [
      workload.stable,
      { before: { images: workload.canaryImages }, after: { images: workload.stableImages }, outcome: 'restored' },
    ]),
  );
  return {
    result: { verdict: 'rolled-back', mode: 'in-flight', app, reason: outcome.reason, record: outcome.record },
    outputs: { restored },
  };
}

async function helmMode(rt: Runtime, values: Inputs) {
  if (!values.release) throw new InputError('release', 'is required with mode: helm', undefined, 'api-platform');
  // Helm reads a kubeconfig file: inline kubeconfig content is written to a private temp file for it.
  let kubeconfigDir: string | undefined;
  let kubeconfigPath: string | undefined;
  let contextNamespace: string | undefined;
  if (values.kubeconfig) {
    const { config } = await loadKubeConfig({ kubeconfig: values.kubeconfig, env: rt.env, workspace: rt.workspace });
    contextNamespace = config.getContextObject(config.getCurrentContext())?.namespace;
    kubeconfigDir = mkdtempSync(join(rt.env['RUNNER_TEMP'] || tmpdir(), 'deploy-actions-helm-'));
    kubeconfigPath = join(kubeconfigDir, 'kubeconfig');
    writeFileSync(kubeconfigPath, config.exportConfig(), { mode: 0o600 });
  }
  try {
    const helm = new HelmCli({ kubeconfigPath, context: values.context });
    const report = await rollbackHelm(rt, helm, {
      release: values.release,
      namespace: resolveNamespace(values.namespace, contextNamespace),
      toRevision: values['to-revision'],
      reason: values.reason,
      triggeredBy: rt.env['GITHUB_ACTOR'],
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
    return { result: { verdict: report.result, mode: 'helm', ...report }, outputs: { restored } };
  } finally {
    if (kubeconfigDir) rmSync(kubeconfigDir, { recursive: true, force: true });
  }
}

export default rollback;
