/**
 * Clocks: `systemClock` for real runs, `VirtualClock` for tests and the demo
 * (manual `advance()`, or auto-advance over real loopback I/O).
 */
export type { Clock } from '../runtime/port';
export { holdVirtualTime, waitForQuiet, watchActivity } from './quiescence';
export { abortableSleep, abortReason, type Scheduler } from './sleep';
export { longTimeout, MAX_TIMER_MS, systemClock } from './system';
export { type AutoAdvance, type AutoAdvanceOptions, VIRTUAL_EPOCH, VirtualClock } from './virtual';
