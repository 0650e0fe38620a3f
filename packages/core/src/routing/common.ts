/** Helpers every router shares: weight checks, labels of created objects, the Services and endpoints routers check. */
import { UserError } from '../errors';
import type { KubeClient } from '../kube/client';
import { getOptional, getRequired } from '../kube/objects';
import type { ResourceType } from '../kube/resources';
import { REVISION_ANNOTATION } from '../kube/rollout-status';
import type { Deployment, KubeObject } from '../kube/types';
import { deploymentReplicaSets } from '../kube/workloads';
import type { RouterDeps, TrafficTarget } from './types';

export const MANAGED_LABELS = {
  'app.kubernetes.io/managed-by': 'deploy-actions',
  'deploy-actions.dev/role': 'canary',
} as const;

/** Marks a backend/destination entry the router added (so promote/abort remove it again). */
export const ADDED_ANNOTATION = 'deploy-actions.dev/added-canary-backend';

export function checkWeight(weight: number): number {
  if (!Number.isFinite(weight) || weight < 0 || weight > 100)
    throw new UserError(`Canary weight must be between 0 and 100 (got ${weight}).`, { hint: 'steps: 5,25,50,100' });
  return weight;
}

/** Integer weights: every mesh API takes integers, and 100 - w must add up exactly. */
export function integerWeight(weight: number): number {
  return Math.round(checkWeight(weight));
}

export function isManaged(object: KubeObject | undefined): boolean {
  return object?.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'deploy-actions';
}

export function stableServiceOf(target: TrafficTarget, configured?: string): string {
  return configured ?? target.stable.service ?? target.stable.deployment;
}

export function canaryServiceOf(target: TrafficTarget, configured?: string): string {
  return configured ?? target.canary.service ?? target.canary.deployment;
}

/** `web` matches `web`, `web.prod`, `web.prod.svc` and `web.prod.svc.cluster.local` (mesh host names). */
export function hostMatches(host: string | undefined, service: string, namespace: string): boolean {
  if (host === undefined) return false;
  if (host === service) return true;
  const [name, ns] = host.split('.');
  return name === service && (ns === undefined || ns === namespace);
}

/** Run `write` again after a 409 Conflict with a fresh read (others edit the same objects). */
export async function withConflictRetry<T>(write: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code !== 409 || attempt >= attempts) throw error;
    }
  }
}

/** On a stable Service whose selector the router pinned: the pod-template-hash it added. */
export const PINNED_ANNOTATION = 'deploy-actions.dev/pinned-pod-template-hash';
const HASH_LABEL = 'pod-template-hash';

type SelectorService = KubeObject & { spec?: { selector?: Record<string, string> } };

/**
 * Keep the stable Service on the stable's own pods. It usually selects `app: web`, which the canary's pods
 * carry too (their template is the stable's plus role labels), so without this the stable's share is
 * spread over the canary pods as well and the canary serves more than its weight (5% became 13.6% with
 * 10 stable pods). Adds the stable ReplicaSet's pod-template-hash to the selector, as Argo Rollouts does,
 * marked by PINNED_ANNOTATION so any later run (post step, rollback) can undo it. Idempotent; a Service
 * that does not select the canary pods is left alone.
 */
