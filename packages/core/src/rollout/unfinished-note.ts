/** What a post step with `on-cancel: leave` says about the Lease its cancelled main step could not hand back. */
import type { KubeClient } from '../kube/client';
import { readLease } from '../state/lease';

/** The words that say how long the Lease keeps other runs out (empty when this run does not hold it). */
export async function leaseHeldNote(
  client: KubeClient,
  namespace: string,
  app: string,
  holder: string,
): Promise<string> {
  const lease = await readLease(client, namespace, app).catch(() => undefined);
  return lease?.holder === holder && lease.expiresAt
    ? `; its lease deploy-actions-${app} stays held by this run (${holder}) until ${lease.expiresAt.toISOString()}, then expires`
    : '';
}
