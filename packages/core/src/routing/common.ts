/** Helpers every router shares: weight checks, labels of created objects, reading what must exist. */
import { UserError } from '../errors';
import type { KubeClient } from '../kube/client';
import { isNotFound } from '../kube/errors';
import type { KnownKind, ResourceType } from '../kube/resources';
import type { KubeObject } from '../kube/types';
import type { TrafficTarget } from './types';

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

/** GET, or undefined on 404. */
export async function getOptional<T extends KubeObject>(
  client: KubeClient,
  kind: KnownKind | ResourceType,
  namespace: string,
  name: string,
): Promise<T | undefined> {
  try {
    return await client.get<T>(kind, { namespace, name });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** GET, or a UserError saying what is missing and how to make it. */
export async function getRequired<T extends KubeObject>(
  client: KubeClient,
  kind: KnownKind | ResourceType,
  namespace: string,
  name: string,
  what: string,
  howToCreate: string,
): Promise<T> {
  const object = await getOptional<T>(client, kind, namespace, name);
  if (object === undefined)
    throw new UserError(`${what} '${name}' not found in namespace '${namespace}'.`, { hint: howToCreate });
  return object;
}

/** Delete, ignoring an object that is already gone. */
export async function deleteIfPresent(
  client: KubeClient,
  kind: KnownKind | ResourceType,
  namespace: string,
  name: string,
  dryRun = false,
): Promise<boolean> {
  try {
    await client.delete(kind, { namespace, name }, { dryRun });
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
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
