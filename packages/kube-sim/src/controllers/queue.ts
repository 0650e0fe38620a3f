/**
 * A controller's work queue: keys are deduplicated, processed one at a time in microtasks (the store is
 * synchronous, so a reconcile never interleaves with another), retried on 409 Conflict, and re-queued later on
 * the sim's clock for things that only time changes (a pod becoming available, a progress deadline).
 */
import { performance } from 'node:perf_hooks';
import type { Clock } from '@deploy-actions/core/clock';
import { ApiError } from '../errors';

/**
 * Real time shared by every controller and the kubelet: once a slice of `sliceMs` has been spent, callers of
 * `turn()` wait in line and are let through one at a time after the event loop has served I/O, so a burst
 * of simulated work (a thousand pods turning Ready at once) does not hold up API requests.
 */
export class Budget {
  private sliceStart = performance.now();
  private readonly line: (() => void)[] = [];
  private scheduled = false;

  constructor(readonly sliceMs = Number.POSITIVE_INFINITY) {}

  private exhausted(): boolean {
    return performance.now() - this.sliceStart > this.sliceMs;
  }

  /** undefined while the slice lasts (go on at once); otherwise a promise to await before working. */
  turn(): Promise<void> | undefined {
    if (!Number.isFinite(this.sliceMs)) return undefined;
    // While the slice lasts anyone goes on, including a waiter just let in (it must not queue again).
    if (!this.exhausted()) return undefined;
    return new Promise<void>((resolve) => {
      this.line.push(resolve);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.sliceStart = performance.now();
      this.letNextIn();
    });
  }

  /** Release one waiter; its continuation runs before the next check (both are microtasks, in order). */
  private letNextIn = (): void => {
    if (this.line.length === 0) return;
    if (this.exhausted()) {
      this.schedule();
      return;
    }
    this.line.shift()!();
    queueMicrotask(this.letNextIn);
  };
}

export class WorkQueue {
  private readonly pending = new Set<string>();
  private running = false;
  /** Earliest wake-up already scheduled per key, so repeated requests do not pile up timers. */
  private readonly timers = new Map<string, number>();
  private readonly conflicts = new Map<string, number>();

  /**
   * @param budget shared real-time slices: when one is used up, the drain goes on after the event loop has
   *   served I/O (so API requests are not stuck behind a burst of reconciles).
   */
  constructor(
    private readonly name: string,
    private readonly reconcile: (key: string) => void,
    private readonly clock: Clock,
    private readonly signal: AbortSignal,
    private readonly budget = new Budget(),
  ) {}

  add(key: string): void {
    if (this.signal.aborted) return;
    this.pending.add(key);
    if (!this.running) {
      this.running = true;
      queueMicrotask(() => this.drain());
    }
  }

  addAfter(key: string, ms: number): void {
    if (this.signal.aborted) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = this.clock.now() + ms;
    const existing = this.timers.get(key);
    if (existing !== undefined && existing <= at && existing > this.clock.now()) return;
    this.timers.set(key, at);
    this.clock.sleep(ms, this.signal).then(
      () => {
        if (this.timers.get(key) === at) this.timers.delete(key);
        this.add(key);
      },
      () => {},
    );
  }

  private drain(): void {
    let yielded = false;
    try {
      while (this.pending.size > 0 && !this.signal.aborted) {
        const wait = this.budget.turn();
        if (wait) {
          yielded = true;
          void wait.then(() => this.drain());
          return;
        }
        const key = this.pending.values().next().value as string;
        this.pending.delete(key);
        try {
          this.reconcile(key);
          this.conflicts.delete(key);
        } catch (error) {
          if (error instanceof ApiError && error.code === 409) {
            const n = (this.conflicts.get(key) ?? 0) + 1;
            this.conflicts.set(key, n);
            // Someone wrote first: read again at once, then back off if it keeps happening.
            if (n < 5) this.pending.add(key);
            else this.addAfter(key, 100);
          } else if (error instanceof ApiError && error.code === 404) {
            // The object went away mid-reconcile; its deletion event brings the next pass.
          } else {
            console.error(`kube-sim ${this.name} controller: reconcile of ${key} failed:`, error);
          }
        }
      }
    } finally {
      if (!yielded) this.running = false;
    }
  }
}
