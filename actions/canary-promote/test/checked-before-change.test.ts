/**
 * Issue #17, "never promote what was not checked": inputs that used to be taken and then promoted a release
 * nothing had checked (a 25-day pause that fired after 1 ms, a 0 s analysis interval, malformed image
 * references) are refused before anything in the cluster changes, with one error line naming the input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, startCluster } from './cluster';

let c: Cluster;

beforeAll(async () => {
  c = await startCluster(1717);
  await c.app('kiwi', 'ghcr.io/acme/kiwi:v1');
});

afterAll(async () => {
  await c?.stop();
});

/** Run canary-promote on kiwi and expect it refused: exit 1, one error line naming `input`, nothing changed. */
async function refused(inputs: Record<string, string>, input: string) {
  const before = c.snapshot();
  const run = await c.run({ deployments: 'kiwi', images: 'app=ghcr.io/acme/kiwi:v2', ...inputs });
  expect(run.code).toBe(1);
  expect(run.errors).toHaveLength(1);
  expect(run.errors[0]).toContain(`Input '${input}'`);
  expect(c.snapshot()).toEqual(before);
  return run.errors[0]!;
}

describe('item 1: a pause longer than what is left of timeout', () => {
  it('refuses a 25-day pause with the default 30m timeout, naming pause and timeout', async () => {
    const error = await refused({ pause: '25d' }, 'pause');
    expect(error).toMatch(/step 1's pause \(25d\) is longer than input 'timeout' \(30m\)/);
  });

  it('refuses pauses that add up beyond timeout, counted up to pause-at', async () => {
    const error = await refused(
      { steps: '[{ weight: 10, pause: 20m }, { weight: 50, pause: 20m }, { weight: 100 }]' },
      'steps',
    );
    expect(error).toMatch(/the pauses up to step 2 \(40m in all\) is longer than input 'timeout' \(30m\)/);
    // Stopping at the first step fits: planned, not refused.
    const planned = await c.run({
      deployments: 'kiwi',
      images: 'app=ghcr.io/acme/kiwi:v2',
      steps: '[{ weight: 10, pause: 20m }, { weight: 50, pause: 20m }, { weight: 100 }]',
      'pause-at': '10',
      'dry-run': 'true',
    });
    expect(planned.errors).toEqual([]);
    expect(planned.outputs['result']).toBe('planned');
  });

  it('takes a 25-day pause when timeout covers it', async () => {
    const planned = await c.run({
      deployments: 'kiwi',
      images: 'app=ghcr.io/acme/kiwi:v2',
      steps: '5,100',
      pause: '25d',
      timeout: '26d',
      'dry-run': 'true',
    });
    expect(planned.errors).toEqual([]);
    expect(planned.outputs['result']).toBe('planned');
  });
});

describe('item 2: interval floors', () => {
  it.each(['0s', '0', '500ms'])('refuses analysis-interval %s (checks back to back)', async (interval) => {
    const error = await refused(
      {
        'analysis-interval': interval,
        analysis: '[{ name: restarts, provider: kubernetes, signal: restarts, max: 2 }]',
      },
      'analysis-interval',
    );
    expect(error).toContain('must be at least 1s');
  });

  it("refuses a metric's own interval below 1s", async () => {
    await refused(
      { analysis: '[{ name: restarts, provider: kubernetes, signal: restarts, max: 2, interval: 0s }]' },
      'analysis',
    );
  });
});

describe('item 7: image references are read with the distribution grammar', () => {
  it.each([
    ['an upper-case repository and a bang in the tag', 'app=ghcr.io/acme/WEB:v3!!'],
    ['an = in the tag', 'app=ghcr.io/acme/kiwi:v3=x'],
    ['a 100 KB tag', `app=ghcr.io/acme/kiwi:${'v'.repeat(100_000)}`],
    ['a digest that is not algorithm:hex', 'app=ghcr.io/acme/kiwi@sha256:xyz'],
    ['a tag starting with a dot', 'app=ghcr.io/acme/kiwi:.v2'],
    ['shell metacharacters', 'app=ghcr.io/acme/kiwi:v2;rm -rf /'],
  ])('refuses %s before anything changes', async (_what, images) => {
    const error = await refused({ images }, 'images');
    expect(error).toMatch(/Input 'images': app: /);
  });

  it('takes a digest reference and a registry with a port', async () => {
    const planned = await c.run({
      deployments: 'kiwi',
      images: `app=localhost:5000/acme/kiwi:v2@sha256:${'a'.repeat(64)}`,
      'dry-run': 'true',
    });
    expect(planned.errors).toEqual([]);
    expect(planned.outputs['result']).toBe('planned');
  });
});
