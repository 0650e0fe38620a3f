/**
 * rollback `mode: staged` end to end on kube-sim with its controllers and a
 * virtual clock: after a full promotion of v2, the previous template runs
 * beside it as `<name>-canary`, the replicas router shifts 25% then 50% to it,
 * and at 100% the main Deployment takes the old template and the temporary one
 * goes. A failed analysis aborts and leaves v2 serving on the main Deployment.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Cluster, startCluster } from '@deploy-actions/testkit/cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import rollback from '../src/main';
import { parsed } from './outputs';

const NS = 'shop';
let c: Cluster;

/** A Service and a Deployment of 4 pods released as v1, then fully as v2 (the v1 pods are gone). */
async function promoted(name: string) {
  await c.app(name, `ghcr.io/acme/${name}:v1`, { podLabels: { version: 'v1' } });
  await c.setImage(name, 'app', `ghcr.io/acme/${name}:v2`, { version: 'v2' });
}

const run = async (inputs: Record<string, string>) =>
  parsed(await c.run({ mode: 'staged', ...inputs }, { env: { GITHUB_RUN_ID: String(c.clock.now()) } }));

const deployment = (name: string) => c.deployment(name);
const image = (name: string) => deployment(name)?.spec?.template?.spec?.containers?.[0]?.image;
const record = (name: string) => c.record(name);

beforeAll(async () => {
  c = await startCluster({
    namespace: NS,
    controllers: 'bare',
    readyAfter: '2s',
    env: { GITHUB_ACTOR: 'octocat' },
    action: rollback,
  });
  await promoted('web');
  await promoted('api');
});

afterAll(async () => {
  await c?.stop();
});

