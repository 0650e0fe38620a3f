/**
 * `strategy: rolling` and `strategy: helm`: the new version replaces the running one in place (core/deploy:
 * server-side apply or set images, or helm upgrade; wait, monitor, undo), under the app's Lease and record
 * as a canary keeps them, recorded on GitHub before the first change.
 */

import { undoCancelledDeploy } from '../deploy/cancel';
import { runHelm } from '../deploy/helm';
import { runRolling } from '../deploy/rolling';
import type { ChangePlan, DeployOutcome } from '../deploy/types';
import { resolveNamespace } from '../kube/inputs';
import type { Runtime } from '../runtime/port';
import { runIdentity } from '../state/run-identity';
import { DeploymentStatus } from './deployment-status';
import type { ReleaseInputs } from './release-inputs';
import { connectCluster } from './release-lease';
import type { InPlaceReleasePlan } from './release-plan';
import type { InPlaceReleaseResult } from './release-result';
import { markUnfinished } from './run-state';
import { leaseHeldNote } from './unfinished-note';

export async function deployInPlace(rt: Runtime, plan: InPlaceReleasePlan): Promise<InPlaceReleaseResult> {
  const inputs = plan.inputs;
  const client = await connectCluster(rt, inputs);
  const status = await DeploymentStatus.open(rt, inputs);
  const common = {
    client,
    namespace: inputs.namespace,
    app: inputs.app,
    analysis: plan.analysis,
    monitorMs: inputs.monitor,
    timeoutMs: inputs.timeout,
    dryRun: inputs['dry-run'],
    // The app's lease and record, as canaries keep them (taken before the first change).
    holder: runIdentity(rt.env),
    // Every input is checked by now: record the release on GitHub before the first change.
    onBeforeChange: async (change: ChangePlan) => {
      // From here on a cancelled job's post step undoes the deploy (the record says what changed).
      markUnfinished(rt, { app: change.app, mode: change.strategy, namespace: change.namespace });
      await status.start(change, `${change.strategy} of ${change.helm ? change.helm.release : change.app}`);
    },
  };
  const outcome = await status.track(() =>
    plan.strategy === 'rolling'
      ? runRolling(rt, {
          ...common,
          manifests: inputs.manifests,
          images: inputs.images,
          valuesFile: inputs['values-file'],
          environment: inputs.environment,
          deployments: inputs.deployments,
          selector: inputs.selector,
          imagePullSecrets: inputs['image-pull-secrets'],
          prune: inputs.prune,
        })
      : runHelm(rt, {
          ...common,
          release: inputs.release ?? '',
          chart: inputs.chart ?? '',
          valuesFiles: inputs['helm-values'],
          set: inputs['helm-set'],
          lint: inputs['helm-lint'],
          version: inputs['chart-version'],
        }),
  );
  await status.settleDeploy(outcome);
  return { kind: 'in-place', outcome, deployment: status.summary() };
}

/** Post step of a rolling or helm deploy that did not finish: undo it (on-cancel: abort) or say what stays (leave). */
export async function undoUnfinishedDeploy(
  rt: Runtime,
  inputs: ReleaseInputs,
  unfinished: { app: string; mode: 'rolling' | 'helm'; namespace: string | undefined },
): Promise<InPlaceReleaseResult | undefined> {
  const { app } = unfinished;
  const client = await connectCluster(rt, inputs);
  // Where main kept the record: a manifest may have named another namespace than the input.
  const namespace = unfinished.namespace ?? resolveNamespace(inputs.namespace, client.contextNamespace);
  const identity = runIdentity(rt.env);
  if (inputs['on-cancel'] === 'leave') {
    const held = await leaseHeldNote(client, namespace, app, identity.holder);
    rt.log.warning(
      `The ${unfinished.mode} deploy of ${app} did not finish; on-cancel: leave keeps the new version as it is, not undone (record deploy-actions-${app} says how far it got)${held}`,
    );
    return undefined;
  }
  let outcome: DeployOutcome | undefined;
  try {
    outcome = await undoCancelledDeploy(rt, { client, namespace, app, holder: identity, timeoutMs: inputs.timeout });
  } catch (error) {
    // Another run took the lease after ours expired: the app is its to change now.
    rt.log.warning(`The deploy of ${app} was not undone: ${(error as Error).message}`);
    return undefined;
  }
  if (outcome === undefined) return undefined;
  rt.log.warning(outcome.failure ?? outcome.verdict);
  const status = await DeploymentStatus.reopen(rt, inputs);
  await status.fail(outcome.failure?.split('\n')[0] ?? outcome.verdict);
  return { kind: 'in-place', outcome, deployment: status.summary() };
}
