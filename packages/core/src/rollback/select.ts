/** Which Deployments and which rollout (record key) a rollback acts on, from the inputs and the cluster. */
import { InputError } from '../errors';
import type { KubeClient } from '../kube/client';
import { findDeployments } from '../kube/workloads';
import { inFlightApps } from './in-flight';

/** The Deployments the inputs name (the temporary ones of a rollout left out), names sorted as listed. */
export async function selectedDeployments(
  client: KubeClient,
  namespace: string,
  values: { deployments?: readonly string[] | undefined; selector?: string | undefined },
): Promise<string[]> {
  if (!values.deployments?.length && !values.selector) return [];
  const found = await findDeployments(client, { namespace, names: values.deployments, selector: values.selector });
  // findDeployments never returns a canary/baseline Deployment deploy-actions created (refused or left out).
  return found.map((deployment) => deployment.metadata?.name ?? '');
}

/**
 * The record key of the rollout to act on: the `app` input; else the one in-flight rollout moving one of the
 * selected Deployments (a canary started with a selector or its own app); else the first Deployment's name
 * (canary-promote's default).
 */
export async function inFlightApp(
  client: KubeClient,
  namespace: string,
  values: { app?: string | undefined; deployments?: readonly string[] | undefined; selector?: string | undefined },
): Promise<string> {
  if (values.app) return values.app;
  const names = await selectedDeployments(client, namespace, values);
  const apps = await inFlightApps(client, namespace, names);
  if (apps.length > 1) {
    throw new InputError(
      'app',
      `rollouts of several apps moving these Deployments are in flight (${apps.join(', ')}): name the one to roll back`,
      undefined,
      apps[0]!,
    );
  }
  return apps[0] ?? names[0] ?? '';
}
