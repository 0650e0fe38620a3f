/**
 * Canary inputs that used to be taken and then silently not done, refused (or narrowed, and said so)
 * before anything in the cluster changes: a pause or analysis on the 100% step, comparisons after
 * promotion (the old version has no pods left to compare with), and several Deployments with different
 * new tags.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, startCluster } from './cluster';

let c: Cluster;

beforeAll(async () => {
  c = await startCluster(41);
});

afterAll(async () => {
  await c?.stop();
});

const RESTARTS = '{ name: restarts, provider: kubernetes, signal: restarts, max: 0 }';

describe('the 100% step', () => {
  it('refuses a pause or analysis on the 100% step: it would never run, the canary is promoted there', async () => {
    await c.app('tea', 'ghcr.io/acme/tea:v1');
    const before = c.snapshot();
    const refused = await c.run({
      deployments: 'tea',
      images: 'app=ghcr.io/acme/tea:v2',
      steps: `[{ weight: 50, pause: 1m }, { weight: 100, pause: 10m, analysis: [${RESTARTS}] }]`,
      'router-config': '{ service: tea }',
    });
    expect(refused.code).toBe(1);
    expect(refused.errors.join('\n')).toMatch(
      /^Input 'steps': step 2 \(100%\) has pause and analysis, which would never run: at 100% the new version is promoted at once\. Put them on the step before 100, or \(with a cluster\) keep checking after promotion with post-promotion-analysis .*Example: steps: \[\{ weight: 50, pause: 10m, analysis: \[\.\.\.\] \}, \{ weight: 100 \}\] with post-promotion-analysis: 30m$/,
    );
    expect(c.snapshot()).toEqual(before);
    // A bare 100 (the default steps' last) is the promotion, as before.
    const planned = await c.run({
      deployments: 'tea',
      images: 'app=ghcr.io/acme/tea:v2',
      steps: '[{ weight: 50, pause: 1m }, { weight: 100 }]',
      'router-config': '{ service: tea }',
      'dry-run': 'true',
    });
    expect(planned.outputs['result']).toBe('planned');
  });
});
