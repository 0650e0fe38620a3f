/**
 * rollback, mode `staged` (a reverse canary), for a problem found after a full promotion, when the old version
 * no longer runs. A client of the release engine (core/rollout): a release whose new version is the previous
 * template, through the same steps, routers (the stable Service pinned with isolateStable), parallel waits,
 * pod guard and analysis as a canary.
 *
 * 1. Per Deployment, the version to return to is chosen as `mode: kubernetes` would (`to-revision`, else the
 *    revision canary-promote's record says the stable had before it promoted the current release, else the
 *    previous one) and its ReplicaSet's pod template is read.
 * 2. That template runs as a temporary Deployment `<name>-canary` beside the current one (the canary's name and
 *    labels, so the same `router` and `router-config` as canary-promote's work unchanged).
 * 3. The router sends `steps` of the traffic to it (e.g. 25, 50), each held for `pause` with the `analysis`
 *    rules: the engine's canary steps.
 * 4. At 100 the engine's promotion gives the main Deployment that template (a JSON patch of `/spec/template`,
 *    what `kubectl rollout undo` restores), the router's promote sends traffic back to it, and the temporary
 *    Deployment is deleted. The record then says `rolled-back`.
 *
 * Abort (a failed step, pods that never become ready, an API failure, or `mode: in-flight` from another run):
 * the engine's abort puts 100% of the traffic back on the main Deployment, which still runs the current version
 * untouched; the temporary Deployment is then deleted. The run holds the app's lease (every write fenced by it)
 * and keeps canary-promote's state record, so no release starts meanwhile and `mode: in-flight` can abort a run
 * that died.
 *
 * Deployments on different tags keep their own versions (the record joins them, `v1.5+v3.3`, as canary-promote's
 * does); queries by version are refused then, since `{{canary}}` stands for one version.
 */
import { UserError } from '../errors';
import type { CheckSpec } from '../http/spec';
import type { KubeClient } from '../kube/client';
import type { Deployment } from '../kube/types';
import { describeImages, findDeployments } from '../kube/workloads';
import type { MetricProvider } from '../metrics/provider';
import type { MetricSpec, ProviderConfig } from '../metrics/spec';
import { Rollout } from '../rollout/canary';
import type { Step } from '../rollout/plan';
import type { StepReport } from '../rollout/types';
import { joinVersions, sideDeployment } from '../rollout/workloads';
import type { TrafficRouter, TrafficTarget } from '../routing/types';
import type { Runtime } from '../runtime/port';
import { LeaseLostError, RolloutLease } from '../state/lease';
import { IN_FLIGHT_PHASES, RecordStore } from '../state/record';
import { runIdentity } from '../state/run-identity';
import { stateOf, type WorkloadRestore } from './report';
import { type StagedReport, stagedLog, stepOf } from './staged-report';
import { type Return, refuseVersionQueries, returnsOf } from './staged-returns';
import { verify } from './verify';

export interface StagedRequest {
  namespace: string;
  deployments?: readonly string[] | undefined;
  selector?: string | undefined;
  /** The record and lease key (canary-promote's `app`). */
  app: string;
  toRevision?: number | undefined;
  /** Weights back to the old version; the last one below 100 is held, then the old version is promoted. */
  steps: Step[];
  /** The `analysis` input as parsed (the metrics of steps without their own): errors name the input a metric came from. */
  analysis?: MetricSpec[] | undefined;
  router: { kind: string; config: unknown };
  makeRouter: (target: TrafficTarget) => TrafficRouter;
  reason?: string | undefined;
  triggeredBy?: string | undefined;
  dryRun: boolean;
  /** Limit for each wait on pods. */
  timeoutMs: number;
  /** HTTP checks run once the previous version serves everything (the smoke spec format). */
  verify?: CheckSpec | undefined;
  providerFor?: ((config: ProviderConfig) => MetricProvider) | undefined;
}

