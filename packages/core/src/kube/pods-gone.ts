/**
 * Waits until no pod matches a label selector, Terminating ones included. A Deployment scaled to 0 reports
 * `status.replicas: 0` at once, but its deleted pods keep running (and talking to the database) for their
 * grace period, 30 s by default, until the kubelet removes them: whatever needs the app really stopped waits
 * here. A list, then a watch from its resourceVersion, in rounds as waitForRollout's (watch-rounds.ts).
 */
import { UserError } from '../errors';
import type { KubeClient } from './client';
import { followWatch } from './follow';
import { type RoundOptions, WatchTimeout, watchRounds } from './watch-rounds';

export interface PodsGoneOptions extends RoundOptions {
  /** What the pods belong to, for the timeout's message (e.g. `deployment/web`). */
  owner: string;
}

export async function waitForPodsGone(
  client: KubeClient,
  namespace: string,
  labelSelector: string,
  options: PodsGoneOptions,
): Promise<void> {
  const left = new Set<string>();
  try {
    await watchRounds<void>(options, async (signal) => {
      const list = await client.list('Pod', { namespace, labelSelector });
      left.clear();
      for (const pod of list.items) left.add(pod.metadata?.name ?? '');
      if (left.size === 0) return { done: true, value: undefined };
      const end = await followWatch(
        client,
        'Pod',
        { namespace, labelSelector },
        list.metadata?.resourceVersion,
        signal,
        (event) => {
          const name = event.object.metadata?.name ?? '';
          if (event.type === 'DELETED') left.delete(name);
          else left.add(name);
          return left.size === 0;
        },
      );
      return left.size === 0 ? { done: true, value: undefined } : { done: false, end };
    });
  } catch (error) {
    if (!(error instanceof WatchTimeout)) throw error;
    throw new UserError(
      `pods ${[...left].sort().join(', ')} of ${options.owner} still running (Terminating) after ${Math.round(options.timeoutMs / 1000)} s`,
    );
  }
}
