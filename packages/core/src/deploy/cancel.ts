/**
 * The post step of a rolling or helm deploy whose main step did not finish (the job was cancelled, the
 * runner lost, or an error stopped it) while the record still says deploying or monitoring: undo what
 * the record says was changed, as the main step would have after a failed rollout, and hand the lease back.
 */
import { UserError } from '../errors';
import { type ExecFunction, execCommand } from '../exec';
import type { KubeClient } from '../kube/client';
import type { Runtime } from '../runtime/port';
import type { RunIdentity } from '../state/run-identity';
import { withHelmKubeconfig } from './helm';
import { type DeployRecord, DeployState, UNFINISHED_DEPLOY_PHASES } from './state';
import { startTimeline } from './timeline';
import type { DeployOutcome, HelmReleaseReport } from './types';
import { type Tracked, undoAll, waitAll } from './watch';

export interface CancelledDeployOptions {
  client: KubeClient;
  /** Where the main step kept the record (it saves the namespace it resolved). */
  namespace: string;
  app: string;
  /** The same run's identity as the main step: the lease it could not hand back is this step's to take. */
  holder: RunIdentity;
  /** For the undo's rollout (and helm rollback's --timeout). */
  timeoutMs: number;
  /** helm binary, exec and env as for runHelm. */
  helm?: string | undefined;
  exec?: ExecFunction | undefined;
  env?: Record<string, string> | undefined;
}

/**
 * Undoes the deploy the record describes. Undefined when there is nothing to undo (no record, or the deploy
 * had ended). A lease another run holds now is a UserError: that run owns the app.
 */
export async function undoCancelledDeploy(
  rt: Runtime,
  options: CancelledDeployOptions,
): Promise<DeployOutcome | undefined> {
  const { client, namespace, app } = options;
  const requestsBefore = client.requests;
  const state = await DeployState.take(rt, client, { namespace, app, strategy: 'rolling', ...options.holder });
  try {
    const record = state.record;
    if (record === undefined || !UNFINISHED_DEPLOY_PHASES.includes(record.phase)) {
      rt.log.info(
        `Nothing to undo: the ${record?.strategy ?? ''} deploy of ${app} is ${record?.phase ?? 'not recorded'}`,
      );
      return undefined;
    }
    state.adopt(record.strategy);
    const { entries: timeline, mark } = startTimeline(rt);
    const workloads = trackedOf(record);
    const stopped = `the job stopped while the ${record.strategy} deploy was ${record.phase}${record.reason ? ` (${record.reason})` : ''}`;
    mark(`Undoing the ${record.strategy} deploy of ${app}: ${stopped}`);
    let verdict: DeployOutcome['verdict'];
    let failure: string;
    let helm: HelmReleaseReport | undefined;
    if (record.strategy === 'rolling') {
      const { undone, problems } = await undoAll(rt, client, workloads, options.timeoutMs);
      const names = undone.map((w) => `${w.ref.kind.toLowerCase()}/${w.ref.name}`).join(', ');
      const created = workloads
        .filter((w) => w.before === undefined)
        .map((w) => `${w.ref.kind.toLowerCase()}/${w.ref.name}`);
      verdict = problems.length === 0 && undone.length > 0 ? 'rolled-back' : 'failed';
      failure = [
        `Undone by the post step: ${stopped}.`,
        undone.length > 0 ? `Rolled back ${names} to the revision before the deploy.` : 'Nothing was rolled back.',
        created.length > 0 ? `Left in place (created by the deploy, no earlier revision): ${created.join(', ')}.` : '',
        problems.length > 0 ? `The undo did not finish: ${problems.join('; ')}` : '',
      ]
        .filter(Boolean)
        .join(' ');
    } else {
      ({ verdict, failure, helm } = await rollbackRelease(rt, options, record, workloads, stopped));
    }
    mark(failure);
    const outcome: DeployOutcome = {
      strategy: record.strategy,
      verdict,
      failure,
      namespace,
      app,
      objects: [],
      workloads: workloads.map((workload) => workload.report),
      ...(helm ? { helm } : {}),
      explanation: [],
      timeline,
      requests: client.requests - requestsBefore,
    };
    await state.settle(outcome, workloads);
    return outcome;
  } finally {
    await state.release();
  }
}

/** The record's workloads as the undo takes them: the state before (revision, images, template) and after. */
function trackedOf(record: DeployRecord): Tracked[] {
  return record.workloads.map((workload) => {
    const ref = { kind: workload.kind, namespace: record.namespace, name: workload.stable };
    return {
      ref,
      // undoAll reads only the template (StatefulSets, DaemonSets) and whether there was anything before.
      before: workload.created ? undefined : { spec: { template: workload.templateBefore } },
      report: {
        ...ref,
        before: workload.created ? undefined : { revision: workload.stableRevision, images: workload.stableImages },
        after: { revision: workload.revision, images: workload.canaryImages },
        status: workload.status,
        message: '',
      },
    };
  });
}

async function rollbackRelease(
  rt: Runtime,
  options: CancelledDeployOptions,
  record: DeployRecord,
  workloads: Tracked[],
  stopped: string,
): Promise<{ verdict: DeployOutcome['verdict']; failure: string; helm: HelmReleaseReport }> {
  const release = record.helm;
  if (release === undefined) throw new UserError(`The record of ${record.app} names no helm release to roll back`);
  const helm: HelmReleaseReport = {
    release: release.release,
    namespace: record.namespace,
    chart: release.chart,
    previousRevision: release.previousRevision,
    revision: release.revision,
    commands: [],
  };
  if (release.previousRevision === undefined) {
    return {
      verdict: 'failed',
      helm,
      failure: `${stopped}; the release had no earlier revision to roll back to, so it is left as it is; remove it with: helm uninstall ${release.release} --namespace ${record.namespace}`,
    };
  }
  const args = [
    'rollback',
    release.release,
    String(release.previousRevision),
    '--namespace',
    record.namespace,
    '--wait',
    '--timeout',
    `${Math.max(1, Math.ceil(options.timeoutMs / 1000))}s`,
  ];
  const bin = options.helm ?? 'helm';
  helm.commands.push([bin, ...args]);
  const result = await withHelmKubeconfig({ client: options.client, env: options.env }, ({ env }) =>
    (options.exec ?? execCommand)(bin, args, {
      signal: rt.signal,
      env: { ...process.env, ...env },
      log: rt.log,
      mask: rt.redact,
    }),
  );
  if (result.exitCode !== 0) {
    for (const workload of workloads) workload.report.status = 'undo-failed';
    return {
      verdict: 'failed',
      helm,
      failure: `The post step could not undo: ${stopped}; helm rollback exited ${result.exitCode}: ${rt.redact(result.stderr.trim().split('\n').slice(-3).join('\n'))}. The release is still at revision ${release.revision ?? 'unknown'}`,
    };
  }
  const waited = await waitAll(rt, options.client, workloads, options.timeoutMs);
  for (const workload of workloads) {
    if (workload.report.status === 'rolled-out') workload.report.status = 'undone';
    else workload.report.status = 'undo-failed';
  }
  return {
    verdict: waited.failed.length > 0 ? 'failed' : 'rolled-back',
    helm,
    failure: `Undone by the post step: ${stopped}. Rolled back release ${release.release} to revision ${release.previousRevision}.`,
  };
}
