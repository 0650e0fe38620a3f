/**
 * The demo: the market app's production pipeline (runbook NextGen market app, scenario 3) with all seven
 * actions, in accelerated time, against kube-sim on loopback with simulated traffic. A good release v1.1.0
 * goes 5 → 25 → 50 → 100 % under live analysis; then a bad v1.2.0 (8 % errors, p99 over 2 s) is aborted by
 * the analysis while the stable keeps serving, and rolled back with the database restored. Every step runs
 * the bundles the GitHub runner runs (dist/, through bin/deploy-actions.js; DEPLOY_ACTIONS_DIST=<dir> runs
 * another build). PostgreSQL and a Docker registry are used when installed, and said to be skipped when not.
 *
 *   npm run demo
 *   npm run demo -- --html out.html    also write every step's job summary as one page
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startAnalysisSource } from './demo/analysis';
import { badRelease } from './demo/bad-release';
import { root } from './demo/cli';
import { stableImage, startProduction } from './demo/cluster';
import { Pipeline } from './demo/pipeline';
import { Progress } from './demo/progress';
import { DemoRepo, goodChanges, seedHistory } from './demo/repo';
import { startServices } from './demo/services';
import { verdictTable } from './demo/verdicts';
import { summaryPage } from './summary-page';

/** `--html <file>`: where to write the page of job summaries (relative to where the demo was started). */
function htmlOutput(argv: readonly string[]): string | undefined {
  const at = argv.indexOf('--html');
  if (at < 0) return undefined;
  const file = argv[at + 1];
  if (file === undefined || file.startsWith('--')) throw new Error('--html needs a file name, e.g. --html out.html');
  return resolve(process.env['INIT_CWD'] ?? process.cwd(), file);
}

async function main(): Promise<number> {
  const html = htmlOutput(process.argv.slice(2));
  const dist = process.env['DEPLOY_ACTIONS_DIST'] ?? join(root, 'dist');
  if (!existsSync(join(dist, 'lib', 'index.js')))
    throw new Error(`${dist}/lib/index.js not found: build it first (npm run build)`);
  const progress = new Progress();
  // A directory of its own (kubeconfig, job summaries, RUNNER_TEMP): two demos at once (the test suite runs
  // two) must not share one.
  const workdir = mkdtempSync(join(tmpdir(), 'deploy-actions-demo-'));
  // Whatever happens (an error, Ctrl-C), the throwaway PostgreSQL, registry and kube-sim go with the demo.
  const cleanups: (() => Promise<void> | void)[] = [];
  const cleanUp = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };
  const interrupted = () => {
    progress.endLine();
    void cleanUp().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  cleanups.push(() => rmSync(workdir, { recursive: true, force: true }));
  try {
    const services = await startServices();
    cleanups.push(() => services.stop());
    const repo = new DemoRepo();
    cleanups.push(() => repo.remove());
    const image = services.registry ? `${services.registry.host}/nextgen/market` : 'ghcr.io/nextgen/market';
    const production = await startProduction(image, workdir);
    cleanups.push(() => production.stop());
    const analysis = await startAnalysisSource(production.cluster.metricsUrl);
    cleanups.push(() => analysis.prometheus?.stop());
    progress.log(`deploy-actions demo: the NextGen market app's production release (bundles: ${dist})`);
    progress.log(
      `kube-sim: ${production.sim.url}, deployment/market in prod: 10 pods of ${stableImage(production.sim)}`,
    );
    progress.log(`traffic: 1,000 simulated requests/s; live metrics (last 2 s per version): ${production.metrics.url}`);
    progress.log(
      `PostgreSQL: ${services.postgres ? `throwaway cluster on port ${services.postgres.port}` : `skipped — ${services.postgresSkipped}`}`,
    );
    progress.log(
      `registry: ${services.registry ? `docker-registry at ${services.registry.host}` : `skipped — ${services.registrySkipped}`}`,
    );
    progress.log(
      `analysis: ${analysis.prometheus ? `Prometheus at ${analysis.prometheus.url}, scraping kube-sim's apps twice a second` : `the live metrics above (Prometheus skipped — ${analysis.skipped})`}`,
    );
    progress.log(`repository: ${repo.dir} (origin ${repo.origin})`);
    const pipeline = new Pipeline(progress, production, services, repo, image, workdir, analysis);

    // The history up to the running v1.0.0, then the good release.
    seedHistory(repo);
    if (services.postgres) await pipeline.migrate('setup (v1.0.0 running)');
    goodChanges(repo);
    const good = 'release 1 (good)';
    const version = await pipeline.buildTag(good);
    await pipeline.preflight(good, version);
    await pipeline.migrate(good);
    const promoted = await pipeline.canary(good, version);
    pipeline.record({
      release: good,
      action: 'canary-promote',
      verdict: promoted.outputs['result'] ?? (promoted.code === 0 ? 'promoted' : 'failed'),
      detail: `5 → 25 → 50 → 100 % in ${promoted.seconds.toFixed(0)} s; deployment/market runs ${stableImage(production.sim)}`,
      ok: promoted.outputs['result'] === 'promoted' && stableImage(production.sim).endsWith(`:${version}`),
    });
    await pipeline.smoke(good);
    await pipeline.releaseNotes(good, version);
    const changelog = join(repo.dir, 'CHANGELOG.md');
    if (existsSync(changelog)) progress.log(`\n${readFileSync(changelog, 'utf8').split('\n').slice(0, 16).join('\n')}`);

    await badRelease(pipeline, version);

    progress.endLine();
    progress.log(`\n${verdictTable(pipeline.verdicts)}`);
    progress.log(`\nwall time ${progress.seconds().toFixed(1)} s`);
    if (html !== undefined) {
      writeFileSync(html, summaryPage('deploy-actions demo: job summaries', pipeline.summaries));
      progress.log(`Every step's job summary: ${html}`);
    }
    return pipeline.verdicts.every((v) => v.ok) ? 0 : 1;
  } finally {
    await cleanUp();
  }
}

process.exitCode = await main();