/** Run a staged rollback (or plan it, dry-run): see the top of this file. */
export async function rollbackStaged(rt: Runtime, client: KubeClient, request: StagedRequest): Promise<StagedReport> {
  const { namespace, app } = request;
  const log = stagedLog(rt, request);
  log.mark(
    `Staged rollback requested${request.triggeredBy ? ` by ${request.triggeredBy}` : ''}: ${request.reason ?? 'no reason given'}`,
  );
  // Everything is checked before the first write; every write once the Lease is taken is fenced by it.
  let lease: RolloutLease | undefined;
  const fenced = client.fenced(() => lease?.check() ?? Promise.resolve());
  // Stables only: findDeployments refuses or leaves out the Deployments deploy-actions created beside them.
  const found = await findDeployments(client, { namespace, names: request.deployments, selector: request.selector });
  const store = await RecordStore.load(fenced, namespace, app);
  const previous = store.record;
  if (previous && IN_FLIGHT_PHASES.includes(previous.phase)) {
    throw new UserError(
      `A rollout of "${app}" is ${previous.phase} at ${previous.weight}% (${previous.stableVersion} → ${previous.canaryVersion}${previous.runUrl ? `, ${previous.runUrl}` : ''}): a staged rollback needs a finished release`,
      { hint: 'use mode: in-flight to abort the rollout in flight' },
    );
  }
  const { returns, skipped } = await returnsOf(client, found, request.toRevision, previous);
  if (returns.length === 0) {
    log.mark('Every Deployment already runs the version to return to');
    return log.report('skipped', skipped);
  }
  refuseVersionQueries(request, returns);
  const currentVersion = joinVersions(returns.map((entry) => entry.stableVersion));
  const previousVersion = joinVersions(returns.map((entry) => entry.version));
  const rollout = engineFor(rt, fenced, store, request, {
    lease: () => lease,
    onStep: async (step) => {
      log.mark(`Step ${step.index + 1}: ${step.weight}% to ${previousVersion} (${step.routing.join('; ')})`);
      log.steps.push(await stepOf(client, namespace, returns, step, rt.clock.now()));
    },
  });
  await rollout.prepareTemplates(returns, {
    reason: `Staged rollback to ${previousVersion}: ${request.reason ?? 'no reason given'}`,
  });
  const weights = request.steps.map((step) => step.weight).filter((weight) => weight < 100);
  log.mark(
    `Planned: ${returns.map((entry) => `deployment/${entry.name} ${currentVersion} → revision ${entry.target.revision}`).join(', ')}; traffic back in steps ${[...weights, 100].join('% → ')}%`,
  );
  if (request.dryRun) {
    const lines = await dryRun(client, request, returns, weights);
    const planned = returns.map(
      (entry): WorkloadRestore => ({
        name: entry.name,
        outcome: 'planned',
        before: entry.before,
        after: entry.target,
        message: 'dry run: nothing changed',
      }),
    );
    return log.report('planned', [...planned, ...skipped], { plan: lines });
  }
  lease = await RolloutLease.acquire(client, {
    namespace,
    app,
    ...runIdentity(rt.env),
    clock: rt.clock,
    deployments: returns.map((entry) => entry.name),
    signal: rt.signal,
    log: (line) => rt.log.warning(line),
  });
  try {
    log.mark(
      `Starting ${returns.map((entry) => `deployment/${entry.side} (${describeImages(entry.target.images)})`).join(', ')} beside the current version`,
    );
    const outcome = await rollout.start().catch(async (error: unknown) => {
      throw await stopped(rollout, error, returns, previousVersion, log.mark);
    });
    log.analyses = outcome.analyses;
    if (outcome.result === 'aborted') {
      const why = outcome.stepFailure ?? outcome.reason;
      const aborted = await removeAfterAbort(rollout, returns, why, log.mark);
      return log.report('aborted', [...aborted, ...skipped]);
    }
    const restored = await rolledBack(rt, client, request, rollout, returns, previousVersion, log);
    const verification = request.verify ? await verify(rt, client, request, request.verify, log.mark) : undefined;
    return log.report('rolled-back', [...restored, ...skipped], verification ? { verification } : {});
  } finally {
    await lease.release();
  }
}

/** The release engine for a staged rollback: the canary strategy, abort on a failed step, no baseline. */
function engineFor(
  rt: Runtime,
  client: KubeClient,
  store: RecordStore,
  request: StagedRequest,
  hooks: { lease: () => RolloutLease | undefined; onStep: (step: StepReport) => Promise<void> },
): Rollout {
  return new Rollout(rt, client, store, {
    strategy: 'canary',
    namespace: request.namespace,
    steps: request.steps,
    onStepFailure: 'abort',
    baseline: false,
    router: request.router,
    makeRouter: request.makeRouter,
    // The replica counts decide the shares a staged rollback can give: the nearest, said in the log.
    weightRounding: 'nearest',
    rolloutTimeoutMs: request.timeoutMs,
    holdLease: (ms) => hooks.lease()?.hold(ms) ?? Promise.resolve(),
    ...(request.providerFor ? { providerFor: request.providerFor } : {}),
    onStep: hooks.onStep,
  });
}

/** Aborted by the engine (traffic back on the current version, the temporary Deployments at 0): those go too. */
async function removeAfterAbort(
  rollout: Rollout,
  returns: Return[],
  why: string,
  mark: (event: string) => void,
): Promise<WorkloadRestore[]> {
  let state = 'Traffic is back on the current version and the temporary Deployments are removed';
  try {
    await rollout.finalize();
    await rollout.settle('aborted', `Staged rollback aborted because ${why}`);
  } catch (error) {
    if (error instanceof LeaseLostError) throw error;
    state = `Traffic is back on the current version; removing the temporary Deployments failed (${(error as Error).message}): delete ${returns.map((entry) => entry.side).join(', ')}`;
  }
  mark(`Aborted because ${why}. ${state}`);
  return returns.map((entry) => ({
    name: entry.name,
    outcome: 'failed',
    before: entry.before,
    after: entry.before,
    message: `aborted: ${why}`,
  }));
}

