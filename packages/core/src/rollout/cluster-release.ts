/**
 * A canary or blue-green in a cluster: find the Deployments and the app's record, follow the recorded plan
 * (a later job), check everything against the cluster, then, under the app's Lease, record the release on
 * GitHub and run the Rollout state machine (canary.ts) for the action asked.
 */
import { InputError, UserError } from '../errors';
import { loggedExec } from '../exec';
import { resolveNamespace } from '../kube/inputs';
import type { Deployment } from '../kube/types';
import { findDeployments } from '../kube/workloads';
import { createRouter } from '../routing/create-router';
import { failedWith } from '../runtime/action';
import type { Runtime } from '../runtime/port';
import { IN_FLIGHT_PHASES, RecordStore, type RolloutRecord, readRolloutRecord } from '../state/record';
import { Rollout } from './canary';
import { DeploymentStatus } from './deployment-status';
import { previewChecks } from './preview-checks';
import { connectCluster, ReleaseLease, releaseLeaseOptions } from './release-lease';
import { planRelease, type RolloutReleasePlan } from './release-plan';
import { abortedByHand, type RolloutReleaseResult } from './release-result';
import { markUnfinished } from './run-state';
import type { RolloutOutcome, RolloutSettings } from './types';
import { imagesFor } from './workloads';

/** What one run of a release works with once the cluster is read. */
interface ClusterRelease {
  plan: RolloutReleasePlan;
  lease: ReleaseLease;
  namespace: string;
  /** The Deployments the inputs name (none for a later job that names none: the record's are used). */
  stables: Deployment[];
  app: string;
  store: RecordStore;
}

export async function releaseInCluster(rt: Runtime, plan: RolloutReleasePlan): Promise<RolloutReleaseResult> {
  const inputs = plan.inputs;
  // Every write of the release is fenced by the Lease (once taken): a run that lost it changes nothing more.
  const lease = new ReleaseLease(await connectCluster(rt, inputs));
  const client = lease.client;
  const namespace = resolveNamespace(inputs.namespace, client.contextNamespace);
  const stables =
    plan.action === 'start' || inputs.deployments?.length || inputs.selector
      ? await findDeployments(client, { namespace, names: inputs.deployments, selector: inputs.selector })
      : [];
  const app = inputs.app ?? stables[0]?.metadata?.name;
  if (app === undefined)
    throw new InputError(
      'deployments',
      'name the Deployments (or give app) so the rollout record can be found',
      undefined,
      'web',
    );
  const store = await RecordStore.load(client, namespace, app);
  try {
    return await runRolloutAction(rt, {
      plan: afterRecordRead(rt, plan, store.record),
      lease,
      namespace,
      stables,
      app,
      store,
    });
  } catch (error) {
    // The `phase` output after a failure: the record's phase now (read again: the run may have moved it).
    const record = await readRolloutRecord(client, namespace, app).catch(() => store.record);
    throw record ? failedWith(error, { phase: record.phase, weight: record.weight }) : error;
  }
}

/** The plan once the record is read: a later job's follows it (its secrets masked and its notes said here). */
function afterRecordRead(rt: Runtime, plan: RolloutReleasePlan, record: RolloutRecord | undefined): RolloutReleasePlan {
  if (record === undefined) return plan;
  const followed = planRelease(plan.inputs, record);
  if (followed.mode !== 'rollout' || !followed.followsRecord) return plan;
  for (const warning of followed.warnings) rt.log.warning(warning);
  for (const secret of followed.secrets) rt.mask(secret);
  for (const note of followed.notes) rt.log.info(note);
  // What the summary says after the outcome: the recorded plan's notes, else what this job's plan said.
  return followed.notes.length > 0 ? followed : { ...followed, notes: plan.notes };
}