describe('rollback mode staged', () => {
  it('refuses bad input before anything changes', async () => {
    const generation = deployment('web')?.metadata?.generation;
    const decreasing = await run({ deployments: 'web', steps: '50,25', 'router-config': '{ service: web }' });
    expect(decreasing.code).toBe(1);
    expect(decreasing.errors).toContain("Input 'steps': weights must increase");
    const noService = await run({ deployments: 'web', 'router-config': '{ service: nowhere }' });
    expect(noService.code).toBe(1);
    expect(noService.errors).toContain('nowhere');
    const withVersion = await run({ deployments: 'web', 'to-version': 'v1', 'router-config': '{ service: web }' });
    expect(withVersion.errors).toContain("Input 'to-version': is not used by mode: staged");
    expect(deployment('web')?.metadata?.generation).toBe(generation);
    expect(deployment('web-canary')).toBeUndefined();
    expect(record('web')).toBeUndefined();
  });

  it('plans on dry-run without changing anything', async () => {
    const { code, result, summary } = await run({
      deployments: 'web',
      'dry-run': 'true',
      'router-config': '{ service: web }',
    });
    expect(code).toBe(0);
    expect(result.verdict).toBe('planned');
    expect(result.plan).toContain('create Deployment web-canary (revision 1: app=ghcr.io/acme/web:v1)');
    expect(summary).toContain("at 100%: Deployment web takes revision 1's template, then web-canary is deleted");
    expect(image('web')).toBe('ghcr.io/acme/web:v2');
    expect(deployment('web-canary')).toBeUndefined();
  });

  it('shifts traffic back to v1 in steps, then puts the v1 template on the Deployment and removes the temporary one', async () => {
    const { code, result, restored, summary, errors } = await run({
      deployments: 'web',
      steps: '25,50,100',
      pause: '1m',
      'router-config': '{ service: web }',
      reason: 'slow checkout since v2',
    });
    expect(errors).toBe('');
    expect(code).toBe(0);
    // At each step: pods of each version (the replicas router keeps the total at 4) and what the router serves.
    expect(
      result.steps.map(
        (step: {
          weight: number;
          actual: number;
          workloads: Array<Record<string, { replicas: number; images: Record<string, string> }>>;
        }) => ({
          weight: step.weight,
          actual: step.actual,
          previous: `${step.workloads[0]!['previous']!.replicas} × ${step.workloads[0]!['previous']!.images['app'] ?? '-'}`,
          current: `${step.workloads[0]!['current']!.replicas} × ${step.workloads[0]!['current']!.images['app']}`,
        }),
      ),
    ).toEqual([
      { weight: 25, actual: 25, previous: '1 × ghcr.io/acme/web:v1', current: '3 × ghcr.io/acme/web:v2' },
      { weight: 50, actual: 50, previous: '2 × ghcr.io/acme/web:v1', current: '2 × ghcr.io/acme/web:v2' },
      { weight: 100, actual: 100, previous: '0 × -', current: '4 × ghcr.io/acme/web:v1' },
    ]);
    // The end state: the old template (its version label too) on the main Deployment at full size, nothing temporary left.
    const web = deployment('web')!;
    expect(image('web')).toBe('ghcr.io/acme/web:v1');
    expect(web.spec?.template?.metadata?.labels).toEqual({ app: 'web', version: 'v1' });
    expect(web.spec?.replicas).toBe(4);
    expect(web.metadata?.annotations?.['deploy-actions.dev/stable-replicas']).toBeUndefined();
    expect(web.metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe('3');
    expect(deployment('web-canary')).toBeUndefined();
    expect(record('web')).toMatchObject({ phase: 'rolled-back', stableVersion: 'v2', canaryVersion: 'v1' });
    // Its own start: where the current version's history ends for count comparisons (stableHistoryEnd).
    expect(Date.parse(record('web').startedAt)).toBeLessThan(Date.parse(record('web').updatedAt));
    expect(c.sim.store.find('coordination.k8s.io/v1/leases', NS, 'deploy-actions-web')).toBeUndefined();
    expect(restored).toEqual({
      web: {
        before: { revision: 2, images: { app: 'ghcr.io/acme/web:v2' } },
        after: { revision: 3, images: { app: 'ghcr.io/acme/web:v1' } },
        outcome: 'restored',
      },
    });
    expect(summary).toContain('## Rolled back: 1 Deployment(s) in `shop`');
    expect(summary).toContain('**Mode:** staged');
    expect(summary).toContain('**Reason:** slow checkout since v2');
    expect(summary).toContain(
      '| 1 | 25% | 25% | web: 1 × app=ghcr.io/acme/web:v1 | web: 3 × app=ghcr.io/acme/web:v2 |',
    );
    expect(summary).toContain(
      '| 2 | 50% | 50% | web: 2 × app=ghcr.io/acme/web:v1 | web: 2 × app=ghcr.io/acme/web:v2 |',
    );
    expect(summary).toContain('held 1m, no analysis');
  });

  it("the analysis reads the stable's history up to the rollback's own start (the record's startedAt)", async () => {
    await promoted('cart');
    // A Prometheus that answers every query (no errors, 100 requests) and notes what was asked and for when.
    const queries: Array<{ query: string; at: number }> = [];
    const prometheus = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () => {
        const form = new URLSearchParams(body);
        const query = form.get('query') ?? '';
        const at = Number(form.get('time')) * 1000;
        queries.push({ query, at });
        const value = query.includes('code=') ? '0' : '100';
        response.setHeader('content-type', 'application/json');
        response.end(
          JSON.stringify({
            status: 'success',
            data: { resultType: 'vector', result: [{ metric: {}, value: [at / 1000, value] }] },
          }),
        );
      });
    });
    await new Promise<void>((resolve) => prometheus.listen(0, '127.0.0.1', resolve));
    const address = `http://127.0.0.1:${(prometheus.address() as AddressInfo).port}`;
    try {
      const { code, errors } = await run({
        deployments: 'cart',
        steps: '50,100',
        pause: '1m',
        'router-config': '{ service: cart }',
        analysis: `[{ name: errors-vs-stable, provider: prometheus, address: "${address}", errors: 'sum(increase(http_requests_total{version="{{version}}",code=~"5.."}[{{interval}}]))', requests: 'sum(increase(http_requests_total{version="{{version}}"}[{{interval}}]))', compare: stable, stable-history: 30m }]`,
      });
      expect(errors).toBe('');
      expect(code).toBe(0);
    } finally {
      prometheus.close();
    }
    const started = Date.parse(record('cart').startedAt);
    // The history (the 30m window) is read once, errors and requests of the current version, ending at the
    // record's startedAt: not at the step's start, after the old version's pods became ready.
    const history = queries.filter((entry) => entry.query.includes('[30m]') && !entry.query.includes('"v1"'));
    const checks = queries.filter((entry) => !entry.query.includes('[30m]'));
    expect(history.length).toBeGreaterThanOrEqual(2);
    expect(new Set(history.map((entry) => entry.at))).toEqual(new Set([started]));
    expect(history.map((entry) => entry.query)).toContain('sum(increase(http_requests_total{version="v2"}[30m]))');
    // The checks of the step run later (the history end is not simply the step's start).
    expect(Math.max(...checks.map((entry) => entry.at))).toBeGreaterThan(started);
  });

  it('aborts on a failed analysis: traffic back on v2, which never stopped serving, and the temporary Deployment gone', async () => {
    // v1 of api starts fine but restarts every 20 s: the restarts rule fails during the first step.
    c.behaviour.set('ghcr.io/acme/api:v1', { readyAfter: '1s', crashLoop: { after: '20s' } });
    const { code, result, errors, summary } = await run({
      deployments: 'api',
      steps: '25,50,100',
      pause: '2m',
      'router-config': '{ service: api }',
      analysis: '[{ name: restarts, provider: kubernetes, signal: restarts, max: 0 }]',
    });
    expect(code).toBe(1);
    expect(errors).toContain('Staged rollback aborted, the current version still serves: step 1 (25%)');
    expect(errors).toContain('restarts');
    expect(result.verdict).toBe('aborted');
    expect(result.steps.map((step: { weight: number; verdict: string }) => [step.weight, step.verdict])).toEqual([
      [25, 'fail'],
    ]);
    const api = deployment('api')!;
    expect(image('api')).toBe('ghcr.io/acme/api:v2');
    expect(api.spec?.replicas).toBe(4);
    expect(api.metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe('2');
    expect(deployment('api-canary')).toBeUndefined();
    expect(record('api')).toMatchObject({ phase: 'aborted', weight: 0 });
    expect(summary).toContain('Staged rollback aborted (the current version still serves)');
  });
});