export async function pinStableService(deps: RouterDeps, target: TrafficTarget, service: string): Promise<void> {
  const { client } = deps;
  const { namespace } = target;
  const svc = await getOptional<SelectorService>(client, 'Service', namespace, service);
  const selector = svc?.spec?.selector;
  if (!svc || !selector || Object.keys(selector).length === 0) return;
  if (selector[HASH_LABEL] !== undefined) return; // pinned already (by us or by its owner)
  const canary = await getOptional<Deployment>(client, 'Deployment', namespace, target.canary.deployment);
  const labels = canary?.spec?.template?.metadata?.labels ?? {};
  if (!Object.entries(selector).every(([key, value]) => labels[key] === value)) return;
  const stable = await client.get<Deployment>('Deployment', { namespace, name: target.stable.deployment });
  const revision = stable.metadata?.annotations?.[REVISION_ANNOTATION];
  const current = (await deploymentReplicaSets(client, stable)).find(
    (rs) => rs.metadata?.annotations?.[REVISION_ANNOTATION] === revision,
  );
  const hash = current?.metadata?.labels?.[HASH_LABEL];
  if (!hash) {
    deps.log?.warning(
      `Service ${service} selects the canary pods too and the current ReplicaSet of ${target.stable.deployment} has no ${HASH_LABEL} label: the canary will get more than its weight`,
    );
    return;
  }
  await client.patch(
    'Service',
    { namespace, name: service },
    { metadata: { annotations: { [PINNED_ANNOTATION]: hash } }, spec: { selector: { [HASH_LABEL]: hash } } },
    'merge',
  );
  deps.log?.info(
    `Service ${service}: selector pinned to the stable pods (${HASH_LABEL}=${hash}) while the canary runs`,
  );
}

/** Undo pinStableService (only what it added). */
export async function unpinStableService(deps: RouterDeps, target: TrafficTarget, service: string): Promise<void> {
  const svc = await getOptional<SelectorService>(deps.client, 'Service', target.namespace, service);
  const hash = svc?.metadata?.annotations?.[PINNED_ANNOTATION];
  if (hash === undefined) return;
  const selector = svc?.spec?.selector?.[HASH_LABEL] === hash ? { [HASH_LABEL]: null } : {};
  await deps.client.patch(
    'Service',
    { namespace: target.namespace, name: service },
    { metadata: { annotations: { [PINNED_ANNOTATION]: null } }, spec: { selector } },
    'merge',
  );
}

/**
 * Before anything is created: the canary Service exists and its selector matches the canary's pods (their
 * labels as the canary Deployment is about to be created), or it would get the canary's share with no pod
 * behind it.
 */
export async function checkCanaryService(
  client: KubeClient,
  namespace: string,
  name: string,
  canary: Deployment | undefined,
  howToCreate: string,
): Promise<void> {
  const service = await getRequired<KubeObject & { spec?: { selector?: Record<string, string> } }>(
    client,
    'Service',
    namespace,
    name,
    'Service (the canary Service)',
    howToCreate,
  );
  const labels = canary?.spec?.template?.metadata?.labels;
  const selector = service.spec?.selector ?? {};
  if (labels === undefined || Object.keys(selector).length === 0) return;
  const missing = Object.entries(selector).filter(([key, value]) => labels[key] !== value);
  if (missing.length > 0)
    throw new UserError(
      `Service '${name}' (the canary Service) selects ${missing.map(([key, value]) => `${key}=${value}`).join(', ')}, which the canary's pods (${canary?.metadata?.name}) will not carry: it would be given the canary's share with no pod behind it. Nothing was changed.`,
      { hint: howToCreate },
    );
}

const ENDPOINTS: ResourceType = { group: '', version: 'v1', plural: 'endpoints', namespaced: true };

/** No Ready pod behind a backend weight was to move to: the rollout takes it as the step's failure. */
export class BackendNotReady extends UserError {}

/** Before weight moves to a Service: at least one Ready address behind it, or its share would fail. */
export async function requireReadyEndpoints(client: KubeClient, namespace: string, name: string): Promise<void> {
  const endpoints = await getOptional<KubeObject & { subsets?: Array<{ addresses?: unknown[] }> }>(
    client,
    ENDPOINTS,
    namespace,
    name,
  );
  const ready = (endpoints?.subsets ?? []).reduce((sum, subset) => sum + (subset.addresses?.length ?? 0), 0);
  if (ready === 0)
    throw new BackendNotReady(
      `Service '${name}' (the canary Service) has no ready endpoints: its selector matches no Ready pod of the canary, so no weight was moved to it.`,
      { hint: `kubectl get endpoints ${name} -n ${namespace}; its selector must match the canary's pod labels` },
    );
}
