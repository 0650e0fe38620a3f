/**
 * Issue #17 item 1: setTimeout fires after 1 ms for delays above 2^31−1 ms (TimeoutOverflowWarning), so a
 * `pause: 25d` promoted at once. The system clock chains such sleeps; a 25-day sleep ends after 25 days.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_TIMER_MS, systemClock } from '../src/clock';

const DAY = 86_400_000;

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('systemClock.sleep above 2^31−1 ms', () => {
  it('sleeps 25 days, not 1 ms', async () => {
    let woke = false;
    const sleeping = systemClock.sleep(25 * DAY).then(() => {
      woke = true;
    });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(woke).toBe(false);
    await vi.advanceTimersByTimeAsync(MAX_TIMER_MS);
    expect(woke).toBe(false);
    await vi.advanceTimersByTimeAsync(25 * DAY - MAX_TIMER_MS - 1_001);
    expect(woke).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await sleeping;
    expect(woke).toBe(true);
  });

  it('a long sleep is cancelled by its signal in any piece', async () => {
    const stop = new AbortController();
    const sleeping = systemClock.sleep(60 * DAY, stop.signal);
    await vi.advanceTimersByTimeAsync(MAX_TIMER_MS + 5);
    stop.abort(new Error('cancelled'));
    await expect(sleeping).rejects.toThrow('cancelled');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a sleep of exactly 2^31−1 ms is one timer', async () => {
    let woke = false;
    void systemClock.sleep(MAX_TIMER_MS).then(() => {
      woke = true;
    });
    await vi.advanceTimersByTimeAsync(MAX_TIMER_MS - 1);
    expect(woke).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(woke).toBe(true);
  });
});
