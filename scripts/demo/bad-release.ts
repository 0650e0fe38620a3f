/**
 * The bad day: v1.2.0 fails 8 % of its requests with p99 over 2 s. The runbook's triggers (error rate over
 * 1 % for 2 checks, p99 over 2,000 ms for 3) must abort it at its first weight while the stable version keeps
 * serving, then the rollback puts the database back to the backup migrate took before v1.2.0's migration.
 */
import { APP, stableImage } from './cluster';
import type { Pipeline } from './pipeline';
import { badChanges } from './repo';

interface RolloutReport {
  reason?: string;
}

export async function badRelease(pipeline: Pipeline, goodVersion: string): Promise<void> {
  const release = 'release 2 (bad)';
  const { production, progress, services } = pipeline;
  badChanges(pipeline.repo);
  const version = await pipeline.buildTag(release);
  await pipeline.preflight(release, version);
  const backup = await pipeline.migrate(release);
  const from = progress.samples.length;
  const run = await pipeline.canary(release, version);
  const samples = progress.samples.slice(from).filter((s) => s.weight > 0 || s.errorRate > 0);
  const stableNow = stableImage(production.sim);
  const verdict = run.outputs['result'] ?? `exit ${run.code}`;
  const report = JSON.parse(run.outputs['report'] ?? '{}') as RolloutReport;
  const worstStable = Math.min(...progress.samples.slice(from).map((s) => s.stableShare));
  const maxWeight = Math.max(0, ...samples.map((s) => s.weight));
  const aborted = verdict === 'aborted' && stableNow.endsWith(`:${goodVersion}`);
  pipeline.record({
    release,
    action: 'canary-promote',
    verdict: aborted ? 'aborted' : `NOT aborted (${verdict})`,
    detail: `${(report.reason ?? '').split('\n')[0]} Stopped after ${run.seconds.toFixed(0)} s at weight ${maxWeight.toFixed(0)} % (its worst error rate ${Math.max(0, ...samples.map((s) => s.errorRate)).toFixed(1)} %); the stable ${stableNow} served ≥ ${worstStable.toFixed(0)} % of the requests throughout`,
    ok: aborted,
  });

  const restore =
    backup && services.postgres
      ? [
          '--database-restore',
          // scale-down: false: the stable version keeps serving (v1.2.0's migration only added a column).
          `{ pg-dump: '${backup}', database-url: '${services.postgres.superuserUrl}', scale-down: false }`,
          '--confirm-database-restore',
          'true',
        ]
      : [];
  const smoke = `- name: listings\n  request: { service: ${APP}:80/api/listings }\n  expect: { status: 200 }\n  retries: 2\n  retry-interval: 200ms`;
  const rollback = await pipeline.step(release, 'back to the last good version, database restored', 'rollback', [
    '--mode',
    'image',
    '--deployments',
    APP,
    '--to-version',
    goodVersion,
    '--reason',
    `canary ${version} aborted by analysis`,
    '--verify',
    smoke,
    ...restore,
  ]);
  const finalImage = stableImage(production.sim);
  // The restore's proof: the column v1.2.0's migration added is gone again.
  const seller = services.postgres?.psql(
    "SELECT count(*) FROM information_schema.columns WHERE table_name = 'listings' AND column_name = 'seller'",
  );
  pipeline.record({
    release,
    action: 'rollback',
    verdict: rollback.code === 0 ? 'done' : 'failed',
    detail: `deployment/market runs ${finalImage}; ${
      restore.length === 0
        ? `database restore skipped: ${services.postgresSkipped}`
        : seller === '0'
          ? `database restored from ${backup} (listings.seller of ${version}'s migration is gone)`
          : `database NOT restored (listings.seller still there)`
    }`,
    ok: rollback.code === 0 && finalImage.endsWith(`:${goodVersion}`) && (restore.length === 0 || seller === '0'),
  });
}
