import type { Clock } from '../runtime/port';
import { abortableSleep } from './sleep';

/**
 * The longest delay setTimeout takes (2^31−1 ms, about 24.8 days): above it Node warns
 * (TimeoutOverflowWarning) and fires after 1 ms, so longer sleeps are chained in pieces.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** setTimeout for any delay: pieces of at most MAX_TIMER_MS until `delay` has passed; returns the cancel. */
export function longTimeout(wake: () => void, delay: number): () => void {
  let timer: ReturnType<typeof setTimeout>;
  const arm = (left: number) => {
    timer = setTimeout(
      () => (left > MAX_TIMER_MS ? arm(left - MAX_TIMER_MS) : wake()),
      Math.min(Math.max(0, left), MAX_TIMER_MS),
    );
  };
  arm(delay);
  return () => clearTimeout(timer);
}

/** Real wall-clock time, for the GitHub and terminal runtimes. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => abortableSleep(longTimeout, ms, signal),
};
