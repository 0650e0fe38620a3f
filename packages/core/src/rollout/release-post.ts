/**
 * The post step of a release whose main step did not finish (cancelled, runner lost, crashed): put the app
 * back (`on-cancel: abort`, the default) or say what stays (`leave`). A canary or blue-green is aborted under
 * the Lease the main step held (same holder), a rolling or helm deploy undone, a release without a cluster
 * gets its abort command. Nothing happens when the main step finished or never began changing anything.
 */

import { resolveNamespace } from '../kube/inputs';
import type { Runtime } from '../runtime/port';
import { RolloutLease } from '../state/lease';
import { runIdentity } from '../state/run-identity';
import { abortUnderLease } from './abort-in-flight';
import { DeploymentStatus } from './deployment-status';
import { undoUnfinishedDeploy } from './in-place-release';
import { abortWithoutCluster } from './no-cluster-release';
import type { ReleaseInputs } from './release-inputs';
import { connectCluster, releaseLeaseOptions } from './release-lease';
import type { ReleaseResult, RolloutReleaseResult } from './release-result';
import { unfinishedRelease } from './run-state';
import { leaseHeldNote } from './unfinished-note';

export async function finishUnfinishedRelease(rt: Runtime, inputs: ReleaseInputs): Promise<ReleaseResult | undefined> {
  const unfinished = unfinishedRelease(rt);
  if (unfinished === undefined) return undefined;
  if (unfinished.mode === 'command') return abortWithoutCluster(rt, inputs, unfinished.app);
  if (unfinished.mode !== undefined) return undoUnfinishedDeploy(rt, inputs, { ...unfinished, mode: unfinished.mode });
  return abortUnfinishedRollout(rt, inputs, unfinished.app);
}

async function abortUnfinishedRollout(
  rt: Runtime,
  inputs: ReleaseInputs,
  app: string,
): Promise<RolloutReleaseResult | undefined> {
  const client = await connectCluster(rt, inputs);
  const namespace = resolveNamespace(inputs.namespace, client.contextNamespace);
  const { holder } = runIdentity(rt.env);
  if (inputs['on-cancel'] === 'leave') {
    const held = await leaseHeldNote(client, namespace, app, holder);
    rt.log.warning(`The rollout of ${app} did not finish; on-cancel: leave keeps it as it is (see its record)${held}`);
    return undefined;
  }
  // The same run's holder identity: the lease the cancelled main step still holds is ours to take and release.
  let lease: RolloutLease;
  try {
    // Never forced here: a Lease another run took since is that run's.
    lease = await RolloutLease.acquire(client, {
      ...releaseLeaseOptions(rt, inputs, { namespace, app }),
      force: false,
    });
  } catch (error) {
    // Another run took over after our lease expired: the app is its to change now.
    rt.log.warning(`The rollout of ${app} was not aborted: ${(error as Error).message}`);
    return undefined;
  }
  let outcome: RolloutReleaseResult['outcome'] | undefined;
  try {
    outcome = await abortUnderLease(rt, lease, client, {
      namespace,
      app,
      reason: 'Aborted by the post step: the job was cancelled or failed before the rollout finished.',
      timeoutMs: inputs.timeout,
    });
  } finally {
    await lease.release();
    rt.log.info(`Lease deploy-actions-${app} handed back: another run (or action: abort) may go on at once.`);
  }
  if (outcome === undefined) return undefined;
  rt.log.warning(outcome.reason);
  const status = await DeploymentStatus.reopen(rt, inputs);
  await status.settleRollout(outcome);
  return { kind: 'rollout', outcome, deployment: status.summary(), notes: [] };
}
