/**
 * While a release waits for new pods: a pod that cannot start (image not pulled, missing config, crash loop,
 * OOMKilled, restarts above the limit) ends the wait at once with the reason, instead of at the progress
 * deadline; and the wait says how far it got at least every PROGRESS_EVERY_MS.
 */
import { formatDuration } from '../inputs/scalars';
import type { KubeClient } from '../kube/client';
import { STUCK_REASONS } from '../kube/explain';
import type { Deployment, KubeObject } from '../kube/types';
import { matchLabelsSelector } from '../kube/workloads';
import type { Clock } from '../runtime/port';

/** Restarts of one container above this end the wait when the plan sets no restarts limit. */
export const DEFAULT_RESTART_LIMIT = 3;
export const PROGRESS_EVERY_MS = 30_000;
const CHECK_EVERY_MS = 2_000;

interface ContainerStatus {
  name: string;
  restartCount?: number;
  state?: { waiting?: { reason?: string; message?: string } };
  lastState?: { terminated?: { reason?: string; exitCode?: number } };
}

interface Pod extends KubeObject {
  status?: { containerStatuses?: ContainerStatus[]; initContainerStatuses?: ContainerStatus[] };
}

/** Why one of these pods will not become Ready by itself, or undefined. */
export function podFailure(pods: readonly Pod[], restartLimit: number): string | undefined {
  for (const pod of pods) {
    const name = pod.metadata?.name ?? '';
    for (const container of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
      const waiting = container.state?.waiting;
      if (waiting?.reason && STUCK_REASONS.has(waiting.reason))
        return `pod ${name}: container ${container.name} ${waiting.reason}${waiting.message ? ` (${waiting.message})` : ''}`;
      if (container.lastState?.terminated?.reason === 'OOMKilled')
        return `pod ${name}: container ${container.name} OOMKilled (restarts ${container.restartCount ?? 0})`;
      if ((container.restartCount ?? 0) > restartLimit)
        return `pod ${name}: container ${container.name} restarted ${container.restartCount} times (limit ${restartLimit})`;
    }
  }
  return undefined;
}

export class PodsFailed extends Error {}

export interface GuardOptions {
  client: KubeClient;
  namespace: string;
  /** The Deployments whose pods are waited for. */
  deployments: readonly string[];
  clock: Clock;
  /** Stops the guard (quietly): the wait ended. */
  signal: AbortSignal;
  restartLimit: number;
  log: (line: string) => void;
}

/**
 * Runs until `signal` aborts (then resolves) or a pod fails (then rejects with PodsFailed naming it). Says
 * every PROGRESS_EVERY_MS how many pods of each Deployment are Ready.
 */
export async function guardPods(options: GuardOptions): Promise<void> {
  const { client, namespace, clock, signal } = options;
  const started = clock.now();
  let said = started;
  while (!signal.aborted) {
    try {
      await clock.sleep(CHECK_EVERY_MS, signal);
    } catch {
      return;
    }
    const progress: string[] = [];
    for (const name of options.deployments) {
      let deployment: Deployment;
      let pods: Pod[];
      try {
        deployment = await client.get<Deployment>('Deployment', { namespace, name });
        const selector = matchLabelsSelector(deployment);
        pods = (await client.list<Pod>('Pod', { namespace, ...(selector ? { labelSelector: selector } : {}) })).items;
      } catch {
        if (signal.aborted) return;
        continue; // the wait itself reports an API that stays down
      }
      const failure = podFailure(pods, options.restartLimit);
      if (failure) throw new PodsFailed(`Deployment ${name}: ${failure}`);
      const status = (deployment as Deployment & { status?: { readyReplicas?: number } }).status;
      progress.push(`${name} ${status?.readyReplicas ?? 0} of ${deployment.spec?.replicas ?? 0} pods Ready`);
    }
    if (clock.now() - said >= PROGRESS_EVERY_MS && !signal.aborted) {
      said = clock.now();
      options.log(`Waiting (${formatDuration(clock.now() - started)}): ${progress.join(', ')}`);
    }
  }
}
