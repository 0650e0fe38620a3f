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
import { parseAllDocuments } from 'yaml';
import { InputError, UserError } from '../errors';
import { type ExecFunction, execCommand } from '../exec';
import { resolveInWorkspace } from '../inputs/files';
import { resolveNamespace } from '../kube/inputs';
import { withKubeconfigFile } from '../kube/kubeconfig-file';
import { isRolloutKind, ROLLOUT_KINDS, type RolloutKind } from '../kube/rollout-status';
import type { KubeObject } from '../kube/types';
import type { Runtime } from '../runtime/port';
import { type DeploySession, DeployState, withSession } from './state';
import type { ChangePlan, DeployOutcome, HelmOptions, HelmReleaseReport } from './types';
import { checkAnalysis, monitor, stateOf, type Tracked, track, waitAll } from './watch';

/** Release names: DNS-1123 labels of at most 53 characters (helm's own limit). */
const RELEASE_NAME = /^[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?$/;
const SECRET_KEY = /pass|secret|token|key|credential/i;

interface HistoryEntry {
  revision: number;
  status?: string;
  chart?: string;
  app_version?: string;
  description?: string;
}

interface StatusJson {
  name?: string;
  version?: number;
  namespace?: string;
  info?: { status?: string; description?: string };
  chart?: { metadata?: { name?: string; version?: string; appVersion?: string } };
  manifest?: string;
}

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

async function deployWithHelm(rt: Runtime, options: HelmOptions, session: DeploySession): Promise<DeployOutcome> {
  const { client } = options;
  const requestsBefore = client.requests;
  const exec = options.exec ?? execCommand;
  const helmBin = options.helm ?? 'helm';
  // The input's, else the kubeconfig context's (helm itself would use it too), else default.
  const namespace = resolveNamespace(options.namespace, client.contextNamespace);
  const dryRun = options.dryRun ?? false;
  const timeline: DeployOutcome['timeline'] = [];
  const mark = (event: string) => {
    timeline.push({ at: new Date(rt.clock.now()).toISOString(), event });
    rt.log.info(event);
  };

  // Inputs first: nothing runs until all of them are right.
  if (!options.release || !RELEASE_NAME.test(options.release)) {
    throw new InputError(
      'release',
      'must be a lower-case DNS name of at most 53 characters (helm release names)',
      options.release,
      'api-platform',
    );
  }
  if (!options.chart) throw new InputError('chart', 'is required with strategy helm', undefined, './charts/api');
  const valuesFiles = (options.valuesFiles ?? []).map((file) => {
    const resolved = resolveInWorkspace(file, rt.workspace);
    if ('problem' in resolved) throw new InputError('helm-values', resolved.problem, file, 'values/production.yaml');
    return resolved.path;
  });
  const set = Object.entries(options.set ?? {});
  for (const [key, value] of set) if (SECRET_KEY.test(key) && value !== '') rt.mask(value);

  const release: HelmReleaseReport = {
    release: options.release,
    namespace,
    chart: options.chart,
    previousRevision: undefined,
    revision: undefined,
    commands: [],
  };
  const helm = async (args: string[], allowFail = false) => {
    release.commands.push([helmBin, ...args].map((arg) => rt.redact(arg)));
    let result: Awaited<ReturnType<ExecFunction>>;
    try {
      result = await exec(helmBin, args, {
        signal: rt.signal,
        env: { ...process.env, ...options.env },
        log: rt.log,
        mask: rt.redact,
        // JSON answers are parsed, not read: they stay out of the log.
        silent: args.includes('-o'),
      });
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') {
        throw new UserError(`helm was not found (looked for "${helmBin}"): strategy helm needs the helm CLI`, {
          hint: 'Install it in an earlier step: - uses: azure/setup-helm@v4',
        });
      }
      throw error;
    }
    if (result.exitCode !== 0 && !allowFail) {
      throw new UserError(
        `helm ${args[0]} failed (exit ${result.exitCode}): ${rt.redact(lastLines(result.stderr || result.stdout))}`,
      );
    }
    return result;
  };
  const values = [
    ...valuesFiles.flatMap((file) => ['-f', file]),
    ...set.flatMap(([key, value]) => ['--set', `${key}=${value}`]),
  ];
  // helm lint has no --version (it reads a chart on disk); template and upgrade fetch that version.
  const common = [...values, ...(options.version ? ['--version', options.version] : [])];
  const timeoutArg = `${Math.max(1, Math.ceil(options.timeoutMs / 1000))}s`;

  await helm(['version', '--short']);
  const history = await helm(['history', options.release, '--namespace', namespace, '-o', 'json'], true);
  // helm numbers a new revision one past the highest so far (failed ones included).
  let highest = 0;
  if (history.exitCode === 0) {
    const entries = parseJson<HistoryEntry[]>(history.stdout, 'helm history') ?? [];
    const deployed = entries.filter((entry) => entry.status === 'deployed');
    const previous = deployed.at(-1) ?? entries.at(-1);
    release.previousRevision = previous?.revision;
    release.previousChartVersion = chartVersionOf(previous?.chart);
    release.previousAppVersion = previous?.app_version || undefined;
    highest = Math.max(0, ...entries.map((entry) => entry.revision).filter(Number.isInteger));
  } else if (!/not found/i.test(history.stderr)) {
    throw new UserError(`helm history failed (exit ${history.exitCode}): ${rt.redact(lastLines(history.stderr))}`);
  }
  mark(
    release.previousRevision === undefined
      ? `Release ${options.release} is new in ${namespace}`
      : `Release ${options.release} is at revision ${release.previousRevision}`,
  );
  let rendered: string | undefined;
  if (options.lint) {
    const local = existsSync(isAbsolute(options.chart) ? options.chart : join(rt.workspace, options.chart));
    if (local) await helm(['lint', options.chart, ...values]);
    else {
      rt.log.warning(
        `helm lint reads only a chart on disk; ${options.chart} is checked with helm template alone (to lint it, helm pull it in an earlier step and give its folder as chart)`,
      );
    }
    rendered = (await helm(['template', options.release, options.chart, '--namespace', namespace, ...common])).stdout;
    mark(local ? 'helm lint and helm template passed' : 'helm template passed (lint needs a chart on disk)');
  }
  let workloads: Tracked[] = [];
  await checkAnalysis(rt, options, namespace, options.release, () => workloads);

  const outcome = (verdict: DeployOutcome['verdict'], extra: Partial<DeployOutcome> = {}): DeployOutcome => ({
    strategy: 'helm',
    verdict,
    namespace,
    app: options.app ?? options.release,
    objects: [],
    workloads: workloads.map((workload) => workload.report),
    helm: release,
    explanation: [],
    timeline,
    requests: client.requests - requestsBefore,
    settings: {
      ...(options.lint ? { 'helm-lint': 'true' } : {}),
      ...(options.version ? { 'chart-version': options.version } : {}),
    },
    ...extra,
  });

  const upgradeArgs = [
    'upgrade',
    '--install',
    options.release,
    options.chart,
    '--namespace',
    namespace,
    ...common,
    '--wait',
    '--timeout',
    timeoutArg,
  ];
  if (dryRun) {
    await helm([...upgradeArgs, '--dry-run']);
    mark('Dry run: helm rendered and validated the release; nothing was changed');
    return outcome('planned');
  }
  const plan: ChangePlan = {
    strategy: 'helm',
    namespace,
    app: options.app ?? options.release,
    workloads: workloadsOf(rendered, namespace).map((workload) => ({
      kind: workload.ref.kind,
      name: workload.ref.name,
      images: workload.report.after?.images ?? {},
    })),
    helm: {
      release: options.release,
      chart: options.chart,
      version: options.version,
      previousRevision: release.previousRevision,
      revision: highest + 1,
    },
  };
  if (options.holder) {
    session.state = await DeployState.begin(rt, client, {
      namespace,
      app: plan.app,
      strategy: 'helm',
      ...options.holder,
    });
  }
  await options.onBeforeChange?.(plan);
  // What the release runs now, read before the upgrade: the workloads' revisions and images before.
  const previous =
    release.previousRevision === undefined ? [] : await releaseWorkloads(client, namespace, options.release);
  session.workloads = previous.map((object) => track(object.kind as RolloutKind, object, object));
  await session.state?.save('deploying', session.workloads, { helm: release });
  mark(`helm upgrade --install ${options.release} ${options.chart}`);
  const upgrade = await helm(upgradeArgs, true);
  const status = await readStatus(helm, options.release, namespace, release);
  workloads = workloadsOf(status?.manifest, namespace);
  for (const workload of workloads) {
    const before = previous.find(
      (object) => object.kind === workload.ref.kind && object.metadata?.name === workload.ref.name,
    );
    workload.before = before;
    workload.report.before = stateOf(before);
  }
  session.workloads = workloads;

  if (upgrade.exitCode !== 0) {
    const why = `helm upgrade failed (exit ${upgrade.exitCode}): ${rt.redact(lastLines(upgrade.stderr || upgrade.stdout))}`;
    mark(why);
    const waited = await waitAll(rt, client, workloads, 1);
    return rollbackTo(why, { explanation: waited.explanation });
  }
  mark(`Release ${options.release} is at revision ${release.revision} (${release.status ?? 'unknown'})`);
  // helm --wait already waited; this reads each workload's rollout as kubectl would report it.
  const waited = await waitAll(rt, client, workloads, options.timeoutMs);
  if (waited.failed.length > 0) {
    return rollbackTo(
      `${waited.failed.map((w) => `${w.ref.kind.toLowerCase()}/${w.ref.name}`).join(', ')} did not roll out: ${waited.failed[0]!.report.message}`,
      { explanation: waited.explanation },
    );
  }
  if (options.analysis?.length && options.monitorMs)
    await session.state?.save('monitoring', workloads, { helm: release });
  const analysis = await monitor(rt, options, namespace, options.app ?? options.release, workloads);
  if (analysis !== undefined) mark(`Monitoring: ${analysis.verdict}: ${analysis.reason}`);
  if (analysis?.verdict === 'fail') return rollbackTo(`Monitoring failed: ${analysis.reason}`, { analysis });
  if (analysis?.verdict === 'inconclusive') {
    rt.log.warning(`Monitoring was inconclusive, the release stays: ${analysis.reason}`);
  }
  return outcome('deployed', analysis ? { analysis } : {});

  async function rollbackTo(reason: string, extra: Partial<DeployOutcome>): Promise<DeployOutcome> {
    if (options.undoOnFailure === false) return outcome('failed', { ...extra, failure: reason });
    if (release.previousRevision === undefined) {
      return outcome('failed', {
        ...extra,
        failure: `${reason}\nThe release had no earlier revision to roll back to; remove it with: helm uninstall ${options.release} --namespace ${namespace}`,
      });
    }
    mark(`helm rollback ${options.release} ${release.previousRevision}: ${reason.split('\n')[0]}`);
    const failedRevision = release.revision;
    const rolled = await helm(
      [
        'rollback',
        options.release,
        String(release.previousRevision),
        '--namespace',
        namespace,
        '--wait',
        '--timeout',
        timeoutArg,
      ],
      true,
    );
    const after = await readStatus(helm, options.release, namespace, release);
    release.rollbackRevision = release.revision;
    release.revision = failedRevision;
    for (const workload of workloads) {
      if (workload.report.status !== 'failed')
        workload.report.status = rolled.exitCode === 0 ? 'undone' : 'undo-failed';
    }
    if (rolled.exitCode !== 0) {
      return outcome('failed', {
        ...extra,
        failure: `${reason}\nhelm rollback failed (exit ${rolled.exitCode}): ${rt.redact(lastLines(rolled.stderr))}`,
      });
    }
    const restored = workloadsOf(after?.manifest, namespace);
    const states = await waitAll(rt, client, restored, options.timeoutMs);
    for (const workload of workloads) {
      const back = restored.find((item) => item.ref.name === workload.ref.name && item.ref.kind === workload.ref.kind);
      if (back) {
        // Before the deploy's state when it was read; else the failed revision, so the row shows what went back.
        workload.report.before ??= workload.report.after;
        workload.report.after = back.report.after;
        workload.report.status = back.report.status === 'rolled-out' ? 'undone' : 'undo-failed';
        workload.report.message = `back to release revision ${release.previousRevision}: ${back.report.message}`;
      }
    }
    return outcome(states.failed.length > 0 ? 'failed' : 'rolled-back', {
      ...extra,
      failure: `${reason}\nRolled back release ${options.release} to revision ${release.previousRevision} (now revision ${release.rollbackRevision}).`,
    });
  }
}