describe('rollback mode staged, Deployments on different tags', () => {
  beforeAll(async () => {
    for (const [name, from, to] of [
      ['auth', 'v1.4', 'v1.5'],
      ['users', 'v3.2', 'v3.3'],
    ] as const) {
      await c.app(name, `ghcr.io/acme/${name}:${from}`, { labels: { tier: 'id' }, podLabels: { version: from } });
      await c.setImage(name, 'app', `ghcr.io/acme/${name}:${to}`, { version: to });
    }
  });

  it('refuses queries by version ({{canary}} would stand for one of the tags) before anything changes', async () => {
    const before = c.snapshot();
    const refused = await run({
      selector: 'tier=id',
      app: 'identity',
      steps: '50,100',
      analysis:
        '[{ name: error-rate, provider: prometheus, address: "http://prometheus:9090", query: \'sum(rate(http_requests_total{version="{{canary}}",code=~"5.."}[1m]))\', max: 1 }]',
    });
    expect(refused.code).toBe(1);
    expect(refused.errors).toMatch(
      /^Input 'analysis': the Deployments return to different tags \(auth v1\.4, users v3\.2\), but 'error-rate' reads the metrics by version .* \(got "error-rate"\)\. Example: analysis: /,
    );
    expect(c.snapshot()).toEqual(before);
  });

  it("names steps when the query by version is a step's own analysis", async () => {
    const before = c.snapshot();
    const refused = await run({
      selector: 'tier=id',
      app: 'identity',
      steps:
        '[{ weight: 50, pause: 1m, analysis: [{ name: error-rate, provider: prometheus, address: "http://prometheus:9090", query: \'sum(rate(http_requests_total{version="{{canary}}",code=~"5.."}[1m]))\', max: 1 }] }, { weight: 100 }]',
      analysis: '[{ name: restarts, provider: kubernetes, signal: restarts, max: 0 }]',
    });
    expect(refused.code).toBe(1);
    expect(refused.errors).toMatch(
      /^Input 'steps': the Deployments return to different tags \(auth v1\.4, users v3\.2\), but 'error-rate' reads the metrics by version .* \(got "error-rate"\)\. Example: steps: \[\{ weight: 50/,
    );
    expect(c.snapshot()).toEqual(before);
  });

  it('a release that changed only the digest: the temporary Deployment gets a version of its own, not the tag both share', async () => {
    const old = `sha256:${'a'.repeat(64)}`;
    await c.app('pay', `ghcr.io/acme/pay:v1@${old}`, { podLabels: { version: 'v1' } });
    await c.setImage('pay', 'app', `ghcr.io/acme/pay:v1@sha256:${'b'.repeat(64)}`, { version: 'v1' });
    const seen: string[] = [];
    const stop = c.onRecord('pay', () => {
      const label = deployment('pay-canary')?.spec?.template?.metadata?.labels?.['deploy-actions.dev/version'];
      if (label !== undefined) seen.push(label);
    });
    const { code, errors } = await run({ deployments: 'pay', steps: '50,100', pause: '30s' });
    stop();
    expect(errors).toBe('');
    expect(code).toBe(0);
    expect(image('pay')).toBe(`ghcr.io/acme/pay:v1@${old}`);
    // {{canary}} and {{stable}} select different pods: the one named by the digest, the other by the tag.
    expect(record('pay')).toMatchObject({ stableVersion: 'v1', canaryVersion: 'sha256-aaaaaaaaaaaa' });
    expect(record('pay').workloads[0]).toMatchObject({ stableVersion: 'v1', canaryVersion: 'sha256-aaaaaaaaaaaa' });
    expect(seen.length).toBeGreaterThan(0);
    expect(new Set(seen)).toEqual(new Set(['sha256-aaaaaaaaaaaa']));
  });

  it("keeps each Deployment's own versions, and the record joins them", async () => {
    const { code, errors } = await run({ selector: 'tier=id', app: 'identity', steps: '50,100', pause: '30s' });
    expect(errors).toBe('');
    expect(code).toBe(0);
    expect(image('auth')).toBe('ghcr.io/acme/auth:v1.4');
    expect(image('users')).toBe('ghcr.io/acme/users:v3.2');
    expect(record('identity')).toMatchObject({
      phase: 'rolled-back',
      stableVersion: 'v1.5+v3.3',
      canaryVersion: 'v1.4+v3.2',
      workloads: [
        { stable: 'auth', stableVersion: 'v1.5', canaryVersion: 'v1.4' },
        { stable: 'users', stableVersion: 'v3.3', canaryVersion: 'v3.2' },
      ],
    });
  });
});