/** Promoted by the engine: the 100% step reported, the record settled as rolled-back, what each Deployment runs now. */
async function rolledBack(
  rt: Runtime,
  client: KubeClient,
  request: StagedRequest,
  rollout: Rollout,
  returns: Return[],
  previousVersion: string,
  log: ReturnType<typeof stagedLog>,
): Promise<WorkloadRestore[]> {
  const { namespace } = request;
  log.mark(
    `100%: ${returns.map((entry) => `deployment/${entry.name} (revision ${entry.target.revision}'s template)`).join(', ')} run ${previousVersion}; temporary Deployments removed`,
  );
  const last = { index: log.steps.length, weight: 100, actual: 100, routing: [] };
  log.steps.push(
    await stepOf(
      client,
      namespace,
      returns,
      { ...last, verdict: 'skipped', reason: 'previous version promoted' },
      rt.clock.now(),
    ),
  );
  await rollout.settle(
    'rolled-back',
    `Rolled back to ${previousVersion} in steps${request.triggeredBy ? ` by ${request.triggeredBy}` : ''}: ${request.reason ?? 'no reason given'}`,
  );
  const restored: WorkloadRestore[] = [];
  for (const entry of returns) {
    const now = await client.get<Deployment>('Deployment', { namespace, name: entry.name });
    restored.push({
      name: entry.name,
      outcome: 'restored',
      before: entry.before,
      after: stateOf(now),
      message: `back to revision ${entry.target.revision} in ${request.steps.length} step(s)`,
    });
  }
  return restored;
}

/** Dry run: the temporary Deployment, the router's moves and the template patch, each sent with dryRun=All. */
async function dryRun(client: KubeClient, request: StagedRequest, returns: Return[], weights: number[]) {
  const { namespace, app } = request;
  const lines: string[] = [];
  for (const entry of returns) {
    const side = sideDeployment(
      entry.stable,
      { role: 'canary', name: entry.side, version: entry.version, template: entry.template },
      app,
      0,
    );
    await client.patch('Deployment', { namespace, name: entry.side }, side, 'apply', { dryRun: true, force: true });
    lines.push(
      `create Deployment ${entry.side} (revision ${entry.target.revision}: ${describeImages(entry.target.images)})`,
    );
    const router = request.makeRouter({
      namespace,
      app,
      stable: { deployment: entry.name },
      canary: { deployment: entry.side },
    });
    for (const weight of weights) for (const line of await router.plan(weight)) lines.push(`at ${weight}%: ${line}`);
    const patch = [{ op: 'replace', path: '/spec/template', value: entry.template }];
    await client.patch('Deployment', { namespace, name: entry.name }, patch, 'json', { dryRun: true });
    lines.push(
      `at 100%: Deployment ${entry.name} takes revision ${entry.target.revision}'s template, then ${entry.side} is deleted`,
    );
  }
  return lines;
}

/** The run stopped (API failure, cancelled, the promotion did not finish): what state it left, as one error. */
async function stopped(
  rollout: Rollout,
  error: unknown,
  returns: Return[],
  previousVersion: string,
  mark: (event: string) => void,
): Promise<Error> {
  if (error instanceof LeaseLostError) return error;
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const message = (cause instanceof Error ? cause.message : String(cause)).replace(/\.+$/, '');
  const names = returns.map((entry) => entry.name).join(', ');
  const { phase, weight } = rollout.current;
  if (phase === 'promoting' || phase === 'promoted') {
    mark(`Returning ${names} to ${previousVersion} did not finish: ${message}`);
    return new UserError(
      `Returning ${names} to ${previousVersion} did not finish: ${message}. The record says phase ${phase}; the Deployments may be part-way to ${previousVersion}: run rollback with mode: in-flight to put them back on the version they ran before, or mode: kubernetes`,
      { cause: error },
    );
  }
  let state = `The record says phase ${phase} at ${weight}%; run rollback with mode: in-flight`;
  if (phase === 'aborted') {
    // The engine put traffic back and scaled the temporary Deployments to 0: they go, as after a failed step.
    const removed = await rollout.finalize().then(
      () => true,
      () => false,
    );
    state = `Traffic is back on the current version and the temporary Deployments are ${removed ? 'removed' : 'at 0'}`;
  }
  mark(`Aborted because the run stopped: ${message}. ${state}`);
  return new UserError(`Staged rollback stopped: ${message}. ${state}.`, { cause: error });
}
