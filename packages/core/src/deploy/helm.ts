/**
 * strategy: helm. `helm upgrade --install <release> <chart> -f ... --set ...
 * --namespace <ns> --wait --timeout <t>` through an exec function with an
 * argument array (never a shell), optionally after `helm lint` and `helm
 * template`; then the same monitoring as rolling; on failure `helm rollback
 * <release> <previous revision> --wait`. Revisions, chart and app versions
 * come from `helm history -o json` and `helm status -o json`.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { withKubeconfigFile } from '../kube/kubeconfig-file';
import type { RolloutKind } from '../kube/rollout-status';
import type { KubeObject } from '../kube/types';
import type { AnalysisResult } from '../metrics/engine';
import type { Runtime } from '../runtime/port';
import { type HelmResult, lastLines } from './helm-command';
import { type HelmDeploy, startHelmDeploy } from './helm-context';
import { readHistory, readStatus } from './helm-release';
import { rollBackRelease } from './helm-rollback';
import { releaseWorkloads, touchedWorkloads, workloadsOf } from './helm-workloads';
import { beginDeployState, type DeploySession, type DeployState, withSession } from './state';
import type { ChangePlan, DeployOutcome, HelmOptions, HelmReleaseReport } from './types';
import { checkAnalysis, monitor, type Tracked, track, waitAll } from './watch';

export async function runHelm(rt: Runtime, options: HelmOptions): Promise<DeployOutcome> {
  return withHelmKubeconfig(options, (withEnv) => withSession(rt, (session) => deployWithHelm(rt, withEnv, session)));
}

/**
 * helm must talk to the cluster (and context) the client connected to: `fn` gets options whose env hands it
 * the same kubeconfig, in a private file that is removed afterwards (it may hold tokens).
 */
export async function withHelmKubeconfig<T, O extends { client: HelmOptions['client']; env?: HelmOptions['env'] }>(
  options: O,
  fn: (options: O) => Promise<T>,
): Promise<T> {
  if (options.env?.['KUBECONFIG'] !== undefined) return fn(options);
  return withKubeconfigFile(options.client.config, (path) =>
    fn({ ...options, env: { ...options.env, KUBECONFIG: path } }),
  );
}

/**
 * The pipeline: check the inputs, read the release before, lint and template, then (unless a dry run) record the
 * plan, `helm upgrade --install --wait`, find the workloads it applied, await and monitor them, and roll back
 * on a failure.
 */
async function deployWithHelm(rt: Runtime, options: HelmOptions, session: DeploySession): Promise<DeployOutcome> {
  const deploy = startHelmDeploy(rt, options);
  await deploy.helm(['version', '--short']);
  const { previous, highest } = await readHistory(deploy);
  deploy.timeline.mark(
    previous.previousRevision === undefined
      ? `Release ${deploy.release} is new in ${deploy.namespace}`
      : `Release ${deploy.release} is at revision ${previous.previousRevision}`,
  );
  const rendered = options.lint ? await lintAndTemplate(deploy) : undefined;
  // Nothing has changed yet: there are no workloads of this deploy for the queries to target.
  await checkAnalysis(rt, options, deploy.namespace, deploy.release, () => []);
  const before: HelmReleaseReport = {
    release: deploy.release,
    namespace: deploy.namespace,
    chart: deploy.chart,
    revision: undefined,
    commands: deploy.commands,
    ...previous,
  };
  if (options.dryRun) {
    await deploy.helm([...upgradeArgs(deploy), '--dry-run']);
    deploy.timeline.mark('Dry run: helm rendered and validated the release; nothing was changed');
    return helmOutcome(deploy, before, [], 'planned');
  }
  const running = await beginChange(deploy, session, changePlan(deploy, before, rendered, highest));
  await session.state?.save('deploying', session.workloads, { helm: before });
  const upgraded = await upgradeRelease(deploy, before, running);
  session.workloads = upgraded.workloads;
  const verified = await verifyRelease(deploy, session.state, upgraded);
  if (verified.failure === undefined) {
    return helmOutcome(deploy, upgraded.report, upgraded.workloads, 'deployed', verified.extra);
  }
  const rollback = await rollBackRelease(deploy, upgraded.report, upgraded.workloads, verified.failure);
  return helmOutcome(deploy, rollback.report, upgraded.workloads, rollback.verdict, {
    ...verified.extra,
    failure: rollback.failure,
  });
}

/** `helm lint` (a chart on disk only) and `helm template`: the rendered manifest. */
async function lintAndTemplate(deploy: HelmDeploy): Promise<string> {
  const { rt, chart } = deploy;
  const local = existsSync(isAbsolute(chart) ? chart : join(rt.workspace, chart));
  if (local) await deploy.helm(['lint', chart, ...deploy.values]);
  else {
    rt.log.warning(
      `helm lint reads only a chart on disk; ${chart} is checked with helm template alone (to lint it, helm pull it in an earlier step and give its folder as chart)`,
    );
  }
  const template = ['template', deploy.release, chart, '--namespace', deploy.namespace, ...deploy.common];
  const rendered = (await deploy.helm(template)).stdout;
  deploy.timeline.mark(
    local ? 'helm lint and helm template passed' : 'helm template passed (lint needs a chart on disk)',
  );
  return rendered;
}

function upgradeArgs(deploy: HelmDeploy): string[] {
  const { release, chart, namespace, common, timeoutArg } = deploy;
  return [
    'upgrade',
    '--install',
    release,
    chart,
    '--namespace',
    namespace,
    ...common,
    '--wait',
    '--timeout',
    timeoutArg,
  ];
}

