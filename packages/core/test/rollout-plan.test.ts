import { canaryReplicas, copyName, parseSteps } from '@deploy-actions/core/rollout';
import { describe, expect, it } from 'vitest';

const defaults = { pause: 300_000, analysis: [], analysisInterval: 10_000 };

describe('rollout steps', () => {
  it('reads a weight list and the YAML form with per-step pause and analysis', () => {
    expect(parseSteps('5,25,50,100', defaults).map((s) => [s.weight, s.pause])).toEqual([
      [5, 300_000],
      [25, 300_000],
      [50, 300_000],
      [100, 300_000],
    ]);
    const steps = parseSteps(
      [
        {
          weight: 5,
          pause: '1m',
          analysis: [{ name: 'restarts', provider: 'kubernetes', signal: 'restarts', max: 1 }],
        },
        { weight: 100 },
      ],
      defaults,
    );
    expect(steps[0]).toMatchObject({ weight: 5, pause: 60_000, analysis: [{ name: 'restarts' }] });
  });

  it('refuses weights that do not increase, above 100, and durations without a unit', () => {
    expect(() => parseSteps('5,50,25', defaults)).toThrow(/Input 'steps': weights must increase/);
    expect(() => parseSteps('5,101', defaults)).toThrow(/at most 100/);
    expect(() => parseSteps([{ weight: 5, pause: '5 minutes' }], defaults)).toThrow(/pause must be a duration/);
  });

  it('sizes the canary and names config copies', () => {
    expect(canaryReplicas('nginx', 10, 5)).toBe(1);
    expect(canaryReplicas('nginx', 10, 25)).toBe(3);
    expect(copyName('web-config-dav-v1', 'v2')).toBe('web-config-dav-v2');
  });
});
