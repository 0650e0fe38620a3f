/**
 * The Enterprise API Platform runbook (workflows-examples/api-platform-helm.yml), end to end with all seven
 * actions against real parts (see ./support.ts) and a real helm: build-tag computes 1.3.0 from the
 * commits since v1.2.0 and retags the three services' staging digests, preflight gates, migrate backs up
 * and applies, canary-promote runs `helm upgrade --install --wait` and watches the runbook's 5% error
 * rate as Prometheus measures it, smoke runs health → login → token → users, release-notes writes
 * CHANGELOG.md and the GitHub release. On a bad day the monitoring runs `helm rollback`.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Deployment } from '@deploy-actions/core/kube';
import { findHelm, helmMissing } from '@deploy-actions/testkit/helm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  changelogSection,
  digestOf,
  expectCleanInputs,
  fixtures,
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

const helmBin = findHelm();
const missing = stackMissing() ?? (helmBin === undefined ? helmMissing : undefined);
const FILE = 'api-platform-helm.yml';
const CHANGES = ['feat: webhooks for user events', 'fix: org names are trimmed'];
const SERVICES = ['auth-service', 'user-service', 'org-service'];
const SMOKE_PASSWORD = 'smoke-pw-0c4e9a';
const TOKEN = 'tok-3b7f1d';

describe.skipIf(missing)(`${FILE}: the API platform end to end${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let stack: Stack;
  let dir: string;
  let kubeconfigFile: string;
  let apiUrl: string;
  let stopApi: () => Promise<void>;
  const api: { method: string; path: string; body: string; auth?: string }[] = [];
  const saved = process.env['PATH'];
  let path: string;
  let trafficStarted = false;
  /** /v1/users answers 500 (a release that breaks the API without raising the error rate). */
  let usersBroken = false;

  beforeAll(async () => {
    stack = await startStack({
      namespaces: ['production'],
      appService: { namespace: 'production', name: 'auth-service' },
    });
    dir = mkdtempSync(join(tmpdir(), 'api-platform-'));
    symlinkSync(helmBin!, join(dir, 'helm'));
    path = `${dir}${delimiter}${saved}`;
    // canary-promote and rollback start helm with this process's environment, as on a runner.
    process.env['PATH'] = path;
    kubeconfigFile = join(dir, 'kubeconfig');
    writeFileSync(kubeconfigFile, stack.kubeconfig, { mode: 0o600 });
    // The API's public URL: health from auth-service, login answers a token, users from user-service.
    const server = createServer(async (req, res) => {
      let body = '';
      for await (const chunk of req) body += chunk;
      const url = new URL(req.url ?? '/', 'http://api');
      api.push({ method: req.method ?? 'GET', path: url.pathname, body, auth: req.headers.authorization });
      const send = (status: number, json: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
      if (url.pathname === '/v1/health') {
        const answer = stack.sim.apps.answer('production', 'auth-service', '/health');
        return send(answer.status, { status: answer.status === 200 ? 'healthy' : 'unhealthy' });
      }
      if (url.pathname === '/v1/auth/login') {
        const given = JSON.parse(body || '{}') as { email?: string; password?: string };
        const ok = given.email === 'smoke@example.com' && given.password === SMOKE_PASSWORD;
        return ok ? send(200, { token: TOKEN }) : send(401, { error: 'bad credentials' });
      }
      if (url.pathname === '/v1/users') {
        if (req.headers.authorization !== `Bearer ${TOKEN}`) return send(401, { error: 'no token' });
        if (usersBroken) return send(500, { error: 'db pool exhausted' });
        const answer = stack.sim.apps.answer('production', 'user-service', '/users');
        return send(answer.status, { users: [] });
      }
      send(404, {});
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    stopApi = () => new Promise((done) => server.close(() => done()));
  }, 60_000);
  afterAll(async () => {
    process.env['PATH'] = saved;
    await stopApi?.();
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const helm = (...args: string[]) =>
    new Promise<string>((resolve, reject) =>
      execFile(helmBin!, [...args, '--kubeconfig', kubeconfigFile], (error, stdout, stderr) =>
        error ? reject(new Error(`helm ${args[0]}: ${stderr}`)) : resolve(stdout),
      ),
    );
  const history = async () =>
    (
      JSON.parse(await helm('history', 'api-platform', '--namespace', 'production', '-o', 'json')) as {
        revision: number;
        status: string;
        description: string;
      }[]
    ).map(({ revision, status, description }) => ({ revision, status, description }));
  const serviceImages = () => SERVICES.flatMap((name) => images(stack, 'production', name));
  const imageOf = (version: string) => SERVICES.map((name) => `${stack.registry.host}/api-platform/${name}:${version}`);

  /** Production as the previous release left it: the chart at `previous`, traffic, migration V1 and a user. */
  async function previousRelease(name: string, previous: string, changes = CHANGES) {
    const release = releaseRepo('api-platform', `v${previous}`, changes, { helm: 'helm' });
    const database = await previousDatabase(
      stack,
      release,
      name,
      "INSERT INTO users (email) VALUES ('ada@example.com')",
    );
    // A helm revision only when production runs another version: helm deletes the release's oldest
    // history Secret past 10 revisions, with a protobuf DeleteOptions body kube-sim does not decode.
    if (JSON.stringify(serviceImages()) !== JSON.stringify(imageOf(previous))) {
      const chart = join(fixtures, 'helm');
      await helm(
        'upgrade',
        '--install',
        'api-platform',
        join(chart, 'api-platform'),
        '--namespace',
        'production',
        '-f',
        join(chart, 'values-prod.yaml'),
        '--set',
        `image.registry=${stack.registry.host}/api-platform`,
        '--set',
        `image.tag=${previous}`,
        '--wait',
        '--timeout',
        '60s',
      );
    }
    for (const service of SERVICES) await rolledOut(stack, 'production', service);
    if (!trafficStarted)
      for (const service of SERVICES) stack.sim.traffic.start({ service, namespace: 'production', rps: 40 });
    trafficStarted = true;
    await stack.prometheus.waitForData(`http_requests_total{app="user-service",version="${previous}"}`);
    for (const service of SERVICES) await pushStagingImage(stack, `api-platform/${service}`, release.sha);
    return { release, database };
  }

  const run = (release: ReturnType<typeof releaseRepo>, database: string, vars: Record<string, string> = {}) =>
    runExample(stack, FILE, release, {
      env: { PATH: path, HOME: release.repo.dir },
      secrets: { DATABASE_URL: database, SMOKE_PASSWORD },
      vars: {
        REGISTRY: stack.registry.host,
        API_URL: apiUrl,
        MONITOR_FOR: '12s',
        ANALYSIS_INTERVAL: '2s',
        SMOKE_RETRY_INTERVAL: '100ms',
        ...vars,
      },
    });

  it('a good release: 1.3.0 for the three services, migrated, helm upgrade watched, login → token → users, released', async () => {
    const { release, database } = await previousRelease('platform_good', '1.2.0');
    const revisionsBefore = (await history()).length;
    const before = api.length;
    const result = await run(release, database);
    expect(result.conclusion, trace(result)).toBe('success');
    expectCleanInputs(result);

    // build-tag: 1.3.0 from the commits (a feat since v1.2.0); each service's staging digest under it.
    const version = step(result, 'deploy', 'Version, and auth-service promoted');
    expect(version.outputs).toMatchObject({ version: '1.3.0', 'next-version': '1.3.0', bump: 'minor' });
    for (const service of SERVICES)
      expect(await digestOf(stack, `api-platform/${service}:1.3.0`)).toBe(
        await digestOf(stack, `api-platform/${service}-staging:sha-${release.sha}`),
      );
    expect(step(result, 'deploy', 'Pre-deployment checklist').status).toBe('success');

    // migrate: a dump first, then V2; the user is still there.
    const migrated = step(result, 'deploy', 'Database backup, then migrations');
    expect(migrated.outputs['backup-path']).toMatch(/^backups\/.+\.dump$/);
    expect(migrationHistory(stack, database)).toEqual(['1 create users', '2 add webhooks']);
    expect(stack.postgres.psql('SELECT email FROM users', database)).toBe('ada@example.com');

    // helm: one new revision, the three services at 1.3.0 with values-prod.yaml's 2 replicas.
    const deploy = step(result, 'deploy', 'helm upgrade, then watch for 10 minutes');
    expect(deploy.outputs['result']).toBe('deployed');
    expect(deploy.summary).toContain('| error-rate | ✅ pass |');
    expect(serviceImages()).toEqual(imageOf('1.3.0'));
    expect(step(result, 'deploy', 'azure/setup-helm@v4')).toMatchObject({ status: 'not-run' });
    for (const service of SERVICES)
      expect((stack.sim.store.find('apps/v1/deployments', 'production', service) as Deployment).spec?.replicas).toBe(2);
    const revisions = await history();
    expect(revisions.length).toBe(revisionsBefore + 1);
    expect(revisions.at(-1)).toMatchObject({ status: 'deployed' });

    // smoke: health, login with the secret password, the token on /v1/users.
    const calls = api.slice(before);
    expect(calls.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /v1/health',
      'POST /v1/auth/login',
      'GET /v1/users',
    ]);
    expect(JSON.parse(calls[1]!.body)).toEqual({ email: 'smoke@example.com', password: SMOKE_PASSWORD });
    expect(calls[2]!.auth).toBe(`Bearer ${TOKEN}`);
    expect(step(result, 'deploy', 'Health checks')).toMatchObject({ status: 'success', outputs: { passed: '3' } });
    expect(step(result, 'deploy', 'helm rollback on failure').status).toBe('skipped');

    // release-notes: CHANGELOG.md and the GitHub release with the three digests.
    const section = changelogSection(release, '1.3.0');
    expect(section).toContain('webhooks for user events');
    expect(section).toContain('org names are trimmed');
    const [githubRelease] = stack.github.releases;
    expect(githubRelease).toMatchObject({ tag_name: 'v1.3.0', draft: false });
    for (const service of SERVICES)
      expect(githubRelease!.body).toContain((await digestOf(stack, `api-platform/${service}:1.3.0`))!);
    const text = JSON.stringify(result);
    expect(text).not.toContain(SMOKE_PASSWORD);
    expect(text).not.toContain(stack.registry.password);
    expect(text).not.toContain('pw-platform_good');
  }, 180_000);

  it('a bad day: 1.4.0 answers 20% errors, the monitoring runs helm rollback, the job fails and says so', async () => {
    const { release, database } = await previousRelease('platform_bad', '1.3.0');
    stack.github.releases.length = 0;
    stack.sim.behaviour.set(`${stack.registry.host}/api-platform/*:1.4.0`, {
      readyAfter: '50ms',
      http: { errorRate: 0.2, latencyMs: { p50: 20, p99: 80 } },
    });
    const sampler = sampleServing(stack, 'production', 'user-service');
    const result = await run(release, database);
    const samples = sampler.stop();
    expect(result.conclusion, trace(result)).toBe('failure');

    const deploy = step(result, 'deploy', 'helm upgrade, then watch for 10 minutes');
    expect(deploy.outputs['result'], trace(result)).toBe('rolled-back');
    expect(deploy.reason).toMatch(/error-rate/);
    // `helm rollback` to the revision before: a new revision "Rollback to n", the services at 1.3.0.
    const revisions = await history();
    expect(revisions.at(-2)).toMatchObject({ status: 'superseded' });
    expect(revisions.at(-1)).toMatchObject({ status: 'deployed', description: `Rollback to ${revisions.length - 2}` });
    expect(serviceImages()).toEqual(imageOf('1.3.0'));
    expect(samples.at(-1)!.percent).toEqual({ '1.3.0': 100 });
    // The deploy step rolled back already: the second rollback step stays out.
    expect(step(result, 'deploy', 'helm rollback on failure').status).toBe('skipped');

    // The database keeps V2 (the runbook restores only when the migration caused the issue); the dump is there.
    expect(migrationHistory(stack, database)).toEqual(['1 create users', '2 add webhooks']);
    expect(step(result, 'deploy', 'Database backup, then migrations').outputs['backup-path']).toMatch(/\.dump$/);

    expect(step(result, 'deploy', 'Release notes and CHANGELOG.md').status).toBe('skipped');
    expect(stack.github.releases).toEqual([]);
    const summary = result.jobs[0]!.summary;
    expect(summary).toMatch(/rolled back/i);
    expect(summary).toMatch(/error-rate/);
  }, 180_000);

  it('a release whose API checks fail is rolled back with helm rollback to the revision before it', async () => {
    const { release, database } = await previousRelease('platform_smoke', '2.0.0');
    stack.github.releases.length = 0;
    usersBroken = true;
    try {
      const result = await run(release, database, { SMOKE_RETRIES: '2' });
      expect(result.conclusion, trace(result)).toBe('failure');
      expect(step(result, 'deploy', 'helm upgrade, then watch for 10 minutes').outputs['result']).toBe('deployed');
      const smoke = step(result, 'deploy', 'Health checks');
      expect(smoke.status).toBe('failure');
      expect(smoke.reason).toContain('users');
      const rollback = step(result, 'deploy', 'helm rollback on failure');
      expect(rollback).toMatchObject({ action: 'rollback', status: 'success' });
      // The release's revision failed its checks: back to the one before, as a new revision.
      const revisions = await history();
      expect(revisions.at(-2)).toMatchObject({ status: 'superseded' });
      expect(revisions.at(-1)).toMatchObject({
        status: 'deployed',
        description: `Rollback to ${revisions.length - 2}`,
      });
      expect(serviceImages()).toEqual(imageOf('2.0.0'));
      expect(rollback.summary).toContain('release 2.1.0 failed its checks');
      expect(stack.github.releases).toEqual([]);
    } finally {
      usersBroken = false;
    }
  }, 180_000);

  it('a release that crash-loops while watched is rolled back by the deploy step, and the rollback step stays out', async () => {
    // Production as the previous test left it (2.0.0); a fix gives 2.0.1.
    const { release, database } = await previousRelease('platform_crash', '2.0.0', ['fix: sessions expire on time']);
    // Ready at once (helm --wait passes), then every container exits after 2 s: restarts climb past 2.
    stack.sim.behaviour.set(`${stack.registry.host}/api-platform/*:2.0.1`, {
      readyAfter: '0s',
      crashLoop: { after: '2s' },
    });
    const result = await run(release, database);
    expect(result.conclusion, trace(result)).toBe('failure');
    const deploy = step(result, 'deploy', 'helm upgrade, then watch for 10 minutes');
    expect(deploy.outputs['result'], trace(result)).toBe('rolled-back');
    expect(deploy.summary).toContain('restarts');
    // `if: failure() && steps.deploy.outputs.result != 'rolled-back'`: a second helm rollback would go to
    // the superseded 2.0.1 revision.
    expect(step(result, 'deploy', 'helm rollback on failure').status).toBe('skipped');
    const revisions = await history();
    expect(revisions.at(-2)).toMatchObject({ status: 'superseded' });
    expect(revisions.at(-1)).toMatchObject({ status: 'deployed', description: `Rollback to ${revisions.length - 2}` });
    expect(serviceImages()).toEqual(imageOf('2.0.0'));
  }, 180_000);
});
