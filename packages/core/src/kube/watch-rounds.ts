/**
 * The loop shared by the waits that read, then follow a watch (waitForRollout, waitForPodsGone): rounds under
 * one time limit and the caller's signal; a watch that ends, or a transient error, starts another round, after
 * a back-off when nothing was delivered. The time running out rejects with WatchTimeout, for the caller to word.
 */
import { abortReason } from '../clock/sleep';
import { backoffMs } from '../retry';
import type { Clock } from '../runtime/port';
import { isTransient } from './errors';
import type { WatchEnd } from './follow';

export class WatchTimeout extends Error {
  override readonly name = 'WatchTimeout';
}

export interface RoundOptions {
  clock: Clock;
  /** Overall limit for the wait. */
  timeoutMs: number;
  signal?: AbortSignal;
}

/** A round's outcome: done with a value, or the end of its watch (another round follows). */
export type Round<T> = { done: true; value: T } | { done: false; end: WatchEnd };

export async function watchRounds<T>(
  options: RoundOptions,
  round: (signal: AbortSignal) => Promise<Round<T>>,
): Promise<T> {
  const { clock } = options;
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort(abortReason(options.signal!));
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  if (options.signal?.aborted) onOuterAbort();
  const timer = new AbortController();
  clock.sleep(options.timeoutMs, timer.signal).then(
    () => stop.abort(new WatchTimeout()),
    () => {},
  );
  try {
    for (let failures = 0; ; ) {
      try {
        const outcome = await round(stop.signal);
        if (outcome.done) return outcome.value;
        const { reason, sawEvents } = outcome.end;
        // Start over with a fresh read; after a watch that ended empty, back off first.
        failures = reason === 'gone' ? 0 : sawEvents ? 1 : failures + 1;
      } catch (error) {
        if (stop.signal.aborted || !isTransient(error)) throw error;
        failures++;
      }
      if (stop.signal.aborted) throw stop.signal.reason;
      if (failures > 0) await clock.sleep(backoffMs(failures, { baseMs: 200, maxMs: 5_000 }), stop.signal);
    }
  } catch (error) {
    if (stop.signal.reason instanceof WatchTimeout) throw stop.signal.reason;
    throw error;
  } finally {
    timer.abort();
    options.signal?.removeEventListener('abort', onOuterAbort);
  }
}
