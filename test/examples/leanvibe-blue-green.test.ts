/**
 * The LeanVibe enterprise procedures (workflows-examples/leanvibe-production.yml), end to end against real
 * parts (see ./support.ts): build-tag versions and retags the staging digest, preflight checks staging, the
 * cluster, production and the image, migrate backs up and migrates PostgreSQL, canary-promote runs green,
 * checks it through the preview Service and switches the active Service, smoke runs the post-deployment
 * verification, release-notes writes the release. On a bad day green's database health fails after the
 * switch: the rollback action does the runbook's "Database Rollback (Critical)": the app scaled to 0, the
 * pre-migration dump restored, the previous version started again.
 */
import type { Deployment } from '@deploy-actions/core/kube';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  changelogSection,
  createApp,
  digestOf,
  expectCleanInputs,
  images,
  migrationHistory,
  previousDatabase,
  pushStagingImage,
  releaseRepo,
  runExample,
  type Stack,
  sampleServing,
  stackMissing,
  startStack,
  step,
  trace,
} from './support';

const missing = stackMissing();
const FILE = 'leanvibe-production.yml';
const NS = 'leanvibe-production';
const APP = 'leanvibe-backend';
const API_KEY = 'lv-prod-key-8c1f0e';

describe.skipIf(missing)(
  `${FILE}: the LeanVibe procedures end to end${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    let stack: Stack;
    let IMAGE: string;
    beforeAll(async () => {
      stack = await startStack({ namespaces: [NS, 'leanvibe-backup'], appService: { namespace: NS, name: APP } });
      IMAGE = `${stack.registry.host}/leanvibe/${APP}`;
      stack.sim.behaviour.set('*', { readyAfter: '50ms', http: { errorRate: 0, latencyMs: 20 } });
      await createApp(stack, {
        namespace: NS,
        name: APP,
        image: `${IMAGE}:v2.3.1`,
        replicas: 3,
        labels: { version: 'v2.3.1' },
        port: 8000,
      });
      stack.sim.traffic.start({ service: APP, namespace: NS, rps: 100 });
    }, 60_000);
    afterAll(async () => stack?.stop());

    async function previousRelease(name: string, tag: string, changes: string[]) {
      const release = releaseRepo('leanvibe', tag, changes);
      const database = await previousDatabase(
        stack,
        release,
        name,
        "INSERT INTO tenants (name, tier) VALUES ('acme', 'team'), ('globex', 'enterprise')",
      );
      const staging = await pushStagingImage(stack, `leanvibe/${APP}`, release.sha);
      return { release, database, staging };
    }

    const run = (release: Parameters<typeof runExample>[2], database: string) =>
      runExample(stack, FILE, release, {
        github: { event_name: 'workflow_dispatch' },
        secrets: { DATABASE_URL: database, PROD_API_KEY: API_KEY },
        vars: {
          STAGING_URL: stack.appUrl,
          API_URL: stack.appUrl,
          SCALE_DOWN_DELAY: '3s',
          SMOKE_RETRY_INTERVAL: '500ms',
        },
      });

    it('a good release: v2.4.0 from the commits, green checked through the preview, switched, verified, released', async () => {
      const { release, database, staging } = await previousRelease('leanvibe_good', 'v2.3.1', [
        'feat: tenants have seats',
      ]);
      const sampler = sampleServing(stack, NS, APP);
      const result = await run(release, database);
      const samples = sampler.stop();
      expect(result.conclusion, trace(result)).toBe('success');
      expectCleanInputs(result);

      expect(step(result, 'release', 'Version, and the staging image promoted').outputs).toMatchObject({
        version: 'v2.4.0',
        digest: staging.digest,
      });
      expect(await digestOf(stack, `leanvibe/${APP}:v2.4.0`)).toBe(staging.digest);
      const preflight = step(result, 'release', 'Pre-deployment verification');
      expect(preflight.status, preflight.log.join('\n')).toBe('success');
      expect(migrationHistory(stack, database)).toEqual(['1 create tenants', '2 tenant seats']);
      expect(step(result, 'release', 'Blue-green switch').outputs['result']).toBe('promoted');
      expect(images(stack, NS, APP)).toEqual([`${IMAGE}:v2.4.0`]);
      const service = stack.sim.store.find('v1/services', NS, APP) as { spec?: { selector?: Record<string, string> } };
      expect(service.spec?.selector).toMatchObject({ version: 'v2.4.0' });
      // Blue served everything until the switch, green everything after it: never a mix, never nothing.
      expect(samples.filter((s) => s.percent['unavailable'])).toEqual([]);
      expect(samples.every((s) => s.percent['v2.3.1'] === 100 || s.percent['v2.4.0'] === 100)).toBe(true);
      expect(samples.at(-1)!.percent).toEqual({ 'v2.4.0': 100 });

      expect(step(result, 'release', 'Post-deployment verification').status).toBe('success');
      expect(step(result, 'release', 'Roll back on failure').status).toBe('skipped');
      expect(changelogSection(release, '2.4.0')).toContain('tenants have seats');
      expect(stack.github.releases.find((r) => r.tag_name === 'v2.4.0')?.body).toContain(staging.digest);
      expect(JSON.stringify(result)).not.toContain(API_KEY);
    }, 150_000);

    it('a bad day: green fails its database health after the switch; app to 0, dump restored, blue back', async () => {
      stack.sim.behaviour.set(`${IMAGE}:v2.5.0`, {
        readyAfter: '50ms',
        http: { errorRate: 0, latencyMs: 20, routes: { '/health/db': { status: 503 } } },
      });
      const { release, database } = await previousRelease('leanvibe_bad', 'v2.4.0', ['feat: tenants have seats']);
      const result = await run(release, database);
      expect(result.conclusion, trace(result)).toBe('failure');
      const verification = step(result, 'release', 'Post-deployment verification');
      expect(verification.status, trace(result)).toBe('failure');
      expect(verification.reason).toMatch(/database/);

      const rollback = step(result, 'release', 'Roll back on failure');
      expect(rollback.status, rollback.log.join('\n')).toBe('success');
      expect(images(stack, NS, APP)).toEqual([`${IMAGE}:v2.4.0`]);
      const deployment = stack.sim.store.find('apps/v1/deployments', NS, APP) as Deployment;
      expect(deployment.spec?.replicas).toBe(3);
      // The dump taken before V2: the seats column is gone, the tenants are there.
      expect(migrationHistory(stack, database)).toEqual(['1 create tenants']);
      expect(stack.postgres.psql('SELECT name FROM tenants ORDER BY id', database)).toBe('acme\nglobex');
      expect(step(result, 'release', 'Restore the database (switch never happened)').status).toBe('skipped');
      expect(step(result, 'release', 'Release notes').status).toBe('skipped');
      expect(stack.github.releases.find((r) => r.tag_name === 'v2.5.0')).toBeUndefined();
      expect(rollback.summary).toMatch(/post-deployment verification failed for v2\.5\.0/);
      expect(rollback.summary).toMatch(/restore/i);
    }, 150_000);
  },
);
