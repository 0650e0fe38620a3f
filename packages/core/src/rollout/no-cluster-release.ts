/**
 * `router: command` without deployments or selector: the platform is outside Kubernetes, so no kubeconfig
 * is read and nothing in a cluster is touched. The same steps and analysis run through CommandRollout
 * (command.ts); there is no record and no Lease (see NO_CLUSTER_NOTE for what is kept instead).
 */
import { InputError } from '../errors';
import { type ExecFunction, loggedExec } from '../exec';
import { CommandRouter } from '../routing/command';
import { parseRouterConfig } from '../routing/config';
import type { CommandRouterConfig, RouterConfig } from '../routing/types';
import type { Runtime } from '../runtime/port';
import { CommandRollout, NO_CLUSTER_NOTE } from './command';
import { DeploymentStatus } from './deployment-status';
import type { ReleaseInputs } from './release-inputs';
import type { NoClusterReleasePlan } from './release-plan';
import { abortedByHand, type RolloutReleaseResult } from './release-result';
import { markUnfinished } from './run-state';
import { versionOf } from './workloads';

export async function releaseWithoutCluster(rt: Runtime, plan: NoClusterReleasePlan): Promise<RolloutReleaseResult> {
  const inputs = plan.inputs;
  const app = noClusterApp(rt, inputs);
  const version = noClusterVersion(rt, inputs);
  const rollout = new CommandRollout(rt, {
    app,
    namespace: inputs.namespace ?? 'default',
    version,
    steps: plan.traffic.steps,
    onStepFailure: inputs['on-step-failure'] as 'abort' | 'previous-step',
    router: commandRouter(rt, inputs, plan.router.config, app),
  });
  // Said in the summary (not in the reason: an abort's reason is the step's one error line).
  const notes = [NO_CLUSTER_NOTE, ...plan.notes];
  if (plan.action === 'start') {
    await rt.log.group('Check the inputs (no cluster)', () => rollout.prepare());
    if (inputs['dry-run'])
      return {
        kind: 'rollout',
        outcome: rollout.outcome('planned', 'Dry run: nothing was run.', await rollout.plan()),
        deployment: '',
        notes,
      };
  }
  const status = await DeploymentStatus.open(rt, inputs);
  markUnfinished(rt, { app, mode: 'command' });
  // An error finishes the step (DeploymentStatus.track): only a cancelled job leaves the abort command to the post step.
  const outcome = await status.track(
    async () => {
      if (plan.action === 'start') {
        await status.start(
          {
            app,
            namespace: inputs.namespace ?? '',
            strategy: 'canary',
            version,
            workloads: inputs.images ? [{ kind: 'command', name: app, images: inputs.images }] : [],
          },
          `canary of ${app} ${version} (router command)`,
        );
        return rollout.start();
      }
      // abort / promote of a release a start left paused: the same app and version, still in progress.
      await status.resume((payload) => payload['app'] === app && payload['version'] === version);
      return plan.action === 'promote' ? rollout.promote() : rollout.abort(abortedByHand(rt.env));
    },
    { finishedOnError: true },
  );
  await status.settleRollout(outcome);
  return { kind: 'rollout', outcome, deployment: status.summary(), notes };
}

/** Post step of a cancelled release without a cluster: the abort command, unless on-cancel: leave. */
export async function abortWithoutCluster(
  rt: Runtime,
  inputs: ReleaseInputs,
  app: string,
): Promise<RolloutReleaseResult | undefined> {
  if (inputs['on-cancel'] === 'leave') {
    rt.log.warning(
      `The release of ${app} did not finish; on-cancel: leave keeps the weight where the commands left it (no cluster: nothing else is held)`,
    );
    return undefined;
  }
  const config = parseRouterConfig('command', inputs['router-config']);
  const rollout = new CommandRollout(rt, {
    app,
    namespace: inputs.namespace ?? 'default',
    version: noClusterVersion(rt, inputs),
    steps: [],
    onStepFailure: 'abort',
    router: commandRouter(rt, inputs, config, app),
  });
  const outcome = await rollout.abort(
    'Aborted by the post step: the job was cancelled or failed before the release finished; the abort command ran.',
  );
  rt.log.warning(outcome.reason);
  const status = await DeploymentStatus.reopen(rt, inputs);
  await status.settleRollout(outcome);
  return { kind: 'rollout', outcome, deployment: status.summary(), notes: [NO_CLUSTER_NOTE] };
}

/** Commands run with the step's environment (its PATH finds the program), never through a shell. */
function execIn(rt: Runtime): ExecFunction {
  const exec = loggedExec(rt);
  return (file, args, options) => exec(file, args, { ...options, env: rt.env });
}

/** The release's key without Deployments: the `app` input, else the repository's name. */
function noClusterApp(rt: Runtime, inputs: ReleaseInputs): string {
  if (inputs.app) return inputs.app;
  const repo = (rt.env['GITHUB_REPOSITORY'] ?? '').split('/').pop() ?? '';
  const name = repo
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .slice(0, 42)
    .replace(/^-+|-+$/g, '');
  if (!name)
    throw new InputError('app', 'names the release when router command runs without deployments', undefined, 'market');
  return name;
}

/** The new version (`{{canary}}` in queries): the images' tag, else the tag the run is for, else the commit. */
function noClusterVersion(rt: Runtime, inputs: ReleaseInputs): string {
  if (inputs.images && Object.keys(inputs.images).length > 0) return versionOf(inputs.images, 'canary');
  const { GITHUB_REF_TYPE: type, GITHUB_REF_NAME: name, GITHUB_REF: ref, GITHUB_SHA: sha } = rt.env;
  if (type === 'tag' && name) return name;
  if (ref?.startsWith('refs/tags/')) return ref.slice('refs/tags/'.length);
  if (sha) return sha.slice(0, 7);
  throw new InputError(
    'images',
    "gives the new version ({{canary}} in queries); without a cluster it is the images' tag, else the run's tag or commit",
    undefined,
    'market=ghcr.io/nextgen/market:v2.1.0',
  );
}

function commandRouter(rt: Runtime, inputs: ReleaseInputs, config: RouterConfig, app: string): CommandRouter {
  const namespace = inputs.namespace ?? 'default';
  return new CommandRouter(
    config as CommandRouterConfig,
    { namespace, app, stable: { deployment: app }, canary: { deployment: `${app}-canary` } },
    { exec: execIn(rt), log: rt.log },
  );
}