/** What the deploy is about to change, for onBeforeChange: the rendered workloads and the revision to come. */
function changePlan(
  deploy: HelmDeploy,
  before: HelmReleaseReport,
  rendered: string | undefined,
  highest: number,
): ChangePlan {
  const { options } = deploy;
  return {
    strategy: 'helm',
    namespace: deploy.namespace,
    app: options.app ?? deploy.release,
    workloads: workloadsOf(rendered, deploy.namespace).map((workload) => ({
      kind: workload.ref.kind,
      name: workload.ref.name,
      images: workload.report.after?.images ?? {},
    })),
    helm: {
      release: deploy.release,
      chart: deploy.chart,
      version: options.version,
      previousRevision: before.previousRevision,
      revision: highest + 1,
    },
  };
}

/**
 * Takes the lease (with a holder), hands the plan to onBeforeChange, and reads what the release runs now (the
 * workloads' revisions and images before) into the session's record. Returns those objects.
 */
async function beginChange(deploy: HelmDeploy, session: DeploySession, plan: ChangePlan): Promise<KubeObject[]> {
  const { rt, options, namespace } = deploy;
  session.state = await beginDeployState(rt, options, 'helm', namespace, plan.app);
  await options.onBeforeChange?.(plan);
  const running =
    plan.helm?.previousRevision === undefined ? [] : await releaseWorkloads(options.client, namespace, deploy.release);
  session.workloads = running.map((object) => track(object.kind as RolloutKind, object, object));
  return running;
}

interface Upgraded {
  result: HelmResult;
  /** The report with the revision and versions helm status gives after the upgrade. */
  report: HelmReleaseReport;
  /** The workloads in the applied manifest, each with what it ran before. */
  workloads: Tracked[];
}

/** `helm upgrade --install --wait`, then `helm status`: the revision it made and the workloads it applied. */
async function upgradeRelease(deploy: HelmDeploy, before: HelmReleaseReport, running: KubeObject[]): Promise<Upgraded> {
  deploy.timeline.mark(`helm upgrade --install ${deploy.release} ${deploy.chart}`);
  const result = await deploy.helm(upgradeArgs(deploy), true);
  const status = await readStatus(deploy);
  return {
    result,
    report: { ...before, ...status?.state },
    workloads: touchedWorkloads(status?.manifest, deploy.namespace, running),
  };
}

/** Why the release must go back (undefined when it stays), and what the outcome shows with it. */
interface Verified {
  failure: string | undefined;
  extra: { explanation?: string[]; analysis?: AnalysisResult };
}

/** The upgrade's exit, each workload's rollout as kubectl would report it, then the monitoring. */
async function verifyRelease(
  deploy: HelmDeploy,
  state: DeployState | undefined,
  upgraded: Upgraded,
): Promise<Verified> {
  const { rt, options } = deploy;
  const { result, report, workloads } = upgraded;
  if (result.exitCode !== 0) {
    const why = `helm upgrade failed (exit ${result.exitCode}): ${rt.redact(lastLines(result.stderr || result.stdout))}`;
    deploy.timeline.mark(why);
    const waited = await waitAll(rt, options.client, workloads, 1);
    return { failure: why, extra: { explanation: waited.explanation } };
  }
  deploy.timeline.mark(`Release ${deploy.release} is at revision ${report.revision} (${report.status ?? 'unknown'})`);
  // helm --wait already waited; this reads each workload's rollout as kubectl would report it.
  const waited = await waitAll(rt, options.client, workloads, options.timeoutMs);
  if (waited.failed.length > 0) {
    const names = waited.failed.map((w) => `${w.ref.kind.toLowerCase()}/${w.ref.name}`).join(', ');
    return {
      failure: `${names} did not roll out: ${waited.failed[0]!.report.message}`,
      extra: { explanation: waited.explanation },
    };
  }
  if (options.analysis?.length && options.monitorMs) await state?.save('monitoring', workloads, { helm: report });
  const analysis = await monitor(rt, options, deploy.namespace, options.app ?? deploy.release, workloads);
  if (analysis === undefined) return { failure: undefined, extra: {} };
  deploy.timeline.mark(`Monitoring: ${analysis.verdict}: ${analysis.reason}`);
  if (analysis.verdict === 'fail') return { failure: `Monitoring failed: ${analysis.reason}`, extra: { analysis } };
  if (analysis.verdict === 'inconclusive') {
    rt.log.warning(`Monitoring was inconclusive, the release stays: ${analysis.reason}`);
  }
  return { failure: undefined, extra: { analysis } };
}

function helmOutcome(
  deploy: HelmDeploy,
  report: HelmReleaseReport,
  workloads: readonly Tracked[],
  verdict: DeployOutcome['verdict'],
  extra: Partial<DeployOutcome> = {},
): DeployOutcome {
  const { options } = deploy;
  return {
    strategy: 'helm',
    verdict,
    namespace: deploy.namespace,
    app: options.app ?? deploy.release,
    objects: [],
    workloads: workloads.map((workload) => workload.report),
    helm: report,
    explanation: [],
    timeline: deploy.timeline.entries,
    requests: options.client.requests - deploy.requestsBefore,
    settings: {
      ...(options.lint ? { 'helm-lint': 'true' } : {}),
      ...(options.version ? { 'chart-version': options.version } : {}),
    },
    ...extra,
  };
}
