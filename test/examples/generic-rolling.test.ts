/**
 * The generic deployment guidelines (workflows-examples/rolling-monitor.yml), end to end with all seven
 * actions against real parts (see ./support.ts): build-tag computes 1.3.0 from the commits and retags the
 * staging digest, preflight gates, migrate backs up and applies, canary-promote rolls out and watches the
 * runbook's rollback triggers (5% errors, 2000 ms, 3 failed health checks) as Prometheus measures them,
 * smoke checks the Service, release-notes writes CHANGELOG.md and the GitHub release. On a bad day the
 * monitoring undoes the rollout, the database is restored from the dump the migration step took, and the
 * release is not written.
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
  rolledOut,
  runExample,
  type Stack,
  sampleServing,
  stackMissing,
  startStack,
  step,
  trace,
} from './support';

const missing = stackMissing();
const FILE = 'rolling-monitor.yml';
const CHANGES = ['feat: orders have a status', 'fix: totals round half up'];

describe.skipIf(missing)(`${FILE}: the generic guidelines end to end${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ namespaces: ['production'], appService: { namespace: 'production', name: 'app' } });
  }, 60_000);
  afterAll(async () => stack?.stop());

  /** Production as the previous release left it: 3 pods of `previous`, traffic, migration V1 and some orders. */
  async function previousRelease(name: string, previous: string) {
    const release = releaseRepo('generic', `v${previous}`, CHANGES);
    const database = await previousDatabase(
      stack,
      release,
      name,
      'INSERT INTO orders (total_cents) VALUES (1250), (990)',
    );
    // The Deployment the release replaces (created once; a later test sets its image back).
    const image = `${stack.registry.host}/acme/app:${previous}`;
    const current = stack.sim.store.find('apps/v1/deployments', 'production', 'app') as Deployment | undefined;
    if (current) {
      const updated = structuredClone(current);
      updated.spec!.template!.spec!.containers![0]!.image = image;
      stack.sim.store.update(updated);
    } else {
      await createApp(stack, { namespace: 'production', name: 'app', image, replicas: 3 });
      stack.sim.traffic.start({ service: 'app', namespace: 'production', rps: 100 });
    }
    await rolledOut(stack, 'production', 'app');
    await stack.prometheus.waitForData(`http_requests_total{app="app",version="${previous}"}`);
    return { release, database };
  }

  const vars = { MONITOR_FOR: '12s', ANALYSIS_INTERVAL: '2s' };

  it('a good release: 1.3.0 from the commits, the tested digest retagged, migrated, rolled out, watched, released', async () => {
    const { release, database } = await previousRelease('generic_good', '1.2.0');
    const staging = await pushStagingImage(stack, 'acme/app', release.sha);
    const result = await runExample(stack, FILE, release, { secrets: { DATABASE_URL: database }, vars });
    expect(result.conclusion, trace(result)).toBe('success');
    expectCleanInputs(result);

    // build-tag: the version from the commits (a feat since v1.2.0), the staging digest under it.
    const version = step(result, 'deploy', 'Version, and the tested image promoted');
    expect(version.outputs).toMatchObject({ version: '1.3.0', 'next-version': '1.3.0', bump: 'minor' });
    expect(version.outputs['digest']).toBe(staging.digest);
    expect(await digestOf(stack, 'acme/app:1.3.0')).toBe(staging.digest);

    // preflight: every gate passed.
    const preflight = step(result, 'deploy', 'Pre-deployment checklist');
    expect(preflight.status, preflight.log.join('\n')).toBe('success');
    expect(preflight.summary).toMatch(/cluster/);
    expect(preflight.summary).toMatch(/image/);

    // migrate: a dump first, then V2; the orders are still there.
    const migrated = step(result, 'deploy', 'Database migration, backup first');
    expect(migrated.outputs['backup-path']).toMatch(/^backups\/.+\.dump$/);
    expect(migrationHistory(stack, database)).toEqual(['1 create orders', '2 orders status']);
    expect(stack.postgres.psql('SELECT total_cents, status FROM orders ORDER BY id', database)).toBe(
      '1250|new\n990|new',
    );

    // canary-promote: the Deployment runs the new version, watched by Prometheus' numbers.
    const deploy = step(result, 'deploy', 'Rolling update, then 10 minutes of monitoring');
    expect(deploy.outputs['result']).toBe('deployed');
    expect(images(stack, 'production', 'app')).toEqual([`${stack.registry.host}/acme/app:1.3.0`]);
    expect(deploy.summary).toContain('| error-rate | ✅ pass |');
    expect(deploy.summary).toContain('| response-time | ✅ pass |');

    // smoke through the Service; release-notes: CHANGELOG.md and the GitHub release.
    expect(step(result, 'deploy', 'Smoke test').status).toBe('success');
    expect(step(result, 'deploy', 'Database rollback').status).toBe('skipped');
    const section = changelogSection(release, '1.3.0');
    expect(section).toContain('orders have a status');
    expect(section).toContain('totals round half up');
    const [githubRelease] = stack.github.releases;
    expect(githubRelease).toMatchObject({ tag_name: 'v1.3.0', draft: false });
    expect(githubRelease!.body).toContain('orders have a status');
    expect(githubRelease!.body).toContain(staging.digest);
    // Nothing secret in what the run shows.
    expect(JSON.stringify(result)).not.toContain(stack.registry.password);
    expect(JSON.stringify(result)).not.toContain('pw-generic_good');
  }, 120_000);

  it('a bad day: 1.4.0 answers 20% errors, the monitoring undoes the rollout, the database dump is restored', async () => {
    const { release, database } = await previousRelease('generic_bad', '1.3.0');
    stack.github.releases.length = 0;
    await pushStagingImage(stack, 'acme/app', release.sha);
    stack.sim.behaviour.set(`${stack.registry.host}/acme/app:1.4.0`, {
      readyAfter: '50ms',
      http: { errorRate: 0.2, latencyMs: { p50: 20, p99: 80 } },
    });
    const sampler = sampleServing(stack, 'production', 'app');
    const result = await runExample(stack, FILE, release, { secrets: { DATABASE_URL: database }, vars });
    const samples = sampler.stop();
    expect(result.conclusion, trace(result)).toBe('failure');

    const deploy = step(result, 'deploy', 'Rolling update, then 10 minutes of monitoring');
    expect(deploy.outputs['result'], trace(result)).toBe('rolled-back');
    expect(deploy.reason).toMatch(/error-rate/);
    expect(images(stack, 'production', 'app')).toEqual([`${stack.registry.host}/acme/app:1.3.0`]);
    // The Service never lost its endpoints while the release came and went.
    expect(samples.length).toBeGreaterThan(20);
    expect(samples.filter((s) => s.percent['unavailable'])).toEqual([]);
    expect(samples.at(-1)!.percent).toEqual({ '1.3.0': 100 });

    // The runbook's database rollback: the dump taken before V2 is back (no status column, V1 only).
    const restore = step(result, 'deploy', 'Database rollback');
    expect(restore.status, restore.log.join('\n')).toBe('success');
    expect(migrationHistory(stack, database)).toEqual(['1 create orders']);
    expect(stack.postgres.psql('SELECT count(*) FROM orders', database)).toBe('2');
    expect(
      stack.postgres.psql(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'status'",
        database,
      ),
    ).toBe('0');

    // No release notes for a release that did not stay; the summary says what happened and what next.
    expect(step(result, 'deploy', 'Release notes and CHANGELOG.md').status).toBe('skipped');
    expect(stack.github.releases).toEqual([]);
    const summary = result.jobs[0]!.summary;
    expect(summary).toMatch(/rolled back/i);
    expect(summary).toMatch(/error-rate/);
  }, 120_000);
});
