/**
 * The market app's production pipeline (runbook: NextGen market app, scenario 3) as CLI steps: each step is
 * one action run through bin/deploy-actions.js, its outcome a row of the verdict table and its job summary
 * a section of the --html page.
 */
import { join } from 'node:path';
import type { SummarySection } from '../summary-page';
import { type AnalysisSource, canaryAnalysis, stableGate } from './analysis';
import { runStep, type StepRun } from './cli';
import { APP, NAMESPACE, type Production, rolloutWeight, stableImage } from './cluster';
import { chart, type Progress } from './progress';
import type { DemoRepo } from './repo';
import type { Services } from './services';

export interface Verdict {
  release: string;
  action: string;
  verdict: string;
  detail: string;
  ok: boolean;
}

/** Each step's pause: the runbook's 5 minutes, accelerated (the analysis checks every second meanwhile). */
const PAUSE = '3s';

export class Pipeline {
  readonly verdicts: Verdict[] = [];
  readonly summaries: SummarySection[] = [];
  private stepIndex = 0;

  constructor(
    readonly progress: Progress,
    readonly production: Production,
    readonly services: Services,
    readonly repo: DemoRepo,
    /** The image name the Deployment runs, e.g. ghcr.io/nextgen/market (the registry's when there is one). */
    readonly image: string,
    readonly workdir: string,
    /** Where the analysis reads the metrics: a real Prometheus when installed, else the loopback source. */
    readonly analysis: AnalysisSource,
  ) {}

  /** Run one action; its log lines are shown indented as they come (above the updating line on a terminal). */
  async step(release: string, title: string, action: string, flags: string[], cluster = true): Promise<StepRun> {
    this.progress.log(`\n━━ ${release}: ${title} (deploy-actions ${action})`);
    this.progress.status(`${release} · ${action} · ${title}`);
    const summaryFile = join(this.workdir, `summary-${++this.stepIndex}.md`);
    const all = cluster ? [...flags, '--kubeconfig', this.production.kubeconfig, '--namespace', NAMESPACE] : flags;
    const run = await runStep(action, all, {
      cwd: this.repo.dir,
      summaryFile,
      env: { ...this.repo.env(), GITHUB_REPOSITORY: 'nextgen/market', RUNNER_TEMP: this.workdir },
      onLine: (line) => this.progress.log(`   ${line}`),
    });
    this.summaries.push({ title: `${release}: ${title} (${action})`, markdown: run.summary });
    return run;
  }

  record(verdict: Verdict): void {
    this.verdicts.push(verdict);
    this.progress.log(
      `   → ${verdict.verdict === 'skipped' ? '○' : verdict.ok ? '✔' : '✘'} ${verdict.verdict}: ${verdict.detail}`,
    );
  }

  skip(release: string, action: string, why: string): void {
    this.record({ release, action, verdict: 'skipped', detail: why, ok: true });
  }

  /** build-tag: the next version from the commits, the git tag pushed, and the staging image retagged. */
  async buildTag(release: string): Promise<string> {
    const { staging, registry } = this.services;
    const promote =
      staging && registry
        ? [
            '--promote-from',
            staging.ref,
            '--registry-username',
            registry.username,
            '--registry-password',
            registry.password,
          ]
        : [];
    const run = await this.step(
      release,
      'version from the commits, release tag, image tags',
      'build-tag',
      [
        '--context',
        'git',
        '--images',
        this.image,
        '--bump',
        'auto',
        '--tags',
        'type=raw,value=v{{next_version}}\ntype=sha',
        '--git-tag',
        'true',
        '--token',
        '',
        '--github-token',
        '',
        ...promote,
      ],
      false,
    );
    // What the next job's checkout (fetch-depth: 0) sees: the tag build-tag pushed to origin.
    this.repo.git('fetch', '--quiet', '--tags', 'origin');
    const version = run.outputs['version'] ?? '';
    const retag = staging
      ? `${staging.ref} retagged as ${version} (digest ${run.outputs['digest']?.slice(0, 19)}…)`
      : `promote by retag skipped: ${this.services.registrySkipped}`;
    this.record({
      release,
      action: 'build-tag',
      verdict: run.code === 0 ? `${version} (${run.outputs['bump']})` : 'failed',
      detail: `${run.outputs['previous-version']} → ${run.outputs['next-version']}, tag pushed to origin; ${retag}`,
      ok: run.code === 0 && version !== '',
    });
    return version;
  }