async function readStatus(
  helm: (args: string[], allowFail?: boolean) => Promise<{ exitCode: number; stdout: string }>,
  name: string,
  namespace: string,
  release: HelmReleaseReport,
): Promise<StatusJson | undefined> {
  const result = await helm(['status', name, '--namespace', namespace, '-o', 'json'], true);
  if (result.exitCode !== 0) return undefined;
  const status = parseJson<StatusJson>(result.stdout, 'helm status');
  release.revision = status?.version;
  release.status = status?.info?.status;
  release.chartVersion = status?.chart?.metadata?.version;
  release.appVersion = status?.chart?.metadata?.appVersion;
  return status;
}

/** `helm history`'s chart column is `<name>-<version>`: the version. */
function chartVersionOf(chart: string | undefined): string | undefined {
  return chart?.match(/^.+?-(v?\d+\.\d+.*)$/)?.[1];
}

/** The release's workloads on the cluster now: helm marks what it installs with its release annotations. */
async function releaseWorkloads(client: HelmOptions['client'], namespace: string, name: string): Promise<KubeObject[]> {
  const found: KubeObject[] = [];
  for (const kind of ROLLOUT_KINDS) {
    const list = await client.list(kind, { namespace });
    for (const object of list.items) {
      const annotations = object.metadata?.annotations ?? {};
      if (annotations['meta.helm.sh/release-name'] !== name) continue;
      if ((annotations['meta.helm.sh/release-namespace'] ?? namespace) !== namespace) continue;
      found.push({ ...object, kind });
    }
  }
  return found;
}

/** The Deployments, StatefulSets and DaemonSets in a release's manifest. */
function workloadsOf(manifest: string | undefined, namespace: string): Tracked[] {
  if (!manifest) return [];
  const found: Tracked[] = [];
  for (const document of parseAllDocuments(manifest) as ReturnType<typeof parseAllDocuments> & unknown[]) {
    const object = document.toJS() as KubeObject | null;
    if (!object || !isRolloutKind(object.kind) || !object.metadata?.name) continue;
    const placed = { ...object, metadata: { ...object.metadata, namespace: object.metadata.namespace ?? namespace } };
    found.push(track(object.kind as RolloutKind, undefined, placed));
  }
  return found;
}

function parseJson<T>(text: string, what: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new UserError(`${what} did not print JSON: ${text.slice(0, 200)}`);
  }
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-5).join('\n');
}
