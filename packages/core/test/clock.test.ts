import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { abortableSleep, holdVirtualTime, systemClock, VIRTUAL_EPOCH, VirtualClock } from '@deploy-actions/core/clock';
import { describe, expect, it } from 'vitest';

describe('systemClock', () => {
  it('sleeps for real time', async () => {
    const started = performance.now();
    await systemClock.sleep(20);
    expect(performance.now() - started).toBeGreaterThanOrEqual(18);
    expect(Math.abs(systemClock.now() - Date.now())).toBeLessThan(50);
  });

  it('rejects with the signal reason when aborted mid-sleep, without waiting the sleep out', async () => {
    const controller = new AbortController();
    const started = performance.now();
    const sleeping = systemClock.sleep(60_000, controller.signal);
    setTimeout(() => controller.abort(new Error('step timed out')), 5);
    await expect(sleeping).rejects.toThrow('step timed out');
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('rejects at once when the signal is already aborted', async () => {
    await expect(systemClock.sleep(10, AbortSignal.abort(new Error('cancelled')))).rejects.toThrow('cancelled');
  });
});

describe('abortableSleep', () => {
  it('cancels the scheduled wake-up on abort and gives an AbortError when the signal has no reason', async () => {
    let cancelled = 0;
    const controller = new AbortController();
    const sleeping = abortableSleep(
      () => () => {
        cancelled++;
      },
      100,
      controller.signal,
    );
    // A hand-made reason-less abort: dispatch the event on a signal whose reason is undefined.
    Object.defineProperty(controller.signal, 'reason', { value: undefined });
    controller.abort();
    await expect(sleeping).rejects.toMatchObject({ name: 'AbortError' });
    expect(cancelled).toBe(1);
  });
});

describe('VirtualClock', () => {
  it('starts at a fixed epoch and only moves when advanced', async () => {
    const clock = new VirtualClock();
    expect(clock.now()).toBe(VIRTUAL_EPOCH);
    let woke = false;
    void clock.sleep(1_000).then(() => {
      woke = true;
    });
    expect(clock.pendingTimers).toBe(1);
    expect(clock.nextTimerAt()).toBe(VIRTUAL_EPOCH + 1_000);
    await clock.advance(999);
    expect(woke).toBe(false);
    await clock.advance(1);
    expect(woke).toBe(true);
    expect(clock.now()).toBe(VIRTUAL_EPOCH + 1_000);
    expect(clock.pendingTimers).toBe(0);
    expect(clock.nextTimerAt()).toBeUndefined();
  });

  it('fires timers in due order, ties in creation order, and lets chains settle between them', async () => {
    const clock = new VirtualClock(0);
    const seen: string[] = [];
    const loop = async (name: string, every: number, times: number) => {
      for (let i = 0; i < times; i++) {
        await clock.sleep(every);
        // Two more hops of promise chaining before the next sleep is registered.
        await Promise.resolve();
        await Promise.resolve();
        seen.push(`${name}@${clock.now()}`);
      }
    };
    void loop('a', 10, 3);
    void loop('b', 15, 2);
    void clock.sleep(30).then(() => seen.push(`c@${clock.now()}`));
    await clock.advance(35);
    // Three timers fall due at 30: c was set first (at 0), then b's (at 15), then a's (at 20).
    expect(seen).toEqual(['a@10', 'b@15', 'a@20', 'c@30', 'b@30', 'a@30']);
    expect(clock.now()).toBe(35);
  });

  it('runNext jumps straight to the earliest timer', async () => {
    const clock = new VirtualClock(0);
    const done = clock.sleep(5 * 60_000);
    expect(await clock.runNext()).toBe(true);
    await done;
    expect(clock.now()).toBe(5 * 60_000);
    expect(await clock.runNext()).toBe(false);
  });

  it('an aborted sleep rejects with the reason and leaves no timer behind', async () => {
    const clock = new VirtualClock(0);
    const controller = new AbortController();
    const sleeping = clock.sleep(1_000, controller.signal);
    controller.abort(new Error('timeout 10m passed during step "analysis"'));
    await expect(sleeping).rejects.toThrow('during step "analysis"');
    expect(clock.pendingTimers).toBe(0);
    await expect(clock.sleep(1, AbortSignal.abort(new Error('already')))).rejects.toThrow('already');
    expect(clock.pendingTimers).toBe(0);
  });

  it('refuses to go backwards', async () => {
    await expect(new VirtualClock(0).advance(-1)).rejects.toThrow(RangeError);
  });
});

describe('VirtualClock auto-advance over real loopback sockets', () => {
  it('runs a 30-minute polling loop against a server that shares the clock, in order, in well under a second', async () => {
    const clock = new VirtualClock(0);
    const events: string[] = [];
    // The "server" takes 1s of virtual time to answer, like a slow API.
    const server = createServer(async (request, response) => {
      events.push(`server got ${request.url} @${clock.now()}`);
      await clock.sleep(1_000);
      response.end(String(clock.now()));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const auto = clock.startAutoAdvance();
    const started = performance.now();
    try {
      for (let minute = 0; minute < 30; minute++) {
        const answer = await fetch(`http://127.0.0.1:${port}/poll/${minute}`).then((r) => r.text());
        events.push(`client got ${answer} @${clock.now()}`);
        await clock.sleep(59_000);
      }
    } finally {
      auto.stop();
      server.close();
      server.closeAllConnections();
    }
    const elapsed = performance.now() - started;
    const expected: string[] = [];
    for (let minute = 0; minute < 30; minute++) {
      expected.push(
        `server got /poll/${minute} @${minute * 60_000}`,
        `client got ${minute * 60_000 + 1_000} @${minute * 60_000 + 1_000}`,
      );
    }
    expect(events).toEqual(expected);
    expect(clock.now()).toBe(30 * 60_000);
    expect(elapsed).toBeLessThan(1_000);
  });

  it('is not held back by gzip decoders that linger after a compressed response', async () => {
    const clock = new VirtualClock(0);
    const body = gzipSync(JSON.stringify({ status: 'success', data: [1, 2, 3] }));
    const server = createServer((_request, response) => {
      response.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'application/json' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const auto = clock.startAutoAdvance();
    const started = performance.now();
    try {
      for (let check = 0; check < 20; check++) {
        const answer = (await fetch(`http://127.0.0.1:${port}/`).then((r) => r.json())) as { data: number[] };
        expect(answer.data).toEqual([1, 2, 3]);
        await clock.sleep(10_000);
      }
    } finally {
      auto.stop();
      server.close();
      server.closeAllConnections();
    }
    expect(clock.now()).toBe(200_000);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('does not jump ahead while a child process is still running', async () => {
    const clock = new VirtualClock(0);
    const events: string[] = [];
    const auto = clock.startAutoAdvance();
    try {
      const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 150)'], { stdio: 'ignore' });
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      const timer = clock.sleep(1).then(() => events.push('virtual timer'));
      await exited.then(() => events.push('child exited'));
      await timer;
    } finally {
      auto.stop();
    }
    expect(events).toEqual(['child exited', 'virtual timer']);
  });

  it('waits for a sleep to be registered instead of spinning, and stop() leaves pending timers alone', async () => {
    const clock = new VirtualClock(0);
    const auto = clock.startAutoAdvance();
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(clock.now()).toBe(0);
    await clock.sleep(10 * 60_000);
    expect(clock.now()).toBe(10 * 60_000);
    auto.stop();
    let woke = false;
    void clock.sleep(1).then(() => {
      woke = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(woke).toBe(false);
    expect(clock.pendingTimers).toBe(1);
  });
});

describe('holdVirtualTime', () => {
  // A wait the activity hook cannot see (here a real timer; in tests, a lazy import served over vitest's
  // worker channel) looks like an idle process: an auto-advancing clock jumps to its next timer.
  const invisibleWait = () => new Promise<void>((resolve) => setTimeout(resolve, 40));

  it('keeps an auto-advancing clock from jumping to a pending timeout while the work settles', async () => {
    const clock = new VirtualClock();
    const timeout = clock.sleep(30 * 60_000);
    const auto = clock.startAutoAdvance();
    try {
      await holdVirtualTime(invisibleWait());
      expect(clock.now()).toBe(VIRTUAL_EPOCH);
      await timeout; // released: the clock goes on to the timer
      expect(clock.now()).toBe(VIRTUAL_EPOCH + 30 * 60_000);
    } finally {
      auto.stop();
    }
  });

  it('without the hold the same wait lets the clock jump (the failure it prevents)', async () => {
    const clock = new VirtualClock();
    const timeout = clock.sleep(30 * 60_000);
    const auto = clock.startAutoAdvance();
    try {
      await invisibleWait();
      expect(clock.now()).toBe(VIRTUAL_EPOCH + 30 * 60_000);
      await timeout;
    } finally {
      auto.stop();
    }
  });
});
