/**
 * rollback, mode `github`: return to the last successful GitHub Deployment of
 * the environment. The history is read first (DeploymentRecorder.findRollbackTarget:
 * the active release, and the newest earlier one that reached `success` and was
 * never marked bad, whose payload names its images); then the images are put
 * back with the checks, waits and verification of the `image` mode. GitHub gets
 * a new Deployment for the restored version (`in_progress` before the first
 * cluster write, `success` or `failure` after), and the bad release is marked
 * `failure` then `inactive`, so the next lookup never returns to it.
 */
import { holdVirtualTime } from '../clock/quiescence';
import type { DeploymentPayload, DeploymentRecord, DeploymentRecorder, RollbackTarget } from '../github/deployments';
import { renderDeploymentSummary } from '../github/summary';
import type { KubeClient } from '../kube/client';
import { resolveNamespace } from '../kube/inputs';
import type { Runtime } from '../runtime/port';
import { type RollbackRequest, rollbackDeployments } from './deployments';
import { commonRequest, type RollbackInputs } from './inputs';
import { outcomeOfReport, type RollbackOutcome } from './outcome';
import type { RollbackReport } from './report';
import { selectedDeployments } from './select';

export type GitHubRollbackRequest = Omit<
  RollbackRequest,
  'mode' | 'images' | 'imagesSource' | 'hooks' | 'toVersion'
> & {
  /** The GitHub environment whose history is read and written. */
  environment: string;
};

export interface GitHubRollbackReport extends RollbackReport {
  github: {
    environment: string;
    /** The release undone (the active one), when there was one. */
    bad: { id: number; ref: string; sha: string } | undefined;
    /** The release returned to. */
    target: { id: number; ref: string; sha: string; createdAt: string; creator: string | undefined };
    images: Record<string, string>;
    /** The Deployment recorded for the restored version (not in a dry run). */
    recorded: DeploymentRecord | undefined;
    /** Set when GitHub could not be updated after the cluster was restored. */
    error: string | undefined;
  };
}

/**
 * The payload of the Deployment recorded for the restored version: the target's (so a later rollback can return
 * to it too), plus where it came from.
 */
function restoredPayload(found: RollbackTarget): DeploymentPayload {
  return {
    ...found.target.payload,
    rollback: { restored: found.target.id, ...(found.bad ? { undone: found.bad.id } : {}) },
  };
}