  /** preflight: the gates that make sense on this machine (cluster, workload, live metrics, the image). */
  async preflight(release: string, version: string): Promise<void> {
    const stable = stableImage(this.production.sim).split(':').at(-1)!;
    const gates = ['cluster', 'workload', 'metrics', ...(this.services.registry ? ['image'] : [])];
    const run = await this.step(release, 'gates before the release', 'preflight', [
      '--gates',
      gates.join(','),
      '--workload',
      APP,
      '--metrics',
      stableGate(this.analysis, this.production.metrics.url, stable),
      ...(this.services.registry
        ? [
            '--image',
            `${this.image}:${version}`,
            '--registry-username',
            this.services.registry.username,
            '--registry-password',
            this.services.registry.password,
          ]
        : []),
    ]);
    this.record({
      release,
      action: 'preflight',
      verdict: run.code === 0 ? 'passed' : 'failed',
      detail: `gates ${gates.join(', ')}${this.services.registry ? '' : ' (image gate skipped: no registry)'}`,
      ok: run.code === 0,
    });
  }

  /** migrate: pg_dump backup, then the pending migrations; returns the backup file (for a restore). */
  async migrate(release: string): Promise<string | undefined> {
    const pg = this.services.postgres;
    if (!pg) {
      this.skip(release, 'migrate', `${this.services.postgresSkipped}; the database steps are left out`);
      return undefined;
    }
    const run = await this.step(
      release,
      'backup, then the pending migrations',
      'migrate',
      ['--database-url', pg.superuserUrl, '--migrations', 'db/migrations', '--backup', 'pg-dump: backups/'],
      false,
    );
    const applied = (run.outputs['applied'] ?? '').split('\n').filter(Boolean);
    this.record({
      release,
      action: 'migrate',
      verdict: run.code === 0 ? `${applied.length} applied` : 'failed',
      detail: `${applied.join(', ') || 'nothing pending'}; backup ${run.outputs['backup-path'] ?? 'none'}`,
      ok: run.code === 0,
    });
    return run.outputs['backup-path'];
  }

  /** canary-promote 5 → 25 → 50 → 100 with the runbook's analysis, sampled live while it runs. */
  async canary(release: string, version: string): Promise<StepRun> {
    const metrics = this.production.metrics;
    const stable = stableImage(this.production.sim).split(':').at(-1)!;
    const analysis = canaryAnalysis(this.analysis, metrics.url);
    const from = this.progress.samples.length;
    const timer = setInterval(() => {
      const canary = metrics.of(version); // errors and p99 of the new version's requests in the last 2 s
      this.progress.sample({
        step: `canary ${version}`,
        weight: rolloutWeight(this.production.sim, version),
        errorRate: canary.errorRate * 100,
        p99Ms: canary.p99Ms,
        stableShare: metrics.of(stable).share * 100,
      });
    }, 250);
    const run = await this.step(release, 'canary 5% → 25% → 50% → 100% with live analysis', 'canary-promote', [
      '--deployments',
      APP,
      '--images',
      `${APP}=${this.image}:${version}`,
      '--steps',
      '5,25,50,100',
      '--pause',
      PAUSE,
      '--analysis',
      analysis,
      '--analysis-interval',
      '1s',
    ]);
    // A second more: the promoted pods taking all the traffic, or the stable alone again after an abort.
    await new Promise((done) => setTimeout(done, 1000));
    clearInterval(timer);
    this.progress.endLine();
    const samples = this.progress.samples.slice(from);
    this.progress.log(`\n${chart(samples, `${release}: canary ${version} — weight and error rate over time`)}`);
    return run;
  }

  async smoke(release: string): Promise<void> {
    const spec = [
      '- name: listings',
      `  request: { service: ${APP}:80/api/listings }`,
      '  expect: { status: 200, latency-below: 2s }',
      '  retries: 2',
      '  retry-interval: 200ms',
      '- name: health',
      `  request: { service: ${APP}:80/health }`,
      '  expect: { status: 200 }',
      '  retries: 2',
      '  retry-interval: 200ms',
    ].join('\n');
    const run = await this.step(release, 'smoke checks through the service proxy', 'smoke', ['--spec', spec]);
    this.record({
      release,
      action: 'smoke',
      verdict: run.code === 0 ? 'passed' : 'failed',
      detail: `${run.outputs['passed'] ?? 0} passed, ${run.outputs['failed'] ?? 0} failed`,
      ok: run.code === 0,
    });
  }

  async releaseNotes(release: string, version: string): Promise<void> {
    const run = await this.step(
      release,
      'CHANGELOG.md from the commits',
      'release-notes',
      ['--tag', version, '--changelog', 'CHANGELOG.md', '--images', `${APP}=${this.image}:${version}`, '--token', ''],
      false,
    );
    this.record({
      release,
      action: 'release-notes',
      verdict: run.code === 0 ? `${run.outputs['changes'] ?? 0} changes` : 'failed',
      detail: `CHANGELOG.md section ${version} (since ${run.outputs['previous-tag'] || 'the start'}) in ${this.repo.dir}`,
      ok: run.code === 0,
    });
  }
}
