/** The gate runner: gates run at the same time, each under its own timeout; failures of optional gates warn. */
import { VirtualClock } from '@deploy-actions/core/clock';
import { type GateContext, type PlannedGate, runGates } from '@deploy-actions/core/preflight';
import { createMemoryRuntime } from '@deploy-actions/core/runtime';
import { describe, expect, it } from 'vitest';

function context(clock: VirtualClock): GateContext {
  const rt = createMemoryRuntime({ clock });
  return {
    clock,
    log: rt.log,
    signal: rt.signal,
    mask: () => {},
    workspace: '/tmp',
    env: {},
    hasCluster: false,
    namespace: async () => 'default',
    kube: () => Promise.reject(new Error('no cluster')),
    github: () => {
      throw new Error('no GitHub');
    },
  };
}

/** A gate that takes `ms` of (virtual) time and notes when it started and whether it saw its signal abort. */
function slowGate(
  name: string,
  ms: number,
  options: { timeoutMs?: number; required?: boolean; log?: string[] } = {},
): PlannedGate {
  return {
    name,
    title: name,
    required: options.required ?? true,
    timeoutMs: options.timeoutMs ?? 60_000,
    origin: 'test',
    async run(ctx) {
      options.log?.push(`${name} started at ${ctx.clock.now()}`);
      try {
        await ctx.clock.sleep(ms, ctx.signal);
      } catch (error) {
        options.log?.push(`${name} aborted`);
        throw error;
      }
      return { status: 'pass', value: `${ms} ms`, limit: '', message: 'done' };
    },
  };
}

describe('runGates', () => {
  it('runs gates at the same time: the total is the slowest gate', async () => {
    const clock = new VirtualClock(0);
    const auto = clock.startAutoAdvance();
    const log: string[] = [];
    const reports = await runGates(
      [slowGate('a', 10_000, { log }), slowGate('b', 20_000, { log }), slowGate('c', 5_000, { log })],
      context(clock),
    );
    auto.stop();
    expect(clock.now()).toBe(20_000);
    expect(log).toEqual(['a started at 0', 'b started at 0', 'c started at 0']);
    expect(reports.map((r) => [r.name, r.status, r.durationMs])).toEqual([
      ['a', 'pass', 10_000],
      ['b', 'pass', 20_000],
      ['c', 'pass', 5_000],
    ]);
  });

  it('one after another when asked (the benchmark baseline)', async () => {
    const clock = new VirtualClock(0);
    const auto = clock.startAutoAdvance();
    await runGates([slowGate('a', 10_000), slowGate('b', 20_000)], context(clock), { sequential: true });
    auto.stop();
    expect(clock.now()).toBe(30_000);
  });

  it('a gate past its own timeout fails (its signal aborted) while the others finish', async () => {
    const clock = new VirtualClock(0);
    const auto = clock.startAutoAdvance();
    const log: string[] = [];
    const reports = await runGates(
      [
        slowGate('stuck', 600_000, { timeoutMs: 30_000, log }),
        slowGate('quick', 1_000),
        slowGate('optional', 600_000, { timeoutMs: 10_000, required: false }),
      ],
      context(clock),
    );
    auto.stop();
    expect(clock.now()).toBe(30_000);
    expect(log).toContain('stuck aborted');
    expect(reports[0]).toMatchObject({
      status: 'fail',
      value: 'timed out',
      message: 'did not finish within 30s (its timeout)',
    });
    expect(reports[1]).toMatchObject({ status: 'pass' });
    expect(reports[2]).toMatchObject({ status: 'warn', original: 'fail', value: 'timed out' });
  });

  it('a gate that throws fails with its message; emergency turns required failures into warnings', async () => {
    const clock = new VirtualClock(0);
    const broken: PlannedGate = {
      ...slowGate('broken', 0),
      run: async () => {
        throw new Error('socket hang up');
      },
    };
    const [report] = await runGates([broken], context(clock));
    expect(report).toMatchObject({ status: 'fail', value: 'error', message: 'unexpected error: socket hang up' });
    const [emergency] = await runGates([broken], context(clock), { emergency: true });
    expect(emergency).toMatchObject({ status: 'warn', original: 'fail', required: true });
  });
});