async function runRolloutAction(rt: Runtime, release: ClusterRelease): Promise<RolloutReleaseResult> {
  const { plan, lease, namespace, stables, app, store } = release;
  const inputs = plan.inputs;
  // The Deployments the release touches: a live release of another app on one of them refuses this one.
  const touched = [
    ...new Set([
      ...stables.map((stable) => stable.metadata?.name ?? ''),
      ...(store.record?.workloads ?? []).map((w) => w.stable),
    ]),
  ].filter((name) => name !== '');
  const leaseOptions = releaseLeaseOptions(rt, inputs, { namespace, app, deployments: touched });
  const done = (outcome: RolloutOutcome, status?: DeploymentStatus): RolloutReleaseResult => ({
    kind: 'rollout',
    outcome,
    deployment: status?.summary() ?? '',
    notes: plan.notes,
  });

  if (plan.action === 'start') {
    const rollout = new Rollout(rt, lease.client, store, rolloutSettings(rt, release));
    await rt.log.group('Check the inputs against the cluster', () => rollout.prepare(stables, inputs.images ?? {}));
    if (inputs['dry-run']) return done(await rollout.plan());
    const status = await DeploymentStatus.open(rt, inputs);
    const perWorkload = imagesFor(stables, inputs.images ?? {});
    // The rollout's version: the one new tag, or the Deployments' different tags joined (v1.5+v3.3).
    const version = rollout.current.canaryVersion;
    return lease.holding(rt, leaseOptions, async () => {
      markUnfinished(rt, { app });
      const outcome = await status.track(async () => {
        const previous = store.record;
        // `start` again after a run died half-way resumes that rollout, so it keeps that run's Deployment too.
        if (previous && IN_FLIGHT_PHASES.includes(previous.phase) && previous.canaryVersion === version)
          await status.resumeRollout(previous);
        if (!status.recording)
          await status.start(
            {
              app,
              namespace,
              strategy: plan.strategy,
              version,
              workloads: stables.map((stable, index) => ({
                kind: 'Deployment',
                name: stable.metadata?.name ?? '',
                images: perWorkload[index]!,
              })),
            },
            `${plan.strategy} of ${app} ${version}`,
          );
        return rollout.start();
      });
      await status.settleRollout(outcome);
      return done(outcome, status);
    });
  }

  const record = store.record;
  if (!record)
    throw new UserError(
      `No rollout of "${app}" in namespace "${namespace}" to ${plan.action}: the record ConfigMap deploy-actions-${app} does not exist (start one with action: start)`,
    );
  const rollout = new Rollout(rt, lease.client, store, rolloutSettings(rt, release));
  await rollout.resume(record);
  if (inputs['dry-run'])
    return done(
      rollout.outcome(
        'planned',
        `Dry run: would ${plan.action} the rollout (phase ${record.phase}, ${record.weight}%).`,
      ),
    );
  const status = await DeploymentStatus.open(rt, inputs);
  return lease.holding(rt, leaseOptions, async () => {
    markUnfinished(rt, { app });
    const outcome = await status.track(async () => {
      // The Deployment `start` created, in whichever job that ran; a finished rollout has none in progress.
      if (IN_FLIGHT_PHASES.includes(record.phase)) await status.resumeRollout(record);
      switch (plan.action) {
        case 'continue':
          return rollout.continue();
        case 'promote':
          if (!IN_FLIGHT_PHASES.includes(record.phase))
            throw new UserError(`The rollout of "${app}" is ${record.phase}: nothing to promote`);
          return rollout.promote();
        case 'abort':
          if (record.phase === 'aborting') return rollout.finishAbort();
          return rollout.abort(abortedByHand(rt.env));
        default:
          return rollout.finalize();
      }
    });
    await status.settleRollout(outcome);
    return done(outcome, status);
  });
}

/** The Rollout's settings from the plan: the router is this job's (start) or the record's (a later job). */
function rolloutSettings(rt: Runtime, { plan, lease, namespace }: ClusterRelease): RolloutSettings {
  const inputs = plan.inputs;
  const router = plan.router!;
  const checks = inputs['preview-checks'];
  return {
    strategy: plan.strategy,
    namespace,
    steps: plan.traffic.steps,
    pauseAt: inputs['pause-at'],
    onStepFailure: inputs['on-step-failure'] as 'abort' | 'previous-step',
    baseline: inputs.baseline,
    postPromotion: plan.postPromotion,
    scaleDownDelay: plan.scaleDownDelay,
    ...(plan.recorded ? { plan: plan.recorded } : {}),
    previewChecks: checks ? previewChecks(rt, inputs, checks, namespace) : undefined,
    previewCheckNames: checks?.checks.map((check) => check.name),
    router: { kind: router.kind, config: router.config },
    makeRouter: (target) =>
      createRouter(router.kind, router.config, target, { client: lease.client, exec: loggedExec(rt), log: rt.log }),
    rolloutTimeoutMs: inputs.timeout,
    weightRounding: inputs['weight-rounding'] as 'exact' | 'nearest',
    holdLease: (ms: number) => lease.hold(ms),
  };
}