export async function rollbackGitHub(
  rt: Runtime,
  client: KubeClient,
  recorder: DeploymentRecorder,
  found: RollbackTarget,
  request: GitHubRollbackRequest,
): Promise<GitHubRollbackReport> {
  const { target, bad } = found;
  const who = request.triggeredBy ? ` by ${request.triggeredBy}` : '';
  const why = request.reason ?? 'no reason given';
  const description = `Rollback${who} to #${target.id} (${target.sha.slice(0, 7)}): ${why}`;
  let recorded: DeploymentRecord | undefined;
  let error: string | undefined;

  const start = async (mark: (event: string) => void) => {
    recorded = await recorder.start({
      environment: request.environment,
      sha: target.sha,
      description,
      payload: restoredPayload(found),
    });
    mark(`GitHub Deployment #${recorded.id} recorded for the restored version of #${target.id} (in progress)`);
  };

  const report = await rollbackDeployments(rt, client, {
    ...request,
    mode: 'github',
    images: found.images,
    imagesSource: `The images of GitHub Deployment #${target.id}`,
    hooks: {
      beforeWrites: start,
      afterRollout: async (outcome, mark) => {
        // The cluster is restored (or not) by now: a GitHub failure is reported, never thrown past the summary.
        try {
          if (recorded === undefined) await start(mark);
          if (bad !== undefined) {
            await recorder.markBad(bad.id, `Rolled back${who}: ${why}`);
            mark(`GitHub Deployment #${bad.id} (${bad.sha.slice(0, 7)}) marked failure, then inactive`);
          }
          if (outcome.result === 'failed') {
            const failed = outcome.workloads.filter((workload) => workload.outcome === 'failed');
            recorded = await recorder.fail(
              `Rollback did not finish: ${failed.map((workload) => workload.name).join(', ')}`,
            );
            mark(`GitHub Deployment #${recorded.id} marked failure`);
          } else {
            recorded = await recorder.succeed(undefined, description);
            mark(`GitHub Deployment #${recorded.id} marked success`);
          }
        } catch (caught) {
          error = (caught as Error).message;
          rt.log.warning(`GitHub Deployments could not be updated: ${error}`);
          mark(`GitHub Deployments could not be updated: ${error}`);
        }
      },
    },
  });

  const lines = [
    '### Restored from GitHub',
    '',
    `Environment \`${request.environment}\`: returned to Deployment #${target.id} (\`${target.sha.slice(0, 7)}\`, ${target.ref}, created ${target.createdAt}${target.creator ? ` by ${target.creator}` : ''}).`,
    bad
      ? report.result === 'planned'
        ? `Would mark #${bad.id} (\`${bad.sha.slice(0, 7)}\`) failure, then inactive, and record a new Deployment for the restored version.`
        : `#${bad.id} (\`${bad.sha.slice(0, 7)}\`) was the active release.`
      : 'No release of the environment was active.',
    '',
  ];
  if (error) lines.push(`**GitHub could not be updated:** ${error}`, '');
  rt.summary.append(lines.join('\n'));
  if (recorded) rt.summary.append(renderDeploymentSummary(recorded));

  return {
    ...report,
    github: {
      environment: request.environment,
      bad: bad ? { id: bad.id, ref: bad.ref, sha: bad.sha } : undefined,
      target: {
        id: target.id,
        ref: target.ref,
        sha: target.sha,
        createdAt: target.createdAt,
        creator: target.creator,
      },
      images: found.images,
      recorded,
      error,
    },
  };
}

/**
 * `mode: github` as the action runs it: the last successful GitHub Deployment of the environment (for the app:
 * the `app` input, else the first Deployment's name, as canary-promote records it) and its payload's images.
 * The namespace is the input's, else the payload's, else the kubeconfig context's; the Deployments are the
 * inputs', else those the payload's `deployment/container` keys name, else the app's own.
 */
export async function githubMode(
  rt: Runtime,
  client: KubeClient,
  values: RollbackInputs & { environment: string; token: string },
): Promise<RollbackOutcome> {
  // Loaded on first use: the other modes do not pay for the GitHub client.
  const { createDeploymentRecorder } = await holdVirtualTime(import('../github'));
  const recorder = createDeploymentRecorder(rt, values.token);
  const environment = values.environment;
  let app = values.app ?? values.deployments?.[0];
  if (app === undefined && values.selector) {
    const namespace = resolveNamespace(values.namespace, client.contextNamespace);
    app = (await selectedDeployments(client, namespace, values))[0];
  }
  const found = await recorder.findRollbackTarget(environment, { app });
  const payloadNamespace =
    typeof found.target.payload['namespace'] === 'string' ? found.target.payload['namespace'] : undefined;
  const namespace = resolveNamespace(values.namespace ?? payloadNamespace, client.contextNamespace);
  let deployments = values.deployments;
  if (!deployments?.length && !values.selector) {
    const scoped = [
      ...new Set(
        Object.keys(found.images)
          .filter((key) => key.includes('/'))
          .map((key) => key.slice(0, key.indexOf('/'))),
      ),
    ];
    deployments = scoped.length > 0 ? scoped : app !== undefined ? [app] : undefined;
  }
  rt.log.info(
    `Returning to GitHub Deployment #${found.target.id} of ${environment} (${found.target.ref}, ${found.target.sha.slice(0, 7)})` +
      (found.bad ? `; undoing #${found.bad.id}` : ''),
  );
  const report = await rollbackGitHub(rt, client, recorder, found, {
    environment,
    namespace,
    deployments,
    selector: values.selector,
    ...commonRequest(rt, values),
  });
  return outcomeOfReport(report, client, environment, { mode: 'github' });
}
