/**
 * The one sleep both clocks share: it resolves after the scheduler fires, and
 * rejects with the signal's reason as soon as the signal aborts (or at once if
 * it already has), cancelling the scheduled wake-up so no timer is left behind.
 */

/** Schedules `wake` after `ms`; returns a function that cancels it. */
export type Scheduler = (wake: () => void, ms: number) => () => void;

export function abortableSleep(schedule: Scheduler, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      cancel();
      reject(abortReason(signal!));
    };
    const cancel = schedule(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** `signal.reason` is undefined only for hand-made signals; give callers an Error either way. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}
