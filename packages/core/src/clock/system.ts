import type { Clock } from '../runtime/port';
import { abortableSleep } from './sleep';

/** Real wall-clock time, for the GitHub and terminal runtimes. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    abortableSleep(
      (wake, delay) => {
        const timer = setTimeout(wake, Math.max(0, delay));
        return () => clearTimeout(timer);
      },
      ms,
      signal,
    ),
};
