/**
 * Canary inputs that used to be taken and then silently not done, refused (or narrowed, and said so)
 * before anything in the cluster changes: a pause or analysis on the 100% step, comparisons after
 * promotion (the old version has no pods left to compare with) and after a blue-green switch (blue gets
 * no traffic), and several Deployments with different new tags.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, NS, startCluster } from './cluster';

let c: Cluster;
let server: Server;
let base: string;

beforeAll(async () => {
  c = await startCluster(41);
  // A metrics endpoint per version, as a dashboard API answers it: a rate while the version has pods, no
  // value once it has none.
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const [app, version] = [url.searchParams.get('app'), url.searchParams.get('version')];
    const running = c.podUids(`app=${app},version=${version}`).length > 0;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ rate: running ? 0.01 : null }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server?.close(() => resolve()));
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

describe('several Deployments with different new tags', () => {
  it('each canary, its config copy and then its stable carry its own version', async () => {
    await c.app('auth', 'ghcr.io/acme/auth:v1.4', {
      config: true,
      labels: { tier: 'id' },
      podLabels: { version: 'v1.4' },
    });
    await c.app('users', 'ghcr.io/acme/users:v3.2', {
      config: true,
      labels: { tier: 'id' },
      podLabels: { version: 'v3.2' },
    });
    const paused = await c.run({
      selector: 'tier=id',
      app: 'identity',
      images: 'auth/app=ghcr.io/acme/auth:v1.5\nusers/app=ghcr.io/acme/users:v3.3',
      steps: '50,100',
      pause: '1m',
      'pause-at': '50',
      analysis: `[${RESTARTS}]`,
    });
    expect(paused.errors).toEqual([]);
    expect(paused.outputs['result']).toBe('paused');
    const labels = (name: string) => c.deployment(name)?.spec?.template?.metadata?.labels;
    expect(labels('auth-canary')).toMatchObject({ version: 'v1.5', 'deploy-actions.dev/version': 'v1.5' });
    expect(labels('users-canary')).toMatchObject({ version: 'v3.3', 'deploy-actions.dev/version': 'v3.3' });
    expect(c.find('v1/configmaps', 'auth-config-dav-v1.5')).toBeDefined();
    expect(c.find('v1/configmaps', 'users-config-dav-v3.3')).toBeDefined();
    expect(c.record('identity')).toMatchObject({ stableVersion: 'v1.4+v3.2', canaryVersion: 'v1.5+v3.3' });
    expect(paused.summary).toContain('### identity: v1.4+v3.2 → v1.5+v3.3');

    const promoted = await c.run({ app: 'identity', action: 'promote' }, { env: { GITHUB_RUN_ID: '4601' } });
    expect(promoted.errors).toEqual([]);
    expect(promoted.outputs['result']).toBe('promoted');
    expect(labels('auth')).toMatchObject({ version: 'v1.5' });
    expect(labels('users')).toMatchObject({ version: 'v3.3' });
    expect(c.images('users')).toEqual(['ghcr.io/acme/users:v3.3']);
  });

  it('refuses queries by version when the tags differ: {{canary}} would stand for one of them', async () => {
    await c.app('orders', 'ghcr.io/acme/orders:v2.0', { labels: { tier: 'shop' } });
    await c.app('stock', 'ghcr.io/acme/stock:v7.1', { labels: { tier: 'shop' } });
    const before = c.snapshot();
    const refused = await c.run({
      selector: 'tier=shop',
      app: 'shop-core',
      images: 'orders/app=ghcr.io/acme/orders:v2.1\nstock/app=ghcr.io/acme/stock:v7.2',
      analysis:
        '[{ name: error-rate, provider: prometheus, address: "http://prometheus:9090", query: \'sum(rate(http_requests_total{version="{{canary}}",code=~"5.."}[1m]))\', max: 1 }]',
    });
    expect(refused.code).toBe(1);
    expect(refused.errors.join('\n')).toMatch(
      /^Input 'images': the Deployments get different new tags \(orders v2\.1, stock v7\.2\), but 'error-rate' reads the metrics by version .* \(got "orders\/app=ghcr\.io\/acme\/orders:v2\.1, stock\/app=ghcr\.io\/acme\/stock:v7\.2"\)\. Example: images: auth\/app=/,
    );
    expect(c.snapshot()).toEqual(before);
  });
});

describe('post-promotion analysis', () => {
  const compared = () =>
    `{ name: errors-vs-stable, provider: web, url: "${base}/errors?app=soup&version={{version}}", json-path: $.rate, compare: stable, max-increase: 50% }`;

  it('leaves comparisons out after promotion (the old version has no pods) and says so; a healthy release stays', async () => {
    await c.app('soup', 'ghcr.io/acme/soup:v1', { podLabels: { version: 'v1' } });
    const run = await c.run({
      deployments: 'soup',
      images: 'app=ghcr.io/acme/soup:v2',
      steps: '50,100',
      pause: '1m',
      analysis: `[${RESTARTS}, ${compared()}]`,
      'post-promotion-analysis': '2m',
      'router-config': '{ service: soup }',
    });
    expect(run.errors).toEqual([]);
    expect(run.outputs['result']).toBe('promoted');
    const note =
      'Post-promotion analysis checks restarts and leaves out errors-vs-stable (compare): after promotion the old version has no pods left to compare with.';
    expect(run.rt.lines('info')).toContain(note);
    expect(run.summary).toContain(note);
    // The step compared both versions; after promotion only restarts was checked.
    const analyses = JSON.parse(run.outputs['analysis'] ?? '[]') as Array<{
      weight: number;
      checks: Array<{ metric: string }>;
    }>;
    expect(new Set(analyses[0]!.checks.map((check) => check.metric))).toEqual(
      new Set(['restarts', 'errors-vs-stable']),
    );
    expect(new Set(analyses.at(-1)!.checks.map((check) => check.metric))).toEqual(new Set(['restarts']));
    expect(c.images('soup')).toEqual(['ghcr.io/acme/soup:v2']);
    expect(c.record('soup')).toMatchObject({ phase: 'promoted' });
  });

  it('refuses post-promotion analysis with only comparisons to check', async () => {
    await c.app('stew', 'ghcr.io/acme/stew:v1', { podLabels: { version: 'v1' } });
    const before = c.snapshot();
    const refused = await c.run({
      deployments: 'stew',
      images: 'app=ghcr.io/acme/stew:v2',
      analysis: `[${compared()}]`,
      'post-promotion-analysis': '30m',
      'router-config': '{ service: stew }',
    });
    expect(refused.code).toBe(1);
    expect(refused.errors.join('\n')).toMatch(
      /^Input 'post-promotion-analysis': has only comparisons to check \(errors-vs-stable: compare stable\): after promotion the old version .* \(got "30m"\)\. Example: post-promotion-analysis: 30m, with analysis/,
    );
    expect(c.snapshot()).toEqual(before);
  });
});

describe('blue-green analysis after the switch', () => {
  const compared = (app: string) =>
    `{ name: errors-vs-stable, provider: web, url: "${base}/errors?app=${app}&version={{version}}", json-path: $.rate, compare: stable, max-increase: 50% }`;
  /** A versioned app whose Service selects app + version: blue-green's active Service. */
  async function versionedApp(name: string) {
    await c.app(name, `ghcr.io/acme/${name}:v1`, { podLabels: { version: 'v1' } });
    await c.client.patch(
      'Service',
      { namespace: NS, name },
      { spec: { selector: { app: name, version: 'v1' } } },
      'merge',
    );
  }
  const blueGreen = (name: string) => ({
    strategy: 'blue-green',
    deployments: name,
    images: `app=ghcr.io/acme/${name}:v2`,
    router: 'service',
    'router-config': `{ active-service: ${name}, version-label: version }`,
    'scale-down-delay': '2m',
  });

  it('leaves comparisons out (blue gets no traffic after the switch) and says so; a healthy release is promoted', async () => {
    await versionedApp('pho');
    const run = await c.run({ ...blueGreen('pho'), analysis: `[${RESTARTS}, ${compared('pho')}]` });
    expect(run.errors).toEqual([]);
    expect(run.outputs['result']).toBe('promoted');
    const note =
      "Blue-green's analysis after the switch checks restarts and leaves out errors-vs-stable (compare): after the switch blue gets no traffic to compare with.";
    expect(run.rt.lines('info')).toContain(note);
    expect(run.summary).toContain(note);
    const analyses = JSON.parse(run.outputs['analysis'] ?? '[]') as Array<{ checks: Array<{ metric: string }> }>;
    expect(analyses).toHaveLength(1);
    expect(new Set(analyses[0]!.checks.map((check) => check.metric))).toEqual(new Set(['restarts']));
    expect(c.images('pho')).toEqual(['ghcr.io/acme/pho:v2']);
  });

  it('refuses an analysis of only comparisons', async () => {
    await versionedApp('ramen');
    const before = c.snapshot();
    const refused = await c.run({ ...blueGreen('ramen'), analysis: `[${compared('ramen')}]` });
    expect(refused.code).toBe(1);
    expect(refused.errors.join('\n')).toMatch(
      /^Input 'analysis': has only comparisons for blue-green \(errors-vs-stable: compare stable\): its analysis runs after the switch, when blue gets no traffic, .* Example: analysis: \[\{ name: restarts/,
    );
    expect(c.snapshot()).toEqual(before);
  });

  it("names steps when the step's own analysis has only comparisons (the analysis input has a metric of its own)", async () => {
    await versionedApp('udon');
    const before = c.snapshot();
    const refused = await c.run({
      ...blueGreen('udon'),
      analysis: `[${RESTARTS}]`,
      steps: `[{ weight: 100, pause: 2m, analysis: [${compared('udon')}] }]`,
    });
    expect(refused.code).toBe(1);
    expect(refused.errors.join('\n')).toMatch(
      /^Input 'steps': has only comparisons for blue-green \(errors-vs-stable: compare stable\): .* Example: steps: \[\{ weight: 100, pause: 10m, analysis: /,
    );
    expect(c.snapshot()).toEqual(before);
  });
});
