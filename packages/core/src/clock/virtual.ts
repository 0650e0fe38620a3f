import type { Clock } from '../runtime/port';
import { waitForQuiet, watchActivity } from './quiescence';
import { abortableSleep } from './sleep';

interface Timer {
  at: number;
  seq: number;
  wake: () => void;
}

export interface AutoAdvance {
  /** Stop jumping ahead; pending timers stay pending. */
  stop(): void;
}

export interface AutoAdvanceOptions {
  /** Quiet event-loop turns required before jumping to the next timer (default 3). */
  quietTurns?: number;
}

/** 2026-01-01T00:00:00Z: a fixed start so virtual timestamps read the same in every run. */
export const VIRTUAL_EPOCH = Date.UTC(2026, 0, 1);

/**
 * Time that moves only when told to. Timers fire in (due time, creation order)
 * order, and promise chains settle between two timers, so a test sees exactly
 * the sequence a real clock would produce, minus the waiting.
 */
export class VirtualClock implements Clock {
  private current: number;
  private seq = 0;
  private readonly timers: Timer[] = [];
  private auto: { stopped: boolean; release: () => void; wakeLoop?: () => void } | undefined;

  constructor(start: number = VIRTUAL_EPOCH) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return abortableSleep((wake, delay) => this.schedule(wake, delay), ms, signal);
  }

  /** When the earliest pending timer is due, or undefined when none is pending. */
  nextTimerAt(): number | undefined {
    return this.timers[0]?.at;
  }

  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Move time forward by `ms`, firing every timer that falls due on the way, in order. */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new RangeError(`advance(ms) needs a non-negative number of milliseconds, got ${ms}`);
    await this.advanceTo(this.current + ms);
  }

  /** Move time forward to `time` (an epoch in ms), firing due timers in order. */
  async advanceTo(time: number): Promise<void> {
    await waitForQuiet();
    for (;;) {
      const next = this.timers[0];
      if (next === undefined || next.at > time) break;
      this.fireNext();
      await waitForQuiet();
    }
    if (time > this.current) this.current = time;
  }

  /** Jump to the earliest timer and fire it (and any due at the same instant). Returns false when none is pending. */
  async runNext(): Promise<boolean> {
    const at = this.nextTimerAt();
    if (at === undefined) return false;
    await this.advanceTo(at);
    return true;
  }

  /**
   * For end-to-end tests over real sockets: whenever the process has gone quiet
   * (no socket, fs or child-process activity for a few turns) and a timer is
   * pending, jump to it. A 30-minute canary then runs in milliseconds of real time.
   */
  startAutoAdvance(options: AutoAdvanceOptions = {}): AutoAdvance {
    if (this.auto !== undefined) throw new Error('auto-advance is already running on this clock');
    const state: { stopped: boolean; release: () => void; wakeLoop?: () => void } = {
      stopped: false,
      release: watchActivity(),
    };
    this.auto = state;
    const quietTurns = options.quietTurns ?? 3;
    const loop = async () => {
      while (!state.stopped) {
        if (this.timers.length === 0) {
          // Nothing to jump to: wait for the next sleep() instead of spinning.
          await new Promise<void>((resolve) => {
            state.wakeLoop = resolve;
          });
          state.wakeLoop = undefined;
          continue;
        }
        await waitForQuiet(quietTurns);
        if (state.stopped) break;
        if (this.timers.length > 0) this.fireNext();
      }
    };
    void loop();
    return { stop: () => this.stopAutoAdvance() };
  }

  stopAutoAdvance(): void {
    const state = this.auto;
    if (state === undefined) return;
    state.stopped = true;
    state.release();
    state.wakeLoop?.();
    this.auto = undefined;
  }

  private schedule(wake: () => void, ms: number): () => void {
    const timer: Timer = { at: this.current + Math.max(0, ms), seq: this.seq++, wake };
    // Keep the list sorted by (at, seq): insert after every timer due at or before it.
    let index = this.timers.length;
    while (index > 0 && this.timers[index - 1]!.at > timer.at) index--;
    this.timers.splice(index, 0, timer);
    this.auto?.wakeLoop?.();
    return () => {
      const at = this.timers.indexOf(timer);
      if (at >= 0) this.timers.splice(at, 1);
    };
  }

  private fireNext(): void {
    const timer = this.timers.shift()!;
    if (timer.at > this.current) this.current = timer.at;
    timer.wake();
  }
}
