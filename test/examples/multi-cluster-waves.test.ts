/**
 * workflows-examples/multi-cluster-waves.yml: one release, three kube-sim clusters (each with its own real
 * Prometheus scraping its apps), one wave after another through chained jobs. The second cluster's canary
 * answers 30% errors: wave 2 is aborted with its stable serving, wave 3 never starts, wave 1 keeps the new
 * version, and no release is written.
 */
import type { Deployment } from '@deploy-actions/core/kube';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Cluster,
  createApp,
  digestOf,
  expectCleanInputs,
  pushStagingImage,
  releaseRepo,
  runExample,
  type Stack,
  sampleServing,
  stackMissing,
  startCluster,
  startStack,
  step,
  trace,
} from './support';

const missing = stackMissing();
const FILE = 'multi-cluster-waves.yml';

describe.skipIf(missing)(
  `${FILE}: three clusters, one wave after another${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    let stack: Stack;
    let us: Cluster;
    let ap: Cluster;
    let IMAGE: string;
    beforeAll(async () => {
      stack = await startStack({ namespaces: ['shop'], appService: { namespace: 'shop', name: 'web' } });
      [us, ap] = await Promise.all([startCluster(['shop']), startCluster(['shop'])]);
      IMAGE = `${stack.registry.host}/acme/web`;
      for (const cluster of [stack, us, ap]) {
        cluster.sim.behaviour.set('*', { readyAfter: '50ms', http: { errorRate: 0, latencyMs: 20 } });
        await createApp(cluster, { namespace: 'shop', name: 'web', image: `${IMAGE}:2.0.0`, replicas: 4 });
        cluster.sim.traffic.start({ service: 'web', namespace: 'shop', rps: 200 });
      }
      // The second cluster's canary goes bad (in the other two the same image is healthy).
      us.sim.behaviour.set(`${IMAGE}:2.1.0`, { readyAfter: '50ms', http: { errorRate: 0.3, latencyMs: 20 } });
      await Promise.all([stack, us, ap].map((c) => c.prometheus.waitForData('http_requests_total{app="web"}')));
    }, 90_000);
    afterAll(async () => {
      await us?.stop();
      await ap?.stop();
      await stack?.stop();
    });

    const imagesIn = (cluster: Cluster | Stack) =>
      (
        cluster.sim.store.find('apps/v1/deployments', 'shop', 'web') as Deployment
      ).spec?.template?.spec?.containers?.map((c) => c.image);

    it('wave 1 promotes, wave 2 aborts on 30% errors with its stable serving, wave 3 and the release never start', async () => {
      const release = releaseRepo('waves', 'v2.0.0', ['feat: gift cards']);
      const staging = await pushStagingImage(stack, 'acme/web', release.sha);
      const sampler = sampleServing(us, 'shop', 'web');
      const result = await runExample(stack, FILE, release, {
        secrets: { KUBECONFIG_EU: stack.kubeconfig, KUBECONFIG_US: us.kubeconfig, KUBECONFIG_AP: ap.kubeconfig },
        vars: {
          PROMETHEUS_URL_EU: stack.prometheus.url,
          PROMETHEUS_URL_US: us.prometheus.url,
          PROMETHEUS_URL_AP: ap.prometheus.url,
          WAVE_PAUSE: '4s',
          ANALYSIS_INTERVAL: '1s',
        },
      });
      const samples = sampler.stop();
      expect(result.conclusion, trace(result)).toBe('failure');
      expectCleanInputs(result);
      expect(await digestOf(stack, 'acme/web:2.1.0')).toBe(staging.digest);

      const job = (id: string) => result.jobs.find((j) => j.id === id)!;
      expect(result.jobs.map((j) => [j.id, j.status])).toEqual([
        ['version', 'success'],
        ['wave-1', 'success'],
        ['wave-2', 'failure'],
        ['wave-3', 'skipped'],
        ['release', 'skipped'],
      ]);
      // Wave 1 keeps the new version; wave 2's cluster is back on the old one; wave 3's was never touched.
      expect(step(result, 'wave-1', 'Canary in Europe').outputs['result']).toBe('promoted');
      expect(imagesIn(stack)).toEqual([`${IMAGE}:2.1.0`]);
      const wave2 = step(result, 'wave-2', 'Canary in North America');
      expect(wave2.outputs['result']).toBe('aborted');
      expect(wave2.reason).toMatch(/error-rate/);
      expect(imagesIn(us)).toEqual([`${IMAGE}:2.0.0`]);
      expect(imagesIn(ap)).toEqual([`${IMAGE}:2.0.0`]);
      expect(job('wave-3').steps).toEqual([]);
      // In the second cluster the stable served at least 75% (the first step) all along, and 100% at the end.
      expect(samples.length).toBeGreaterThan(10);
      expect(samples.filter((s) => (s.percent['2.0.0'] ?? 0) < 75)).toEqual([]);
      expect(samples.at(-1)!.percent).toEqual({ '2.0.0': 100 });
      expect(stack.github.releases).toEqual([]);
      expect(job('wave-2').summary).toMatch(/aborted/i);
    }, 180_000);
  },
);
