import { VirtualClock } from '@deploy-actions/core/clock';
import { backoffMs, parseRetryAfter, retry } from '@deploy-actions/core/retry';
import { describe, expect, it } from 'vitest';

/** An fn that fails `failures` times with errors built by `makeError`, then returns 'ok'; records call times. */
function flaky(clock: VirtualClock, failures: number, makeError: (n: number) => unknown = () => new Error('503')) {
  const calls: number[] = [];
  const fn = async () => {
    calls.push(clock.now());
    if (calls.length <= failures) throw makeError(calls.length);
    return 'ok';
  };
  return { fn, calls };
}

describe('retry', () => {
  it('with a budget: retries an outage shorter than it, gives up on a longer one once the budget is spent', async () => {
    const clock = new VirtualClock(0);
    const auto = clock.startAutoAdvance();
    // 30 s of failures (one call every backoff): ridden out within a 2-minute budget.
    const outage = (ms: number) => {
      const calls: number[] = [];
      const fn = async () => {
        calls.push(clock.now());
        if (clock.now() < ms) throw new Error('500');
        return 'ok';
      };
      return { fn, calls };
    };
    const short = outage(30_000);
    const options = { attempts: Number.POSITIVE_INFINITY, budgetMs: 120_000, baseMs: 200, maxMs: 5_000, clock };
    expect(await retry(short.fn, options)).toBe('ok');
    expect(short.calls.at(-1)).toBeGreaterThanOrEqual(30_000);
    const start = clock.now();
    const long = outage(start + 10 * 60_000);
    await expect(retry(long.fn, options)).rejects.toThrow('500');
    auto.stop();
    // It stopped before the budget ran out, not at the 10-minute mark.
    expect(long.calls.at(-1)! - start).toBeLessThanOrEqual(120_000);
    expect(long.calls.at(-1)! - start).toBeGreaterThan(100_000);
  });

  it('backs off exponentially with full jitter, capped at maxMs', async () => {
    const clock = new VirtualClock(0);
    const { fn, calls } = flaky(clock, 4);
    const delays: number[] = [];
    const auto = clock.startAutoAdvance();
    const value = await retry(fn, {
      attempts: 5,
      baseMs: 1_000,
      maxMs: 5_000,
      random: () => 0.5,
      clock,
      onRetry: ({ delayMs }) => delays.push(delayMs),
    });
    auto.stop();
    expect(value).toBe('ok');
    // Caps 1s, 2s, 4s, 5s (capped), each halved by random()=0.5.
    expect(delays).toEqual([500, 1_000, 2_000, 2_500]);
    expect(calls).toEqual([0, 500, 1_500, 3_500, 6_000]);
  });

  it('without jitter waits the cap itself', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(n, { baseMs: 100, maxMs: 1_000, jitter: false }))).toEqual([
      100, 200, 400, 800, 1_000,
    ]);
  });

  it('gives up after the last attempt with the last error', async () => {
    const clock = new VirtualClock(0);
    const { fn, calls } = flaky(clock, 10, (n) => new Error(`failure ${n}`));
    const auto = clock.startAutoAdvance();
    await expect(retry(fn, { attempts: 3, baseMs: 100, random: () => 0, clock })).rejects.toThrow('failure 3');
    auto.stop();
    expect(calls).toHaveLength(3);
  });

  it('does not retry what isRetryable refuses', async () => {
    const clock = new VirtualClock(0);
    const { fn, calls } = flaky(clock, 10, () => Object.assign(new Error('404'), { status: 404 }));
    await expect(
      retry(fn, { attempts: 5, clock, isRetryable: (error) => (error as { status: number }).status >= 500 }),
    ).rejects.toThrow('404');
    expect(calls).toHaveLength(1);
  });

  it('honours Retry-After in seconds and as an HTTP date, from the error or its headers', async () => {
    const clock = new VirtualClock(Date.parse('2026-03-01T12:00:00Z'));
    const errors = [
      Object.assign(new Error('429'), { retryAfter: '7' }),
      Object.assign(new Error('503'), { headers: new Headers({ 'retry-after': 'Sun, 01 Mar 2026 12:01:07 GMT' }) }),
      Object.assign(new Error('503'), { headers: { 'retry-after': '2' } }),
    ];
    const { fn } = flaky(clock, 3, (n) => errors[n - 1]);
    const delays: number[] = [];
    const auto = clock.startAutoAdvance();
    await retry(fn, { attempts: 4, clock, random: () => 0.99, onRetry: ({ delayMs }) => delays.push(delayMs) });
    auto.stop();
    // 7 s; then the date is 60 s after 12:00:07; then 2 s.
    expect(delays).toEqual([7_000, 60_000, 2_000]);
  });

  it('stops waiting when the signal aborts, with the signal reason', async () => {
    const clock = new VirtualClock(0);
    const controller = new AbortController();
    const { fn, calls } = flaky(clock, 10);
    const running = retry(fn, { attempts: 5, baseMs: 60_000, random: () => 1, clock, signal: controller.signal });
    await clock.advance(1_000);
    controller.abort(new Error('cancelled'));
    await expect(running).rejects.toThrow('cancelled');
    expect(calls).toHaveLength(1);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-03-01T12:00:00Z');
  it.each([
    ['120', 120_000],
    ['0', 0],
    ['Sun, 01 Mar 2026 12:00:30 GMT', 30_000],
    ['Sun, 01 Mar 2026 11:00:00 GMT', 0],
  ])('%s → %d ms', (header, ms) => {
    expect(parseRetryAfter(header, now)).toBe(ms);
  });

  it('ignores what it cannot read', () => {
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});
