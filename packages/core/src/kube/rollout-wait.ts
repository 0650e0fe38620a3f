/**
 * Waits for workloads to finish rolling out, as `kubectl rollout status` does:
 * one GET, then a watch on the object, judging every version the watch
 * delivers. A watch the server ends is resumed from the last resourceVersion;
 * 410 Gone (history compacted) or a failed connection starts over with a GET.
 * So the requests made grow with the changes the object goes through, not
 * with the minutes waited.
 */
import { UserError } from '../errors';
import type { Clock } from '../runtime/port';
import type { KubeClient } from './client';
import { isNotFound } from './errors';
import { followWatch } from './follow';
import { type RolloutKind, type RolloutStatus, rolloutStatus } from './rollout-status';
import type { KubeObject } from './types';
import { WatchTimeout, watchRounds } from './watch-rounds';

export interface WorkloadRef {
  kind: RolloutKind;
  namespace: string;
  name: string;
}

export interface WaitOptions {
  clock: Clock;
  /** Overall limit for this wait. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Deployments only: fail if another revision than this one is running. */
  revision?: number;
  /** Each new status message (the lines kubectl prints). */
  onProgress?: (ref: WorkloadRef, status: RolloutStatus) => void;
  /** Another condition to wait for instead of a finished rollout (e.g. every pod gone after scaling to 0). */
  until?: (object: KubeObject) => RolloutStatus;
}

export interface RolloutResult {
  ref: WorkloadRef;
  status: RolloutStatus;
  /** The object as last seen: its status, images and revision annotation. */
  object: KubeObject;
  elapsedMs: number;
}

/** A rollout that failed (progress deadline, wrong revision) or did not finish in time. */
export class RolloutError extends UserError {
  constructor(
    readonly ref: WorkloadRef,
    readonly status: RolloutStatus,
    readonly object: KubeObject | undefined,
    readonly timedOut: boolean,
  ) {
    super(
      timedOut
        ? `${ref.kind} "${ref.name}" did not finish rolling out in time; last status: ${status.message}`
        : `${ref.kind} "${ref.name}" rollout failed: ${status.message}`,
    );
  }
}

export async function waitForRollout(
  client: KubeClient,
  ref: WorkloadRef,
  options: WaitOptions,
): Promise<RolloutResult> {
  const { clock } = options;
  const started = clock.now();
  let status: RolloutStatus = { state: 'waiting', message: `Waiting for ${ref.kind.toLowerCase()} "${ref.name}"...` };
  let object: KubeObject | undefined;
  const see = (next: KubeObject): RolloutResult | undefined => {
    object = next;
    const judged = options.until ? options.until(next) : rolloutStatus(next, ref.kind, options.revision);
    if (judged.message !== status.message) options.onProgress?.(ref, judged);
    status = judged;
    if (judged.state === 'failed') throw new RolloutError(ref, judged, next, false);
    return judged.state === 'done'
      ? { ref, status: judged, object: next, elapsedMs: clock.now() - started }
      : undefined;
  };

  try {
    return await watchRounds<RolloutResult>(options, async (signal) => {
      const current = await client.get(ref.kind, ref);
      const done = see(current);
      if (done) return { done: true, value: done };
      let finished: RolloutResult | undefined;
      const end = await followWatch(
        client,
        ref.kind,
        { namespace: ref.namespace, fieldSelector: `metadata.name=${ref.name}` },
        current.metadata?.resourceVersion,
        signal,
        (event) => {
          if (event.type === 'DELETED') {
            throw new UserError(`${ref.kind} "${ref.name}" was deleted while waiting for its rollout`);
          }
          finished = see(event.object);
          return finished !== undefined;
        },
      );
      return finished ? { done: true, value: finished } : { done: false, end };
    });
  } catch (error) {
    if (error instanceof WatchTimeout) throw new RolloutError(ref, status, object, true);
    if (isNotFound(error)) throw new UserError(`${ref.kind} "${ref.name}" not found in namespace "${ref.namespace}"`);
    throw error;
  }
}

/**
 * Waits for several workloads together (one shared time limit). Every wait
 * runs to its end, so the caller can report each one; the first failure is
 * then thrown with the others attached as `results`.
 */
export async function waitForRollouts(
  client: KubeClient,
  refs: readonly WorkloadRef[],
  options: WaitOptions,
): Promise<RolloutResult[]> {
  const settled = await Promise.allSettled(refs.map((ref) => waitForRollout(client, ref, options)));
  const failure = settled.find((outcome) => outcome.status === 'rejected');
  if (failure !== undefined) throw failure.reason;
  return settled.map((outcome) => (outcome as PromiseFulfilledResult<RolloutResult>).value);
}
